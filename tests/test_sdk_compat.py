"""Real-client compatibility: Wix's own JavaScript SDK (@wix/sdk + @wix/inbox, pinned in
tests/js/package.json) must work unchanged against our REST API.

The test serves the project over pytest-django's ``live_server``, creates an API key through the
service layer and runs ``tests/js/sdk_compat.mjs``, which drives the SDK through conversations,
every sendable content type, cursor paging in both orders, visibility filtering and the error
envelopes. What the SDK sends and expects is written down in tests/js/README.md.

It is skipped (with the reason shown) when Node.js or tests/js/node_modules is missing:
run ``npm ci --prefix tests/js``.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

JS_DIR = Path(__file__).resolve().parent / "js"
SCRIPT = JS_DIR / "sdk_compat.mjs"
INSTALL_HINT = "run `npm ci --prefix tests/js` (needs Node.js >= 20 and the npm registry)"
MIN_NODE_MAJOR = 20
TIMEOUT_S = 120


@pytest.fixture(scope="session")
def node_bin() -> str:
    """Path of a usable `node`, or skip. Session-scoped so it is decided before live_server starts."""
    node = shutil.which("node")
    if node is None:
        pytest.skip(
            f"node not found on PATH: the Wix SDK compatibility test needs Node.js; {INSTALL_HINT}"
        )
    version = subprocess.run(
        [node, "--version"], check=False, capture_output=True, text=True, timeout=30
    ).stdout.strip()
    try:
        major = int(version.lstrip("v").split(".")[0])
    except ValueError:
        major = 0
    if major < MIN_NODE_MAJOR:
        pytest.skip(
            f"node {version or '(unknown version)'} is too old: the Wix SDK compatibility test needs Node.js >= {MIN_NODE_MAJOR}"
        )
    for package in ("@wix/sdk", "@wix/inbox"):
        if not (JS_DIR / "node_modules" / package / "package.json").is_file():
            pytest.skip(f"tests/js/node_modules is missing {package}: {INSTALL_HINT}")
    return node


def _text(output: str | bytes | None) -> str:
    if output is None:
        return ""
    return output.decode("utf-8", "replace") if isinstance(output, bytes) else output


@pytest.mark.django_db(transaction=True)
def test_wix_js_sdk_works_against_live_server(node_bin: str, live_server) -> None:
    from inbox.services import app_create

    _app, raw_key = app_create(name="wix-sdk-compat")

    cmd = [node_bin, str(SCRIPT), live_server.url, raw_key]
    try:
        proc = subprocess.run(
            cmd,
            check=False,
            cwd=JS_DIR,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(
            f"sdk_compat.mjs did not finish within {TIMEOUT_S}s against {live_server.url}\n"
            f"--- stdout ---\n{_text(exc.stdout)}\n--- stderr ---\n{_text(exc.stderr)}",
            pytrace=False,
        )

    # One JSON line per check; shown with `pytest -rP` / `-s` even when everything passes.
    print(proc.stdout)
    assert proc.returncode == 0, (
        f"Wix SDK compatibility failed (exit {proc.returncode}) against {live_server.url}\n"
        f"--- stdout (one JSON line per check) ---\n{proc.stdout}\n"
        f"--- stderr ---\n{proc.stderr}"
    )
    assert '"check":"all","ok":true' in proc.stdout, (
        f"sdk_compat.mjs exited 0 without finishing:\n{proc.stdout}"
    )
