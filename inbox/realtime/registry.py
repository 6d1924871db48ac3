"""Every event type the app publishes, declared once (after Zulip's ``zerver/lib/event_schema.py``).

An entry names the slug, the entity it is about, how its id is derived, the shape of its
``data`` and the streams that may carry it. The builders (``events.py``) take their slug and
entityFqdn from it, ``publish.py`` refuses to send an event to a group whose stream may not carry
it, and the consumers relay only what ``may_carry`` allows: an unregistered slug reaches no
socket, and a participant socket gets only the types declared for participants, and of those
carrying a message only ``BUSINESS_AND_PARTICIPANT`` ones. The catalogues of docs/events.md and
README.md are rendered from here (``tests/events_catalogue.py``; a test keeps them equal).
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from inbox.models import Message

MESSAGE_FQDN = "wix.crm.inbox.v2.message"
CONVERSATION_FQDN = "wix.crm.inbox.v2.conversation"


class Stream(enum.Enum):
    """The two WebSocket streams (``routing.py``)."""

    BUSINESS = "business"
    PARTICIPANT = "participant"


@dataclass(frozen=True)
class Shape:
    """The type of one ``data`` field: its name in the catalogue and its check."""

    name: str
    check: Callable[[Any], bool]


def _is_uuid(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


UUID = Shape("uuid", _is_uuid)
STRING = Shape("string", lambda v: isinstance(v, str))
UUID_LIST = Shape("list of uuid", lambda v: isinstance(v, list) and all(map(_is_uuid, v)))
OPTIONAL_STRING = Shape("string or null", lambda v: v is None or isinstance(v, str))
INT64_STRING = Shape(
    "int64 as a string", lambda v: isinstance(v, str) and v.isascii() and v.isdigit()
)
IDENTIFICATION = Shape(
    "IdentificationData",
    lambda v: isinstance(v, dict) and all(isinstance(x, str) for x in (*v, *v.values())),
)
# The REST API's Message JSON (``inbox/wire.py: message_json``).
MESSAGE = Shape(
    "Message",
    lambda v: (
        isinstance(v, dict)
        and isinstance(v.get("id"), str)
        and INT64_STRING.check(v.get("sequence"))
        and v.get("visibility") in Message.Visibility.values
    ),
)


@dataclass(frozen=True)
class EventType:
    """One event type; adding a type means adding one of these to ``EVENT_TYPES`` and a builder
    to ``events.py``."""

    slug: str
    entity_fqdn: str
    # What ``entityId`` names, and how ``id`` is derived (for the catalogue).
    entity_id: str
    event_id: str
    data: dict[str, Shape]
    streams: frozenset[Stream]
    summary: str

    @property
    def carries_message(self) -> bool:
        return "message" in self.data


MESSAGE_SENT_TO_BUSINESS = EventType(
    slug="message_sent_to_business",
    entity_fqdn=MESSAGE_FQDN,
    entity_id="message id",
    event_id='derived from the message: `uuid5(namespace, "event:message:<pk>")`',
    data={"conversationId": UUID, "message": MESSAGE},
    streams=frozenset({Stream.BUSINESS, Stream.PARTICIPANT}),
    summary="a `PARTICIPANT_TO_BUSINESS` message was sent.",
)
MESSAGE_SENT_TO_PARTICIPANT = EventType(
    slug="message_sent_to_participant",
    entity_fqdn=MESSAGE_FQDN,
    entity_id="message id",
    event_id=MESSAGE_SENT_TO_BUSINESS.event_id,
    data=MESSAGE_SENT_TO_BUSINESS.data,
    streams=MESSAGE_SENT_TO_BUSINESS.streams,
    summary="a `BUSINESS_TO_PARTICIPANT` message was sent.",
)
BUTTON_INTERACTED = EventType(
    slug="button_interacted",
    entity_fqdn=MESSAGE_FQDN,
    entity_id="message id",
    event_id="random: every press is its own event",
    data={
        "conversationId": UUID,
        "appId": OPTIONAL_STRING,
        "interactionId": STRING,
        "interactedBy": IDENTIFICATION,
        "messageId": STRING,
    },
    streams=frozenset({Stream.BUSINESS}),
    summary="a participant pressed a postback button of the message (Wix §9.4).",
)
CONVERSATIONS_MERGED = EventType(
    slug="conversations_merged",
    entity_fqdn=CONVERSATION_FQDN,
    entity_id="target conversation id",
    event_id='derived from the merge: `uuid5(namespace, "event:merge:<sorted old ids>><target id>")`',
    data={"oldConversationIds": UUID_LIST, "targetConversationId": UUID},
    streams=frozenset({Stream.BUSINESS, Stream.PARTICIPANT}),
    summary=(
        "conversations were merged into the target (Wix §9.5); published to the business stream "
        "and the participant streams of the conversations involved."
    ),
)
CONVERSATION_READ = EventType(
    slug="conversation_read",
    entity_fqdn=CONVERSATION_FQDN,
    entity_id="conversation id",
    event_id=(
        'derived from the move: `uuid5(namespace, "event:read:<conversation>:<reader>:<sequence>")`'
    ),
    data={"conversationId": UUID, "readBy": IDENTIFICATION, "sequence": INT64_STRING},
    streams=frozenset({Stream.BUSINESS}),
    summary="a read cursor of the conversation moved forward to `sequence` (ours, not Wix's).",
)

CONVERSATION_STATUS_CHANGED = EventType(
    slug="conversation_status_changed",
    entity_fqdn=CONVERSATION_FQDN,
    entity_id="conversation id",
    event_id="random: every change is its own event",
    data={
        "conversationId": UUID,
        "status": Shape("OPEN, SNOOZED or CLOSED", lambda v: v in ("OPEN", "SNOOZED", "CLOSED")),
        "snoozedUntil": OPTIONAL_STRING,
        "changedBy": IDENTIFICATION,
    },
    # Status is the team's business: never on a participant stream.
    streams=frozenset({Stream.BUSINESS}),
    summary=(
        "the conversation was closed, snoozed until `snoozedUntil` or reopened (by staff, an app "
        "or the participant's message; ours, not Wix's)."
    ),
)
CONVERSATION_MARKED_UNREAD = EventType(
    slug="conversation_marked_unread",
    entity_fqdn=CONVERSATION_FQDN,
    entity_id="conversation id",
    event_id="random: a cursor moved back may return to a position it held before",
    data={"conversationId": UUID, "readBy": IDENTIFICATION, "sequence": INT64_STRING},
    streams=frozenset({Stream.BUSINESS}),
    summary=(
        "a staff user marked the conversation unread again: that user's read cursor moved back "
        "to `sequence` (ours, not Wix's)."
    ),
)

CONVERSATION_ASSIGNED = EventType(
    slug="conversation_assigned",
    entity_fqdn=CONVERSATION_FQDN,
    entity_id="conversation id",
    event_id="random: every change is its own event",
    data={
        "conversationId": UUID,
        "assignee": Shape(
            "{wixUserId, name} or null",
            lambda v: (
                v is None
                or (
                    isinstance(v, dict)
                    and set(v) == {"wixUserId", "name"}
                    and _is_uuid(v["wixUserId"])
                )
            ),
        ),
        "assignedBy": IDENTIFICATION,
    },
    # Which colleague works what is the team's business: never on a participant stream.
    streams=frozenset({Stream.BUSINESS}),
    summary=(
        "the conversation was assigned to a staff user (`assignee`), or unassigned (`null`; "
        "ours, not Wix's)."
    ),
)

# Typing and viewing (Zulip's typing protocol): ephemeral, sent by the consumer that received
# the client's frame straight to the layer (no outbox, no webhooks, no signals, no replay). A
# client sends "start" at most every 10 s while it lasts and "stop" after 5 s idle; receivers
# drop an indicator 15 s after its last "start".
TYPING_OP = Shape("start or stop", lambda v: v in ("start", "stop"))
STAFF_USER = Shape(
    "{wixUserId, name}",
    lambda v: isinstance(v, dict) and set(v) == {"wixUserId", "name"} and _is_uuid(v["wixUserId"]),
)
PARTICIPANT_TYPING = EventType(
    slug="participant_typing",
    entity_fqdn=CONVERSATION_FQDN,
    entity_id="conversation id",
    event_id="random: every frame is its own event",
    data={"conversationId": UUID, "op": TYPING_OP},
    streams=frozenset({Stream.BUSINESS}),
    summary="the conversation's participant started or stopped typing (ours, not Wix's).",
)
BUSINESS_TYPING = EventType(
    slug="business_typing",
    entity_fqdn=CONVERSATION_FQDN,
    entity_id="conversation id",
    event_id="random: every frame is its own event",
    data={"conversationId": UUID, "op": TYPING_OP},
    # The participant learns that someone replies, never who, and nothing of internal notes.
    streams=frozenset({Stream.PARTICIPANT}),
    summary=(
        "someone of the business started or stopped typing a reply to the participant (not a "
        "note; ours, not Wix's)."
    ),
)
STAFF_TYPING = EventType(
    slug="staff_typing",
    entity_fqdn=CONVERSATION_FQDN,
    entity_id="conversation id",
    event_id="random: every frame is its own event",
    data={
        "conversationId": UUID,
        "op": TYPING_OP,
        "staff": STAFF_USER,
        "note": Shape("boolean", lambda v: isinstance(v, bool)),
    },
    # Which colleague types what is the team's business (collision avoidance).
    streams=frozenset({Stream.BUSINESS}),
    summary=(
        "a staff user started or stopped typing in the conversation: a reply, or an internal "
        "note (`note`; ours, not Wix's)."
    ),
)
STAFF_VIEWING = EventType(
    slug="staff_viewing",
    entity_fqdn=CONVERSATION_FQDN,
    entity_id="conversation id",
    event_id="random: every frame is its own event",
    data={"conversationId": UUID, "op": TYPING_OP, "staff": STAFF_USER},
    streams=frozenset({Stream.BUSINESS}),
    summary=(
        "a staff user opened (`start`, repeated every 10 s) or left (`stop`) the conversation "
        "on the staff page (ours, not Wix's)."
    ),
)

EVENT_TYPES: dict[str, EventType] = {
    event_type.slug: event_type
    for event_type in (
        MESSAGE_SENT_TO_BUSINESS,
        MESSAGE_SENT_TO_PARTICIPANT,
        BUTTON_INTERACTED,
        CONVERSATIONS_MERGED,
        CONVERSATION_READ,
        CONVERSATION_STATUS_CHANGED,
        CONVERSATION_MARKED_UNREAD,
        CONVERSATION_ASSIGNED,
        PARTICIPANT_TYPING,
        BUSINESS_TYPING,
        STAFF_TYPING,
        STAFF_VIEWING,
    )
}

ENVELOPE_KEYS = frozenset({"id", "entityFqdn", "slug", "entityId", "eventTime", "data"})


def may_carry(stream: Stream, event: dict[str, Any]) -> bool:
    """May a socket of ``stream`` receive ``event``? Default deny: unregistered slugs, types not
    declared for the stream, and (participant stream) events carrying a message that is not
    ``BUSINESS_AND_PARTICIPANT`` are refused."""
    event_type = EVENT_TYPES.get(event.get("slug", ""))
    if event_type is None or stream not in event_type.streams:
        return False
    if stream is Stream.PARTICIPANT and event_type.carries_message:
        data = event.get("data")
        message = data.get("message") if isinstance(data, dict) else None
        return (
            isinstance(message, dict)
            and message.get("visibility") == Message.Visibility.BUSINESS_AND_PARTICIPANT
        )
    return True


def schema_errors(event: dict[str, Any]) -> list[str]:
    """How ``event`` differs from its registered shape (empty: it matches)."""
    event_type = EVENT_TYPES.get(event.get("slug", ""))
    if event_type is None:
        return [f"unregistered slug {event.get('slug')!r}"]
    errors = []
    if set(event) != ENVELOPE_KEYS:
        errors.append(f"envelope keys {sorted(event)}")
    if event.get("entityFqdn") != event_type.entity_fqdn:
        errors.append(f"entityFqdn {event.get('entityFqdn')!r}")
    data = event.get("data")
    if not isinstance(data, dict) or set(data) != set(event_type.data):
        return [*errors, f"data keys {sorted(data) if isinstance(data, dict) else data!r}"]
    errors.extend(
        f"data.{name} is not {shape.name}"
        for name, shape in event_type.data.items()
        if not shape.check(data[name])
    )
    return errors
