"""Bench-only settings: the project's, plus bench/urls.py (the plain-view floor of benchmark 7).
Never used by the app or the demo site."""

from project.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
