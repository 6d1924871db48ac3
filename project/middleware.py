"""Middleware of the demo site."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse


class SyncChainMiddleware:
    """Keeps the whole middleware chain in one thread under ASGI. Put it **last** in MIDDLEWARE.

    Under ASGI Django builds the chain from the view outwards in async mode, and every Django
    middleware then runs its ``process_request``/``process_response`` through ``sync_to_async``:
    two thread hops per middleware per request, on top of the one for the (sync) view. A
    sync-only middleware at the bottom makes every middleware above it run synchronously in the
    single thread Django enters once per request (docs/benchmarks.md: the send path's CPU per
    request fell by about a third).
    """

    sync_capable = True
    async_capable = False

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)
