"""Limits: request body size (413, also over real HTTP with chunked bodies), request rates per
identity (429 + Retry-After), and the WebSocket limits at their boundaries (a frame just under
the size cap is served, a resume of exactly REPLAY_LIMIT messages is replayed and one more is a
``reset``, a business resume naming too many conversations is refused). The plain over-limit
socket cases (4009, 4429, reset) are in tests/test_realtime_resume.py.

Each over-limit request is answered in Wix's envelope and changes nothing.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import override_settings
from rest_framework.test import APIClient

from inbox import conf
from inbox.identity import visitor_token_issue
from inbox.models import Message
from inbox.realtime import protocol
from project.asgi import application
from tests.conftest import API, assert_app_error, participant_says, text_message
from tests.servers import ServerCluster, asgi_servers
from tests.test_realtime import greeted

TIMEOUT = 5


def inbox_settings(**values: Any) -> dict[str, Any]:
    return {**getattr(settings, "INBOX", {}), **values}


def rates(**values: str | None) -> Any:
    return override_settings(INBOX=inbox_settings(THROTTLE_RATES=values))


# Body size ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_body_over_the_cap_gets_413_in_the_envelope_and_stores_nothing(
    app_client: APIClient, make_conversation: Callable[..., Any]
) -> None:
    conversation = make_conversation()
    body = {
        "conversationId": str(conversation.pk),
        "message": text_message("x" * 3000),
    }
    with override_settings(INBOX=inbox_settings(MAX_BODY_BYTES=2048)):
        response = app_client.post(f"{API}/messages", body, format="json")
        assert_app_error(response, 413, "PAYLOAD_TOO_LARGE")
        small = app_client.post(
            f"{API}/messages",
            {"conversationId": str(conversation.pk), "message": text_message("fits")},
            format="json",
        )
        assert small.status_code == 200, small.content
    assert list(Message.objects.values_list("preview_text", flat=True)) == ["fits"]


# Rates -------------------------------------------------------------------------------------


@pytest.fixture
def identities(
    app_key: str, staff_user: Any, member_user: Any
) -> dict[str, Callable[[], APIClient]]:
    """Fresh clients for one identity of each kind (a new client, the same identity)."""

    def app() -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=app_key)
        return client

    def session(user: Any) -> Callable[[], APIClient]:
        def make() -> APIClient:
            client = APIClient()
            client.force_login(user)
            return client

        return make

    visitor_token = visitor_token_issue(uuid.uuid4())

    def visitor() -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {visitor_token}")
        return client

    return {
        "app": app,
        "staff": session(staff_user),
        "member": session(member_user),
        "visitor": visitor,
    }


def allowed_request(kind: str, client: APIClient) -> Any:
    """A request each kind may make: the staff list for the business side, get-or-create of
    its own conversation for a participant."""
    if kind in ("app", "staff"):
        return client.get(f"{API}/conversations")
    return client.post(f"{API}/conversations", {}, format="json")


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["app", "staff", "member", "visitor"])
def test_each_identity_has_its_own_budget(
    kind: str, identities: dict[str, Callable[[], APIClient]]
) -> None:
    with rates(**{kind: "3/min"}):
        # The budget follows the identity, not the client object or connection.
        for _ in range(3):
            response = allowed_request(kind, identities[kind]())
            assert response.status_code == 200, response.content
        refused = allowed_request(kind, identities[kind]())
        body = assert_app_error(refused, 429, "RESOURCE_EXHAUSTED")
        assert body["message"]
        retry_after = int(refused["Retry-After"])
        assert 1 <= retry_after <= 60
        # Every other kind still has its budget.
        for other in identities:
            if other != kind:
                assert allowed_request(other, identities[other]()).status_code == 200


@pytest.mark.django_db
def test_two_visitors_do_not_share_a_budget(make_visitor: Callable[..., Any]) -> None:
    with rates(visitor="2/min"):
        _, first = make_visitor()
        _, second = make_visitor()
        for _ in range(2):
            assert first.post(f"{API}/conversations", {}, format="json").status_code == 200
        assert_app_error(
            first.post(f"{API}/conversations", {}, format="json"), 429, "RESOURCE_EXHAUSTED"
        )
        assert second.post(f"{API}/conversations", {}, format="json").status_code == 200


@pytest.mark.django_db
def test_a_throttled_send_stores_nothing(make_visitor: Callable[..., Any]) -> None:
    _, visitor = make_visitor()

    def send(text: str) -> Any:
        return visitor.post(
            f"{API}/messages",
            {"message": text_message(text, direction="PARTICIPANT_TO_BUSINESS")},
            format="json",
        )

    with rates(visitor="2/min"):
        assert send("one").status_code == 200
        assert send("two").status_code == 200
        assert_app_error(send("three"), 429, "RESOURCE_EXHAUSTED")
    assert sorted(Message.objects.values_list("preview_text", flat=True)) == ["one", "two"]


@pytest.mark.django_db
def test_the_budget_comes_back_after_retry_after(make_visitor: Callable[..., Any]) -> None:
    _, visitor = make_visitor()
    with rates(visitor="2/s"):
        for _ in range(2):
            assert visitor.post(f"{API}/conversations", {}, format="json").status_code == 200
        refused = visitor.post(f"{API}/conversations", {}, format="json")
        assert refused.status_code == 429
        time.sleep(int(refused["Retry-After"]) + 0.05)
        assert visitor.post(f"{API}/conversations", {}, format="json").status_code == 200


@pytest.mark.django_db
def test_no_rate_means_no_limit(app_client: APIClient) -> None:
    with rates(app=None):
        for _ in range(40):
            assert app_client.get(f"{API}/conversations").status_code == 200


@pytest.mark.django_db
def test_visitor_creation_is_limited_per_client_ip() -> None:
    client = APIClient()
    with rates(visitor_create="2/min"):
        for _ in range(2):
            assert client.post(f"{API}/visitors", REMOTE_ADDR="10.0.0.1").status_code == 200
        refused = client.post(f"{API}/visitors", REMOTE_ADDR="10.0.0.1")
        assert_app_error(refused, 429, "RESOURCE_EXHAUSTED")
        assert int(refused["Retry-After"]) >= 1
        assert client.post(f"{API}/visitors", REMOTE_ADDR="10.0.0.2").status_code == 200


@pytest.mark.django_db
def test_a_made_up_forwarded_for_header_does_not_reset_the_visitor_budget() -> None:
    client = APIClient()
    with rates(visitor_create="2/min"):
        for index in range(2):
            response = client.post(
                f"{API}/visitors", REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR=f"1.2.3.{index}"
            )
            assert response.status_code == 200
        refused = client.post(
            f"{API}/visitors", REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR="9.9.9.9"
        )
        assert_app_error(refused, 429, "RESOURCE_EXHAUSTED")


@pytest.mark.django_db
def test_default_rates_leave_apps_unlimited_and_limit_participants() -> None:
    from inbox.api.throttling import throttle_rate

    with override_settings(INBOX={}):
        assert throttle_rate("app") is None
        for kind in ("staff", "member", "visitor", "visitor_create"):
            assert throttle_rate(kind)
    # A partial dict keeps the other defaults.
    with rates(member="1/s"):
        assert throttle_rate("member") == "1/s"
        assert throttle_rate("visitor") == "10/s"


# WebSocket limits --------------------------------------------------------------------------


def ws(path: str, token: str) -> WebsocketCommunicator:
    return WebsocketCommunicator(
        application,
        f"{path}?token={token}",
        headers=[(b"origin", b"http://testserver")],
    )


async def closed_with(communicator: WebsocketCommunicator) -> int | None:
    """Read frames until the server closes; the close code."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        output = await communicator.receive_output(timeout=TIMEOUT)
        if output["type"] == "websocket.close":
            return output.get("code")
    raise AssertionError("the server did not close the socket")


