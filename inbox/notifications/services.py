"""Writes of notifications: a send schedules its conversation's batch, the task delivers it,
unsubscribing and the staff opt-in change who receives e-mails."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.mail import get_connection
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from inbox.conf import inbox_settings
from inbox.models import Conversation, Message, Participant
from inbox.notifications import emails, selectors
from inbox.notifications.models import (
    NotificationThread,
    ParticipantEmailOptOut,
    StaffNotificationSettings,
)
from inbox.notifications.tokens import Subscriber

logger = logging.getLogger("inbox")

Audience = NotificationThread.Audience

# A batch still scheduled this long after it was due lost its task (django-tasks-db never
# re-runs a task whose worker died): the next message enqueues another. A second task for the
# same batch finds it delivered and does nothing.
STALE_SCHEDULE = timedelta(minutes=10)
# After the mail server refused or could not be reached, the batch is tried again this much later.
RETRY_AFTER = timedelta(minutes=1)
# How many of the last participant messages an assignment e-mail shows.
ASSIGNMENT_CONTEXT_MESSAGES = 2


def notifications_message_sent(*, message: Message, send_notifications: bool) -> None:
    """Called by ``message_send`` inside its transaction: if ``message`` may lead to an e-mail,
    add it to its conversation's batch and make sure a task is due to look at that batch.

    A participant is e-mailed only about business messages sent with ``sendNotifications`` that
    it may see (not silent, not ``BUSINESS``); staff about participant messages (not silent).
    The send's sequence allocation holds the conversation's row lock, so two sends to one
    conversation never schedule the same batch twice.
    """
    if not inbox_settings.NOTIFY_SITE_URL or message.silent:
        return
    if message.direction == Message.Direction.BUSINESS_TO_PARTICIPANT:
        if not send_notifications or message.visibility != selectors.PARTICIPANT_VIEW:
            return
        audience, delay = Audience.PARTICIPANT, inbox_settings.NOTIFY_PARTICIPANT_AFTER
    else:
        if not StaffNotificationSettings.objects.filter(email_unread=True).exists():
            return
        audience, delay = Audience.STAFF, inbox_settings.NOTIFY_STAFF_AFTER
    thread, _created = NotificationThread.objects.get_or_create(
        conversation_id=message.conversation_id, audience=audience
    )
    thread.pending_sequence = max(thread.pending_sequence, message.sequence)
    now = timezone.now()
    if thread.scheduled_for is None or thread.scheduled_for < now - STALE_SCHEDULE:
        _schedule(thread, at=now + timedelta(seconds=delay))
    thread.save(update_fields=["pending_sequence", "scheduled_for"])


def _schedule(thread: NotificationThread, *, at: Any) -> None:
    from inbox.notifications.tasks import notify_conversation

    thread.scheduled_for = at
    notify_conversation.using(run_after=at).enqueue(str(thread.conversation_id), thread.audience)


def notifications_deliver(*, conversation_id: uuid.UUID, audience: str) -> int:
    """The task's work: e-mail the batch of ``conversation_id`` for ``audience`` if nobody it
    concerns has seen it; returns how many e-mails went out.

    The batch is what was sent after the last e-mail (or decision not to send one) and after
    what the audience has read: the participant's read cursor, or the furthest any staff user
    has read. The decision is taken and recorded in one transaction; the e-mails are sent after
    it (no lock is held while talking to the mail server). If sending fails, the batch is put
    back and tried again after ``RETRY_AFTER``.
    """
    with transaction.atomic():
        thread = selectors.thread_for_update(conversation_id=conversation_id, audience=audience)
        if thread is None:
            return 0
        conversation = Conversation.objects.select_related("participant__user").get(
            pk=conversation_id
        )
        previous = thread.notified_sequence
        batch = _batch(thread=thread, conversation=conversation)
        recipients = _recipients(thread=thread, conversation=conversation) if batch else []
        thread.scheduled_for = None
        thread.notified_sequence = max(previous, thread.pending_sequence)
        if batch is not None and recipients:
            thread.emails_sent = batch.number
        thread.save(update_fields=["scheduled_for", "notified_sequence", "emails_sent"])
    if batch is None or not recipients:
        return 0
    # Built before sending: a template that fails to render is a bug to see in the task's
    # result, not a mail-server failure to retry every minute.
    messages = [emails.build(batch=batch, recipient=recipient) for recipient in recipients]
    try:
        with get_connection() as connection:
            sent = connection.send_messages(messages)
    except Exception:
        logger.exception("inbox: notification e-mail for %s failed; retrying", conversation_id)
        _put_back(conversation_id=conversation_id, audience=audience, notified=previous)
        return 0
    return int(sent or 0)


def _batch(*, thread: NotificationThread, conversation: Conversation) -> emails.Batch | None:
    """The e-mail to send now, or None when everything in the batch was seen in time."""
    if thread.audience == Audience.PARTICIPANT:
        seen = conversation.participant_read_sequence
    else:
        seen = selectors.staff_read_sequence(conversation=conversation)
    new = list(
        selectors.notifying_messages(
            conversation=conversation,
            audience=thread.audience,
            after=max(thread.notified_sequence, seen),
            through=thread.pending_sequence,
        )
    )
    if not new:
        return None
    return emails.Batch(
        conversation=conversation,
        audience=thread.audience,
        new=new,
        thread=selectors.recent_thread(
            conversation=conversation,
            audience=thread.audience,
            through=thread.pending_sequence,
            limit=inbox_settings.NOTIFY_THREAD_MESSAGES,
        ),
        number=thread.emails_sent + 1,
    )


def _recipients(
    *, thread: NotificationThread, conversation: Conversation
) -> list[emails.Recipient]:
    if thread.audience == Audience.STAFF:
        return [_staff_recipient(user) for user in selectors.staff_email_recipients()]
    participant = conversation.participant
    if selectors.participant_opted_out(participant_id=participant.pk):
        return []
    address = import_string(inbox_settings.NOTIFY_PARTICIPANT_EMAIL)(participant)
    if not address:
        return []
    return [
        emails.Recipient(
            address=address,
            key=f"p{participant.pk}",
            subscriber=Subscriber(participant_id=participant.pk),
        )
    ]


def _staff_recipient(user: Any) -> emails.Recipient:
    return emails.Recipient(
        address=selectors.email_address(user),
        key=f"u{user.pk}",
        subscriber=Subscriber(user_pk=str(user.pk)),
    )


def _put_back(*, conversation_id: uuid.UUID, audience: str, notified: int) -> None:
    """Undo a batch's delivery that failed, and schedule another try."""
    with transaction.atomic():
        thread = selectors.thread_for_update(conversation_id=conversation_id, audience=audience)
        if thread is None:
            return
        thread.notified_sequence = min(thread.notified_sequence, notified)
        thread.emails_sent = max(thread.emails_sent - 1, 0)
        if thread.scheduled_for is None:
            _schedule(thread, at=timezone.now() + RETRY_AFTER)
        thread.save(update_fields=["notified_sequence", "emails_sent", "scheduled_for"])


