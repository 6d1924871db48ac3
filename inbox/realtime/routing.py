"""WebSocket routes of the app; the site's ``asgi.py`` mounts them (see README, "Real-time")."""

from typing import Any

from django.urls import URLPattern, path

from inbox.conf import inbox_settings
from inbox.realtime.consumers import BusinessStreamConsumer, ParticipantStreamConsumer


def stream_urlpatterns() -> list[URLPattern]:
    """The two streams at ``INBOX["BUSINESS_STREAM_PATH"]`` / ``["PARTICIPANT_STREAM_PATH"]``."""
    return [
        path(
            inbox_settings.BUSINESS_STREAM_PATH,
            BusinessStreamConsumer.as_asgi(),
            name="inbox-business-stream",
        ),
        path(
            inbox_settings.PARTICIPANT_STREAM_PATH,
            ParticipantStreamConsumer.as_asgi(),
            name="inbox-participant-stream",
        ),
    ]


def __getattr__(name: str) -> Any:
    """``websocket_urlpatterns`` is built when the site's ``asgi.py`` imports it (settings are
    loaded by then), not when this module is first imported."""
    if name == "websocket_urlpatterns":
        return stream_urlpatterns()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
