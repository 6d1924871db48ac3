"""Django signals for what happens in the inbox, sent once the write that caused it commits.

Every signal but ``conversation_created`` is sent from the same event the sockets, the outbox
and webhooks carry, so one happening has one id everywhere. Receivers get keyword arguments:

- ``event_id``: the event's id (``webhook-id`` of its webhook deliveries, ``id`` on sockets);
- ``event``: the whole envelope, as sockets and webhooks carry it (docs/events.md);
- ``data``: the envelope's ``data``.

``sender`` is the model the event is about (``Message`` or ``Conversation``). A receiver that
raises is logged and does not affect the write or the other receivers (they run after commit).

``event_committed`` is sent for every event of the registry, the others for their own slugs:

| Signal | Sent for | ``data`` holds |
|---|---|---|
| ``message_sent`` | ``message_sent_to_business``, ``message_sent_to_participant`` | ``conversationId``, ``message`` (the REST Message JSON) |
| ``button_interacted`` | ``button_interacted`` | ``conversationId``, ``messageId``, ``appId``, ``interactionId``, ``interactedBy`` |
| ``conversations_merged`` | ``conversations_merged`` | ``oldConversationIds``, ``targetConversationId`` |
| ``conversation_read`` | ``conversation_read`` | ``conversationId``, ``readBy``, ``sequence`` |

``conversation_created`` has no event: it is sent with ``conversation`` (the new
``Conversation``) when ``conversation_get_or_create`` made one.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.dispatch import Signal

from inbox.models import Conversation, Message

logger = logging.getLogger("inbox")

event_committed = Signal()
message_sent = Signal()
button_interacted = Signal()
conversations_merged = Signal()
conversation_read = Signal()
conversation_created = Signal()

_BY_SLUG: dict[str, tuple[Signal, type]] = {
    "message_sent_to_business": (message_sent, Message),
    "message_sent_to_participant": (message_sent, Message),
    "button_interacted": (button_interacted, Message),
    "conversations_merged": (conversations_merged, Conversation),
    "conversation_read": (conversation_read, Conversation),
}


def send_event_signals(event: dict[str, Any]) -> None:
    """Send ``event_committed`` and the event's own signal, if it has one (after commit)."""
    signal, sender = _BY_SLUG.get(event["slug"], (None, Conversation))
    arguments = {"event_id": event["id"], "event": event, "data": event.get("data", {})}
    _send(event_committed, sender, arguments)
    if signal is not None:
        _send(signal, sender, arguments)


def conversation_created_on_commit(conversation: Conversation) -> None:
    """Send ``conversation_created`` for ``conversation`` once the current transaction commits."""
    transaction.on_commit(
        lambda: _send(conversation_created, Conversation, {"conversation": conversation}),
        robust=True,
    )


def _send(signal: Signal, sender: type, arguments: dict[str, Any]) -> None:
    for receiver, error in signal.send_robust(sender=sender, **arguments):
        if isinstance(error, Exception):
            logger.error("inbox: signal receiver %r failed", receiver, exc_info=error)
