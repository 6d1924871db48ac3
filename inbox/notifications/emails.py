"""The e-mails: rendered from overridable templates (``inbox/email/…``) in the site's language,
with threading and one-click unsubscribe headers, sent through Django's mail framework."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from inbox.conf import inbox_settings
from inbox.models import Conversation, Message
from inbox.notifications.models import NotificationThread
from inbox.notifications.tokens import Subscriber, unsubscribe_token

STAFF_PAGE = "admin:inbox_staffinbox_changelist"


@dataclass(frozen=True)
class Recipient:
    """One address an e-mail goes to, and whom its unsubscribe link names."""

    address: str
    key: str  # participant id or user pk: part of the e-mail's Message-ID
    subscriber: Subscriber


@dataclass(frozen=True)
class Batch:
    """What one e-mail is about: the conversation, the new messages, the thread around them,
    and the e-mail's number in the conversation's notification thread (from 1)."""

    conversation: Conversation
    audience: str
    new: Sequence[Message]
    thread: Sequence[Message]
    number: int


def site_url(path: str = "") -> str:
    return urljoin(inbox_settings.NOTIFY_SITE_URL + "/", path.lstrip("/"))


def chat_url(conversation: Conversation) -> str:
    """Where the participant chats (``NOTIFY_CHAT_URL``, relative to the site, or its home)."""
    configured = inbox_settings.NOTIFY_CHAT_URL.replace("{conversationId}", str(conversation.pk))
    return site_url(configured)


def staff_thread_url(conversation: Conversation) -> str:
    """The staff page with the conversation open (the page reads ``?conversation=``)."""
    return site_url(reverse(STAFF_PAGE)) + f"?conversation={conversation.pk}"


def message_id(*, batch: Batch, recipient_key: str, number: int) -> str:
    """The Message-ID of e-mail ``number`` of a conversation's thread to one recipient; number
    0 is the thread's root, which every e-mail refers to even though it is never sent (mail
    clients thread on ``References``, as GitHub's notifications do)."""
    domain = urlsplit(inbox_settings.NOTIFY_SITE_URL).hostname or "localhost"
    audience = batch.audience.lower()
    if number == 0:
        return f"<inbox.{audience}.{batch.conversation.pk}@{domain}>"
    return f"<inbox.{audience}.{batch.conversation.pk}.{number}.{recipient_key}@{domain}>"


def threading_headers(*, batch: Batch, recipient_key: str) -> dict[str, str]:
    root = message_id(batch=batch, recipient_key=recipient_key, number=0)
    own = message_id(batch=batch, recipient_key=recipient_key, number=batch.number)
    previous = (
        message_id(batch=batch, recipient_key=recipient_key, number=batch.number - 1)
        if batch.number > 1
        else root
    )
    references = root if previous == root else f"{root} {previous}"
    return {"Message-ID": own, "In-Reply-To": previous, "References": references}


def unsubscribe_headers(subscriber: Subscriber) -> tuple[str, dict[str, str]]:
    """The unsubscribe page's URL and the RFC 8058 one-click headers pointing at it."""
    url = site_url(reverse("inbox:notifications-unsubscribe", args=[unsubscribe_token(subscriber)]))
    return url, {
        "List-Unsubscribe": f"<{url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def sender_name(message: Message, conversation: Conversation) -> str:
    if message.direction == Message.Direction.PARTICIPANT_TO_BUSINESS:
        return conversation.participant.display_name or gettext("Visitor")
    return inbox_settings.BUSINESS_NAME or gettext("Support")


def build(*, batch: Batch, recipient: Recipient) -> EmailMultiAlternatives:
    """One e-mail of ``batch`` to ``recipient``, rendered in the site's language."""
    participant_audience = batch.audience == NotificationThread.Audience.PARTICIPANT
    with translation.override(settings.LANGUAGE_CODE):
        new_ids = {message.pk for message in batch.new}
        context: dict[str, Any] = {
            "participant_name": batch.conversation.participant.display_name,
            "messages": _messages(batch.thread, batch.conversation, new_ids=new_ids),
            "link": chat_url(batch.conversation)
            if participant_audience
            else staff_thread_url(batch.conversation),
        }
        name = "participant" if participant_audience else "staff"
        return _compose(
            template=f"inbox/email/{name}_messages",
            subject=_subject(batch=batch, participant_audience=participant_audience),
            context=context,
            recipient=recipient,
            headers=threading_headers(batch=batch, recipient_key=recipient.key),
        )


@dataclass(frozen=True)
class Assignment:
    """What an assignment e-mail is about: the conversation, who assigned it, and the last
    participant messages (oldest first) as context."""

    conversation: Conversation
    assigned_by: str
    context: Sequence[Message]


def build_assignment(*, assignment: Assignment, recipient: Recipient) -> EmailMultiAlternatives:
    """The e-mail telling ``recipient`` a colleague assigned them ``assignment.conversation``."""
    conversation = assignment.conversation
    with translation.override(settings.LANGUAGE_CODE):
        participant = conversation.participant.display_name or gettext("Visitor")
        subject = gettext("%(assigner)s assigned you a conversation with %(participant)s") % {
            "assigner": assignment.assigned_by,
            "participant": participant,
        }
        return _compose(
            template="inbox/email/staff_assigned",
            subject=subject,
            context={
                "assigned_by": assignment.assigned_by,
                "participant_name": participant,
                "messages": _messages(assignment.context, conversation, new_ids=set()),
                "link": staff_thread_url(conversation),
            },
            recipient=recipient,
            headers={},
        )


def _messages(
    messages: Sequence[Message], conversation: Conversation, *, new_ids: set[Any]
) -> list[dict[str, Any]]:
    """The messages as the templates show them (``inbox/email/thread.html``)."""
    return [
        {
            "sender": sender_name(message, conversation),
            "text": message.preview_text,
            "created_at": message.created_at,
            "is_new": message.pk in new_ids,
        }
        for message in messages
    ]


def _compose(
    *,
    template: str,
    subject: str,
    context: dict[str, Any],
    recipient: Recipient,
    headers: dict[str, str],
) -> EmailMultiAlternatives:
    """Render ``template`` (``.txt`` and ``.html``) into an e-mail to ``recipient`` with its
    unsubscribe link and headers; called inside the site's language."""
    unsubscribe_url, list_headers = unsubscribe_headers(recipient.subscriber)
    context = {
        "business_name": inbox_settings.BUSINESS_NAME,
        "unsubscribe_url": unsubscribe_url,
        **context,
    }
    text = render_to_string(f"{template}.txt", context)
    html = render_to_string(f"{template}.html", context)
    email = EmailMultiAlternatives(
        # Names come from participants and users: one line, or the mail framework refuses it.
        subject=" ".join(subject.split()),
        body=text,
        from_email=inbox_settings.NOTIFY_FROM_EMAIL or settings.DEFAULT_FROM_EMAIL,
        to=[recipient.address],
        headers={**headers, **list_headers},
    )
    email.attach_alternative(html, "text/html")
    return email


def _subject(*, batch: Batch, participant_audience: bool) -> str:
    # Counts are phrased without plural forms, as everywhere in the app (common/i18n.js).
    count = len(batch.new)
    if participant_audience:
        business = inbox_settings.BUSINESS_NAME or gettext("Support")
        return gettext("New messages from %(business)s (%(count)s)") % {
            "business": business,
            "count": count,
        }
    participant = batch.conversation.participant.display_name or gettext("Visitor")
    return gettext("Unread messages from %(participant)s: %(count)s") % {
        "participant": participant,
        "count": count,
    }
