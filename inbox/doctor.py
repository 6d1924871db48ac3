"""The installation checks behind ``python manage.py inbox_doctor``.

Every check runs against the real thing (the configured database, channel layer, Redis and ASGI
application) and returns ``Result``s: ``OK``/``WARN``/``FAIL``/``SKIP`` with what to fix.
``manage.py check`` (``inbox/checks.py``) says what the settings *look like*; the doctor says
whether they *work*: it applies no fix and writes nothing but a probe message. ``run_checks``
runs them all in order, as ``django.core.checks.run_checks`` does for system checks; the
management command only parses its flags and prints.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from asgiref.sync import async_to_sync
from django.conf import settings
from django.core import checks as django_checks
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.urls import NoReverseMatch, get_resolver, reverse
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tasks import TaskResultStatus, task_backends

from inbox.checks import REQUIRED_APPS
from inbox.conf import inbox_settings
from inbox.outbox.models import OutboxEvent
from inbox.realtime import routing
from inbox.realtime.groups import doctor_group
from inbox.realtime.layers import bounded, is_in_process
from inbox.realtime.protocol import CLOSE_TRY_AGAIN_LATER, CLOSE_UNAUTHENTICATED
from inbox.tasks import doctor_probe
from inbox.webhooks.models import WebhookDelivery

OK, WARN, FAIL, SKIP = "OK", "WARN", "FAIL", "SKIP"

REQUIRED_MIDDLEWARE = {
    "django.contrib.sessions.middleware.SessionMiddleware": (
        "staff and member sessions (the staff inbox page, the member widget, REST session auth)"
    ),
    "django.contrib.auth.middleware.AuthenticationMiddleware": "request.user for session callers",
}
# The routes of inbox.realtime.routing the site's ASGI application must serve.
WEBSOCKET_CONSUMERS = {"business", "participant"}
# A clock further than this from the database's is a failure: sequences are this machine's
# microsecond clock, and the business stream's resume window assumes the workers agree.
DEFAULT_MAX_SKEW_SECONDS = 1.0
PROBE_ENV = "INBOX_DOCTOR_LAYER"
PROBE_TIMEOUT_SECONDS = 15.0
# How long a probe message or a handshake answer may take to come back within this process.
ANSWER_TIMEOUT_SECONDS = 5.0
# How long a worker may take to run the probe task (db_worker polls every second by default).
WORKER_TIMEOUT_SECONDS = 5.0
# Outbox rows not dispatched to webhooks after this long mean no relay is running.
RELAY_STALE_SECONDS = 30.0
# Webhook attempts due longer ago than this mean the workers are not keeping up.
WEBHOOK_LATE_SECONDS = 60.0


@dataclass
class Result:
    name: str
    status: str
    detail: str
    fix: str = ""
    notes: list[str] = field(default_factory=list)


def run_checks(
    *, database: str = DEFAULT_DB_ALIAS, max_skew: float = DEFAULT_MAX_SKEW_SECONDS
) -> list[Result]:
    """Every check in order. A check that raises is a failed check; the checks that read the
    database are skipped when the database check failed."""
    checks: list[tuple[Callable[..., Result | list[Result]], tuple[Any, ...]]] = [
        (check_apps, ()),
        (check_middleware, ()),
        (check_system_checks, ()),
        (check_urls, ()),
        (check_database, (database,)),
        (check_migrations, (database,)),
        (check_clock_skew, (database, max_skew)),
        (check_asgi, ()),
        (check_channel_layer, ()),
        (check_redis, ()),
        (check_background, ()),
    ]
    results: list[Result] = []
    database_down = migrations_pending = False
    for check, arguments in checks:
        name = check.__name__.removeprefix("check_")
        if database_down and check in (check_migrations, check_clock_skew, check_background):
            results.append(
                Result(name.replace("_", " "), SKIP, "not checked: the database is unreachable")
            )
            continue
        if migrations_pending and check is check_background:
            results.append(Result(name, SKIP, "not checked: migrations are not applied"))
            continue
        try:
            outcome = check(*arguments)
        except Exception as error:  # noqa: BLE001 - a crashing check is a failed check
            outcome = Result(name, FAIL, f"the check itself failed: {error!r}")
        else:
            if check is check_database and isinstance(outcome, Result):
                database_down = outcome.status == FAIL
            if check is check_migrations and isinstance(outcome, Result):
                migrations_pending = outcome.status == FAIL
        results.extend(outcome if isinstance(outcome, list) else [outcome])
    return results


# ---------------------------------------------------------------------------------------------
# Configuration


def check_apps() -> Result:
    from django.apps import apps

    missing = [app for app in (*REQUIRED_APPS, "inbox") if not apps.is_installed(app)]
    if missing:
        return Result(
            "apps",
            FAIL,
            "missing from INSTALLED_APPS: " + ", ".join(missing),
            fix="Add " + ", ".join(repr(app) for app in missing) + " to INSTALLED_APPS.",
        )
    return Result("apps", OK, "rest_framework, channels, auth, contenttypes, sessions, inbox")


def check_middleware() -> Result:
    configured = list(getattr(settings, "MIDDLEWARE", []) or [])
    classes = []
    for dotted in configured:
        try:
            classes.append(import_string(dotted))
        except ImportError:
            return Result(
                "middleware",
                FAIL,
                f"{dotted!r} in MIDDLEWARE cannot be imported",
                fix=f"Fix or remove {dotted!r}.",
            )
    missing = []
    for dotted, purpose in REQUIRED_MIDDLEWARE.items():
        wanted = import_string(dotted)
        if not any(isinstance(cls, type) and issubclass(cls, wanted) for cls in classes):
            missing.append((dotted, purpose))
    if missing:
        return Result(
            "middleware",
            FAIL,
            "; ".join(f"{dotted} is missing (needed for {purpose})" for dotted, purpose in missing),
            fix="Add "
            + ", ".join(dotted for dotted, _ in missing)
            + " to MIDDLEWARE (sessions before authentication).",
        )
    session = configured.index(next(iter(REQUIRED_MIDDLEWARE)))
    auth = configured.index(list(REQUIRED_MIDDLEWARE)[1])
    if session > auth:
        return Result(
            "middleware",
            FAIL,
            "AuthenticationMiddleware runs before SessionMiddleware",
            fix="Put SessionMiddleware before AuthenticationMiddleware in MIDDLEWARE.",
        )
    return Result("middleware", OK, "sessions and authentication in order")


def check_system_checks() -> Result:
    messages = django_checks.run_checks(include_deployment_checks=False)
    errors = [message for message in messages if message.is_serious()]
    inbox_warnings = [
        message
        for message in messages
        if not message.is_serious() and str(message.id or "").startswith("inbox.")
    ]
    if errors:
        return Result(
            "system checks",
            FAIL,
            f"{len(errors)} error(s) from `manage.py check`",
            fix="Run `python manage.py check` and fix what it lists.",
            notes=[f"{message.id}: {message.msg}" for message in errors],
        )
    if inbox_warnings:
        return Result(
            "system checks",
            WARN,
            f"{len(inbox_warnings)} inbox warning(s)",
            fix="See the hints: " + " ".join(str(message.hint) for message in inbox_warnings),
            notes=[f"{message.id}: {message.msg}" for message in inbox_warnings],
        )
    return Result("system checks", OK, "`manage.py check` reports no errors")


def check_urls() -> Result:
    namespaces = get_resolver().app_dict.get("inbox", [])
    mounted = []
    for namespace in namespaces:
        try:
            mounted.append(reverse(f"{namespace}:message-list"))
        except NoReverseMatch:
            continue
    if not mounted:
        return Result(
            "rest urls",
            FAIL,
            "inbox.urls is not included in ROOT_URLCONF",
            fix='Add path("inbox/", include("inbox.urls", namespace="inbox")) to your urls.py.',
        )
    return Result("rest urls", OK, "messages endpoint at " + ", ".join(mounted))


# ---------------------------------------------------------------------------------------------
# Database


def check_database(alias: str) -> Result:
    connection = connections[alias]
    started = time.monotonic()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:  # noqa: BLE001 - any driver error means unreachable
        return Result(
            "database",
            FAIL,
            f"{connection.vendor} at {_db_location(connection)} is unreachable: {error}".strip(),
            fix="Start the database server or fix DATABASES (DATABASE_URL in the demo project).",
        )
    elapsed = (time.monotonic() - started) * 1000
    return Result(
        "database", OK, f"{connection.vendor} at {_db_location(connection)} ({elapsed:.0f} ms)"
    )


def _db_location(connection: Any) -> str:
    params = connection.settings_dict
    if connection.vendor == "sqlite":
        return str(params.get("NAME"))
    return f"{params.get('HOST') or 'localhost'}:{params.get('PORT') or 'default port'}"


def check_migrations(alias: str) -> Result:
    connection = connections[alias]
    try:
        executor = MigrationExecutor(connection)
        graph, applied = executor.loader.graph, executor.loader.applied_migrations
        # Every migration the leaves depend on, applied or not (a migration recorded as
        # unapplied below an applied one counts too, as in `showmigrations`).
        plan = [
            (graph.nodes[key], False)
            for key in dict.fromkeys(
                key for leaf in graph.leaf_nodes() for key in graph.forwards_plan(leaf)
            )
            if key not in applied
        ]
    except Exception as error:  # noqa: BLE001
        return Result(
            "migrations",
            FAIL,
            f"cannot read the migration state: {error}",
            fix="Make the database reachable, then run `python manage.py migrate`.",
        )
    if plan:
        pending = [f"{migration.app_label}.{migration.name}" for migration, _ in plan]
        return Result(
            "migrations",
            FAIL,
            f"{len(pending)} not applied: "
            + ", ".join(pending[:8])
            + (" …" if len(pending) > 8 else ""),
            fix="Run `python manage.py migrate`.",
        )
    return Result("migrations", OK, "all applied")


def _database_now(connection: Any) -> datetime | None:
    queries = {
        "postgresql": "SELECT clock_timestamp()",
        "sqlite": "SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')",
        "mysql": "SELECT UTC_TIMESTAMP(6)",
    }
    sql = queries.get(connection.vendor)
    if sql is None:
        return None
    with connection.cursor() as cursor:
        cursor.execute(sql)
        (value,) = cursor.fetchone()
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def check_clock_skew(alias: str, max_skew: float) -> Result:
    connection = connections[alias]
    try:
        samples = []
        for _ in range(3):
            before = time.time()
            server = _database_now(connection)
            after = time.time()
            if server is None:
                return Result(
                    "clock skew",
                    WARN,
                    f"cannot read the clock of a {connection.vendor} server",
                    fix="Keep every machine on NTP.",
                )
            # The server read its clock somewhere between before and after: use the midpoint
            # and keep the sample with the shortest round trip.
            samples.append((after - before, server.timestamp() - (before + after) / 2))
    except Exception as error:  # noqa: BLE001
        return Result("clock skew", FAIL, f"cannot read the database clock: {error}")
    round_trip, skew = min(samples)
    detail = f"{skew * 1000:+.1f} ms against the database server (±{round_trip * 500:.1f} ms)"
    if abs(skew) - round_trip / 2 > max_skew:
        return Result(
            "clock skew",
            FAIL,
            detail + f", more than {max_skew} s",
            fix="Synchronise this machine's clock (NTP, e.g. `timedatectl set-ntp true` or chrony): "
            "message sequences are this machine's microsecond clock.",
        )
    return Result("clock skew", OK, detail)


# ---------------------------------------------------------------------------------------------
# ASGI application and WebSocket routes


def _walk_websocket_routes(app: Any, prefix: str = "", depth: int = 0) -> Iterator[tuple[str, Any]]:
    """(full path pattern, consumer callable) of every WebSocket route under ``app``."""
    if depth > 30 or app is None:
        return
    mapping = getattr(app, "application_mapping", None)
    if isinstance(mapping, dict):
        yield from _walk_websocket_routes(mapping.get("websocket"), prefix, depth + 1)
        return
    routes = getattr(app, "routes", None)
    if isinstance(routes, list | tuple):
        for route in routes:
            pattern = str(getattr(route, "pattern", "")).lstrip("^").rstrip("$")
            callback = getattr(route, "callback", None)
            if getattr(callback, "routes", None) is not None:
                yield from _walk_websocket_routes(callback, prefix + pattern, depth + 1)
            else:
                yield prefix + pattern, callback
        return
    for attribute in ("application", "inner", "app"):
        inner = getattr(app, attribute, None)
        if inner is not None and inner is not app:
            yield from _walk_websocket_routes(inner, prefix, depth + 1)
            return


def _stream_kinds() -> dict[Any, str]:
    """The consumer class of each route of inbox.realtime.routing, and which stream it is."""
    return {
        route.callback.consumer_class: kind
        for route in routing.websocket_urlpatterns
        for kind in WEBSOCKET_CONSUMERS
        if kind in str(route.pattern)
    }


async def _anonymous_handshake(application: Any, path: str) -> str:
    """Open ``path`` with no credentials as a browser of an allowed host would; how it ended.

    Speaks ASGI directly (asgiref's communicator), so the doctor needs no test server."""
    from asgiref.testing import ApplicationCommunicator

    hosts = [host for host in (getattr(settings, "ALLOWED_HOSTS", []) or []) if host != "*"]
    host = (hosts[0].lstrip(".") if hosts else "localhost").encode()
    path = "/" + path.lstrip("/")
    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", host), (b"origin", b"http://" + host)],
        "subprotocols": [],
        "client": ("127.0.0.1", 0),
        "server": ("127.0.0.1", 80),
    }
    communicator = ApplicationCommunicator(application, scope)
    try:
        await communicator.send_input({"type": "websocket.connect"})
        first = await communicator.receive_output(timeout=ANSWER_TIMEOUT_SECONDS)
        if first["type"] == "websocket.close":
            return f"closed {first.get('code')}"
        if first["type"] != "websocket.accept":
            return f"answered {first['type']}"
        second = await communicator.receive_output(timeout=ANSWER_TIMEOUT_SECONDS)
        if second["type"] == "websocket.close":
            return f"closed {second.get('code')}"
        return "accepted"
    except TimeoutError:
        return "accepted"  # accepted and kept open: nothing more came
    finally:
        try:
            await communicator.send_input({"type": "websocket.disconnect", "code": 1000})
            await communicator.wait(timeout=1)
        except Exception:  # noqa: BLE001 - already finished
            pass


