"""The two WebSocket streams. Push-only: they authenticate, join groups, relay events and replay
missed messages from the database; every write goes through REST (``inbox.services``).

Gap-free resume (docs/events.md): a socket joins its groups *before* it is accepted, greets the
client, and until the client's ``resume`` frame has been processed every live event is held in a
buffer. A client that sends no ``resume`` within ``SOCKET_RESUME_WAIT_SECONDS`` is put live
without a replay: the buffer is delivered and ``ready`` says so. The
replay query therefore runs after the subscription exists: a message committed before it is in
the query's result, one committed after it arrives live (or both, with the same event id). The
replay is sent first, then the buffer minus the ids already sent, then live events. Channels
dispatches a consumer's messages one at a time, so nothing is relayed while a replay runs.

Revocation (docs/events.md, "Close codes"): the caller is checked again while the socket is
open (``recheck.py``); a caller that is no longer valid is removed from its groups and the socket
closed with the code its handshake would now get.

What a stream relays is the registry's call (``registry.may_carry``): default deny, so an event
type nobody declared for a stream never reaches its sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
import uuid
from collections import OrderedDict, deque
from typing import Any

from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from channels.utils import await_many_dispatch

from inbox import selectors
from inbox.conf import inbox_settings
from inbox.identity import Caller, CallerKind
from inbox.models import Message
from inbox.presence.services import presence_drop, presence_touch
from inbox.realtime import events, health, protocol, registry
from inbox.realtime import typing as typing_frames
from inbox.realtime.groups import business_group, participant_group, probe_group
from inbox.realtime.layers import bounded
from inbox.realtime.middleware import (
    SCOPE_CALLER,
    SCOPE_CREDENTIAL_EXPIRES,
    SCOPE_CREDENTIAL_REFUSED,
)
from inbox.realtime.protocol import (
    CLOSE_FORBIDDEN,
    CLOSE_TOO_BIG,
    CLOSE_TOO_MANY_FRAMES,
    CLOSE_TRY_AGAIN_LATER,
    CLOSE_UNAUTHENTICATED,
)
from inbox.realtime.publish import CONSUMER_HANDLER, publish_ephemeral
from inbox.realtime.recheck import CallerRecheck

logger = logging.getLogger("inbox")

# The limits on what a client may send (frame size, frame rate, conversations named in a resume)
# and on what a resume replays are INBOX settings (inbox/conf.py: SOCKET_*, REPLAY_LIMIT).
# Live events held while waiting for the client's resume frame; past it the socket goes live
# at once and tells the client to refetch (``reset``).
MAX_BUFFERED_EVENTS = 10_000
# Event ids remembered per socket to drop the live copy of a replayed event.
MAX_REMEMBERED_IDS = 20_000


def now_sequence() -> int:
    """The current time in the sequence space (µs since the epoch)."""
    return time.time_ns() // 1000


class InboxStreamConsumer(AsyncWebsocketConsumer):
    """What both streams share: handshake, frame handling, buffer, replay, relay."""

    # The stream whose events the registry lets through, and the visibility its readers have
    # (decides replay through the selector).
    stream: registry.Stream = registry.Stream.BUSINESS
    visibility: str = Message.Visibility.BUSINESS
    # The caller's re-check; None until accepted.
    recheck: CallerRecheck | None = None
    # Puts the socket live if the client sends no ``resume``; None until accepted.
    resume_wait: asyncio.TimerHandle | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        # Channels' ``AsyncConsumer.__call__``, except that a channel layer that cannot create
        # this socket's channel (Redis down) ends the handshake with 4013 instead of an
        # exception, which the server would turn into an HTTP 500.
        self.scope = scope
        self.base_send = send
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        if self.channel_layer is None:
            await self._refuse_raw(receive, CLOSE_TRY_AGAIN_LATER)
            return
        try:
            self.channel_name = await bounded(self.channel_layer.new_channel())
        except Exception as error:
            logger.warning(
                "inbox: socket refused with 4013, channel layer unavailable (%s)",
                type(error).__name__,
            )
            await self._refuse_raw(receive, CLOSE_TRY_AGAIN_LATER)
            return
        self.channel_receive = functools.partial(self.channel_layer.receive, self.channel_name)
        # Messages from this process to this socket (resynchronisation requests): dispatched in
        # turn with the client's frames and the layer's events, without a trip through Redis.
        self.local_messages: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.resync_queued = False
        try:
            await await_many_dispatch(
                [receive, self.channel_receive, self.local_messages.get], self.dispatch
            )
        except StopConsumer:
            pass

    async def _refuse_raw(self, receive: Any, code: int) -> None:
        message = await receive()
        if message.get("type") == "websocket.connect":
            await self.base_send({"type": "websocket.accept"})
            await self.base_send({"type": "websocket.close", "code": code})

    # Handshake -------------------------------------------------------------------------------

    async def connect(self) -> None:
        self.joined: list[str] = []
        self.live = False
        self.resumed = False
        self.buffer: list[dict[str, Any]] = []
        self.sent_ids: OrderedDict[str, None] = OrderedDict()
        # Highest sequence sent per conversation, and in any conversation (for resynchronising
        # this socket itself after a channel-layer outage).
        self.positions: dict[uuid.UUID, int] = {}
        self.highest: int | None = None
        # The socket's own time at the handshake: what a socket put live without a resume
        # resynchronises from (nothing before it was asked for).
        self.connected_at = now_sequence()
        # A resynchronisation requested before the socket went live; honoured once it is, when
        # no client resume (which reads the database itself) made it live.
        self.resync_missed = False
        self.frame_times: deque[float] = deque()
        caller: Caller | None = self.scope.get(SCOPE_CALLER)
        if caller is None or self.scope.get(SCOPE_CREDENTIAL_REFUSED):
            await self._refuse(CLOSE_UNAUTHENTICATED)
            return
        groups = await database_sync_to_async(self.groups_for)(caller)
        if groups is None:
            await self._refuse(CLOSE_FORBIDDEN)
            return
        try:
            for group in groups:
                await bounded(self.channel_layer.group_add(group, self.channel_name))
                self.joined.append(group)
            # Joining a group this process already listens to, or subscribing over a
            # connection whose loss the subscriber has not read yet, needs no answer from
            # Redis; one publish does, so a handshake in an outage gets 4013, not a socket
            # that hears nothing until the layer is back.
            await bounded(self.channel_layer.group_send(probe_group(), {"type": "inbox.probe"}))
        except Exception as error:
            logger.warning(
                "inbox: socket refused with 4013, channel layer unavailable (%s)",
                type(error).__name__,
            )
            await self._refuse(CLOSE_TRY_AGAIN_LATER)
            return
        await self.accept()
        wait = inbox_settings.SOCKET_RESUME_WAIT_SECONDS
        await self._send_frame(protocol.greeting(stream=self.stream.value, resume_wait=wait))
        # Queued with the socket's other work, so it never runs in the middle of a replay.
        self.resume_wait = asyncio.get_running_loop().call_later(
            wait, self.local_messages.put_nowait, {"type": "inbox.resume_wait_over"}
        )
        health.watch(self.channel_layer, self)
        self.recheck = CallerRecheck(
            caller=caller,
            credential_expires=self.scope.get(SCOPE_CREDENTIAL_EXPIRES),
            session_key=getattr(self.scope.get("session"), "session_key", None),
            admits=self.admits,
            local_messages=self.local_messages,
        )
        self.recheck.schedule()
        await self.accepted(caller)

    async def accepted(self, caller: Caller) -> None:
        """Called once the socket is accepted and greeted."""

    async def _refuse(self, code: int) -> None:
        # Accept first: a close before accepting becomes an HTTP 403 and the code is lost.
        await self.accept()
        await self.close(code=code)

    def groups_for(self, caller: Caller) -> list[str] | None:
        """The groups this caller's socket joins, or None if it may not open this stream."""
        raise NotImplementedError

    def admits(self, caller: Caller) -> bool:
        """May this caller open (and keep open) this stream? No database access beyond the
        caller's own permission check."""
        raise NotImplementedError

    async def disconnect(self, code: int) -> None:
        if self.recheck is not None:
            self.recheck.cancel()
        if self.resume_wait is not None:
            self.resume_wait.cancel()
        health.unwatch(self)
        await self._leave_groups()

    async def _leave_groups(self) -> None:
        joined, self.joined = getattr(self, "joined", []), []
        for group in joined:
            try:
                await bounded(self.channel_layer.group_discard(group, self.channel_name))
            except Exception:
                logger.info("inbox: could not leave group %s on disconnect", group)

    # Re-checking the caller ------------------------------------------------------------------

    async def inbox_recheck(self, message: dict[str, Any]) -> None:
        if self.recheck is not None and self.recheck.is_current(message):
            await self._recheck()

    async def _recheck(self) -> bool:
        """Check the caller again; close the socket if it may no longer hold it. Returns
        whether the socket stays open."""
        assert self.recheck is not None
        code = await self.recheck.run()
        if code is None:
            return True
        health.unwatch(self)
        await self._leave_groups()
        self.buffer = []
        await self.close(code=code)
        return False

    # Client frames ---------------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if not getattr(self, "joined", None):
            # Refused, revoked or disconnecting: nothing more is served.
            return
        if not self._frame_allowed():
            await self.close(code=CLOSE_TOO_MANY_FRAMES)
            return
        raw = text_data if text_data is not None else (bytes_data or b"").decode("utf-8", "replace")
        if len(raw) > inbox_settings.SOCKET_MAX_FRAME_CHARS:
            await self.close(code=CLOSE_TOO_BIG)
            return
        frame = protocol.decode_frame(raw)
        if frame is None:
            await self._error(
                protocol.ERROR_INVALID_FRAME, 'A frame is a JSON object with a "type"'
            )
            return
        kind = frame["type"]
        if kind == "ping":
            await self._send_frame({"type": "pong"})
        elif kind == "resume":
            await self._client_resume(frame)
        else:
            await self._typing_frame(frame)

    async def _typing_frame(self, frame: dict[str, Any]) -> None:
        """``typing`` and ``viewing`` (``realtime/typing.py``), relayed as ephemeral events."""
        kind = frame["type"]
        try:
            deliveries = self.typing_deliveries(frame)
        except LookupError:
            await self._error(protocol.ERROR_UNKNOWN_TYPE, f"Unknown frame type {kind[:40]!r}")
            return
        except PermissionError as error:
            await self._error(protocol.ERROR_NOT_ALLOWED, str(error))
            return
        except ValueError as error:
            await self._error(protocol.ERROR_INVALID_FRAME, str(error))
            return
        for groups, event in deliveries:
            await publish_ephemeral(groups=groups, event=event)

    def typing_deliveries(self, frame: dict[str, Any]) -> typing_frames.Deliveries:
        """What a ``typing`` / ``viewing`` frame becomes; ``LookupError``: not such a frame."""
        raise NotImplementedError

    def _frame_allowed(self) -> bool:
        now = time.monotonic()
        window = inbox_settings.SOCKET_FRAMES_WINDOW_SECONDS
        while self.frame_times and now - self.frame_times[0] > window:
            self.frame_times.popleft()
        self.frame_times.append(now)
        return len(self.frame_times) <= inbox_settings.SOCKET_MAX_FRAMES

    async def _client_resume(self, frame: dict[str, Any]) -> None:
        try:
            named, since, others = self.parse_resume(frame)
        except ValueError as error:
            await self._error(protocol.ERROR_INVALID_RESUME, str(error))
            return
        replayed = await self._replay(named=named, since=since, others=others)
        if replayed is not None:
            await self._send_frame({"type": "ready", "replayed": replayed})

    def parse_resume(self, frame: dict[str, Any]) -> tuple[dict[uuid.UUID, int], int | None, bool]:
        """(positions per conversation, ``since``, replay conversations not named?)"""
        raise NotImplementedError

    async def _replay(
        self, *, named: dict[uuid.UUID, int], since: int | None, others: bool
    ) -> int | None:
        """Send what the database holds past the positions, then the buffer, then go live.
        Returns the number of replayed events, or None if the client was told to reset."""
        # A socket's own time is where a later resynchronisation starts if it never sees an
        # event: nothing before it was asked for.
        baseline = now_sequence()
        try:
            if named or since is not None:
                # ``sent_ids`` changes only in this consumer's own handlers, and none runs while
                # this one waits for the replay.
                messages = await database_sync_to_async(selectors.replay_messages)(
                    visibility=self.visibility,
                    named=named,
                    since=since,
                    others=others,
                    known=self.sent_ids,
                    event_id=events.message_event_id,
                )
            else:
                messages = []
        except selectors.ReplayTooLarge:
            await self._send_frame({"type": "reset", "reason": protocol.RESET_TOO_MANY})
            messages = None
        replayed = 0
        for message in messages or []:
            replayed += await self._emit(events.message_event(message))
        await self._go_live(baseline=baseline)
        return None if messages is None else replayed

    async def _go_live(self, *, baseline: int) -> None:
        """Send the buffered events (minus the ids already sent) and relay from now on."""
        buffered, self.buffer = self.buffer, []
        for event in buffered:
            await self._emit(event)
        if not self.resumed:
            self.resumed = True
            self.highest = max(self.highest or 0, baseline)
        self.live = True

    async def inbox_resume_wait_over(self, message: dict[str, Any]) -> None:
        """No ``resume`` in time: a client that never sends one still gets its events (a silent
        socket reads as "push is broken"). Nothing before the handshake is replayed."""
        if self.resumed or self.live or not self.joined:
            return
        await self._go_live(baseline=self.connected_at)
        await self._send_frame({"type": "ready", "replayed": 0, "resumed": False})
        if self.resync_missed:
            self.request_resync()

    # Events from the channel layer -----------------------------------------------------------

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels runs ``close_old_connections`` in the sync thread before every message; a
        # live event never touches the database (replays and handshakes go through
        # ``database_sync_to_async``, which does it itself), and that one thread hop per socket
        # per event, serialised on one thread, dominated a fan-out (docs/benchmarks.md, #4).
        # Past the re-check deadline, the caller is checked before anything is served.
        if self.recheck is not None and self.recheck.gates(message) and not await self._recheck():
            return
        if message.get("type") == CONSUMER_HANDLER:
            await self.inbox_event(message)
            return
        await super().dispatch(message)

    async def inbox_event(self, message: dict[str, Any]) -> None:
        if not self.joined:
            # Left its groups (revoked caller): events already queued are not relayed.
            return
        event = message["event"]
        if not registry.may_carry(self.stream, event):
            logger.error(
                "inbox: event %s %s reached the %s stream, which may not carry it; dropped",
                event.get("slug"),
                event.get("id"),
                self.stream.value,
            )
            return
        if self.live:
            await self._emit(event)
            return
        if len(self.buffer) >= MAX_BUFFERED_EVENTS:
            logger.warning("inbox: socket buffer full before resume; client told to reset")
            self.buffer = []
            self.live = True
            await self._send_frame({"type": "reset", "reason": protocol.RESET_BUFFER_FULL})
            await self._emit(event)
            return
        self.buffer.append(event)

    def request_resync(self) -> None:
        """Called by the layer watchdog (same event loop): queue a resynchronisation, so it
        runs in turn with everything else the socket does. Requests that arrive while one is
        still queued are the same request; one that arrives while it runs queues the next."""
        if not self.resync_queued:
            self.resync_queued = True
            self.local_messages.put_nowait({"type": "inbox.resync"})

    async def inbox_resync(self, message: dict[str, Any]) -> None:
        self.resync_queued = False
        if not self.resumed or not self.joined:
            # The client's own resume is still to come and will read the database; if none
            # comes, going live without one resynchronises then.
            self.resync_missed = True
            return
        named, since, others = self.resync_positions()
        await self._replay(named=named, since=since, others=others)

    def resync_positions(self) -> tuple[dict[uuid.UUID, int], int | None, bool]:
        """Where this socket resumes itself from: what it has sent so far."""
        raise NotImplementedError

    async def _emit(self, event: dict[str, Any]) -> int:
        event_id = event.get("id")
        if event_id in self.sent_ids:
            return 0
        await self.send(text_data=protocol.event_frame(event))
        if event_id is not None:
            self.sent_ids[event_id] = None
            if len(self.sent_ids) > MAX_REMEMBERED_IDS:
                self.sent_ids.popitem(last=False)
        self._advance(event)
        return 1

    def _advance(self, event: dict[str, Any]) -> None:
        message = event.get("data", {}).get("message")
        if event.get("entityFqdn") != registry.MESSAGE_FQDN or not isinstance(message, dict):
            return
        try:
            conversation_id = uuid.UUID(event["data"]["conversationId"])
            sequence = int(message["sequence"])
        except (KeyError, TypeError, ValueError):
            return
        self.positions[conversation_id] = max(self.positions.get(conversation_id, 0), sequence)
        self.highest = max(self.highest or 0, sequence)

    async def _send_frame(self, frame: dict[str, Any]) -> None:
        await self.send(text_data=protocol.frame_text(frame))

    async def _error(self, code: str, message: str) -> None:
        await self._send_frame({"type": "error", "code": code, "message": message})


