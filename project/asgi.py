"""ASGI entry point: HTTP through Django, WebSockets through the inbox consumers."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
django.setup(set_prefix=False)  # what get_asgi_application() does before building its handler

from project.asgi_handler import PooledThreadASGIHandler  # noqa: E402

django_asgi_app = PooledThreadASGIHandler()

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
