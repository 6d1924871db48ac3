"""Opaque, tamper-evident cursors for message lists.

A cursor is a signed token naming a boundary sequence plus the conversation, visibility and
order it was made for; a cursor replayed against anything else is refused. Boundaries are
sequences, so pages stay exact while new messages arrive.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core import signing

from inbox.exceptions import RULE_FORMAT, ValidationFailed
from inbox.selectors import ASC, ConversationPosition, MessagePage

CURSOR_SALT = "inbox.messages.cursor"
CURSOR_FIELD = "paging.cursor"
DEFAULT_LIMIT = 30
MAX_LIMIT = 100


@dataclass(frozen=True)
class CursorPosition:
    after: int | None = None
    before: int | None = None


def cursor_dump(
    *, conversation_id: uuid.UUID, visibility: str, order: str, position: CursorPosition
) -> str:
    payload = {
        "c": conversation_id.hex,
        "v": visibility,
        "o": order,
        "a": position.after,
        "b": position.before,
    }
    return signing.dumps(payload, salt=CURSOR_SALT, compress=True)


def cursor_load(
    token: str, *, conversation_id: uuid.UUID, visibility: str, order: str
) -> CursorPosition:
    try:
        payload = signing.loads(token, salt=CURSOR_SALT)
        after, before = payload["a"], payload["b"]
        bound = (payload["c"], payload["v"], payload["o"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise ValidationFailed.single(CURSOR_FIELD, "is not a valid cursor", RULE_FORMAT) from None
    if bound != (conversation_id.hex, visibility, order):
        raise ValidationFailed.single(
            CURSOR_FIELD,
            "was made for another conversation, visibility or sort order",
            RULE_FORMAT,
        )
    if not all(value is None or isinstance(value, int) for value in (after, before)) or (
        (after is None) == (before is None)
    ):
        raise ValidationFailed.single(CURSOR_FIELD, "is not a valid cursor", RULE_FORMAT)
    return CursorPosition(after=after, before=before)


def paging_metadata(
    page: MessagePage,
    *,
    conversation_id: uuid.UUID,
    visibility: str,
    order: str,
    position: CursorPosition,
) -> dict[str, Any]:
    """``pagingMetadata`` of one page: ``next`` only when another page exists, ``prev`` when
    messages lie before this page, and our ``resume`` cursor (where a poller continues later;
    see docs/architecture.md)."""

    def dump(new_position: CursorPosition) -> str:
        return cursor_dump(
            conversation_id=conversation_id,
            visibility=visibility,
            order=order,
            position=new_position,
        )

    step = 1 if order == ASC else -1
    messages = page.messages
    if messages:
        end = CursorPosition(after=messages[-1].sequence)
        start = CursorPosition(before=messages[0].sequence)
    elif position.after is not None:
        end = CursorPosition(after=position.after)
        start = CursorPosition(before=position.after + step)
    elif position.before is not None:
        end = CursorPosition(after=position.before - step)
        start = CursorPosition(before=position.before)
    else:
        end = start = CursorPosition()
    cursors: dict[str, str] = {}
    if page.has_more_after and end.after is not None:
        cursors["next"] = dump(end)
    if page.has_more_before and start.before is not None:
        cursors["prev"] = dump(start)
    if end.after is not None:
        cursors["resume"] = dump(end)
    return {"count": len(messages), "cursors": cursors}


CONVERSATION_CURSOR_SALT = "inbox.conversations.cursor"
CONVERSATION_DEFAULT_LIMIT = 30
CONVERSATION_MAX_LIMIT = 100


def conversation_cursor_dump(*, position: ConversationPosition, filters: dict[str, str]) -> str:
    """A ``next`` cursor of the staff conversation list, bound to the filters it was made with.

    It names the last row's activity time (``None``: the walk is in the segment of conversations
    without activity) and id; see ``selectors.conversation_page``."""
    activity = position.last_activity_at
    payload = {
        "t": activity.isoformat() if activity is not None else None,
        "i": position.conversation_id.hex,
        "f": filters,
    }
    return signing.dumps(payload, salt=CONVERSATION_CURSOR_SALT, compress=True)


def conversation_cursor_load(token: str, *, filters: dict[str, str]) -> ConversationPosition:
    try:
        payload = signing.loads(token, salt=CONVERSATION_CURSOR_SALT)
        activity = payload["t"]
        position = ConversationPosition(
            last_activity_at=datetime.fromisoformat(activity) if activity is not None else None,
            conversation_id=uuid.UUID(hex=payload["i"]),
        )
        bound = payload["f"]
    except (signing.BadSignature, KeyError, TypeError, ValueError, AttributeError):
        raise ValidationFailed.single(CURSOR_FIELD, "is not a valid cursor", RULE_FORMAT) from None
    if bound != filters:
        raise ValidationFailed.single(CURSOR_FIELD, "was made for other filters", RULE_FORMAT)
    return position
