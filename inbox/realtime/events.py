"""The builders of events in Wix's shape, one per event type of ``registry.py``.

Services build an event here and hand it to ``publish.publish_on_commit``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.utils import timezone

from inbox.models import INBOX_NAMESPACE, Message
from inbox.realtime import registry
from inbox.wire import iso_micro, iso_millis, message_json


def event_envelope(
    *,
    event_type: registry.EventType,
    event_id: uuid.UUID | str,
    entity_id: str,
    time: datetime,
    data: dict[str, Any],
) -> dict[str, Any]:
    return {
        "id": str(event_id),
        "entityFqdn": event_type.entity_fqdn,
        "slug": event_type.slug,
        "entityId": entity_id,
        "eventTime": iso_micro(time),
        "data": data,
    }


def message_event_id(pk: Any) -> str:
    """The event id of the message with primary key ``pk``."""
    return str(uuid.uuid5(INBOX_NAMESPACE, f"event:message:{pk}"))


def message_event(message: Message) -> dict[str, Any]:
    """The event of one sent message. Its id is derived from the message, so a replay from the
    database and the live event carry the same id and clients can drop the duplicate."""
    event_type = (
        registry.MESSAGE_SENT_TO_BUSINESS
        if message.direction == Message.Direction.PARTICIPANT_TO_BUSINESS
        else registry.MESSAGE_SENT_TO_PARTICIPANT
    )
    return event_envelope(
        event_type=event_type,
        event_id=message_event_id(message.pk),
        entity_id=str(message.pk),
        time=message.created_at,
        data={
            "conversationId": str(message.conversation_id),
            "message": message_json(message),
        },
    )


def button_interacted_event(
    *, message: Message, app_id: str | None, interaction_id: str, interacted_by: dict[str, str]
) -> dict[str, Any]:
    """A participant pressed a postback button of ``message`` (Wix §9.4). Every press is its own
    event, so the id is random."""
    data: dict[str, Any] = {
        "conversationId": str(message.conversation_id),
        "appId": app_id,
        "interactionId": interaction_id,
        "interactedBy": interacted_by,
        "messageId": str(message.pk),
    }
    return event_envelope(
        event_type=registry.BUTTON_INTERACTED,
        event_id=uuid.uuid4(),
        entity_id=str(message.pk),
        time=timezone.now(),
        data=data,
    )


def conversations_merged_event(
    *, old_conversation_ids: list[uuid.UUID], target_conversation_id: uuid.UUID
) -> dict[str, Any]:
    """Conversations were merged into ``target_conversation_id`` (Wix §9.5); the id is derived
    from the merge, so a repeated notice of the same merge carries the same id."""
    old = sorted(str(pk) for pk in old_conversation_ids)
    return event_envelope(
        event_type=registry.CONVERSATIONS_MERGED,
        event_id=uuid.uuid5(
            INBOX_NAMESPACE, f"event:merge:{','.join(old)}>{target_conversation_id}"
        ),
        entity_id=str(target_conversation_id),
        time=timezone.now(),
        data={"oldConversationIds": old, "targetConversationId": str(target_conversation_id)},
    )


def conversation_read_event(
    *, conversation_id: uuid.UUID, read_by: dict[str, str], sequence: int
) -> dict[str, Any]:
    """A read cursor of ``conversation_id`` moved forward to ``sequence`` (our extension). The id
    is derived from (conversation, reader, sequence): cursors only move forward, so one id
    names one move."""
    reader = ",".join(f"{key}={value}" for key, value in sorted(read_by.items()))
    return event_envelope(
        event_type=registry.CONVERSATION_READ,
        event_id=uuid.uuid5(INBOX_NAMESPACE, f"event:read:{conversation_id}:{reader}:{sequence}"),
        entity_id=str(conversation_id),
        time=timezone.now(),
        data=_cursor_data(conversation_id=conversation_id, read_by=read_by, sequence=sequence),
    )


def conversation_status_changed_event(
    *,
    conversation_id: uuid.UUID,
    status: str,
    snoozed_until: datetime | None,
    changed_by: dict[str, str],
) -> dict[str, Any]:
    """The status of ``conversation_id`` changed (our extension)."""
    return event_envelope(
        event_type=registry.CONVERSATION_STATUS_CHANGED,
        event_id=uuid.uuid4(),
        entity_id=str(conversation_id),
        time=timezone.now(),
        data={
            "conversationId": str(conversation_id),
            "status": status,
            "snoozedUntil": iso_millis(snoozed_until) if snoozed_until is not None else None,
            "changedBy": changed_by,
        },
    )


def conversation_marked_unread_event(
    *, conversation_id: uuid.UUID, read_by: dict[str, str], sequence: int
) -> dict[str, Any]:
    """A staff user moved its read cursor of ``conversation_id`` back to ``sequence``."""
    return event_envelope(
        event_type=registry.CONVERSATION_MARKED_UNREAD,
        event_id=uuid.uuid4(),
        entity_id=str(conversation_id),
        time=timezone.now(),
        data=_cursor_data(conversation_id=conversation_id, read_by=read_by, sequence=sequence),
    )


def conversation_assigned_event(
    *,
    conversation_id: uuid.UUID,
    assignee: dict[str, str] | None,
    assigned_by: dict[str, str],
) -> dict[str, Any]:
    """``conversation_id`` was assigned to ``assignee`` (None: unassigned; our extension)."""
    return event_envelope(
        event_type=registry.CONVERSATION_ASSIGNED,
        event_id=uuid.uuid4(),
        entity_id=str(conversation_id),
        time=timezone.now(),
        data={
            "conversationId": str(conversation_id),
            "assignee": assignee,
            "assignedBy": assigned_by,
        },
    )


def _cursor_data(
    *, conversation_id: uuid.UUID, read_by: dict[str, str], sequence: int
) -> dict[str, Any]:
    return {"conversationId": str(conversation_id), "readBy": read_by, "sequence": str(sequence)}


def typing_event(
    *, event_type: registry.EventType, conversation_id: uuid.UUID, data: dict[str, Any]
) -> dict[str, Any]:
    """A typing or viewing event (``participant_typing``, ``business_typing``, ``staff_typing``,
    ``staff_viewing``): ``data`` beyond the conversation id is the type's own."""
    return event_envelope(
        event_type=event_type,
        event_id=uuid.uuid4(),
        entity_id=str(conversation_id),
        time=timezone.now(),
        data={"conversationId": str(conversation_id), **data},
    )