class BusinessStreamConsumer(InboxStreamConsumer):
    """``/ws/inbox/business/``: every event of every conversation, for staff and API apps."""

    visibility = Message.Visibility.BUSINESS
    may_type = False
    # The presence heartbeat of a staff socket and what ends it; None otherwise.
    presence: asyncio.Task[None] | None = None
    presence_over: asyncio.Event | None = None

    def groups_for(self, caller: Caller) -> list[str] | None:
        if not self.admits(caller):
            return None
        return [business_group()]

    def admits(self, caller: Caller) -> bool:
        # Whether it may announce typing is decided here too, where the permission check may
        # touch the database (handshake and re-checks), not on every frame.
        self.may_type = caller.kind is CallerKind.STAFF and caller.can_write_business()
        return caller.is_business and caller.can_read_business()

    def parse_resume(self, frame: dict[str, Any]) -> tuple[dict[uuid.UUID, int], int | None, bool]:
        named, since = protocol.parse_business_resume(frame)
        return named, since, True

    def typing_deliveries(self, frame: dict[str, Any]) -> typing_frames.Deliveries:
        if frame["type"] not in ("typing", "viewing"):
            raise LookupError(frame["type"])
        caller = self.scope[SCOPE_CALLER]
        if caller.kind is not CallerKind.STAFF:
            raise PermissionError("Only staff users announce typing and viewing")
        if frame["type"] == "typing" and not self.may_type:
            raise PermissionError("Typing needs the permission to send messages")
        return typing_frames.staff_frame(frame=frame, caller=caller)

    # Presence: every staff socket is a heartbeat (inbox/presence/store.py) -------------------

    async def accepted(self, caller: Caller) -> None:
        if caller.kind is CallerKind.STAFF:
            self.presence_over = asyncio.Event()
            self.presence = asyncio.create_task(
                self._presence_beat(caller.user.pk, self.presence_over)
            )

    async def _presence_beat(self, user_pk: Any, over: asyncio.Event) -> None:
        interval = inbox_settings.PRESENCE_TTL_SECONDS / 3
        while not over.is_set():
            try:
                await database_sync_to_async(presence_touch)(key=self.channel_name, user_pk=user_pk)
            except Exception as error:
                # Redis or the database is down: the entry expires and the widget says away,
                # which is the truth it can know; the next beat tries again.
                logger.warning("inbox: presence heartbeat failed (%s)", type(error).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(over.wait(), interval)

    async def disconnect(self, code: int) -> None:
        presence, self.presence = self.presence, None
        if presence is not None and self.presence_over is not None:
            # Not cancelled: a heartbeat already writing would land after the drop and leave a
            # ghost for a TTL. The beat finishes its write, sees the end, and stops.
            self.presence_over.set()
            await presence
            try:
                await database_sync_to_async(presence_drop)(key=self.channel_name)
            except Exception as error:
                logger.warning("inbox: presence not dropped (%s); it expires", type(error).__name__)
        await super().disconnect(code)

    def resync_positions(self) -> tuple[dict[uuid.UUID, int], int | None, bool]:
        return dict(self.positions), self.highest, True


class ParticipantStreamConsumer(InboxStreamConsumer):
    """``/ws/inbox/participant/``: the caller's own conversation, BUSINESS_AND_PARTICIPANT only."""

    stream = registry.Stream.PARTICIPANT
    visibility = Message.Visibility.BUSINESS_AND_PARTICIPANT

    def groups_for(self, caller: Caller) -> list[str] | None:
        kind = caller.participant_kind
        if not self.admits(caller) or kind is None:
            return None
        self.conversation_id = selectors.participant_stream_conversation_id(
            caller=caller, kind=kind
        )
        return [participant_group(self.conversation_id)]

    def admits(self, caller: Caller) -> bool:
        return caller.is_participant and caller.participant_kind is not None

    def parse_resume(self, frame: dict[str, Any]) -> tuple[dict[uuid.UUID, int], int | None, bool]:
        sequence = protocol.parse_participant_resume(frame)
        if sequence is None:
            return {}, None, False
        return {self.conversation_id: sequence}, sequence, False

    def resync_positions(self) -> tuple[dict[uuid.UUID, int], int | None, bool]:
        sequence = self.positions.get(self.conversation_id, self.highest or 0)
        return {self.conversation_id: sequence}, sequence, False

    def typing_deliveries(self, frame: dict[str, Any]) -> typing_frames.Deliveries:
        return typing_frames.participant_frame(frame=frame, conversation_id=self.conversation_id)
