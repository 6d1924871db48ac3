"""Detects that a networked channel layer may have lost messages, so sockets can catch up.

Redis pub/sub is fire-and-forget: while Redis is down (or while this process's subscriber
connection is being re-established) a published event reaches nobody and nobody is told. One
``LayerWatchdog`` per event loop publishes a numbered heartbeat to a channel of its own every
``HEARTBEAT_SECONDS`` through the same layer; a missing number proves a window in which this
process may have missed events. When heartbeats flow again, every socket of the process is asked
to resynchronise: it replays from the database what it may have missed (the same code path as a
client's resume), so a short outage costs no message. Layers that live in process (in-memory)
cannot lose messages this way and get no watchdog.

A layer that knows when its subscription came back (``layers.RedisPubSubChannelLayer``'s
``on_resubscribed``) does not wait for a gap in the numbers: the watchdog sends a heartbeat at
once, and when that heartbeat arrives (which proves the subscription is active again) every socket
resynchronises. Whatever was published while the subscription was down was committed before
that point, so the replay finds it; whatever is published after it arrives live. Publishes that
failed are repeated by their publisher (``publish._Republisher``) and arrive live.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Protocol

from inbox.realtime.layers import bounded, is_in_process

logger = logging.getLogger("inbox")

HEARTBEAT_SECONDS = 0.5
HEARTBEAT_TYPE = "inbox.heartbeat"
# Only for a layer that cannot say when its subscription is back (no ``on_resubscribed``): after
# a gap in the heartbeats, resynchronise again this many seconds later, in case the subscription
# came back only after the heartbeat that revealed the gap.
RESYNC_AGAIN_AFTER = (1.5, 4.0)


class Resyncable(Protocol):
    def request_resync(self) -> None: ...


class LayerWatchdog:
    def __init__(self, layer: Any) -> None:
        self.layer = layer
        self.consumers: set[Resyncable] = set()
        self.task: asyncio.Task[None] | None = None
        # The number of the last heartbeat sent, and the first one whose arrival proves a
        # re-established subscription (then every socket resynchronises).
        self.number = 0
        self.resync_from: int | None = None
        self.wake = asyncio.Event()
        self.forget: Callable[[], None] | None = None
        self.timers: list[asyncio.TimerHandle] = []

    def register(self, consumer: Resyncable) -> None:
        self.consumers.add(consumer)
        if self.task is None:
            self.task = asyncio.ensure_future(self._run())

    def unregister(self, consumer: Resyncable) -> bool:
        """Forget ``consumer``; returns True when the watchdog has nothing left to watch."""
        self.consumers.discard(consumer)
        if self.consumers or self.task is None:
            return not self.consumers
        self.task.cancel()
        self.task = None
        for timer in self.timers:
            timer.cancel()
        self.timers = []
        if self.forget is not None:
            self.forget()
            self.forget = None
        return True

    def resubscribed(self) -> None:
        """The layer's subscriber connection is back: prove it with a heartbeat, then resync."""
        self.resync_from = self.number + 1
        self.wake.set()

    async def _pause(self) -> None:
        """Until the next heartbeat is due, or at once after ``resubscribed``."""
        try:
            await asyncio.wait_for(self.wake.wait(), HEARTBEAT_SECONDS)
        except TimeoutError:
            pass
        self.wake.clear()

    async def _run(self) -> None:
        channel: str | None = None
        receiver: asyncio.Task[None] | None = None
        failing = False
        on_resubscribed = getattr(self.layer, "on_resubscribed", None)
        if on_resubscribed is not None and self.forget is None:
            self.forget = on_resubscribed(self.resubscribed)
        try:
            while True:
                if channel is None:
                    try:
                        new_channel: str = await bounded(self.layer.new_channel("inbox.heartbeat."))
                    except Exception:
                        await self._pause()
                        continue
                    channel = new_channel
                    receiver = asyncio.ensure_future(self._receive(new_channel))
                self.number += 1
                message = {"type": HEARTBEAT_TYPE, "n": self.number}
                try:
                    await bounded(self.layer.send(channel, message))
                    failing = False
                except Exception as error:
                    if not failing:
                        logger.warning(
                            "inbox: channel layer unreachable (%s); sockets will resynchronise "
                            "from the database when it is back",
                            type(error).__name__,
                        )
                    failing = True
                await self._pause()
        finally:
            if receiver is not None:
                receiver.cancel()

    async def _receive(self, channel: str) -> None:
        last = 0
        while True:
            message = await self.layer.receive(channel)
            number = int(message.get("n", 0))
            lost = number > last + 1
            # A heartbeat sent after the subscriber reconnected has come back through it.
            back = self.resync_from is not None and number >= self.resync_from
            if back:
                self.resync_from = None
            if lost or back:
                logger.warning(
                    "inbox: channel layer %s; resynchronising %d sockets from the database",
                    f"lost heartbeats {last + 1}..{number - 1}" if lost else "subscription is back",
                    len(self.consumers),
                )
                self._resync()
                if lost and self.forget is None:
                    loop = asyncio.get_running_loop()
                    self.timers = [
                        loop.call_later(delay, self._resync) for delay in RESYNC_AGAIN_AFTER
                    ]
            last = max(last, number)

    def _resync(self) -> None:
        for consumer in list(self.consumers):
            consumer.request_resync()


_watchdogs: dict[asyncio.AbstractEventLoop, LayerWatchdog] = {}


def watch(layer: Any, consumer: Resyncable) -> None:
    if layer is None or is_in_process(layer):
        return
    loop = asyncio.get_running_loop()
    watchdog = _watchdogs.get(loop)
    if watchdog is None:
        watchdog = _watchdogs[loop] = LayerWatchdog(layer)
    watchdog.register(consumer)


def unwatch(consumer: Resyncable) -> None:
    loop = asyncio.get_running_loop()
    watchdog = _watchdogs.get(loop)
    if watchdog is not None and watchdog.unregister(consumer):
        del _watchdogs[loop]
