"""``INBOX["BUSINESS_STREAM_PATH"]`` / ``["PARTICIPANT_STREAM_PATH"]``: where
inbox.realtime.routing mounts the streams, followed by the widget tag, validated by checks."""

from __future__ import annotations

import pytest
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.template import Context, Template
from django.test import RequestFactory, override_settings

from inbox.checks import SETTING_RULES
from inbox.realtime.middleware import InboxAuthMiddlewareStack
from inbox.realtime.routing import stream_urlpatterns
from tests.test_realtime import greeted

PATHS = {"BUSINESS_STREAM_PATH": "support/ws/staff/", "PARTICIPANT_STREAM_PATH": "chat/ws/"}


def test_the_routes_follow_the_settings():
    with override_settings(INBOX=PATHS):
        routes = {p.name: str(p.pattern) for p in stream_urlpatterns()}
    assert routes == {
        "inbox-business-stream": "support/ws/staff/",
        "inbox-participant-stream": "chat/ws/",
    }


@pytest.mark.django_db(transaction=True)
async def test_a_socket_opens_at_the_configured_path(app_key):
    with override_settings(INBOX=PATHS):
        application = InboxAuthMiddlewareStack(URLRouter(stream_urlpatterns()))
    communicator = WebsocketCommunicator(
        application, "/support/ws/staff/", headers=[(b"authorization", app_key.encode())]
    )
    await greeted(communicator)
    await communicator.send_json_to({"type": "resume"})
    assert (await communicator.receive_json_from(timeout=5))["type"] == "ready"
    await communicator.disconnect()


def test_the_widget_tag_uses_the_participant_path(db):
    request = RequestFactory().get("/")
    with override_settings(INBOX=PATHS):
        html = Template("{% load inbox %}{% inbox_widget %}").render(Context({"request": request}))
    assert 'data-ws="/chat/ws/"' in html


@pytest.mark.parametrize("value", ["/ws/inbox/", "ws/inbox", "", 3])
def test_a_path_that_is_not_relative_or_lacks_the_slash_is_an_error(value):
    assert SETTING_RULES["BUSINESS_STREAM_PATH"](value) is not None
    assert SETTING_RULES["PARTICIPANT_STREAM_PATH"](value) is not None
