"""The JSON shapes of messages and conversations on the wire (REST responses and events alike).

Built by hand rather than by a ``ModelSerializer``: this is the hottest output path, and the event
payload must be byte-for-byte what the REST API returns, so both call these functions.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from inbox.conf import inbox_settings
from inbox.models import Conversation, Message, Participant


def iso_millis(value: datetime) -> str:
    """ISO-8601 UTC with milliseconds and ``Z`` (Wix's ``createdDate`` form)."""
    return (
        value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    )


def iso_micro(value: datetime) -> str:
    """ISO-8601 UTC with microseconds and ``Z`` (Wix's ``eventTime`` form)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def message_json(message: Message) -> dict[str, Any]:
    sender: dict[str, str] = {message.sender_kind: str(message.sender_id)}
    if message.sender_contact_id and message.sender_kind != Message.SenderKind.CONTACT:
        sender["contactId"] = str(message.sender_contact_id)
    data: dict[str, Any] = {
        "id": str(message.pk),
        "content": message.content,
        "sender": sender,
        "badges": message.badges,
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
        data["contactId"] = str(participant.contact_id)
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
