"""Browser tests: a real ASGI server process (uvicorn via tests/servers.py, so WebSockets work;
pytest-django's ``live_server`` is WSGI-only) on the test database, and headless Chromium driven
by Playwright.

The server runs the demo project on a free loopback port against the test's database:
PostgreSQL's test database as it is, or on SQLite a file copy of the in-memory test database
(``concurrent_db``), which both processes open. Everything the test writes it commits first
(``transactional_db``), and writes that must publish events go through the server's HTTP API,
so they reach the server's sockets whatever channel layer is configured.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connections

from tests.servers import AsgiServer

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]


def database_env() -> dict[str, str]:
    """Environment that points a server process at the database this test process uses."""
    settings = connections["default"].settings_dict
    if connections["default"].vendor == "sqlite":
        return {"SQLITE_PATH": str(settings["NAME"])}
    user = settings.get("USER") or "postgres"
    host = settings.get("HOST") or "127.0.0.1"
    port = settings.get("PORT") or 5432
    return {"DATABASE_URL": f"postgres://{user}@{host}:{port}/{settings['NAME']}"}


@pytest.fixture(autouse=True)
def _fast_password_hashing() -> None:
    """Overrides tests/conftest.py's MD5-only hashing: the server process checks passwords with
    the project's own hashers, so users made here must have a hash it accepts."""


@pytest.fixture
def asgi_server(concurrent_db: Any, tmp_path: Path) -> Iterator[AsgiServer]:
    """A real ASGI server process on this test's (committed) database."""
    env = dict(os.environ)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    env.pop("SQLITE_PATH", None)
    env.pop("DATABASE_URL", None)
    env.update(database_env())
    env.update(
        DJANGO_SETTINGS_MODULE="project.settings",
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        # Each server gets its own channel-layer namespace on a shared Redis.
        CHANNEL_LAYER_PREFIX=f"inbox-e2e-{uuid.uuid4().hex[:8]}",
        PYTHONUNBUFFERED="1",
        DJANGO_MEDIA_ROOT=str(tmp_path / "media"),
    )
    env["DJANGO_CSRF_TRUSTED_ORIGINS"] = "http://127.0.0.1"
    server = AsgiServer(
        env=env, log_path=tmp_path / "server.log", extra_args=("--ws", "websockets")
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed (make browser installs it)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread, which makes Django refuse the
    # test's own (plain synchronous) ORM calls; this module's tests opt out of that check.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                yield chromium
            finally:
                chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


# Reports every Content-Security-Policy violation of a page (in any frame or shadow root: the
# event bubbles to the document) to the test, before any of the page's own scripts run.
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__inboxCspViolation(
    `${event.violatedDirective} blocked ${event.blockedURI || "inline"} on ${location.pathname}`
  );
}, true);
"""


@pytest.fixture
def csp_violations() -> list[str]:
    """The CSP violations the test's pages reported (``securitypolicyviolation`` events and
    Chromium's console errors about a policy); a test that expects one empties it."""
    return []


@pytest.fixture
def context(browser: Any, asgi_server: AsgiServer, csp_violations: list[str]) -> Iterator[Any]:
    """A fresh browser profile (no cookies, no storage) per test. The staff page and the demo
    home page are served with a Content-Security-Policy; any page that breaks its policy fails
    the test."""
    browser_context = browser.new_context(
        base_url=asgi_server.url, viewport={"width": 1100, "height": 760}
    )
    browser_context.set_default_timeout(15_000)
    browser_context.expose_binding(
        "__inboxCspViolation", lambda _source, report: csp_violations.append(report)
    )
    browser_context.add_init_script(REPORT_CSP_VIOLATIONS)

    def on_console(message: Any) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            csp_violations.append(f"console: {message.text}")

    browser_context.on("page", lambda page: page.on("console", on_console))
    try:
        yield browser_context
    finally:
        browser_context.close()
    assert csp_violations == [], "Content-Security-Policy violations"


INJECT_INLINE_SCRIPT = """() => {
  const script = document.createElement("script");
  script.textContent = "window.__inlineRan = true";
  document.head.appendChild(script);
}"""


def assert_policy_refuses_inline_script(page: Any, csp_violations: list[str]) -> None:
    """The page's policy is enforced, and the test would see a violation: an inline script
    added now is refused and reported. The expected report is then cleared."""
    page.evaluate(INJECT_INLINE_SCRIPT)
    deadline = time.monotonic() + 5
    while not csp_violations and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert page.evaluate("() => window.__inlineRan") is None
    assert [report for report in csp_violations if report.startswith("script-src")], csp_violations
    csp_violations.clear()
