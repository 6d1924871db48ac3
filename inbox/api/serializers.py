"""Request shapes, validated into plain values (``parse_*``), and shared by the OpenAPI schema.

Responses are built by ``inbox.wire`` so that REST bodies and event payloads are the same bytes;
the schema-only serializers that describe them live in ``inbox.api.schema``.
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rest_framework import serializers

from inbox.api.errors import flatten_drf_errors
from inbox.content import normalize_badges, normalize_channel_fields, normalize_content
from inbox.exceptions import (
    RULE_FORMAT,
    RULE_NOT_ALLOWED,
    RULE_ONE_OF,
    RULE_REQUIRED,
    RULE_REQUIRED_ONE_OF,
    ContentError,
    ValidationFailed,
    Violation,
)
from inbox.models import Conversation, Message, Participant
from inbox.selectors import ASC, DESC
from inbox.services import MessageDraft, SendAs

VISIBILITIES = [Message.Visibility.BUSINESS_AND_PARTICIPANT, Message.Visibility.BUSINESS]
DIRECTIONS = [
    Message.Direction.BUSINESS_TO_PARTICIPANT,
    Message.Direction.PARTICIPANT_TO_BUSINESS,
]
PARTICIPANT_KEYS = tuple(kind.wire_key for kind in Participant.Kind)


def _raise_if(violations: list[Violation]) -> None:
    if violations:
        raise ValidationFailed(violations)


_shared: dict[type, serializers.Serializer[Any]] = {}
_shared_lock = threading.Lock()


def _shared_serializer(serializer_class: type[serializers.Serializer[Any]]) -> Any:
    serializer = _shared.get(serializer_class)
    if serializer is None:
        with _shared_lock:
            serializer = _shared.get(serializer_class)
            if serializer is None:
                serializer = serializer_class()
                _bind_fields(serializer)
                _shared[serializer_class] = serializer
    return serializer


def _bind_fields(serializer: serializers.Serializer[Any]) -> None:
    # DRF builds ``fields`` lazily; build them all now, under the lock, not during a request.
    for field in serializer.fields.values():
        if isinstance(field, serializers.Serializer):
            _bind_fields(field)


def validate(
    serializer_class: type[serializers.Serializer[Any]], data: Any
) -> tuple[dict[str, Any], list[Violation]]:
    """What ``serializer_class(data=data).is_valid()`` gives: (validated data, violations).

    One serializer per class and process serves every request: DRF deep-copies every declared
    field each time a serializer is instantiated, which was a tenth of the send path's CPU
    (docs/benchmarks.md). ``run_validation`` keeps no state on the instance (it returns the
    values or raises), so sharing it between threads is safe; only ``is_valid`` stores results.
    """
    if data is None:  # as ``Serializer.errors`` words it
        return {}, [Violation("", "No data provided", RULE_REQUIRED)]
    try:
        return _shared_serializer(serializer_class).run_validation(data), []
    except serializers.ValidationError as error:
        return {}, flatten_drf_errors(error.detail)


def validated(serializer_class: type[serializers.Serializer[Any]], data: Any) -> dict[str, Any]:
    """The validated data, or ``ValidationFailed`` with every violation."""
    values, violations = validate(serializer_class, data)
    _raise_if(violations)
    return values


# ---------------------------------------------------------------------------------------------
# Requests


class GuidField(serializers.UUIDField):
    """A GUID as a JSON string. DRF's ``UUIDField`` also takes a JSON number as ``UUID(int=…)``,
    which would turn ``42`` into ``00000000-…-00000000002a``."""

    def to_internal_value(self, data: Any) -> uuid.UUID:
        if not isinstance(data, str):
            self.fail("invalid", value=data)
        return super().to_internal_value(data)


class ParticipantIdSerializer(serializers.Serializer[Any]):
    contactId = GuidField(required=False)
    anonymousVisitorId = GuidField(required=False)
    memberId = GuidField(required=False)


class GetOrCreateConversationRequestSerializer(serializers.Serializer[Any]):
    participantId = ParticipantIdSerializer(required=False)


def parse_participant_id(data: dict[str, Any], *, required: bool) -> tuple[str, uuid.UUID] | None:
    """``participantId`` of a get-or-create body as (wire key, GUID); exactly one id."""
    values = validated(GetOrCreateConversationRequestSerializer, data)
    raw = data.get("participantId")
    if raw is None:
        if required:
            raise ValidationFailed.single("participantId", "is required", RULE_REQUIRED)
        return None
    unknown = sorted(set(raw) - set(PARTICIPANT_KEYS))
    _raise_if(
        [
            Violation(f"participantId.{key}", "is not a participant id field", RULE_NOT_ALLOWED)
            for key in unknown
        ]
    )
    given = {key: value for key, value in values["participantId"].items() if value is not None}
    if len(given) != 1:
        rule = RULE_REQUIRED_ONE_OF if not given else RULE_ONE_OF
        raise ValidationFailed.single(
            "participantId",
            "must hold exactly one of contactId, anonymousVisitorId, memberId",
            rule,
        )
    ((key, value),) = given.items()
    return key, value


class MessageInputSerializer(serializers.Serializer[Any]):
    direction = serializers.ChoiceField(choices=DIRECTIONS)
    visibility = serializers.ChoiceField(
        choices=["UNKNOWN_VISIBILITY", *VISIBILITIES], required=False
    )
    silent = serializers.BooleanField(required=False, default=False)
    content = serializers.JSONField()


class SendMessageRequestSerializer(serializers.Serializer[Any]):
    conversationId = GuidField(required=False)
    message = MessageInputSerializer()
    sendNotifications = serializers.BooleanField(required=False, default=False)
    sendAs = serializers.ChoiceField(choices=list(SendAs.ALL), required=False, default="CALLER")
    silent = serializers.BooleanField(required=False, default=False)
    typingDelay = serializers.FloatField(required=False)
    businessUserId = GuidField(required=False)


@dataclass(frozen=True)
class SendRequest:
    conversation_id: uuid.UUID | None
    draft: MessageDraft
    send_as: str
    business_user_id: uuid.UUID | None
    fingerprint: str


def parse_send_request(data: dict[str, Any], *, app_id: uuid.UUID | None) -> SendRequest:
    """Validate a send body; every violation (envelope fields and content) in one 400."""
    values, violations = validate(SendMessageRequestSerializer, data)
    raw_message = data.get("message")
    content = None
    badges: list[dict[str, object]] = []
    channels: dict[str, object] = {}
    if isinstance(raw_message, dict):
        try:
            content = normalize_content(
                raw_message.get("content"), app_id=str(app_id) if app_id else None
            )
        except ContentError as error:
            violations = [v for v in violations if not v.field.startswith("message.content")]
            violations.extend(error.violations)
        for normalize in (
            lambda: normalize_badges(raw_message.get("badges")),
            lambda: normalize_channel_fields(raw_message),
        ):
            try:
                result = normalize()
            except ContentError as error:
                violations.extend(error.violations)
            else:
                if isinstance(result, list):
                    badges = result
                else:
                    channels = result
    _raise_if(violations)
    assert content is not None
    message_values = values["message"]
    visibility = message_values.get("visibility") or Message.Visibility.BUSINESS_AND_PARTICIPANT
    if visibility == "UNKNOWN_VISIBILITY":
        visibility = Message.Visibility.BUSINESS_AND_PARTICIPANT
    draft = MessageDraft(
        direction=message_values["direction"],
        visibility=visibility,
        content=content,
        badges=badges,
        target_channels=list(channels.get("targetChannels") or []),  # type: ignore[call-overload]
        source_channel=str(channels.get("sourceChannel") or "UNKNOWN_CHANNEL_TYPE"),
        target_channel_ids=list(channels.get("targetChannelIds") or []),  # type: ignore[call-overload]
        source_channel_id=channels.get("sourceChannelId"),  # type: ignore[arg-type]
        # ``silent`` on the request is the deprecated spelling of ``message.silent``.
        silent=bool(message_values.get("silent") or values.get("silent")),
        send_notifications=bool(values.get("sendNotifications")),
    )
    fingerprint = hashlib.sha256(
        json.dumps(data, sort_keys=True, separators=(",", ":"), default=str).encode()
    ).hexdigest()
    return SendRequest(
        conversation_id=values.get("conversationId"),
        draft=draft,
        send_as=values.get("sendAs") or SendAs.CALLER,
        business_user_id=values.get("businessUserId"),
        fingerprint=fingerprint,
    )


class PagingSerializer(serializers.Serializer[Any]):
    limit = serializers.IntegerField(required=False, min_value=0)
    cursor = serializers.CharField(required=False, max_length=16000, allow_blank=True)


class SortingSerializer(serializers.Serializer[Any]):
    fieldName = serializers.ChoiceField(
        choices=["sequence", "message_sequence", "messageSequence", ""], required=False
    )
    order = serializers.ChoiceField(choices=[ASC, DESC], required=False, default=DESC)


class ListMessagesRequestSerializer(serializers.Serializer[Any]):
    conversationId = GuidField()
    visibility = serializers.ChoiceField(choices=VISIBILITIES)
    paging = PagingSerializer(required=False)
    sorting = SortingSerializer(required=False)


@dataclass(frozen=True)
class ListRequest:
    conversation_id: uuid.UUID
    visibility: str
    limit: int
    cursor: str
    order: str


def parse_list_request(data: dict[str, Any], *, default_limit: int, max_limit: int) -> ListRequest:
    values = validated(ListMessagesRequestSerializer, data)

    paging = values.get("paging") or {}
    sorting = values.get("sorting") or {}
    limit = paging.get("limit") or default_limit
    return ListRequest(
        conversation_id=values["conversationId"],
        visibility=values["visibility"],
        limit=min(limit, max_limit),
        cursor=paging.get("cursor") or "",
        order=sorting.get("order") or DESC,
    )


class ReadRequestSerializer(serializers.Serializer[Any]):
    sequence = serializers.IntegerField(
        min_value=0, max_value=2**63 - 1, help_text="int64 as a decimal string"
    )


def parse_read_request(data: dict[str, Any]) -> int:
    """The sequence of a ``POST v2/conversations/{id}/read`` body."""
    values = validated(ReadRequestSerializer, data)
    return int(values["sequence"])


class StatusRequestSerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=Conversation.Status.values)
    snoozedUntil = serializers.DateTimeField(
        required=False, allow_null=True, help_text="Required with SNOOZED, refused otherwise."
    )


def parse_status_request(data: dict[str, Any]) -> tuple[str, datetime | None]:
    """(status, snooze end) of a ``POST v2/conversations/{id}/status`` body."""
    values = validated(StatusRequestSerializer, data)
    return values["status"], values.get("snoozedUntil")


class AssignRequestSerializer(serializers.Serializer[Any]):
    wixUserId = GuidField(allow_null=True, help_text="The staff user to assign; null: nobody.")


def parse_assign_request(data: dict[str, Any]) -> uuid.UUID | None:
    """The assignee's ``wixUserId`` (None: unassign) of a ``POST …/assignee`` body."""
    values = validated(AssignRequestSerializer, data)
    return values["wixUserId"]


