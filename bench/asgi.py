"""The bench servers' ASGI application: the demo's (project/asgi.py), with the conventional
stack's WebSocket route (bench/conventional.py) mounted beside the inbox streams, so one worker
process serves both in the same run."""

import os
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

# First: it sets Django up, which the models bench.conventional imports need.
from project.asgi import django_asgi_app  # noqa: E402

# isort: split
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from bench import conventional  # noqa: E402
from inbox.realtime.middleware import InboxAuthMiddlewareStack  # noqa: E402
from inbox.realtime.routing import websocket_urlpatterns  # noqa: E402

_inbox_streams = InboxAuthMiddlewareStack(URLRouter(websocket_urlpatterns))
_conventional_streams = URLRouter(conventional.websocket_urlpatterns)


async def _websocket(scope: dict[str, Any], receive: Any, send: Any) -> Any:
    if scope["path"].startswith(conventional.WS_PREFIX):
        return await _conventional_streams(scope, receive, send)
    return await _inbox_streams(scope, receive, send)


application = ProtocolTypeRouter(
    {"http": django_asgi_app, "websocket": AllowedHostsOriginValidator(_websocket)}
)