def notifications_conversation_assigned(
    *, conversation_id: uuid.UUID, assignee: Any, assigned_by: str, self_assigned: bool
) -> None:
    """Called by ``conversation_assign`` inside its transaction when it assigned the
    conversation to ``assignee``: if that is a colleague (not the caller) who may be e-mailed,
    a task e-mails them once the assignment has committed (never inside the request)."""
    if not inbox_settings.NOTIFY_SITE_URL or self_assigned:
        return
    if not selectors.staff_email_enabled(user=assignee):
        return
    from inbox.notifications.tasks import notify_assignment

    transaction.on_commit(
        lambda: notify_assignment.enqueue(str(conversation_id), str(assignee.pk), assigned_by)
    )


def notifications_deliver_assignment(
    *, conversation_id: uuid.UUID, assignee_pk: str, assigned_by: str
) -> int:
    """The task's work: e-mail the assignee if the conversation is still theirs and they may
    still be e-mailed (opted in, the view permission, an address); returns how many e-mails
    went out (0 or 1). A failed send is logged and not retried: the staff page shows the
    assignment anyway."""
    conversation = (
        Conversation.objects.select_related("participant").filter(pk=conversation_id).first()
    )
    if conversation is None or str(conversation.assignee_id) != assignee_pk:
        return 0
    user = selectors.staff_email_recipient(user_pk=assignee_pk)
    if user is None:
        return 0
    message = emails.build_assignment(
        assignment=emails.Assignment(
            conversation=conversation,
            assigned_by=assigned_by,
            context=selectors.last_participant_messages(
                conversation=conversation, limit=ASSIGNMENT_CONTEXT_MESSAGES
            ),
        ),
        recipient=_staff_recipient(user),
    )
    try:
        with get_connection() as connection:
            return int(connection.send_messages([message]) or 0)
    except Exception:
        logger.exception("inbox: assignment e-mail for %s failed", conversation_id)
        return 0


def notifications_unsubscribe(*, subscriber: Subscriber) -> bool:
    """Stop the e-mails an unsubscribe token names; returns whether it named someone known.
    Unsubscribing twice is one unsubscription."""
    if subscriber.participant_id is not None:
        participant = Participant.objects.filter(pk=subscriber.participant_id).first()
        if participant is None:
            return False
        ParticipantEmailOptOut.objects.get_or_create(participant=participant)
        return True
    user = get_user_model().objects.filter(pk=str(subscriber.user_pk)).first()
    if user is None:
        return False
    staff_notifications_update(user=user, email_unread=False)
    return True


def staff_notifications_update(*, user: Any, email_unread: bool) -> StaffNotificationSettings:
    """Turn the staff user's e-mail about unread participant messages on or off."""
    with transaction.atomic():
        preferences, _created = StaffNotificationSettings.objects.select_for_update().get_or_create(
            user=user
        )
        if preferences.email_unread != email_unread:
            preferences.email_unread = email_unread
            preferences.save(update_fields=["email_unread", "updated_at"])
    return preferences
