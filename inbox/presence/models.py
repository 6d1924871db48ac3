"""Presence and away-reply tables (imported by ``inbox.models`` so that Django registers them
under ``inbox``)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class StaffPresence(models.Model):
    """One open staff socket, kept alive by its consumer's heartbeat: a row whose ``expires_at``
    has passed belongs to a socket whose process died without saying goodbye. Used when the
    channel layer is not Redis (``inbox.presence.store``)."""

    # The socket's channel name: unique across processes (the layer makes it).
    key = models.CharField(primary_key=True, max_length=200)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    expires_at = models.DateTimeField()

    class Meta:
        verbose_name = "staff presence"
        indexes = [
            # "Is anyone online?": live rows by expiry.
            models.Index(fields=["expires_at"], name="inbox_presence_expiry"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} until {self.expires_at.isoformat()}"


class AwayReply(models.Model):
    """The away auto-reply sent into a conversation on a day (in the business time zone): the
    unique constraint makes it at most one per conversation per day, whatever process races."""

    conversation = models.ForeignKey(
        "inbox.Conversation", on_delete=models.CASCADE, related_name="+"
    )
    day = models.DateField()

    class Meta:
        verbose_name = "away reply"
        constraints = [
            models.UniqueConstraint(fields=["conversation", "day"], name="inbox_away_reply_once"),
        ]

    def __str__(self) -> str:
        return f"{self.conversation_id} on {self.day.isoformat()}"
