"""Detects that a networked channel layer may have lost messages, so sockets can catch up.

Redis pub/sub is fire-and-forget: while Redis is down (or while this process's subscriber
connection is being re-established) a published event reaches nobody and nobody is told. One
``LayerWatchdog`` per event loop publishes a numbered heartbeat to a channel of its own every
``HEARTBEAT_SECONDS`` through the same layer; a missing number proves a window in which this
process may have missed events. When heartbeats flow again, every socket of the process is asked
to resynchronise: it replays from the database what it may have missed (the same code path as a
client's resume), so a short outage costs no message. Layers that live in process (in-memory)
cannot lose messages this way and get no watchdog.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

from inbox.realtime.layers import bounded, is_in_process

logger = logging.getLogger("inbox")

HEARTBEAT_SECONDS = 0.5
HEARTBEAT_TYPE = "inbox.heartbeat"
# Seconds after a detected loss at which the sockets resynchronise again (see ``_receive``).
RESYNC_AGAIN_AFTER = (1.5, 4.0)


class Resyncable(Protocol):
    async def request_resync(self) -> None: ...


class LayerWatchdog:
    def __init__(self, layer: Any) -> None:
        self.layer = layer
        self.consumers: set[Resyncable] = set()
        self.task: asyncio.Task[None] | None = None
        self.pending: set[asyncio.Task[None]] = set()

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
        for task in self.pending:
            task.cancel()
        return True

    async def _run(self) -> None:
        channel: str | None = None
        receiver: asyncio.Task[None] | None = None
        number = 0
        failing = False
        try:
            while True:
                if channel is None:
                    try:
                        new_channel: str = await bounded(self.layer.new_channel("inbox.heartbeat."))
                    except Exception:
                        await asyncio.sleep(HEARTBEAT_SECONDS)
                        continue
                    channel = new_channel
                    receiver = asyncio.ensure_future(self._receive(new_channel))
                number += 1
                try:
                    await bounded(self.layer.send(channel, {"type": HEARTBEAT_TYPE, "n": number}))
                    failing = False
                except Exception as error:
                    if not failing:
                        logger.warning(
                            "inbox: channel layer unreachable (%s); sockets will resynchronise "
                            "from the database when it is back",
                            type(error).__name__,
                        )
                    failing = True
                await asyncio.sleep(HEARTBEAT_SECONDS)
        finally:
            if receiver is not None:
                receiver.cancel()

    async def _receive(self, channel: str) -> None:
        last = 0
        while True:
            message = await self.layer.receive(channel)
            number = int(message.get("n", 0))
            if number > last + 1:
                logger.warning(
                    "inbox: channel layer lost heartbeats %s..%s; resynchronising %d sockets "
                    "from the database",
                    last + 1,
                    number - 1,
                    len(self.consumers),
                )
                await self._resync()
                # Publishes that were still failing (bounded at a few seconds each) when the
                # first heartbeat came back were lost after that resync: resync again once
                # they have all given up. Replays repeat only ids the clients already hold.
                for delay in RESYNC_AGAIN_AFTER:
                    task = asyncio.ensure_future(self._resync(after=delay))
                    self.pending.add(task)
                    task.add_done_callback(self.pending.discard)
            last = max(last, number)

    async def _resync(self, after: float = 0.0) -> None:
        if after:
            await asyncio.sleep(after)
        for consumer in list(self.consumers):
            await consumer.request_resync()


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
