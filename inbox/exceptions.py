"""Errors the services and selectors raise; the API layer renders them in Wix's envelope."""

from __future__ import annotations

from inbox.content import ContentError, Violation


class InboxError(Exception):
    """An application error: an HTTP status plus a Wix ``applicationError.code``."""

    status_code = 400
    code = "BAD_REQUEST"
    default_message = "Bad request"

    def __init__(self, message: str | None = None, *, data: dict[str, object] | None = None):
        self.message = message or self.default_message
        self.data = data or {}
        super().__init__(self.message)


class ConversationNotFound(InboxError):
    status_code = 404
    code = "CONVERSATION_NOT_FOUND"
    default_message = "Conversation not found"


class NotJoinedChatroom(InboxError):
    status_code = 403
    code = "NOT_JOINED_CHATROOM"
    default_message = "The caller is not a party to this conversation"


class IdentityDoesNotMatch(InboxError):
    status_code = 403
    code = "IDENTITY_DOES_NOT_MATCH"
    default_message = "The caller may not send this message into this conversation"


class PermissionDenied(InboxError):
    status_code = 403
    code = "PERMISSION_DENIED"
    default_message = "Permission denied"


class IdempotencyConflict(InboxError):
    status_code = 409
    code = "IDEMPOTENCY_KEY_REUSED"
    default_message = "This Idempotency-Key was already used with a different request"


class ValidationFailed(ContentError):
    """Field violations (HTTP 400 with ``validationError.fieldViolations``)."""

    @classmethod
    def single(cls, field: str, description: str, rule: str) -> ValidationFailed:
        return cls([Violation(field=field, description=description, violated_rule=rule)])
