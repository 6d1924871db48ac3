"""Django's ASGI handler, with each request served in one hop to a pooled, reusable thread.

Optional for sites: ``from inbox.asgi import get_asgi_application`` in place of Django's (the
README's real-time section). Nothing in the app depends on it.

Two costs of Django's own handler on a short API request (docs/benchmarks.md):

- Django enters ``ThreadSensitiveContext()`` once per request, and asgiref then creates a new
  single-thread executor, so a new OS thread, for every request and shuts it down at the end:
  thread start, executor submit and shutdown were about a seventh of a worker's Python CPU. This
  handler keeps idle single-thread executors and lends one to each request. One request at a
  time per executor, as Django expects; the thread lives on like a WSGI server's worker thread.
- Django hops from the event loop to that thread and back three times per request: for the
  ``request_started`` receivers (``Signal.asend``), for the middleware chain and view, and for
  ``response.close()`` (the ``request_finished`` receivers, which return the database
  connection). This handler does all three in **one** call of the request's thread: the
  middleware is loaded a second time in sync mode (a WSGI server's chain: a site's async-only
  middleware still works there, adapted by Django), and a non-streaming response is closed, so
  its database connection returned, before its bytes are sent. A streaming response is sent
  first and closed after, as Django does.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import django
from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.core.handlers.base import BaseHandler
from django.http import FileResponse, HttpResponseBase
from django.urls import set_script_prefix

__all__ = ["PooledThreadASGIHandler", "get_asgi_application"]


class PooledThreadASGIHandler(ASGIHandler):
    # Threads kept idle at most; a burst above it gets threads that end with their request.
    MAX_IDLE_THREADS = 64

    def __init__(self) -> None:
        super().__init__()
        # Only the event loop's thread touches it: no lock.
        self._idle: list[ThreadPoolExecutor] = []
        # The same middleware in sync mode, run inside the request's thread.
        self._sync_handler = BaseHandler()
        self._sync_handler.load_middleware(is_async=False)

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
                await self._handle_in_one_hop(scope, receive, send)
        finally:
            if len(self._idle) < self.MAX_IDLE_THREADS:
                self._idle.append(executor)
            else:
                executor.shutdown(wait=False)

    async def _handle_in_one_hop(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        try:
            response = await sync_to_async(self._respond, thread_sensitive=True)(scope, body_file)
            try:
                await self.send_response(response, send)
            finally:
                if response.streaming:
                    await sync_to_async(response.close, thread_sensitive=True)()
        finally:
            body_file.close()

    def _respond(self, scope: dict[str, Any], body_file: Any) -> HttpResponseBase:
        """Everything Django does for a request between reading its body and sending the
        response, in the request's thread."""
        set_script_prefix(get_script_prefix(scope))
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, error_response = self.create_request(scope, body_file)
        if request is None:
            assert error_response is not None
            response: HttpResponseBase = error_response
        else:
            response = self._sync_handler.get_response(request)
            response._handler_class = self.__class__  # type: ignore[attr-defined]
            if isinstance(response, FileResponse):
                response.block_size = self.chunk_size
        if not response.streaming:
            response.close()  # request_finished: the connection goes back before the bytes go out
        return response


def get_asgi_application() -> PooledThreadASGIHandler:
    """Like ``django.core.asgi.get_asgi_application``, with the pooled-thread handler."""
    django.setup(set_prefix=False)
    return PooledThreadASGIHandler()
