"""Tests for ``inbox.exceptions``, the one error vocabulary: every rule code, every DRF and form
error code and every application error reaches Wix's envelope as specified (contract §4)."""

from __future__ import annotations

import uuid

import pytest
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions as drf

from inbox import exceptions
from inbox.api.errors import exception_handler
from inbox.exceptions import (
    CODE_BY_STATUS,
    RULE_BY_ERROR_CODE,
    RULE_ENUM,
    RULE_FORMAT,
    InboxError,
    ValidationFailed,
    rule_for_error_code,
)
from tests.conftest import API, field_violations

RULES = {name: value for name, value in vars(exceptions).items() if name.startswith("RULE_")}
RULES.pop("RULE_BY_ERROR_CODE")

# Wix's ``violatedRule`` spellings (plus our EXISTS); a change here changes the wire.
SPELLINGS = {
    "RULE_REQUIRED": "REQUIRED_FIELD",
    "RULE_MAX_LENGTH": "MAX_LENGTH",
    "RULE_MIN_LENGTH": "MIN_LENGTH",
    "RULE_MAX_SIZE": "MAX_SIZE",
    "RULE_MIN_SIZE": "MIN_SIZE",
    "RULE_MAX": "MAX",
    "RULE_MIN": "MIN",
    "RULE_FORMAT": "FORMAT",
    "RULE_ENUM": "INVALID_ENUM_VALUE",
    "RULE_NOT_ALLOWED": "FIELD_NOT_ALLOWED",
    "RULE_ONE_OF": "ONE_OF_ALIGNMENT",
    "RULE_REQUIRED_ONE_OF": "REQUIRED_ONE_OF_FIELD",
    "RULE_EXISTS": "EXISTS",
}

# DRF serializer and Django form error codes → the rule they are sent as.
ERROR_CODES = {
    "required": "REQUIRED_FIELD",
    "null": "REQUIRED_FIELD",
    "blank": "MIN_LENGTH",
    "invalid_choice": "INVALID_ENUM_VALUE",
    "max_length": "MAX_LENGTH",
    "min_length": "MIN_LENGTH",
    "max_value": "MAX",
    "min_value": "MIN",
}


def envelope(exc: Exception) -> tuple[int, object]:
    response = exception_handler(exc, {})
    return response.status_code, response.data


def test_each_rule_code_is_spelled_once_as_wix_does():
    assert RULES == SPELLINGS
    assert len(set(RULES.values())) == len(RULES)


@pytest.mark.parametrize("rule", sorted(SPELLINGS.values()))
def test_every_rule_code_reaches_the_envelope(rule):
    assert envelope(ValidationFailed.single("message.content", "is wrong", rule)) == (
        400,
        {
            "message": "message.content: is wrong",
            "details": {
                "validationError": {
                    "fieldViolations": [
                        {
                            "field": "message.content",
                            "description": "is wrong",
                            "violatedRule": rule,
                            "ruleName": "VALIDATION_ERROR",
                            "data": {},
                        }
                    ]
                }
            },
        },
    )


def test_the_error_code_map_is_the_tested_one():
    assert dict(RULE_BY_ERROR_CODE) == ERROR_CODES
    assert set(ERROR_CODES.values()) <= set(SPELLINGS.values())


@pytest.mark.parametrize(("code", "rule"), [*ERROR_CODES.items(), ("invalid", RULE_FORMAT)])
def test_every_drf_error_code_reaches_the_envelope_as_its_rule(code, rule):
    error = drf.ValidationError({"message": {"sendAs": [drf.ErrorDetail("is bad", code=code)]}})
    status, body = envelope(error)
    assert status == 400
    assert body["details"]["validationError"]["fieldViolations"] == [
        {
            "field": "message.sendAs",
            "description": "is bad",
            "violatedRule": rule,
            "ruleName": "VALIDATION_ERROR",
            "data": {},
        }
    ]


