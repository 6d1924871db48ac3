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


@task()
def notify_assignment(conversation_id: str, assignee_pk: str, assigned_by: str) -> int:
    """E-mail a staff user that a colleague assigned them a conversation."""
    return services.notifications_deliver_assignment(
        conversation_id=uuid.UUID(conversation_id), assignee_pk=assignee_pk, assigned_by=assigned_by
    )
