"""Benchmark 1 — send→deliver: a REST send through worker A until the event frame has arrived
on a business socket and on the participant socket, both held by worker B; idle, then under the
throughput load (50 clients over 20 conversations on both workers). Floor, measured in the same
run: an ASGI hello-world request + one PostgreSQL INSERT/COMMIT + one Redis PUBLISH→subscriber
round trip (sum of the medians, and of the p99s).

    .venv/bin/python bench/send_deliver.py [--quick] [--sends 300]
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness as h  # noqa: E402


async def probe(
    port_a: int, port_b: int, key: str, conversation_id: Any, visitor_token: str, sends: int
) -> tuple[list[float], list[float]]:
    """(send→deliver ms, HTTP response ms) for ``sends`` sequential sends."""
    business = await h.open_stream(port_b, h.BUSINESS_STREAM, key)
    participant = await h.open_stream(port_b, h.PARTICIPANT_STREAM, visitor_token)
    arrivals: dict[str, dict[str, float]] = {"business": {}, "participant": {}}
    waiters: dict[str, asyncio.Future[None]] = {}

    async def read(name: str, socket_: Any) -> None:
        async for frame in socket_:
            now = time.perf_counter()
            start = frame.find("probe-")
            if start < 0:
                continue
            marker = frame[start : frame.index("-end", start)]
            arrivals[name][marker] = now
            if marker in arrivals["business"] and marker in arrivals["participant"]:
                waiter = waiters.get(marker)
                if waiter is not None and not waiter.done():
                    waiter.set_result(None)

    readers = [
        asyncio.create_task(read("business", business)),
        asyncio.create_task(read("participant", participant)),
    ]
    connection = await h.HTTPConnection(port_a).open()
    delivered: list[float] = []
    responded: list[float] = []
    try:
        for index in range(sends + sends // 10):
            marker = f"probe-{h.RUN_ID}-{index}"
            waiters[marker] = asyncio.get_running_loop().create_future()
            request = h.send_request(key, conversation_id, f"{marker}-end")
            started = time.perf_counter()
            status, body = await connection.send_raw(request)
            answered = time.perf_counter()
            if status != 200:
                raise RuntimeError(f"send failed: {status} {body[:300]!r}")
            try:
                await asyncio.wait_for(waiters[marker], 10)
            except TimeoutError:
                raise RuntimeError(f"no frame for {marker}: {arrivals}") from None
            del waiters[marker]
            last = max(arrivals["business"].pop(marker), arrivals["participant"].pop(marker))
            if index >= sends // 10:
                delivered.append(h.ms(last - started))
                responded.append(h.ms(answered - started))
            await asyncio.sleep(0.002)
    finally:
        for reader in readers:
            reader.cancel()
        await connection.close()
        await h.close_all([business, participant])
    return delivered, responded


def main() -> None:
    parser = h.parser(__doc__.strip().splitlines()[0])
    parser.add_argument("--sends", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    if args.quick:
        args.sends, args.concurrency = 10, 4
    h.raise_fd_limit(4096)
    report = h.Report(
        title="1. Send→deliver (REST on worker A → business + participant sockets on worker B)",
        headers=["case", "p50 ms", "p99 ms", "mean ms", "n"],
    )
    rows: dict[str, h.Stats] = {}
    with h.django_database("deliver") as db:
        with h.step("seed"):
            key = h.create_app_key()
            conversation_id, token = h.visitor_conversation()
            load_conversations = h.create_conversations(20)
        env = h.server_env(db.url)
        with (
            h.Server("project.asgi:application", env=env, name="worker-a") as a,
            h.Server("project.asgi:application", env=env, name="worker-b") as b,
        ):
            with h.step(f"{args.sends} sends, idle"):
                delivered, responded = h.asyncio_run(
                    probe(a.port, b.port, key, conversation_id, token, args.sends)
                )
            rows["send→deliver, idle"] = h.Stats.of(delivered)
            rows["(idle) HTTP response of that send"] = h.Stats.of(responded)
            requests = [h.send_request(key, c, "load") for c in load_conversations]
            load = h.start_background_load(
                [(a.port, requests), (b.port, requests)],
                concurrency=args.concurrency,
                duration=300,
            )
            try:
                time.sleep(2 if not args.quick else 0.5)
                with h.step(f"{args.sends} sends under load ({args.concurrency} clients)"):
                    delivered, responded = h.asyncio_run(
                        probe(a.port, b.port, key, conversation_id, token, args.sends)
                    )
            finally:
                load_result = h.stop_background_load(load)
            rows[f"send→deliver, under load ({args.concurrency} clients)"] = h.Stats.of(delivered)
            rows["(under load) HTTP response of that send"] = h.Stats.of(responded)
        with h.step("floors"):
            with h.Server("bench.floor_app:app", env=env, name="floor") as floor:
                hello = h.Stats.of(h.asyncio_run(h.hello_latencies(floor.port, args.sends)))
            commit = h.Stats.of(h.pg_commit_latencies(db, args.sends))
            publish = h.Stats.of(h.asyncio_run(h.redis_roundtrip_latencies(args.sends)))
    floor = h.Stats(
        n=0,
        p50=hello.p50 + commit.p50 + publish.p50,
        p99=hello.p99 + commit.p99 + publish.p99,
        mean=hello.mean + commit.mean + publish.mean,
        max=float("nan"),
    )
    rows["floor: ASGI hello world"] = hello
    rows["floor: PostgreSQL INSERT + COMMIT"] = commit
    rows["floor: Redis PUBLISH → subscriber"] = publish
    rows["floor: sum"] = floor
    for label, stats in rows.items():
        p50, p99, mean, n = stats.cells()
        report.row(label, p50, p99, mean, n or "-")
    idle = rows["send→deliver, idle"]
    loaded = rows[f"send→deliver, under load ({args.concurrency} clients)"]
    report.target("send→deliver p50 ≤ 5 ms", idle.p50 <= 5, f"{idle.p50:.2f} ms")
    report.target(
        "send→deliver p50 ≤ 8× its floor", idle.p50 <= 8 * floor.p50, f"{idle.p50 / floor.p50:.1f}×"
    )
    report.target(
        "send→deliver p99 ≤ 20 ms under the throughput load",
        loaded.p99 <= 20,
        f"{loaded.p99:.1f} ms",
    )
    report.notes.append(
        "two single-worker uvicorn processes (A receives the REST send, B holds both sockets), "
        "PostgreSQL + Redis pub/sub layer; sequential sends, 2 ms apart; background load: "
        f"{load_result.get('rate', 0):,.0f} sends/s during the loaded phase"
    )
    report.emit(args)


if __name__ == "__main__":
    main()
