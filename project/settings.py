"""Settings of the demo site.

The embedded default (no environment variables) is SQLite in WAL mode plus the in-memory channel
layer. `DATABASE_URL` switches to PostgreSQL (psycopg 3 with its connection pool) and `REDIS_URL`
to channels-redis, so the scaled profile is configuration only.
"""

import json
import os
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("DJANGO_DEBUG", True)
DEMO_SECRET_KEY = "django-insecure-demo-only-key-change-me-0123456789abcdefghijklmnopqrstuv"
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "") or DEMO_SECRET_KEY
if not DEBUG and SECRET_KEY == DEMO_SECRET_KEY:
    # Signed visitor tokens, cursors and sessions would be forgeable by anyone who has read this
    # file. `make serve` generates and persists a key (.secret_key) when none is given.
    raise ImproperlyConfigured(
        "DJANGO_DEBUG is off: set DJANGO_SECRET_KEY (the demo key is refused outside DEBUG)."
    )
ALLOWED_HOSTS = os.environ.get(
    "DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver"
).split(",")
CSRF_TRUSTED_ORIGINS = [
    origin
    for origin in os.environ.get(
        "DJANGO_CSRF_TRUSTED_ORIGINS", "http://127.0.0.1:8000,http://localhost:8000"
    ).split(",")
    if origin
]

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "django_tasks",
    "django_tasks_db",
    "inbox",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language of each request (Accept-Language, the django_language cookie): the admin
    # and the staff inbox follow the staff user's browser; API error messages follow the
    # caller's Accept-Language (the widget sends its page's language).
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: keeps the chain above in one thread under ASGI (see its docstring).
    "project.middleware.SyncChainMiddleware",
]

ROOT_URLCONF = "project.urls"
WSGI_APPLICATION = None
ASGI_APPLICATION = "project.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

if os.environ.get("DATABASE_URL"):
    DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"])}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # A pooled connection costs no TCP + auth handshake per request; without the pool a
        # create endpoint measured 123 req/s here, with it 281 req/s.
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": int(os.environ.get("DATABASE_POOL_MIN", "2")),
            "max_size": int(os.environ.get("DATABASE_POOL_MAX", "20")),
            "timeout": float(os.environ.get("DATABASE_POOL_TIMEOUT", "5")),
        }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
            "OPTIONS": {
                # WAL lets readers run beside the single writer; IMMEDIATE takes the write lock
                # at BEGIN so two writers queue instead of failing on a lock upgrade.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
            "TEST": {"NAME": os.environ.get("SQLITE_TEST_PATH") or None},
        }
    }

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            # channels_redis's pub/sub layer (delivers a burst in full: no per-channel capacity
            # queue to overflow), with a subscriber that reconnects within 0.2 s of Redis coming
            # back and tells the sockets to resynchronise (docs/reliability.md).
            "BACKEND": "inbox.realtime.layers.RedisPubSubChannelLayer",
            "CONFIG": {
                "hosts": [REDIS_URL],
                "prefix": os.environ.get("CHANNEL_LAYER_PREFIX", "inbox"),
            },
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            # Channels' in-memory layer, logging any dropped message at WARNING.
            "BACKEND": "inbox.realtime.layers.InMemoryChannelLayer",
            "CONFIG": {"capacity": 10_000, "expiry": 60},
        }
    }

# Background work runs on the database task backend; `manage.py db_worker` runs it (README).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

