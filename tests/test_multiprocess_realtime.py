"""Live push across real server processes: two uvicorn processes sharing one database and Redis
(tests/servers.py). A message sent through process A reaches sockets held by process B; a burst
is delivered live in full; a Redis outage costs REST nothing and clients no message."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import websockets
from websockets.asyncio.client import connect

from inbox.models import Participant, conversation_id_for
from tests.servers import RedisServer, ServerCluster, asgi_servers, redis_server

pytestmark = [pytest.mark.multiprocess, pytest.mark.slow]

BUSINESS = "/ws/inbox/business/"
PARTICIPANT = "/ws/inbox/participant/"
API = "/inbox/v2"
TIMEOUT = 15.0


@pytest.fixture(scope="module")
def cluster() -> Iterator[ServerCluster]:
    """Two server processes on the machine's Redis (REDIS_URL, else 127.0.0.1:6379)."""
    with asgi_servers(2) as servers:
        yield servers


def body(text: str, **extra: Any) -> dict[str, Any]:
    return {
        "direction": "BUSINESS_TO_PARTICIPANT",
        "visibility": "BUSINESS_AND_PARTICIPANT",
        "content": {"basic": {"items": [{"text": text}]}},
        **extra,
    }


async def new_visitor(http: httpx.AsyncClient, base: str) -> dict[str, Any]:
    """A visitor who has written once, so its conversation exists."""
    issued = (await http.post(f"{base}{API}/visitors")).json()
    sent = await http.post(
        f"{base}{API}/messages",
        headers={"Authorization": f"Bearer {issued['token']}"},
        json={"message": body("hello", direction="PARTICIPANT_TO_BUSINESS")},
    )
    assert sent.status_code == 200, sent.text
    visitor_id = uuid.UUID(issued["anonymousVisitorId"])
    return {
        "token": issued["token"],
        "first": sent.json()["message"],
        # Derived from the visitor, as the server derives it.
        "conversation_id": str(conversation_id_for(Participant.Kind.ANONYMOUS_VISITOR, visitor_id)),
    }


async def conversation_of(http: httpx.AsyncClient, base: str, key: str) -> str:
    response = await http.post(
        f"{base}{API}/conversations",
        headers={"Authorization": key},
        json={"participantId": {"contactId": str(uuid.uuid4())}},
    )
    assert response.status_code == 200, response.text
    return str(response.json()["conversation"]["id"])


async def send(
    http: httpx.AsyncClient, base: str, key: str, conversation_id: str, text: str, **extra: Any
) -> dict[str, Any]:
    response = await http.post(
        f"{base}{API}/messages",
        headers={"Authorization": key},
        json={"conversationId": conversation_id, "message": body(text, **extra)},
    )
    assert response.status_code == 200, response.text
    return dict(response.json()["message"])


class StreamClient:
    """A socket client as the staff page and the widget are meant to be: it keeps what it saw
    (dropping events whose id it already has), and after a close it reconnects and resumes from
    the last sequences it saw."""

    def __init__(self, url: str, origin: str, *, token: str | None = None, key: str | None = None):
        self.url = url + (f"?token={token}" if token else "")
        self.origin = origin
        self.headers = {"Authorization": key} if key else {}
        self.business = key is not None
        self.events: dict[str, dict[str, Any]] = {}
        # Message ids in arrival order (first copies only), per conversation.
        self.arrivals: dict[str, list[int]] = {}
        self.duplicates = 0
        self.closes: list[int | None] = []
        self.live = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def resume_frame(self) -> dict[str, Any]:
        highest = {
            conversation: max(sequences) for conversation, sequences in self.arrivals.items()
        }
        if self.business:
            frame: dict[str, Any] = {"type": "resume"}
            if highest:
                frame["conversations"] = {c: str(s) for c, s in highest.items()}
                frame["since"] = str(max(highest.values()))
            return frame
        return {"type": "resume", "sequence": str(max(highest.values(), default=0))}

    async def run(self) -> None:
        while True:
            try:
                async with connect(
                    self.url,
                    origin=self.origin,  # type: ignore[arg-type]
                    additional_headers=self.headers,
                    open_timeout=TIMEOUT,
                    max_size=None,
                ) as ws:
                    await ws.send(json.dumps(self.resume_frame()))
                    async for raw in ws:
                        self.receive(json.loads(raw))
            except websockets.ConnectionClosed as closed:
                self.closes.append(closed.rcvd.code if closed.rcvd else None)
            except (OSError, websockets.InvalidHandshake, TimeoutError):
                self.closes.append(None)
            await asyncio.sleep(0.2)

    def receive(self, frame: dict[str, Any]) -> None:
        if frame["type"] == "ready":
            self.live.set()
        elif frame["type"] == "event":
            event = frame["event"]
            if event["id"] in self.events:
                self.duplicates += 1
                return
            self.events[event["id"]] = event
            message = event["data"].get("message")
            if message is not None:
                self.arrivals.setdefault(event["data"]["conversationId"], []).append(
                    int(message["sequence"])
                )
        elif frame["type"] == "reset":
            raise AssertionError(f"unexpected reset: {frame}")

    def message_ids(self) -> set[str]:
        return {event["entityId"] for event in self.events.values() if event["data"].get("message")}

    async def start(self) -> None:
        self.task = asyncio.ensure_future(self.run())
        await asyncio.wait_for(self.live.wait(), TIMEOUT)

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task