def check_asgi() -> list[Result]:
    dotted = getattr(settings, "ASGI_APPLICATION", None)
    if not dotted:
        return [
            Result(
                "asgi",
                FAIL,
                "ASGI_APPLICATION is not set",
                fix="Set ASGI_APPLICATION = 'mysite.asgi.application' (see the README).",
            )
        ]
    try:
        application = import_string(dotted)
    except Exception as error:  # noqa: BLE001 - any import failure is the finding
        return [
            Result(
                "asgi",
                FAIL,
                f"{dotted} cannot be imported: {error!r}",
                fix="Point ASGI_APPLICATION at your project's asgi.application and make that "
                "module importable.",
            )
        ]
    results = [Result("asgi", OK, f"{dotted} imports")]
    kinds = _stream_kinds()
    found: dict[str, str] = {}
    for path, callback in _walk_websocket_routes(application):
        kind = kinds.get(getattr(callback, "consumer_class", None))
        if kind is not None:
            found.setdefault(kind, path)
    missing = sorted(WEBSOCKET_CONSUMERS - set(found))
    if missing:
        results.append(
            Result(
                "websocket routes",
                FAIL,
                f"{dotted} serves no inbox {' / '.join(missing)} WebSocket route",
                fix='Route websockets as in the README: ProtocolTypeRouter({"websocket": '
                "AllowedHostsOriginValidator(InboxAuthMiddlewareStack("
                "URLRouter(inbox.realtime.routing.websocket_urlpatterns)))}).",
            )
        )
        return results
    answers = {}
    for kind, path in sorted(found.items()):
        try:
            answers[kind] = async_to_sync(_anonymous_handshake)(application, path)
        except Exception as error:  # noqa: BLE001
            answers[kind] = f"error {error!r}"
    bad = {
        kind: answer
        for kind, answer in answers.items()
        if answer != f"closed {CLOSE_UNAUTHENTICATED}"
    }
    detail = ", ".join(f"/{found[kind]} → {answers[kind]}" for kind in sorted(found))
    if bad and all(answer == f"closed {CLOSE_TRY_AGAIN_LATER}" for answer in bad.values()):
        results.append(
            Result(
                "websocket routes",
                FAIL,
                f"the routes answer but refuse every socket ({CLOSE_TRY_AGAIN_LATER}, channel "
                f"layer unavailable): {detail}",
                fix="Make the channel layer work (see the channel layer check below).",
            )
        )
    elif bad:
        results.append(
            Result(
                "websocket routes",
                FAIL,
                f"an anonymous handshake should close with {CLOSE_UNAUTHENTICATED}: {detail}",
                fix="Wrap the routes in InboxAuthMiddlewareStack (and AllowedHostsOriginValidator) "
                "as in the README; 'closed 403'/'closed None' usually means the origin check "
                "refused this host (ALLOWED_HOSTS).",
            )
        )
    else:
        results.append(Result("websocket routes", OK, detail))
    return results


