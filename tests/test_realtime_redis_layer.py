"""The Redis pub/sub layer (``inbox.realtime.layers.RedisPubSubChannelLayer``) against a private
redis-server that the test stops and restarts: a publish while Redis is down fails at once, and
the subscriber comes back promptly after Redis returns and tells its listeners so."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from inbox.realtime.layers import RedisPubSubChannelLayer
from tests.servers import redis_server

pytestmark = [pytest.mark.slow]


async def delivered(
    layer: RedisPubSubChannelLayer, group: str, received: asyncio.Queue[int], n: int
) -> float:
    """Publish ``n`` to ``group`` until it is received (a SUBSCRIBE just sent again may not be
    active yet); when it arrived."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        await layer.group_send(group, {"type": "test.message", "n": n})
        try:
            while await asyncio.wait_for(received.get(), 0.05) != n:
                pass  # a repeat of an earlier message
        except TimeoutError:
            continue
        return time.monotonic()
    raise AssertionError(f"message {n} never arrived")


async def test_the_subscriber_reconnects_promptly_after_a_redis_restart_and_says_so() -> None:
    with redis_server() as redis:
        layer = RedisPubSubChannelLayer(hosts=[redis.url], prefix=f"t{uuid.uuid4().hex[:8]}")
        channel = await layer.new_channel()
        await layer.group_add("inbox.test", channel)
        received: asyncio.Queue[int] = asyncio.Queue()

        async def receive() -> None:
            # As a consumer does: one receive() at a time, never cancelled until the end
            # (channels_redis unsubscribes a channel whose receive() is cancelled).
            while True:
                received.put_nowait((await layer.receive(channel))["n"])

        receiver = asyncio.ensure_future(receive())
        resubscribed: list[float] = []
        remove = layer.on_resubscribed(lambda: resubscribed.append(time.monotonic()))
        try:
            await delivered(layer, "inbox.test", received, 1)

            await asyncio.to_thread(redis.stop)
            started = time.monotonic()
            with pytest.raises(RedisConnectionError):
                await layer.group_send("inbox.test", {"type": "test.message", "n": 2})
            assert time.monotonic() - started < 0.5, "a publish while Redis is down fails at once"
            await asyncio.sleep(1.0)
            assert resubscribed == []

            await asyncio.to_thread(redis.start)
            returned = time.monotonic()
            arrived = await delivered(layer, "inbox.test", received, 3)
            assert len(resubscribed) == 1
            # The subscriber's reconnect delay is capped at 0.2 s (channels_redis sleeps 1 s
            # after every error).
            assert resubscribed[0] - returned < 0.5, resubscribed[0] - returned
            assert arrived - returned < 1.0, arrived - returned
        finally:
            receiver.cancel()
            remove()
            await layer.flush()
