"""Real server processes for tests and benchmarks: N ASGI servers sharing one database and one
channel layer, and a private Redis that a test may stop and restart.

    with asgi_servers(2) as cluster:
        key = cluster.create_app_key()
        httpx.post(cluster.urls[0] + "/inbox/v2/messages", headers={"Authorization": key}, ...)
        websockets.connect(cluster.ws_urls[1] + "/ws/inbox/business/", origin=cluster.origins[1],
                           additional_headers={"Authorization": key})

The database is the servers' own (pytest-django's test database lives in a transaction or a
file the servers cannot see): a temporary SQLite file, or, when ``DATABASE_URL`` names a
PostgreSQL server, a database created for the cluster and dropped after it. The channel layer is
Redis (``REDIS_URL``, else the machine's Redis at 127.0.0.1:6379) with a key prefix unique to the
cluster, so clusters and other test runs on the same Redis never see each other's events. Every
wait is bounded; processes are killed and their logs kept in ``cluster.log_dir`` until the end.

``AsgiServer`` is one such process on whatever database its environment names (the browser
tests run it on pytest's own test database: tests/e2e/conftest.py). It is uvicorn unless
``server="daphne"`` (what ``manage.py runserver`` serves with, under ``make run``): the two
differ in what they refuse before the app sees anything (docs/deployment.md), so tests of those
edges run on both (``SERVERS``). ``background=True`` also starts what runs beside the servers in
production: the task worker (``manage.py db_worker``) and the outbox relay
(``manage.py inbox_relay``), as real processes on the same database.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
COMMAND_TIMEOUT = 180.0
SERVERS = ("uvicorn", "daphne")


def free_port() -> int:
    """A loopback port nobody listens on right now (the OS picks it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def reachable(port: int) -> bool:
    """Whether something accepts TCP connections on ``127.0.0.1:port`` (PostgreSQL, Redis)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _wait_until(predicate: Any, *, timeout: float, what: str, interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise TimeoutError(f"{what} not ready after {timeout:.0f} s")


def _stop(process: subprocess.Popen[Any], *, sig: int = signal.SIGTERM) -> None:
    if process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT)


# Redis -------------------------------------------------------------------------------------


@dataclass
class RedisServer:
    """A private ``redis-server`` on a free loopback port, which a test may stop and restart."""

    port: int
    log_path: Path
    process: subprocess.Popen[Any] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        _wait_until(self.ping, timeout=STARTUP_TIMEOUT, what=f"redis-server on {self.port}")

    def stop(self) -> None:
        """Stop at once (SIGKILL: no goodbye to clients, like a crash or a network cut)."""
        if self.process is not None:
            _stop(self.process, sig=signal.SIGKILL)
            self.process = None


@contextlib.contextmanager
def redis_server(directory: Path | None = None) -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        import pytest

        pytest.skip("redis-server is not installed")
    with tempfile.TemporaryDirectory(prefix="inbox-redis-") as scratch:
        server = RedisServer(port=free_port(), log_path=Path(directory or scratch) / "redis.log")
        server.start()
        try:
            yield server
        finally:
            server.stop()


# Database ----------------------------------------------------------------------------------


@contextlib.contextmanager
def _server_database(scratch: Path) -> Iterator[dict[str, str]]:
    """Environment naming a fresh database for the servers; dropped afterwards."""
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith(("postgres://", "postgresql://")):
        yield {"SQLITE_PATH": str(scratch / "db.sqlite3")}
        return
    import psycopg

    name = f"inbox_mp_{uuid.uuid4().hex[:12]}"
    parts = urlsplit(database_url)
    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield {"DATABASE_URL": urlunsplit(parts._replace(path=f"/{name}"))}
    finally:
        with psycopg.connect(database_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# ASGI servers ------------------------------------------------------------------------------


def server_command(server: str, port: int, *, quiet: bool) -> list[str]:
    """The command line serving ``project.asgi:application`` on ``127.0.0.1:port`` with
    ``server`` ("uvicorn" or "daphne"); ``quiet``: no access log."""
    if server == "uvicorn":
        command = ["uvicorn", "project.asgi:application", "--host", "127.0.0.1"]
        command += ["--port", str(port), "--log-level", "warning"]
        return [sys.executable, "-m", *command, *(("--no-access-log",) if quiet else ())]
    if server == "daphne":
        command = ["daphne", "-b", "127.0.0.1", "-p", str(port)]
        command += ["--access-log", os.devnull] if quiet else []
        return [sys.executable, "-m", *command, "project.asgi:application"]
    raise ValueError(f"unknown server {server!r}")


@dataclass
class AsgiServer:
    """``project.asgi:application`` served by ``server`` on a free loopback port with ``env``
    (which names its database and channel layer), logging to ``log_path``; ``extra_args`` go to
    the server's command line."""

    env: dict[str, str]
    log_path: Path
    extra_args: tuple[str, ...] = ()
    server: str = "uvicorn"
    quiet: bool = False
    port: int = 0
    process: subprocess.Popen[Any] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self) -> AsgiServer:
        """Start and wait until it answers HTTP; a process that exits at once (most likely
        its port was taken between probing and binding) is tried again on another port."""
        for _attempt in range(3):
            port = free_port()
            with self.log_path.open("ab") as log:
                process = subprocess.Popen(
                    [*server_command(self.server, port, quiet=self.quiet), *self.extra_args],
                    cwd=ROOT,
                    env=self.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            try:
                _wait_until(
                    lambda port=port, process=process: _answers(port) or process.poll() is not None,
                    timeout=STARTUP_TIMEOUT,
                    what=f"{self.server} on port {port}",
                )
            except TimeoutError as error:
                _stop(process)
                raise TimeoutError(f"{error}:\n{self.log()}") from None
            if process.poll() is None:
                self.port, self.process = port, process
                return self
        raise RuntimeError(f"{self.server} did not start:\n{self.log()}")

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process)
            self.process = None

    def log(self) -> str:
        """The end of the server's output."""
        return self.log_path.read_text(errors="replace")[-4000:]