@pytest.mark.parametrize("code", [None, "", "not_a_list", "unique"])
def test_any_other_error_code_is_a_format_violation(code):
    assert rule_for_error_code(code) == RULE_FORMAT


@pytest.mark.parametrize("error_class", InboxError.__subclasses__(), ids=lambda cls: cls.__name__)
def test_every_application_error_reaches_the_envelope(error_class):
    assert envelope(error_class(data={"conversationId": "c"})) == (
        error_class.status_code,
        {
            "message": error_class.default_message,
            "details": {
                "applicationError": {
                    "code": error_class.code,
                    "description": error_class.default_message,
                    "data": {"conversationId": "c"},
                }
            },
        },
    )
    assert str(error_class("Why")) == "Why"


def test_application_errors_keep_their_wire_codes():
    assert {cls.__name__: (cls.status_code, cls.code) for cls in InboxError.__subclasses__()} == {
        "ConversationNotFound": (404, "CONVERSATION_NOT_FOUND"),
        "NotJoinedChatroom": (403, "NOT_JOINED_CHATROOM"),
        "IdentityDoesNotMatch": (403, "IDENTITY_DOES_NOT_MATCH"),
        "PermissionDenied": (403, "PERMISSION_DENIED"),
        "IdempotencyConflict": (409, "IDEMPOTENCY_KEY_REUSED"),
        "WebhookEndpointNotFound": (404, "WEBHOOK_ENDPOINT_NOT_FOUND"),
        "WebhookEndpointInactive": (409, "WEBHOOK_ENDPOINT_INACTIVE"),
        "SavedReplyNotFound": (404, "SAVED_REPLY_NOT_FOUND"),
        "AttachmentTooLarge": (413, "PAYLOAD_TOO_LARGE"),
        "UploadQuotaExceeded": (429, "UPLOAD_QUOTA_EXCEEDED"),
    }


def test_an_invalid_choice_is_one_rule_on_every_path(staff_client):
    # A serializer field (the message list) and a FilterSet's form field (the conversation list).
    messages = staff_client.get(
        f"{API}/messages", {"conversationId": str(uuid.uuid4()), "visibility": "EVERYONE"}
    )
    assert field_violations(messages) == {"visibility": RULE_ENUM}
    for kind in ("ROBOT", ""):
        conversations = staff_client.get(f"{API}/conversations", {"participantKind": kind})
        assert field_violations(conversations) == {"participantKind": RULE_ENUM}


def test_a_form_error_code_reaches_the_envelope_through_a_filter(staff_client):
    response = staff_client.get(f"{API}/conversations", {"q": "x" * 201})
    assert field_violations(response) == {"q": "MAX_LENGTH"}


# HTTP statuses of failures without a code of their own → their ``applicationError.code``.
STATUS_CODES = {
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


def test_the_status_code_map_is_the_tested_one():
    assert dict(CODE_BY_STATUS) == STATUS_CODES


@pytest.mark.parametrize(("status", "code"), [*STATUS_CODES.items(), (418, "BAD_REQUEST")])
def test_every_drf_exception_status_reaches_the_envelope_as_its_code(status, code):
    error = drf.APIException("Nope")
    error.status_code = status
    assert envelope(error) == (
        status,
        {
            "message": "Nope",
            "details": {"applicationError": {"code": code, "description": "Nope", "data": {}}},
        },
    )


@pytest.mark.parametrize(
    ("error", "status", "code", "message"),
    [
        (Http404("gone"), 404, "NOT_FOUND", "Not found"),
        (DjangoPermissionDenied("no"), 403, "PERMISSION_DENIED", "Permission denied"),
    ],
)
def test_djangos_own_errors_reach_the_envelope(error, status, code, message):
    assert envelope(error) == (
        status,
        {
            "message": message,
            "details": {"applicationError": {"code": code, "description": message, "data": {}}},
        },
    )