# ---------------------------------------------------------------------------------------------
# Channel layer and Redis


def _layer_config() -> dict[str, Any]:
    return dict((getattr(settings, "CHANNEL_LAYERS", {}) or {}).get("default") or {})


def _make_layer(config: dict[str, Any]) -> Any:
    return import_string(config["BACKEND"])(**(config.get("CONFIG") or {}))


def _probe_message(nonce: str) -> dict[str, str]:
    # Nothing consumes it but the doctor's own receiver, which matches the nonce.
    return {"type": "doctor.probe", "nonce": nonce}


async def _round_trip_in_process(layer: Any) -> float:
    group = doctor_group()
    channel = await layer.new_channel()
    await layer.group_add(group, channel)
    try:
        nonce = uuid.uuid4().hex
        started = time.monotonic()
        await layer.group_send(group, _probe_message(nonce))
        while True:
            message = await bounded(layer.receive(channel), ANSWER_TIMEOUT_SECONDS)
            if message.get("nonce") == nonce:
                return time.monotonic() - started
    finally:
        await layer.group_discard(group, channel)
        if not is_in_process(layer):
            await _close_layer(layer)


async def _close_layer(layer: Any) -> None:
    for name in ("close_pools", "close"):
        close = getattr(layer, name, None)
        if close is not None:
            try:
                await close()
            except Exception:  # noqa: BLE001 - best effort on the way out
                pass
            return


