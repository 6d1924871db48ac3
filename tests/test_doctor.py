"""``manage.py inbox_doctor`` on a healthy installation and on broken ones.

Each broken installation is a real one (override_settings, a dead port, a migration recorded as
unapplied), and the doctor must name the failure, say how to fix it and exit non-zero.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from channels.routing import ProtocolTypeRouter
from django.conf import settings
from django.core.asgi import get_asgi_application
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.test import override_settings

from tests.servers import RedisServer, asgi_servers, free_port, redis_server

BASE_DIR = Path(__file__).resolve().parent.parent

# An ASGI application that serves HTTP only: what a site gets by forgetting the WebSocket routes.
HTTP_ONLY_APPLICATION = ProtocolTypeRouter({"http": get_asgi_application()})

# The command runs outside any transaction, as under manage.py (its checks open and close
# connections, which PostgreSQL refuses inside the atomic block of a plain django_db test).
pytestmark = pytest.mark.django_db(transaction=True)


def doctor(*args: str) -> tuple[bool, str]:
    """Run the doctor; (passed, output)."""
    out = StringIO()
    try:
        call_command("inbox_doctor", *args, stdout=out, no_color=True)
    except CommandError as error:
        assert error.returncode == 1
        return False, out.getvalue()
    return True, out.getvalue()


def line(output: str, name: str) -> str:
    """The result line of check ``name`` plus its indented notes and fix."""
    lines = output.splitlines()
    for index, text in enumerate(lines):
        if f"] {name}:" in text:
            block = [text]
            for follow in lines[index + 1 :]:
                if not follow.startswith("       "):
                    break
                block.append(follow)
            return "\n".join(block)
    raise AssertionError(f"no {name!r} line in:\n{output}")


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A private redis-server (never the machine's shared one)."""
    with redis_server() as server:
        yield server


def pubsub_layer(url: str) -> dict[str, Any]:
    return {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [url], "prefix": "inbox-doctor-test"},
        }
    }


def test_healthy_installation_passes() -> None:
    passed, output = doctor()
    assert passed, output
    for name in (
        "apps",
        "middleware",
        "system checks",
        "rest urls",
        "database",
        "migrations",
        "clock skew",
        "asgi",
        "websocket routes",
        "channel layer",
        "redis",
        "background backlog",
    ):
        assert line(output, name).startswith("[  OK]"), output
    # No worker runs beside pytest: the probe task waits in vain (see the multiprocess test).
    assert line(output, "task worker").startswith("[WARN]"), output
    assert "manage.py db_worker" in line(output, "task worker")
    assert "/ws/inbox/business/ → closed 4401" in output
    assert "/ws/inbox/participant/ → closed 4401" in output
    assert "0 failed" in output


def test_redis_layer_round_trips_between_two_processes(own_redis: RedisServer) -> None:
    with override_settings(CHANNEL_LAYERS=pubsub_layer(own_redis.url)):
        passed, output = doctor()
    assert passed, output
    layer = line(output, "channel layer")
    assert layer.startswith("[  OK]") and "between two processes" in layer, output
    assert f"127.0.0.1:{own_redis.port}" in line(output, "redis"), output


def test_redis_down_fails_with_what_to_fix() -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"
    with override_settings(CHANNEL_LAYERS=pubsub_layer(dead)):
        passed, output = doctor()
    assert not passed
    assert line(output, "redis").startswith("[FAIL]")
    assert "fix: Start Redis" in line(output, "redis")
    assert line(output, "channel layer").startswith("[FAIL]")
    # The consumers refuse sockets with 4013 while the layer is down; the doctor says why.
    assert "4013" in line(output, "websocket routes")


def test_no_channel_layer_fails() -> None:
    with override_settings(CHANNEL_LAYERS={}):
        passed, output = doctor()
    assert not passed
    assert line(output, "channel layer").startswith("[FAIL]")
    assert "fix: Configure CHANNEL_LAYERS" in line(output, "channel layer")


def test_missing_authentication_middleware_fails() -> None:
    middleware = [
        name
        for name in settings.MIDDLEWARE
        if name != "django.contrib.auth.middleware.AuthenticationMiddleware"
    ]
    with override_settings(MIDDLEWARE=middleware):
        passed, output = doctor()
    assert not passed
    result = line(output, "middleware")
    assert result.startswith("[FAIL]") and "AuthenticationMiddleware is missing" in result
    assert "fix: Add django.contrib.auth.middleware.AuthenticationMiddleware" in result


def test_unimportable_asgi_application_fails() -> None:
    with override_settings(ASGI_APPLICATION="project.no_such_module.application"):
        passed, output = doctor()
    assert not passed
    assert line(output, "asgi").startswith("[FAIL]")
    assert "cannot be imported" in line(output, "asgi")


def test_asgi_application_without_websocket_routes_fails() -> None:
    with override_settings(ASGI_APPLICATION="tests.test_doctor.HTTP_ONLY_APPLICATION"):
        passed, output = doctor()
    assert not passed
    result = line(output, "websocket routes")
    assert result.startswith("[FAIL]") and "business / participant" in result
    assert "websocket_urlpatterns" in result


def test_unapplied_migration_fails() -> None:
    # Rolled back with the test's transaction.
    MigrationRecorder(connection).record_unapplied("inbox", "0001_initial")
    passed, output = doctor()
    assert not passed
    result = line(output, "migrations")
    assert result.startswith("[FAIL]") and "1 not applied: inbox.0001_initial" in result
    assert "fix: Run `python manage.py migrate`" in result


def test_command_line_exit_code_when_the_database_is_down() -> None:
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{free_port()}/postgres",
        "DATABASE_POOL_TIMEOUT": "1",
        "REDIS_URL": "",
    }
    completed = subprocess.run(
        [sys.executable, "manage.py", "inbox_doctor", "--no-color"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert line(completed.stdout, "database").startswith("[FAIL]"), completed.stdout
    assert "fix: Start the database server" in line(completed.stdout, "database")
    assert line(completed.stdout, "migrations").startswith("[SKIP]"), completed.stdout
    assert "database, migrations" not in completed.stderr  # skipped checks are not failures
    assert "inbox_doctor: database failed" in completed.stderr


def test_a_check_that_raises_is_a_failed_check() -> None:
    # An unknown alias makes each check that reads the database raise, not report unreachable.
    passed, output = doctor("--database", "nope")
    assert not passed
    for name in ("database", "migrations", "clock_skew"):
        result = line(output, name)
        assert result.startswith("[FAIL]") and "the check itself failed" in result, output
        assert "ConnectionDoesNotExist" in result
    assert line(output, "asgi").startswith("[  OK]"), output
    # The background checks read the task backend's database (the default), not --database.
    assert "13 checks: 3 failed" in output


@pytest.mark.multiprocess
@pytest.mark.slow
def test_a_running_worker_and_relay_pass_the_background_checks() -> None:
    with asgi_servers(1, background=True) as cluster:
        output = cluster.manage("inbox_doctor")
    assert line(output, "task worker").startswith("[  OK]"), output
    assert "a worker ran the probe task" in output
    assert line(output, "background backlog").startswith("[  OK]"), output
