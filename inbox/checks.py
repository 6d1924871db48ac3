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
