"""The JSON shapes of messages and conversations on the wire (REST responses and events alike).

Built by hand rather than by a ``ModelSerializer``: this is the hottest output path, and the event
payload must be byte-for-byte what the REST API returns, so both call these functions.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.utils import timezone

from inbox.attachments.selectors import download_links, with_download_urls
from inbox.conf import inbox_settings
from inbox.models import Conversation, Message, Participant, user_display_name, user_wire_id


def iso_millis(value: datetime) -> str:
    """ISO-8601 UTC with milliseconds and ``Z`` (Wix's ``createdDate`` form)."""
    return (
        value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    )


def iso_micro(value: datetime) -> str:
    """ISO-8601 UTC with microseconds and ``Z`` (Wix's ``eventTime`` form)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_order(value: Any) -> Any:
    """JSON with every object's keys sorted, recursively.

    Stored JSON comes back from PostgreSQL's ``jsonb`` with its keys reordered (by length, then
    bytes), while a message just sent still has them in the order they were built. Emitting
    both in one order makes a sent message, its event and every later list of it the same
    bytes on every database."""
    if isinstance(value, dict):
        return {key: canonical_order(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [canonical_order(item) for item in value]
    return value


def message_json(message: Message) -> dict[str, Any]:
    sender: dict[str, str] = {message.sender_kind: str(message.sender_id)}
    if message.sender_contact_id and message.sender_kind != Message.SenderKind.CONTACT:
        sender[Participant.Kind.CONTACT.wire_key] = str(message.sender_contact_id)
    data: dict[str, Any] = {
        "id": str(message.pk),
        "content": canonical_order(_content_of(message)),
        "sender": sender,
        "badges": canonical_order(message.badges),
        "targetChannels": message.target_channels,
        "sourceChannel": message.source_channel,
        "targetChannelIds": message.target_channel_ids,
        "visibility": message.visibility,
        "sequence": str(message.sequence),
        "direction": message.direction,
        "createdDate": iso_millis(message.created_at),
        "silent": message.silent,
    }
    if message.source_channel_id:
        data["sourceChannelId"] = message.source_channel_id
    if message.app_id:
        data["appId"] = str(message.app_id)
    return data


def participant_json(participant: Participant) -> dict[str, str]:
    data = {participant.wire_key: str(participant.external_id)}
    if participant.kind != Participant.Kind.CONTACT and participant.contact_id:
        data[Participant.Kind.CONTACT.wire_key] = str(participant.contact_id)
    return data


def conversation_json(conversation: Conversation) -> dict[str, Any]:
    participant = conversation.participant
    return {
        "id": str(conversation.pk),
        "participant": participant_json(participant),
        "channels": conversation.channels,
        "businessDisplayData": {
            "name": inbox_settings.BUSINESS_NAME,
            "imageUrl": inbox_settings.BUSINESS_IMAGE_URL,
        },
        "participantDisplayData": {
            "name": participant.display_name,
            "imageUrl": participant.avatar_url or None,
        },
    }


def conversation_row_json(conversation: Conversation) -> dict[str, Any]:
    """One row of the staff conversation list (``GET v2/conversations``, our extension).

    Needs the ``unread_count`` and ``read_sequence`` annotations of
    ``selectors.conversation_list_for_staff``; sequences are int64 strings, as everywhere.
    """
    activity = conversation.last_activity_at
    return {
        "conversation": conversation_json(conversation),
        "participantKind": conversation.participant.kind,
        "participantNamed": conversation.participant.is_named,
        "previewText": conversation.last_message_preview,
        "lastSequence": str(conversation.last_sequence),
        "lastMessageSequence": str(conversation.last_message_sequence),
        "lastActivityDate": iso_millis(activity) if activity is not None else None,
        "lastMessageDirection": conversation.last_message_direction or None,
        "lastMessageVisibility": conversation.last_message_visibility or None,
        "previewThumbnailUrl": _preview_thumbnail_url(conversation),
        "unreadCount": conversation.unread_count,  # type: ignore[attr-defined]
        "readSequence": str(conversation.read_sequence),  # type: ignore[attr-defined]
        "participantReadSequence": str(conversation.participant_read_sequence),
        **status_json(conversation),
        "assignee": assignee_json(conversation.assignee),
    }


def _preview_thumbnail_url(conversation: Conversation) -> str | None:
    """The signed thumbnail link of the last message's first uploaded image, if it has one."""
    image_id = getattr(conversation, "preview_image_id", None)
    if image_id is None or not conversation.last_message_visibility:
        return None
    links, _ = download_links(str(image_id), visibility=conversation.last_message_visibility)
    return links["thumbnail"]


def assignee_json(user: Any) -> dict[str, str] | None:
    """An assignee on the wire: its ``wixUserId`` and the name the inbox shows (null: nobody)."""
    if user is None:
        return None
    return {"wixUserId": str(user_wire_id(user.pk)), "name": user_display_name(user)}


def status_json(conversation: Conversation) -> dict[str, Any]:
    """``status`` as of now (a snooze that has run out reads ``OPEN``) and ``snoozedUntil``
    (while the snooze lasts); business side only, never a participant's."""
    status = conversation.status_at(timezone.now())
    until = conversation.snoozed_until
    return {
        "status": status,
        "snoozedUntil": iso_millis(until)
        if until is not None and status == Conversation.Status.SNOOZED
        else None,
    }


def _content_of(message: Message) -> dict[str, Any]:
    """The stored content, with signed links on the items naming uploaded attachments."""
    if message.content_type != Message.ContentType.BASIC:
        return message.content
    return with_download_urls(message.content, visibility=message.visibility)
