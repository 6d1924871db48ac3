"""Authentication of WebSocket handshakes."""

from channels.auth import AuthMiddlewareStack

InboxAuthMiddlewareStack = AuthMiddlewareStack
