"""Benchmark 4 — fan-out: one message to 1,000 and to 10,000 business sockets spread over two
workers; the time from the REST send until the last socket has the frame. Floor: the same
sockets on two minimal ASGI processes (bench/floor_app.py) forwarding one Redis PUBLISH of the
same size.

    .venv/bin/python bench/fanout.py [--quick] [--sockets 1000,10000] [--rounds 30]

The sockets live in two client processes (so the clients' own frame handling is spread over
both cores like the servers'); arrival times use the system-wide monotonic clock.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness as h  # noqa: E402
from bench.floor_app import FLOOR_CHANNEL  # noqa: E402

CLIENT_PROCESSES = 2


async def client(ports: list[int], count: int, token: str, floor: bool) -> None:
    """Child process: ``count`` sockets over ``ports``; prints ``<marker> <last arrival>`` once
    every socket has a frame carrying the marker."""
    from websockets.asyncio.client import connect

    async def opener(index: int) -> Any:
        port = ports[index % len(ports)]
        if floor:
            return await connect(
                f"ws://{h.HOST}:{port}/ws",
                compression=None,
                ping_interval=None,
                max_queue=None,
                open_timeout=60,
            )
        return await h.open_stream(port, h.BUSINESS_STREAM, token)

    sockets = await h.open_many(count, opener, parallel=50)
    counts: dict[str, int] = {}
    last: dict[str, float] = {}

    async def read(socket_: Any) -> None:
        async for frame in socket_:
            now = time.perf_counter()
            start = frame.find("fanout-")
            if start < 0:
                continue
            marker = frame[start : frame.index("-end", start)]
            counts[marker] = counts.get(marker, 0) + 1
            last[marker] = now
            if counts[marker] == count:
                print(f"{marker} {last[marker]!r}", flush=True)

    readers = [asyncio.create_task(read(socket_)) for socket_ in sockets]
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until EOF
    for reader in readers:
        reader.cancel()
    await h.close_all(sockets)


async def measure(
    ports: list[int], sockets: int, rounds: int, token: str, send: Any, server_pids: list[int]
) -> tuple[list[float], float]:
    """Start the client processes, then ``rounds`` times: ``send(marker)`` and wait for all.
    Returns the latencies and the servers' CPU milliseconds per round."""
    per_client = sockets // CLIENT_PROCESSES
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "client",
            json.dumps({"ports": ports, "count": per_client, "token": token, "floor": send.floor}),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            cwd=h.ROOT,
        )
        for _ in range(CLIENT_PROCESSES)
    ]
    samples = []
    try:
        for process in processes:
            assert process.stdout is not None
            line = await asyncio.wait_for(process.stdout.readline(), 300)
            if line.strip() != b"ready":
                raise RuntimeError(f"client failed: {line!r}")
        await asyncio.sleep(1)
        cpu_start = 0.0
        for index in range(rounds + 2):
            if index == 2:
                cpu_start = h.cpu_seconds(server_pids)
            marker = f"fanout-{h.RUN_ID}-{int(send.floor)}-{index}"
            started = time.perf_counter()
            await send(marker)
            arrivals = []
            for process in processes:
                assert process.stdout is not None
                line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode().split()
                if not line or line[0] != marker:
                    raise RuntimeError(f"unexpected client line {line}")
                arrivals.append(float(line[1]))
            if index >= 2:  # two warm-up rounds
                samples.append(h.ms(max(arrivals) - started))
            await asyncio.sleep(0.2)
        cpu_per_round = h.ms(h.cpu_seconds(server_pids) - cpu_start) / rounds
    finally:
        for process in processes:
            if process.stdin is not None:
                process.stdin.close()
        for process in processes:
            try:
                await asyncio.wait_for(process.wait(), 60)
            except TimeoutError:
                process.kill()
    return samples, cpu_per_round


class AppSend:
    floor = False

    def __init__(self, port: int, key: str, conversation_id: Any) -> None:
        self.port, self.key, self.conversation_id = port, key, conversation_id
        self.connection: h.HTTPConnection | None = None
        self.size = 0

    async def __call__(self, marker: str) -> None:
        if self.connection is None:
            self.connection = await h.HTTPConnection(self.port).open()
        status, body = await self.connection.send_raw(
            h.send_request(self.key, self.conversation_id, f"{marker}-end")
        )
        if status != 200:
            raise RuntimeError(f"send failed {status}: {body[:200]!r}")
        self.size = len(body)


