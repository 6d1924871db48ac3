"""Messages: what a send asks for (``MessageDraft``, ``SendAs``), sending it, and a participant
pressing one of its postback buttons."""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from inbox.attachments.services import attachments_bind, attachments_prepare_send
from inbox.content import NormalizedContent
from inbox.exceptions import (
    RULE_EXISTS,
    RULE_REQUIRED,
    IdempotencyConflict,
    IdentityDoesNotMatch,
    NotJoinedChatroom,
    ValidationFailed,
)
from inbox.identity import Caller, CallerKind
from inbox.models import Conversation, Message
from inbox.notifications.services import notifications_message_sent
from inbox.presence.services import away_reply_maybe
from inbox.realtime import events
from inbox.realtime.groups import business_group, participant_group
from inbox.realtime.publish import publish_on_commit
from inbox.selectors import conversation_for_caller, is_own_conversation, one_or_none
from inbox.services.conversations import conversation_get_or_create
from inbox.services.sequences import (
    ConversationMerged,
    Summary,
    allocate_sequence_reading_status,
    micros,
)
from inbox.services.status import conversation_reopen_for_message
from inbox.wire import participant_json


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
    # Wix's ``sendNotifications``: e-mail the participant if it does not see the message in
    # time (inbox/notifications/; business messages only).
    send_notifications: bool = False


# A send chases a conversation merged away under it at most this many times.
MERGE_RETRIES = 2

Sender = tuple[str, uuid.UUID, uuid.UUID | None]


