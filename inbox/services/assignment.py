"""Assignment: the staff user working a conversation, or nobody. Assigning grants nothing (the
selectors alone decide who sees what); it leaves a staff-only entry in the thread and publishes
``conversation_assigned`` to the business stream, which is how the assignee's page hears of it;
a colleague who opted in to e-mail is also e-mailed (``inbox.notifications``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from inbox.exceptions import RULE_EXISTS, PermissionDenied, ValidationFailed
from inbox.identity import Caller
from inbox.models import Conversation, user_display_name
from inbox.notifications.services import notifications_conversation_assigned
from inbox.realtime import events
from inbox.realtime.groups import business_group
from inbox.realtime.publish import publish_on_commit
from inbox.selectors import assignable_user
from inbox.services.conversations import conversation_lock
from inbox.services.entries import caller_actor, caller_display_name, thread_entry_create
from inbox.wire import assignee_json


@dataclass(frozen=True)
class AssignmentChange:
    """Who the conversation is assigned to after ``conversation_assign`` (None: nobody), and
    whether this call changed it."""

    assignee: Any
    changed: bool


def conversation_assign(
    *, caller: Caller, conversation: Conversation, assignee_id: uuid.UUID | None
) -> AssignmentChange:
    """Assign ``conversation`` to the staff user whose ``wixUserId`` is ``assignee_id``, or to
    nobody (None). Only a staff user who may open the inbox can be assigned; anyone else, or an
    unknown id, is a 400 that changes nothing."""
    if not caller.is_business:
        raise PermissionDenied(_("Only the business side assigns conversations"))
    assignee = None
    if assignee_id is not None:
        assignee = assignable_user(assignee_id)
        if assignee is None:
            raise ValidationFailed.single(
                "wixUserId", "is not a staff user who may open the inbox", RULE_EXISTS
            )
    with transaction.atomic():
        row = conversation_lock(conversation.pk)
        if row.assignee_id == (assignee.pk if assignee is not None else None):
            return AssignmentChange(assignee=assignee, changed=False)
        Conversation.objects.filter(pk=row.pk).update(assignee=assignee)
        who = caller_display_name(caller)
        text = (
            f"Assigned to {user_display_name(assignee)} by {who}"
            if assignee is not None
            else f"Unassigned by {who}"
        )
        thread_entry_create(
            conversation_id=row.pk,
            actor=caller_actor(caller),
            app_id=caller.app.id if caller.app is not None else None,
            text=text,
        )
        publish_on_commit(
            groups=[business_group()],
            event=events.conversation_assigned_event(
                conversation_id=row.pk,
                assignee=assignee_json(assignee),
                assigned_by={caller.sender_kind: str(caller.id)},
            ),
        )
        if assignee is not None:
            notifications_conversation_assigned(
                conversation_id=row.pk,
                assignee=assignee,
                assigned_by=who,
                self_assigned=caller.user is not None and caller.user.pk == assignee.pk,
            )
    conversation.assignee = assignee
    return AssignmentChange(assignee=assignee, changed=True)