# The site's language: also the language of notification e-mails.
LANGUAGE_CODE = os.environ.get("DJANGO_LANGUAGE_CODE", "en-us")
# The languages inbox ships catalogs for (inbox/locale); a site lists its own.
LANGUAGES = [("en", "English"), ("pt", "Português"), ("ar", "العربية")]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Uploaded attachments (inbox's default storage is the file system here; see the README for S3).
# No MEDIA_URL: the app serves them itself, by signed link, never as public static files.
MEDIA_ROOT = os.environ.get("DJANGO_MEDIA_ROOT", str(BASE_DIR / "media"))
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "inbox REST API",
    "DESCRIPTION": "Wix Inbox v2 compatible REST API served by the `inbox` Django app.",
    "VERSION": "2.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Served from our own static files: the docs work without reaching a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

INBOX: dict[str, Any] = {
    "BUSINESS_NAME": os.environ.get("INBOX_BUSINESS_NAME", "Demo Shop"),
    # Webhook destinations on these networks pass the SSRF guard (comma-separated CIDRs; the
    # webhook tests allow their loopback receiver with 127.0.0.0/8).
    "WEBHOOK_ALLOWED_NETWORKS": [
        network
        for network in os.environ.get("INBOX_WEBHOOK_ALLOWED_NETWORKS", "").split(",")
        if network
    ],
}
if os.environ.get("INBOX_WEBHOOK_RETRY_SCHEDULE"):
    # Seconds, comma-separated: the tests shorten the production schedule to a few seconds.
    INBOX["WEBHOOK_RETRY_SCHEDULE"] = [
        float(delay) for delay in os.environ["INBOX_WEBHOOK_RETRY_SCHEDULE"].split(",")
    ]
if os.environ.get("INBOX_BUSINESS_HOURS"):
    # JSON, as the setting: {"mon": ["09:00-17:00"], …} (the browser tests close the shop).
    INBOX["BUSINESS_HOURS"] = json.loads(os.environ["INBOX_BUSINESS_HOURS"])
    INBOX["BUSINESS_TIMEZONE"] = os.environ.get("INBOX_BUSINESS_TIMEZONE") or None
if os.environ.get("INBOX_PRESENCE_TTL_SECONDS"):
    INBOX["PRESENCE_TTL_SECONDS"] = float(os.environ["INBOX_PRESENCE_TTL_SECONDS"])
if os.environ.get("INBOX_AWAY_REPLY"):
    INBOX["AWAY_REPLY"] = True
if os.environ.get("INBOX_WEBHOOK_TIMEOUT_SECONDS"):
    INBOX["WEBHOOK_TIMEOUT_SECONDS"] = float(os.environ["INBOX_WEBHOOK_TIMEOUT_SECONDS"])
# E-mail notifications are on once INBOX_NOTIFY_SITE_URL says where the site is served; the
# tests also shorten the delays (seconds).
for name in ("NOTIFY_SITE_URL", "NOTIFY_CHAT_URL"):
    if os.environ.get(f"INBOX_{name}"):
        INBOX[name] = os.environ[f"INBOX_{name}"]
for name in ("NOTIFY_PARTICIPANT_AFTER", "NOTIFY_STAFF_AFTER"):
    if os.environ.get(f"INBOX_{name}"):
        INBOX[name] = float(os.environ[f"INBOX_{name}"])

# Mail goes to DJANGO_EMAIL_HOST:DJANGO_EMAIL_PORT; without one the worker prints it.
if os.environ.get("DJANGO_EMAIL_HOST"):
    EMAIL_HOST = os.environ["DJANGO_EMAIL_HOST"]
    EMAIL_PORT = int(os.environ.get("DJANGO_EMAIL_PORT", "25"))
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = os.environ.get("DJANGO_DEFAULT_FROM_EMAIL", "inbox@localhost")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # WebSocket handshakes may carry ?token=; servers log paths with their query string.
    "filters": {"redact_credentials": {"()": "inbox.logging.RedactCredentialsFilter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["redact_credentials"]},
    },
    "loggers": {
        "inbox": {"handlers": ["console"], "level": os.environ.get("INBOX_LOG_LEVEL", "INFO")},
        **{
            name: {"handlers": ["console"], "level": "INFO", "propagate": False}
            for name in ("uvicorn.access", "uvicorn.error", "daphne", "django.channels.server")
        },
    },
}

if not DEBUG:
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "project.storage.StaticFilesStorage"},
    }

# Behind a TLS-terminating proxy (docs/deployment.md) set DJANGO_HTTPS=1: HTTPS redirect, secure
# cookies, HSTS, and trust of the proxy's X-Forwarded-Proto. Off by default so the demo works on
# plain http; `check --deploy` then lists security.W004/W008/W012/W016, which is expected there.
HTTPS = env_bool("DJANGO_HTTPS", False)
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_SECURE_HSTS_SECONDS", str(60 * 60 * 24 * 30)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", False)
