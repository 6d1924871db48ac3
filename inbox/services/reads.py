"""Read cursors: how far a staff user, or the participant, has read a conversation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from inbox.exceptions import RULE_MAX, PermissionDenied, ValidationFailed
from inbox.identity import Caller, CallerKind
from inbox.models import Conversation, Message, ReadCursor
from inbox.realtime import events
from inbox.realtime.groups import business_group
from inbox.realtime.publish import publish_on_commit
from inbox.selectors import participant_visible_last_sequence


@dataclass(frozen=True)
class ReadState:
    """A read cursor after ``conversation_mark_read``: who it belongs to (IdentificationData),
    where it stands, and whether this call moved it."""

    read_by: dict[str, str]
    sequence: int
    moved: bool


def conversation_mark_read(
    *, caller: Caller, conversation: Conversation, sequence: int
) -> ReadState:
    """Move the caller's read cursor of ``conversation`` forward to ``sequence``.

    A staff user has its own cursor (``ReadCursor``); a participant moves the conversation's
    ``participant_read_sequence`` (the staff page's "seen" marks). Cursors never move back, also
    under concurrent calls: each move is one conditional UPDATE. ``sequence`` may not exceed the
    last sequence the caller can see. A move publishes ``conversation_read`` to the business
    stream after commit.
    """
    if caller.kind is CallerKind.APP:
        raise PermissionDenied(_("An app has no read cursor; staff users and participants do"))
    if caller.is_participant:
        bound = participant_visible_last_sequence(conversation=conversation)
    else:
        bound = Conversation.objects.values_list("last_sequence", flat=True).get(pk=conversation.pk)
    if sequence > bound:
        raise ValidationFailed.single(
            "sequence", f"must not exceed the conversation's last sequence ({bound})", RULE_MAX
        )
    with transaction.atomic():
        if caller.is_participant:
            state = _participant_read(conversation=conversation, sequence=sequence)
        else:
            state = _staff_read(caller=caller, conversation=conversation, sequence=sequence)
        if state.moved:
            publish_on_commit(
                groups=[business_group()],
                event=events.conversation_read_event(
                    conversation_id=conversation.pk, read_by=state.read_by, sequence=state.sequence
                ),
            )
    return state


def _participant_read(*, conversation: Conversation, sequence: int) -> ReadState:
    participant = conversation.participant
    moved = (
        Conversation.objects.filter(
            pk=conversation.pk, participant_read_sequence__lt=sequence
        ).update(participant_read_sequence=sequence)
        > 0
    )
    current = Conversation.objects.values_list("participant_read_sequence", flat=True).get(
        pk=conversation.pk
    )
    return ReadState(
        read_by={participant.wire_key: str(participant.external_id)}, sequence=current, moved=moved
    )


def _staff_read(*, caller: Caller, conversation: Conversation, sequence: int) -> ReadState:
    moved = _read_cursor_advance(conversation=conversation, user=caller.user, sequence=sequence)
    current = (
        ReadCursor.objects.filter(conversation=conversation, user=caller.user)
        .values_list("sequence", flat=True)
        .first()
        or 0
    )
    return ReadState(
        read_by={Message.SenderKind.BUSINESS_USER.value: str(caller.id)},
        sequence=current,
        moved=moved,
    )


def _read_cursor_advance(*, conversation: Conversation, user: Any, sequence: int) -> bool:
    cursors = ReadCursor.objects.filter(conversation=conversation, user=user)

    def advance() -> bool:
        behind = cursors.filter(sequence__lt=sequence)
        return bool(behind.update(sequence=sequence, updated_at=timezone.now()))

    if advance():
        return True
    if sequence <= 0:
        return False
    if cursors.exists():
        # The row may have been committed by a concurrent first read after our UPDATE's
        # snapshot (PostgreSQL, READ COMMITTED): this UPDATE's newer snapshot sees it.
        return advance()
    try:
        with transaction.atomic():
            ReadCursor.objects.create(conversation=conversation, user=user, sequence=sequence)
        return True
    except IntegrityError:
        # A concurrent first read created the row; move it if it stands behind ours.
        return advance()


def conversation_mark_unread(*, caller: Caller, conversation: Conversation) -> ReadState:
    """A staff user marks ``conversation`` unread again: its read cursor moves back to just
    before the last message that counts as unread for it (not silent, not its own), so the list
    shows at least one unread. The one way a cursor moves back; a cursor already behind that
    message stays. Publishes ``conversation_marked_unread`` to the business stream."""
    if caller.kind is not CallerKind.STAFF:
        raise PermissionDenied(_("Only a staff user has a read cursor to move back"))
    last = (
        Message.objects.filter(conversation=conversation, silent=False)
        .exclude(sender_kind=caller.sender_kind, sender_id=caller.id)
        .order_by("-sequence")
        .values_list("sequence", flat=True)
        .first()
    )
    read_by = {Message.SenderKind.BUSINESS_USER.value: str(caller.id)}
    if last is None:
        return ReadState(read_by=read_by, sequence=0, moved=False)
    target = last - 1
    with transaction.atomic():
        moved = (
            ReadCursor.objects.filter(
                conversation=conversation, user=caller.user, sequence__gt=target
            ).update(sequence=target, updated_at=timezone.now())
            > 0
        )
        if moved:
            publish_on_commit(
                groups=[business_group()],
                event=events.conversation_marked_unread_event(
                    conversation_id=conversation.pk, read_by=read_by, sequence=target
                ),
            )
    current = (
        ReadCursor.objects.filter(conversation=conversation, user=caller.user)
        .values_list("sequence", flat=True)
        .first()
        or 0
    )
    return ReadState(read_by=read_by, sequence=current, moved=moved)
