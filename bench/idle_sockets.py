"""Benchmark 6 — idle sockets: server memory per idle WebSocket, 10k business sockets on one
worker (resumed and live, then left idle). Floor: the same number of idle sockets on the
minimal ASGI process (bench/floor_app.py). Raises ``ulimit -n`` for itself and the servers.

    .venv/bin/python bench/idle_sockets.py [--quick] [--sockets 10000]
"""

from __future__ import annotations

import asyncio
import gc
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness as h  # noqa: E402

WARM = 100


async def measure(server: h.Server, count: int, opener: Any) -> tuple[float, int, int]:
    """(KiB per socket, RSS before, RSS after) for ``count`` sockets beyond ``WARM`` warm ones."""
    (pid,) = server.worker_pids()
    warm = await h.open_many(WARM, opener, parallel=50)
    await asyncio.sleep(1)
    before = h.rss_kib(pid)
    sockets = await h.open_many(count, opener, parallel=100)
    await asyncio.sleep(3)  # idle
    after = h.rss_kib(pid)
    await h.close_all(sockets + warm)
    return (after - before) / count, before, after


def main() -> None:
    parser = h.parser(__doc__.strip().splitlines()[0])
    parser.add_argument("--sockets", type=int, default=10_000)
    args = parser.parse_args()
    if args.quick:
        args.sockets = 50
    limit = h.raise_fd_limit(args.sockets + WARM + 1024)
    if limit < args.sockets + WARM + 64:
        raise SystemExit(f"ulimit -n is {limit}: not enough for {args.sockets} sockets")
    report = h.Report(
        title=f"6. Idle sockets: {args.sockets:,} on one worker",
        headers=["case", "KiB per socket", "worker RSS before (MiB)", "worker RSS after (MiB)"],
    )
    rows = {}
    with h.django_database("idle") as db:
        with h.step("seed"):
            key = h.create_app_key()
        env = h.server_env(db.url)
        with h.Server("bench.asgi:application", env=env, workers=1, name="app") as server:
            with h.step(f"{args.sockets} business sockets"):
                rows["business socket (resumed, live, idle)"] = h.asyncio_run(
                    measure(
                        server,
                        args.sockets,
                        lambda _: h.open_stream(server.port, h.BUSINESS_STREAM, key),
                    )
                )
        with h.Server("bench.floor_app:app", env=env, workers=1, name="floor") as floor:
            from websockets.asyncio.client import connect

            async def floor_socket(_: int) -> Any:
                return await connect(
                    f"ws://{h.HOST}:{floor.port}/ws",
                    compression=None,
                    ping_interval=None,
                    open_timeout=60,
                )

            with h.step(f"{args.sockets} floor sockets"):
                rows["floor: minimal ASGI WebSocket app"] = h.asyncio_run(
                    measure(floor, args.sockets, floor_socket)
                )
    for label, (per_socket, before, after) in rows.items():
        report.row(label, h.fmt(per_socket, 1), h.fmt(before / 1024, 1), h.fmt(after / 1024, 1))
    app = rows["business socket (resumed, live, idle)"][0]
    report.target("idle socket ≤ 50 KiB each", app <= 50, f"{app:.1f} KiB")
    report.notes.append(
        f"RSS (VmRSS) of the worker after {WARM} warm-up sockets, then after {args.sockets:,} more "
        "and 3 s idle; uvicorn --ws websockets-sansio, no per-message compression, Redis pub/sub layer; "
        f"handshakes refused (4013) or timed out under the opening burst and retried: {h.refused_and_retried}"
    )
    gc.collect()
    report.emit(args)


if __name__ == "__main__":
    main()
