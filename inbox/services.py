"""Every write of the app. Keyword-only, typed, atomic; events leave only after commit.

Views, admin actions, consumers and commands call these; nothing else saves inbox models.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from inbox.content import NormalizedContent
from inbox.exceptions import IdempotencyConflict, IdentityDoesNotMatch
from inbox.identity import API_KEY_PREFIX, Caller, CallerKind
from inbox.models import (
    App,
    Conversation,
    Message,
    Participant,
    conversation_id_for,
)
from inbox.realtime import events
from inbox.realtime.groups import business_group, participant_group
from inbox.selectors import follow_merges


class SendAs:
    CALLER = "CALLER"
    PARTICIPANT = "PARTICIPANT"
    BUSINESS_USER = "BUSINESS_USER"

    ALL = (CALLER, PARTICIPANT, BUSINESS_USER)


@dataclass(frozen=True)
class MessageDraft:
    """A validated message as the caller asked for it, before the server fills in the rest."""

    direction: str
    visibility: str
    content: NormalizedContent
    badges: list[dict[str, object]] = field(default_factory=list)
    target_channels: list[str] = field(default_factory=list)
    source_channel: str = "UNKNOWN_CHANNEL_TYPE"
    target_channel_ids: list[str] = field(default_factory=list)
    source_channel_id: str | None = None
    silent: bool = False


def app_create(*, name: str) -> tuple[App, str]:
    """Create an API app; returns it with its raw key, which is never stored or shown again."""
    raw_key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    app = App.objects.create(
        name=name, key_hash=App.hash_key(raw_key), key_prefix=raw_key[: len(API_KEY_PREFIX) + 6]
    )
    return app, raw_key


def visitor_create() -> uuid.UUID:
    """A new anonymous visitor id. Nothing is written until the visitor sends something."""
    return uuid.uuid4()


def _default_display_name(kind: str, external_id: uuid.UUID, user: Any) -> str:
    if user is not None:
        return str(user.get_full_name() or user.get_username())
    label = {"ANONYMOUS_VISITOR": "Visitor", "CONTACT": "Contact", "MEMBER": "Member"}[kind]
    return f"{label} {external_id.hex[:6]}"


def participant_get_or_create(
    *, kind: str, external_id: uuid.UUID, user: Any = None, display_name: str = ""
) -> Participant:
    """The participant with this wire id, created on first use. Safe under concurrency: the
    unique constraint on the id decides, and the loser reads the winner's row."""
    lookup = {
        Participant.Kind.ANONYMOUS_VISITOR: "anonymous_visitor_id",
        Participant.Kind.CONTACT: "contact_id",
        Participant.Kind.MEMBER: "member_id",
    }[Participant.Kind(kind)]
    existing = Participant.objects.filter(**{lookup: external_id}).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return Participant.objects.create(
                kind=kind,
                user=user,
                display_name=display_name or _default_display_name(kind, external_id, user),
                **{lookup: external_id},
            )
    except IntegrityError:
        return Participant.objects.get(**{lookup: external_id})


def conversation_get_or_create(
    *, kind: str, external_id: uuid.UUID, user: Any = None, display_name: str = ""
) -> tuple[Conversation, bool]:
    """The one conversation of a participant; ``True`` when this call created it.

    Its id is derived from the participant, so concurrent callers race on one primary key and
    exactly one insert wins.
    """
    conversation_id = conversation_id_for(kind, external_id)
    existing = Conversation.objects.select_related("participant").filter(pk=conversation_id).first()
    if existing is not None:
        return follow_merges(existing), False
    with transaction.atomic():
        participant = participant_get_or_create(
            kind=kind, external_id=external_id, user=user, display_name=display_name
        )
        try:
            with transaction.atomic():
                conversation = Conversation.objects.create(
                    id=conversation_id, participant=participant, channels=["CHAT"]
                )
                return conversation, True
        except IntegrityError:
            pass
    conversation = Conversation.objects.select_related("participant").get(pk=conversation_id)
    return follow_merges(conversation), False


def _sender_for(
    *,
    caller: Caller,
    conversation: Conversation,
    send_as: str,
    business_user_id: uuid.UUID | None,
) -> tuple[str, uuid.UUID, uuid.UUID | None]:
    """(sender kind, sender GUID, contact GUID) written on the message, per ``sendAs``."""
    participant = conversation.participant
    if send_as == SendAs.PARTICIPANT or caller.is_participant:
        return participant.wire_key, participant.external_id, participant.contact_id
    if send_as == SendAs.BUSINESS_USER:
        if caller.kind is CallerKind.STAFF:
            return Message.SenderKind.BUSINESS_USER, caller.id, None
        assert business_user_id is not None
        return Message.SenderKind.BUSINESS_USER, business_user_id, None
    return caller.sender_kind, caller.id, None


