"""ASGI entry point: HTTP through Django, WebSockets through the inbox consumers."""

import os

from inbox.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
# Django's handler, but each request borrows a pooled thread instead of starting one.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from inbox.realtime.middleware import InboxAuthMiddlewareStack  # noqa: E402
from inbox.realtime.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            InboxAuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
