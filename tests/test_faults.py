"""Faults on real processes, checked Jepsen-style (tests/jepsen.py): every send is logged as
invoked / ok / fail / unknown, socket clients reconnect and resume as the pages do, and at the
end every acknowledged message is on every client that may see it exactly once, in sequence
order, and nothing else is there.

- Redis (a private redis-server) stopped for a second while messages flow at 100/s (second CI
  pass only: INBOX_FAULT_TESTS=1);
- one of two server processes killed with SIGKILL while 20 clients hold sockets;
- 1,000 socket connect/disconnect cycles leak no file descriptor or database connection;
- PostgreSQL restarted under load (second CI pass only: it disrupts everything else on the
  machine; needs DATABASE_URL and INBOX_FAULT_TESTS=1).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import statistics
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect

from inbox.identity import visitor_token_issue
from tests.jepsen import (
    FAIL,
    OK,
    UNKNOWN,
    Client,
    History,
    check,
    divergent,
    missing_acknowledged,
)
from tests.servers import ServerCluster, asgi_servers, redis_server

pytestmark = [pytest.mark.multiprocess, pytest.mark.slow]

API = "/inbox/v2"
BUSINESS = "/ws/inbox/business/"
PARTICIPANT = "/ws/inbox/participant/"
REPORT = (
    Path(os.environ.get("INBOX_FAULT_REPORT", "")) if os.environ.get("INBOX_FAULT_REPORT") else None
)


def report(name: str, numbers: dict[str, Any]) -> None:
    """Print the numbers a run saw (and append them to $INBOX_FAULT_REPORT for the docs)."""
    line = json.dumps({"test": name, **numbers}, default=str)
    print(line)
    if REPORT is not None:
        with REPORT.open("a") as handle:
            handle.write(line + "\n")


async def open_conversations(
    http: httpx.AsyncClient, base: str, key: str, count: int
) -> list[tuple[str, str]]:
    """(conversation id, visitor token) of ``count`` visitors."""
    made = []
    for _ in range(count):
        visitor_id = uuid.uuid4()
        response = await http.post(
            f"{base}{API}/conversations",
            headers={"Authorization": key},
            json={"participantId": {"anonymousVisitorId": str(visitor_id)}},
        )
        assert response.status_code == 200, response.text
        made.append((response.json()["conversation"]["id"], visitor_token_issue(visitor_id)))
    return made


async def committed_messages(
    http: httpx.AsyncClient, base: str, key: str, conversation_ids: list[str]
) -> dict[str, list[str]]:
    """Per conversation, every message id the database holds, in sequence order (over REST)."""
    result = {}
    for conversation_id in conversation_ids:
        ids: list[str] = []
        params: dict[str, Any] = {
            "conversationId": conversation_id,
            "visibility": "BUSINESS",
            "sorting.order": "ASC",
            "paging.limit": 100,
        }
        for _ in range(1000):
            response = await http.get(
                f"{base}{API}/messages", params=params, headers={"Authorization": key}
            )
            assert response.status_code == 200, response.text
            page = response.json()
            ids += [message["id"] for message in page["messages"]]
            cursor = page["pagingMetadata"]["cursors"].get("next")
            if not cursor:
                break
            params = {**params, "paging.cursor": cursor}
        result[conversation_id] = ids
    return result


def make_clients(
    cluster: ServerCluster,
    key: str,
    conversations: list[tuple[str, str]],
    business: int,
    *,
    home: int | None = None,
) -> list[Client]:
    """``business`` business clients and one visitor per conversation, spread over the servers
    (all on server ``home`` when given)."""
    clients = [
        Client(
            f"business-{index}",
            cluster.ws_urls,
            cluster.origins,
            path=BUSINESS,
            key=key,
            conversations={conversation_id for conversation_id, _ in conversations},
            home=index % len(cluster.urls) if home is None else home,
        )
        for index in range(business)
    ]
    clients += [
        Client(
            f"visitor-{index}",
            cluster.ws_urls,
            cluster.origins,
            path=PARTICIPANT,
            token=token,
            conversations={conversation_id},
            home=(index + 1) % len(cluster.urls) if home is None else home,
        )
        for index, (conversation_id, token) in enumerate(conversations)
    ]
    return clients


async def all_ready(clients: list[Client], timeout: float = 20) -> None:
    await asyncio.wait_for(asyncio.gather(*(client.ready.wait() for client in clients)), timeout)


async def wait_until_complete(
    clients: list[Client], history: History, deadline: float
) -> float | None:
    """When every client holds every acknowledged message it may see (None: not by deadline)."""
    while time.monotonic() < deadline:
        acknowledged = history.acknowledged()
        if all(
            {
                message_id
                for message_id, operation in acknowledged.items()
                if operation.conversation_id in client.conversations
            }
            <= client.message_ids()
            for client in clients
        ):
            return time.monotonic()
        await asyncio.sleep(0.05)
    return None


def visible(client: Client, conversation_id: str) -> bool:
    return conversation_id in client.conversations


async def paced_sends(
    http: httpx.AsyncClient,
    history: History,
    *,
    key: str,
    conversations: list[str],
    servers: Any,
    rate: float,
    seconds: float,
) -> None:
    """``rate`` sends per second for ``seconds``, each its own request (no waiting for the
    previous one), round robin over the conversations; ``servers(i)`` picks the base URL."""
    start = time.monotonic()
    tasks = []
    for index in range(int(rate * seconds)):
        delay = start + index / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        conversation_id = conversations[index % len(conversations)]
        tasks.append(
            asyncio.ensure_future(
                history.send(
                    http,
                    f"{servers(index)}{API}/messages",
                    conversation_id,
                    f"paced {index}",
                    headers={"Authorization": key},
                )
            )
        )
    await asyncio.gather(*tasks)


def http_client() -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=300, max_keepalive_connections=100)
    return httpx.AsyncClient(timeout=30, limits=limits)


# Redis outage ------------------------------------------------------------------------------


@pytest.mark.skipif(
    os.environ.get("INBOX_FAULT_TESTS") != "1",
    reason="heavy (two servers at 100 sends/s through an outage, a 5 s bound): second CI pass "
    "only (INBOX_FAULT_TESTS=1); on SQLite the two servers share one file lock and leave no "
    "headroom",
)
async def test_redis_stopped_for_a_second_at_100_messages_per_second() -> None:
    with redis_server() as redis, asgi_servers(2, redis_url=redis.url) as cluster:
        key = await asyncio.to_thread(cluster.create_app_key)
        async with http_client() as http:
            conversations = await open_conversations(http, cluster.urls[0], key, 4)
            ids = [conversation_id for conversation_id, _ in conversations]
            clients = make_clients(cluster, key, conversations, business=2)
            history = History()
            try:
                for client in clients:
                    await client.start()
                await all_ready(clients)

                async def outage() -> tuple[float, float]:
                    await asyncio.sleep(1.0)
                    stopped = time.monotonic()
                    await asyncio.to_thread(redis.stop)
                    await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - stopped)))
                    await asyncio.to_thread(redis.start)
                    return stopped, time.monotonic()

                _, (stopped, back) = await asyncio.gather(
                    paced_sends(
                        http,
                        history,
                        key=key,
                        conversations=ids,
                        servers=lambda index: cluster.urls[index % 2],
                        rate=100,
                        seconds=4.0,
                    ),
                    outage(),
                )
                # Measured up to 30 s, so that a slow recovery shows how slow it is; the bound is 5 s.
                complete = await wait_until_complete(clients, history, back + 30.0)
                await asyncio.sleep(0.5)  # anything late (a duplicate, a stray) shows up too
            finally:
                for client in clients:
                    await client.stop()
            committed = await committed_messages(http, cluster.urls[0], key, ids)
        if os.environ.get("INBOX_FAULT_LOGS"):
            Path(os.environ["INBOX_FAULT_LOGS"]).write_text(
                f"stopped={stopped} back={back} complete={complete}\n"
                + "\n".join(
                    f"{c.name} late: "
                    + str(
                        sorted(
                            (
                                round(m["arrivedAt"] - back, 2),
                                m["id"],
                                round(history.acknowledged()[m["id"]].invoked - back, 2)
                                if m["id"] in history.acknowledged()
                                else None,
                            )
                            for m in c.first.values()
                            if m["arrivedAt"] > back + 3
                        )[:12]
                    )
                    for c in clients
                )
                + "\n"
                + "\n".join(f"{c.name} connects={c.connects} disc={c.disconnects}" for c in clients)
                + "\n"
                + cluster.logs()
            )
    summary = history.summary()
    during = [op for op in history.operations if stopped <= op.invoked <= back and op.outcome == OK]
    # Where the catch-up time goes: the server answering the sends (the last acknowledgement
    # bounds completion from below) and the push after the acknowledgement (per message, until
    # the last client that may see it has it).
    acknowledged = history.acknowledged()
    last_arrival: dict[str, float] = {}
    for client in clients:
        for message in client.first.values():
            message_id = message["id"]
            last_arrival[message_id] = max(last_arrival.get(message_id, 0.0), message["arrivedAt"])
    push_lags = sorted(
        last_arrival[message_id] - (operation.completed or operation.invoked)
        for message_id, operation in acknowledged.items()
        if message_id in last_arrival and operation.invoked > back
    )
    phases: dict[str, list[float]] = {"before": [], "during": [], "after": []}
    for operation in history.operations:
        phase = (
            "before"
            if operation.invoked < stopped
            else "during"
            if operation.invoked <= back
            else "after"
        )
        phases[phase].append((operation.completed or operation.invoked) - operation.invoked)
    send_seconds = [
        [round(sorted(lags)[len(lags) // 2], 2), round(max(lags), 2)] if lags else None
        for lags in phases.values()
    ]
    report(
        "redis_outage",
        {
            **summary,
            "send_s_p50_max_before_during_after": send_seconds,
            "sends_during_outage_ok": len(during),
            "outage_s": round(back - stopped, 2),
            "complete_after_redis_back_s": round(complete - back, 2) if complete else None,
            "last_ack_after_redis_back_s": round(
                max(op.completed or 0.0 for op in acknowledged.values()) - back, 2
            ),
            "slowest_send_s": round(
                max((op.completed or op.invoked) - op.invoked for op in history.operations), 2
            ),
            "push_after_ack_s_p50_max_for_sends_after_return": [
                round(push_lags[len(push_lags) // 2], 2) if push_lags else None,
                round(push_lags[-1], 2) if push_lags else None,
            ],
            "clients": len(clients),
            "duplicates_dropped": sum(client.duplicates for client in clients),
            "resets_refetched": sum(client.resets for client in clients),
            "retried_sends": sum(1 for op in history.operations if op.attempts > 1),
            "acknowledged_missing_on_clients": len(
                missing_acknowledged(history, clients, committed, visible)
            ),
            "lost": len(
                set(history.acknowledged()) - {m for ids in committed.values() for m in ids}
            ),
        },
    )
    assert summary["5xx"] == 0, [op.error for op in history.by_outcome(FAIL)][:5]
    assert summary[FAIL] == summary[UNKNOWN] == 0, [
        op.error for op in history.operations if op.outcome != OK
    ][:5]
    assert len(during) > 50, "the outage should have overlapped the stream"
    # Strict: nothing lost from the database, nothing shown twice, out of order, or that the
    # client may not see.
    assert check(history, clients, committed, visible, with_missing=False) == []
    # Every acknowledged message on every client that may see it within 5 s of Redis returning.
    # (The subscriber reconnects within 0.2 s and every socket resynchronises as soon as its
    # subscription is proven back: docs/reliability.md.)
    missing = missing_acknowledged(history, clients, committed, visible)
    assert not missing, f"{len(missing)} acknowledged messages missing on clients: {missing[:6]}"
    assert complete is not None and complete - back <= 5.0, (
        f"clients complete {'never' if complete is None else f'{complete - back:.1f} s'} after "
        f"Redis returned (bound: 5 s); seconds to answer a send (p50, max) before, during and "
        f"after the outage: {send_seconds}"
    )


# SIGKILL of one of two server processes -----------------------------------------------------


async def test_one_of_two_servers_killed_while_20_clients_hold_sockets() -> None:
    with asgi_servers(2) as cluster:
        key = await asyncio.to_thread(cluster.create_app_key)
        async with http_client() as http:
            conversations = await open_conversations(http, cluster.urls[0], key, 10)
            ids = [conversation_id for conversation_id, _ in conversations]
            clients = make_clients(cluster, key, conversations, business=10)
            history = History()
            killed: dict[str, float] = {}
            try:
                for client in clients:
                    await client.start()
                await all_ready(clients)
                on_victim = [client for client in clients if client.connects[-1][1] == 1]
                assert len(on_victim) == 10

                def server_for(index: int) -> str:
                    # Until the kill, alternate; after it, only the survivor (a load balancer's
                    # health check would take the dead one out).
                    return cluster.urls[0] if "at" in killed else cluster.urls[index % 2]

                async def kill() -> None:
                    await asyncio.sleep(1.5)
                    os.kill(cluster.processes[1].pid, signal.SIGKILL)
                    killed["at"] = time.monotonic()

                await asyncio.gather(
                    paced_sends(
                        http,
                        history,
                        key=key,
                        conversations=ids,
                        servers=server_for,
                        rate=20,
                        seconds=6.0,
                    ),
                    kill(),
                )
                complete = await wait_until_complete(clients, history, killed["at"] + 10.0)
                reconnected = [
                    next((at for at, server in client.connects if at > killed["at"]), None)
                    for client in on_victim
                ]
                await asyncio.sleep(0.5)
            finally:
                for client in clients:
                    await client.stop()
            committed = await committed_messages(http, cluster.urls[0], key, ids)
    summary = history.summary()
    delays = [at - killed["at"] for at in reconnected if at is not None]
    report(
        "server_sigkill",
        {
            **summary,
            "clients": len(clients),
            "clients_on_killed_server": len(on_victim),
            "reconnected": len(delays),
            "reconnect_s_min": round(min(delays), 2) if delays else None,
            "reconnect_s_max": round(max(delays), 2) if delays else None,
            "reconnect_s_stdev": round(statistics.pstdev(delays), 3) if delays else None,
            "complete_after_kill_s": round(complete - killed["at"], 2) if complete else None,
            "duplicates_dropped": sum(client.duplicates for client in clients),
            "resets_refetched": sum(client.resets for client in clients),
            "unacknowledged_committed_missing_on_clients": divergent(
                history, clients, committed, visible
            ),
        },
    )
    # Every client that lost its server came back (on the survivor) within 10 s...
    assert len(delays) == len(on_victim), reconnected
    assert max(delays) <= 10.0
    # ...not all at once: the back-off is jittered.
    assert statistics.pstdev(delays) > 0.02, delays
    # Sends only failed (or went unanswered) on the dead process, never with a 5xx.
    assert summary["5xx"] == 0
    assert complete is not None, "\n".join(check(history, clients, committed, visible))
    assert check(history, clients, committed, visible) == []


# Socket churn ------------------------------------------------------------------------------


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def database_connections(cluster: ServerCluster) -> int | None:
    url = cluster.env.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        return None
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        row = connection.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (name,)
        ).fetchone()
    return int(row[0]) if row else 0


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="needs /proc to count descriptors")
async def test_a_thousand_socket_cycles_leak_no_descriptor_or_connection() -> None:
    with asgi_servers(1) as cluster:
        key = await asyncio.to_thread(cluster.create_app_key)
        async with http_client() as http:
            ((conversation_id, token),) = await open_conversations(http, cluster.urls[0], key, 1)
        pid = cluster.processes[0].pid

        async def cycle(index: int) -> None:
            business = index % 2 == 0
            url = cluster.ws_urls[0] + (BUSINESS if business else f"{PARTICIPANT}?token={token}")
            async with connect(
                url,
                origin=cluster.origins[0],  # type: ignore[arg-type]
                additional_headers={"Authorization": key} if business else {},
                open_timeout=10,
            ) as ws:
                await ws.send(json.dumps({"type": "resume"}))
                while json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] != "ready":
                    pass

        async def churn(count: int, parallel: int = 10) -> None:
            for start in range(0, count, parallel):
                await asyncio.gather(*(cycle(start + i) for i in range(parallel)))

        await churn(50)  # warm up: pools, lazily imported code, the layer's connections
        await asyncio.sleep(1.0)
        fds_before = open_fds(pid)
        connections_before = await asyncio.to_thread(database_connections, cluster)
        started = time.monotonic()
        await churn(1000)
        elapsed = time.monotonic() - started
        await asyncio.sleep(2.0)  # closes finish, pools settle
        fds_after = open_fds(pid)
        connections_after = await asyncio.to_thread(database_connections, cluster)
    report(
        "socket_churn",
        {
            "cycles": 1000,
            "seconds": round(elapsed, 1),
            "fds_before": fds_before,
            "fds_after": fds_after,
            "db_connections_before": connections_before,
            "db_connections_after": connections_after,
        },
    )
    assert fds_after <= fds_before + 5
    if connections_before is not None:
        assert connections_after is not None
        # The pool (DATABASE_POOL_MAX, 20 by default) bounds the connections whatever happens.
        assert connections_after <= max(connections_before, 20) + 1


# PostgreSQL restart ------------------------------------------------------------------------

PG_FAULTS = bool(
    os.environ.get("INBOX_FAULT_TESTS") == "1"
    and os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))
    and shutil.which("pg_ctlcluster")
    and Path("/etc/postgresql").is_dir()
)


def restart_postgresql() -> None:
    (version,) = os.listdir("/etc/postgresql")
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
        check=True,
        timeout=120,
        capture_output=True,
    )


@pytest.fixture
def forget_broken_connections() -> Iterator[None]:
    """The restart breaks this test process's own connections (pytest-django's, pooled): drop
    them afterwards, in the main thread, so the tests that run after this one get fresh ones."""
    yield
    from django.db import connections

    for connection in connections.all():
        connection.close()
        pools = getattr(connection, "_connection_pools", {})
        if connection.alias in pools:  # only a pool that exists; never open one here
            pools[connection.alias].check()


def postgres_ready() -> bool:
    return (
        subprocess.run(
            ["pg_isready", "-h", "127.0.0.1", "-p", "5432", "-q"], timeout=10, check=False
        ).returncode
        == 0
    )


@pytest.mark.skipif(
    not PG_FAULTS,
    reason="restarts the machine's PostgreSQL: second CI pass only (DATABASE_URL + "
    "INBOX_FAULT_TESTS=1)",
)
async def test_postgresql_restart_answers_503_fast_and_recovers(
    forget_broken_connections: None,
) -> None:
    # A pool that gives up on a connection after 0.5 s: a request during the outage gets its
    # 503 quickly instead of queueing (docs/deployment.md: DATABASE_POOL_TIMEOUT).
    with asgi_servers(1, extra_env={"DATABASE_POOL_TIMEOUT": "0.5"}) as cluster:
        key = await asyncio.to_thread(cluster.create_app_key)
        base = cluster.urls[0]
        async with http_client() as http:
            ((conversation_id, _),) = await open_conversations(http, base, key, 1)
            history = History()
            responses: list[tuple[float, float, int | None, dict[str, Any] | None]] = []
            marks: dict[str, float] = {}

            async def probe() -> None:
                # One send after the other (each bounded), until 3 s after the database is back.
                index = 0
                while "back" not in marks or time.monotonic() < marks["back"] + 3.0:
                    operation = await history.send(
                        http,
                        f"{base}{API}/messages",
                        conversation_id,
                        f"probe {index}",
                        headers={"Authorization": key},
                        timeout=10,
                    )
                    body = None
                    if operation.outcome == FAIL:
                        try:
                            body = json.loads(operation.error)
                        except ValueError:
                            body = None
                    responses.append(
                        (
                            operation.invoked,
                            operation.completed or 0.0,
                            operation.status,
                            body,
                        )
                    )
                    index += 1
                    await asyncio.sleep(0.05)

            async def restart() -> None:
                await asyncio.sleep(1.0)
                marks["restart"] = time.monotonic()
                await asyncio.to_thread(restart_postgresql)
                while not await asyncio.to_thread(postgres_ready):
                    await asyncio.sleep(0.05)
                marks["back"] = time.monotonic()

            await asyncio.wait_for(asyncio.gather(probe(), restart()), timeout=180)
            committed = await committed_messages(http, base, key, [conversation_id])
            # Socket churn after the restart: the pool holds no dead or leaked connection.
            connections = await asyncio.to_thread(database_connections, cluster)
    summary = history.summary()
    failures = [r for r in responses if r[2] != 200]
    latencies = [completed - invoked for invoked, completed, *_ in responses]
    # The first send that succeeded once the database accepted connections again.
    after_back = sorted(r[1] for r in responses if r[1] >= marks["back"] and r[2] == 200)
    first_success = after_back[0] - marks["back"] if after_back else None
    report(
        "postgresql_restart",
        {
            **summary,
            "restart_s": round(marks["back"] - marks["restart"], 2),
            "errors": len(failures),
            "max_latency_s": round(max(latencies), 2),
            "first_success_after_back_s": round(first_success, 2)
            if first_success is not None
            else None,
            "db_connections_after": connections,
        },
    )
    # Refused requests were 503s in the envelope, each answered within a second: no hang.
    assert failures, "the restart should have been noticed"
    for invoked, completed, status, body in failures:
        assert status == 503, (status, body)
        assert body == {"message": "Service temporarily unavailable", "details": {}}
        assert completed - invoked <= 1.0
    assert summary[UNKNOWN] == 0
    assert first_success is not None and first_success <= 2.0
    # Nothing half written: acknowledged sends are all there, refused ones are not.
    ids = committed[conversation_id]
    assert set(history.acknowledged()) <= set(ids)
    assert len(ids) == len(history.acknowledged())
    assert connections is not None and connections <= 21
