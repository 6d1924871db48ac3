"""Writes of the outbox: record an event inside the caller's transaction, mark it published,
prune what is old. Called by ``inbox.realtime.publish`` and the relay only."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.utils import timezone

from inbox.outbox.models import OutboxEvent


def outbox_record(*, event: dict[str, Any], groups: list[str]) -> None:
    """Record ``event`` for ``groups`` in the current transaction (it rolls back with it).

    An event repeated under the same id (a second notice of the same merge) is the same event:
    the first record stands.
    """
    OutboxEvent.objects.bulk_create(
        [
            OutboxEvent(
                id=event["id"],
                slug=event["slug"],
                envelope=event,
                groups=groups,
                created_at=timezone.now(),
            )
        ],
        ignore_conflicts=True,
    )


def outbox_mark_published(*, event_ids: Iterable[str]) -> int:
    """Mark the events published now (those not marked yet); returns how many were."""
    return OutboxEvent.objects.filter(pk__in=list(event_ids), published_at__isnull=True).update(
        published_at=timezone.now()
    )


def outbox_mark_committed(*, event_id: str, published: bool) -> None:
    """After the request's post-commit publish: its signals are about to be sent, and (if the
    channel layer took it) the event is published; one ``UPDATE``."""
    now = timezone.now()
    changes = {"signalled_at": now, **({"published_at": now} if published else {})}
    OutboxEvent.objects.filter(pk=event_id).update(**changes)


def outbox_mark_signalled(*, event_ids: Iterable[str]) -> int:
    """Mark the events' signals sent now (those not marked yet); returns how many were."""
    return OutboxEvent.objects.filter(pk__in=list(event_ids), signalled_at__isnull=True).update(
        signalled_at=timezone.now()
    )


def outbox_mark_dispatched(*, event_ids: Iterable[str]) -> None:
    """Mark the events' webhook deliveries created (``inbox.webhooks.services``)."""
    OutboxEvent.objects.filter(pk__in=list(event_ids)).update(dispatched_at=timezone.now())


def outbox_prune(*, published_before: datetime) -> int:
    """Delete events published and dispatched before ``published_before``; returns how many."""
    deleted, _ = OutboxEvent.objects.filter(
        published_at__lt=published_before, dispatched_at__isnull=False
    ).delete()
    return deleted