def _check_participant_send(
    *, caller: Caller, conversation: Conversation, draft: MessageDraft
) -> None:
    participant = conversation.participant
    owns = participant.wire_key == caller.sender_kind and participant.external_id == caller.id
    if (
        not owns
        or draft.direction != Message.Direction.PARTICIPANT_TO_BUSINESS
        or draft.visibility != Message.Visibility.BUSINESS_AND_PARTICIPANT
    ):
        raise IdentityDoesNotMatch(
            "A participant may only send PARTICIPANT_TO_BUSINESS messages with visibility "
            "BUSINESS_AND_PARTICIPANT into its own conversation"
        )


def _idempotent_replay(*, caller: Caller, key: str, fingerprint: str) -> Message | None:
    existing = (
        Message.objects.filter(idempotency_scope=caller.scope, idempotency_key=key)
        .select_related("conversation")
        .first()
    )
    if existing is None:
        return None
    if existing.request_fingerprint != fingerprint:
        raise IdempotencyConflict()
    return existing


def _micros(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000 + moment.microsecond


def message_send(
    *,
    caller: Caller,
    conversation: Conversation | None,
    draft: MessageDraft,
    send_as: str = SendAs.CALLER,
    business_user_id: uuid.UUID | None = None,
    idempotency_key: str | None = None,
    fingerprint: str = "",
) -> tuple[Message, bool]:
    """Store a message and publish it after commit; returns it and whether it is new.

    ``conversation=None`` is for a participant sending into its own conversation, which this
    call creates on the first message. A retry with the same ``idempotency_key`` returns the
    original message; the same key with a different request raises ``IdempotencyConflict``.
    """
    if idempotency_key:
        replay = _idempotent_replay(caller=caller, key=idempotency_key, fingerprint=fingerprint)
        if replay is not None:
            return replay, False
    try:
        with transaction.atomic():
            message = _message_insert(
                caller=caller,
                conversation=conversation,
                draft=draft,
                send_as=send_as,
                business_user_id=business_user_id,
                idempotency_key=idempotency_key,
                fingerprint=fingerprint,
            )
    except IntegrityError:
        # Only a concurrent retry with the same key can collide here: the sequence comes from
        # a row-locked counter, so it never does.
        if idempotency_key:
            replay = _idempotent_replay(caller=caller, key=idempotency_key, fingerprint=fingerprint)
            if replay is not None:
                return replay, False
        raise
    return message, True


def _message_insert(
    *,
    caller: Caller,
    conversation: Conversation | None,
    draft: MessageDraft,
    send_as: str,
    business_user_id: uuid.UUID | None,
    idempotency_key: str | None,
    fingerprint: str,
) -> Message:
    if conversation is None:
        assert caller.participant_kind is not None
        conversation, _ = conversation_get_or_create(
            kind=caller.participant_kind, external_id=caller.id, user=caller.user
        )
    if caller.is_participant:
        _check_participant_send(caller=caller, conversation=conversation, draft=draft)
    sender_kind, sender_id, contact_id = _sender_for(
        caller=caller, conversation=conversation, send_as=send_as, business_user_id=business_user_id
    )
    now = timezone.now()
    # One UPDATE allocates the sequence under the row lock: the next one is the current time
    # in microseconds (as Wix's are), or one more than the last if the clock has not moved on.
    # Concurrent senders in any process queue on this row; the unique constraint backs it.
    next_sequence = Greatest(F("last_sequence") + 1, Value(_micros(now)))
    updates: dict[str, Any] = {"last_sequence": next_sequence}
    if not draft.silent:
        updates.update(
            last_message_sequence=next_sequence,
            last_message_preview=draft.content.preview_text,
            last_message_direction=draft.direction,
            last_message_visibility=draft.visibility,
            last_activity_at=now,
        )
    Conversation.objects.filter(pk=conversation.pk).update(**updates)
    sequence = (
        Conversation.objects.filter(pk=conversation.pk)
        .values_list("last_sequence", flat=True)
        .get()
    )
    message = Message.objects.create(
        conversation=conversation,
        sequence=sequence,
        direction=draft.direction,
        visibility=draft.visibility,
        content_type=draft.content.content_type,
        content=draft.content.content,
        preview_text=draft.content.preview_text,
        sender_kind=sender_kind,
        sender_id=sender_id,
        sender_contact_id=contact_id,
        app_id=caller.app.id if caller.app is not None else None,
        silent=draft.silent,
        badges=draft.badges,
        target_channels=draft.target_channels,
        source_channel=draft.source_channel,
        target_channel_ids=draft.target_channel_ids,
        source_channel_id=draft.source_channel_id,
        created_at=now,
        idempotency_scope=caller.scope if idempotency_key else None,
        idempotency_key=idempotency_key or None,
        request_fingerprint=fingerprint if idempotency_key else "",
    )
    message.conversation = conversation
    groups = [business_group()]
    if message.visibility == Message.Visibility.BUSINESS_AND_PARTICIPANT:
        groups.append(participant_group(conversation.pk))
    events.publish_on_commit(groups=groups, event=events.message_event(message))
    return message
