"""System checks: a site that installs ``inbox`` learns at ``manage.py check`` what is missing."""

from __future__ import annotations

import difflib
import ipaddress
import re
import zoneinfo
from collections.abc import Callable
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import storages
from django.utils.functional import Promise
from django.utils.module_loading import import_string

from inbox.api.throttling import valid_throttle_rate
from inbox.attachments.sniffing import SNIFFABLE_TYPES
from inbox.conf import DEFAULTS
from inbox.presence.hours import parse_hours

REQUIRED_APPS = {
    "rest_framework": "inbox.E001",
    "channels": "inbox.E002",
    "django.contrib.auth": "inbox.E003",
    "django.contrib.contenttypes": "inbox.E004",
    "django.contrib.sessions": "inbox.E005",
    # The task runner of background work (docs/architecture.md, "Background work").
    "django_tasks": "inbox.E006",
    "django_tasks_db": "inbox.E007",
}


@register(Tags.compatibility)
def check_installed_apps(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    return [
        Error(
            f"inbox needs {app!r} in INSTALLED_APPS.",
            hint=f"Add {app!r} to INSTALLED_APPS.",
            id=check_id,
        )
        for app, check_id in REQUIRED_APPS.items()
        if not apps.is_installed(app)
    ]


@register(Tags.compatibility)
def check_task_backend(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """Background work must outlive the request: the database backend and its ``db_worker``."""
    backend = ((getattr(settings, "TASKS", {}) or {}).get("default") or {}).get("BACKEND", "")
    if backend == "django_tasks_db.DatabaseBackend":
        return []
    return [
        Warning(
            f"The default task backend is {backend or 'not set'!r}: inbox's background work "
            "is run inline or not at all, and nothing retries it.",
            hint='Set TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}} and '
            'run `manage.py db_worker` beside the server (README, "Background work").',
            id="inbox.W003",
        )
    ]


@register(Tags.compatibility)
def check_asgi(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    if getattr(settings, "ASGI_APPLICATION", None):
        return []
    return [
        Error(
            "ASGI_APPLICATION is not set: live push needs an ASGI server and Channels.",
            hint="Set ASGI_APPLICATION to your project's asgi.application (see the README).",
            id="inbox.E010",
        )
    ]


@register(Tags.compatibility)
def check_channel_layer(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    layers = getattr(settings, "CHANNEL_LAYERS", {}) or {}
    backend = layers.get("default", {}).get("BACKEND", "")
    if backend:
        try:
            import_string(backend)
        except (ImportError, ImproperlyConfigured) as error:
            # Channels would only say so on the first send, as "Cannot import BACKEND".
            return [
                Error(
                    f"CHANNEL_LAYERS['default']['BACKEND'] {backend!r} cannot be imported: {error}",
                    hint='The Redis layers need channels-redis: pip install "django-inbox[redis]".',
                    id="inbox.E011",
                )
            ]
        return []
    return [
        Warning(
            "No default channel layer: messages are stored but nothing is pushed live.",
            hint="Configure CHANNEL_LAYERS (channels-redis for several processes).",
            id="inbox.W001",
        )
    ]


@register(Tags.compatibility, deploy=True)
def check_channel_layer_for_deploy(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    layers = getattr(settings, "CHANNEL_LAYERS", {}) or {}
    backend = layers.get("default", {}).get("BACKEND", "")
    if backend.endswith("InMemoryChannelLayer") and not settings.DEBUG:
        return [
            Warning(
                "The in-memory channel layer reaches only sockets held by the same process.",
                hint="With several ASGI workers, set REDIS_URL / use channels_redis.",
                id="inbox.W002",
            )
        ]
    return []


@register(Tags.database, deploy=True)
def check_database_for_deploy(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """The database settings a site with several ASGI workers should not run with."""
    return database_deploy_warnings((getattr(settings, "DATABASES", {}) or {}).get("default", {}))


def database_deploy_warnings(database: dict[str, Any]) -> list[Warning]:
    engine = database.get("ENGINE", "")
    if engine.endswith("sqlite3"):
        return [
            Warning(
                "The default database is SQLite: every write of every worker queues on one "
                "file lock.",
                hint="Use PostgreSQL for several workers (the demo project reads DATABASE_URL; "
                "see docs/deployment.md).",
                id="inbox.W010",
            )
        ]
    if engine.endswith("postgresql"):
        options = database.get("OPTIONS", {}) or {}
        if not options.get("pool") and not database.get("CONN_MAX_AGE"):
            return [
                Warning(
                    "PostgreSQL without a connection pool or persistent connections: every "
                    "request pays a new connection (measured here: 123 vs 281 sends/s).",
                    hint='Set DATABASES["default"]["OPTIONS"]["pool"] = True (psycopg 3 with '
                    "psycopg-pool) or a CONN_MAX_AGE.",
                    id="inbox.W011",
                )
            ]
    return []


@register(Tags.security, deploy=True)
def check_websocket_origins(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """Session-authenticated sockets rely on AllowedHostsOriginValidator, i.e. ALLOWED_HOSTS."""
    if "*" in (getattr(settings, "ALLOWED_HOSTS", []) or []):
        return [
            Warning(
                "ALLOWED_HOSTS contains '*': the WebSocket origin check then accepts any web "
                "site, which could open a staff member's inbox socket with their session cookie.",
                hint="List the site's host names in ALLOWED_HOSTS.",
                id="inbox.W012",
            )
        ]
    return []


# One rule per INBOX setting: a function of the value that says what is wrong with it, or None.
# tests/test_checks.py asserts that every key of DEFAULTS has one.
_GROUP_PREFIX = re.compile(r"^[A-Za-z0-9_.-]{1,50}$")


def _number(*, minimum: float, integer: bool) -> Callable[[Any], str | None]:
    kind = "a whole number" if integer else "a number"

    def rule(value: Any) -> str | None:
        wrong_type = isinstance(value, bool) or not isinstance(
            value, int if integer else int | float
        )
        if wrong_type or value < minimum:
            return f"must be {kind} of at least {minimum:g}"
        return None

    return rule


def _text(*, optional: bool) -> Callable[[Any], str | None]:
    def rule(value: Any) -> str | None:
        if value is None and optional:
            return None
        if not isinstance(value, str):
            return "must be a string" + (" or None" if optional else "")
        return None

    return rule


def _business_hours(value: Any) -> str | None:
    try:
        parse_hours(value)
    except ValueError as error:
        return str(error)
    return None


def _time_zone(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or value not in zoneinfo.available_timezones():
        return "must be None or an IANA time zone name such as 'Europe/Lisbon'"
    return None


def _optional_minutes(value: Any) -> str | None:
    if value is None:
        return None
    return _number(minimum=1, integer=True)(value)


def _flag(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be True or False"


def _lazy_text(value: Any) -> str | None:
    if isinstance(value, str | Promise):
        return None
    return "must be a string (or a lazy translation)"


def _group_prefix(value: Any) -> str | None:
    if not isinstance(value, str) or not _GROUP_PREFIX.match(value):
        return "must be 1 to 50 ASCII letters, digits, '-', '_' or '.' (channel-group names)"
    return None


def _stream_path(value: Any) -> str | None:
    if not isinstance(value, str) or value.startswith("/") or not value.endswith("/"):
        return "must be a path relative to the site root that ends in '/', such as 'ws/chat/'"
    return None


def _per_scope(
    name: str, value_rule: Callable[[Any], bool], wanted: str
) -> Callable[[Any], str | None]:
    """A dict of the scopes of ``DEFAULTS[name]`` → None or a value ``value_rule`` accepts."""

    def rule(value: Any) -> str | None:
        if not isinstance(value, dict):
            return "must be a dict of scope → value"
        for scope, item in value.items():
            if scope not in DEFAULTS[name]:
                known = ", ".join(DEFAULTS[name])
                return f"has an unknown scope {scope!r} (known: {known})"
            if item is not None and not value_rule(item):
                return f"has {scope!r}: {item!r}, not {wanted} or None"
        return None

    return rule


_RATE = "a rate such as '10/s', '600/min'"


def _byte_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _cache_alias(value: Any) -> str | None:
    if value not in (getattr(settings, "CACHES", {}) or {}):
        return f"names {value!r}, which is not in CACHES"
    return None


def _retry_schedule(value: Any) -> str | None:
    if (
        not isinstance(value, list | tuple)
        or not value
        or any(isinstance(v, bool) or not isinstance(v, int | float) or v < 0 for v in value)
    ):
        return "must be a non-empty list of delays in seconds (numbers of at least 0)"
    return None


def _networks(value: Any) -> str | None:
    if not isinstance(value, list | tuple):
        return "must be a list of networks such as '10.0.0.0/8'"
    for network in value:
        try:
            ipaddress.ip_network(network)
        except (TypeError, ValueError):
            return f"has {network!r}, which is not a network such as '10.0.0.0/8'"
    return None


def _attachment_types(value: Any) -> str | None:
    if not isinstance(value, list | tuple) or not value:
        return "must be a non-empty list of types"
    unknown = [item for item in value if item not in SNIFFABLE_TYPES]
    if unknown:
        return (
            f"lists {unknown[0]!r}, which content sniffing cannot recognise "
            f"(it can: {', '.join(SNIFFABLE_TYPES)}; never HTML, SVG or executables)"
        )
    return None


def _storage_alias(value: Any) -> str | None:
    if not isinstance(value, str) or value not in storages.backends:
        return f"names {value!r}, which is not in STORAGES"
    return None


def _url_base(value: Any) -> str | None:
    if value == "":
        return None
    if not isinstance(value, str) or not re.match(r"^https?://[^/\s]+(/[^\s]*[^/\s])?$", value):
        return "must be '' or an absolute http(s) URL without a trailing slash"
    return None


def _dotted_callable(value: Any) -> str | None:
    if not isinstance(value, str):
        return "must be the dotted path of a callable, such as 'mysite.crm.contact_email'"
    try:
        found = import_string(value)
    except ImportError as error:
        return f"names {value!r}, which cannot be imported ({error})"
    if not callable(found):
        return f"names {value!r}, which is not callable"
    return None


SETTING_RULES: dict[str, Callable[[Any], str | None]] = {
    "BUSINESS_NAME": _text(optional=False),
    "BUSINESS_IMAGE_URL": _text(optional=True),
    "VISITOR_TOKEN_MAX_AGE": _number(minimum=1, integer=True),
    "MAX_BODY_BYTES": _number(minimum=1, integer=True),
    "REPLAY_LIMIT": _number(minimum=1, integer=True),
    "RESUME_WINDOW_SECONDS": _number(minimum=0, integer=False),
    "API_KEY_CACHE_SECONDS": _number(minimum=0, integer=False),
    "SOCKET_MAX_FRAME_CHARS": _number(minimum=1, integer=True),
    "SOCKET_MAX_FRAMES": _number(minimum=1, integer=True),
    "SOCKET_FRAMES_WINDOW_SECONDS": _number(minimum=0.001, integer=False),
    "SOCKET_MAX_RESUME_CONVERSATIONS": _number(minimum=1, integer=True),
    "SOCKET_RECHECK_SECONDS": _number(minimum=0.001, integer=False),
    "SOCKET_RESUME_WAIT_SECONDS": _number(minimum=0.001, integer=False),
    "BUSINESS_STREAM_PATH": _stream_path,
    "PARTICIPANT_STREAM_PATH": _stream_path,
    "GROUP_PREFIX": _group_prefix,
    "THROTTLE_RATES": _per_scope("THROTTLE_RATES", valid_throttle_rate, _RATE),
    "THROTTLE_CACHE": _cache_alias,
    "OUTBOX_RELAY_GRACE_SECONDS": _number(minimum=0, integer=False),
    "OUTBOX_RELAY_INTERVAL_SECONDS": _number(minimum=0.01, integer=False),
    "OUTBOX_RETENTION_SECONDS": _number(minimum=1, integer=False),
    "WEBHOOK_RETRY_SCHEDULE": _retry_schedule,
    "WEBHOOK_TIMEOUT_SECONDS": _number(minimum=0.1, integer=False),
    "WEBHOOK_ALLOWED_NETWORKS": _networks,
    "WEBHOOK_DISABLE_AFTER_SECONDS": _number(minimum=1, integer=False),
    "WEBHOOK_WIX_INSTANCE_ID": _text(optional=True),
    "ATTACHMENT_MAX_BYTES": _number(minimum=1, integer=True),
    "ATTACHMENT_ALLOWED_TYPES": _attachment_types,
    "ATTACHMENT_STORAGE": _storage_alias,
    "ATTACHMENT_URL_MAX_AGE": _number(minimum=1, integer=True),
    "ATTACHMENT_URL_BASE": _url_base,
    "ATTACHMENT_ORPHAN_SECONDS": _number(minimum=1, integer=True),
    "PRESENCE_TTL_SECONDS": _number(minimum=1, integer=False),
    "BUSINESS_HOURS": _business_hours,
    "BUSINESS_TIMEZONE": _time_zone,
    "REPLY_WITHIN_MINUTES": _optional_minutes,
    "AWAY_REPLY": _flag,
    "AWAY_MESSAGE": _lazy_text,
    "NOTIFY_SITE_URL": _url_base,
    "NOTIFY_PARTICIPANT_AFTER": _number(minimum=0, integer=False),
    "NOTIFY_STAFF_AFTER": _number(minimum=0, integer=False),
    "NOTIFY_CHAT_URL": _text(optional=False),
    "NOTIFY_FROM_EMAIL": _text(optional=True),
    "NOTIFY_PARTICIPANT_EMAIL": _dotted_callable,
    "NOTIFY_THREAD_MESSAGES": _number(minimum=1, integer=True),
    "ATTACHMENT_UPLOAD_RATES": _per_scope("ATTACHMENT_UPLOAD_RATES", valid_throttle_rate, _RATE),
    "ATTACHMENT_QUOTA_BYTES": _per_scope(
        "ATTACHMENT_QUOTA_BYTES", _byte_count, "a whole number of bytes of at least 1"
    ),
    "ATTACHMENT_QUOTA_WINDOW_SECONDS": _number(minimum=1, integer=False),
    "ATTACHMENT_THUMBNAIL_SIZE": _number(minimum=16, integer=True),
}


@register(Tags.compatibility)
def check_inbox_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Every ``INBOX`` value is checked here, so a bad one fails ``manage.py check`` and not the
    first request; a key the app does not know (a typo) is a warning."""
    configured = getattr(settings, "INBOX", None)
    if configured is None:
        return []
    if not isinstance(configured, dict):
        return [
            Error(
                "INBOX must be a dict.",
                hint='INBOX = {"BUSINESS_NAME": "…"}; see the README\'s settings table.',
                id="inbox.E020",
            )
        ]
    messages: list[CheckMessage] = []
    for key, value in configured.items():
        rule = SETTING_RULES.get(key)
        if rule is None:
            close = difflib.get_close_matches(str(key), DEFAULTS, n=1)
            messages.append(
                Warning(
                    f"INBOX[{key!r}] is not a setting of inbox and is ignored.",
                    hint=f"Did you mean {close[0]!r}?"
                    if close
                    else "See the README's settings table.",
                    id="inbox.W020",
                )
            )
            continue
        problem = rule(value)
        if problem:
            messages.append(
                Error(
                    f"INBOX[{key!r}] {problem}.",
                    hint=f"The default is {DEFAULTS[key]!r}; see the README's settings table.",
                    id="inbox.E021",
                )
            )
    return messages
