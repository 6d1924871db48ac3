"""The Redis pub/sub channel layer (the ``[redis]`` extra): channels_redis's, with a subscriber
that comes back promptly after an outage and says so. Imported through
``inbox.realtime.layers.RedisPubSubChannelLayer``, which names the extra when it is missing."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from channels_redis import pubsub as channels_pubsub
from channels_redis.utils import _wrap_close, decode_hosts
from redis.asyncio import client as redis_asyncio_client

logger = logging.getLogger("inbox")


class _PubSub(redis_asyncio_client.PubSub):
    """redis-py's PubSub, calling ``on_resubscribed`` each time the connection is re-established
    (redis-py calls ``on_connect`` on every reconnect of the subscribed connection, not on the
    first connect, after it has sent the SUBSCRIBE for every channel again)."""

    def __init__(self, *args: Any, on_resubscribed: Callable[[], None], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._on_resubscribed = on_resubscribed

    async def on_connect(self, connection: Any) -> None:
        await super().on_connect(connection)
        self._on_resubscribed()


class _Shard(channels_pubsub.RedisSingleShardConnection):
    """One Redis host's connections, with a subscriber that reconnects within a bounded delay.

    channels_redis's receive loop sleeps 1 s after every error and logs a traceback each time;
    here a lost subscriber connection is retried after ``reconnect_min`` seconds, doubling up to
    ``reconnect_max``, and every re-established subscription is reported to the loop layer's
    listeners (messages published in between reached nobody here)."""

    def __init__(self, host: dict[str, Any], layer: _LoopLayer) -> None:
        super().__init__(host, layer)
        self.loop_layer = layer
        self.down_since: float | None = None
        self.failures = 0

    def _ensure_redis(self) -> None:
        if self._redis is None:
            super()._ensure_redis()
            redis: Any = self._redis
            self._pubsub = _PubSub(
                redis.connection_pool, on_resubscribed=self.loop_layer.resubscribed
            )

    async def _do_receiving(self) -> None:
        while True:
            try:
                if self._pubsub and self._pubsub.subscribed:
                    message = await self._pubsub.get_message(
                        ignore_subscribe_messages=True, timeout=0.1
                    )
                    self._receive_message(message)
                else:
                    await asyncio.sleep(0.1)
            except (asyncio.CancelledError, GeneratorExit):
                raise
            except Exception as error:
                self.failures += 1
                if self.down_since is None:
                    self.down_since = time.monotonic()
                    logger.warning(
                        "inbox: channel layer subscriber lost its connection (%s: %s); "
                        "reconnecting",
                        type(error).__name__,
                        error,
                    )
                # The exponent is capped too: a float cannot hold 2 ** 1024.
                delay = self.loop_layer.reconnect_min * 2 ** min(self.failures - 1, 20)
                await asyncio.sleep(min(delay, self.loop_layer.reconnect_max))
                continue
            if self.down_since is not None:
                logger.warning(
                    "inbox: channel layer subscriber reconnected after %.2f s",
                    time.monotonic() - self.down_since,
                )
                self.down_since = None
                self.failures = 0


class _LoopLayer(channels_pubsub.RedisPubSubLoopLayer):
    def __init__(
        self, *args: Any, reconnect_min: float, reconnect_max: float, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.reconnect_min = reconnect_min
        self.reconnect_max = reconnect_max
        self.listeners: list[Callable[[], None]] = []
        self._shards = [_Shard(host, self) for host in decode_hosts(kwargs.get("hosts"))]

    def resubscribed(self) -> None:
        for listener in list(self.listeners):
            try:
                listener()
            except Exception:
                logger.exception("inbox: a resubscription listener failed")


class RedisPubSubChannelLayer(channels_pubsub.RedisPubSubChannelLayer):
    """channels_redis's pub/sub layer with a prompt subscriber reconnect, and a hook
    (``on_resubscribed``) that tells this process when its subscription came back after a loss,
    so that sockets can resynchronise from the database at once (realtime/health.py).

    Extra CONFIG keys: ``reconnect_min_seconds`` / ``reconnect_max_seconds`` (the subscriber's
    reconnect delay: doubling from the first to the second), ``connect_timeout_seconds`` (each
    connection attempt; channels_redis leaves redis-py's 5 s). Commands are not retried by
    redis-py (a failed publish fails at once; events.py retries it)."""

    def __init__(
        self,
        *args: Any,
        hosts: Any = None,
        reconnect_min_seconds: float = 0.02,
        reconnect_max_seconds: float = 0.2,
        connect_timeout_seconds: float = 1.0,
        **kwargs: Any,
    ) -> None:
        decoded = [
            {"socket_connect_timeout": connect_timeout_seconds, **host}
            for host in decode_hosts(hosts)
        ]
        super().__init__(*args, hosts=decoded, **kwargs)
        self.reconnect_min = reconnect_min_seconds
        self.reconnect_max = reconnect_max_seconds
        self._last_payload: bytes | None = None
        self._last_message: Any = None

    def deserialize(self, message: bytes) -> Any:
        """One group message reaches every local member of the group as the *same* bytes
        object (channels_redis queues it once per channel), and each consumer's ``receive``
        deserialized it again: with 500 sockets on a worker that was 500 msgpack decodes per
        event (docs/benchmarks.md, #4). Consecutive receives of one payload now share one
        decoded message, so consumers must treat received messages as read-only (ours do)."""
        if message is self._last_payload:
            return self._last_message
        decoded = super().deserialize(message)
        self._last_payload, self._last_message = message, decoded
        return decoded

    def _get_layer(self) -> _LoopLayer:
        loop = asyncio.get_running_loop()
        layer = self._layers.get(loop)
        if layer is None:
            layer = _LoopLayer(
                *self._args,
                **self._kwargs,
                channel_layer=self,
                reconnect_min=self.reconnect_min,
                reconnect_max=self.reconnect_max,
            )
            self._layers[loop] = layer
            _wrap_close(self, loop)
        return layer

    def on_resubscribed(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener`` (in this event loop) each time this loop's subscriber connection
        is re-established; returns a function that removes it."""
        listeners = self._get_layer().listeners
        listeners.append(listener)

        def remove() -> None:
            if listener in listeners:
                listeners.remove(listener)

        return remove
