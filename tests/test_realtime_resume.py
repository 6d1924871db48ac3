"""Gap-free resume, rollbacks, frames, a layer that is down, and polling by REST instead."""

from __future__ import annotations

import asyncio
import logging
import socket as socketlib
from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import transaction

from inbox import services
from inbox.identity import caller_for_app, visitor_token_issue
from inbox.models import App, Conversation, Message
from tests.conftest import API, participant_says, text_draft
from tests.test_realtime import (  # noqa: F401 - close_worker_connections is an autouse fixture
    BUSINESS,
    PARTICIPANT,
    TIMEOUT,
    close_worker_connections,
    collect,
    greeted,
    next_event,
    open_socket,
    resume,
    socket,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def rest_send(send: Callable[..., dict[str, Any]]) -> Callable[..., Any]:
    return sync_to_async(send)


@pytest.fixture
def no_window(settings: Any) -> None:
    """Replay exactly after the given positions (no safety window), to assert exact sets."""
    settings.INBOX = {**getattr(settings, "INBOX", {}), "RESUME_WINDOW_SECONDS": 0}


@pytest.fixture
def visitor(make_visitor: Any) -> dict[str, Any]:
    """A visitor who has written once: its id, REST client, socket path and first message."""
    visitor_id, client = make_visitor()
    first = participant_says(client, "hello")
    conversation_id = Message.objects.get(pk=first["id"]).conversation_id
    return {
        "id": visitor_id,
        "client": client,
        "path": f"{PARTICIPANT}?token={visitor_token_issue(visitor_id)}",
        "first": first,
        "conversation_id": conversation_id,
    }


def business_socket(app_key: str) -> Any:
    return socket(BUSINESS, headers=[(b"authorization", app_key.encode())])


def ids(events_: list[dict[str, Any]]) -> list[str]:
    return [event["entityId"] for event in events_]


async def test_participant_resume_replays_the_missed_messages_once_in_order_then_live(
    visitor, rest_send, no_window
):
    conversation_id = visitor["conversation_id"]
    first_socket = socket(visitor["path"])
    assert await open_socket(first_socket) is None
    assert await resume(first_socket, sequence=visitor["first"]["sequence"]) == []
    seen = await rest_send(conversation_id, "seen live")
    assert (await next_event(first_socket))["entityId"] == seen["id"]
    await first_socket.disconnect()

    missed = [await rest_send(conversation_id, "missed 1")]
    await rest_send(conversation_id, "internal", visibility="BUSINESS")
    missed.append(await rest_send(conversation_id, "missed 2"))

    second_socket = socket(visitor["path"])
    assert await open_socket(second_socket) is None
    replayed = await resume(second_socket, sequence=seen["sequence"])
    assert [event["data"]["message"] for event in replayed] == missed
    assert [event["slug"] for event in replayed] == ["message_sent_to_participant"] * 2

    live = await rest_send(conversation_id, "live again")
    assert ids(await collect(second_socket)) == [live["id"]]
    await second_socket.disconnect()


async def test_a_message_sent_between_connect_and_resume_arrives_exactly_once(visitor, rest_send):
    communicator = socket(visitor["path"])
    assert await open_socket(communicator) is None
    # Published while the socket waits for its resume frame: held back, and also in the
    # database when the replay query runs.
    during = await rest_send(visitor["conversation_id"], "during the handshake")
    replayed = await resume(communicator, sequence=visitor["first"]["sequence"])
    everything = ids(replayed) + ids(await collect(communicator))
    assert everything.count(during["id"]) == 1
    assert everything[-1] == during["id"]
    await communicator.disconnect()


async def test_the_safety_window_repeats_only_events_already_seen(visitor, rest_send):
    conversation_id = visitor["conversation_id"]
    communicator = socket(visitor["path"])
    assert await open_socket(communicator) is None
    assert await resume(communicator, sequence="0") == []
    seen = await rest_send(conversation_id, "seen")
    seen_events = [await next_event(communicator)]
    await communicator.disconnect()
    missed = await rest_send(conversation_id, "missed")

    again = socket(visitor["path"])
    assert await open_socket(again) is None
    replayed = await resume(again, sequence=seen["sequence"])
    seen_ids = {event["id"] for event in seen_events} | {
        event["id"] for event in replayed if event["entityId"] == visitor["first"]["id"]
    }
    new = [event for event in replayed if event["id"] not in seen_ids]
    assert ids(new) == [missed["id"]]
    # A repeated event is the same event: same id, same payload.
    repeated = [event for event in replayed if event["entityId"] == seen["id"]]
    assert repeated == seen_events
    await again.disconnect()


async def test_business_resume_replays_named_and_other_conversations(
    app_key, make_conversation, rest_send, no_window
):
    first, second, third = [await sync_to_async(make_conversation)() for _ in range(3)]
    communicator = business_socket(app_key)
    assert await open_socket(communicator) is None
    assert await resume(communicator) == []
    seen_first = await rest_send(first.pk, "first seen")
    seen_second = await rest_send(second.pk, "second seen")
    assert ids(await collect(communicator)) == [seen_first["id"], seen_second["id"]]
    await communicator.disconnect()

    missed = [
        await rest_send(first.pk, "first missed"),
        await rest_send(second.pk, "second internal", visibility="BUSINESS"),
        await rest_send(third.pk, "third, never seen"),
    ]
    again = business_socket(app_key)
    assert await open_socket(again) is None
    replayed = await resume(
        again,
        conversations={str(first.pk): seen_first["sequence"]},
        since=seen_second["sequence"],
    )
    assert [event["data"]["message"] for event in replayed] == missed
    await again.disconnect()


async def test_a_gap_larger_than_the_replay_limit_tells_the_client_to_reset(
    visitor, rest_send, settings, no_window
):
    settings.INBOX = {**settings.INBOX, "REPLAY_LIMIT": 2}
    for number in range(3):
        await rest_send(visitor["conversation_id"], f"missed {number}")
    communicator = socket(visitor["path"])
    assert await open_socket(communicator) is None
    await communicator.send_json_to({"type": "resume", "sequence": visitor["first"]["sequence"]})
    assert await communicator.receive_json_from(timeout=TIMEOUT) == {
        "type": "reset",
        "reason": "TOO_MANY_MISSED_MESSAGES",
    }
    # The socket is live after a reset.
    live = await rest_send(visitor["conversation_id"], "live")
    assert ids(await collect(communicator)) == [live["id"]]
    await communicator.disconnect()


def _send_then_roll_back(app: App, conversation: Conversation) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        services.message_send(
            caller=caller_for_app(app),
            conversation=conversation,
            draft=text_draft("rolled back"),
        )
        raise RuntimeError("the surrounding transaction fails")
    assert not Message.objects.filter(preview_text="rolled back").exists()


async def test_a_rolled_back_send_publishes_nothing(app_key, visitor, rest_send):
    business = business_socket(app_key)
    participant = socket(visitor["path"])
    for communicator in (business, participant):
        assert await open_socket(communicator) is None
        assert await resume(communicator) == []
    conversation = await Conversation.objects.aget(pk=visitor["conversation_id"])
    app = await App.objects.aget(name="Test app")
    await sync_to_async(_send_then_roll_back)(app, conversation)
    committed = await rest_send(conversation.pk, "committed")
    # Both sockets are alive, and the committed message is the only thing they got.
    for communicator in (business, participant):
        assert ids(await collect(communicator)) == [committed["id"]]
        await communicator.disconnect()


async def test_client_frames_are_checked(app_key):
    communicator = business_socket(app_key)
    assert await open_socket(communicator) is None
    for raw, code in [
        ("not json", "INVALID_FRAME"),
        ("[1, 2]", "INVALID_FRAME"),
        ('{"type": "subscribe"}', "UNKNOWN_TYPE"),
        ('{"type": "resume", "since": "-5"}', "INVALID_RESUME"),
        ('{"type": "resume", "conversations": {"not-a-uuid": "1"}}', "INVALID_RESUME"),
        ('{"type": "resume", "conversations": []}', "INVALID_RESUME"),
    ]:
        await communicator.send_to(text_data=raw)
        frame = await communicator.receive_json_from(timeout=TIMEOUT)
        assert frame["type"] == "error" and frame["code"] == code, (raw, frame)
        assert frame["message"]
    await communicator.send_to(text_data='{"type": "ping"}')
    assert await communicator.receive_json_from(timeout=TIMEOUT) == {"type": "pong"}
    await communicator.disconnect()


async def test_a_frame_too_big_closes_with_4009(app_key):
    communicator = business_socket(app_key)
    assert await open_socket(communicator) is None
    await communicator.send_to(text_data='{"type": "ping", "pad": "' + "x" * 70_000 + '"}')
    assert (await communicator.receive_output(timeout=TIMEOUT)) == {
        "type": "websocket.close",
        "code": 4009,
    }
    await communicator.disconnect()


async def test_too_many_frames_close_with_4429(app_key):
    communicator = business_socket(app_key)
    assert await open_socket(communicator) is None
    for _ in range(31):
        await communicator.send_json_to({"type": "ping"})
    frames = []
    while True:
        output = await communicator.receive_output(timeout=TIMEOUT)
        if output["type"] == "websocket.close":
            break
        frames.append(output)
    assert len(frames) == 30
    assert output == {"type": "websocket.close", "code": 4429}
    await communicator.disconnect()


def _closed_port() -> int:
    with socketlib.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def unreachable_redis(settings: Any) -> None:
    """A Redis channel layer pointing at a port nobody listens on."""
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [f"redis://127.0.0.1:{_closed_port()}/0"], "prefix": "down"},
        }
    }


