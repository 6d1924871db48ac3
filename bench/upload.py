"""Benchmark 9 — uploads: MB/s and peak server memory of ``POST v2/attachments`` for files of 5,
25 and 100 MB (the size cap raised to let the largest through), on one worker writing to the
file system. Peak memory must stay flat as the file grows: the body streams through a size cap
to a temporary file and on to storage in chunks. Floor: the same multipart bodies posted to the
minimal ASGI process, which reads each body to the end and drops it (bench/floor_app.py).

    .venv/bin/python bench/upload.py [--quick] [--sizes 5,25,100] [--repeats 3]
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness as h  # noqa: E402

MB = 1024 * 1024
CHUNK = b"%PDF-1.4\n" + bytes(range(256)) * 4096  # about 1 MB; a PDF by its first bytes


def make_file(directory: Path, size: int) -> Path:
    """A file of ``size`` bytes that sniffs as a PDF, written in chunks (never whole in memory)."""
    path = directory / f"upload-{size}.pdf"
    with path.open("wb") as out:
        left = size
        while left > 0:
            piece = CHUNK[:left]
            out.write(piece)
            left -= len(piece)
    return path


def peak_rss_reset(pid: int) -> bool:
    """Reset the process's peak RSS (VmHWM) to its current RSS (Linux ≥ 4.0, ``clear_refs``)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmHWM for {pid}")


def upload_once(
    server: h.Server, path: Path, headers: dict[str, str], data: dict[str, str]
) -> tuple[float, int, int]:
    """(seconds, RSS before in KiB, peak RSS during in KiB) of one upload of ``path``."""
    import httpx

    (pid,) = server.worker_pids()
    before = h.rss_kib(pid)
    if not peak_rss_reset(pid):
        raise SystemExit("cannot reset peak RSS (/proc/PID/clear_refs): needs Linux ≥ 4.0")
    with path.open("rb") as file, httpx.Client(base_url=server.origin, timeout=300) as client:
        started = time.perf_counter()
        response = client.post(
            f"{h.API}/attachments",
            headers=headers,
            data=data,
            files={"file": (path.name, file, "application/pdf")},
        )
        elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"upload answered {response.status_code}: {response.text[:500]}")
    return elapsed, before, peak_rss_kib(pid)


def measure(
    server: h.Server,
    files: dict[int, Path],
    repeats: int,
    headers: dict[str, str],
    data: dict[str, str],
) -> dict[int, tuple[float, int, int]]:
    """Per size: (median MB/s, RSS before in KiB, highest peak RSS in KiB) over ``repeats``."""
    upload_once(server, files[min(files)], headers, data)  # warm-up: imports, pools, caches
    results = {}
    for size, path in files.items():
        runs = [upload_once(server, path, headers, data) for _ in range(repeats)]
        rate = statistics.median(size / MB / seconds for seconds, _, _ in runs)
        results[size] = (rate, min(before for _, before, _ in runs), max(p for _, _, p in runs))
    return results


def main() -> None:
    parser = h.parser(__doc__.strip().splitlines()[0])
    parser.add_argument("--sizes", default="5,25,100", help="file sizes in MB")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    sizes = [1, 2] if args.quick else [int(size) for size in args.sizes.split(",")]
    repeats = 1 if args.quick else args.repeats
    report = h.Report(
        title="10. Uploads: MB/s and peak server memory by file size (one worker)",
        headers=[
            "case",
            "file (MB)",
            "MB/s (median)",
            "worker RSS before (MiB)",
            "peak RSS (MiB)",
            "peak growth (MiB)",
        ],
    )
    scratch = Path(tempfile.mkdtemp(prefix="inbox-bench-upload-"))
    try:
        files = {size * MB: make_file(scratch, size * MB) for size in sizes}
        with h.django_database("upload") as db:
            with h.step("seed"):
                key = h.create_app_key()
                (conversation_id,) = h.create_conversations(1)
            media = scratch / "media"
            env = h.server_env(
                db.url,
                DJANGO_MEDIA_ROOT=str(media),
                BENCH_ATTACHMENT_MAX_BYTES=str(max(files) + MB),
                TMPDIR=str(scratch),
            )
            headers = {"Authorization": key}
            data = {"conversationId": str(conversation_id)}
            with h.Server("project.asgi:application", env=env, workers=1, name="app") as server:
                with h.step(f"uploads of {', '.join(map(str, sizes))} MB × {repeats}"):
                    app = measure(server, files, repeats, headers, data)
            with h.Server("bench.floor_app:app", env=env, workers=1, name="floor") as floor:
                with h.step("the same bodies to the floor"):
                    base = measure(floor, files, repeats, {}, data)
            stored = sum(1 for path in media.rglob("*") if path.is_file())
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    for label, results in (("POST v2/attachments", app), ("floor: ASGI body drain", base)):
        for size, (rate, before, peak) in results.items():
            report.row(
                label,
                size // MB,
                h.fmt(rate, 1),
                h.fmt(before / 1024, 1),
                h.fmt(peak / 1024, 1),
                h.fmt((peak - before) / 1024, 1),
            )
    growth = {size: (peak - before) / 1024 for size, (_, before, peak) in app.items()}
    smallest, largest = min(growth), max(growth)
    spread = growth[largest] - growth[smallest]
    report.target(
        f"peak memory flat: growth at {largest // MB} MB ≤ growth at {smallest // MB} MB + 16 MiB",
        spread <= 16,
        f"{h.fmt(growth[largest], 1)} vs {h.fmt(growth[smallest], 1)} MiB",
    )
    reference = 25 * MB if 25 * MB in app else largest
    ratio = app[reference][0] / base[reference][0]
    report.target(
        f"{reference // MB} MB upload throughput (no target set; ÷ floor)",
        None,
        f"{h.fmt(app[reference][0], 1)} MB/s, {ratio:.2f}× the floor's {h.fmt(base[reference][0], 1)}",
    )
    report.notes += [
        "MB/s is the file's size over the time from the first byte sent to the answer "
        "(httpx, the file streamed from disk); median of the repeats, after one warm-up upload",
        "peak RSS is the worker's VmHWM, reset to its current RSS (/proc/PID/clear_refs) before "
        "each upload; growth is peak minus the RSS before it",
        f"files are PDFs by their first bytes (no image decoding); {stored} files were stored "
        "under a temporary MEDIA_ROOT, deleted afterwards",
    ]
    report.emit(args)


if __name__ == "__main__":
    main()
