"""Request decoding: JSON bodies with a size cap, and GET parameters in Wix's three forms.

Wix's examples send snake_case keys and its SDK camelCase; both are turned into camelCase here,
so nothing past this module sees snake_case.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import re
from typing import Any

from django.http import QueryDict
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser

from inbox.conf import inbox_settings
from inbox.exceptions import RULE_FORMAT, ValidationFailed

_SNAKE = re.compile(r"_([a-z0-9])")


class PayloadTooLarge(APIException):
    status_code = 413
    default_detail = "Request body is too large"
    default_code = "PAYLOAD_TOO_LARGE"


def camel_key(key: str) -> str:
    return _SNAKE.sub(lambda match: match.group(1).upper(), key)


def camelize(value: Any) -> Any:
    """snake_case → camelCase for every dict key, recursively. Values are left alone."""
    if isinstance(value, dict):
        return {camel_key(str(key)): camelize(item) for key, item in value.items()}
    if isinstance(value, list):
        return [camelize(item) for item in value]
    return value


class WixJSONParser(JSONParser):
    """JSON object bodies only, at most ``INBOX["MAX_BODY_BYTES"]``, keys camelCased."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        limit = int(inbox_settings.MAX_BODY_BYTES)
        request = (parser_context or {}).get("request")
        if request is not None:
            refuse_oversized_body(request)
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise PayloadTooLarge(f"Request body is larger than {limit} bytes")
        if not raw.strip():
            return {}
        try:
            data = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise ParseError(f"Request body is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ParseError("Request body must be a JSON object")
        problem = storable_json_problem(data)
        if problem:
            raise ParseError(f"Request body {problem}")
        return camelize(data)


# Deeper JSON than any request shape needs; refused before recursive code walks it.
MAX_JSON_DEPTH = 32
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def storable_json_problem(data: Any) -> str | None:
    """Why parsed JSON cannot be accepted, or None: nesting past ``MAX_JSON_DEPTH``, or a string
    (value or key) holding NUL or a lone surrogate (``\\ud800`` escapes are valid JSON text but
    no database stores them: PostgreSQL refuses both, and UTF-8 cannot encode a surrogate)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if _UNSTORABLE.search(value):
                return "must not contain NUL characters or unpaired surrogates"
        elif isinstance(value, dict | list):
            if depth > MAX_JSON_DEPTH:
                return f"is nested deeper than {MAX_JSON_DEPTH} levels"
            if isinstance(value, dict):
                stack.extend((key, depth) for key in value)
                stack.extend((item, depth + 1) for item in value.values())
            else:
                stack.extend((item, depth + 1) for item in value)
    return None


def refuse_oversized_body(request: Any) -> None:
    """413 for a body whose declared length is over ``MAX_BODY_BYTES``, before anything reads it.

    DRF reads the whole body into memory (``request.body``) before a parser sees it, and Django
    refuses a body over its own ``DATA_UPLOAD_MAX_MEMORY_SIZE`` while reading it; checking the
    header first keeps our cap the one that answers, whichever of the two limits is larger."""
    declared = request.META.get("CONTENT_LENGTH")
    if not declared:
        return
    limit = int(inbox_settings.MAX_BODY_BYTES)
    try:
        too_big = int(declared) > limit
    except ValueError:
        raise ParseError("Malformed Content-Length header") from None
    if too_big:
        raise PayloadTooLarge(f"Request body is larger than {limit} bytes")


def adopt_unsized_body(request: Any) -> None:
    """Make a body sent without ``Content-Length`` (``Transfer-Encoding: chunked``) visible.

    DRF reads no body at all when the header is absent, so a chunked send would be parsed as
    ``{}``. The ASGI handler has already received the whole body; this reads at most
    ``MAX_BODY_BYTES + 1`` bytes of it and declares their length, so the parser then applies
    the size cap (413) exactly as for a sized body."""
    meta = request.META
    if meta.get("CONTENT_LENGTH") or request.method in ("GET", "HEAD", "OPTIONS"):
        return
    if getattr(request, "_read_started", True):
        return
    data = request.read(int(inbox_settings.MAX_BODY_BYTES) + 1)
    if data:
        request._stream = io.BytesIO(data)
        request._read_started = False
        meta["CONTENT_LENGTH"] = str(len(data))


def _decode_r(value: str) -> dict[str, Any]:
    padded = value + "=" * (-len(value) % 4)
    try:
        decoded = json.loads(
            base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8"),
            parse_constant=_refuse_constant,
        )
    except (binascii.Error, UnicodeError, ValueError, RecursionError):
        raise ValidationFailed.single(
            ".r", "must be base64url-encoded JSON of the request", RULE_FORMAT
        ) from None
    if not isinstance(decoded, dict):
        raise ValidationFailed.single(".r", "must encode a JSON object", RULE_FORMAT)
    problem = storable_json_problem(decoded)
    if problem:
        raise ValidationFailed.single(".r", problem, RULE_FORMAT)
    return decoded


def query_request(query: QueryDict) -> dict[str, Any]:
    """GET parameters as one nested, camelCased request dict.

    Accepts flat (``conversationId=…``), dotted (``paging.limit=10``) and Wix's SDK form
    (``.r=<base64url JSON of the whole request>``); they may be mixed, ``.r`` wins.
    """
    request: dict[str, Any] = {}
    for raw_key, value in query.items():
        if raw_key == ".r":
            continue
        parts = [camel_key(part) for part in raw_key.split(".") if part]
        if not parts:
            continue
        node = request
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[parts[-1]] = value
    if ".r" in query:
        decoded = camelize(_decode_r(str(query.get(".r", ""))))
        for key, value in decoded.items():
            if isinstance(value, dict) and isinstance(request.get(key), dict):
                request[key] = {**request[key], **value}
            else:
                request[key] = value
    return request
