"""The WebSocket streams over the real router (project.asgi.application): who may connect, and
which socket receives which event."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core import signing
from django.db import connections
from django.test import Client

from inbox import services
from inbox.conf import inbox_settings
from inbox.identity import VISITOR_TOKEN_PREFIX, VISITOR_TOKEN_SALT, visitor_token_issue
from inbox.models import App, Participant, conversation_id_for, user_wire_id
from inbox.realtime import protocol
from inbox.realtime.middleware import SCOPE_CALLER, InboxCredentialMiddleware
from project.asgi import application
from tests.conftest import API, text_message

BUSINESS = "/ws/inbox/business/"
PARTICIPANT = "/ws/inbox/participant/"
ORIGIN = (b"origin", b"http://testserver")
# Long enough for a loaded 2-core machine; every wait below is bounded by it.
TIMEOUT = 5

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
async def close_worker_connections() -> Any:
    """Return the connection of asgiref's worker thread (used by ``sync_to_async`` and the async
    ORM) after each test; left open, PostgreSQL refuses to drop the test database."""
    yield
    await sync_to_async(connections.close_all)()


def socket(path: str, *, headers: list[tuple[bytes, bytes]] | None = None) -> WebsocketCommunicator:
    return WebsocketCommunicator(application, path, headers=[ORIGIN, *(headers or [])])


def session_cookie(user: Any) -> tuple[bytes, bytes]:
    client = Client()
    client.force_login(user)
    value = client.cookies[settings.SESSION_COOKIE_NAME].value
    return (b"cookie", f"{settings.SESSION_COOKIE_NAME}={value}".encode())


def assert_greeting(frame: dict[str, Any]) -> None:
    """The server's first frame on an accepted socket (docs/events.md, "hello")."""
    assert frame["type"] == "hello", frame
    assert frame["protocol"] == protocol.PROTOCOL_VERSION
    assert frame["stream"] in ("business", "participant")
    assert frame["heartbeatSeconds"] == protocol.HEARTBEAT_SECONDS
    assert frame["next"] == "resume"
    assert frame["resumeWaitSeconds"] == inbox_settings.SOCKET_RESUME_WAIT_SECONDS


async def greeted(communicator: WebsocketCommunicator) -> dict[str, Any]:
    """Connect and read the greeting; returns it."""
    connected, code = await communicator.connect(timeout=TIMEOUT)
    assert connected, code
    frame = await communicator.receive_json_from(timeout=TIMEOUT)
    assert_greeting(frame)
    return frame


async def open_socket(communicator: WebsocketCommunicator) -> int | None:
    """Connect; returns None when the socket is greeted and stays open, or the close code it
    got (a refused socket is closed without a greeting)."""
    connected, code = await communicator.connect(timeout=TIMEOUT)
    if not connected:
        return code
    output = await communicator.receive_output(timeout=TIMEOUT)
    if output["type"] == "websocket.send":
        assert_greeting(json.loads(output["text"]))
        if await communicator.receive_nothing(timeout=0.3):
            return None
        output = await communicator.receive_output(timeout=TIMEOUT)
    assert output["type"] == "websocket.close", output
    return output.get("code")


async def resume(communicator: WebsocketCommunicator, **fields: Any) -> list[dict[str, Any]]:
    """Send a resume frame; returns the events replayed before ``ready``."""
    await communicator.send_json_to({"type": "resume", **fields})
    replayed = []
    while True:
        frame = await communicator.receive_json_from(timeout=TIMEOUT)
        if frame["type"] == "ready":
            assert frame["replayed"] == len(replayed)
            return replayed
        assert frame["type"] == "event", frame
        replayed.append(frame["event"])


async def next_event(communicator: WebsocketCommunicator) -> dict[str, Any]:
    frame = await communicator.receive_json_from(timeout=TIMEOUT)
    assert frame["type"] == "event", frame
    return frame["event"]


@pytest.fixture
def rest_send(send: Callable[..., dict[str, Any]]) -> Callable[..., Any]:
    """``send`` (REST, as the test app) callable from async tests."""
    return sync_to_async(send)


async def test_business_socket_receives_a_message_sent_over_rest(
    app_key, make_conversation, rest_send
):
    conversation = await sync_to_async(make_conversation)()
    communicator = socket(BUSINESS, headers=[(b"authorization", app_key.encode())])
    assert await open_socket(communicator) is None
    assert await resume(communicator) == []

    sent = await rest_send(conversation.pk, "live hello")

    event = await next_event(communicator)
    assert event["slug"] == "message_sent_to_participant"
    assert event["entityFqdn"] == "wix.crm.inbox.v2.message"
    assert event["entityId"] == sent["id"]
    assert event["data"] == {"conversationId": str(conversation.pk), "message": sent}
    assert set(event) == {"id", "entityFqdn", "slug", "entityId", "eventTime", "data"}
    await communicator.disconnect()


