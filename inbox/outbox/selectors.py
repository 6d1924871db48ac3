"""Reads of the outbox."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from inbox.outbox.models import OutboxEvent


def outbox_unpublished(*, created_before: datetime, limit: int) -> QuerySet[OutboxEvent]:
    """Unpublished events created before ``created_before``, oldest first (the relay's batch)."""
    return OutboxEvent.objects.filter(
        published_at__isnull=True, created_at__lt=created_before
    ).order_by("created_at")[:limit]


def outbox_backlog(*, created_before: datetime) -> int:
    """How many events older than ``created_before`` are still unpublished (inbox_doctor)."""
    return OutboxEvent.objects.filter(
        published_at__isnull=True, created_at__lt=created_before
    ).count()


def outbox_undispatched(*, limit: int) -> QuerySet[OutboxEvent]:
    """Events whose webhook deliveries are not created yet, oldest first."""
    return OutboxEvent.objects.filter(dispatched_at__isnull=True).order_by("created_at")[:limit]


def outbox_unsignalled(*, created_before: datetime, limit: int) -> QuerySet[OutboxEvent]:
    """Events created before ``created_before`` whose signals were never sent, oldest first."""
    return OutboxEvent.objects.filter(
        signalled_at__isnull=True, created_at__lt=created_before
    ).order_by("created_at")[:limit]
