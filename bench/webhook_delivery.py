"""Benchmark 9 — webhook delivery: events/s to one endpoint and to 10, and the latency from
commit to receipt, through the real path (REST send → outbox row → ``inbox_relay`` fan-out →
``db_worker`` task → HTTP POST, Standard Webhooks signed) to a receiver on loopback. Floor,
measured in the same run: one POST straight to that receiver.

Latency is taken from the send's HTTP answer (the transaction committed before it) to the
receiver reading the request, so it slightly understates commit→receipt; it includes the relay's
poll (``OUTBOX_RELAY_INTERVAL_SECONDS``, 0.5 s when idle) and the worker's (0.1 s here).

    .venv/bin/python bench/webhook_delivery.py [--quick] [--sends 100] [--burst 300]
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness as h  # noqa: E402

EVENT = "message_sent_to_participant"


class Receiver:
    """Records when each (path, webhook-id) arrived; answers 200 at once."""

    def __init__(self) -> None:
        self.arrivals: dict[tuple[str, str], float] = {}
        self.repeats = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                self.rfile.read(int(self.headers.get("content-length", 0)))
                now = time.perf_counter()
                key = (self.path, self.headers.get("webhook-id", ""))
                with receiver.lock:
                    if key in receiver.arrivals:
                        receiver.repeats += 1
                    else:
                        receiver.arrivals[key] = now
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer((h.HOST, 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://{h.HOST}:{self.port}{path}"

    def count(self) -> int:
        with self.lock:
            return len(self.arrivals)


@contextlib.contextmanager
def background(env: dict[str, str], workers: int) -> Iterator[None]:
    """The relay and ``workers`` task workers, as ``make serve`` runs them."""
    commands = [["inbox_relay"]] + [
        ["db_worker", "--no-reload", "--no-startup-delay", "--interval", "0.1"]
    ] * workers
    processes = []
    for index, command in enumerate(commands):
        log = Path(f"/tmp/inbox-bench-{h.RUN_ID}-{command[0]}-{index}.log").open("wb")
        processes.append(
            subprocess.Popen(
                [sys.executable, "manage.py", *command],
                cwd=h.ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
    try:
        time.sleep(2)
        yield
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()


async def send(connection: h.HTTPConnection, key: str, conversation: Any, text: str) -> str:
    """One REST send; returns its event id (the ``webhook-id`` to expect)."""
    from inbox.realtime.events import message_event_id

    request = h.send_request(key, conversation, text)
    try:
        status, body = await connection.send_raw(request)
    except (asyncio.IncompleteReadError, ConnectionError):
        # The server closed the idle keep-alive connection before this request reached it.
        await connection.close()
        await connection.open()
        status, body = await connection.send_raw(request)
    if status != 200:
        raise RuntimeError(f"send failed: {status} {body[:300]!r}")
    return message_event_id(json.loads(body)["message"]["id"])


async def wait_for(receiver: Receiver, expected: int, timeout: float) -> None:
    deadline = time.perf_counter() + timeout
    while receiver.count() < expected:
        if time.perf_counter() > deadline:
            raise RuntimeError(f"{receiver.count()} of {expected} deliveries after {timeout}s")
        await asyncio.sleep(0.005)


async def latencies(port: int, key: str, conversation: Any, receiver: Receiver, n: int):
    """Sequential sends, each waited for: commit→receipt ms, and the send's HTTP answer ms."""
    connection = await h.HTTPConnection(port).open()
    delivered, answered = [], []
    try:
        for index in range(n):
            started = time.perf_counter()
            event_id = await send(connection, key, conversation, f"latency {index}")
            committed = time.perf_counter()
            while ("/hooks/0", event_id) not in receiver.arrivals:
                if time.perf_counter() - committed > 30:
                    raise RuntimeError(f"no delivery of {event_id}")
                await asyncio.sleep(0.001)
            delivered.append(h.ms(receiver.arrivals["/hooks/0", event_id] - committed))
            answered.append(h.ms(committed - started))
    finally:
        await connection.close()
    return delivered, answered


async def burst(
    port: int, key: str, conversations: list[Any], receiver: Receiver, n: int, endpoints: int
) -> float:
    """``n`` sends on 4 connections as fast as they answer; seconds from the first send until
    every endpoint received every event."""
    before = receiver.count()
    started = time.perf_counter()

    async def client(index: int) -> None:
        connection = await h.HTTPConnection(port).open()
        try:
            for number in range(index, n, 4):
                await send(connection, key, conversations[number % len(conversations)], "burst")
        finally:
            await connection.close()

    await asyncio.gather(*(client(i) for i in range(4)))
    await wait_for(receiver, before + n * endpoints, timeout=300)
    return time.perf_counter() - started