async def wait_for_all(
    clients: list[StreamClient], expected: list[set[str]], timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(
            want <= client.message_ids() for client, want in zip(clients, expected, strict=True)
        ):
            return
        await asyncio.sleep(0.1)


async def test_a_message_sent_through_one_process_reaches_sockets_held_by_the_other(cluster):
    a, b = cluster.urls
    key = await asyncio.to_thread(cluster.create_app_key)
    async with httpx.AsyncClient(timeout=TIMEOUT) as http:
        visitor = await new_visitor(http, a)
        conversation_id = visitor["conversation_id"]
        business = StreamClient(cluster.ws_urls[1] + BUSINESS, cluster.origins[1], key=key)
        participant = StreamClient(
            cluster.ws_urls[1] + PARTICIPANT, cluster.origins[1], token=visitor["token"]
        )
        try:
            for client in (business, participant):
                await client.start()
            public = await send(http, a, key, conversation_id, "through A")
            internal = await send(http, a, key, conversation_id, "internal", visibility="BUSINESS")
            after = await send(http, a, key, conversation_id, "through A again")
            await wait_for_all(
                [business, participant],
                [{public["id"], internal["id"], after["id"]}, {public["id"], after["id"]}],
                TIMEOUT,
            )
            assert business.message_ids() == {public["id"], internal["id"], after["id"]}
            assert participant.message_ids() == {public["id"], after["id"]}
            by_message = {e["entityId"]: e for e in business.events.values()}
            assert by_message[public["id"]]["data"]["message"] == public
        finally:
            for client in (business, participant):
                await client.stop()
    assert business.closes == participant.closes == []


SENDERS = 5
MESSAGES_PER_SENDER = 400
BUSINESS_RECEIVERS = 5


@pytest.mark.timeout(600)
async def test_a_burst_is_delivered_live_in_full_in_order_without_duplicates(cluster):
    """5 senders × 400 messages through both processes, 10 receivers on both processes: 5 on the
    business stream (every message) and one participant socket per sender's conversation."""
    key = await asyncio.to_thread(cluster.create_app_key)
    limits = httpx.Limits(max_connections=2 * SENDERS)
    async with httpx.AsyncClient(timeout=TIMEOUT * 2, limits=limits) as http:
        visitors = [await new_visitor(http, cluster.urls[i % 2]) for i in range(SENDERS)]
        business = [
            StreamClient(cluster.ws_urls[i % 2] + BUSINESS, cluster.origins[i % 2], key=key)
            for i in range(BUSINESS_RECEIVERS)
        ]
        participants = [
            StreamClient(
                cluster.ws_urls[(i + 1) % 2] + PARTICIPANT,
                cluster.origins[(i + 1) % 2],
                token=visitor["token"],
            )
            for i, visitor in enumerate(visitors)
        ]
        receivers = business + participants
        try:
            for receiver in receivers:
                await receiver.start()

            async def sender(index: int) -> list[str]:
                conversation_id = visitors[index]["conversation_id"]
                sent = []
                for number in range(MESSAGES_PER_SENDER):
                    # Alternate the processes message by message.
                    base = cluster.urls[(index + number) % 2]
                    message = await send(http, base, key, conversation_id, f"{index}/{number}")
                    sent.append(message["id"])
                return sent

            sent = await asyncio.wait_for(
                asyncio.gather(*(sender(i) for i in range(SENDERS))), timeout=420
            )
            everything = {message_id for ids in sent for message_id in ids}
            assert len(everything) == SENDERS * MESSAGES_PER_SENDER
            expected = [everything] * BUSINESS_RECEIVERS + [set(ids) for ids in sent]
            await wait_for_all(receivers, expected, timeout=60)
        finally:
            for receiver in receivers:
                await receiver.stop()

    for receiver, want in zip(receivers, expected, strict=True):
        assert receiver.message_ids() == want, f"{len(want - receiver.message_ids())} missing"
        assert receiver.duplicates == 0
        assert receiver.closes == []
        for sequences in receiver.arrivals.values():
            assert sequences == sorted(sequences)
    # Delivered live: no socket had to be resynchronised from the database, nothing dropped.
    logs = cluster.logs()
    assert "lost heartbeats" not in logs
    assert "dropped" not in logs
    assert "could not publish" not in logs


@pytest.fixture
def private_redis() -> Iterator[RedisServer]:
    with redis_server() as server:
        yield server


async def test_a_redis_outage_costs_rest_nothing_and_clients_no_message(private_redis):
    with asgi_servers(2, redis_url=private_redis.url) as servers:
        await _outage_scenario(servers, private_redis)


async def _outage_scenario(cluster: ServerCluster, redis: RedisServer) -> None:
    a, b = cluster.urls
    key = await asyncio.to_thread(cluster.create_app_key)
    async with httpx.AsyncClient(timeout=TIMEOUT) as http:
        visitors = [await new_visitor(http, base) for base in (a, b)]
        conversations = [visitor["conversation_id"] for visitor in visitors]
        clients = [
            StreamClient(cluster.ws_urls[0] + BUSINESS, cluster.origins[0], key=key),
            StreamClient(cluster.ws_urls[1] + BUSINESS, cluster.origins[1], key=key),
            StreamClient(
                cluster.ws_urls[1] + PARTICIPANT, cluster.origins[1], token=visitors[0]["token"]
            ),
            StreamClient(
                cluster.ws_urls[0] + PARTICIPANT, cluster.origins[0], token=visitors[1]["token"]
            ),
        ]
        sent: list[tuple[int, str]] = []

        async def send_round(label: str, count: int) -> None:
            for number in range(count):
                which = number % 2
                base = cluster.urls[number // 2 % 2]
                message = await send(http, base, key, conversations[which], f"{label} {number}")
                sent.append((which, message["id"]))

        try:
            for client in clients:
                await client.start()
            await send_round("before", 6)

            redis.stop()
            stopped = time.monotonic()
            # REST keeps answering 200 while the layer is gone (send() asserts the status)...
            await send_round("during", 6)
            # ...and a handshake gets a clean 1013, not an HTTP 500.
            async with connect(
                cluster.ws_urls[0] + BUSINESS,
                origin=cluster.origins[0],  # type: ignore[arg-type]
                additional_headers={"Authorization": key},
                open_timeout=TIMEOUT,
            ) as refused:
                with pytest.raises(websockets.ConnectionClosed) as closed:
                    await asyncio.wait_for(refused.recv(), TIMEOUT)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013
            await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - stopped)))
            redis.start()

            await send_round("after", 6)
            everything = {message_id for _, message_id in sent}
            expected = [
                everything,
                everything,
                {message_id for which, message_id in sent if which == 0},
                {message_id for which, message_id in sent if which == 1},
            ]
            await wait_for_all(clients, expected, timeout=30)
        finally:
            for client in clients:
                await client.stop()

    # Resynchronising replays from a little before the last message a socket saw (the safety
    # window), so a socket may also get the visitors' first messages, sent before it opened.
    earlier = {visitor["first"]["id"] for visitor in visitors}
    for client, want in zip(clients, expected, strict=True):
        got = client.message_ids()
        assert want <= got <= want | earlier, (
            f"missing {want - got}, extra {got - want - earlier}\n{cluster.logs()[-3000:]}"
        )
    assert "lost heartbeats" in cluster.logs()
    # The sockets never closed: each server replayed the gap to its sockets by itself.
    assert [client.closes for client in clients] == [[], [], [], []]
