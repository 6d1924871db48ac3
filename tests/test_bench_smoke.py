"""Every benchmark script runs end to end at tiny size (``--quick``), so bench/ does not rot.

Real processes, real PostgreSQL and Redis (the scripts create and drop their own database,
whatever DATABASE_URL the suite runs with); no timing is asserted, only that each script
completes, prints its table with the floor (and, where the issue asks for it, the conventional
stack of bench/conventional.py) and its targets, and records nothing in --quick.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import reachable

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "docs" / "benchmarks.md"

# The rows each script's table must have: its floor, and the conventional stack's where it runs.
SCRIPTS = {
    "send_deliver.py": ("floor: sum", "conventional: send→deliver"),
    "send_throughput.py": ("floor: ASGI hello world", "conventional: DRF CreateAPIView"),
    "list_messages.py": ("floor: the page's SQL", "conventional: ListAPIView"),
    "fanout.py": ("floor: Redis PUBLISH",),
    "conversation_list.py": ("floor: the page's keyset SQL",),
    "idle_sockets.py": ("floor: minimal ASGI WebSocket app",),
    "write_path.py": ("floor: plain Django view", "conventional: DRF CreateAPIView"),
    "serialization.py": ("floor: hand-written dict builder",),
    "webhook_delivery.py": ("floor: direct POST to the receiver",),
    "upload.py": ("floor: ASGI body drain",),
}
# bench/ modules that are not benchmarks.
SUPPORT = {"__init__.py", "harness.py", "floor_app.py", "settings.py", "urls.py", "asgi.py"}
SUPPORT |= {"conventional.py"}

pytestmark = [pytest.mark.multiprocess, pytest.mark.slow]


@pytest.fixture(scope="module", autouse=True)
def services() -> None:
    if not reachable(5432) or not reachable(6379):
        pytest.skip("the benchmarks need PostgreSQL on 127.0.0.1:5432 and Redis on :6379")


def test_every_script_is_covered() -> None:
    on_disk = {path.name for path in (ROOT / "bench").glob("*.py") if path.name not in SUPPORT}
    assert on_disk == set(SCRIPTS)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_bench_script_runs_quick(script: str) -> None:
    before = RESULTS.read_bytes() if RESULTS.exists() else None
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert out.count("\n### ") + out.startswith("### ") == 1
    for row in SCRIPTS[script]:
        assert "| " + row in out, row
    assert "| target | measured | met |" in out
    assert "- command: `" in out and "--quick" in out
    after = RESULTS.read_bytes() if RESULTS.exists() else None
    assert after == before, "--quick must not append to docs/benchmarks.md"
