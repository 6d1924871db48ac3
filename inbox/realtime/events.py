"""Events in Wix's shape, published to channel-layer groups after the write commits.

``publish_on_commit`` is the only way an event leaves the app; services call it inside their
transaction and it sends nothing if that transaction rolls back.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from inbox.models import INBOX_NAMESPACE, Message
from inbox.wire import iso_micro, message_json

logger = logging.getLogger("inbox")

MESSAGE_FQDN = "wix.crm.inbox.v2.message"
CONVERSATION_FQDN = "wix.crm.inbox.v2.conversation"

SLUG_SENT_TO_BUSINESS = "message_sent_to_business"
SLUG_SENT_TO_PARTICIPANT = "message_sent_to_participant"
SLUG_BUTTON_INTERACTED = "button_interacted"
SLUG_CONVERSATIONS_MERGED = "conversations_merged"
SLUG_READ = "conversation_read"

# Channels routes group messages to the consumer method named by "type".
CONSUMER_HANDLER = "inbox.event"


def event_envelope(
    *,
    event_id: uuid.UUID,
    fqdn: str,
    slug: str,
    entity_id: str,
    time: datetime,
    data: dict[str, Any],
) -> dict[str, Any]:
    return {
        "id": str(event_id),
        "entityFqdn": fqdn,
        "slug": slug,
        "entityId": entity_id,
        "eventTime": iso_micro(time),
        "data": data,
    }


def message_event(message: Message) -> dict[str, Any]:
    """The event of one sent message. Its id is derived from the message, so a replay from the
    database and the live event carry the same id and clients can drop the duplicate."""
    slug = (
        SLUG_SENT_TO_BUSINESS
        if message.direction == Message.Direction.PARTICIPANT_TO_BUSINESS
        else SLUG_SENT_TO_PARTICIPANT
    )
    return event_envelope(
        event_id=uuid.uuid5(INBOX_NAMESPACE, f"event:message:{message.pk}"),
        fqdn=MESSAGE_FQDN,
        slug=slug,
        entity_id=str(message.pk),
        time=message.created_at,
        data={
            "conversationId": str(message.conversation_id),
            "message": message_json(message),
        },
    )


def publish_on_commit(*, groups: Iterable[str], event: dict[str, Any]) -> None:
    """Send ``event`` to ``groups`` once the current transaction commits (at once if none)."""
    group_list = list(groups)
    transaction.on_commit(lambda: _send(group_list, event), robust=True)


def _send(groups: list[str], event: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    payload = {"type": CONSUMER_HANDLER, "event": event}
    for group in groups:
        try:
            async_to_sync(layer.group_send)(group, payload)
        except Exception:
            # The write is committed; clients catch up from the database when they resume.
            logger.warning(
                "inbox: could not publish %s %s to %s; clients will catch up on resume",
                event.get("slug"),
                event.get("entityId"),
                group,
                exc_info=True,
            )
