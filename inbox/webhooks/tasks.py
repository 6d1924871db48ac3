"""The tasks the worker runs (``manage.py db_worker``; docs/architecture.md, "Background work")."""

from __future__ import annotations

from django_tasks import task

from inbox.webhooks import services


@task()
def deliver_webhook(delivery_id: str) -> None:
    """One attempt of one webhook delivery; the next one, if needed, is enqueued by it."""
    services.webhook_attempt(delivery_id=delivery_id)
