"""The notification task the worker runs (``manage.py db_worker``)."""

from __future__ import annotations

import uuid

from django_tasks import task

from inbox.notifications import services


@task()
def notify_conversation(conversation_id: str, audience: str) -> int:
    """Look at one conversation's batch for one audience when it is due; e-mail it if unseen."""
    return services.notifications_deliver(
        conversation_id=uuid.UUID(conversation_id), audience=audience
    )