async def direct_posts(receiver: Receiver, n: int) -> list[float]:
    connection = await h.HTTPConnection(receiver.port).open()
    result = []
    try:
        for index in range(n):
            request = h.build_request(
                "POST", "/floor", body={"n": index}, headers={"webhook-id": f"floor-{index}"}
            )
            started = time.perf_counter()
            await connection.send_raw(request)
            result.append(h.ms(time.perf_counter() - started))
    finally:
        await connection.close()
    return result


def main() -> None:
    parser = h.parser(__doc__.strip().splitlines()[0])
    parser.add_argument("--sends", type=int, default=100, help="sequential sends (latency)")
    parser.add_argument("--burst", type=int, default=300, help="sends per throughput phase")
    parser.add_argument("--task-workers", type=int, default=2, help="db_worker processes")
    args = parser.parse_args()
    if args.quick:
        args.sends, args.burst = 5, 10
    # The receiver is on loopback: let the SSRF guard pass it, here and in every process.
    os.environ["INBOX_WEBHOOK_ALLOWED_NETWORKS"] = "127.0.0.0/8"
    receiver = Receiver()
    report = h.Report(
        title="9. Webhook delivery (REST send → outbox → relay → worker → loopback receiver)",
        headers=["case", "p50 ms", "p99 ms", "mean ms", "n"],
    )
    with h.django_database("webhooks") as db:
        from inbox.webhooks.services import webhook_endpoint_create

        with h.step("seed"):
            key = h.create_app_key()
            conversations = h.create_conversations(20)
            webhook_endpoint_create(url=receiver.url("/hooks/0"), event_types=[EVENT])
        env = h.server_env(db.url)
        with (
            h.Server("project.asgi:application", env=env, workers=args.workers) as server,
            background(env, args.task_workers),
        ):
            with h.step("warm-up (relay, workers and server imported and polling)"):
                h.asyncio_run(latencies(server.port, key, conversations[0], receiver, 3))
            with h.step(f"{args.sends} sequential sends"):
                delivered, answered = h.asyncio_run(
                    latencies(server.port, key, conversations[0], receiver, args.sends)
                )
            with h.step(f"burst of {args.burst} sends, 1 endpoint"):
                one = h.asyncio_run(burst(server.port, key, conversations, receiver, args.burst, 1))
            for index in range(1, 10):
                webhook_endpoint_create(url=receiver.url(f"/hooks/{index}"), event_types=[EVENT])
            with h.step(f"burst of {args.burst} sends, 10 endpoints"):
                ten = h.asyncio_run(
                    burst(server.port, key, conversations, receiver, args.burst, 10)
                )
        with h.step("floor"):
            floor = h.Stats.of(h.asyncio_run(direct_posts(receiver, max(args.sends, 20))))
    rows = {
        "commit → receipt, one at a time": h.Stats.of(delivered),
        "(the send's HTTP answer)": h.Stats.of(answered),
        "floor: direct POST to the receiver": floor,
    }
    for label, stats in rows.items():
        p50, p99, mean, n = stats.cells()
        report.row(label, p50, p99, mean, n or "-")
    one_rate, ten_rate = args.burst / one, args.burst / ten
    report.row("events/s to 1 endpoint (burst)", "-", "-", f"{one_rate:,.1f}", args.burst)
    report.row(
        "events/s to 10 endpoints (burst)",
        "-",
        "-",
        f"{ten_rate:,.1f} ({ten_rate * 10:,.0f} deliveries/s)",
        args.burst,
    )
    latency = rows["commit → receipt, one at a time"]
    report.target(
        "every delivery received exactly once",
        receiver.repeats == 0,
        str(receiver.repeats) + " repeats",
    )
    report.target(
        "commit → receipt p99 ≤ 1.5 s (relay interval 0.5 s + worker poll 0.1 s + slack)",
        latency.p99 <= 1500,
        f"{latency.p99:.0f} ms",
    )
    report.notes.append(
        f"{args.workers} uvicorn worker(s), 1 inbox_relay, {args.task_workers} db_worker(s) "
        "(--interval 0.1), PostgreSQL + Redis; receiver: Python's threaded http.server in the "
        "bench process, answering 200 at once; bursts: 4 keep-alive clients over 20 "
        "conversations"
    )
    report.emit(args)


if __name__ == "__main__":
    main()