class FloorSend:
    floor = True

    def __init__(self, size: int) -> None:
        self.size = size
        self.client: Any = None

    async def __call__(self, marker: str) -> None:
        import redis.asyncio as redis

        if self.client is None:
            self.client = redis.from_url(h.REDIS_URL)
        frame = f"{marker}-end".ljust(self.size, "x")
        await self.client.publish(FLOOR_CHANNEL, frame)


def main() -> None:
    parser = h.parser(__doc__.strip().splitlines()[0])
    parser.add_argument("--sockets", default="1000,10000")
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    sizes = [int(n) for n in args.sockets.split(",")]
    if args.quick:
        sizes, args.rounds = [20, 40], 3
    h.raise_fd_limit(max(sizes) + 2048)
    report = h.Report(
        title="4. Fan-out: one message to "
        + " and ".join(f"{n:,}" for n in sizes)
        + " business sockets over two workers",
        headers=[
            "case",
            "sockets",
            "p50 ms",
            "p99 ms",
            "mean ms",
            "max ms",
            "server CPU ms / round",
            "rounds",
        ],
    )
    app: dict[int, tuple[h.Stats, float]] = {}
    floor: dict[int, tuple[h.Stats, float]] = {}
    with h.django_database("fanout") as db:
        with h.step("seed"):
            key = h.create_app_key()
            (conversation_id,) = h.create_conversations(1)
        env = h.server_env(db.url)
        with (
            h.Server("bench.asgi:application", env=env, name="worker-a") as a,
            h.Server("bench.asgi:application", env=env, name="worker-b") as b,
        ):
            sender = AppSend(a.port, key, conversation_id)
            for size in sizes:
                with h.step(f"{args.rounds} rounds to {size:,} sockets"):
                    samples, cpu = h.asyncio_run(
                        measure(
                            [a.port, b.port],
                            size,
                            args.rounds,
                            key,
                            sender,
                            a.worker_pids() + b.worker_pids(),
                        )
                    )
                    app[size] = h.Stats.of(samples), cpu
                    sender.connection = None  # a new event loop next time
        # The event frame is about the size of the REST body plus the envelope.
        floor_env = h.server_env(db.url, FLOOR_CHANNEL=FLOOR_CHANNEL)
        with (
            h.Server("bench.floor_app:app", env=floor_env, name="floor-a") as fa,
            h.Server("bench.floor_app:app", env=floor_env, name="floor-b") as fb,
        ):
            for size in sizes:
                with h.step(f"floor, {size:,} sockets"):
                    samples, cpu = h.asyncio_run(
                        measure(
                            [fa.port, fb.port],
                            size,
                            args.rounds,
                            "",
                            FloorSend(sender.size + 250),
                            fa.worker_pids() + fb.worker_pids(),
                        )
                    )
                    floor[size] = h.Stats.of(samples), cpu
    for size in sizes:
        for label, (stats, cpu) in (
            ("REST send → last of the sockets", app[size]),
            ("floor: Redis PUBLISH → minimal ASGI forwarder → last socket", floor[size]),
        ):
            report.row(
                label,
                f"{size:,}",
                h.fmt(stats.p50),
                h.fmt(stats.p99),
                h.fmt(stats.mean),
                h.fmt(stats.max),
                h.fmt(cpu, 1),
                stats.n,
            )
    small, large = sizes[0], sizes[-1]
    ratio = app[small][0].p99 / floor[small][0].p99
    report.target(
        f"fan-out to {small:,} sockets p99 ≤ 2× its floor",
        ratio <= 2,
        f"{ratio:.1f}× ({app[small][0].p99:.1f} / {floor[small][0].p99:.1f} ms)",
    )
    report.target(
        f"fan-out to {large:,} sockets within 1 s p99",
        app[large][0].p99 <= 1000,
        f"{app[large][0].p99:.1f} ms (floor {floor[large][0].p99:.1f} ms)",
    )
    report.notes.append(
        "two single-worker uvicorn processes sharing the sockets equally; "
        f"{CLIENT_PROCESSES} client processes; the frame is the full message event "
        f"(~{sender.size + 250} bytes)"
    )
    report.emit(args)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "client":
        spec = json.loads(sys.argv[2])
        h.asyncio_run(client(spec["ports"], spec["count"], spec["token"], spec["floor"]))
    else:
        main()
