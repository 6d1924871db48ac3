"""The two WebSocket streams. Push-only: they authenticate, join groups, relay events and replay
missed messages from the database; every write goes through REST (``inbox.services``).

Gap-free resume (docs/events.md): a socket joins its groups *before* it is accepted, and until
the client's ``resume`` frame has been processed every live event is held in a buffer. The
replay query therefore runs after the subscription exists: a message committed before it is in
the query's result, one committed after it arrives live (or both, with the same event id). The
replay is sent first, then the buffer minus the ids already sent, then live events. Channels
dispatches a consumer's messages one at a time, so nothing is relayed while a replay runs.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Collection
from typing import Any

from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from channels.utils import await_many_dispatch

from inbox.conf import inbox_settings
from inbox.identity import Caller
from inbox.models import Conversation, Message, conversation_id_for
from inbox.realtime import events, health
from inbox.realtime.groups import business_group, participant_group, probe_group
from inbox.realtime.layers import bounded
from inbox.realtime.middleware import SCOPE_CALLER, SCOPE_CREDENTIAL_REFUSED
from inbox.selectors import follow_merges, is_own_conversation, visible_messages

logger = logging.getLogger("inbox")

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_TRY_AGAIN_LATER = 1013
CLOSE_TOO_BIG = 1009
CLOSE_TOO_MANY_FRAMES = 4429

# The limits on what a client may send (frame size, frame rate, conversations named in a resume)
# and on what a resume replays are INBOX settings (inbox/conf.py: SOCKET_*, REPLAY_LIMIT).
# Live events held while waiting for the client's resume frame; past it the socket goes live
# at once and tells the client to refetch (``reset``).
MAX_BUFFERED_EVENTS = 10_000
# Event ids remembered per socket to drop the live copy of a replayed event.
MAX_REMEMBERED_IDS = 20_000

ERROR_INVALID_FRAME = "INVALID_FRAME"
ERROR_UNKNOWN_TYPE = "UNKNOWN_TYPE"
ERROR_INVALID_RESUME = "INVALID_RESUME"

RESET_TOO_MANY = "TOO_MANY_MISSED_MESSAGES"
RESET_BUFFER_FULL = "BUFFER_FULL"


class ReplayTooLarge(Exception):
    """More messages were missed than a socket replays; the client refetches over REST."""


def now_sequence() -> int:
    """The current time in the sequence space (µs since the epoch)."""
    return time.time_ns() // 1000


def _parse_sequence(value: Any) -> int | None:
    """A sequence from a client frame: an int64 as a string (or a JSON integer)."""
    if isinstance(value, bool):
        raise ValueError("not a sequence")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        number = int(value)
    else:
        raise ValueError("not a sequence")
    if number < 0 or number >= 2**63:
        raise ValueError("not a sequence")
    return number or None


def replay_messages(
    *,
    visibility: str,
    named: dict[uuid.UUID, int],
    since: int | None,
    others: bool,
    known: Collection[str] = (),
) -> list[Message]:
    """What a resuming socket missed, ordered by sequence: per named conversation the messages
    after its sequence, and (``others``) in the other conversations the messages after
    ``since``, each position moved back by the safety window. Visibility comes from
    ``selectors.visible_messages``. Messages whose event id is in ``known`` (already sent on
    this socket) are left out, and only the others are loaded: a resynchronisation under load
    reads the window's keys, not its rows. Raises ``ReplayTooLarge`` when more than
    ``REPLAY_LIMIT`` messages of one conversation are to be replayed."""
    window = int(inbox_settings.RESUME_WINDOW_SECONDS * 1_000_000)
    limit = inbox_settings.REPLAY_LIMIT
    max_conversations = inbox_settings.SOCKET_MAX_RESUME_CONVERSATIONS
    positions = dict(named)
    if others and since is not None:
        floor = max(since - window, 0)
        active = list(
            Conversation.objects.filter(last_sequence__gt=floor)
            .exclude(pk__in=list(named))
            .values_list("pk", flat=True)[: max_conversations + 1]
        )
        if len(active) > max_conversations:
            raise ReplayTooLarge()
        positions.update(dict.fromkeys(active, since))
    found: list[Message] = []
    for conversation_id, after in positions.items():
        messages = visible_messages(conversation_id=conversation_id, visibility=visibility)
        keys = messages.filter(sequence__gt=max(after - window, 0)).order_by("sequence")
        # Past this many keys, more than ``limit`` of them are unknown whatever ``known`` holds.
        cap = limit + 1 + len(known)
        missed = [
            pk
            for pk in keys.values_list("pk", flat=True)[:cap]
            if events.message_event_id(pk) not in known
        ]
        if len(missed) > limit:
            raise ReplayTooLarge()
        if missed:
            found.extend(messages.filter(pk__in=missed))
    found.sort(key=lambda message: (message.sequence, message.pk))
    return found


_frames: OrderedDict[int, tuple[dict[str, Any], str]] = OrderedDict()
_FRAMES_KEPT = 64


def event_frame(event: dict[str, Any]) -> str:
    """The text frame carrying ``event``, encoded once per event object and process: a fan-out
    hands the same (read-only) event dict to every socket of the worker (the layer decodes each
    payload once), and encoding it per socket was a visible share of a fan-out's CPU. Keyed by
    object identity, holding the object so its id cannot be reused while cached."""
    key = id(event)
    hit = _frames.get(key)
    if hit is not None and hit[0] is event:
        return hit[1]
    text = json.dumps({"type": "event", "event": event}, separators=(",", ":"))
    _frames[key] = (event, text)
    if len(_frames) > _FRAMES_KEPT:
        _frames.popitem(last=False)
    return text


class InboxStreamConsumer(AsyncWebsocketConsumer):
    """What both streams share: handshake, frame handling, buffer, replay, relay."""

    # The visibility this stream's readers have (decides replay through the selector).
    visibility: str = Message.Visibility.BUSINESS

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        # Channels' ``AsyncConsumer.__call__``, except that a channel layer that cannot create
        # this socket's channel (Redis down) ends the handshake with 1013 instead of an
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
                "inbox: socket refused with 1013, channel layer unavailable (%s)",
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
        self.frame_times: deque[float] = deque()
        caller: Caller | None = self.scope.get(SCOPE_CALLER)
        if caller is None or self.scope.get(SCOPE_CREDENTIAL_REFUSED):
            await self._refuse(CLOSE_UNAUTHENTICATED)
            return
        groups = await database_sync_to_async(self.groups_for)(caller)
        if groups is None:
            await self._refuse(CLOSE_FORBIDDEN)
            return
        self.caller = caller
        try:
            for group in groups:
                await bounded(self.channel_layer.group_add(group, self.channel_name))
                self.joined.append(group)
            # Joining a group this process already listens to, or subscribing over a
            # connection whose loss the subscriber has not read yet, needs no answer from
            # Redis; one publish does, so a handshake in an outage gets 1013, not a socket
            # that hears nothing until the layer is back.
            await bounded(self.channel_layer.group_send(probe_group(), {"type": "inbox.probe"}))
        except Exception as error:
            logger.warning(
                "inbox: socket refused with 1013, channel layer unavailable (%s)",
                type(error).__name__,
            )
            await self._refuse(CLOSE_TRY_AGAIN_LATER)
            return
        await self.accept()
        health.watch(self.channel_layer, self)

    async def _refuse(self, code: int) -> None:
        # Accept first: a close before accepting becomes an HTTP 403 and the code is lost.
        await self.accept()
        await self.close(code=code)

    def groups_for(self, caller: Caller) -> list[str] | None:
        """The groups this caller's socket joins, or None if it may not open this stream."""
        raise NotImplementedError

    async def disconnect(self, code: int) -> None:
        health.unwatch(self)
        for group in getattr(self, "joined", []):
            try:
                await bounded(self.channel_layer.group_discard(group, self.channel_name))
            except Exception:
                logger.info("inbox: could not leave group %s on disconnect", group)
        self.joined = []

    # Client frames ---------------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if not getattr(self, "joined", None):
            return
        if not self._frame_allowed():
            await self.close(code=CLOSE_TOO_MANY_FRAMES)
            return
        raw = text_data if text_data is not None else (bytes_data or b"").decode("utf-8", "replace")
        if len(raw) > inbox_settings.SOCKET_MAX_FRAME_CHARS:
            await self.close(code=CLOSE_TOO_BIG)
            return
        try:
            frame = json.loads(raw)
        except ValueError:
            frame = None
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
            await self._error(ERROR_INVALID_FRAME, 'A frame is a JSON object with a "type"')
            return
        kind = frame["type"]
        if kind == "ping":
            await self._send_frame({"type": "pong"})
        elif kind == "resume":
            await self._client_resume(frame)
        else:
            await self._error(ERROR_UNKNOWN_TYPE, f"Unknown frame type {kind[:40]!r}")

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
            await self._error(ERROR_INVALID_RESUME, str(error))
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
                messages = await database_sync_to_async(replay_messages)(
                    visibility=self.visibility,
                    named=named,
                    since=since,
                    others=others,
                    known=self.sent_ids,
                )
            else:
                messages = []
        except ReplayTooLarge:
            await self._send_frame({"type": "reset", "reason": RESET_TOO_MANY})
            messages = None
        replayed = 0
        for message in messages or []:
            replayed += await self._emit(events.message_event(message))
        buffered, self.buffer = self.buffer, []
        for event in buffered:
            await self._emit(event)
        if not self.resumed:
            self.resumed = True
            self.highest = max(self.highest or 0, baseline)
        self.live = True
        return None if messages is None else replayed

    # Events from the channel layer -----------------------------------------------------------

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels runs ``close_old_connections`` in the sync thread before every message; a
        # live event never touches the database (replays and handshakes go through
        # ``database_sync_to_async``, which does it itself), and that one thread hop per socket
        # per event, serialised on one thread, dominated a fan-out (docs/benchmarks.md, #4).
        if message.get("type") == events.CONSUMER_HANDLER:
            await self.inbox_event(message)
            return
        await super().dispatch(message)

    async def inbox_event(self, message: dict[str, Any]) -> None:
        event = message["event"]
        if not self.may_receive(event):
            logger.error(
                "inbox: event %s %s reached a stream that may not see it; dropped",
                event.get("slug"),
                event.get("id"),
            )
            return
        if self.live:
            await self._emit(event)
            return
        if len(self.buffer) >= MAX_BUFFERED_EVENTS:
            logger.warning("inbox: socket buffer full before resume; client told to reset")
            self.buffer = []
            self.live = True
            await self._send_frame({"type": "reset", "reason": RESET_BUFFER_FULL})
            await self._emit(event)
            return
        self.buffer.append(event)

    def may_receive(self, event: dict[str, Any]) -> bool:
        return True

    def request_resync(self) -> None:
        """Called by the layer watchdog (same event loop): queue a resynchronisation, so it
        runs in turn with everything else the socket does. Requests that arrive while one is
        still queued are the same request; one that arrives while it runs queues the next."""
        if not self.resync_queued:
            self.resync_queued = True
            self.local_messages.put_nowait({"type": "inbox.resync"})

    async def inbox_resync(self, message: dict[str, Any]) -> None:
        self.resync_queued = False
        if not self.resumed:
            # The client's own resume is still to come and will read the database.
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
        await self.send(text_data=event_frame(event))
        if event_id is not None:
            self.sent_ids[event_id] = None
            if len(self.sent_ids) > MAX_REMEMBERED_IDS:
                self.sent_ids.popitem(last=False)
        self._advance(event)
        return 1

    def _advance(self, event: dict[str, Any]) -> None:
        message = event.get("data", {}).get("message")
        if event.get("entityFqdn") != events.MESSAGE_FQDN or not isinstance(message, dict):
            return
        try:
            conversation_id = uuid.UUID(event["data"]["conversationId"])
            sequence = int(message["sequence"])
        except (KeyError, TypeError, ValueError):
            return
        self.positions[conversation_id] = max(self.positions.get(conversation_id, 0), sequence)
        self.highest = max(self.highest or 0, sequence)

    async def _send_frame(self, frame: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(frame, separators=(",", ":")))

    async def _error(self, code: str, message: str) -> None:
        await self._send_frame({"type": "error", "code": code, "message": message})


