"""What every benchmark shares: a throw-away PostgreSQL database, real uvicorn processes on
loopback, a light HTTP/1.1 load generator, statistics and the report appended to
docs/benchmarks.md.

Each script in bench/ is one command (``.venv/bin/python bench/<name>.py``), seeds its own data
in a database it creates and drops, and accepts ``--quick`` (tiny sizes, nothing recorded: what
tests/test_bench_smoke.py runs).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import resource
import secrets
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "bench"
RESULTS = ROOT / "docs" / "benchmarks.md"
PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
HOST = "127.0.0.1"
# Same for every process of one run: the bench process signs cursors and visitor tokens that
# the servers must accept.
RUN_ID = f"{os.getpid()}{secrets.token_hex(3)}"
SECRET_KEY = "bench-" + secrets.token_urlsafe(40)

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


# ---------------------------------------------------------------------------------------------
# Command line, machine, statistics, report


def parser(description: str) -> argparse.ArgumentParser:
    result = argparse.ArgumentParser(description=description)
    result.add_argument(
        "--quick", action="store_true", help="tiny sizes, nothing appended (the smoke test)"
    )
    result.add_argument(
        "--no-record", action="store_true", help="print the table only, do not append it"
    )
    result.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    return result


def load_parser(description: str) -> argparse.ArgumentParser:
    """``parser`` plus the sustained-load options (``--duration``, ``--concurrency``,
    ``--conversations``) that ``load_args`` and ``server_load`` read."""
    result = parser(description)
    result.add_argument("--duration", type=float, default=15.0)
    result.add_argument("--concurrency", type=int, default=50)
    result.add_argument("--conversations", type=int, default=20)
    return result


def load_args(load: argparse.ArgumentParser) -> argparse.Namespace:
    """Parse a ``load_parser``: ``--quick`` shrinks the load, ``args.warmup`` is set and the
    open-files limit raised for the clients."""
    args = load.parse_args()
    if args.quick:
        args.duration, args.concurrency, args.conversations = 1.0, 4, 2
    args.warmup = 0.3 if args.quick else 3.0
    raise_fd_limit(4096)
    return args


def machine() -> str:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem_kib = 0
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    return (
        f"{os.cpu_count()} cores ({model or platform.processor() or 'unknown CPU'}), "
        f"{mem_kib / 1024 / 1024:.1f} GiB RAM, Linux {platform.release()}, "
        f"Python {platform.python_version()}, PostgreSQL {_pg_version()}"
    )


def _pg_version() -> str:
    import psycopg

    with contextlib.suppress(Exception), psycopg.connect(PG_ADMIN_URL, connect_timeout=3) as conn:
        row = conn.execute("SHOW server_version").fetchone()
        return str(row[0]).split()[0] if row else "?"
    return "?"


@dataclass
class Stats:
    n: int
    p50: float
    p99: float
    mean: float
    max: float

    @classmethod
    def of(cls, samples: list[float]) -> Stats:
        if not samples:
            return cls(0, float("nan"), float("nan"), float("nan"), float("nan"))
        ordered = sorted(samples)
        return cls(
            n=len(ordered),
            p50=statistics.median(ordered),
            p99=percentile(ordered, 99),
            mean=statistics.fmean(ordered),
            max=ordered[-1],
        )

    def cells(self) -> tuple[str, str, str, int]:
        """p50, p99 and mean (formatted ms) and n: the usual columns of a latency row."""
        return fmt(self.p50), fmt(self.p99), fmt(self.mean), self.n


def percentile(ordered: list[float], pct: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def ms(seconds: float) -> float:
    return seconds * 1000


def fmt(value: float, digits: int = 2) -> str:
    if value != value:  # NaN
        return "n/a"
    return f"{value:,.{digits}f}"


@dataclass
class Report:
    title: str
    command: str = field(default_factory=lambda: shlex.join([".venv/bin/python", *sys.argv]))
    headers: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    targets: list[tuple[str, bool | None, str]] = field(default_factory=list)

    def row(self, *cells: object) -> None:
        self.rows.append([str(cell) for cell in cells])

    def target(self, name: str, met: bool | None, measured: str) -> None:
        self.targets.append((name, met, measured))

    def markdown(self) -> str:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        lines = [
            f"### {self.title}",
            "",
            f"- date: {stamp}",
            f"- machine: {machine()}",
            f"- command: `{self.command}`",
            "",
            "| " + " | ".join(self.headers) + " |",
            "|" + "|".join("---" for _ in self.headers) + "|",
            *("| " + " | ".join(row) + " |" for row in self.rows),
        ]
        if self.targets:
            lines += ["", "| target | measured | met |", "|---|---|---|"]
            for name, met, measured in self.targets:
                verdict = "n/a" if met is None else ("yes" if met else "**no**")
                lines.append(f"| {name} | {measured} | {verdict} |")
        if self.notes:
            lines += ["", *(f"- {note}" for note in self.notes)]
        return "\n".join(lines) + "\n"

    def emit(self, args: argparse.Namespace) -> None:
        text = self.markdown()
        print(text, flush=True)
        if args.quick or args.no_record:
            return
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        if not RESULTS.exists():
            RESULTS.write_text("# Benchmarks\n\nAppended by the scripts in bench/.\n")
        with RESULTS.open("a") as handle:
            handle.write("\n" + text)
        print(f"appended to {RESULTS.relative_to(ROOT)}", flush=True)


# ---------------------------------------------------------------------------------------------
# Resources


def raise_fd_limit(wanted: int) -> int:
    """Raise the soft open-files limit (inherited by the servers we start) towards ``wanted``."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def rss_kib(pid: int) -> int:
    """Resident set size (VmRSS) of one process, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def children(pid: int) -> list[int]:
    result: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            text = (task / "children").read_text().split()
            result += [int(child) for child in text]
    return result


# ---------------------------------------------------------------------------------------------
# Database


class BenchDatabase:
    """A PostgreSQL database made for one run, migrated, and dropped at the end."""

    def __init__(self, tag: str) -> None:
        self.name = f"inbox_bench_{tag}_{RUN_ID}"
        base = PG_ADMIN_URL.rsplit("/", 1)[0]
        self.url = f"{base}/{self.name}"

    def __enter__(self) -> BenchDatabase:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')
        try:
            subprocess.run(
                [sys.executable, "manage.py", "migrate", "--noinput", "--verbosity", "0"],
                cwd=ROOT,
                env=server_env(self.url),
                check=True,
            )
        except BaseException:
            self.drop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.drop()

    def drop(self) -> None:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def connect(self) -> Any:
        import psycopg

        return psycopg.connect(self.url, autocommit=True)


def server_env(database_url: str, **extra: str) -> dict[str, str]:
    """The scaled profile's environment (PostgreSQL + Redis, DEBUG off) for one bench run."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=REDIS_URL,
        CHANNEL_LAYER_PREFIX=f"bench{RUN_ID}",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=SECRET_KEY,
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DJANGO_SETTINGS_MODULE="bench.settings",
        INBOX_LOG_LEVEL="WARNING",
        PYTHONPATH=f"{ROOT}{os.pathsep}{env.get('PYTHONPATH', '')}".rstrip(os.pathsep),
    )
    env.update(extra)
    return env


