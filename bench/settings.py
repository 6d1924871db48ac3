"""Bench-only settings: the project's, plus bench/urls.py (the plain-view floor of benchmark 7),
and per-caller throttles raised far above what a benchmark sends (their checks still run, so
their cost is measured). Never used by the app or the demo site."""

from project.settings import *  # noqa: F403
from project.settings import INBOX

ROOT_URLCONF = "bench.urls"

INBOX = {
    **INBOX,
    "THROTTLE_RATES": {
        "staff": "1000000/s",
        "member": "1000000/s",
        "visitor": "1000000/s",
        "visitor_create": "1000000/s",
    },
}
