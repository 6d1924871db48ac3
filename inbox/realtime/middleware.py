"""Authentication of WebSocket handshakes.

``InboxAuthMiddlewareStack`` is Channels' session stack (cookie, session, ``scope["user"]``) plus
the app's credentials: an ``Authorization`` header (non-browser clients) or ``?token=`` on the
handshake (browsers cannot set headers on a WebSocket). The credential is turned into an
``inbox.identity.Caller`` by the same functions the REST API uses, and removed from the scope's
query string so nothing downstream can log it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async

from inbox.identity import Caller, caller_for_credential, caller_for_user

# Scope keys this middleware sets.
SCOPE_CALLER = "inbox_caller"
# True when a credential was presented and refused: the socket is closed even if a session
# would have identified someone, so a bad token never silently falls back to a cookie.
SCOPE_CREDENTIAL_REFUSED = "inbox_credential_refused"

TOKEN_PARAM = "token"


def _split_token(query_string: bytes) -> tuple[str | None, bytes]:
    """The ``token`` query parameter, and the query string without it."""
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    token = None
    kept = []
    for name, value in pairs:
        if name == TOKEN_PARAM:
            token = value
        else:
            kept.append((name, value))
    return token, urlencode(kept).encode("latin-1")


def _header_credential(headers: list[tuple[bytes, bytes]]) -> str | None:
    for name, value in headers:
        if name.lower() == b"authorization":
            return value.decode("latin-1")
    return None


def _resolve(credential: str | None, user: Any) -> tuple[Caller | None, bool]:
    if credential is not None and credential.strip():
        caller = caller_for_credential(credential)
        return caller, caller is None
    return caller_for_user(user), False


class InboxCredentialMiddleware:
    """Sets ``scope["inbox_caller"]`` (a ``Caller`` or ``None``); runs inside the auth stack."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope.get("type") != "websocket":
            return await self.inner(scope, receive, send)
        token, query_string = _split_token(scope.get("query_string", b""))
        credential = _header_credential(scope.get("headers", [])) or token
        caller, refused = await database_sync_to_async(_resolve)(credential, scope.get("user"))
        scope = {
            **scope,
            "query_string": query_string,
            SCOPE_CALLER: caller,
            SCOPE_CREDENTIAL_REFUSED: refused,
        }
        return await self.inner(scope, receive, send)


def InboxAuthMiddlewareStack(inner: Any) -> Any:  # noqa: N802 - named like Channels' stacks
    return AuthMiddlewareStack(InboxCredentialMiddleware(inner))