async def test_a_handshake_while_the_layer_is_down_is_closed_with_4013(app_key, unreachable_redis):
    communicator = business_socket(app_key)
    assert await open_socket(communicator) == 4013
    await communicator.disconnect()


def test_a_send_that_cannot_reach_the_layer_still_succeeds_and_is_logged(
    send, make_conversation, unreachable_redis, caplog
):
    conversation = make_conversation()
    with caplog.at_level(logging.WARNING, logger="inbox"):
        message = send(conversation.pk, "stored anyway")
    assert Message.objects.filter(pk=message["id"]).exists()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any(
        "could not publish" in r.getMessage() and message["id"] in r.getMessage() for r in warnings
    )


def test_polling_by_rest_from_the_resume_cursor_misses_nothing(app_client, send, make_conversation):
    conversation = make_conversation()
    sent = [send(conversation.pk, f"before {number}") for number in range(3)]
    params = {
        "conversationId": str(conversation.pk),
        "visibility": "BUSINESS",
        "sorting.order": "ASC",
        "paging.limit": 2,
    }
    polled: list[dict[str, Any]] = []
    cursor = None
    for round_ in range(6):
        query = {**params, **({"paging.cursor": cursor} if cursor else {})}
        response = app_client.get(f"{API}/messages", query)
        assert response.status_code == 200, response.content
        body = response.json()
        polled.extend(body["messages"])
        cursor = body["pagingMetadata"]["cursors"].get("resume", cursor)
        # New messages keep arriving between polls, internal notes included.
        if round_ < 3:
            sent.append(send(conversation.pk, f"between polls {round_}"))
            if round_ == 1:
                sent.append(send(conversation.pk, "internal", visibility="BUSINESS"))
    assert polled == sent
    assert cursor is not None


