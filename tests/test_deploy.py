"""The scaled profile (docs/deployment.md): deploy checks, the secret-key rule, `make serve`."""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.conf import settings
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.checks import run_checks
from django.core.management import call_command
from django.test import override_settings

from inbox.checks import check_database_for_deploy, database_deploy_warnings
from project import serve
from tests.servers import free_port, reachable

ROOT = Path(__file__).resolve().parent.parent


def deploy_check_ids() -> set[str]:
    return {message.id for message in run_checks(include_deployment_checks=True)}


SQLITE = {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}
POSTGRES = {"ENGINE": "django.db.backends.postgresql", "NAME": "x", "OPTIONS": {}}
POOLED = {"ENGINE": "django.db.backends.postgresql", "NAME": "x", "OPTIONS": {"pool": True}}
PERSISTENT = {"ENGINE": "django.db.backends.postgresql", "NAME": "x", "CONN_MAX_AGE": 60}


def test_sqlite_is_flagged_for_deployment() -> None:
    assert [m.id for m in database_deploy_warnings(SQLITE)] == ["inbox.W010"]


def test_postgres_without_pool_is_flagged_and_with_pool_is_not() -> None:
    (warning,) = database_deploy_warnings(POSTGRES)
    assert warning.id == "inbox.W011" and warning.hint
    assert database_deploy_warnings(POOLED) == []
    assert database_deploy_warnings(PERSISTENT) == []


def test_the_database_check_reads_the_default_database() -> None:
    expected = database_deploy_warnings(settings.DATABASES["default"])
    assert [m.id for m in check_database_for_deploy()] == [m.id for m in expected]


def test_wildcard_allowed_hosts_is_flagged() -> None:
    with override_settings(ALLOWED_HOSTS=["*"]):
        assert "inbox.W012" in deploy_check_ids()
    with override_settings(ALLOWED_HOSTS=["inbox.example.com"]):
        assert "inbox.W012" not in deploy_check_ids()


def test_deploy_checks_are_not_run_by_plain_check() -> None:
    with override_settings(ALLOWED_HOSTS=["*"]):
        assert "inbox.W012" not in {m.id for m in run_checks()}