def probe_receive(group: str, write: Callable[[str], Any]) -> None:
    """The other process of the round trip: join ``group``, say so, print what arrives."""
    config = json.loads(os.environ.get(PROBE_ENV) or "null") or _layer_config()

    async def run() -> None:
        layer = _make_layer(config)
        channel = await layer.new_channel()
        await layer.group_add(group, channel)
        write(f"READY {channel}")
        sys.stdout.flush()
        try:
            message = await bounded(layer.receive(channel), PROBE_TIMEOUT_SECONDS)
            write(f"GOT {message.get('nonce')}")
        except TimeoutError:
            write("TIMEOUT")
        finally:
            await layer.group_discard(group, channel)
            await _close_layer(layer)
        sys.stdout.flush()

    asyncio.run(run())


def _round_trip_two_processes(config: dict[str, Any]) -> tuple[float, str]:
    """Send from this process to a group another process listens on; seconds and the way."""
    group = doctor_group()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(path for path in sys.path if path)
    env.setdefault("DJANGO_SETTINGS_MODULE", os.environ.get("DJANGO_SETTINGS_MODULE", ""))
    try:
        env[PROBE_ENV] = json.dumps(config)
    except (TypeError, ValueError):
        env.pop(PROBE_ENV, None)  # not JSON: the child reads its own settings
    child = subprocess.Popen(
        [sys.executable, "-m", "django", "inbox_doctor", "--probe-receive", group],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert child.stdout is not None
        for line in child.stdout:
            lines.put(line.strip())
        lines.put("EOF")

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + PROBE_TIMEOUT_SECONDS
    try:

        def next_line(timeout: float) -> str | None:
            try:
                return lines.get(timeout=max(0.01, min(timeout, deadline - time.monotonic())))
            except queue.Empty:
                return None

        line = None
        while time.monotonic() < deadline:
            line = next_line(deadline - time.monotonic())
            if line is None or line.startswith("READY") or line == "EOF":
                break
        if not line or not line.startswith("READY"):
            error = child.stderr.read() if child.poll() is not None and child.stderr else ""
            raise RuntimeError(
                "the receiving process did not start listening"
                + (f": {error.strip().splitlines()[-1]}" if error.strip() else "")
            )
        nonce = uuid.uuid4().hex
        layer = _make_layer(config)
        started = time.monotonic()

        async def send() -> None:
            await layer.group_send(group, _probe_message(nonce))

        try:
            while time.monotonic() < deadline:
                async_to_sync(send)()
                line = next_line(0.5)
                if line == f"GOT {nonce}":
                    return time.monotonic() - started, f"pid {os.getpid()} → pid {child.pid}"
                if line in ("TIMEOUT", "EOF"):
                    break
        finally:
            async_to_sync(_close_layer)(layer)
        raise RuntimeError("the other process received nothing within the timeout")
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(timeout=5)


def check_channel_layer() -> Result:
    config = _layer_config()
    if not config.get("BACKEND"):
        return Result(
            "channel layer",
            FAIL,
            "no default channel layer: messages are stored but nothing is pushed live",
            fix="Configure CHANNEL_LAYERS['default'] (channels_redis for several processes, "
            "InMemoryChannelLayer for one).",
        )
    backend = config["BACKEND"]
    try:
        layer = _make_layer(config)
        elapsed = async_to_sync(_round_trip_in_process)(layer)
    except Exception as error:  # noqa: BLE001
        return Result(
            "channel layer",
            FAIL,
            f"{backend}: a group message did not come back: {error!r}",
            fix="Check the layer's CONFIG (for channels_redis: is Redis up at the configured "
            "hosts?).",
        )
    if is_in_process(layer):
        return Result(
            "channel layer",
            OK,
            f"in-memory round trip {elapsed * 1000:.1f} ms (reaches this process only: run one "
            "ASGI worker, or use channels_redis)",
        )
    try:
        cross, way = _round_trip_two_processes(config)
    except Exception as error:  # noqa: BLE001
        return Result(
            "channel layer",
            FAIL,
            f"{backend}: round trip works inside one process but not between two: {error}",
            fix="Every process must use the same layer hosts and prefix (and "
            "symmetric_encryption_keys if set).",
        )
    return Result(
        "channel layer",
        OK,
        f"{backend.rsplit('.', 1)[-1]} round trip between two processes ({way}) in "
        f"{cross * 1000:.0f} ms",
    )


def _redis_hosts() -> list[dict[str, Any]]:
    config = _layer_config()
    backend = str(config.get("BACKEND", ""))
    if (
        "channels_redis" not in backend
        and backend != "inbox.realtime.layers.RedisPubSubChannelLayer"
    ):
        return []
    from channels_redis.utils import decode_hosts

    return list(decode_hosts((config.get("CONFIG") or {}).get("hosts")))


def check_redis() -> list[Result]:
    hosts = _redis_hosts()
    if not hosts:
        return [Result("redis", OK, "not configured (the channel layer does not use Redis)")]
    import redis

    results = []
    for host in hosts:
        if "sentinels" in host:
            results.append(Result("redis", WARN, "sentinel hosts are not checked directly"))
            continue
        options = {
            key: value for key, value in host.items() if key not in {"address", "master_name"}
        }
        options.update(socket_timeout=2, socket_connect_timeout=2)
        if "address" in host:
            client = redis.Redis.from_url(host["address"], **options)
            where = _redact(str(host["address"]))
        else:
            client = redis.Redis(**options)
            where = f"{host.get('host')}:{host.get('port')}"
        try:
            before = time.time()
            seconds, micros = client.time()
            after = time.time()
            version = client.info("server").get("redis_version", "?")
        except Exception as error:  # noqa: BLE001
            results.append(
                Result(
                    "redis",
                    FAIL,
                    f"{where} is unreachable: {error}",
                    fix="Start Redis or fix REDIS_URL / CHANNEL_LAYERS hosts.",
                )
            )
            continue
        finally:
            client.close()
        skew = seconds + micros / 1e6 - (before + after) / 2
        results.append(
            Result("redis", OK, f"{where} Redis {version}, clock {skew * 1000:+.1f} ms from ours")
        )
    return results


def _redact(url: str) -> str:
    """A Redis URL without its password."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
    return url


# ---------------------------------------------------------------------------------------------
# Background processes


def check_background() -> list[Result]:
    return [_check_worker(), _check_backlog()]


def _check_worker() -> Result:
    """Enqueue the probe task and wait for a worker to run it."""
    backend = task_backends["default"]
    if type(backend).__module__ != "django_tasks_db.backend":
        return Result(
            "task worker",
            FAIL,
            f"the default task backend is {type(backend).__name__}, not the database backend",
            fix='TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}',
        )
    nonce = uuid.uuid4().hex
    result = doctor_probe.enqueue(nonce)
    deadline = time.monotonic() + WORKER_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        result.refresh()
        if result.status == TaskResultStatus.SUCCESSFUL:
            waited = WORKER_TIMEOUT_SECONDS - (deadline - time.monotonic())
            return Result("task worker", OK, f"a worker ran the probe task in {waited:.1f} s")
        if result.status == TaskResultStatus.FAILED:
            return Result("task worker", FAIL, "a worker ran the probe task and it failed")
        time.sleep(0.1)
    return Result(
        "task worker",
        WARN,
        f"no worker ran the probe task within {WORKER_TIMEOUT_SECONDS:.0f} s: webhooks are not "
        "delivered (it runs when a worker starts)",
        fix="Run `python manage.py db_worker` beside the server (make run / make serve do).",
    )


def _check_backlog() -> Result:
    now = timezone.now()
    grace = timedelta(seconds=inbox_settings.OUTBOX_RELAY_GRACE_SECONDS + RELAY_STALE_SECONDS)
    unpublished = OutboxEvent.objects.filter(
        published_at__isnull=True, created_at__lt=now - grace
    ).count()
    undispatched = OutboxEvent.objects.filter(
        dispatched_at__isnull=True, created_at__lt=now - grace
    ).count()
    late = WebhookDelivery.objects.filter(
        status=WebhookDelivery.Status.PENDING,
        next_attempt_at__lt=now - timedelta(seconds=WEBHOOK_LATE_SECONDS),
    ).count()
    detail = (
        f"{unpublished} events unpublished and {undispatched} not dispatched for over "
        f"{grace.total_seconds():.0f} s; {late} webhook attempts over "
        f"{WEBHOOK_LATE_SECONDS:.0f} s late"
    )
    if unpublished or undispatched:
        return Result(
            "background backlog",
            FAIL,
            detail,
            fix="Run `python manage.py inbox_relay` beside the server (make run / make serve do).",
        )
    if late:
        return Result(
            "background backlog",
            WARN,
            detail,
            fix="The workers are not keeping up: run more `manage.py db_worker`.",
        )
    return Result("background backlog", OK, detail)
