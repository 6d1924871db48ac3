"""Django's ASGI handler, with each request's sync thread taken from a pool of reusable threads.

Optional for sites: ``from inbox.asgi import get_asgi_application`` in place of Django's (the
README's real-time section). Nothing in the app depends on it.

Django enters ``ThreadSensitiveContext()`` once per request, and asgiref then creates a new
single-thread executor, so a new OS thread, for every request and shuts it down at the end:
thread start, executor submit and shutdown were about a seventh of a worker's Python CPU on a
short API request (docs/benchmarks.md). asgiref lets the context use an executor the caller owns;
this handler keeps idle single-thread executors and lends one to each request. One request at a
time per executor, as Django expects; the thread lives on like a WSGI server's worker thread
(Django closes or returns its database connection at the end of each request either way).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import django
from asgiref.sync import ThreadSensitiveContext
from django.core.handlers.asgi import ASGIHandler


class PooledThreadASGIHandler(ASGIHandler):
    # Threads kept idle at most; a burst above it gets threads that end with their request.
    MAX_IDLE_THREADS = 64

    def __init__(self) -> None:
        super().__init__()
        # Only the event loop's thread touches it: no lock.
        self._idle: list[ThreadPoolExecutor] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        executor = (
            self._idle.pop()
            if self._idle
            else ThreadPoolExecutor(max_workers=1, thread_name_prefix="django-request")
        )
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.handle(scope, receive, send)
        finally:
            if len(self._idle) < self.MAX_IDLE_THREADS:
                self._idle.append(executor)
            else:
                executor.shutdown(wait=False)


def get_asgi_application() -> PooledThreadASGIHandler:
    """Like ``django.core.asgi.get_asgi_application``, with the pooled-thread handler."""
    django.setup(set_prefix=False)
    return PooledThreadASGIHandler()