class BusinessStreamConsumer(InboxStreamConsumer):
    """``/ws/inbox/business/``: every event of every conversation, for staff and API apps."""

    visibility = Message.Visibility.BUSINESS

    def groups_for(self, caller: Caller) -> list[str] | None:
        if not caller.is_business or not caller.can_read_business():
            return None
        return [business_group()]

    def parse_resume(self, frame: dict[str, Any]) -> tuple[dict[uuid.UUID, int], int | None, bool]:
        conversations = frame.get("conversations")
        if conversations is None:
            conversations = {}
        if not isinstance(conversations, dict):
            raise ValueError('"conversations" must map conversation ids to sequences')
        max_conversations = inbox_settings.SOCKET_MAX_RESUME_CONVERSATIONS
        if len(conversations) > max_conversations:
            raise ValueError(
                f'"conversations" may name at most {max_conversations} conversations; '
                "refetch the others over REST"
            )
        named: dict[uuid.UUID, int] = {}
        for key, value in conversations.items():
            try:
                conversation_id = uuid.UUID(str(key))
                sequence = _parse_sequence(value)
            except ValueError:
                raise ValueError(
                    f'"conversations" must map conversation ids to sequences ({str(key)[:40]!r})'
                ) from None
            named[conversation_id] = sequence or 0
        try:
            since = _parse_sequence(frame["since"]) if frame.get("since") is not None else None
        except ValueError:
            raise ValueError('"since" must be a sequence (an int64 as a string)') from None
        return named, since, True

    def resync_positions(self) -> tuple[dict[uuid.UUID, int], int | None, bool]:
        return dict(self.positions), self.highest, True


