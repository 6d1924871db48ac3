"""Webhook endpoints, deliveries and attempts (imported by ``inbox.models``)."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


class WebhookEndpoint(models.Model):
    """Where the site wants events: a URL, the event types it takes, the signing secret."""

    class Format(models.TextChoices):
        # Standard Webhooks: the envelope as JSON, signed with the endpoint's ``whsec_`` secret.
        STANDARD = "standard", _("Standard Webhooks (HMAC-signed JSON)")
        # Wix's layout: the body is a JWT signed RS256 with the site's key (WebhookSigningKey).
        WIX = "wix", _("Wix (RS256-signed JWT)")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    url = models.URLField(max_length=2000)
    # Registry slugs (``inbox.realtime.registry``); the endpoint gets only these.
    event_types = models.JSONField(default=list)
    description = models.CharField(max_length=200, blank=True)
    # ``whsec_`` + base64: shown once when created or rotated. Kept in clear because signing
    # needs it (as every Standard Webhooks sender does).
    secret = models.CharField(max_length=100, editable=False)
    # After a rotation the previous secret signs too until this time, so receivers can switch.
    previous_secret = models.CharField(max_length=100, blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    format = models.CharField(max_length=10, choices=Format.choices, default=Format.STANDARD)
    is_active = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=200, blank=True)
    # The first failed attempt since the last success; an endpoint failing for
    # WEBHOOK_DISABLE_AFTER_SECONDS is switched off (and the site's admins told).
    failing_since = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "webhook endpoint"

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    """One event for one endpoint: one logical delivery, however many attempts it takes."""

    class Status(models.TextChoices):
        PENDING = "PENDING", _("Pending")
        SUCCEEDED = "SUCCEEDED", _("Succeeded")
        FAILED = "FAILED", _("Failed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    # The outbox event's id, which is the ``webhook-id`` header of every attempt. A copy of the
    # envelope is kept: outbox rows are pruned sooner than a delivery log is read.
    event_id = models.UUIDField()
    event_type = models.CharField(max_length=100)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempt_count = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # Set while a worker is attempting; a worker that died mid-attempt leaves it in the past,
    # and the relay then hands the delivery to another worker.
    locked_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "webhook delivery"
        verbose_name_plural = "webhook deliveries"
        constraints = [
            # One logical delivery per event and endpoint (the fan-out may run twice).
            models.UniqueConstraint(
                fields=["endpoint", "event_id"], name="inbox_webhookdelivery_endpoint_event"
            ),
        ]
        indexes = [
            # The relay's scan for attempts abandoned by a dead worker.
            models.Index(
                fields=["locked_until"],
                name="inbox_webhookdelivery_locked",
                condition=models.Q(status="PENDING", locked_until__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id} → {self.endpoint_id}"


class WebhookAttempt(models.Model):
    """One HTTP request of a delivery, as the delivery log shows it."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempts")
    attempted_at = models.DateTimeField()
    status_code = models.PositiveIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField()
    response_excerpt = models.TextField(blank=True)
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = "webhook attempt"
        ordering = ["attempted_at"]

    def __str__(self) -> str:
        return f"{self.attempted_at:%Y-%m-%d %H:%M:%S} {self.status_code or self.error}"


class WebhookSigningKey(models.Model):
    """The site's RS256 key pair for ``wix``-format endpoints: one row (pk 1), replaced in place by
    ``manage.py inbox_webhook_key --rotate``.

    The private key is stored as unencrypted PEM, like the endpoints' ``whsec_`` secrets: the
    worker must sign with it, so whoever reads this table could sign anyway (docs/architecture.md).
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    private_key = models.TextField(editable=False)
    public_key = models.TextField(editable=False)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = "webhook signing key"

    def __str__(self) -> str:
        return f"RS256 key of {self.created_at:%Y-%m-%d %H:%M}"
