"""Benchmark 2 — send throughput: sustained sends/s with 50 concurrent clients over 20
conversations, with the latency distribution; floor: an ASGI hello world under the same load.

    .venv/bin/python bench/send_throughput.py [--quick] [--duration 15] [--workers 2]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness as h  # noqa: E402


def main() -> None:
    parser = h.parser(__doc__.strip().splitlines()[0])
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--conversations", type=int, default=20)
    args = parser.parse_args()
    if args.quick:
        args.duration, args.concurrency, args.conversations = 1.0, 4, 2
    warmup = 0.3 if args.quick else 3.0
    h.raise_fd_limit(4096)
    report = h.Report(
        title="2. Send throughput",
        headers=[
            "case",
            "workers",
            "clients",
            "req/s",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "max ms",
            "errors",
            "server CPU ms / req",
        ],
    )
    with h.BenchDatabase("tput") as db:
        h.setup_django(db.url)
        try:
            with h.step("seed"):
                key = h.create_app_key()
                conversations = h.create_conversations(args.conversations)
            requests = [h.send_request(key, conversation) for conversation in conversations]
            results = {}
            env = h.server_env(db.url)
            with h.Server(
                "project.asgi:application", env=env, workers=args.workers, name="app"
            ) as server:
                with h.step(f"send load {args.duration}s"):
                    results["send"] = h_run(server, requests, args, warmup)
            with h.Server(
                "bench.floor_app:app", env=env, workers=args.workers, name="floor"
            ) as floor:
                hello = [h.build_request("GET", "/")]
                with h.step(f"hello-world load {args.duration}s"):
                    results["floor"] = h_run(floor, hello, args, warmup)
        finally:
            h.close_django_connections()
    for label, result in (
        ("POST v2/messages (send)", results["send"]),
        ("floor: ASGI hello world", results["floor"]),
    ):
        ordered = sorted(h.ms(x) for x in result.latencies)
        report.row(
            label,
            args.workers,
            args.concurrency,
            h.fmt(result.rate, 0),
            h.fmt(h.percentile(ordered, 50)),
            h.fmt(h.percentile(ordered, 90)),
            h.fmt(h.percentile(ordered, 99)),
            h.fmt(ordered[-1] if ordered else float("nan")),
            result.errors,
            h.fmt(result.cpu_ms_per_request),
        )
    send = results["send"]
    send_p99 = h.percentile(sorted(h.ms(x) for x in send.latencies), 99)
    report.target("send throughput ≥ 1,000 messages/s", send.rate >= 1000, f"{send.rate:,.0f}/s")
    report.target("send p99 ≤ 20 ms under this load", send_p99 <= 20, f"{send_p99:.1f} ms")
    report.notes.append(
        f"send / hello-world throughput: {send.rate / results['floor'].rate:.2f}; "
        f"{args.conversations} conversations, {args.duration:.0f}s measured after a warm-up, "
        "load generator: bench/harness.py (raw asyncio HTTP/1.1 keep-alive on uvloop) in the "
        "same machine"
    )
    report.emit(args)


def h_run(server: h.Server, requests: list[bytes], args, warmup: float) -> h.LoadResult:  # type: ignore[no-untyped-def]
    result: h.LoadResult = h.asyncio_run(
        h.run_load(
            server.port,
            requests,
            concurrency=args.concurrency,
            duration=args.duration,
            warmup=warmup,
            server_pids=server.worker_pids(),
        )
    )
    return result


if __name__ == "__main__":
    main()
