"""inbox.asgi.PooledThreadASGIHandler: Django's ASGI handler lending each request a
reusable thread instead of starting a new one, and serving it in one hop to that thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator

import pytest
from asgiref.testing import ApplicationCommunicator
from django.core import signals
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.test import override_settings
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from inbox.asgi import PooledThreadASGIHandler


def scope(path: str) -> dict[str, object]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


async def get(handler: PooledThreadASGIHandler, path: str) -> int:
    communicator = ApplicationCommunicator(handler, scope(path))
    await communicator.send_input({"type": "http.request", "body": b""})
    start = await communicator.receive_output(timeout=10)
    while (await communicator.receive_output(timeout=10)).get("more_body"):
        pass
    await communicator.wait(timeout=10)
    return int(start["status"])


@pytest.mark.django_db(transaction=True)
async def test_sequential_requests_reuse_one_thread():
    handler = PooledThreadASGIHandler()
    for _ in range(5):
        assert await get(handler, "/inbox/v2/conversations") == 401
    (executor,) = handler._idle
    threads = executor._threads  # one executor, one thread, alive across the five requests
    assert len(threads) == 1 and all(thread.is_alive() for thread in threads)


@pytest.mark.django_db(transaction=True)
async def test_concurrent_requests_each_get_their_own_thread_and_all_come_back():
    handler = PooledThreadASGIHandler()
    statuses = await asyncio.gather(*(get(handler, "/inbox/v2/conversations") for _ in range(4)))
    assert statuses == [401] * 4
    assert 1 <= len(handler._idle) <= 4
    # Every idle executor is distinct: no two requests ever shared one at the same time.
    assert len({id(executor) for executor in handler._idle}) == len(handler._idle)


async def test_only_http_is_served():
    with pytest.raises(ValueError):
        await PooledThreadASGIHandler()({"type": "websocket"}, None, None)


# One hop: request_started, the middleware chain and view, and request_finished run in one call
# of the request's thread; a non-streaming response is closed (its connection returned) before
# it is sent, a streaming one after its last chunk.

events: list[tuple[str, int]] = []


def _record(name: str) -> None:
    events.append((name, threading.get_ident()))


@csrf_exempt
def _view(request: HttpRequest) -> HttpResponse:
    _record("view")
    return HttpResponse(b"echo:" + request.body)


def _streaming_view(request: HttpRequest) -> StreamingHttpResponse:
    _record("view")

    async def chunks() -> AsyncIterator[bytes]:
        for part in (b"one", b"two"):
            _record("chunk")
            yield part

    return StreamingHttpResponse(chunks())


urlpatterns = [path("echo", _view), path("stream", _streaming_view)]


@pytest.fixture
def recorded() -> Iterator[list[tuple[str, int]]]:
    def started(**kwargs: object) -> None:
        _record("started")

    def finished(**kwargs: object) -> None:
        _record("finished")

    events.clear()
    signals.request_started.connect(started, dispatch_uid="test-asgi-started")
    signals.request_finished.connect(finished, dispatch_uid="test-asgi-finished")
    try:
        yield events
    finally:
        signals.request_started.disconnect(dispatch_uid="test-asgi-started")
        signals.request_finished.disconnect(dispatch_uid="test-asgi-finished")


async def call(path_: str, body: bytes = b"") -> tuple[int, bytes, list[str]]:
    """Status, body, and what had been recorded when the response's start arrived."""
    handler = PooledThreadASGIHandler()
    request = {**scope(path_), "method": "POST" if body else "GET"}
    communicator = ApplicationCommunicator(handler, request)
    await communicator.send_input({"type": "http.request", "body": body})
    start = await communicator.receive_output(timeout=10)
    at_start = [name for name, _ in events]
    content = b""
    while True:
        message = await communicator.receive_output(timeout=10)
        content += message.get("body", b"")
        if not message.get("more_body"):
            break
    await communicator.wait(timeout=10)
    return int(start["status"]), content, at_start


@override_settings(ROOT_URLCONF="tests.test_asgi_handler")
async def test_signals_and_view_share_one_thread_and_the_response_is_closed_before_it_is_sent(
    recorded: list[tuple[str, int]],
) -> None:
    status, content, at_start = await call("/echo", b"hello")
    assert (status, content) == (200, b"echo:hello")
    assert at_start == ["started", "view", "finished"]
    assert [name for name, _ in recorded] == ["started", "view", "finished"]
    assert len({thread for _, thread in recorded}) == 1
    assert recorded[0][1] != threading.get_ident()  # not the event loop's thread


@override_settings(ROOT_URLCONF="tests.test_asgi_handler")
async def test_a_streaming_response_is_closed_after_its_last_chunk(
    recorded: list[tuple[str, int]],
) -> None:
    status, content, _ = await call("/stream")
    assert (status, content) == (200, b"onetwo")
    assert [name for name, _ in recorded] == ["started", "view", "chunk", "chunk", "finished"]
