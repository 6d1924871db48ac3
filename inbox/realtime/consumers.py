"""The two WebSocket streams. Push-only: they authenticate, join groups, relay events and replay
missed messages from the database; every write goes through REST (``inbox.services``).

Gap-free resume (docs/events.md): a socket joins its groups *before* it is accepted, and until
the client's ``resume`` frame has been processed every live event is held in a buffer. The
replay query therefore runs after the subscription exists: a message committed before it is in
the query's result, one committed after it arrives live (or both, with the same event id). The
replay is sent first, then the buffer minus the ids already sent, then live events. Channels
dispatches a consumer's messages one at a time, so nothing is relayed while a replay runs.

Revocation (docs/events.md, "Close codes"): the caller is checked again while the socket is
open. A timer queues a re-check every ``SOCKET_RECHECK_SECONDS`` (jittered) on ``local_messages``,
and any message dispatched after that deadline (an event above all) waits for the re-check first,
so no event leaves after the deadline on a credential nobody has checked since. A visitor
socket's deadline is its token's expiry. A caller that is no longer valid is removed from its
groups and the socket closed with the code its handshake would now get. Between deadlines an
event costs one clock read, no query.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import random
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
from inbox.identity import Caller, CallerKind, app_key_cache
from inbox.models import Conversation, Message, conversation_id_for
from inbox.realtime import events, health
from inbox.realtime.groups import business_group, participant_group, probe_group
from inbox.realtime.layers import bounded
from inbox.realtime.middleware import (
    SCOPE_CALLER,
    SCOPE_CREDENTIAL_EXPIRES,
    SCOPE_CREDENTIAL_REFUSED,
    current_caller,
)
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

RECHECK_TYPE = "inbox.recheck"
# Messages dispatched without waiting for a due re-check: the handshake, the disconnect, and the
# re-check's own timer message.
_NOT_GATED = frozenset({"websocket.connect", "websocket.disconnect", RECHECK_TYPE})


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
    # When (event-loop time) the caller is next checked again; None until accepted and after
    # the socket was closed for a revoked caller.
    recheck_at: float | None = None

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
        self.recheck_timer: asyncio.TimerHandle | None = None
        self.recheck_round = 0
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
        self.credential_expires: float | None = self.scope.get(SCOPE_CREDENTIAL_EXPIRES)
        session = self.scope.get("session")
        self.session_key: str | None = getattr(session, "session_key", None)
        self._schedule_recheck()

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
        self._cancel_recheck()
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

    def _schedule_recheck(self) -> None:
        """Set the next deadline: a jittered interval for callers a server can revoke, the
        token's expiry for visitors (whose tokens nothing else revokes)."""
        loop = asyncio.get_running_loop()
        delays = []
        if self.caller.kind is not CallerKind.VISITOR:
            interval = float(inbox_settings.SOCKET_RECHECK_SECONDS)
            delays.append(interval * random.uniform(0.5, 1.0))
        if self.credential_expires is not None:
            delays.append(max(self.credential_expires - time.time(), 0.0))
        if not delays:
            self.recheck_at = None
            return
        delay = min(delays)
        self.recheck_at = loop.time() + delay
        self.recheck_round += 1
        self.recheck_timer = loop.call_later(delay, self._recheck_due, self.recheck_round)

    def _recheck_due(self, round_: int) -> None:
        # Timer callback (same event loop): the re-check runs in turn with everything else.
        self.local_messages.put_nowait({"type": RECHECK_TYPE, "round": round_})

    def _cancel_recheck(self) -> None:
        self.recheck_at = None
        if self.recheck_timer is not None:
            self.recheck_timer.cancel()
            self.recheck_timer = None

    async def inbox_recheck(self, message: dict[str, Any]) -> None:
        # A deadline that an earlier message already met has been replaced by a later one.
        if self.recheck_at is not None and message.get("round") == self.recheck_round:
            await self._recheck()

    async def _recheck(self) -> bool:
        """Check the caller again; close the socket if it may no longer hold it. Returns
        whether the socket stays open."""
        self._cancel_recheck()
        code = None
        if self.credential_expires is not None and time.time() >= self.credential_expires:
            code = CLOSE_UNAUTHENTICATED
        elif self._app_still_cached():
            pass  # an API key whose app this process has seen active within the cache TTL
        elif self.caller.kind is not CallerKind.VISITOR:
            try:
                caller, code = await database_sync_to_async(self._check_caller)()
            except Exception as error:
                # Unable to tell: closed rather than kept open unchecked; the client retries.
                logger.warning(
                    "inbox: socket closed with 1013, could not check its caller again (%s)",
                    type(error).__name__,
                )
                code = CLOSE_TRY_AGAIN_LATER
            else:
                if code is None and caller is not None:
                    self.caller = caller
        if code is None:
            self._schedule_recheck()
            return True
        if code != CLOSE_TRY_AGAIN_LATER:
            logger.info(
                "inbox: %s socket closed with %d, its credential is no longer valid",
                self.caller.kind.value,
                code,
            )
        health.unwatch(self)
        await self._leave_groups()
        self.buffer = []
        await self.close(code=code)
        return False

    def _app_still_cached(self) -> bool:
        """True when the caller is an app the key cache holds as active: the check needs no
        thread hop (with 1,000 API-key sockets a worker, a hop each was visible in a fan-out)."""
        app = self.caller.app
        if self.caller.kind is not CallerKind.APP or app is None:
            return False
        cached = app_key_cache.cached(app.key_hash)
        return cached is not None and cached.pk == self.caller.id

    def _check_caller(self) -> tuple[Caller | None, int | None]:
        """(the caller now, or None; the close code its handshake would get now, or None).
        Reads the database (session, user, permissions), so it runs in a worker thread."""
        caller = current_caller(self.caller, self.session_key)
        if caller is None:
            return None, CLOSE_UNAUTHENTICATED
        if not self.admits(caller):
            return caller, CLOSE_FORBIDDEN
        return caller, None

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
        # Past the re-check deadline, the caller is checked before anything is served.
        if (
            self.recheck_at is not None
            and asyncio.get_running_loop().time() >= self.recheck_at
            and message.get("type") not in _NOT_GATED
            and not await self._recheck()
        ):
            return
        if message.get("type") == events.CONSUMER_HANDLER:
            await self.inbox_event(message)
            return
        await super().dispatch(message)

    async def inbox_event(self, message: dict[str, Any]) -> None:
        if not self.joined:
            # Left its groups (revoked caller): events already queued are not relayed.
            return
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
        if not self.resumed or not self.joined:
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
        if not self.admits(caller):
            return None
        return [business_group()]

    def admits(self, caller: Caller) -> bool:
        return caller.is_business and caller.can_read_business()

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
        kind = caller.participant_kind
        if not self.admits(caller) or kind is None:
            return None
        # The conversation id is derived from the participant, so a visitor who has not
        # written yet already knows (and listens on) the conversation its first message opens.
        conversation_id = conversation_id_for(kind, caller.id)
        existing = Conversation.objects.select_related("participant").filter(pk=conversation_id)
        resolved = follow_merges(existing[0]) if existing else None
        # A visitor whose conversation a member claimed keeps listening on its old id only
        # (where ``conversations_merged`` arrives): the member's conversation is not its own.
        if resolved is not None and is_own_conversation(caller=caller, conversation=resolved):
            conversation_id = resolved.pk
        self.conversation_id = conversation_id
        return [participant_group(conversation_id)]

    def admits(self, caller: Caller) -> bool:
        return caller.is_participant and caller.participant_kind is not None

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