def setup_django(database_url: str, settings_module: str = "bench.settings") -> None:
    """Configure Django in the bench process itself (seeding, signing cursors and tokens)."""
    os.environ.update(server_env(database_url, DJANGO_SETTINGS_MODULE=settings_module))
    import django

    django.setup()


@contextlib.contextmanager
def django_database(tag: str) -> Iterator[BenchDatabase]:
    """A ``BenchDatabase`` with Django set up on it in this process; the process's
    connections are closed before the database is dropped."""
    with BenchDatabase(tag) as db:
        setup_django(db.url)
        try:
            yield db
        finally:
            close_django_connections()


# ---------------------------------------------------------------------------------------------
# Servers


class Server:
    """``uvicorn <app> --workers N`` on a free loopback port, with the scaled profile's flags."""

    def __init__(
        self,
        app: str,
        *,
        env: dict[str, str],
        workers: int = 1,
        name: str = "server",
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.env = env
        self.workers = workers
        self.name = name
        self.extra_args = extra_args
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = Path(f"/tmp/inbox-bench-{RUN_ID}-{name}-{self.port}.log")

    @property
    def origin(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self, timeout: float = 120) -> Server:
        from project.serve import uvicorn_profile_command

        command = [
            *uvicorn_profile_command(self.app, workers=self.workers, host=HOST, port=self.port),
            "--log-level",
            "warning",
            "--backlog",
            "4096",
            *self.extra_args,
        ]
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.log_path.read_text()[-3000:]}")
            if self._answers() and (self.workers == 1 or len(self.worker_pids()) >= self.workers):
                # Every worker must have imported the app before we measure anything.
                time.sleep(0.5 if self.workers > 1 else 0)
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} did not start in {timeout}s")

    def _answers(self) -> bool:
        try:
            with socket.create_connection((HOST, self.port), timeout=1) as sock:
                sock.sendall(b"GET /__bench_ping HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                return sock.recv(12).startswith(b"HTTP/1.1")
        except OSError:
            return False

    def worker_pids(self) -> list[int]:
        assert self.process is not None
        if self.workers == 1:
            return [self.process.pid]
        return children(self.process.pid)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ---------------------------------------------------------------------------------------------
# HTTP/1.1 client: raw asyncio streams, keep-alive, a few microseconds per request, so the load
# generator takes little of the CPU the servers need.


class HTTPConnection:
    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> HTTPConnection:
        self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
        return self

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()

    async def send_raw(self, request: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            await self.open()
        assert self.reader is not None and self.writer is not None
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                key, value = line.split(":", 1)
                headers[key.strip().lower()] = value.strip()
        if "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
                chunk = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                chunks.append(chunk[:-2])
            body = b"".join(chunks)
        else:
            body = b""
        if headers.get("connection", "").lower() == "close":
            await self.close()
            self.writer = None
        return status, body


def build_request(
    method: str, path: str, *, body: Any = None, headers: dict[str, str] | None = None
) -> bytes:
    payload = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    for key, value in (headers or {}).items():
        lines.append(f"{key}: {value}")
    if body is not None:
        lines.append("Content-Type: application/json")
    lines.append(f"Content-Length: {len(payload)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


async def request_json(port: int, request: bytes) -> tuple[int, Any]:
    connection = await HTTPConnection(port).open()
    try:
        status, body = await connection.send_raw(request)
    finally:
        await connection.close()
    return status, json.loads(body) if body else None


@dataclass
class LoadResult:
    completed: int
    errors: int
    seconds: float
    latencies: list[float]
    statuses: dict[int, int]
    # CPU seconds the server processes used inside the measured window (if their pids were given).
    server_cpu: float = float("nan")

    @property
    def rate(self) -> float:
        return self.completed / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms_per_request(self) -> float:
        return ms(self.server_cpu) / self.completed if self.completed else float("nan")


async def run_load(
    port: int,
    requests: list[bytes],
    *,
    concurrency: int,
    duration: float,
    warmup: float,
    expect: int = 200,
    server_pids: list[int] | None = None,
) -> LoadResult:
    """``concurrency`` keep-alive clients, client ``i`` sending ``requests[i % len]`` back to
    back for ``warmup + duration`` seconds; counts and latencies only inside ``duration``, and
    the CPU time ``server_pids`` used in it."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    counters = {"completed": 0, "errors": 0}
    start = time.perf_counter()
    measure_from = start + warmup
    stop_at = measure_from + duration

    async def client(index: int) -> None:
        request = requests[index % len(requests)]
        connection = await HTTPConnection(port).open()
        try:
            while True:
                sent = time.perf_counter()
                if sent >= stop_at:
                    return
                status, _ = await connection.send_raw(request)
                done = time.perf_counter()
                if sent >= measure_from and done <= stop_at:
                    statuses[status] = statuses.get(status, 0) + 1
                    if status == expect:
                        counters["completed"] += 1
                        latencies.append(done - sent)
                    else:
                        counters["errors"] += 1
        finally:
            await connection.close()

    cpu = {"start": 0.0, "end": 0.0}

    async def sample_cpu() -> None:
        await asyncio.sleep(max(0.0, measure_from - time.perf_counter()))
        cpu["start"] = cpu_seconds(server_pids or [])
        await asyncio.sleep(max(0.0, stop_at - time.perf_counter()))
        cpu["end"] = cpu_seconds(server_pids or [])

    await asyncio.wait_for(
        asyncio.gather(sample_cpu(), *(client(i) for i in range(concurrency))),
        timeout=warmup + duration + 60,
    )
    return LoadResult(
        server_cpu=cpu["end"] - cpu["start"] if server_pids else float("nan"),
        completed=counters["completed"],
        errors=counters["errors"],
        seconds=duration,
        latencies=latencies,
        statuses=statuses,
    )


def server_load(
    server: Server, requests: list[bytes], args: argparse.Namespace, *, expect: int = 200
) -> LoadResult:
    """``run_load`` against ``server`` with the ``load_args`` settings, counting the CPU time
    of its workers; ``expect`` is the status a completed request answers."""
    result: LoadResult = asyncio_run(
        run_load(
            server.port,
            requests,
            expect=expect,
            concurrency=args.concurrency,
            duration=args.duration,
            warmup=args.warmup,
            server_pids=server.worker_pids(),
        )
    )
    return result


def run(main: Callable[[], Awaitable[None]]) -> None:
    """Run the bench's coroutine on uvloop (as the servers do)."""
    import uvloop

    uvloop.run(main())


# ---------------------------------------------------------------------------------------------
# Data


API = "/inbox/v2"


def text_message(text: str, *, visibility: str = "BUSINESS_AND_PARTICIPANT") -> dict[str, Any]:
    return {
        "direction": "BUSINESS_TO_PARTICIPANT",
        "visibility": visibility,
        "content": {"basic": {"items": [{"text": text}]}},
    }


def send_request(api_key: str, conversation_id: object, text: str = "bench") -> bytes:
    return build_request(
        "POST",
        f"{API}/messages",
        body={"conversationId": str(conversation_id), "message": text_message(text)},
        headers={"Authorization": api_key},
    )


CONVENTIONAL = "/bench/conventional/messages"


def conventional_send_request(token: str, conversation_id: object, text: str = "bench") -> bytes:
    """The same send through the conventional stack (bench/conventional.py)."""
    return build_request(
        "POST",
        CONVENTIONAL,
        body={
            "conversation": str(conversation_id),
            "direction": "BUSINESS_TO_PARTICIPANT",
            "visibility": "BUSINESS_AND_PARTICIPANT",
            "content_type": "BASIC",
            "content": {"basic": {"items": [{"text": text}]}},
            "preview_text": text[:256],
        },
        headers={"Authorization": f"Token {token}"},
    )


def conventional_list_request(token: str, conversation_id: object, cursor: str = "") -> bytes:
    """A page of the conventional stack's message list (``cursor``: DRF's, or the first page)."""
    query = f"conversation={conversation_id}" + (f"&cursor={cursor}" if cursor else "")
    return build_request(
        "GET", f"{CONVENTIONAL}?{query}", headers={"Authorization": f"Token {token}"}
    )


def create_conventional_token() -> str:
    from bench.conventional import create_token

    return create_token()


async def open_conventional_stream(port: int, conversation_id: object, token: str) -> Any:
    """A socket on the conventional stack's consumer for one conversation."""
    from websockets.asyncio.client import connect

    return await connect(
        f"ws://{HOST}:{port}/bench/conventional/ws/{conversation_id}/?token={token}",
        origin=f"http://{HOST}:{port}",  # type: ignore[arg-type]
        compression=None,
        ping_interval=None,
        open_timeout=30,
        max_queue=None,
    )


def create_app_key() -> str:
    """An API app in the bench database (Django must be set up); returns its raw key."""
    from inbox import services

    _, raw_key = services.app_create(name=f"bench {uuid.uuid4().hex[:6]}")
    return raw_key


def create_conversations(count: int) -> list[uuid.UUID]:
    from inbox import services
    from inbox.models import Participant

    ids = []
    for _ in range(count):
        conversation, _ = services.conversation_get_or_create(
            kind=Participant.Kind.CONTACT, external_id=uuid.uuid4()
        )
        ids.append(conversation.pk)
    return ids


def close_django_connections() -> None:
    """Return the bench process's pooled connections before the database is dropped."""
    from django.db import connections

    for connection in connections.all():
        connection.close()
        pool = getattr(connection, "pool", None)
        if pool is not None:
            with contextlib.suppress(Exception):
                connection.close_pool()


@contextlib.contextmanager
def step(label: str) -> Iterator[None]:
    started = time.perf_counter()
    print(f"- {label} ...", end="", flush=True)
    yield
    print(f" {time.perf_counter() - started:.1f}s", flush=True)


def asyncio_run(coroutine: Awaitable[Any]) -> Any:
    """Run one coroutine to completion on uvloop, as the servers do."""
    import uvloop

    async def wrapper() -> Any:
        return await coroutine

    return uvloop.run(wrapper())


def insert_series(
    model: Any, count: int, computed: dict[str, str], *, start: int = 0, **constant: Any
) -> None:
    """Insert ``count`` rows of ``model`` with one ``INSERT ... SELECT FROM generate_series``.

    The series runs over ``start + 1 .. start + count`` (so a data set can grow in steps).

    ``computed`` maps field names to SQL expressions of the series variable ``i``;
    every other concrete field takes the value of an unsaved ``model(**constant)`` (its
    defaults, ``auto_now_add`` included), so fields added later need no change here. The
    auto-increment primary key is left to the database.
    """
    from django.db import connection

    template = model(**constant)
    columns: list[str] = []
    expressions: list[str] = []
    params: list[Any] = []
    for field_ in model._meta.concrete_fields:
        if field_.primary_key and field_.get_internal_type() in {"AutoField", "BigAutoField"}:
            continue
        columns.append(connection.ops.quote_name(field_.column))
        expression = computed.get(field_.name, computed.get(field_.attname))
        if expression is not None:
            expressions.append(f"({expression})")
            continue
        value = field_.pre_save(template, add=True)
        expressions.append(f"%s::{field_.db_type(connection)}")
        params.append(field_.get_db_prep_save(value, connection))
    sql = (
        f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({', '.join(columns)}) "
        f"SELECT {', '.join(expressions)} FROM generate_series(%s, %s) AS i"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, start + 1, start + count])


def analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


# ---------------------------------------------------------------------------------------------
# WebSockets


# Sockets the server refused with 4013 (try again later: a channel-layer call over its time
# bound, which a saturated machine produces during thousands of handshakes), or whose handshake
# timed out, and that were opened again, as the browser clients do after a back-off.
refused_and_retried = 0


async def open_stream(
    port: int, path: str, token: str, *, resume: dict[str, Any] | None = None
) -> Any:
    """A socket on one of the app's streams, resumed with no replay and live (``ready`` seen);
    a 4013 refusal or a handshake timeout is retried after a back-off (up to 10 times), as the
    app's clients do."""
    global refused_and_retried
    from websockets.exceptions import ConnectionClosedError

    for attempt in range(10):
        try:
            return await _open_stream_once(port, path, token, resume)
        except (ConnectionClosedError, TimeoutError) as error:
            refused = isinstance(error, TimeoutError) or (
                error.rcvd is not None and error.rcvd.code == 4013
            )
            if not refused or attempt == 9:
                raise
            refused_and_retried += 1
            await asyncio.sleep(0.2 * (attempt + 1))
    raise AssertionError("unreachable")


async def _open_stream_once(port: int, path: str, token: str, resume: dict[str, Any] | None) -> Any:
    from urllib.parse import quote

    from websockets.asyncio.client import connect

    socket_ = await connect(
        f"ws://{HOST}:{port}{path}?token={quote(token)}",
        origin=f"http://{HOST}:{port}",  # type: ignore[arg-type]
        compression=None,
        ping_interval=None,
        open_timeout=30,
        max_queue=None,
    )
    greeting = json.loads(await asyncio.wait_for(socket_.recv(), 30))
    if greeting.get("type") != "hello":
        raise RuntimeError(f"expected the server's greeting first: {greeting}")
    await socket_.send(json.dumps(resume or {"type": "resume"}))
    while True:
        frame = json.loads(await asyncio.wait_for(socket_.recv(), 30))
        if frame.get("type") == "ready":
            return socket_
        if frame.get("type") != "event":
            raise RuntimeError(f"unexpected frame before ready: {frame}")


async def open_many(
    count: int, opener: Callable[[int], Awaitable[Any]], parallel: int = 100
) -> list[Any]:
    """``count`` sockets, at most ``parallel`` handshakes at a time."""
    gate = asyncio.Semaphore(parallel)

    async def one(index: int) -> Any:
        async with gate:
            return await opener(index)

    return list(await asyncio.gather(*(one(index) for index in range(count))))


async def close_all(sockets: list[Any]) -> None:
    async def close(socket_: Any) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(socket_.close(), 5)

    for start in range(0, len(sockets), 500):
        await asyncio.gather(*(close(s) for s in sockets[start : start + 500]))


def visitor_token(visitor_id: uuid.UUID) -> str:
    from inbox.identity import visitor_token_issue

    return visitor_token_issue(visitor_id)


def visitor_conversation() -> tuple[uuid.UUID, str]:
    """A visitor's conversation and the visitor's token (for the participant stream)."""
    from inbox import services
    from inbox.models import Participant

    visitor_id = uuid.uuid4()
    conversation, _ = services.conversation_get_or_create(
        kind=Participant.Kind.ANONYMOUS_VISITOR, external_id=visitor_id
    )
    return conversation.pk, visitor_token(visitor_id)


BUSINESS_STREAM = "/ws/inbox/business/"
PARTICIPANT_STREAM = "/ws/inbox/participant/"


# ---------------------------------------------------------------------------------------------
# Sequential timings and the floors measured in the bench process


def timed(count: int, operation: Callable[[], object], *, warmup: int | None = None) -> list[float]:
    """ms of each of ``count`` calls of ``operation``, after ``warmup`` untimed calls (by
    default a tenth of ``count``)."""
    for _ in range(count // 10 if warmup is None else warmup):
        operation()
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        operation()
        samples.append(ms(time.perf_counter() - started))
    return samples


async def timed_async(count: int, operation: Callable[[], Awaitable[object]]) -> list[float]:
    """``timed`` for a coroutine function: ms of each of ``count`` awaited calls after a tenth
    of ``count`` untimed ones."""
    for _ in range(count // 10):
        await operation()
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        await operation()
        samples.append(ms(time.perf_counter() - started))
    return samples


async def sequential_latencies(port: int, request: bytes, count: int) -> list[float]:
    """``request`` sent ``count`` times one after the other on one keep-alive connection, each
    answered 200; ms per request."""
    connection = await HTTPConnection(port).open()

    async def one() -> None:
        status, body = await connection.send_raw(request)
        if status != 200:
            raise RuntimeError(f"{status}: {body[:300]!r}")

    try:
        return await timed_async(count, one)
    finally:
        await connection.close()


def sql_latencies(
    db: BenchDatabase, query: str, params: list[Any], count: int, *, rows: int
) -> list[float]:
    """``query`` run and fetched ``count`` times over one psycopg connection, each returning
    ``rows`` rows; ms per query."""
    with db.connect() as conn:

        def one() -> None:
            fetched = conn.execute(query, params).fetchall()
            assert len(fetched) == rows, (len(fetched), rows)

        return timed(count, one)


def pg_commit_latencies(db: BenchDatabase, count: int) -> list[float]:
    """One INSERT + COMMIT (autocommit) into a scratch table, in ms."""
    with db.connect() as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_floor (id bigserial PRIMARY KEY, body text)")
        return timed(
            count, lambda: conn.execute("INSERT INTO bench_floor (body) VALUES (%s)", ["x" * 200])
        )


async def redis_roundtrip_latencies(count: int) -> list[float]:
    """One PUBLISH until a subscriber (another connection) has the message, in ms."""
    import redis.asyncio as redis

    channel = f"bench-floor-{RUN_ID}"
    publisher = redis.from_url(REDIS_URL)
    subscriber = redis.from_url(REDIS_URL)
    pubsub = subscriber.pubsub()
    await pubsub.subscribe(channel)
    await pubsub.get_message(timeout=1)  # the subscribe confirmation

    async def one() -> None:
        await publisher.publish(channel, b"x" * 600)
        while True:
            message = await pubsub.get_message(timeout=5)
            if message and message["type"] == "message":
                return

    try:
        return await timed_async(count, one)
    finally:
        await pubsub.unsubscribe(channel)
        await pubsub.aclose()
        await publisher.aclose()
        await subscriber.aclose()


async def hello_latencies(port: int, count: int) -> list[float]:
    """The ASGI hello world (bench/floor_app.py) on ``port``, ms per sequential request."""
    return await sequential_latencies(port, build_request("GET", "/"), count)


# ---------------------------------------------------------------------------------------------
# Background load in its own process (so it does not share the measuring event loop)


def start_background_load(
    targets: list[tuple[int, list[bytes]]], *, concurrency: int, duration: float
) -> subprocess.Popen[bytes]:
    """``concurrency`` clients spread over ``targets`` ((port, requests) pairs), in a child
    process running ``python bench/harness.py load``; stop it with ``stop_background_load``."""
    spec = {
        "targets": [[port, [r.decode("latin1") for r in requests]] for port, requests in targets],
        "concurrency": concurrency,
        "duration": duration,
    }
    path = Path(f"/tmp/inbox-bench-{RUN_ID}-load.json")
    path.write_text(json.dumps(spec))
    return subprocess.Popen(
        [sys.executable, str(BENCH_DIR / "harness.py"), "load", str(path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
    )


def stop_background_load(process: subprocess.Popen[bytes]) -> dict[str, Any]:
    process.send_signal(signal.SIGINT)
    try:
        out, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        out, _ = process.communicate()
    lines = out.decode().strip().splitlines()
    return json.loads(lines[-1]) if lines else {}


def _load_main(spec_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    targets = [(port, [r.encode("latin1") for r in requests]) for port, requests in spec["targets"]]
    per_target = max(1, spec["concurrency"] // len(targets))
    started = time.perf_counter()
    stop = asyncio.Event()
    totals = {"completed": 0, "errors": 0}

    async def client(port: int, request: bytes) -> None:
        connection = await HTTPConnection(port).open()
        try:
            while not stop.is_set():
                status, _ = await connection.send_raw(request)
                totals["completed" if status == 200 else "errors"] += 1
        finally:
            await connection.close()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGINT, stop.set)
        loop.call_later(spec["duration"], stop.set)
        await asyncio.gather(
            *(
                client(port, requests[index % len(requests)])
                for port, requests in targets
                for index in range(per_target)
            ),
            return_exceptions=True,
        )

    asyncio_run(main())
    elapsed = time.perf_counter() - started
    print(json.dumps({**totals, "seconds": elapsed, "rate": totals["completed"] / elapsed}))


if __name__ == "__main__" and len(sys.argv) == 3 and sys.argv[1] == "load":
    _load_main(sys.argv[2])


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time consumed so far by ``pids`` (from /proc/<pid>/stat)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks
