"""Reads for notifications: who may be e-mailed, and which messages an e-mail covers.

Message visibility goes through ``inbox.selectors.visible_messages``, so an e-mail to a
participant can never show a message the participant may not see (internal notes).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Max, QuerySet

from inbox.models import Conversation, Message, ReadCursor
from inbox.notifications.models import (
    NotificationThread,
    ParticipantEmailOptOut,
    StaffNotificationSettings,
)
from inbox.selectors import assignable_staff, visible_messages

PARTICIPANT_VIEW = Message.Visibility.BUSINESS_AND_PARTICIPANT


def thread_for_update(*, conversation_id: uuid.UUID, audience: str) -> NotificationThread | None:
    """The conversation's notification state for ``audience``, locked until the transaction
    ends (PostgreSQL; SQLite's transactions hold the write lock already)."""
    return (
        NotificationThread.objects.select_for_update()
        .filter(conversation_id=conversation_id, audience=audience)
        .first()
    )


def notifying_messages(
    *, conversation: Conversation, audience: str, after: int, through: int
) -> QuerySet[Message]:
    """The messages an e-mail to ``audience`` is about: not silent, from the other side, visible
    to the audience, with a sequence in (``after``, ``through``], oldest first."""
    if audience == NotificationThread.Audience.PARTICIPANT:
        messages = visible_messages(conversation_id=conversation.pk, visibility=PARTICIPANT_VIEW)
        direction = Message.Direction.BUSINESS_TO_PARTICIPANT
    else:
        messages = visible_messages(
            conversation_id=conversation.pk, visibility=Message.Visibility.BUSINESS
        )
        direction = Message.Direction.PARTICIPANT_TO_BUSINESS
    return messages.filter(
        direction=direction, silent=False, sequence__gt=after, sequence__lte=through
    ).order_by("sequence")


def recent_thread(
    *, conversation: Conversation, audience: str, through: int, limit: int
) -> list[Message]:
    """The last ``limit`` non-silent messages up to ``through`` as ``audience`` sees them,
    oldest first: the conversation an e-mail shows."""
    visibility = (
        PARTICIPANT_VIEW
        if audience == NotificationThread.Audience.PARTICIPANT
        else Message.Visibility.BUSINESS
    )
    messages = visible_messages(conversation_id=conversation.pk, visibility=visibility).filter(
        silent=False, sequence__lte=through
    )
    return list(reversed(messages.order_by("-sequence")[:limit]))


def staff_read_sequence(*, conversation: Conversation) -> int:
    """How far the staff user who read furthest has read ``conversation`` (0: nobody has)."""
    furthest = ReadCursor.objects.filter(conversation=conversation).aggregate(m=Max("sequence"))
    return int(furthest["m"] or 0)


def participant_opted_out(*, participant_id: uuid.UUID) -> bool:
    return ParticipantEmailOptOut.objects.filter(participant_id=participant_id).exists()


def staff_email_recipients() -> list[Any]:
    """Active staff who may open the inbox, opted in to e-mail and have an address."""
    opted_in = set(
        StaffNotificationSettings.objects.filter(email_unread=True).values_list(
            "user_id", flat=True
        )
    )
    return [user for user in assignable_staff() if user.pk in opted_in and email_address(user)]


def email_address(user: Any) -> str:
    """A user's address under any user model (``EMAIL_FIELD``); "" when it has none."""
    return str(getattr(user, user.get_email_field_name(), None) or "")


def staff_email_enabled(*, user: Any) -> bool:
    return StaffNotificationSettings.objects.filter(user=user, email_unread=True).exists()


def staff_email_recipient(*, user_pk: Any) -> Any | None:
    """The staff user ``user_pk`` if they may be e-mailed now (``staff_email_recipients``)."""
    return next((user for user in staff_email_recipients() if str(user.pk) == str(user_pk)), None)


def last_participant_messages(*, conversation: Conversation, limit: int) -> list[Message]:
    """The conversation's last ``limit`` non-silent participant messages as staff see them,
    oldest first: the context an assignment e-mail shows."""
    messages = visible_messages(
        conversation_id=conversation.pk, visibility=Message.Visibility.BUSINESS
    ).filter(direction=Message.Direction.PARTICIPANT_TO_BUSINESS, silent=False)
    return list(reversed(messages.order_by("-sequence")[:limit]))
