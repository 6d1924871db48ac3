"""The relay: publishes what a crashed process committed but never published.

The request that causes an event publishes it right after commit and marks its outbox row
published. A process killed between the two leaves the row unpublished; ``relay_once`` (run in a
loop by ``manage.py inbox_relay``) publishes every row older than ``OUTBOX_RELAY_GRACE_SECONDS``
that is still unpublished. The grace keeps the relay from racing a live request; a row published
twice all the same (the request's process was only slow) reaches clients twice under one event id,
and they drop the repeat. ``signal_once`` sends the Django signals of rows whose process died
before sending them (at most once: ``signalled_at`` is set before they are sent).
"""

from __future__ import annotations

import contextlib
import logging
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from inbox.conf import inbox_settings
from inbox.outbox import selectors, services
from inbox.realtime.publish import publish_now
from inbox.signals import send_event_signals

logger = logging.getLogger("inbox")


def relay_once(*, limit: int = 500) -> int:
    """Publish one batch of stale unpublished events; returns how many were published.

    On PostgreSQL the rows are locked with SKIP LOCKED, so several relays share the backlog
    instead of publishing it twice each. SQLite has no row locks (and its transactions take the
    write lock at BEGIN here): run one relay there.
    """
    cutoff = timezone.now() - timedelta(seconds=inbox_settings.OUTBOX_RELAY_GRACE_SECONDS)
    published: list[str] = []
    locking = connection.features.has_select_for_update_skip_locked
    with transaction.atomic() if locking else contextlib.nullcontext():
        rows = selectors.outbox_unpublished(created_before=cutoff, limit=limit).select_for_update(
            skip_locked=True
        )
        for row in rows:
            if publish_now(groups=list(row.groups), event=row.envelope):
                published.append(str(row.pk))
        if published:
            services.outbox_mark_published(event_ids=published)
    if published:
        logger.warning("inbox: relayed %d events their own process did not publish", len(published))
    return len(published)


def signal_once(*, limit: int = 500) -> int:
    """Send the Django signals of stale events whose process died before sending them; returns
    how many events' signals were sent.

    Each row is marked in a transaction (SKIP LOCKED on PostgreSQL, so two relays never take
    the same row) and its signals are sent after that commits, outside it, as a request sends
    them after its own commit: at most once, like theirs.
    """
    cutoff = timezone.now() - timedelta(seconds=inbox_settings.OUTBOX_RELAY_GRACE_SECONDS)
    # Looked at first outside a transaction (SQLite takes the write lock at BEGIN).
    if not selectors.outbox_unsignalled(created_before=cutoff, limit=1).exists():
        return 0
    locking = connection.features.has_select_for_update_skip_locked
    with transaction.atomic():
        rows = list(
            selectors.outbox_unsignalled(created_before=cutoff, limit=limit).select_for_update(
                skip_locked=locking
            )
        )
        services.outbox_mark_signalled(event_ids=[str(row.pk) for row in rows])
    for row in rows:
        send_event_signals(row.envelope)
    return len(rows)


def prune_once() -> int:
    """Delete published events older than ``OUTBOX_RETENTION_SECONDS``."""
    cutoff = timezone.now() - timedelta(seconds=inbox_settings.OUTBOX_RETENTION_SECONDS)
    return services.outbox_prune(published_before=cutoff)