# A client that never sends resume ------------------------------------------------------------


@pytest.fixture
def short_resume_wait(settings: Any) -> float:
    wait = 0.5
    settings.INBOX = {**getattr(settings, "INBOX", {}), "SOCKET_RESUME_WAIT_SECONDS": wait}
    return wait


async def frames_until_ready(communicator: Any) -> list[dict[str, Any]]:
    frames = []
    while not frames or frames[-1]["type"] != "ready":
        frames.append(await communicator.receive_json_from(timeout=TIMEOUT))
    return frames


@pytest.mark.parametrize("stream", [BUSINESS, PARTICIPANT])
async def test_the_first_frame_greets_the_client(stream, visitor, app_key):
    path = visitor["path"] if stream == PARTICIPANT else stream
    headers = [] if stream == PARTICIPANT else [(b"authorization", app_key.encode())]
    communicator = socket(path, headers=headers)
    greeting = await greeted(communicator)
    assert greeting["stream"] == stream.strip("/").rsplit("/", 1)[-1]
    assert "resume" in greeting["hint"]
    await communicator.disconnect()


@pytest.mark.parametrize("stream", [BUSINESS, PARTICIPANT])
async def test_a_socket_without_resume_goes_live_with_what_arrived_since_it_connected(
    stream, visitor, app_key, rest_send, short_resume_wait
):
    conversation_id = visitor["conversation_id"]
    path = visitor["path"] if stream == PARTICIPANT else stream
    headers = [] if stream == PARTICIPANT else [(b"authorization", app_key.encode())]
    communicator = socket(path, headers=headers)
    await greeted(communicator)
    # Sent after the handshake, before the wait is over: held, then delivered in order.
    during = [await rest_send(conversation_id, f"during {index}") for index in range(3)]
    started = asyncio.get_running_loop().time()
    frames = await frames_until_ready(communicator)
    assert asyncio.get_running_loop().time() - started < short_resume_wait + TIMEOUT
    assert frames[-1] == {"type": "ready", "replayed": 0, "resumed": False}
    # Nothing of the past (the visitor's first message) is replayed.
    assert [frame["event"]["entityId"] for frame in frames[:-1]] == [m["id"] for m in during]
    live = await rest_send(conversation_id, "live")
    assert ids(await collect(communicator)) == [live["id"]]
    await communicator.disconnect()


async def test_a_resume_after_going_live_by_itself_still_replays_the_past(
    visitor, rest_send, short_resume_wait, no_window
):
    communicator = socket(visitor["path"])
    await greeted(communicator)
    assert await frames_until_ready(communicator) == [
        {"type": "ready", "replayed": 0, "resumed": False}
    ]
    replayed = await resume(communicator, sequence="1")
    assert ids(replayed) == [visitor["first"]["id"]]
    await communicator.disconnect()


async def test_a_resume_in_time_is_not_followed_by_a_second_ready(
    visitor, short_resume_wait, no_window
):
    communicator = socket(visitor["path"])
    await greeted(communicator)
    assert await resume(communicator, sequence=visitor["first"]["sequence"]) == []
    assert await communicator.receive_nothing(timeout=short_resume_wait * 3)
    await communicator.disconnect()
