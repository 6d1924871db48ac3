"""Conversation status: open, snoozed until a time, closed. Staff and apps change it; a
participant's message reopens a conversation that is not open. Every change leaves a silent
``minimal`` entry in the thread, visible to the business only, and a
``conversation_status_changed`` event on the business stream."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from inbox.exceptions import (
    RULE_MAX,
    RULE_MIN,
    RULE_NOT_ALLOWED,
    RULE_REQUIRED,
    PermissionDenied,
    ValidationFailed,
)
from inbox.identity import Caller
from inbox.models import Conversation
from inbox.realtime import events
from inbox.realtime.groups import business_group
from inbox.realtime.publish import publish_on_commit
from inbox.services.conversations import conversation_lock
from inbox.services.entries import (
    Actor,
    caller_actor,
    caller_display_name,
    entry_time,
    thread_entry_create,
)

# A snooze further out than this is a typo more often than a plan.
MAX_SNOOZE = timedelta(days=366)


@dataclass(frozen=True)
class StatusChange:
    """The status of a conversation after ``conversation_set_status``; ``changed`` says whether
    this call changed it."""

    status: str
    snoozed_until: datetime | None
    changed: bool


def conversation_set_status(
    *,
    caller: Caller,
    conversation: Conversation,
    status: str,
    snoozed_until: datetime | None = None,
) -> StatusChange:
    """Open, snooze (until ``snoozed_until``) or close ``conversation``. Asking for the status it
    already has (the same snooze end included) changes nothing and publishes nothing."""
    if not caller.is_business:
        raise PermissionDenied(_("Only the business side changes a conversation's status"))
    _check_snooze(status=status, snoozed_until=snoozed_until)
    with transaction.atomic():
        row = conversation_lock(conversation.pk)
        if row.status == status and row.snoozed_until == snoozed_until:
            return StatusChange(status=status, snoozed_until=snoozed_until, changed=False)
        Conversation.objects.filter(pk=row.pk).update(status=status, snoozed_until=snoozed_until)
        _record_change(
            conversation_id=row.pk,
            status=status,
            snoozed_until=snoozed_until,
            actor=caller_actor(caller),
            app_id=caller.app.id if caller.app is not None else None,
            text=_entry_text(caller=caller, status=status, snoozed_until=snoozed_until),
        )
    conversation.status, conversation.snoozed_until = status, snoozed_until
    return StatusChange(status=status, snoozed_until=snoozed_until, changed=True)


def conversation_reopen_for_message(*, conversation_id: uuid.UUID, sender: Actor) -> None:
    """A participant's message arrived in a conversation that is not open: reopen it. Runs in
    the send's transaction, which holds the row lock since it allocated the message's sequence."""
    reopened = (
        Conversation.objects.filter(pk=conversation_id)
        .exclude(status=Conversation.Status.OPEN)
        .update(status=Conversation.Status.OPEN, snoozed_until=None)
    )
    if reopened:
        _record_change(
            conversation_id=conversation_id,
            status=Conversation.Status.OPEN,
            snoozed_until=None,
            actor=sender,
            app_id=None,
            text="Reopened by a new message from the participant",
        )


def _check_snooze(*, status: str, snoozed_until: datetime | None) -> None:
    if status != Conversation.Status.SNOOZED:
        if snoozed_until is not None:
            raise ValidationFailed.single(
                "snoozedUntil", "is allowed only with status SNOOZED", RULE_NOT_ALLOWED
            )
        return
    if snoozed_until is None:
        raise ValidationFailed.single(
            "snoozedUntil", "is required when status is SNOOZED", RULE_REQUIRED
        )
    now = timezone.now()
    if snoozed_until <= now:
        raise ValidationFailed.single("snoozedUntil", "must be in the future", RULE_MIN)
    if snoozed_until > now + MAX_SNOOZE:
        raise ValidationFailed.single(
            "snoozedUntil", f"must be at most {MAX_SNOOZE.days} days ahead", RULE_MAX
        )


def _entry_text(*, caller: Caller, status: str, snoozed_until: datetime | None) -> str:
    who = caller_display_name(caller)
    if status == Conversation.Status.CLOSED:
        return f"Closed by {who}"
    if status == Conversation.Status.SNOOZED:
        assert snoozed_until is not None
        return f"Snoozed until {entry_time(snoozed_until)} by {who}"
    return f"Reopened by {who}"


def _record_change(
    *,
    conversation_id: uuid.UUID,
    status: str,
    snoozed_until: datetime | None,
    actor: Actor,
    app_id: uuid.UUID | None,
    text: str,
) -> None:
    """The thread entry and the event of one status change, both for the business only."""
    thread_entry_create(conversation_id=conversation_id, actor=actor, app_id=app_id, text=text)
    sender_kind, sender_id, _ = actor
    publish_on_commit(
        groups=[business_group()],
        event=events.conversation_status_changed_event(
            conversation_id=conversation_id,
            status=status,
            snoozed_until=snoozed_until,
            changed_by={sender_kind: str(sender_id)},
        ),
    )
