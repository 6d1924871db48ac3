"""The outbox table (imported by ``inbox.models`` so that Django registers it under ``inbox``)."""

from __future__ import annotations

from django.db import models


class OutboxEvent(models.Model):
    """One event as published: the envelope the sockets get and the groups it goes to.

    Written in the transaction of the write that causes the event, so it exists exactly when
    that write committed. ``published_at`` is set once the channel layer took it, by the request
    that caused it or, when that process died first, by the relay.
    """

    # The envelope's id: stable, so a republished event is dropped by clients holding it.
    id = models.UUIDField(primary_key=True)
    slug = models.CharField(max_length=100)
    envelope = models.JSONField()
    groups = models.JSONField()
    created_at = models.DateTimeField()
    published_at = models.DateTimeField(null=True, blank=True)
    # Set just before the event's Django signals are sent (inbox/signals.py), by the request or,
    # when its process died before it got that far, by the relay: they are sent at most once.
    signalled_at = models.DateTimeField(null=True, blank=True)
    # Set once the relay created this event's webhook deliveries (inbox/webhooks/).
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "outbox event"
        indexes = [
            # The relay's scan: unpublished rows, oldest first. Partial, so it stays as small as
            # the backlog (usually empty) however long published rows are kept.
            models.Index(
                fields=["created_at"],
                name="inbox_outbox_unpublished",
                condition=models.Q(published_at__isnull=True),
            ),
            # The relay's scan for events whose signals were never sent.
            models.Index(
                fields=["created_at"],
                name="inbox_outbox_unsignalled",
                condition=models.Q(signalled_at__isnull=True),
            ),
            # The webhook fan-out's scan: rows not dispatched yet, oldest first.
            models.Index(
                fields=["created_at"],
                name="inbox_outbox_undispatched",
                condition=models.Q(dispatched_at__isnull=True),
            ),
            # Pruning published rows past the retention.
            models.Index(fields=["published_at"], name="inbox_outbox_published_at"),
        ]

    def __str__(self) -> str:
        return f"{self.slug} {self.id}"
