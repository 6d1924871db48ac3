"""Reads of saved replies. A staff user sees the shared replies and their own personal ones,
never a colleague's; the REST API, the admin and the composer all read through here."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Q, QuerySet

from inbox.exceptions import SavedReplyNotFound
from inbox.replies.models import SavedReply


def saved_replies_for(user: Any, *, search: str = "") -> QuerySet[SavedReply]:
    """The replies ``user`` may see (shared, and personal ones they own), by title; ``search``
    narrows them to those whose title or text contains it, ignoring case."""
    replies = SavedReply.objects.filter(Q(owner__isnull=True) | Q(owner=user.pk))
    if search:
        replies = replies.filter(Q(title__icontains=search) | Q(text__icontains=search))
    return replies.select_related("owner").order_by("title", "id")


def saved_reply_for(user: Any, reply_id: str | uuid.UUID) -> SavedReply:
    """The reply ``user`` may see with this id; any other id, a colleague's personal reply
    included, is ``SavedReplyNotFound`` alike."""
    try:
        return saved_replies_for(user).get(pk=uuid.UUID(str(reply_id)))
    except (ValueError, SavedReply.DoesNotExist):
        raise SavedReplyNotFound() from None
