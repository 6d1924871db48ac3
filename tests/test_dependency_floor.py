"""The package works with the lowest versions its ``pyproject.toml`` allows (issue #12: asgiref
3.8.1 was accepted and every request failed).

``make floor`` (a step of ``make test``) resolves those versions into ``.venv-floor`` with
``uv --resolution lowest-direct``; this test only runs a smoke suite there, so nothing is
downloaded by a test. The test tools come from ``.venv`` through a ``.pth`` file that sits after
the floor's own packages on ``sys.path``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FLOOR_PYTHON = ROOT / ".venv-floor" / "bin" / "python"
SMOKE = [
    "tests/test_smoke_api.py",
    "tests/test_api_messages.py",
    "tests/test_api_conversation_list.py",
    "tests/test_realtime.py",
    "tests/test_asgi_handler.py",
    "tests/test_admin.py",
    "tests/test_checks.py",
]

pytestmark = [
    pytest.mark.slow,
    # What is proven is the package versions, not the database: one pass is enough.
    pytest.mark.single_pass,
    pytest.mark.skipif(
        not FLOOR_PYTHON.exists(), reason="no .venv-floor: run `make floor` (make test does)"
    ),
]


def declared_floors() -> dict[str, str]:
    """``{distribution: lowest version}`` of every required dependency with a ``>=`` bound."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    floors = {}
    for requirement in project["dependencies"]:
        match = re.match(r"^([A-Za-z0-9_.-]+).*?>=\s*([0-9][0-9A-Za-z.]*)", requirement)
        assert match, f"every dependency declares its floor: {requirement!r}"
        floors[match.group(1).lower()] = match.group(2)
    return floors


def floor_versions(names: list[str]) -> dict[str, str]:
    script = (
        "import json, sys; from importlib import metadata; "
        "print(json.dumps({n: metadata.version(n) for n in sys.argv[1:]}))"
    )
    result = subprocess.run(
        [FLOOR_PYTHON, "-c", script, *names], capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout)


def test_the_floor_venv_holds_exactly_the_declared_floors() -> None:
    floors = declared_floors()
    installed = floor_versions(list(floors))
    assert {n: same_release(v) for n, v in installed.items()} == {
        n: same_release(v) for n, v in floors.items()
    }


def same_release(version: str) -> str:
    """``5.2`` and ``5.2.0`` name the same release."""
    return re.sub(r"(\.0)+$", "", version)


def test_the_smoke_suite_passes_at_the_floor() -> None:
    result = subprocess.run(
        [FLOOR_PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x", *SMOKE],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout


def test_the_floor_python_is_this_python() -> None:
    result = subprocess.run(
        [FLOOR_PYTHON, "-c", "import sys; print(sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == str(sys.version_info[:2])
