"""`make serve`: the scaled profile (PostgreSQL + Redis + several uvicorn workers on one port).

    python -m project.serve [--workers N] [--host H] [--port P] [--no-prepare]

Fills in the environment the profile needs (see docs/deployment.md), creates the PostgreSQL
database if it does not exist, migrates, collects static files (served by whitenoise), runs
``manage.py check --deploy`` and then runs ``uvicorn --workers N`` with the background processes
beside it (``manage.py db_worker``, the task worker, and ``manage.py inbox_relay``, the outbox
relay); when any of them exits, the others are stopped too.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY_FILE = BASE_DIR / ".secret_key"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/inbox"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def persistent_secret_key(path: Path = SECRET_KEY_FILE) -> str:
    """The key in ``path``, generated (mode 600) on first use so sessions survive restarts."""
    if path.exists():
        key = path.read_text().strip()
        if key:
            return key
    key = secrets.token_urlsafe(50)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key


def profile_environment(environ: dict[str, str]) -> dict[str, str]:
    """``environ`` completed with the scaled profile's defaults; explicit values win."""
    env = dict(environ)
    env.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    env.setdefault("REDIS_URL", DEFAULT_REDIS_URL)
    env["DJANGO_DEBUG"] = "0"
    env.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    if not env.get("DJANGO_SECRET_KEY"):
        env["DJANGO_SECRET_KEY"] = persistent_secret_key()
    return env


def ensure_postgres_database(url: str) -> None:
    """``CREATE DATABASE`` for a postgres:// URL whose database does not exist yet."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql", "pgsql"}:
        return
    name = parts.path.lstrip("/")
    maintenance = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if exists is None:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"serve: created database {name!r}", flush=True)


def uvicorn_profile_command(app: str, *, workers: int, host: str, port: int) -> list[str]:
    """``uvicorn <app>`` with the scaled profile's event loop, HTTP and WebSocket
    implementations and no access log (bench/harness.py starts its servers with it too)."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--ws",
        "websockets-sansio",
        "--no-access-log",
    ]


def uvicorn_command(*, workers: int, host: str, port: int) -> list[str]:
    command = uvicorn_profile_command(
        "project.asgi:application", workers=workers, host=host, port=port
    )
    command += ["--timeout-graceful-shutdown", "10"]
    forwarded = os.environ.get("FORWARDED_ALLOW_IPS")
    if forwarded:
        # Behind the reverse proxy: trust its X-Forwarded-For/-Proto (docs/deployment.md).
        command += ["--proxy-headers", "--forwarded-allow-ips", forwarded]
    return command


def background_commands() -> list[list[str]]:
    """The processes that run beside the web server: the task worker and the outbox relay."""
    manage = [sys.executable, "manage.py"]
    return [manage + ["db_worker", "--no-reload"], manage + ["inbox_relay"]]


def supervise(commands: list[list[str]], env: dict[str, str]) -> int:
    """Run ``commands`` side by side until one exits or a SIGTERM/SIGINT arrives, then stop
    them all; returns the exit status of the first to exit (0 when stopped by a signal)."""
    processes = [subprocess.Popen(command, env=env) for command in commands]
    stopping: list[int] = []

    def stop(signum: int, frame: object) -> None:
        stopping.append(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    status = 0
    while not stopping:
        exited = [process for process in processes if process.poll() is not None]
        if exited:
            status = exited[0].returncode
            break
        time.sleep(0.2)
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return status


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", 2)))
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8000)))
    parser.add_argument(
        "--no-prepare", action="store_true", help="skip createdb/migrate/collectstatic/check"
    )
    args = parser.parse_args(argv)
    env = profile_environment(dict(os.environ))
    os.environ.update(env)
    os.chdir(BASE_DIR)
    if not args.no_prepare:
        ensure_postgres_database(env["DATABASE_URL"])
        manage = [sys.executable, "manage.py"]
        for command in (
            ["migrate", "--noinput"],
            ["collectstatic", "--noinput", "--verbosity", "0"],
            ["check", "--deploy", "--fail-level", "ERROR"],
        ):
            subprocess.run(manage + command, check=True, env=env)
    command = uvicorn_command(workers=args.workers, host=args.host, port=args.port)
    print(
        f"serve: {args.workers} uvicorn workers on http://{args.host}:{args.port}/ "
        f"(DEBUG off, {urlsplit(env['DATABASE_URL']).scheme}, Redis channel layer), "
        "with db_worker and inbox_relay beside them",
        flush=True,
    )
    command[0] = shutil.which(command[0]) or command[0]
    sys.exit(supervise([command, *background_commands()], env))


if __name__ == "__main__":
    main()