class ListConversationsRequestSerializer(serializers.Serializer[Any]):
    paging = PagingSerializer(required=False)


def parse_conversation_paging(
    data: dict[str, Any], *, default_limit: int, max_limit: int
) -> tuple[int, str]:
    """(limit, cursor) of a ``GET v2/conversations`` query; the filters are the FilterSet's."""
    values = validated(ListConversationsRequestSerializer, {"paging": data.get("paging") or {}})
    paging = values.get("paging") or {}
    return min(paging.get("limit") or default_limit, max_limit), paging.get("cursor") or ""


class InteractionRequestSerializer(serializers.Serializer[Any]):
    conversationId = GuidField(required=False)
    messageId = serializers.CharField(max_length=20)
    interactionId = serializers.CharField(min_length=1, max_length=256)


@dataclass(frozen=True)
class InteractionRequest:
    conversation_id: uuid.UUID | None
    message_id: int
    interaction_id: str


def parse_interaction_request(data: dict[str, Any]) -> InteractionRequest:
    values = validated(InteractionRequestSerializer, data)

    if not (values["messageId"].isascii() and values["messageId"].isdigit()) or (
        int(values["messageId"]) >= 2**63
    ):
        raise ValidationFailed.single("messageId", "must be a message id", RULE_FORMAT)
    return InteractionRequest(
        conversation_id=values.get("conversationId"),
        message_id=int(values["messageId"]),
        interaction_id=values["interactionId"],
    )


class VisitorClaimRequestSerializer(serializers.Serializer[Any]):
    token = serializers.CharField(max_length=4096, help_text="The visitor token to claim.")
