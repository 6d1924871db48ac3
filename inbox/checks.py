"""System checks: a site that installs ``inbox`` learns at ``manage.py check`` what is missing."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

REQUIRED_APPS = {
    "rest_framework": "inbox.E001",
    "channels": "inbox.E002",
    "django.contrib.auth": "inbox.E003",
    "django.contrib.contenttypes": "inbox.E004",
    "django.contrib.sessions": "inbox.E005",
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


@register(Tags.compatibility, deploy=True)
def check_channel_layer(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    layers = getattr(settings, "CHANNEL_LAYERS", {}) or {}
    backend = layers.get("default", {}).get("BACKEND", "")
    if not backend:
        return [
            Warning(
                "No default channel layer: messages are stored but nothing is pushed live.",
                hint="Configure CHANNEL_LAYERS (channels-redis for several processes).",
                id="inbox.W001",
            )
        ]
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
