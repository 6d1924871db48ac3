"""Typing and viewing frames (docs/events.md, "Typing and viewing"): what a client's frame
becomes, for whom. Stateless on the server, as in Zulip's typing protocol: the consumer that
receives a frame relays it as an event and remembers nothing; clients repeat ``start`` every 10 s
while it lasts, send ``stop`` after 5 s idle, and drop an indicator 15 s after its last ``start``.

- A participant's ``typing`` reaches the business stream (``participant_typing``).
- A staff user's ``typing`` reaches colleagues with their name (``staff_typing``, ``note`` says
  whether it is an internal note) and, only when it is a reply, the participant, nameless
  (``business_typing``). A note is never announced to the participant.
- A staff user's ``viewing`` reaches colleagues only (``staff_viewing``).
"""

from __future__ import annotations

import uuid
from typing import Any

from inbox.identity import Caller
from inbox.realtime import events, registry
from inbox.realtime.groups import business_group, participant_group
from inbox.wire import assignee_json

# (groups, event) pairs a frame becomes.
Deliveries = list[tuple[list[str], dict[str, Any]]]


def _op(frame: dict[str, Any]) -> str:
    op = frame.get("op")
    if op not in ("start", "stop"):
        raise ValueError('"op" must be "start" or "stop"')
    return str(op)


def _conversation_id(frame: dict[str, Any]) -> uuid.UUID:
    try:
        return uuid.UUID(str(frame.get("conversationId")))
    except ValueError:
        raise ValueError('"conversationId" must be a conversation id') from None


def participant_frame(*, frame: dict[str, Any], conversation_id: uuid.UUID) -> Deliveries:
    """A participant's ``typing`` frame, in its own conversation (no id to name: the stream is
    the conversation's)."""
    if frame["type"] != "typing":
        raise LookupError(frame["type"])
    event = events.typing_event(
        event_type=registry.PARTICIPANT_TYPING,
        conversation_id=conversation_id,
        data={"op": _op(frame)},
    )
    return [([business_group()], event)]


def staff_frame(*, frame: dict[str, Any], caller: Caller) -> Deliveries:
    """A staff user's ``typing`` or ``viewing`` frame. Raises ``LookupError`` for another frame
    type, ``ValueError`` (the client's message) for a bad one."""
    kind = frame["type"]
    if kind not in ("typing", "viewing"):
        raise LookupError(kind)
    op, conversation_id = _op(frame), _conversation_id(frame)
    staff = assignee_json(caller.user)
    if kind == "viewing":
        event = events.typing_event(
            event_type=registry.STAFF_VIEWING,
            conversation_id=conversation_id,
            data={"op": op, "staff": staff},
        )
        return [([business_group()], event)]
    note = frame.get("note", False)
    if not isinstance(note, bool):
        raise ValueError('"note" must be true or false')
    deliveries: Deliveries = [
        (
            [business_group()],
            events.typing_event(
                event_type=registry.STAFF_TYPING,
                conversation_id=conversation_id,
                data={"op": op, "staff": staff, "note": note},
            ),
        )
    ]
    if not note:
        deliveries.append(
            (
                [participant_group(conversation_id)],
                events.typing_event(
                    event_type=registry.BUSINESS_TYPING,
                    conversation_id=conversation_id,
                    data={"op": op},
                ),
            )
        )
    return deliveries
