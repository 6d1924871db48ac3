"""The floors the benchmarks compare with: the least an ASGI process can do for the same job.

- HTTP: any request gets ``200 hello`` (the "ASGI hello world"); a POST's body is read to
  the end and dropped first (the upload floor: the bytes cross loopback, nothing is kept).
- WebSocket ``/ws``: accepted, then every message published on the Redis channel
  ``FLOOR_CHANNEL`` is forwarded to every socket of the process (one subscriber per process),
  the fan-out floor; an idle socket here is the idle-socket floor.

Served by uvicorn with the same flags as the app: ``uvicorn bench.floor_app:app``.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

FLOOR_CHANNEL = os.environ.get("FLOOR_CHANNEL", "inbox-bench-floor")
HELLO = b"hello"
HEADERS = [(b"content-type", b"text/plain"), (b"content-length", str(len(HELLO)).encode())]

_sockets: set[Any] = set()
_subscriber: asyncio.Task[None] | None = None


async def _forward() -> None:
    import redis.asyncio as redis

    client = redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    pubsub = client.pubsub()
    await pubsub.subscribe(FLOOR_CHANNEL)
    async for message in pubsub.listen():
        if message.get("type") != "message":
            continue
        text = message["data"].decode()
        for send in list(_sockets):
            await send({"type": "websocket.send", "text": text})


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    global _subscriber
    if scope["type"] == "http":
        if scope["method"] == "POST":
            while (await receive()).get("more_body"):
                pass
        await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
        await send({"type": "http.response.body", "body": HELLO})
    elif scope["type"] == "websocket":
        if _subscriber is None:
            _subscriber = asyncio.create_task(_forward())
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        _sockets.add(send)
        try:
            while (await receive())["type"] != "websocket.disconnect":
                pass
        finally:
            _sockets.discard(send)
    elif scope["type"] == "lifespan":
        while True:
            event = await receive()
            if event["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif event["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
