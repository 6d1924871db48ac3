"""Reads of webhooks."""

from __future__ import annotations

from django.db.models import QuerySet

from inbox.webhooks.models import WebhookEndpoint


def webhook_endpoints() -> QuerySet[WebhookEndpoint]:
    """Every endpoint, newest first (the REST list)."""
    return WebhookEndpoint.objects.order_by("-created_at")
