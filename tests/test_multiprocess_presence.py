"""Typing and presence across real server processes (tests/servers.py, issue 16): typing sent
to one process reaches sockets held by the other (Redis layer); a staff page on one process
makes every process answer "online", in Redis and, without Redis, in the database; a closed
staff tab counts at once, a killed process's once its heartbeats run out."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from inbox.models import Participant, conversation_id_for
from tests.servers import ServerCluster, asgi_servers

pytestmark = [pytest.mark.multiprocess, pytest.mark.slow]

BUSINESS = "/ws/inbox/business/"
PARTICIPANT = "/ws/inbox/participant/"
API = "/inbox/v2"
TIMEOUT = 15.0

STAFF_SESSION = """
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.auth.models import Permission
from django.contrib.sessions.backends.db import SessionStore
user = get_user_model().objects.create_user({name!r}, password="pw-123456", is_staff=True)
user.user_permissions.add(*Permission.objects.filter(content_type__app_label="inbox"))
session = SessionStore()
session[SESSION_KEY] = str(user.pk)
session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = user.get_session_auth_hash()
session.create()
print(session.session_key)
"""


@pytest.fixture(scope="module")
def cluster() -> Iterator[ServerCluster]:
    with asgi_servers(2) as servers:
        yield servers


def staff_session(cluster: ServerCluster) -> str:
    """A logged-in staff user's session key, made in the servers' database."""
    code = STAFF_SESSION.format(name=f"staff-{uuid.uuid4().hex[:8]}")
    return cluster.manage("shell", "-c", code).strip().splitlines()[-1]


async def live_socket(
    cluster: ServerCluster, server: int, path: str, *, session: str = "", token: str = ""
) -> ClientConnection:
    url = cluster.ws_urls[server] + path + (f"?token={token}" if token else "")
    headers = {"Cookie": f"sessionid={session}"} if session else {}
    socket = await connect(url, origin=cluster.origins[server], additional_headers=headers)  # type: ignore[arg-type]
    hello = json.loads(await asyncio.wait_for(socket.recv(), TIMEOUT))
    assert hello["type"] == "hello", hello
    await socket.send(json.dumps({"type": "resume"}))
    while json.loads(await asyncio.wait_for(socket.recv(), TIMEOUT))["type"] != "ready":
        pass
    return socket


async def next_event(socket: ClientConnection, slug: str) -> dict[str, Any]:
    deadline = time.monotonic() + TIMEOUT
    while True:
        frame = json.loads(await asyncio.wait_for(socket.recv(), deadline - time.monotonic()))
        if frame["type"] == "event" and frame["event"]["slug"] == slug:
            return dict(frame["event"])


async def new_visitor(http: httpx.AsyncClient, base: str) -> dict[str, Any]:
    issued = (await http.post(f"{base}{API}/visitors")).json()
    sent = await http.post(
        f"{base}{API}/messages",
        headers={"Authorization": f"Bearer {issued['token']}"},
        json={
            "message": {
                "direction": "PARTICIPANT_TO_BUSINESS",
                "content": {"basic": {"items": [{"text": "hello"}]}},
            }
        },
    )
    assert sent.status_code == 200, sent.text
    visitor_id = uuid.UUID(issued["anonymousVisitorId"])
    # Derived from the visitor, as the server derives it.
    conversation_id = conversation_id_for(Participant.Kind.ANONYMOUS_VISITOR, visitor_id)
    return {"token": issued["token"], "conversation_id": str(conversation_id)}


async def availability(http: httpx.AsyncClient, base: str, token: str) -> str:
    response = await http.get(
        f"{base}{API}/availability", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["availability"]["status"])


async def until(read: Callable[[], Any], want: str, timeout: float = TIMEOUT) -> None:
    """Wait until ``read()`` answers ``want`` (the load of a shared machine decides how long a
    close takes to reach the server; correctness, not speed, is what is asserted)."""
    deadline = time.monotonic() + timeout
    seen = None
    while time.monotonic() < deadline:
        seen = await read()
        if seen == want:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"still {seen!r}, not {want!r}")


async def test_typing_crosses_processes_both_ways(cluster):
    a, _ = cluster.urls
    session = await asyncio.to_thread(staff_session, cluster)
    async with httpx.AsyncClient(timeout=TIMEOUT) as http:
        visitor = await new_visitor(http, a)
    widget = await live_socket(cluster, 0, PARTICIPANT, token=visitor["token"])
    staff = await live_socket(cluster, 1, BUSINESS, session=session)
    try:
        await widget.send(json.dumps({"type": "typing", "op": "start"}))
        seen = await next_event(staff, "participant_typing")
        assert seen["data"] == {"conversationId": visitor["conversation_id"], "op": "start"}

        conversation_id = visitor["conversation_id"]
        await staff.send(
            json.dumps(
                {"type": "typing", "op": "start", "conversationId": conversation_id, "note": True}
            )
        )
        await staff.send(
            json.dumps({"type": "typing", "op": "start", "conversationId": conversation_id})
        )
        told = await next_event(widget, "business_typing")
        assert told["data"] == {"conversationId": conversation_id, "op": "start"}
        # The note's typing came first and never reached the widget: what it got was the reply's.
        await staff.send(
            json.dumps({"type": "typing", "op": "stop", "conversationId": conversation_id})
        )
        assert (await next_event(widget, "business_typing"))["data"]["op"] == "stop"
    finally:
        await widget.close()
        await staff.close()


async def test_a_staff_page_on_one_process_is_online_on_the_other(cluster):
    a, b = cluster.urls
    session = await asyncio.to_thread(staff_session, cluster)
    async with httpx.AsyncClient(timeout=TIMEOUT) as http:
        visitor = await new_visitor(http, a)
        status = lambda: availability(http, b, visitor["token"])  # noqa: E731
        assert await status() == "OFFLINE"
        first = await live_socket(cluster, 0, BUSINESS, session=session)
        second = await live_socket(cluster, 1, BUSINESS, session=session)
        assert await status() == "ONLINE"
        # One tab of two closes: still online; the last one: offline.
        await first.close()
        await asyncio.sleep(0.5)
        assert await status() == "ONLINE"
        await second.close()
        await until(status, "OFFLINE")


@pytest.mark.parametrize("layer", ["redis", "database"])
async def test_a_killed_process_stops_counting_once_its_heartbeats_run_out(layer):
    """SIGKILL: no disconnect runs, so only the TTL (2 s here) ends the presence; without Redis
    the database holds it, and the surviving process reads it there."""
    extra = {"INBOX_PRESENCE_TTL_SECONDS": "2"}
    if layer == "database":
        # The in-memory layer in each process (project/settings.py without REDIS_URL).
        extra["REDIS_URL"] = ""
    with asgi_servers(2, server_env={0: extra, 1: extra}) as servers:
        a, b = servers.urls
        session = await asyncio.to_thread(staff_session, servers)
        async with httpx.AsyncClient(timeout=TIMEOUT) as http:
            visitor = await new_visitor(http, b)
            status = lambda: availability(http, b, visitor["token"])  # noqa: E731
            page = await live_socket(servers, 0, BUSINESS, session=session)
            assert await status() == "ONLINE"
            process = servers.servers[0].process
            assert process is not None
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=TIMEOUT)
            await until(status, "OFFLINE")
            del page