@pytest.mark.django_db(transaction=True)
async def test_a_frame_just_under_the_size_limit_is_answered() -> None:
    communicator = ws("/ws/inbox/participant/", visitor_token_issue(uuid.uuid4()))
    await greeted(communicator)
    frame = {"type": "ping", "pad": ""}
    frame["pad"] = "x" * (conf.inbox_settings.SOCKET_MAX_FRAME_CHARS - len(json.dumps(frame)))
    await communicator.send_to(text_data=json.dumps(frame))
    assert await communicator.receive_json_from(timeout=TIMEOUT) == {"type": "pong"}
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_business_resume_naming_too_many_conversations_is_refused(app_key: str) -> None:
    communicator = ws("/ws/inbox/business/", app_key)
    await greeted(communicator)
    limit = conf.inbox_settings.SOCKET_MAX_RESUME_CONVERSATIONS
    named = {str(uuid.uuid4()): "1" for _ in range(limit + 1)}
    await communicator.send_json_to({"type": "resume", "conversations": named})
    frame = await communicator.receive_json_from(timeout=TIMEOUT)
    assert frame["type"] == "error" and frame["code"] == "INVALID_RESUME", frame
    # The socket stays usable.
    await communicator.send_json_to({"type": "ping"})
    assert await communicator.receive_json_from(timeout=TIMEOUT) == {"type": "pong"}
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_socket_limits_are_settings(app_key: str) -> None:
    """Lowered in INBOX, each socket limit is enforced at its new value: a frame of exactly
    SOCKET_MAX_FRAME_CHARS is answered and one more character closes with 4009; a resume naming
    SOCKET_MAX_RESUME_CONVERSATIONS + 1 conversations is refused; frame
    SOCKET_MAX_FRAMES + 1 within the window closes with 4429."""
    limits = {
        "SOCKET_MAX_FRAME_CHARS": 300,
        "SOCKET_MAX_RESUME_CONVERSATIONS": 2,
        "SOCKET_MAX_FRAMES": 4,
        "SOCKET_FRAMES_WINDOW_SECONDS": 60,
    }
    with override_settings(INBOX=inbox_settings(**limits)):
        exact = {"type": "ping", "pad": ""}
        exact["pad"] = "x" * (300 - len(json.dumps(exact)))
        communicator = ws("/ws/inbox/business/", app_key)
        await greeted(communicator)
        await communicator.send_to(text_data=json.dumps(exact))  # frame 1
        assert await communicator.receive_json_from(timeout=TIMEOUT) == {"type": "pong"}
        named = {str(uuid.uuid4()): "1" for _ in range(3)}
        await communicator.send_json_to({"type": "resume", "conversations": named})  # frame 2
        frame = await communicator.receive_json_from(timeout=TIMEOUT)
        assert frame["type"] == "error" and frame["code"] == "INVALID_RESUME", frame
        assert "at most 2 conversations" in frame["message"]
        for _ in range(2):  # frames 3 and 4
            await communicator.send_json_to({"type": "ping"})
            assert await communicator.receive_json_from(timeout=TIMEOUT) == {"type": "pong"}
        await communicator.send_json_to({"type": "ping"})  # frame 5
        assert await closed_with(communicator) == 4429
        await communicator.disconnect()

        communicator = ws("/ws/inbox/business/", app_key)
        await greeted(communicator)
        await communicator.send_to(text_data=json.dumps({**exact, "pad": exact["pad"] + "x"}))
        assert await closed_with(communicator) == 4009
        await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("missed, expect_reset", [(5, False), (6, True)])
