"""Concurrency on real processes: two uvicorn servers sharing one database (tests/servers.py),
hammered in parallel over HTTP. The database constraints decide; nothing is lost or doubled."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.servers import ServerCluster, asgi_servers

pytestmark = [pytest.mark.multiprocess, pytest.mark.slow]

API = "/inbox/v2"
TIMEOUT = 60.0


@pytest.fixture(scope="module")
def cluster() -> Iterator[ServerCluster]:
    with asgi_servers(2) as servers:
        servers.key = servers.create_app_key("concurrency")  # type: ignore[attr-defined]
        yield servers


def text(body: str) -> dict[str, Any]:
    return {
        "direction": "BUSINESS_TO_PARTICIPANT",
        "content": {"basic": {"items": [{"text": body}]}},
    }


async def all_together(count: int, call: Any) -> list[httpx.Response]:
    """``call(i)`` for every i, released together once every client is connected."""
    gate = asyncio.Event()

    async def one(index: int) -> httpx.Response:
        await gate.wait()
        return await call(index)

    tasks = [asyncio.ensure_future(one(index)) for index in range(count)]
    await asyncio.sleep(0.05)
    gate.set()
    return list(await asyncio.wait_for(asyncio.gather(*tasks), timeout=TIMEOUT * 2))


async def new_conversation(http: httpx.AsyncClient, cluster: ServerCluster) -> str:
    response = await http.post(
        f"{cluster.urls[0]}{API}/conversations",
        json={"participantId": {"contactId": str(uuid.uuid4())}},
    )
    assert response.status_code == 200, response.text
    return str(response.json()["conversation"]["id"])


async def list_all(
    http: httpx.AsyncClient, base: str, conversation_id: str
) -> list[dict[str, Any]]:
    """Every message, oldest first, by following the cursors (pages of 7)."""
    messages: list[dict[str, Any]] = []
    params: dict[str, Any] = {
        "conversationId": conversation_id,
        "visibility": "BUSINESS",
        "sorting.order": "ASC",
        "paging.limit": 7,
    }
    for _ in range(100):
        page = (await http.get(f"{base}{API}/messages", params=params)).json()
        messages += page["messages"]
        cursor = page["pagingMetadata"]["cursors"].get("next")
        if not cursor:
            return messages
        params = {**params, "paging.cursor": cursor}
    raise AssertionError("the walk did not end")


def client(cluster: ServerCluster) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    return httpx.AsyncClient(
        headers={"Authorization": cluster.key},  # type: ignore[attr-defined]
        timeout=TIMEOUT,
        limits=limits,
    )


async def test_fifty_parallel_sends_through_two_processes_get_fifty_increasing_sequences(
    cluster: ServerCluster,
) -> None:
    async with client(cluster) as http:
        conversation_id = await new_conversation(http, cluster)

        async def send(index: int) -> httpx.Response:
            return await http.post(
                f"{cluster.urls[index % 2]}{API}/messages",
                json={"conversationId": conversation_id, "message": text(f"parallel {index}")},
            )

        responses = await all_together(50, send)
        assert [response.status_code for response in responses] == [200] * 50, [
            response.text for response in responses if response.status_code != 200
        ]
        sent = [response.json()["message"] for response in responses]
        sequences = [int(message["sequence"]) for message in sent]
        assert len(set(sequences)) == 50
        # What each process lists: all fifty, strictly increasing, nothing else in between.
        for base in cluster.urls:
            listed = await list_all(http, base, conversation_id)
            assert sorted(message["id"] for message in listed) == sorted(m["id"] for m in sent)
            listed_sequences = [int(message["sequence"]) for message in listed]
            assert listed_sequences == sorted(sequences)
            assert all(a < b for a, b in zip(listed_sequences, listed_sequences[1:], strict=False))
            by_id = {message["id"]: message for message in sent}
            assert all(message == by_id[message["id"]] for message in listed)


async def test_twenty_parallel_get_or_create_calls_yield_one_conversation(
    cluster: ServerCluster,
) -> None:
    contact_id = str(uuid.uuid4())
    async with client(cluster) as http:

        async def get_or_create(index: int) -> httpx.Response:
            return await http.post(
                f"{cluster.urls[index % 2]}{API}/conversations",
                json={"participantId": {"contactId": contact_id}},
            )

        responses = await all_together(20, get_or_create)
    assert [response.status_code for response in responses] == [200] * 20, [
        response.text for response in responses if response.status_code != 200
    ]
    bodies = [response.json() for response in responses]
    assert len({body["conversation"]["id"] for body in bodies}) == 1
    assert sum(body["newConversation"] for body in bodies) == 1
    assert {body["conversation"]["participant"]["contactId"] for body in bodies} == {contact_id}


async def test_concurrent_retries_with_one_idempotency_key_create_one_message(
    cluster: ServerCluster,
) -> None:
    async with client(cluster) as http:
        conversation_id = await new_conversation(http, cluster)
        key = f"retry-{uuid.uuid4()}"
        body = {"conversationId": conversation_id, "message": text("exactly once")}

        async def retry(index: int) -> httpx.Response:
            return await http.post(
                f"{cluster.urls[index % 2]}{API}/messages",
                json=body,
                headers={"Idempotency-Key": key},
            )

        responses = await all_together(20, retry)
        assert [response.status_code for response in responses] == [200] * 20, [
            response.text for response in responses if response.status_code != 200
        ]
        assert len({response.content for response in responses}) == 1  # the same bytes
        listed = await list_all(http, cluster.urls[1], conversation_id)
        assert [message["id"] for message in listed] == [responses[0].json()["message"]["id"]]
        # The same key with another body is a conflict, not a second message.
        other = await http.post(
            f"{cluster.urls[0]}{API}/messages",
            json={"conversationId": conversation_id, "message": text("something else")},
            headers={"Idempotency-Key": key},
        )
        assert other.status_code == 409, other.text
        assert other.json()["details"]["applicationError"]["code"] == "IDEMPOTENCY_KEY_REUSED"
        assert len(await list_all(http, cluster.urls[0], conversation_id)) == 1
