"""Messages the server writes itself (``server_message_create``): thread entries, a silent
``minimal`` message, visible to the business only, saying what happened to the conversation
(status changes, assignments), and the away reply (``inbox.presence``), which the participant
reads and which is therefore in the participant's language.

An entry is stored data, like a participant's default display name: its text is English, never
the language of the request that caused it (one staff user's, or a visitor's page's for a
reopening message), so every colleague, app and webhook reads the same words as stored."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.utils import timezone, translation
from django.utils.formats import date_format

from inbox.content import normalize_content
from inbox.identity import Caller
from inbox.models import Message, user_display_name
from inbox.realtime import events
from inbox.realtime.groups import business_group, participant_group
from inbox.realtime.publish import publish_on_commit
from inbox.services.sequences import Summary, allocate_sequence, micros

# Who wrote an entry: (sender kind, sender GUID, contact GUID), as on a message.
Actor = tuple[str, uuid.UUID, uuid.UUID | None]


def thread_entry_create(
    *, conversation_id: uuid.UUID, actor: Actor, app_id: uuid.UUID | None, text: str
) -> Message:
    """Store the entry (inside the caller's transaction) and publish it to the business stream
    after commit. Silent: an entry is no activity, moves no list summary, counts as no unread."""
    return server_message_create(
        conversation_id=conversation_id,
        actor=actor,
        app_id=app_id,
        content={"minimal": {"text": text}},
        visibility=Message.Visibility.BUSINESS,
        at=timezone.now(),
    )


def server_message_create(
    *,
    conversation_id: uuid.UUID,
    actor: Actor,
    app_id: uuid.UUID | None,
    content: dict[str, Any],
    visibility: str,
    at: datetime,
) -> Message:
    """A message the server writes itself, to the participant: business side only
    (``BUSINESS``, silent: a thread entry) or visible to the participant too (a reply that
    moves the list summary, such as the away reply). Published after commit to whoever may see
    it."""
    normalized = normalize_content(content)
    silent = visibility == Message.Visibility.BUSINESS
    summary = None
    if not silent:
        summary = Summary(
            preview=normalized.preview_text,
            direction=Message.Direction.BUSINESS_TO_PARTICIPANT,
            visibility=visibility,
            at=at,
        )
    sender_kind, sender_id, contact_id = actor
    message = Message.objects.create(
        conversation_id=conversation_id,
        sequence=allocate_sequence(conversation_id, micros=micros(at), summary=summary),
        direction=Message.Direction.BUSINESS_TO_PARTICIPANT,
        visibility=visibility,
        content_type=normalized.content_type,
        content=normalized.content,
        preview_text=normalized.preview_text,
        sender_kind=sender_kind,
        sender_id=sender_id,
        sender_contact_id=contact_id,
        app_id=app_id,
        silent=silent,
        created_at=at,
    )
    groups = [business_group()]
    if not silent:
        groups.append(participant_group(conversation_id))
    publish_on_commit(groups=groups, event=events.message_event(message))
    return message


def entry_time(moment: datetime) -> str:
    """A time as an entry states it: the site's time zone, Django's format, English words."""
    with translation.override(None):
        return date_format(timezone.localtime(moment), "DATETIME_FORMAT")


def caller_actor(caller: Caller) -> Actor:
    """A business caller as the writer of an entry (a staff user as its ``wixUserId``)."""
    return caller.sender_kind, caller.id, None


def caller_display_name(caller: Caller) -> str:
    """How an entry names a business caller."""
    if caller.user is not None:
        return user_display_name(caller.user)
    if caller.app is not None:
        return caller.app.name
    return str(caller.id)
