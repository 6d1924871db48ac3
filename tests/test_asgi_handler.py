"""inbox.asgi.PooledThreadASGIHandler: Django's ASGI handler lending each request a
reusable thread instead of starting a new one."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.testing import ApplicationCommunicator

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