def message_send(
    *,
    caller: Caller,
    conversation: Conversation | uuid.UUID | None,
    draft: MessageDraft,
    send_as: str = SendAs.CALLER,
    business_user_id: uuid.UUID | None = None,
    idempotency_key: str | None = None,
    fingerprint: str = "",
) -> tuple[Message, bool]:
    """Store a message and publish it after commit; returns it and whether it is new.

    ``conversation=None`` is for a participant sending into its own conversation, which this
    call creates on the first message. A business caller sending as itself may pass just the
    conversation's id: the sequence allocation is then also the lookup (one statement less on
    the hottest path), and only an id that is unknown or merged away is looked up properly.
    A retry with the same ``idempotency_key`` returns the original message; the same key with a
    different request raises ``IdempotencyConflict``.
    """
    if idempotency_key:
        replay = _idempotent_replay(caller=caller, key=idempotency_key, fingerprint=fingerprint)
        if replay is not None:
            return replay, False
    try:
        for attempt in range(MERGE_RETRIES + 1):
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
                break
            except ConversationMerged as merged:
                # The conversation was merged away after the caller looked it up (or, for an
                # id not looked up yet, is unknown): send into the surviving one, if the caller
                # may, rather than into a hidden thread.
                if attempt == MERGE_RETRIES:
                    raise NotJoinedChatroom() from None
                conversation = conversation_for_caller(
                    caller=caller, conversation_id=merged.conversation_id
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


def _idempotent_replay(*, caller: Caller, key: str, fingerprint: str) -> Message | None:
    existing = one_or_none(
        Message.objects.filter(idempotency_scope=caller.scope, idempotency_key=key).select_related(
            "conversation"
        )
    )
    if existing is None:
        return None
    if existing.request_fingerprint != fingerprint:
        raise IdempotencyConflict()
    return existing


def _message_insert(
    *,
    caller: Caller,
    conversation: Conversation | uuid.UUID | None,
    draft: MessageDraft,
    send_as: str,
    business_user_id: uuid.UUID | None,
    idempotency_key: str | None,
    fingerprint: str,
) -> Message:
    conversation = _conversation_to_send_into(
        caller=caller, conversation=conversation, send_as=send_as
    )
    conversation_id = conversation if isinstance(conversation, uuid.UUID) else conversation.pk
    sender = _sender_for(
        caller=caller,
        conversation=conversation,
        draft=draft,
        send_as=send_as,
        business_user_id=business_user_id,
    )
    # Uploaded attachments it names: complete (their rows exist only then), the caller's own,
    # filled into the content, and claimed below in this transaction.
    content, attachment_ids = attachments_prepare_send(
        caller=caller, conversation_id=conversation_id, content=draft.content
    )
    if attachment_ids:
        draft = dataclasses.replace(draft, content=content)
    now = timezone.now()
    # One UPDATE allocates the sequence under the row lock: the next one is the current time
    # in microseconds (as Wix's are), or one more than the last if the clock has not moved on.
    # Concurrent senders in any process queue on this row; the unique constraint backs it.
    # It also proves the conversation exists and was not merged away (ConversationMerged).
    sequence, status = allocate_sequence_reading_status(
        conversation_id, micros=micros(now), summary=_summary_of(draft, now)
    )
    message = _message_create(
        caller=caller,
        conversation_id=conversation_id,
        sequence=sequence,
        draft=draft,
        sender=sender,
        now=now,
        idempotency_key=idempotency_key,
        fingerprint=fingerprint,
    )
    if attachment_ids:
        attachments_bind(message=message, attachment_ids=attachment_ids)
    if isinstance(conversation, Conversation):
        message.conversation = conversation
    _publish_message(message)
    notifications_message_sent(message=message, send_notifications=draft.send_notifications)
    if (
        status != Conversation.Status.OPEN
        and draft.direction == Message.Direction.PARTICIPANT_TO_BUSINESS
        and not draft.silent
    ):
        # Costs nothing while the conversation is open: the allocation read the status.
        conversation_reopen_for_message(conversation_id=conversation_id, sender=sender)
    if draft.direction == Message.Direction.PARTICIPANT_TO_BUSINESS and not draft.silent:
        away_reply_maybe(conversation_id=conversation_id, now=now)
    return message


def _conversation_to_send_into(
    *, caller: Caller, conversation: Conversation | uuid.UUID | None, send_as: str
) -> Conversation | uuid.UUID:
    """The conversation, or just its id where the send needs no more than that."""
    if conversation is None:
        assert caller.participant_kind is not None
        conversation, _created = conversation_get_or_create(
            kind=caller.participant_kind, external_id=caller.id, user=caller.user
        )
    elif isinstance(conversation, uuid.UUID) and (
        caller.is_participant or send_as == SendAs.PARTICIPANT
    ):
        # These need the participant: look the conversation up first.
        conversation = conversation_for_caller(caller=caller, conversation_id=conversation)
    return conversation


def _sender_for(
    *,
    caller: Caller,
    conversation: Conversation | uuid.UUID,
    draft: MessageDraft,
    send_as: str,
    business_user_id: uuid.UUID | None,
) -> Sender:
    """(sender kind, sender GUID, contact GUID) written on the message, per ``sendAs``, once
    the caller is known to be allowed to send ``draft``."""
    if isinstance(conversation, uuid.UUID):
        return _business_sender(caller=caller, send_as=send_as, business_user_id=business_user_id)
    if caller.is_participant:
        _check_participant_send(
            caller=caller, conversation=conversation, draft=draft, send_as=send_as
        )
    if send_as == SendAs.PARTICIPANT or caller.is_participant:
        participant = conversation.participant
        return participant.wire_key, participant.external_id, participant.contact_id
    return _business_sender(caller=caller, send_as=send_as, business_user_id=business_user_id)


def _business_sender(*, caller: Caller, send_as: str, business_user_id: uuid.UUID | None) -> Sender:
    """The sender of a business caller writing as itself (``CALLER``) or as a business user."""
    assert caller.is_business and send_as != SendAs.PARTICIPANT
    if send_as == SendAs.BUSINESS_USER:
        if caller.kind is CallerKind.STAFF:
            # A staff user writes as itself; naming a colleague would be impersonation.
            if business_user_id is not None and business_user_id != caller.id:
                raise IdentityDoesNotMatch(_("A business user may only send as itself"))
            return Message.SenderKind.BUSINESS_USER, caller.id, None
        if business_user_id is None:
            raise ValidationFailed.single(
                "businessUserId", "is required when sendAs is BUSINESS_USER", RULE_REQUIRED
            )
        return Message.SenderKind.BUSINESS_USER, business_user_id, None
    return caller.sender_kind, caller.id, None


def _check_participant_send(
    *, caller: Caller, conversation: Conversation, draft: MessageDraft, send_as: str
) -> None:
    participant = conversation.participant
    owns = participant.wire_key == caller.sender_kind and participant.external_id == caller.id
    if (
        not owns
        or send_as == SendAs.BUSINESS_USER
        or draft.direction != Message.Direction.PARTICIPANT_TO_BUSINESS
        or draft.visibility != Message.Visibility.BUSINESS_AND_PARTICIPANT
    ):
        raise IdentityDoesNotMatch(
            "A participant may only send PARTICIPANT_TO_BUSINESS messages with visibility "
            "BUSINESS_AND_PARTICIPANT into its own conversation"
        )


def _summary_of(draft: MessageDraft, now: datetime) -> Summary | None:
    """What the message writes onto its conversation's list row; a silent one writes nothing."""
    if draft.silent:
        return None
    return Summary(
        preview=draft.content.preview_text,
        direction=draft.direction,
        visibility=draft.visibility,
        at=now,
    )


def _message_create(
    *,
    caller: Caller,
    conversation_id: uuid.UUID,
    sequence: int,
    draft: MessageDraft,
    sender: Sender,
    now: datetime,
    idempotency_key: str | None,
    fingerprint: str,
) -> Message:
    sender_kind, sender_id, contact_id = sender
    return Message.objects.create(
        conversation_id=conversation_id,
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


def _publish_message(message: Message) -> None:
    """The message's event, after commit, to the business stream, and to the participant's when
    the participant may see it."""
    groups = [business_group()]
    if message.visibility == Message.Visibility.BUSINESS_AND_PARTICIPANT:
        groups.append(participant_group(message.conversation_id))
    publish_on_commit(groups=groups, event=events.message_event(message))


def message_interact(*, caller: Caller, message: Message, interaction_id: str) -> None:
    """The participant pressed a postback button of ``message``: tell the business side.

    Only the participant of the message's conversation may press, only on a message it can see,
    and only a button that exists; the event goes to the business stream alone.
    """
    conversation = message.conversation
    if (
        not caller.is_participant
        or message.visibility != Message.Visibility.BUSINESS_AND_PARTICIPANT
        or not is_own_conversation(caller=caller, conversation=conversation)
    ):
        raise NotJoinedChatroom(_("The message is not in a conversation the caller takes part in"))
    app_ids = _postback_app_ids(message)
    if interaction_id not in app_ids:
        raise ValidationFailed.single(
            "interactionId",
            "the message has no postback button with this interactionId",
            RULE_EXISTS,
        )
    event = events.button_interacted_event(
        message=message,
        app_id=app_ids[interaction_id],
        interaction_id=interaction_id,
        interacted_by=participant_json(conversation.participant),
    )
    publish_on_commit(groups=[business_group()], event=event)


def _postback_app_ids(message: Message) -> dict[str, str | None]:
    """interactionId → appId of every postback button a participant can press on ``message``."""
    found: dict[str, str | None] = {}
    payload = message.content.get("template") or message.content.get("system") or {}
    for button in payload.get("buttons") or []:
        postback = button.get("postbackProperties") if isinstance(button, dict) else None
        if isinstance(postback, dict) and postback.get("interactionId"):
            found.setdefault(postback["interactionId"], postback.get("appId"))
    return found
