"""The notification tables (imported by ``inbox.models`` so that Django registers them)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class NotificationThread(models.Model):
    """One conversation's e-mail state for one audience (its participant, or the staff).

    ``pending_sequence`` is the last message that asked for an e-mail, ``notified_sequence``
    how far e-mails (or a decision not to send one) have gone; a batch is what lies between.
    ``scheduled_for`` is set while a task is due to look at it, so later messages join that
    batch instead of enqueuing their own. ``emails_sent`` numbers the e-mails, which makes
    their Message-IDs, so that each one answers the one before (``emails.threading_headers``).
    """

    class Audience(models.TextChoices):
        PARTICIPANT = "PARTICIPANT", _("Participant")
        STAFF = "STAFF", _("Staff")

    conversation = models.ForeignKey(
        "inbox.Conversation", on_delete=models.CASCADE, related_name="notification_threads"
    )
    audience = models.CharField(max_length=16, choices=Audience.choices)
    pending_sequence = models.BigIntegerField(default=0)
    notified_sequence = models.BigIntegerField(default=0)
    scheduled_for = models.DateTimeField(null=True, blank=True)
    emails_sent = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "notification thread"
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "audience"], name="inbox_notification_thread_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.audience} {self.conversation_id}"


class ParticipantEmailOptOut(models.Model):
    """A participant who unsubscribed (the e-mail's one-click link): never e-mailed again."""

    participant = models.OneToOneField(
        "inbox.Participant", on_delete=models.CASCADE, related_name="email_opt_out"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "participant e-mail opt-out"

    def __str__(self) -> str:
        return str(self.participant_id)


class StaffNotificationSettings(models.Model):
    """A staff user's choice: e-mail me about participant messages nobody has read (off until
    the user turns it on, on the staff page or through the REST endpoint)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="inbox_notifications"
    )
    email_unread = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "staff notification settings"
        verbose_name_plural = "staff notification settings"

    def __str__(self) -> str:
        return f"{self.user_id}: {'on' if self.email_unread else 'off'}"
