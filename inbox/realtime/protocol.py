"""The socket protocol of docs/events.md: close codes, the frames both ways, and their parsing.

Nothing here knows a consumer: the streams (``consumers.py``) read client frames and write
server frames through these functions.
"""

from __future__ import annotations

import json
import uuid
from collections import OrderedDict
from typing import Any

from inbox.conf import inbox_settings

# The version of this protocol, in the greeting: it changes when a frame changes meaning.
PROTOCOL_VERSION = 1
# How often a client should send ``ping`` to find out that a connection died without closing
# (the greeting tells it; the frame rate limit allows far more).
HEARTBEAT_SECONDS = 25

# Application close codes, all in 4000-4999: daphne's WebSocket library (autobahn) refuses any
# code an application sends other than 1000 and 3000-4999 (it logged "invalid close code 1009"
# and the client got 1011 or 1006), while uvicorn passes any. The last digits echo the HTTP
# status or the RFC 6455 code each one stands for (401, 403, 429; 1009 "message too big",
# 1013 "try again later"), so the same code reaches clients under both servers.
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_TRY_AGAIN_LATER = 4013
CLOSE_TOO_BIG = 4009
CLOSE_TOO_MANY_FRAMES = 4429

ERROR_INVALID_FRAME = "INVALID_FRAME"
ERROR_UNKNOWN_TYPE = "UNKNOWN_TYPE"
ERROR_INVALID_RESUME = "INVALID_RESUME"
# A frame the caller may not send (typing from an API app, or without the send permission).
ERROR_NOT_ALLOWED = "NOT_ALLOWED"

RESET_TOO_MANY = "TOO_MANY_MISSED_MESSAGES"
RESET_BUFFER_FULL = "BUFFER_FULL"


def decode_frame(raw: str) -> dict[str, Any] | None:
    """A client frame: a JSON object with a string ``type``, or None."""
    try:
        frame = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
        return None
    return frame


def parse_sequence(value: Any) -> int | None:
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


def parse_business_resume(frame: dict[str, Any]) -> tuple[dict[uuid.UUID, int], int | None]:
    """(the position of each named conversation, ``since``) of a business ``resume`` frame.
    Raises ``ValueError`` with the message the client gets."""
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
            sequence = parse_sequence(value)
        except ValueError:
            raise ValueError(
                f'"conversations" must map conversation ids to sequences ({str(key)[:40]!r})'
            ) from None
        named[conversation_id] = sequence or 0
    try:
        since = parse_sequence(frame["since"]) if frame.get("since") is not None else None
    except ValueError:
        raise ValueError('"since" must be a sequence (an int64 as a string)') from None
    return named, since


def parse_participant_resume(frame: dict[str, Any]) -> int | None:
    """The last sequence seen, from a participant ``resume`` frame (None: no replay).
    Raises ``ValueError`` with the message the client gets."""
    try:
        return parse_sequence(frame["sequence"]) if frame.get("sequence") is not None else None
    except ValueError:
        raise ValueError('"sequence" must be a sequence (an int64 as a string)') from None


def greeting(*, stream: str, resume_wait: float) -> dict[str, Any]:
    """The server's first frame on an accepted socket: which protocol and stream this is, how
    often to ping, and what to send next (docs/events.md, "hello")."""
    return {
        "type": "hello",
        "protocol": PROTOCOL_VERSION,
        "stream": stream,
        "heartbeatSeconds": HEARTBEAT_SECONDS,
        "next": "resume",
        "resumeWaitSeconds": resume_wait,
        "hint": (
            f'Send {{"type": "resume", …}} within {resume_wait:g} s to replay what you missed; '
            "without it the socket goes live then, with no replay (ready, resumed: false)."
        ),
    }


def frame_text(frame: dict[str, Any]) -> str:
    return json.dumps(frame, separators=(",", ":"))


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
    text = frame_text({"type": "event", "event": event})
    _frames[key] = (event, text)
    if len(_frames) > _FRAMES_KEPT:
        _frames.popitem(last=False)
    return text
