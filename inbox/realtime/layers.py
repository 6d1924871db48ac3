"""Channel-layer helpers: bounded calls, an in-memory layer that does not drop silently, and the
Redis pub/sub layer of realtime/redis_layer.py (imported on first use: the ``[redis]`` extra)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any, TypeVar

from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer as ChannelsInMemoryChannelLayer
from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger("inbox")

# A channel-layer call that takes longer than this is treated as a failure: a REST send must
# not hang on an unreachable Redis, and a handshake must answer 4013 instead of waiting.
LAYER_TIMEOUT_SECONDS = 3.0

T = TypeVar("T")


async def bounded(call: Awaitable[T], timeout: float = LAYER_TIMEOUT_SECONDS) -> T:
    return await asyncio.wait_for(call, timeout)


def is_in_process(layer: Any) -> bool:
    """Whether the layer lives in this process (nothing to lose to a network outage)."""
    return isinstance(layer, ChannelsInMemoryChannelLayer)


class InMemoryChannelLayer(ChannelsInMemoryChannelLayer):
    """Channels' in-memory layer, but a message dropped because a consumer's queue is full is
    logged at WARNING (Channels drops it silently). The consumer catches up on resume."""

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        assert isinstance(message, dict), "Message is not a dict"
        self.require_valid_group_name(group)
        self._clean_expired()
        channels = list(self.groups.get(group, {}).keys())
        results = await asyncio.gather(
            *(self.send(channel, message) for channel in channels), return_exceptions=True
        )
        for channel, result in zip(channels, results, strict=True):
            if isinstance(result, ChannelFull):
                logger.warning(
                    "inbox: channel layer dropped a message to %s (queue full, capacity %s)",
                    channel,
                    self.capacity,
                )
            elif isinstance(result, BaseException):
                raise result


def __getattr__(name: str) -> Any:
    """``RedisPubSubChannelLayer`` is imported on first use, so that a site without the
    ``[redis]`` extra (channels-redis) can import this module and every other one."""
    if name != "RedisPubSubChannelLayer":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        from inbox.realtime.redis_layer import RedisPubSubChannelLayer
    except ModuleNotFoundError as missing:
        # Not an ImportError: Channels would replace it with "Cannot import BACKEND".
        raise ImproperlyConfigured(
            f"inbox.realtime.layers.RedisPubSubChannelLayer needs channels-redis ({missing}): "
            'pip install "django-inbox[redis]".'
        ) from missing
    return RedisPubSubChannelLayer
