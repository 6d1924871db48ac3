"""Presence heartbeats (from the business stream's consumer) and the away auto-reply (from a
participant's send)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils.translation import gettext

from inbox.conf import inbox_settings
from inbox.models import INBOX_NAMESPACE, Message
from inbox.presence.hours import business_timezone
from inbox.presence.models import AwayReply
from inbox.presence.selectors import AvailabilityStatus, availability
from inbox.presence.store import presence_store
from inbox.services.entries import server_message_create

# Who the away reply is from: an automated sender, so an ``appId`` of its own (no App row).
AWAY_REPLY_SENDER = uuid.uuid5(INBOX_NAMESPACE, "sender:away-reply")


def presence_touch(*, key: str, user_pk: object) -> None:
    """The staff socket ``key`` of user ``user_pk`` is open (for another TTL)."""
    presence_store().touch(key=key, user_pk=user_pk, ttl=inbox_settings.PRESENCE_TTL_SECONDS)


def presence_drop(*, key: str) -> None:
    """The staff socket ``key`` closed."""
    presence_store().drop(key=key)


def away_message_text() -> str:
    """The auto-reply's text, in the language active now (the participant's request): the
    site's ``AWAY_MESSAGE`` (a lazy translation works), or ours."""
    configured = inbox_settings.AWAY_MESSAGE
    if configured:
        return str(configured)
    return gettext(
        "Thanks for your message. Nobody from the team is online right now; "
        "we will reply as soon as we are back."
    )


def away_reply_maybe(*, conversation_id: uuid.UUID, now: datetime) -> Message | None:
    """Inside a participant's send: when ``AWAY_REPLY`` is on and nobody of the team is online,
    send the away message into the conversation, at most once per conversation per day (in
    the business time zone; the unique constraint decides between racing sends)."""
    if not inbox_settings.AWAY_REPLY:
        return None
    if availability(now=now).status == AvailabilityStatus.ONLINE:
        return None
    day = now.astimezone(business_timezone()).date()
    try:
        with transaction.atomic():
            AwayReply.objects.create(conversation_id=conversation_id, day=day)
    except IntegrityError:
        return None
    return server_message_create(
        conversation_id=conversation_id,
        actor=(Message.SenderKind.APP, AWAY_REPLY_SENDER, None),
        app_id=None,
        content={"basic": {"items": [{"text": away_message_text()}]}},
        visibility=Message.Visibility.BUSINESS_AND_PARTICIPANT,
        # A microsecond after the message it answers, so it sorts after it.
        at=now + timedelta(microseconds=1),
    )
