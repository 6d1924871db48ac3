"""Conversations: the one conversation of a participant, created on first use; merging one into
another; a member claiming the conversation it had as an anonymous visitor."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from inbox.exceptions import ConversationNotFound, IdentityDoesNotMatch, PermissionDenied
from inbox.identity import Caller, CallerKind
from inbox.models import Conversation, Message, Participant, conversation_id_for
from inbox.realtime import events
from inbox.realtime.groups import business_group, participant_group
from inbox.realtime.publish import publish_on_commit
from inbox.selectors import follow_merges, one_or_none
from inbox.services.participants import participant_get_or_create
from inbox.signals import conversation_created_on_commit


def conversation_get_or_create(
    *, kind: str, external_id: uuid.UUID, user: Any = None, display_name: str = ""
) -> tuple[Conversation, bool]:
    """The one conversation of a participant; ``True`` when this call created it.

    Its id is derived from the participant, so concurrent callers race on one primary key and
    exactly one insert wins.
    """
    conversation_id = conversation_id_for(kind, external_id)
    existing = one_or_none(
        Conversation.objects.select_related("participant").filter(pk=conversation_id)
    )
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
            conversation_created_on_commit(conversation)
            return conversation, True
        except IntegrityError:
            pass
    conversation = Conversation.objects.select_related("participant").get(pk=conversation_id)
    return follow_merges(conversation), False


def conversation_lock(conversation_id: uuid.UUID) -> Conversation:
    """The live (not merged-away) conversation's row, locked until the transaction ends; 404
    when there is none."""
    row = (
        Conversation.objects.select_for_update()
        .filter(pk=conversation_id, merged_into__isnull=True)
        .first()
    )
    if row is None:
        raise ConversationNotFound()
    return row


def conversation_merge(*, source: Conversation, target: Conversation) -> bool:
    """Move every message of ``source`` into ``target`` and make ``source`` resolve to it.

    Messages keep their ids and sequences (microsecond allocation times), so ordering by
    sequence interleaves both histories chronologically; a sequence the target already uses is
    bumped to the next free one. Returns ``False`` when there was nothing to do (already merged).
    ``conversations_merged`` goes, after commit, to the business stream and to the participant
    streams of both conversations.
    """
    if source.pk == target.pk:
        return False
    with transaction.atomic():
        source, target = _lock_both(source=source, target=target)
        if source.merged_into_id == target.pk:
            return False
        if target.merged_into_id is not None:
            raise IdentityDoesNotMatch(_("The target conversation was itself merged away"))
        bumped = _move_messages(source=source, target=target)
        _carry_over_summary(source=source, target=target, bumped=bumped)
        _redirect(source=source, target=target)
        publish_on_commit(
            groups=[business_group(), participant_group(source.pk), participant_group(target.pk)],
            event=events.conversations_merged_event(
                old_conversation_ids=[source.pk], target_conversation_id=target.pk
            ),
        )
    return True


def _lock_both(*, source: Conversation, target: Conversation) -> tuple[Conversation, Conversation]:
    """Both rows, locked and read afresh."""
    # A fixed order, so two merges (or a merge and a send) cannot deadlock.
    locked = {
        row.pk: row
        for row in Conversation.objects.select_for_update()
        .filter(pk__in=[source.pk, target.pk])
        .order_by("pk")
    }
    return locked[source.pk], locked[target.pk]


def _move_messages(*, source: Conversation, target: Conversation) -> dict[int, int]:
    """Move every message of ``source`` into ``target``; returns the sequences that changed."""
    moving = list(
        Message.objects.filter(conversation=source)
        .order_by("sequence")
        .values_list("sequence", flat=True)
    )
    if not moving:
        return {}
    taken = set(
        Message.objects.filter(conversation=target, sequence__gte=moving[0]).values_list(
            "sequence", flat=True
        )
    )
    bumped = _free_sequences(taken, moving)
    # Highest first: a message only moves up, onto values no unmoved one holds.
    for old, new in sorted(bumped.items(), reverse=True):
        Message.objects.filter(conversation=source, sequence=old).update(sequence=new)
    Message.objects.filter(conversation=source).update(conversation=target)
    return bumped


def _free_sequences(taken: set[int], wanted: list[int]) -> dict[int, int]:
    """New sequences for the ascending ``wanted`` so that none is in ``taken`` and their order
    is kept: each moves to the first free value at or above both itself and its predecessor's
    new value. Only the sequences that change are returned; each only ever moves up."""
    moved: dict[int, int] = {}
    previous = -1
    for sequence in wanted:
        candidate = max(sequence, previous + 1)
        while candidate in taken:
            candidate += 1
        if candidate != sequence:
            moved[sequence] = candidate
        previous = candidate
    return moved


def _carry_over_summary(
    *, source: Conversation, target: Conversation, bumped: dict[int, int]
) -> None:
    """Give ``target`` the allocator position, list summary and participant read position of
    whichever of the two is further along."""
    highest = (
        Message.objects.filter(conversation=target)
        .order_by("-sequence")
        .values_list("sequence", flat=True)
        .first()
        or 0
    )
    target.last_sequence = max(target.last_sequence, source.last_sequence, highest)
    if source.last_message_sequence > target.last_message_sequence:
        target.last_message_sequence = bumped.get(
            source.last_message_sequence, source.last_message_sequence
        )
        target.last_message_preview = source.last_message_preview
        target.last_message_direction = source.last_message_direction
        target.last_message_visibility = source.last_message_visibility
    if source.last_activity_at and (
        target.last_activity_at is None or source.last_activity_at > target.last_activity_at
    ):
        target.last_activity_at = source.last_activity_at
    target.participant_read_sequence = max(
        target.participant_read_sequence, source.participant_read_sequence
    )
    target.save(
        update_fields=["last_sequence", *Conversation.SUMMARY_FIELDS, "participant_read_sequence"]
    )


def _redirect(*, source: Conversation, target: Conversation) -> None:
    """Make ``source`` (and whatever was merged into it) resolve to ``target``; empty its list
    row, which no longer has messages."""
    # Conversations merged into ``source`` earlier now resolve in one hop too.
    Conversation.objects.filter(merged_into=source).update(merged_into=target)
    Conversation.objects.filter(pk=source.pk).update(
        merged_into=target,
        last_message_sequence=0,
        last_message_preview="",
        last_activity_at=None,
    )


def visitor_claim(*, caller: Caller, visitor_id: uuid.UUID) -> tuple[Conversation, bool]:
    """A member proves (with its visitor token) that it was this anonymous visitor: the
    visitor's conversation merges into the member's. Returns the member's conversation and
    whether a merge happened; claiming again is a no-op."""
    if caller.kind is not CallerKind.MEMBER:
        raise PermissionDenied(_("Only a logged-in member can claim a visitor's conversation"))
    source = (
        Conversation.objects.select_related("participant")
        .filter(pk=conversation_id_for(Participant.Kind.ANONYMOUS_VISITOR, visitor_id))
        .first()
    )
    target, _created = conversation_get_or_create(
        kind=Participant.Kind.MEMBER, external_id=caller.id, user=caller.user
    )
    if source is None:
        return target, False
    if source.merged_into_id is not None and follow_merges(source).pk != target.pk:
        raise IdentityDoesNotMatch(_("This visitor's conversation belongs to another member"))
    return target, conversation_merge(source=source, target=target)
