"""Bench-only settings: the project's, plus bench/urls.py (the plain-view floor of benchmark 7
and the conventional stack of bench/conventional.py, with DRF's token app and a channels-redis
``RedisChannelLayer`` of its own), per-caller throttles raised far above what a benchmark sends
(their checks still run, so their cost is measured), and uploads as large as
``BENCH_ATTACHMENT_MAX_BYTES`` (bench/upload.py). Never used by the app or the demo site."""

import os

from project.settings import *  # noqa: F403
from project.settings import CHANNEL_LAYERS, INBOX, INSTALLED_APPS, REDIS_URL

INSTALLED_APPS = [*INSTALLED_APPS, "rest_framework.authtoken"]

if REDIS_URL:
    CHANNEL_LAYERS = {
        **CHANNEL_LAYERS,
        # The conventional stack's layer: channels-redis as its README configures it.
        "conventional": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [REDIS_URL],
                "prefix": f"conventional{os.environ.get('CHANNEL_LAYER_PREFIX', '')}",
            },
        },
    }

ROOT_URLCONF = "bench.urls"

INBOX = {
    **INBOX,
    "THROTTLE_RATES": {
        "staff": "1000000/s",
        "member": "1000000/s",
        "visitor": "1000000/s",
        "visitor_create": "1000000/s",
    },
    "ATTACHMENT_MAX_BYTES": int(os.environ.get("BENCH_ATTACHMENT_MAX_BYTES", 25 * 1024 * 1024)),
}
