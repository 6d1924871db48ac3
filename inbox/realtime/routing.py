"""WebSocket routes of the app; the site's ``asgi.py`` mounts them (see README, "Real-time")."""

from django.urls import path

from inbox.realtime.consumers import BusinessStreamConsumer, ParticipantStreamConsumer

websocket_urlpatterns = [
    path("ws/inbox/business/", BusinessStreamConsumer.as_asgi(), name="inbox-business-stream"),
    path(
        "ws/inbox/participant/",
        ParticipantStreamConsumer.as_asgi(),
        name="inbox-participant-stream",
    ),
]
