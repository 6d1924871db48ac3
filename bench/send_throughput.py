"""Benchmark 2 — send throughput: sustained sends/s with 50 concurrent clients over 20
conversations, with the latency distribution; floor: an ASGI hello world under the same load;
reference: the conventional stack's send (bench/conventional.py) on the same workers.

    .venv/bin/python bench/send_throughput.py [--quick] [--duration 15] [--workers 2]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness as h  # noqa: E402


def main() -> None:
    args = h.load_args(h.load_parser(__doc__.strip().splitlines()[0]))
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
    with h.django_database("tput") as db:
        with h.step("seed"):
            key = h.create_app_key()
            conversations = h.create_conversations(args.conversations)
            drf_token = h.create_conventional_token()
        requests = [h.send_request(key, conversation) for conversation in conversations]
        results = {}
        env = h.server_env(db.url)
        with h.Server(
            "bench.asgi:application", env=env, workers=args.workers, name="app"
        ) as server:
            with h.step(f"send load {args.duration}s"):
                results["send"] = h.server_load(server, requests, args)
            conventional = [h.conventional_send_request(drf_token, c) for c in conversations]
            with h.step(f"conventional send load {args.duration}s"):
                results["conventional"] = h.server_load(server, conventional, args, expect=201)
        with h.Server("bench.floor_app:app", env=env, workers=args.workers, name="floor") as floor:
            hello = [h.build_request("GET", "/")]
            with h.step(f"hello-world load {args.duration}s"):
                results["floor"] = h.server_load(floor, hello, args)
    for label, result in (
        ("POST v2/messages (send)", results["send"]),
        ("conventional: DRF CreateAPIView + on_commit + group_send", results["conventional"]),
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
    versus = send.rate / results["conventional"].rate
    report.target("send throughput ≥ 2× the conventional stack's", versus >= 2, f"{versus:.2f}×")
    report.notes.append(
        f"send / hello-world throughput: {send.rate / results['floor'].rate:.2f}; "
        f"{args.conversations} conversations, {args.duration:.0f}s measured after a warm-up, "
        "load generator: bench/harness.py (raw asyncio HTTP/1.1 keep-alive on uvloop) in the "
        "same machine"
    )
    report.emit(args)


if __name__ == "__main__":
    main()