async def test_resume_replays_at_most_replay_limit_messages(
    missed: int, expect_reset: bool, make_visitor: Callable[..., Any]
) -> None:
    visitor_id, client = await sync_to_async(make_visitor)()
    token = visitor_token_issue(visitor_id)

    first = await sync_to_async(participant_says)(client, "seen")
    for index in range(missed):
        await sync_to_async(participant_says)(client, f"missed {index}")
    with override_settings(INBOX=inbox_settings(REPLAY_LIMIT=5, RESUME_WINDOW_SECONDS=0)):
        communicator = ws("/ws/inbox/participant/", token)
        await greeted(communicator)
        await communicator.send_json_to({"type": "resume", "sequence": first["sequence"]})
        frames = []
        while True:
            frame = await communicator.receive_json_from(timeout=TIMEOUT)
            frames.append(frame)
            if frame["type"] in ("ready", "reset"):
                break
        await communicator.disconnect()
    if expect_reset:
        assert frames == [{"type": "reset", "reason": protocol.RESET_TOO_MANY}]
    else:
        texts = [
            frame["event"]["data"]["message"]["content"]["basic"]["items"][0]["text"]
            for frame in frames
            if frame["type"] == "event"
        ]
        assert texts == [f"missed {index}" for index in range(missed)]
        assert frames[-1] == {"type": "ready", "replayed": missed}


# Body size over real HTTP ------------------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[ServerCluster]:
    with asgi_servers(1) as cluster:
        cluster.key = cluster.create_app_key()  # type: ignore[attr-defined]
        yield cluster


def conversation_over_http(server: ServerCluster) -> str:
    response = httpx.post(
        f"{server.urls[0]}{API}/conversations",
        headers={"Authorization": server.key},  # type: ignore[attr-defined]
        json={"participantId": {"contactId": str(uuid.uuid4())}},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["conversation"]["id"])


def chunks(payload: bytes, size: int = 16 * 1024) -> Iterator[bytes]:
    for start in range(0, len(payload), size):
        yield payload[start : start + size]


def over_http_body(conversation_id: str, text: str) -> bytes:
    return json.dumps({"conversationId": conversation_id, "message": text_message(text)}).encode()


def count_over_http(server: ServerCluster, conversation_id: str) -> int:
    response = httpx.get(
        f"{server.urls[0]}{API}/messages",
        params={"conversationId": conversation_id, "visibility": "BUSINESS"},
        headers={"Authorization": server.key},  # type: ignore[attr-defined]
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return len(response.json()["messages"])


def assert_envelope_413(response: httpx.Response) -> None:
    assert response.status_code == 413, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["details"]["applicationError"]["code"] == "PAYLOAD_TOO_LARGE", body


@pytest.mark.multiprocess
@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_413_over_real_http(server: ServerCluster, framing: str) -> None:
    """Over a real socket, with the body announced by Content-Length or streamed in chunks
    without one (the cap cannot rely on the header): 413 in the envelope, nothing stored; a body
    under the cap, framed the same way, is accepted."""
    conversation_id = conversation_over_http(server)
    too_big = over_http_body(conversation_id, "x" * (600 * 1024))  # default cap: 512 KiB
    fits = over_http_body(conversation_id, "fits")
    headers = {"Authorization": server.key, "Content-Type": "application/json"}  # type: ignore[attr-defined]
    with httpx.Client(timeout=60) as http:
        for payload, expected in ((too_big, 413), (fits, 200)):
            content: Any = payload if framing == "content-length" else chunks(payload)
            request = http.build_request(
                "POST", f"{server.urls[0]}{API}/messages", headers=headers, content=content
            )
            if framing == "chunked":
                assert "content-length" not in request.headers
                assert request.headers["transfer-encoding"] == "chunked"
            response = http.send(request)
            if expected == 413:
                assert_envelope_413(response)
            else:
                assert response.status_code == 200, response.text
    assert count_over_http(server, conversation_id) == 1
