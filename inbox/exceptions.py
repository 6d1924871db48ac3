"""The one error vocabulary: Wix's rule codes, field violations, and the application errors the
services and selectors raise. The API layer renders them in Wix's envelope (``inbox.api.errors``).

No Django beyond its translation functions: ``inbox.content`` and every layer above it import
from here. The ``message`` of an application error is translated (lazily, into the request's
language, as DRF's own messages are), because clients show it to people; machines match on
``code``. Field-violation descriptions stay English: they name field paths and rules for the
developer of an API client, as Wix's do, and neither the widget nor the staff page shows them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

# Wix ``violatedRule`` values: every field violation names one of these.
# Presence: a field missing, one that must not be there, a oneof with none or several set.
RULE_REQUIRED: Final = "REQUIRED_FIELD"
RULE_NOT_ALLOWED: Final = "FIELD_NOT_ALLOWED"
RULE_REQUIRED_ONE_OF: Final = "REQUIRED_ONE_OF_FIELD"
RULE_ONE_OF: Final = "ONE_OF_ALIGNMENT"
# Bounds: of a string's length, of a list's size, of a number.
RULE_MAX_LENGTH: Final = "MAX_LENGTH"
RULE_MIN_LENGTH: Final = "MIN_LENGTH"
RULE_MAX_SIZE: Final = "MAX_SIZE"
RULE_MIN_SIZE: Final = "MIN_SIZE"
RULE_MAX: Final = "MAX"
RULE_MIN: Final = "MIN"
# Values: malformed, not one of an enum's values, or (our own rule) naming something, such as a
# button's interactionId, that does not exist.
RULE_FORMAT: Final = "FORMAT"
RULE_ENUM: Final = "INVALID_ENUM_VALUE"
RULE_EXISTS: Final = "EXISTS"

# The error codes of DRF serializer fields and Django form fields (the FilterSets' forms) in Wix's
# terms; any other code (``invalid``, ``not_a_list`` …) is a FORMAT violation.
RULE_BY_ERROR_CODE: Final[Mapping[str, str]] = {
    "required": RULE_REQUIRED,
    "null": RULE_REQUIRED,
    "blank": RULE_MIN_LENGTH,
    "invalid_choice": RULE_ENUM,
    "max_length": RULE_MAX_LENGTH,
    "min_length": RULE_MIN_LENGTH,
    "max_value": RULE_MAX,
    "min_value": RULE_MIN,
}


def rule_for_error_code(code: str | None) -> str:
    """The Wix rule of a DRF or Django form error code."""
    return RULE_BY_ERROR_CODE.get(code or "", RULE_FORMAT)


# The ``applicationError.code`` of a failure that has none of its own (DRF's exceptions, Django's
# 404 and PermissionDenied): its HTTP status in CONSTANT_CASE, as Wix's SDK makes it up.
CODE_BY_STATUS: Final[Mapping[int, str]] = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "RESOURCE_EXHAUSTED",
}


def code_for_status(status: int) -> str:
    return CODE_BY_STATUS.get(status, CODE_BY_STATUS[400])


@dataclass(frozen=True)
class Violation:
    """One Wix ``fieldViolation``: where, why, and which rule."""

    field: str
    description: str
    violated_rule: str


class ContentError(Exception):
    """Raised with every violation found in the input."""

    violations: list[Violation]

    def __init__(self, violations: list[Violation]) -> None:
        self.violations = list(violations)
        summary = "; ".join(f"{v.field}: {v.description}" for v in self.violations[:3])
        if len(self.violations) > 3:
            summary += f" (and {len(self.violations) - 3} more)"
        super().__init__(summary or "invalid content")


class ValidationFailed(ContentError):
    """Field violations (HTTP 400 with ``validationError.fieldViolations``)."""

    @classmethod
    def single(cls, field: str, description: str, rule: str) -> ValidationFailed:
        return cls([Violation(field=field, description=description, violated_rule=rule)])


class InboxError(Exception):
    """An application error: an HTTP status plus a Wix ``applicationError.code``.

    A subclass names its status and code in its class statement.
    """

    status_code = 400
    code = CODE_BY_STATUS[400]
    default_message: str | Promise = _("Bad request")

    def __init_subclass__(cls, *, status: int, code: str, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.status_code, cls.code = status, code

    def __init__(
        self, message: str | Promise | None = None, *, data: dict[str, object] | None = None
    ):
        self.message = message or self.default_message
        self.data = data or {}
        super().__init__(self.message)


class WebhookEndpointNotFound(InboxError, status=404, code="WEBHOOK_ENDPOINT_NOT_FOUND"):
    default_message = _("No webhook endpoint with this id")


class SavedReplyNotFound(InboxError, status=404, code="SAVED_REPLY_NOT_FOUND"):
    # Also the answer for a colleague's personal reply: its existence is not revealed.
    default_message = _("No saved reply with this id")


class WebhookEndpointInactive(InboxError, status=409, code="WEBHOOK_ENDPOINT_INACTIVE"):
    default_message = _("The webhook endpoint is switched off; switch it on first")


class ConversationNotFound(InboxError, status=404, code="CONVERSATION_NOT_FOUND"):
    default_message = _("Conversation not found")


class NotJoinedChatroom(InboxError, status=403, code="NOT_JOINED_CHATROOM"):
    default_message = _("The caller is not a party to this conversation")


class IdentityDoesNotMatch(InboxError, status=403, code="IDENTITY_DOES_NOT_MATCH"):
    default_message = _("The caller may not send this message into this conversation")


class PermissionDenied(InboxError, status=403, code="PERMISSION_DENIED"):
    default_message = _("Permission denied")


class IdempotencyConflict(InboxError, status=409, code="IDEMPOTENCY_KEY_REUSED"):
    default_message = _("This Idempotency-Key was already used with a different request")


class UploadQuotaExceeded(InboxError, status=429, code="UPLOAD_QUOTA_EXCEEDED"):
    """The caller has uploaded its ``ATTACHMENT_QUOTA_BYTES`` within the quota window; the
    answer's ``Retry-After`` says when enough of it has aged out for this file."""

    default_message = _("You have uploaded as much as you may for now")

    # Seconds until the upload would fit, for the answer's Retry-After.
    retry_after: int | None = None

    @classmethod
    def over(cls, *, quota: int, used: int, retry_after: int) -> UploadQuotaExceeded:
        """Refuse an upload that would take the caller past ``quota`` bytes (``used`` so far)."""
        message = gettext(
            "Upload quota reached: %(used)s of %(quota)s bytes used; try again later"
        ) % {"used": used, "quota": quota}
        error = cls(message, data={"quotaBytes": str(quota), "usedBytes": str(used)})
        error.retry_after = retry_after
        return error


class AttachmentTooLarge(InboxError, status=413, code="PAYLOAD_TOO_LARGE"):
    default_message = _("The file is larger than the largest upload accepted")

    @classmethod
    def over(cls, limit: int) -> AttachmentTooLarge:
        """Refuse a file over ``limit`` bytes, saying so in the language of the request."""
        return cls(gettext("The file is larger than %(limit)s bytes") % {"limit": limit})
