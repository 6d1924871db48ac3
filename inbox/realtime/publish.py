"""How an event leaves the app: to channel-layer groups, after the write commits.

``publish_on_commit`` is the only way out; services call it inside their transaction. It records
the event in the outbox in that same transaction (``inbox.outbox``), so the record exists exactly
when the write committed, and publishes it after commit, then marks it published. A publish the
layer refuses (Redis down) is repeated in the background by ``_Republisher``; an event whose
process died before publishing it is published by the relay (``inbox/outbox/relay.py``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Iterable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from inbox.outbox.services import outbox_mark_committed, outbox_record
from inbox.realtime import registry
from inbox.realtime.groups import group_stream
from inbox.realtime.layers import bounded
from inbox.signals import send_event_signals

logger = logging.getLogger("inbox")

# Channels routes group messages to the consumer method named by "type".
CONSUMER_HANDLER = "inbox.event"
# Fault hook for tests/test_outbox.py: a process whose environment sets it to some text kills
# itself (SIGKILL) after the commit and before the publish of any event containing that text.
FAULT_KILL_BEFORE_PUBLISH = "INBOX_FAULT_KILL_BEFORE_PUBLISH"


def publish_on_commit(*, groups: Iterable[str], event: dict[str, Any]) -> None:
    """Send ``event`` to ``groups`` once the current transaction commits (at once if none).

    Raises ``ValueError`` (inside the caller's transaction, so the write rolls back) when a
    group's stream may not carry the event (``registry.may_carry``): an unregistered type, or
    one not declared for participants sent to a participant group, is a bug of the caller.
    """
    group_list = list(groups)
    refused = [g for g in group_list if not registry.may_carry(group_stream(g), event)]
    if refused:
        raise ValueError(
            f"event {event.get('slug')!r} may not be published to {', '.join(refused)}"
        )
    outbox_record(event=event, groups=group_list)
    transaction.on_commit(lambda: _committed(group_list, event), robust=True)


def _committed(groups: list[str], event: dict[str, Any]) -> None:
    """After commit: the sockets first (the latency that matters), then one ``UPDATE`` marking
    the event published and signalled, then the site's receivers. Marked before they run, so a
    process that dies before the mark leaves both to the relay, and signals are never sent twice
    (docs/architecture.md, "Signals after a crash")."""
    published = _send(groups, event)
    outbox_mark_committed(event_id=event["id"], published=published)
    send_event_signals(event)


def _send(groups: list[str], event: dict[str, Any]) -> bool:
    marker = os.environ.get(FAULT_KILL_BEFORE_PUBLISH)
    if marker and marker in json.dumps(event):
        os.kill(os.getpid(), signal.SIGKILL)
    return publish_now(groups=groups, event=event)


def publish_now(*, groups: list[str], event: dict[str, Any]) -> bool:
    """Publish ``event`` to ``groups`` now; whether every group took it. Groups that refused it
    are handed to the background republisher."""
    layer = get_channel_layer()
    if layer is None:
        # No layer, no sockets to reach: nothing is left to publish (checks.py warns, W001).
        return True
    payload = {"type": CONSUMER_HANDLER, "event": event}
    # One hop to the event loop for all the groups, published concurrently: each
    # ``async_to_sync`` call waits for the loop's turn, which under load was a visible share of
    # the send path (docs/benchmarks.md, #1 and #2).
    outcomes: list[BaseException | None]
    try:
        outcomes = async_to_sync(_group_send_all)(layer, groups, payload)
    except Exception as error:
        outcomes = [error] * len(groups)
    failed = _failed_groups(groups, outcomes)
    for group, outcome in zip(groups, outcomes, strict=True):
        if isinstance(outcome, BaseException):
            # The write is committed; clients catch up from the database when they resume
            # (and sockets resynchronise by themselves after a layer outage: realtime/health.py).
            logger.warning(
                "inbox: could not publish %s %s to %s (%s: %s); retrying in the background",
                event.get("slug"),
                event.get("entityId"),
                group,
                type(outcome).__name__,
                outcome,
            )
    if failed:
        _republisher.submit(layer, failed, payload)
    return not failed


async def publish_ephemeral(*, groups: list[str], event: dict[str, Any]) -> None:
    """Send an ephemeral event (typing, viewing) to ``groups`` now, from a consumer: nothing is
    stored, so nothing is republished, relayed, replayed or sent to webhooks; a layer that
    refuses it loses it (the next ``start`` comes within 10 s). Refuses, like
    ``publish_on_commit``, a group whose stream may not carry the event."""
    refused = [g for g in groups if not registry.may_carry(group_stream(g), event)]
    if refused:
        raise ValueError(
            f"event {event.get('slug')!r} may not be published to {', '.join(refused)}"
        )
    layer = get_channel_layer()
    if layer is None:
        return
    payload = {"type": CONSUMER_HANDLER, "event": event}
    for group, outcome in zip(groups, await _group_send_all(layer, groups, payload), strict=True):
        if isinstance(outcome, BaseException):
            logger.info(
                "inbox: ephemeral %s to %s lost (%s)",
                event.get("slug"),
                group,
                type(outcome).__name__,
            )


class _Republisher:
    """Publishes again, in the background, what could not be published (the layer was down).

    Sockets of *other* processes may have seen no gap in their own heartbeats (their publishes
    went through once Redis was back), so nothing would tell them to resynchronise: the
    publisher itself must try again. One daemon thread owns one event loop (so one set of layer
    connections) and one queue: every ``RETRY_SECONDS`` it publishes the queued events in the
    order they failed, and after one fails again (the layer is still down) keeps that layer's
    later events for the next round, so an outage costs one attempt per interval, not one per
    failed event. An event still failing after ``GIVE_UP_SECONDS`` is dropped with a warning. A repeat is harmless: clients drop
    event ids they hold.
    """

    RETRY_SECONDS = 0.2
    GIVE_UP_SECONDS = 60.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        # (layer, groups still to publish to, payload, give up at); touched in the loop only.
        self._queue: deque[tuple[Any, list[str], dict[str, Any], float]] = deque()
        self._worker: asyncio.Task[None] | None = None

    def _event_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(
                    target=loop.run_forever, name="inbox-republisher", daemon=True
                ).start()
                self._loop = loop
            return self._loop

    def submit(self, layer: Any, groups: list[str], payload: dict[str, Any]) -> None:
        deadline = time.monotonic() + self.GIVE_UP_SECONDS
        self._event_loop().call_soon_threadsafe(self._enqueue, layer, groups, payload, deadline)

    def _enqueue(
        self, layer: Any, groups: list[str], payload: dict[str, Any], deadline: float
    ) -> None:
        self._queue.append((layer, groups, payload, deadline))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.ensure_future(self._drain())

    async def _drain(self) -> None:
        published = 0
        while self._queue:
            await asyncio.sleep(self.RETRY_SECONDS)
            # One round: the queue in order; after a layer fails once, its later events wait
            # for the next round (other layers' events are still tried).
            down: set[int] = set()
            kept: deque[tuple[Any, list[str], dict[str, Any], float]] = deque()
            while self._queue:
                layer, groups, payload, deadline = self._queue.popleft()
                if time.monotonic() > deadline:
                    event = payload["event"]
                    logger.warning(
                        "inbox: gave up publishing %s %s to %s; clients will catch up on resume",
                        event.get("slug"),
                        event.get("entityId"),
                        ", ".join(groups),
                    )
                    continue
                if id(layer) in down:
                    kept.append((layer, groups, payload, deadline))
                    continue
                outcomes = await _group_send_all(layer, groups, payload)
                failed = _failed_groups(groups, outcomes)
                if failed:
                    down.add(id(layer))
                    kept.append((layer, failed, payload, deadline))
                else:
                    published += 1
            self._queue.extend(kept)
        if published:
            logger.info("inbox: published %d events after a retry", published)


_republisher = _Republisher()


def _failed_groups(groups: list[str], outcomes: list[BaseException | None]) -> list[str]:
    return [
        group
        for group, outcome in zip(groups, outcomes, strict=True)
        if isinstance(outcome, BaseException)
    ]


async def _group_send_all(
    layer: Any, groups: list[str], payload: dict[str, Any]
) -> list[BaseException | None]:
    # Bounded: an unreachable Redis must not hold the REST response that triggered the send.
    return await asyncio.gather(
        *(bounded(layer.group_send(group, payload)) for group in groups), return_exceptions=True
    )