def _import_settings(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    return subprocess.run(
        [sys.executable, "-c", "import project.settings as s; print(s.DEBUG, s.HTTPS)"],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_debug_off_refuses_the_demo_secret_key() -> None:
    result = _import_settings({"DJANGO_DEBUG": "0"})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr
    result = _import_settings({"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": "k" * 50})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False"]


def test_https_switch_turns_on_the_secure_settings() -> None:
    code = (
        "import project.settings as s; print(s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, "
        "s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS > 0, s.SECURE_PROXY_SSL_HEADER[0])"
    )
    base = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**base, "DJANGO_HTTPS": "1", "DJANGO_SECURE_SSL_REDIRECT": "0"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True", "True", "True", "HTTP_X_FORWARDED_PROTO"]


def test_persistent_secret_key_is_generated_once_private(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    first = serve.persistent_secret_key(path)
    assert len(first) >= 50
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert serve.persistent_secret_key(path) == first


def test_profile_environment_keeps_explicit_values() -> None:
    env = serve.profile_environment(
        {"DATABASE_URL": "postgres://db/x", "DJANGO_SECRET_KEY": "given", "DJANGO_DEBUG": "1"}
    )
    assert env["DATABASE_URL"] == "postgres://db/x"
    assert env["DJANGO_SECRET_KEY"] == "given"
    assert env["DJANGO_DEBUG"] == "0"
    assert env["REDIS_URL"] == serve.DEFAULT_REDIS_URL


def test_uvicorn_command_runs_several_workers_on_one_port() -> None:
    command = serve.uvicorn_command(workers=3, host="127.0.0.1", port=8123)
    assert command[command.index("--workers") + 1] == "3"
    assert command[command.index("--port") + 1] == "8123"
    assert {"uvloop", "httptools"} <= set(command)


@pytest.mark.multiprocess
@pytest.mark.slow
@pytest.mark.timeout(240)
def test_serve_runs_the_scaled_profile(tmp_path: Path) -> None:
    """`python -m project.serve`: creates and migrates the database, collects static files,
    passes check --deploy and serves API and static files from two uvicorn workers."""
    if not reachable(5432) or not reachable(6379):
        pytest.skip("the scaled profile needs PostgreSQL on :5432 and Redis on :6379")
    import psycopg

    name = f"inbox_serve_test_{uuid.uuid4().hex[:10]}"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{name}",
        REDIS_URL="redis://127.0.0.1:6379/0",
        CHANNEL_LAYER_PREFIX=f"serve-test-{name}",
        DJANGO_SECRET_KEY="s" * 50,
    )
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "project.serve", "--workers", "2", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        response: Any = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/inbox/v2/messages", timeout=5)
                break
            except httpx.TransportError:
                time.sleep(0.5)
        output = (tmp_path / "serve.log").read_text()
        assert response is not None, output[-3000:]
        assert response.status_code == 401
        assert response.json()["details"]["applicationError"]["code"] == "UNAUTHENTICATED"
        static = httpx.get(f"http://127.0.0.1:{port}/static/admin/css/base.css", timeout=5)
        assert static.status_code == 200
        assert "text/css" in static.headers["content-type"]
        assert "2 uvicorn workers" in output
        # The task worker and the outbox relay run beside the servers.
        assert "Starting worker" in output
        assert "inbox_relay: publishing stale outbox events" in output
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
        log.close()
        with psycopg.connect(
            "postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True
        ) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.slow
def test_collected_modules_import_each_other_by_their_hashed_names(tmp_path: Path) -> None:
    """The profile's storage (project/storage.py) rewrites the ES modules' imports: the hashed
    widget loader and staff entry reach hashed modules only, and every one of them exists."""
    storages = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "project.storage.StaticFilesStorage"},
    }
    with override_settings(STATIC_ROOT=tmp_path, STORAGES=storages):
        call_command("collectstatic", interactive=False, verbosity=0)
        entries = [
            staticfiles_storage.stored_name(name)
            for name in ("inbox/widget/widget.js", "inbox/admin/inbox.js")
        ]
    specifier = re.compile(r"""(?:\bfrom\s*|\bimport\s*\(\s*)["'](\.{1,2}/[^"']+)["']""")
    seen: set[Path] = set()
    todo = [tmp_path / entry for entry in entries]
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        for target in specifier.findall(module.read_text()):
            assert re.search(r"\.[0-9a-f]{12}\.js$", target), f"{module.name} imports {target}"
            resolved = (module.parent / target).resolve()
            assert resolved.is_file(), f"{module.name} imports missing {target}"
            todo.append(resolved)
    # Between them the two entries reach every module the app ships.
    assert len(seen) == len(list((ROOT / "inbox/static/inbox").rglob("*.js")))


def test_make_serve_never_runs_with_debug_on(tmp_path: Path) -> None:
    """`make serve` runs project.serve, whose environment turns DEBUG off whatever the caller
    set (a foreign Host would otherwise get Django's debug page, settings and all)."""
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\nserve:", 1)[1].split("\n\n", 1)[0]
    assert "-m project.serve" in recipe
    env = serve.profile_environment(
        {"DJANGO_DEBUG": "1", "DJANGO_SECRET_KEY": "k" * 50, "DATABASE_URL": "postgres://db/x"}
    )
    result = _import_settings({key: value for key, value in env.items() if key.startswith("DJ")})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == "False"


def test_the_deployment_docs_never_turn_debug_on() -> None:
    """Every server the deployment guide starts is `make serve` / project.serve (DEBUG forced
    off) or says DJANGO_DEBUG=0; no example turns DEBUG on."""
    text = (ROOT / "docs" / "deployment.md").read_text()
    blocks = re.findall(r"```(?:sh|bash|ini|python)?\n(.*?)```", text, re.S)
    assert blocks
    for block in blocks:
        assert not re.search(r"DJANGO_DEBUG=(1|true|yes|on)\b|DEBUG\s*=\s*True", block, re.I)
        for line in block.splitlines():
            if re.search(r"\b(uvicorn|daphne|gunicorn|runserver)\b", line) and "serve" not in line:
                assert "DJANGO_DEBUG=0" in block, line
