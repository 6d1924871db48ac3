"""Every write of the app. Keyword-only, typed, atomic; events leave only after commit.

Views, admin actions, consumers and commands call these; nothing else saves inbox models. One
module per sub-domain; callers import from here (``services.message_send(...)``).
"""

from inbox.services.apps import app_create, app_update
from inbox.services.assignment import AssignmentChange, conversation_assign
from inbox.services.conversations import (
    conversation_get_or_create,
    conversation_merge,
    visitor_claim,
)
from inbox.services.messages import MessageDraft, SendAs, message_interact, message_send
from inbox.services.participants import participant_get_or_create, visitor_create
from inbox.services.reads import ReadState, conversation_mark_read, conversation_mark_unread
from inbox.services.status import StatusChange, conversation_set_status

__all__ = [
    "AssignmentChange",
    "MessageDraft",
    "ReadState",
    "SendAs",
    "StatusChange",
    "app_create",
    "app_update",
    "conversation_assign",
    "conversation_get_or_create",
    "conversation_mark_read",
    "conversation_mark_unread",
    "conversation_merge",
    "conversation_set_status",
    "message_interact",
    "message_send",
    "participant_get_or_create",
    "visitor_claim",
    "visitor_create",
]
