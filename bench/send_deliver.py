"""Benchmark 1 — send→deliver: a REST send through worker A until the event frame has arrived
on a business socket and on the participant socket, both held by worker B; idle with 0, 1,000
and 10,000 other (idle, connected) sockets on B, then under the throughput load (50 clients over
20 conversations on both workers). The conventional stack (bench/conventional.py: DRF
``CreateAPIView`` + ``on_commit`` + ``group_send`` over channels-redis) does the same send →
its one socket on B, on the same workers in the same run. Floor, measured in the same run: an
ASGI hello-world request (holding as many idle sockets) + one PostgreSQL INSERT/COMMIT + one
Redis PUBLISH→subscriber round trip (sum of the medians, and of the p99s).

    .venv/bin/python bench/send_deliver.py [--quick] [--sends 300] [--idle-sockets 0,1000,10000]
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness as h  # noqa: E402


async def probe(
    port_a: int,
    sockets: dict[str, Any],
    make_request: Callable[[str], bytes],
    sends: int,
    *,
    expect: int = 200,
) -> tuple[list[float], list[float]]:
    """(send→deliver ms, HTTP response ms) for ``sends`` sequential sends: each until every
    socket of ``sockets`` has the frame carrying its marker."""
    arrivals: dict[str, dict[str, float]] = {name: {} for name in sockets}
    waiters: dict[str, asyncio.Future[None]] = {}

    async def read(name: str, socket_: Any) -> None:
        async for frame in socket_:
            now = time.perf_counter()
            start = frame.find("probe-")
            if start < 0:
                continue
            marker = frame[start : frame.index("-end", start)]
            arrivals[name][marker] = now
            if all(marker in seen for seen in arrivals.values()):
                waiter = waiters.get(marker)
                if waiter is not None and not waiter.done():
                    waiter.set_result(None)

    readers = [asyncio.create_task(read(name, socket_)) for name, socket_ in sockets.items()]
    connection = await h.HTTPConnection(port_a).open()
    delivered: list[float] = []
    responded: list[float] = []
    try:
        for index in range(sends + sends // 10):
            marker = f"probe-{h.RUN_ID}-{index}"
            waiters[marker] = asyncio.get_running_loop().create_future()
            request = make_request(f"{marker}-end")
            started = time.perf_counter()
            status, body = await connection.send_raw(request)
            answered = time.perf_counter()
            if status != expect:
                raise RuntimeError(f"send failed: {status} {body[:300]!r}")
            try:
                await asyncio.wait_for(waiters[marker], 10)
            except TimeoutError:
                raise RuntimeError(f"no frame for {marker}: {arrivals}") from None
            del waiters[marker]
            last = max(seen.pop(marker) for seen in arrivals.values())
            if index >= sends // 10:
                delivered.append(h.ms(last - started))
                responded.append(h.ms(answered - started))
            await asyncio.sleep(0.002)
    finally:
        for reader in readers:
            reader.cancel()
        await connection.close()
    return delivered, responded


async def idle_participants(port: int, count: int) -> list[Any]:
    """``count`` participant sockets of other visitors (live, receiving nothing of the probe)."""
    return await h.open_many(
        count,
        lambda _: h.open_stream(port, h.PARTICIPANT_STREAM, h.visitor_token(uuid.uuid4())),
        parallel=50,
    )


class Sender:
    """What one scale step measures: inbox's send→deliver and the conventional stack's."""

    def __init__(
        self, a: int, b: int, key: str, conversation_id: Any, token: str, drf_token: str
    ) -> None:
        self.a, self.b = a, b
        self.key, self.conversation_id, self.token, self.drf_token = (
            key,
            conversation_id,
            token,
            drf_token,
        )

    async def inbox(self, sends: int) -> tuple[list[float], list[float]]:
        business = await h.open_stream(self.b, h.BUSINESS_STREAM, self.key)
        participant = await h.open_stream(self.b, h.PARTICIPANT_STREAM, self.token)
        try:
            return await probe(
                self.a,
                {"business": business, "participant": participant},
                lambda text: h.send_request(self.key, self.conversation_id, text),
                sends,
            )
        finally:
            await h.close_all([business, participant])

    async def conventional(self, sends: int) -> tuple[list[float], list[float]]:
        socket_ = await h.open_conventional_stream(self.b, self.conversation_id, self.drf_token)
        try:
            return await probe(
                self.a,
                {"conventional": socket_},
                lambda text: h.conventional_send_request(
                    self.drf_token, self.conversation_id, text
                ),
                sends,
                expect=201,
            )
        finally:
            await h.close_all([socket_])


async def at_scale(
    sender: Sender, idle: int, sends: int
) -> dict[str, tuple[list[float], list[float]]]:
    others = await idle_participants(sender.b, idle)
    try:
        await asyncio.sleep(1 if idle else 0)
        return {
            "inbox": await sender.inbox(sends),
            "conventional": await sender.conventional(sends),
        }
    finally:
        await h.close_all(others)


async def floor_hello(port: int, idle: int, sends: int) -> list[float]:
    from websockets.asyncio.client import connect

    async def one(_: int) -> Any:
        return await connect(
            f"ws://{h.HOST}:{port}/ws", compression=None, ping_interval=None, open_timeout=60
        )

    others = await h.open_many(idle, one, parallel=100)
    try:
        await asyncio.sleep(1 if idle else 0)
        return await h.hello_latencies(port, sends)
    finally:
        await h.close_all(others)


def run_async(make: Callable[[], Awaitable[Any]]) -> Any:
    return h.asyncio_run(make())


def main() -> None:
    parser = h.parser(__doc__.strip().splitlines()[0])
    parser.add_argument("--sends", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--idle-sockets", default="0,1000,10000")
    args = parser.parse_args()
    scales = [int(n) for n in args.idle_sockets.split(",")]
    if args.quick:
        args.sends, args.concurrency, scales = 10, 4, [0, 20]
    h.raise_fd_limit(max(scales) + 4096)
    report = h.Report(
        title="1. Send→deliver (REST on worker A → sockets on worker B)",
        headers=["case", "other sockets on B", "p50 ms", "p99 ms", "mean ms", "n", "× floor (p50)"],
    )
    rows: list[tuple[str, str, h.Stats, float | None]] = []
    measured: dict[tuple[str, int], h.Stats] = {}
    with h.django_database("deliver") as db:
        with h.step("seed"):
            key = h.create_app_key()
            conversation_id, token = h.visitor_conversation()
            load_conversations = h.create_conversations(20)
            drf_token = h.create_conventional_token()
        env = h.server_env(db.url)
        with (
            h.Server("bench.asgi:application", env=env, name="worker-a") as a,
            h.Server("bench.asgi:application", env=env, name="worker-b") as b,
        ):
            sender = Sender(a.port, b.port, key, conversation_id, token, drf_token)
            for idle in scales:
                with h.step(f"{args.sends} sends each, {idle:,} other sockets on B"):
                    results = run_async(lambda idle=idle: at_scale(sender, idle, args.sends))
                for stack, (delivered, responded) in results.items():
                    measured[(stack, idle)] = h.Stats.of(delivered)
                    measured[(f"{stack} response", idle)] = h.Stats.of(responded)
            requests = [h.send_request(key, c, "load") for c in load_conversations]
            load = h.start_background_load(
                [(a.port, requests), (b.port, requests)],
                concurrency=args.concurrency,
                duration=300,
            )
            try:
                time.sleep(2 if not args.quick else 0.5)
                with h.step(f"{args.sends} sends under load ({args.concurrency} clients)"):
                    delivered, responded = run_async(lambda: sender.inbox(args.sends))
            finally:
                load_result = h.stop_background_load(load)
            loaded = h.Stats.of(delivered)
            loaded_response = h.Stats.of(responded)
        with h.step("floors"):
            hello: dict[int, h.Stats] = {}
            with h.Server("bench.floor_app:app", env=env, name="floor") as floor_server:
                for idle in scales:
                    hello[idle] = h.Stats.of(
                        run_async(
                            lambda idle=idle: floor_hello(floor_server.port, idle, args.sends)
                        )
                    )
            commit = h.Stats.of(h.pg_commit_latencies(db, args.sends))
            publish = h.Stats.of(h.asyncio_run(h.redis_roundtrip_latencies(args.sends)))
    floors = {
        idle: h.Stats(
            n=0,
            p50=hello[idle].p50 + commit.p50 + publish.p50,
            p99=hello[idle].p99 + commit.p99 + publish.p99,
            mean=hello[idle].mean + commit.mean + publish.mean,
            max=float("nan"),
        )
        for idle in scales
    }
    for idle in scales:
        floor_p50 = floors[idle].p50
        rows += [
            (
                "inbox: send→deliver (business + participant socket)",
                f"{idle:,}",
                measured[("inbox", idle)],
                floor_p50,
            ),
            (
                "inbox: HTTP response of that send",
                f"{idle:,}",
                measured[("inbox response", idle)],
                None,
            ),
            (
                "conventional: send→deliver (its socket)",
                f"{idle:,}",
                measured[("conventional", idle)],
                floor_p50,
            ),
            (
                "conventional: HTTP response (201)",
                f"{idle:,}",
                measured[("conventional response", idle)],
                None,
            ),
            ("floor: sum", f"{idle:,}", floors[idle], floor_p50),
        ]
    rows += [
        (f"inbox: send→deliver under load ({args.concurrency} clients)", "0", loaded, None),
        ("inbox: HTTP response of that send, under load", "0", loaded_response, None),
    ]
    for idle in scales:
        rows.append(("floor: ASGI hello world", f"{idle:,}", hello[idle], None))
    rows += [
        ("floor: PostgreSQL INSERT + COMMIT", "-", commit, None),
        ("floor: Redis PUBLISH → subscriber", "-", publish, None),
    ]
    for label, idle_cell, stats, floor_p50 in rows:
        p50, p99, mean, n = stats.cells()
        ratio = "-" if floor_p50 is None else f"{stats.p50 / floor_p50:.1f}×"
        report.row(label, idle_cell, p50, p99, mean, n or "-", ratio)
    for idle in scales:
        app, conventional, floor = (
            measured[("inbox", idle)],
            measured[("conventional", idle)],
            floors[idle],
        )
        report.target(
            f"send→deliver p50 ≤ 5× its floor ({idle:,} other sockets)",
            app.p50 <= 5 * floor.p50,
            f"{app.p50 / floor.p50:.1f}× ({app.p50:.2f} / {floor.p50:.2f} ms)",
        )
        report.target(
            f"send→deliver p50 ≥ 2× better than the conventional stack ({idle:,} other sockets)",
            conventional.p50 >= 2 * app.p50,
            f"conventional ÷ inbox = {conventional.p50 / app.p50:.2f}×",
        )
    report.target(
        "send→deliver p99 ≤ 20 ms under the throughput load",
        loaded.p99 <= 20,
        f"{loaded.p99:.1f} ms",
    )
    report.notes.append(
        "two single-worker uvicorn processes (A receives the REST send, B holds the sockets), "
        "PostgreSQL + Redis pub/sub layer (inbox) and channels-redis RedisChannelLayer "
        "(conventional); sequential sends, 2 ms apart; the other sockets are live participant "
        "sockets of other visitors (the floor's: idle sockets on the hello-world process); "
        f"background load: {load_result.get('rate', 0):,.0f} sends/s during the loaded phase; "
        f"handshakes refused (4013) or timed out under the opening burst and retried: {h.refused_and_retried}"
    )
    report.emit(args)


if __name__ == "__main__":
    main()
