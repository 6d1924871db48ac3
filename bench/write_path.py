"""Benchmark 7 — write-path efficiency: send throughput (``POST v2/messages``) divided by the
throughput of a plain Django view doing the same single INSERT with the same pool, same server
processes, same load (50 clients over 20 conversations); and against the conventional stack's
send (bench/conventional.py: DRF ``CreateAPIView`` + ``ModelSerializer`` + ``on_commit`` +
``group_send`` over channels-redis) on the same processes.

    .venv/bin/python bench/write_path.py [--quick] [--duration 15]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness as h  # noqa: E402

CONVENTIONAL = "conventional: DRF CreateAPIView + on_commit + group_send"


def main() -> None:
    args = h.load_args(h.load_parser(__doc__.strip().splitlines()[0]))
    report = h.Report(
        title="7. Write-path efficiency",
        headers=[
            "case",
            "workers",
            "clients",
            "req/s",
            "p50 ms",
            "p99 ms",
            "errors",
            "server CPU ms / req",
        ],
    )
    results = {}
    with h.django_database("write") as db:
        with h.step("seed"):
            key = h.create_app_key()
            conversations = h.create_conversations(args.conversations)
            drf_token = h.create_conventional_token()
        cases = {
            "POST v2/messages (the send path)": [h.send_request(key, c) for c in conversations],
            "floor: plain Django view, one INSERT": [
                h.build_request("POST", f"/bench/plain-insert?conversationId={c}")
                for c in conversations
            ],
            CONVENTIONAL: [h.conventional_send_request(drf_token, c) for c in conversations],
        }
        env = h.server_env(db.url)
        with h.Server(
            "bench.asgi:application", env=env, workers=args.workers, name="app"
        ) as server:
            for label, requests in cases.items():
                with h.step(f"{label} {args.duration}s"):
                    results[label] = h.server_load(
                        server, requests, args, expect=201 if label == CONVENTIONAL else 200
                    )
    for label, result in results.items():
        ordered = sorted(h.ms(x) for x in result.latencies)
        report.row(
            label,
            args.workers,
            args.concurrency,
            h.fmt(result.rate, 0),
            h.fmt(h.percentile(ordered, 50)),
            h.fmt(h.percentile(ordered, 99)),
            result.errors,
            h.fmt(result.cpu_ms_per_request),
        )
    send, plain, conventional = results.values()
    ratio = send.rate / plain.rate if plain.rate else float("nan")
    report.target("send throughput ≥ 0.7 × the plain-view floor", ratio >= 0.7, f"{ratio:.2f}×")
    versus = send.rate / conventional.rate if conventional.rate else float("nan")
    report.target("send throughput ≥ 2× the conventional stack's", versus >= 2, f"{versus:.2f}×")
    cpu = conventional.cpu_ms_per_request / send.cpu_ms_per_request
    report.target(
        "server CPU per send ≤ ½ the conventional stack's",
        cpu >= 2,
        f"conventional ÷ inbox = {cpu:.2f}×",
    )
    report.notes.append(
        "both run against the same server processes one after the other; the plain view is "
        "bench/urls.py (bench-only settings bench/settings.py), a sync view like the API's; the "
        "conventional stack answers 201 and publishes to a channels-redis group after commit"
    )
    report.emit(args)


if __name__ == "__main__":
    main()