# Who may connect ---------------------------------------------------------------------------


class _BackdatedSigner(signing.TimestampSigner):
    """Signs as the server does, with a timestamp older than any token lifetime."""

    def timestamp(self) -> str:
        return signing.b62_encode(int(time.time()) - 10 * 365 * 24 * 3600)


def _expired_token() -> str:
    payload = {"v": str(uuid.uuid4())}
    return VISITOR_TOKEN_PREFIX + _BackdatedSigner(salt=VISITOR_TOKEN_SALT).sign_object(payload)


IDENTITIES: dict[str, Callable[..., tuple[str, list[tuple[bytes, bytes]]]]] = {
    "app key header": lambda f: ("", [(b"authorization", f["app_key"].encode())]),
    "app key bearer header": lambda f: (
        "",
        [(b"authorization", f"Bearer {f['app_key']}".encode())],
    ),
    "app key ?token=": lambda f: (f"?token={f['app_key']}", []),
    "revoked app key": lambda f: (f"?token={f['revoked_key']}", []),
    "staff session": lambda f: ("", [session_cookie(f["staff_user"])]),
    "staff without permission": lambda f: ("", [session_cookie(f["bare_staff"])]),
    "member session": lambda f: ("", [session_cookie(f["member_user"])]),
    "visitor ?token=": lambda f: (f"?token={visitor_token_issue(uuid.uuid4())}", []),
    "visitor header": lambda f: (
        "",
        [(b"authorization", f"Bearer {visitor_token_issue(uuid.uuid4())}".encode())],
    ),
    "forged visitor token": lambda f: ("?token=vt.eyJ2IjoiMSJ9:forged:signature", []),
    "garbage token": lambda f: ("?token=not-a-credential", []),
    "expired visitor token": lambda f: (f"?token={_expired_token()}", []),
    "member session + forged token": lambda f: (
        "?token=vt.forged",
        [session_cookie(f["member_user"])],
    ),
    "nothing": lambda f: ("", []),
}

# identity → (close code on the business stream, close code on the participant stream);
# None: the socket stays open.
EXPECTED: dict[str, tuple[int | None, int | None]] = {
    "app key header": (None, 4403),
    "app key bearer header": (None, 4403),
    "app key ?token=": (None, 4403),
    "revoked app key": (4401, 4401),
    "staff session": (None, 4403),
    "staff without permission": (4403, 4403),
    "member session": (4403, None),
    "visitor ?token=": (4403, None),
    "visitor header": (4403, None),
    "forged visitor token": (4401, 4401),
    "garbage token": (4401, 4401),
    "expired visitor token": (4401, 4401),
    "member session + forged token": (4401, 4401),
    "nothing": (4401, 4401),
}


@pytest.fixture
def identity_fixtures(app_key, staff_user, make_user, member_user) -> dict[str, Any]:
    app, revoked_key = services.app_create(name="Revoked")
    App.objects.filter(pk=app.pk).update(is_active=False)
    return {
        "app_key": app_key,
        "revoked_key": revoked_key,
        "staff_user": staff_user,
        "bare_staff": make_user("bare-staff", staff=True, perms=False),
        "member_user": member_user,
    }


@pytest.mark.parametrize("stream", [BUSINESS, PARTICIPANT])
async def test_each_identity_connects_or_is_refused_with_its_close_code(stream, identity_fixtures):
    # One test per stream rather than per identity: each transactional test pays a database
    # flush, and the table below fails with the whole picture.
    outcome = {}
    for identity, make in IDENTITIES.items():
        query, headers = await sync_to_async(make)(identity_fixtures)
        communicator = socket(stream + query, headers=headers)
        code = await open_socket(communicator)
        if code is None:
            # An open socket works: it answers a ping.
            await communicator.send_json_to({"type": "ping"})
            assert await communicator.receive_json_from(timeout=TIMEOUT) == {"type": "pong"}
        await communicator.disconnect()
        outcome[identity] = code
    column = 0 if stream == BUSINESS else 1
    assert outcome == {identity: codes[column] for identity, codes in EXPECTED.items()}


async def test_a_foreign_origin_is_refused_before_the_handshake(app_key):
    communicator = WebsocketCommunicator(
        application,
        BUSINESS,
        headers=[(b"origin", b"http://evil.example"), (b"authorization", app_key.encode())],
    )
    connected, _ = await communicator.connect(timeout=TIMEOUT)
    assert connected is False
    await communicator.disconnect()


