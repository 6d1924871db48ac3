"""The relay: publishes what a crashed process committed but never published.

The request that causes an event publishes it right after commit and marks its outbox row
published. A process killed between the two leaves the row unpublished; ``relay_once`` (run in a
loop by ``manage.py inbox_relay``) publishes every row older than ``OUTBOX_RELAY_GRACE_SECONDS``
that is still unpublished. The grace keeps the relay from racing a live request; a row published
twice all the same (the request's process was only slow) reaches clients twice under one event id,
and they drop the repeat.
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


def prune_once() -> int:
    """Delete published events older than ``OUTBOX_RETENTION_SECONDS``."""
    cutoff = timezone.now() - timedelta(seconds=inbox_settings.OUTBOX_RETENTION_SECONDS)
    return services.outbox_prune(published_before=cutoff)
