"""Live push across real server processes: two uvicorn processes sharing one database and Redis
(tests/servers.py). A message sent through process A reaches sockets held by process B; a burst
is delivered live in full; a Redis outage costs REST nothing and clients no message."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import websockets
from websockets.asyncio.client import connect

from inbox.models import Participant, conversation_id_for
from tests.jepsen import Client
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


def stream_client(
    cluster: ServerCluster,
    server: int,
    path: str,
    *,
    key: str | None = None,
    token: str | None = None,
) -> Client:
    """A socket client (tests/jepsen.py: it keeps what it saw, drops events whose id it already
    has, and after a close reconnects and resumes from the last sequences it saw) on one server
    only."""
    return Client(
        f"{path.strip('/').split('/')[-1]}@{server}",
        [cluster.ws_urls[server]],
        [cluster.origins[server]],
        path=path,
        key=key,
        token=token,
    )


async def start_live(clients: list[Client]) -> None:
    """Start the clients and wait until each socket is live (``ready`` seen)."""
    for client in clients:
        await client.start()
        await asyncio.wait_for(client.ready.wait(), TIMEOUT)


async def wait_for_all(clients: list[Client], expected: list[set[str]], timeout: float) -> None:
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
        business = stream_client(cluster, 1, BUSINESS, key=key)
        participant = stream_client(cluster, 1, PARTICIPANT, token=visitor["token"])
        try:
            await start_live([business, participant])
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
            shown = {message["id"]: message for message in business.first.values()}
            shown[public["id"]].pop("arrivedAt")
            assert shown[public["id"]] == {**public, "conversationId": conversation_id}
        finally:
            for client in (business, participant):
                await client.stop()
    for client in (business, participant):
        assert client.disconnects == [] and client.resets == 0 and client.duplicates == 0


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
            stream_client(cluster, i % 2, BUSINESS, key=key) for i in range(BUSINESS_RECEIVERS)
        ]
        participants = [
            stream_client(cluster, (i + 1) % 2, PARTICIPANT, token=visitor["token"])
            for i, visitor in enumerate(visitors)
        ]
        receivers = business + participants
        try:
            await start_live(receivers)

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
        assert receiver.disconnects == [] and receiver.resets == 0
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
            stream_client(cluster, 0, BUSINESS, key=key),
            stream_client(cluster, 1, BUSINESS, key=key),
            stream_client(cluster, 1, PARTICIPANT, token=visitors[0]["token"]),
            stream_client(cluster, 0, PARTICIPANT, token=visitors[1]["token"]),
        ]
        sent: list[tuple[int, str]] = []

        async def send_round(label: str, count: int) -> None:
            for number in range(count):
                which = number % 2
                base = cluster.urls[number // 2 % 2]
                message = await send(http, base, key, conversations[which], f"{label} {number}")
                sent.append((which, message["id"]))

        try:
            await start_live(clients)
            await send_round("before", 6)

            redis.stop()
            stopped = time.monotonic()
            # REST keeps answering 200 while the layer is gone (send() asserts the status)...
            await send_round("during", 6)
            # ...and a handshake gets a clean 4013, not an HTTP 500.
            async with connect(
                cluster.ws_urls[0] + BUSINESS,
                origin=cluster.origins[0],  # type: ignore[arg-type]
                additional_headers={"Authorization": key},
                open_timeout=TIMEOUT,
            ) as refused:
                with pytest.raises(websockets.ConnectionClosed) as closed:
                    await asyncio.wait_for(refused.recv(), TIMEOUT)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4013
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
    assert [client.disconnects for client in clients] == [[], [], [], []]
    assert [client.resets for client in clients] == [0, 0, 0, 0]