# Which socket gets which event ----------------------------------------------------------


async def collect(communicator: WebsocketCommunicator) -> list[dict[str, Any]]:
    """Every event the socket holds now (waits until it has been quiet for a moment)."""
    found = []
    while not await communicator.receive_nothing(timeout=0.3):
        frame = await communicator.receive_json_from(timeout=TIMEOUT)
        assert frame["type"] == "event", frame
        found.append(frame["event"])
    return found


async def test_each_event_reaches_exactly_the_sockets_that_may_see_it(
    app_key, staff_user, member_user, make_visitor, app_client, rest_send
):
    visitor_a, client_a = make_visitor()
    visitor_b, client_b = make_visitor()
    member_client = Client()
    await sync_to_async(member_client.force_login)(member_user)

    def visitor_socket(visitor_id: uuid.UUID) -> WebsocketCommunicator:
        return socket(f"{PARTICIPANT}?token={visitor_token_issue(visitor_id)}")

    sockets = {
        "app": socket(BUSINESS, headers=[(b"authorization", app_key.encode())]),
        "staff": socket(BUSINESS, headers=[await sync_to_async(session_cookie)(staff_user)]),
        "visitor a": visitor_socket(visitor_a),
        "visitor b": visitor_socket(visitor_b),
        "member": socket(PARTICIPANT, headers=[await sync_to_async(session_cookie)(member_user)]),
    }
    for communicator in sockets.values():
        assert await open_socket(communicator) is None
        assert await resume(communicator) == []

    post = sync_to_async(lambda client, body: client.post(f"{API}/messages", body, format="json"))
    # The visitor opens its conversation with its first message (it did not exist when the
    # visitor's socket connected).
    response = await post(
        client_a, {"message": text_message("hi", direction="PARTICIPANT_TO_BUSINESS")}
    )
    assert response.status_code == 200, response.content
    from_visitor = response.json()["message"]
    conversation_a = conversation_id_for(Participant.Kind.ANONYMOUS_VISITOR, visitor_a)
    member_conversation = conversation_id_for(Participant.Kind.MEMBER, user_wire_id(member_user.pk))
    public = await rest_send(conversation_a, "public reply")
    internal = await rest_send(conversation_a, "internal note", visibility="BUSINESS")
    after_internal = await rest_send(conversation_a, "second public reply")
    to_member = await rest_send(await sync_to_async(_member_conversation)(member_user), "member hi")
    assert to_member  # the member's conversation exists now

    received = {name: await collect(communicator) for name, communicator in sockets.items()}
    ids = {name: [event["entityId"] for event in events_] for name, events_ in received.items()}
    everything = [
        from_visitor["id"],
        public["id"],
        internal["id"],
        after_internal["id"],
        to_member["id"],
    ]
    assert ids["app"] == everything
    assert ids["staff"] == everything
    # The internal note never reached the visitor's socket: the public message sent after it
    # is the next thing the socket got.
    assert ids["visitor a"] == [from_visitor["id"], public["id"], after_internal["id"]]
    assert all(
        e["data"]["message"]["visibility"] == "BUSINESS_AND_PARTICIPANT"
        for e in received["visitor a"]
    )
    assert ids["visitor b"] == []
    assert ids["member"] == [to_member["id"]]
    assert {e["data"]["conversationId"] for e in received["member"]} == {str(member_conversation)}
    slugs = {event["entityId"]: event["slug"] for event in received["app"]}
    assert slugs[from_visitor["id"]] == "message_sent_to_business"
    assert slugs[public["id"]] == "message_sent_to_participant"
    for communicator in sockets.values():
        await communicator.disconnect()


def _member_conversation(user: Any) -> uuid.UUID:
    conversation, _ = services.conversation_get_or_create(
        kind=Participant.Kind.MEMBER, external_id=user_wire_id(user.pk), user=user
    )
    return conversation.pk


async def test_the_query_string_token_is_removed_from_the_scope_the_consumer_sees(make_visitor):
    visitor_id, _ = make_visitor()
    token = visitor_token_issue(visitor_id)
    seen: dict[str, Any] = {}

    async def inner(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.update(scope)

    scope = {
        "type": "websocket",
        "query_string": f"lang=en&token={token}".encode(),
        "headers": [],
        "user": AnonymousUser(),
    }
    await InboxCredentialMiddleware(inner)(scope, None, None)
    assert seen["query_string"] == b"lang=en"
    assert token.encode() not in repr(seen).encode()
    assert seen[SCOPE_CALLER].kind == "visitor" and seen[SCOPE_CALLER].id == visitor_id
