"""Request rate limits per caller (DRF throttles), configured in ``INBOX["THROTTLE_RATES"]``.

One budget per identity, whatever IP it calls from: an app, a staff user, a member, a visitor
(``Caller.scope``). Minting visitor ids (``POST v2/visitors``, no credentials) is limited per
client IP instead. Over the limit: 429 in Wix's envelope with ``Retry-After`` (seconds).

The counters live in the cache named by ``INBOX["THROTTLE_CACHE"]``; with Django's default
local-memory cache every server process counts on its own, so a site with several processes that
wants one budget per caller across them points it at a shared cache (Redis, database).
"""

from __future__ import annotations

from typing import Any

from django.core.cache import caches
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from inbox.conf import inbox_settings, merged_setting
from inbox.identity import Caller

VISITOR_CREATE_SCOPE = "visitor_create"
# Uploads have budgets of their own (INBOX["ATTACHMENT_UPLOAD_RATES"]), counted apart.
UPLOAD_SCOPE_PREFIX = "upload_"


def throttle_rate(scope: str) -> str | None:
    """The configured rate of ``scope`` (``"10/s"``, ``"60/min"``…) or None for no limit."""
    if scope.startswith(UPLOAD_SCOPE_PREFIX):
        kind = scope.removeprefix(UPLOAD_SCOPE_PREFIX)
        return merged_setting("ATTACHMENT_UPLOAD_RATES").get(kind)
    return merged_setting("THROTTLE_RATES").get(scope)


def valid_throttle_rate(rate: Any) -> bool:
    """Whether DRF can parse ``rate`` (the system checks refuse it at start-up otherwise)."""
    try:
        count, _ = _InboxRateThrottle().parse_rate(rate)
    except (AttributeError, KeyError, IndexError, TypeError, ValueError):
        return False
    return count is not None and count >= 0


class _InboxRateThrottle(SimpleRateThrottle):
    """DRF's sliding-window throttle, with its scope and rate decided per request."""

    cache_format = "inbox:throttle:%(scope)s:%(ident)s"

    def __init__(self) -> None:
        # SimpleRateThrottle reads a fixed scope's rate here; ours depends on the request.
        self.rate: str | None = None
        self.num_requests: int | None = None
        self.duration: int | None = None

    def scope_for(self, request: Request) -> str | None:
        raise NotImplementedError

    def ident_for(self, request: Request) -> str:
        raise NotImplementedError

    def allow_request(self, request: Request, view: Any) -> bool:
        scope = self.scope_for(request)
        if scope is None:
            return True
        self.scope = scope
        self.rate = throttle_rate(scope)
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        self.cache = caches[inbox_settings.THROTTLE_CACHE]
        return super().allow_request(request, view)

    def get_cache_key(self, request: Request, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.ident_for(request)}


class CallerRateThrottle(_InboxRateThrottle):
    """Every authenticated inbox endpoint: one budget per caller, by the caller's kind."""

    def scope_for(self, request: Request) -> str | None:
        caller = request.auth
        return caller.kind.value if isinstance(caller, Caller) else None

    def ident_for(self, request: Request) -> str:
        assert isinstance(request.auth, Caller)
        return request.auth.scope


class UploadRateThrottle(CallerRateThrottle):
    """``POST v2/attachments``: one budget of uploads per caller, by the caller's kind, besides
    the caller's budget of requests; downloads (the other action of the view) are not counted."""

    def scope_for(self, request: Request) -> str | None:
        kind = super().scope_for(request)
        if kind is None or request.method != "POST":
            return None
        return UPLOAD_SCOPE_PREFIX + kind


class VisitorCreateThrottle(_InboxRateThrottle):
    """``POST v2/visitors``: one budget per client IP.

    The IP is ``REMOTE_ADDR``: DRF's default would take any ``X-Forwarded-For`` a client sends,
    so a new made-up header per request would bypass the limit. Behind a proxy, the ASGI server
    puts the real client there (uvicorn ``--forwarded-allow-ips``, docs/deployment.md); a site
    that sets ``REST_FRAMEWORK["NUM_PROXIES"]`` gets DRF's own reading of the header instead."""

    def scope_for(self, request: Request) -> str | None:
        return VISITOR_CREATE_SCOPE

    def ident_for(self, request: Request) -> str:
        if api_settings.NUM_PROXIES is None:
            return str(request.META.get("REMOTE_ADDR") or "unknown")
        return str(self.get_ident(request))
