"""Wix's error envelope for every failure, never an HTML page.

``{"message", "details": {"applicationError": {code, description, data}}}`` or
``{"message", "details": {"validationError": {"fieldViolations": [...]}}}``; 5xx carry empty
``details``.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import (
    BadRequest,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.views import set_rollback

from inbox.exceptions import (
    RULE_FORMAT,
    ContentError,
    InboxError,
    PermissionDenied,
    Violation,
    code_for_status,
    rule_for_error_code,
)

logger = logging.getLogger("inbox")


def application_error(
    code: str, message: str | Promise, data: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The envelope of an application error; a lazy ``message`` is rendered in the request's
    language here, once."""
    message = str(message)
    return {
        "message": message,
        "details": {"applicationError": {"code": code, "description": message, "data": data or {}}},
    }


def validation_error(violations: list[Violation]) -> dict[str, Any]:
    first = violations[0]
    return {
        "message": f"{first.field}: {first.description}" if first.field else first.description,
        "details": {
            "validationError": {
                "fieldViolations": [
                    {
                        "field": violation.field,
                        "description": violation.description,
                        "violatedRule": violation.violated_rule,
                        "ruleName": "VALIDATION_ERROR",
                        "data": {},
                    }
                    for violation in violations
                ]
            }
        },
    }


def flatten_drf_errors(detail: Any, path: str = "") -> list[Violation]:
    """DRF's nested ``serializer.errors`` as Wix field violations with dotted paths."""
    if isinstance(detail, dict):
        violations = []
        for key, value in detail.items():
            key_path = path if key == "non_field_errors" else (f"{path}.{key}" if path else key)
            violations.extend(flatten_drf_errors(value, key_path))
        return violations
    if isinstance(detail, list):
        if all(isinstance(item, drf.ErrorDetail | str) for item in detail):
            return [
                Violation(
                    field=path,
                    description=str(item),
                    violated_rule=rule_for_error_code(getattr(item, "code", None)),
                )
                for item in detail
            ]
        violations = []
        for index, item in enumerate(detail):
            violations.extend(flatten_drf_errors(item, f"{path}[{index}]"))
        return violations
    return [Violation(field=path, description=str(detail), violated_rule=RULE_FORMAT)]


def _drf_response(exc: drf.APIException) -> tuple[int, dict[str, Any]]:
    status = exc.status_code
    if isinstance(exc, drf.ValidationError):
        violations = flatten_drf_errors(exc.detail)
        if violations:
            return 400, validation_error(violations)
    message = exc.detail if isinstance(exc.detail, str) else str(exc.default_detail)
    return status, application_error(code_for_status(status), str(message))


# What Django raises while reading a request (body, query string, multipart, Host) before any
# inbox code sees it: each class answers with its own status and a fixed description (the
# exception's own text can name settings or paths). Checked in order, most specific first.
_REQUEST_PARSING_ERRORS: tuple[tuple[type[Exception], int, str], ...] = (
    (RequestDataTooBig, 413, "Request body is too large"),
    (TooManyFieldsSent, 400, "Too many query or form parameters"),
    (TooManyFilesSent, 400, "Too many files in the request"),
    (SuspiciousOperation, 400, "Malformed request"),
    (BadRequest, 400, "Malformed request"),
)


def request_parsing_error(exc: Exception) -> tuple[int, dict[str, Any]] | None:
    """The envelope for an error Django raised while parsing the request, or None."""
    for cls, status, message in _REQUEST_PARSING_ERRORS:
        if isinstance(exc, cls):
            logger.warning("inbox: refused request: %s: %s", type(exc).__name__, exc)
            return status, application_error(code_for_status(status), message)
    return None


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF exception handler of every inbox view."""
    headers: dict[str, str] = {}
    if isinstance(exc, DjangoPermissionDenied):
        exc = PermissionDenied()
    if isinstance(exc, ContentError):
        status, body = 400, validation_error(exc.violations)
    elif isinstance(exc, InboxError):
        status = exc.status_code
        body = application_error(exc.code, exc.message, exc.data)
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            headers["Retry-After"] = str(max(1, int(retry_after)))
    elif isinstance(exc, Http404):
        status, body = 404, application_error(code_for_status(404), _("Not found"))
    elif parsing_error := request_parsing_error(exc):
        status, body = parsing_error
    elif isinstance(exc, drf.APIException):
        status, body = _drf_response(exc)
        wait = getattr(exc, "wait", None)
        if isinstance(exc, drf.Throttled) and wait is not None:
            headers["Retry-After"] = str(max(1, int(wait + 0.999)))
        auth_header = getattr(exc, "auth_header", None)
        if auth_header:
            headers["WWW-Authenticate"] = auth_header
    elif isinstance(exc, OperationalError | InterfaceError):
        logger.warning("inbox: database unavailable: %s", exc)
        status, body = 503, {"message": str(_("Service temporarily unavailable")), "details": {}}
        headers["Retry-After"] = "1"
    elif isinstance(exc, DatabaseError):
        logger.exception("inbox: database error")
        status, body = 500, {"message": str(_("Internal error")), "details": {}}
    else:
        logger.exception("inbox: unhandled error")
        status, body = 500, {"message": str(_("Internal error")), "details": {}}
    set_rollback()
    return Response(body, status=status, headers=headers)


@csrf_exempt  # an unknown path answers 404 whatever the method, not Django's HTML CSRF page
def not_found_view(request: Any, *args: Any, **kwargs: Any) -> JsonResponse:
    """Unknown paths under the API prefix answer in the envelope, not Django's HTML 404."""
    return JsonResponse(application_error(code_for_status(404), "No such endpoint"), status=404)