@dataclass
class ServerCluster:
    env: dict[str, str]
    log_dir: Path
    server: str = "uvicorn"
    servers: list[AsgiServer] = field(default_factory=list)
    background: list[subprocess.Popen[Any]] = field(default_factory=list)

    @property
    def processes(self) -> list[subprocess.Popen[Any]]:
        return [server.process for server in self.servers if server.process is not None]

    @property
    def urls(self) -> list[str]:
        return [server.url for server in self.servers]

    @property
    def ws_urls(self) -> list[str]:
        return [server.ws_url for server in self.servers]

    @property
    def origins(self) -> list[str]:
        """The ``Origin`` each server accepts (its own host, which is in ALLOWED_HOSTS)."""
        return self.urls

    def manage(self, *args: str) -> str:
        """Run a management command against the servers' database; returns its stdout."""
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
        )
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr}")
        return result.stdout

    def create_app_key(self, name: str = "test app") -> str:
        return self.manage("inbox_create_app", name).strip().splitlines()[-1]

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')}"
            for path in sorted(self.log_dir.glob("*.log"))
        )

    def _start_one(self, index: int, extra_env: dict[str, str] | None = None) -> None:
        server = AsgiServer(
            env={**self.env, **(extra_env or {})},
            log_path=self.log_dir / f"server-{index}.log",
            extra_args=("--lifespan", "off") if self.server == "uvicorn" else (),
            server=self.server,
            quiet=True,
        )
        self.servers.append(server.start())

    def start_background(self) -> None:
        """The task worker and the outbox relay, as `make run` starts them."""
        self.start_worker()
        self._start_command("relay", ["inbox_relay"])

    def start_worker(self) -> subprocess.Popen[Any]:
        """One more task worker (``manage.py db_worker``) on the cluster's database."""
        return self._start_command(
            "worker", ["db_worker", "--no-reload", "--no-startup-delay", "--interval", "0.1"]
        )

    def _start_command(self, name: str, command: list[str]) -> subprocess.Popen[Any]:
        with (self.log_dir / f"{name}.log").open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, "manage.py", *command],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.background.append(process)
        return process

    def stop(self) -> None:
        for server in self.servers:
            server.stop()
        for process in self.background:
            _stop(process)


def _answers(port: int) -> bool:
    """Whether a server on ``port`` answers HTTP at all (any status: the app is loaded)."""
    try:
        httpx.get(f"http://127.0.0.1:{port}/inbox/v2/conversations", timeout=1.0)
    except httpx.HTTPError:
        return False
    return True


@contextlib.contextmanager
def asgi_servers(
    count: int = 2,
    *,
    redis_url: str | None = None,
    extra_env: dict[str, str] | None = None,
    server: str = "uvicorn",
    server_env: dict[int, dict[str, str]] | None = None,
    background: bool = False,
) -> Iterator[ServerCluster]:
    """Start ``count`` ``server`` processes (uvicorn or daphne) on free loopback ports sharing a
    fresh database and a Redis channel layer (``redis_url``, else ``REDIS_URL``, else the
    machine's Redis); ``server_env[i]`` is added to server ``i``'s environment only (a fault
    hook), and ``background`` starts the task worker and the outbox relay too."""
    with tempfile.TemporaryDirectory(prefix="inbox-servers-") as scratch_name:
        scratch = Path(scratch_name)
        with _server_database(scratch) as database_env:
            env = {
                key: value
                for key, value in os.environ.items()
                if not key.startswith(("PYTEST_", "SQLITE_", "DATABASE_URL"))
            }
            env.update(
                DJANGO_SETTINGS_MODULE="project.settings",
                PYTHONUNBUFFERED="1",
                REDIS_URL=redis_url or os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL,
                CHANNEL_LAYER_PREFIX=f"inbox-test-{uuid.uuid4().hex[:10]}",
                **database_env,
                **(extra_env or {}),
            )
            cluster = ServerCluster(env=env, log_dir=scratch, server=server)
            cluster.manage("migrate", "--noinput")
            try:
                for index in range(count):
                    cluster._start_one(index, (server_env or {}).get(index))
                if background:
                    cluster.start_background()
                yield cluster
            finally:
                cluster.stop()
