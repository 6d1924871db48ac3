"""What the OpenAPI schema (drf-spectacular) says about the inbox endpoints, all in one place:
the response bodies (built by ``inbox.wire``, described here by schema-only serializers), the
query parameters of the list endpoints, the error envelope every operation may answer with, the
credentials, and the shape of list responses (envelopes, never bare arrays). The views name these
in their ``extend_schema``; the request serializers, which also validate, stay in
``inbox.api.serializers``. The schema is fuzzed against the running server (tests/test_fuzz.py),
so it must say exactly what the server does.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from drf_spectacular.utils import extend_schema as spectacular_extend_schema
from rest_framework import serializers

from inbox.api.serializers import DIRECTIONS, VISIBILITIES
from inbox.models import Conversation, Message, Participant

# Statuses any inbox operation may answer with, always in Wix's envelope.
ERROR_STATUSES = {
    "400": "Invalid request: `validationError` names each field, or `applicationError` says why.",
    "401": "No, an invalid, revoked or expired credential.",
    "403": "The caller may not do this (`PERMISSION_DENIED`, `NOT_JOINED_CHATROOM`, "
    "`IDENTITY_DOES_NOT_MATCH`).",
    "404": "No such conversation or message (business callers; participants get 403).",
    "413": "The request body is larger than `INBOX['MAX_BODY_BYTES']` (an upload: than "
    "`ATTACHMENT_MAX_BYTES`, or the caller's whole upload quota).",
    "429": "Over the caller's rate (`INBOX['THROTTLE_RATES']`; uploads also "
    "`ATTACHMENT_UPLOAD_RATES`) or upload quota (`UPLOAD_QUOTA_EXCEEDED`); retry after "
    "`Retry-After` s.",
    "503": "The database is unavailable for a moment; retry after `Retry-After` seconds.",
}
WRITE_ERROR_STATUSES = {
    "409": "The `Idempotency-Key` was already used with a different request.",
}
RETRY_AFTER = {
    "Retry-After": {
        "schema": {"type": "integer", "minimum": 1},
        "description": "Seconds to wait before retrying.",
        "required": True,
    }
}

# --- parameters --------------------------------------------------------------------------------

CONVERSATION_LIST_PARAMETERS = [
    OpenApiParameter("unread", bool, description="Only conversations with unread messages."),
    OpenApiParameter("participantKind", str, enum=Participant.Kind.values),
    OpenApiParameter("q", str, description="Text in the participant's name or the preview."),
    OpenApiParameter(
        "status",
        str,
        enum=Conversation.Status.values,
        description="Status as of now (an expired snooze is OPEN); CLOSED is the archive.",
    ),
    OpenApiParameter(
        "assignee",
        str,
        enum=["me", "none"],
        description="me: assigned to the calling staff user; none: unassigned.",
    ),
    OpenApiParameter("paging.limit", int, description="Default 30, at most 100."),
    OpenApiParameter("paging.cursor", str),
]

MESSAGE_LIST_PARAMETERS = [
    OpenApiParameter("conversationId", OpenApiTypes.UUID, required=True),
    OpenApiParameter("visibility", str, required=True, enum=VISIBILITIES),
    OpenApiParameter("paging.limit", int, description="Default 30, at most 100."),
    OpenApiParameter("paging.cursor", str),
    OpenApiParameter("sorting.fieldName", str, enum=["sequence"]),
    OpenApiParameter("sorting.order", str, enum=["ASC", "DESC"]),
    OpenApiParameter(
        ".r", str, description="Wix SDK form: base64url JSON of the whole request, no padding."
    ),
]
IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    "Idempotency-Key",
    str,
    location=OpenApiParameter.HEADER,
    description="A retry with the same key returns the original message.",
)


# --- responses (schema only; bodies come from inbox.wire) ---------------------------------------


class IdentificationDataSerializer(serializers.Serializer[Any]):
    anonymousVisitorId = serializers.UUIDField(required=False)
    memberId = serializers.UUIDField(required=False)
    wixUserId = serializers.UUIDField(required=False)
    appId = serializers.UUIDField(required=False)
    contactId = serializers.UUIDField(required=False)


class ContentSerializer(serializers.Serializer[Any]):
    previewText = serializers.CharField(max_length=256)
    title = serializers.CharField(required=False)
    basic = serializers.DictField(required=False)
    template = serializers.DictField(required=False)
    minimal = serializers.DictField(required=False)
    form = serializers.DictField(required=False)
    system = serializers.DictField(required=False)
    contentType = serializers.ChoiceField(choices=Message.ContentType.values)


class MessageSerializer(serializers.Serializer[Any]):
    id = serializers.CharField()
    content = ContentSerializer()
    sender = IdentificationDataSerializer()
    badges = serializers.ListField(child=serializers.DictField())
    targetChannels = serializers.ListField(child=serializers.CharField())
    sourceChannel = serializers.CharField()
    targetChannelIds = serializers.ListField(child=serializers.CharField())
    sourceChannelId = serializers.CharField(required=False)
    appId = serializers.UUIDField(required=False)
    visibility = serializers.ChoiceField(choices=VISIBILITIES)
    sequence = serializers.CharField(help_text="int64 as a decimal string")
    direction = serializers.ChoiceField(choices=DIRECTIONS)
    createdDate = serializers.DateTimeField()
    silent = serializers.BooleanField()


class DisplayDataSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    imageUrl = serializers.CharField(allow_null=True)


class ConversationSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    participant = IdentificationDataSerializer()
    channels = serializers.ListField(child=serializers.CharField())
    businessDisplayData = DisplayDataSerializer()
    participantDisplayData = DisplayDataSerializer()


class GetOrCreateConversationResponseSerializer(serializers.Serializer[Any]):
    conversation = ConversationSerializer()
    newConversation = serializers.BooleanField()


class GetConversationResponseSerializer(serializers.Serializer[Any]):
    conversation = ConversationSerializer()


class SendMessageResponseSerializer(serializers.Serializer[Any]):
    message = MessageSerializer()


class CursorsSerializer(serializers.Serializer[Any]):
    next = serializers.CharField(required=False)
    prev = serializers.CharField(required=False)
    resume = serializers.CharField(
        required=False, help_text="Our extension: where a poller continues later (ASC polling)."
    )


class PagingMetadataSerializer(serializers.Serializer[Any]):
    count = serializers.IntegerField()
    cursors = CursorsSerializer()


class ListMessagesResponseSerializer(serializers.Serializer[Any]):
    messages = MessageSerializer(many=True)
    pagingMetadata = PagingMetadataSerializer()


class VisitorResponseSerializer(serializers.Serializer[Any]):
    anonymousVisitorId = serializers.UUIDField()
    token = serializers.CharField()


class StaffUserSerializer(serializers.Serializer[Any]):
    wixUserId = serializers.UUIDField()
    name = serializers.CharField()


class AvailabilitySerializer(serializers.Serializer[Any]):
    # A string, not an enum: drf-spectacular names enums after the field, and "status" is the
    # conversation status's already (a collision warning at every ``manage.py check``).
    status = serializers.CharField(
        help_text=(
            "ONLINE, OFFLINE or AWAY. ONLINE: a staff page is open. OFFLINE: nobody online within business hours "
            '("we usually reply within …"). AWAY: nobody online outside them ("back at …").'
        ),
    )
    backAt = serializers.DateTimeField(allow_null=True, help_text="When AWAY: the next opening.")
    replyWithinMinutes = serializers.IntegerField(allow_null=True)
    onlineStaff = StaffUserSerializer(
        many=True, required=False, help_text="Business callers only: who is online."
    )


class AvailabilityResponseSerializer(serializers.Serializer[Any]):
    availability = AvailabilitySerializer()


class EmptyResponseSerializer(serializers.Serializer[Any]):
    pass


class VisitorClaimResponseSerializer(serializers.Serializer[Any]):
    conversation = ConversationSerializer()
    merged = serializers.BooleanField(help_text="Whether this call merged a conversation.")


class AssigneeSerializer(serializers.Serializer[Any]):
    wixUserId = serializers.UUIDField()
    name = serializers.CharField()


class ConversationRowSerializer(serializers.Serializer[Any]):
    conversation = ConversationSerializer()
    participantKind = serializers.ChoiceField(choices=Participant.Kind.values)
    participantNamed = serializers.BooleanField(
        help_text='False when the participant\'s name is empty or made up ("Visitor 3f2a1b").'
    )
    previewText = serializers.CharField(help_text="Preview of the last non-silent message.")
    lastSequence = serializers.CharField(help_text="Highest sequence in the conversation (int64).")
    lastMessageSequence = serializers.CharField(
        help_text="Sequence of the last non-silent message."
    )
    lastActivityDate = serializers.DateTimeField(allow_null=True)
    lastMessageDirection = serializers.CharField(
        allow_null=True, help_text="The last message's direction; null before the first message."
    )
    lastMessageVisibility = serializers.CharField(
        allow_null=True, help_text="The last message's visibility; null before the first message."
    )
    previewThumbnailUrl = serializers.CharField(
        allow_null=True,
        help_text="Signed link to the thumbnail of the last message's first uploaded image.",
    )
    unreadCount = serializers.IntegerField(help_text="Unread messages for the caller.")
    readSequence = serializers.CharField(help_text="The caller's read cursor (int64).")
    participantReadSequence = serializers.CharField(help_text="The participant's read cursor.")
    status = serializers.ChoiceField(
        choices=Conversation.Status.values, help_text="As of now: an expired snooze reads OPEN."
    )
    snoozedUntil = serializers.DateTimeField(
        allow_null=True, help_text="The end of the snooze while it lasts; null otherwise."
    )
    assignee = AssigneeSerializer(allow_null=True)


class ListConversationsResponseSerializer(serializers.Serializer[Any]):
    conversations = ConversationRowSerializer(many=True)
    pagingMetadata = PagingMetadataSerializer()


class ReadResponseSerializer(serializers.Serializer[Any]):
    conversationId = serializers.UUIDField()
    readBy = IdentificationDataSerializer()
    sequence = serializers.CharField(help_text="Where the cursor stands now (int64).")


class StatusResponseSerializer(serializers.Serializer[Any]):
    conversationId = serializers.UUIDField()
    status = serializers.ChoiceField(choices=Conversation.Status.values)
    snoozedUntil = serializers.DateTimeField(allow_null=True)
    changed = serializers.BooleanField(help_text="False when it already had this status.")


class AssignResponseSerializer(serializers.Serializer[Any]):
    conversationId = serializers.UUIDField()
    assignee = AssigneeSerializer(allow_null=True)
    changed = serializers.BooleanField(help_text="False when it was already assigned so.")


# --- errors ------------------------------------------------------------------------------------


class FieldViolationSerializer(serializers.Serializer[Any]):
    field = serializers.CharField(allow_blank=True)
    description = serializers.CharField()
    violatedRule = serializers.CharField()
    ruleName = serializers.CharField(required=False)
    # The metaclass pops declared fields, so this does not shadow ``Serializer.data``.
    data = serializers.DictField(required=False)  # type: ignore[assignment]


class ValidationErrorSerializer(serializers.Serializer[Any]):
    fieldViolations = FieldViolationSerializer(many=True)


class ApplicationErrorSerializer(serializers.Serializer[Any]):
    code = serializers.CharField()
    description = serializers.CharField()
    data = serializers.DictField()  # type: ignore[assignment]


class ErrorDetailsSerializer(serializers.Serializer[Any]):
    validationError = ValidationErrorSerializer(required=False)
    applicationError = ApplicationErrorSerializer(required=False)


class ErrorEnvelopeSerializer(serializers.Serializer[Any]):
    """Wix's error envelope: ``details`` holds ``validationError`` or ``applicationError``
    (empty for 5xx)."""

    message = serializers.CharField()
    details = ErrorDetailsSerializer()


# --- drf-spectacular hooks ---------------------------------------------------------------------


class InboxAutoSchema(AutoSchema):
    def _is_list_view(self, serializer: Any = None) -> bool:
        # Every inbox response is an object (``{"messages": [...], "pagingMetadata": ...}``),
        # including those of ``list`` actions, which drf-spectacular would wrap in an array.
        return False

    def _get_response_bodies(self, direction: Any = "response") -> Any:
        responses = super()._get_response_bodies(direction)
        errors = dict(ERROR_STATUSES)
        if self.method == "POST":
            errors.update(WRITE_ERROR_STATUSES)
        for status, description in errors.items():
            if status in responses:
                continue
            response = self._get_response_for_code(
                ErrorEnvelopeSerializer, status, direction=direction
            )
            response["description"] = description
            if status in ("429", "503"):
                response["headers"] = RETRY_AFTER
            responses[status] = response
        return responses

    def get_operation(self, *args: Any, **kwargs: Any) -> Any:
        operation = super().get_operation(*args, **kwargs)
        if operation and self.path.startswith("/crm/"):
            # The API is mounted twice (``/inbox/`` and, for Wix's SDK, ``/crm/inbox/``): the
            # second mount's operation ids get a ``crm`` prefix instead of drf-spectacular's
            # numeral suffix and its collision warning.
            name = operation["operationId"]
            operation["operationId"] = "crm" + name[:1].upper() + name[1:]
        for parameter in (operation or {}).get("parameters", []):
            # Path ids are GUIDs (``lookup_value_regex`` accepts anything so that a malformed
            # id gets a 400 in the envelope rather than Django's 404 page).
            if parameter.get("in") == "path" and parameter["name"].endswith("_id"):
                parameter["schema"] = {"type": "string", "format": "uuid"}
        return operation


def extend_schema(**kwargs: Any) -> Any:
    """drf-spectacular's ``extend_schema``, built on ``InboxAutoSchema``: on a method it would
    subclass the site's ``DEFAULT_SCHEMA_CLASS`` (DRF's own AutoSchema unless the site chose
    drf-spectacular's), which breaks schema generation and ``check --deploy``."""

    def decorator(view_method: Any) -> Any:
        view_method.schema = InboxAutoSchema  # the base drf-spectacular looks at first
        return spectacular_extend_schema(**kwargs)(view_method)

    return decorator


class CredentialScheme(OpenApiAuthenticationExtension):
    target_class = "inbox.api.authentication.CredentialAuthentication"
    name = "inboxCredential"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "An app's API key (as is or `Bearer <key>`), or `Bearer <visitor "
            "token>` from `POST v2/visitors`.",
        }


class InboxSessionScheme(OpenApiAuthenticationExtension):
    target_class = "inbox.api.authentication.InboxSessionAuthentication"
    name = "cookieAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {"type": "apiKey", "in": "cookie", "name": settings.SESSION_COOKIE_NAME}