class ParticipantStreamConsumer(InboxStreamConsumer):
    """``/ws/inbox/participant/``: the caller's own conversation, BUSINESS_AND_PARTICIPANT only."""

    visibility = Message.Visibility.BUSINESS_AND_PARTICIPANT

    def groups_for(self, caller: Caller) -> list[str] | None:
        if not caller.is_participant or caller.participant_kind is None:
            return None
        # The conversation id is derived from the participant, so a visitor who has not
        # written yet already knows (and listens on) the conversation its first message opens.
        conversation_id = conversation_id_for(caller.participant_kind, caller.id)
        existing = Conversation.objects.select_related("participant").filter(pk=conversation_id)
        resolved = follow_merges(existing[0]) if existing else None
        # A visitor whose conversation a member claimed keeps listening on its old id only
        # (where ``conversations_merged`` arrives): the member's conversation is not its own.
        if resolved is not None and is_own_conversation(caller=caller, conversation=resolved):
            conversation_id = resolved.pk
        self.conversation_id = conversation_id
        return [participant_group(conversation_id)]

    def parse_resume(self, frame: dict[str, Any]) -> tuple[dict[uuid.UUID, int], int | None, bool]:
        try:
            sequence = (
                _parse_sequence(frame["sequence"]) if frame.get("sequence") is not None else None
            )
        except ValueError:
            raise ValueError('"sequence" must be a sequence (an int64 as a string)') from None
        if sequence is None:
            return {}, None, False
        return {self.conversation_id: sequence}, sequence, False

    def resync_positions(self) -> tuple[dict[uuid.UUID, int], int | None, bool]:
        sequence = self.positions.get(self.conversation_id, self.highest or 0)
        return {self.conversation_id: sequence}, sequence, False

    def may_receive(self, event: dict[str, Any]) -> bool:
        # The groups already guarantee this; checked again because a leak here would show
        # internal notes to a visitor.
        message = event.get("data", {}).get("message")
        if isinstance(message, dict) and message.get("visibility") != (
            Message.Visibility.BUSINESS_AND_PARTICIPANT
        ):
            return False
        return True
