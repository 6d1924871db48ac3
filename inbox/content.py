"""Message content schema: validation and normalisation of Wix Inbox v2 message content.

Pure functions, no Django. Input is parsed JSON whose keys are already camelCase; output is the
exact Wix ``content`` JSON that is stored and returned, plus the preview text. Every problem is
collected (in document order) and raised at once as a :class:`ContentError` carrying Wix-style
field violations; no other exception escapes, whatever the input.

JSON ``null`` for a field means "not set" (as in proto3 JSON, which Wix's API speaks); ``null``
inside a list is a FORMAT violation.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

__all__ = [
    "CONTENT_TYPES",
    "CONTENT_TYPE_BY_KEY",
    "MAX_PREVIEW_TEXT_LENGTH",
    "RULE_ENUM",
    "RULE_FORMAT",
    "RULE_MAX_LENGTH",
    "RULE_MAX_SIZE",
    "RULE_MIN_LENGTH",
    "RULE_MIN_SIZE",
    "RULE_NOT_ALLOWED",
    "RULE_ONE_OF",
    "RULE_REQUIRED",
    "RULE_REQUIRED_ONE_OF",
    "ContentError",
    "NormalizedContent",
    "Violation",
    "derive_preview_text",
    "is_web_url",
    "normalize_badges",
    "normalize_channel_fields",
    "normalize_content",
]

RULE_REQUIRED: Final = "REQUIRED_FIELD"
RULE_MAX_LENGTH: Final = "MAX_LENGTH"
RULE_MIN_LENGTH: Final = "MIN_LENGTH"
RULE_MAX_SIZE: Final = "MAX_SIZE"
RULE_MIN_SIZE: Final = "MIN_SIZE"
RULE_FORMAT: Final = "FORMAT"
RULE_ENUM: Final = "INVALID_ENUM_VALUE"
RULE_NOT_ALLOWED: Final = "FIELD_NOT_ALLOWED"
RULE_ONE_OF: Final = "ONE_OF_ALIGNMENT"
RULE_REQUIRED_ONE_OF: Final = "REQUIRED_ONE_OF_FIELD"

CONTENT_TYPES: Final = ("basic", "template", "minimal", "form", "system")
CONTENT_TYPE_BY_KEY: Final[Mapping[str, str]] = {key: key.upper() for key in CONTENT_TYPES}

MAX_PREVIEW_TEXT_LENGTH: Final = 256
_MAX_TEXT = 16384
_MAX_URL = 2000
_MAX_MEDIA_ID = 2000
_MAX_FILENAME = 255
_MAX_MIME_TYPE = 100
_MAX_INT32 = 2_147_483_647
_MAX_TITLE = 256
_MAX_BASIC_ITEMS = 100
_MAX_TEXT_LINES = 10
_MAX_TEXT_LINE = 512
_MAX_BUTTONS = 10
_MAX_LAUNCH_URL = 16384
_MAX_INTERACTION_ID = 256
_MAX_FORM_FIELDS = 15
_MAX_FORM_FIELD_TEXT = 8192
_MAX_FORM_MEDIA = 15
_MAX_BADGES = 1
_MAX_BADGE_TEXT = 256
_MAX_TARGET_CHANNELS = 1
_MAX_CHANNEL_IDS = 100
_MAX_CHANNEL_ID = 100

_ORIENTATIONS = ("PORTRAIT", "LANDSCAPE")
_BADGE_VISIBILITIES = ("BUSINESS_AND_PARTICIPANT", "BUSINESS")
_CHANNEL_TYPES = ("CHAT", "EMAIL", "SMS", "FACEBOOK", "INSTAGRAM", "WHATSAPP")
_UNKNOWN_CHANNEL = "UNKNOWN_CHANNEL_TYPE"

_URL_DESCRIPTION = "must be an absolute http(s) URL"
_WEB_URL_PREFIX = re.compile(r"https?://", re.IGNORECASE)
# Unicode categories never allowed raw in a URL: controls, format characters (zero-width and
# bidi overrides, used for spoofing), lone surrogates and separators.
_FORBIDDEN_URL_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zs", "Zl", "Zp"})
_FORBIDDEN_HOST_CHARS = frozenset("<>\"'`{}|^%")


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


@dataclass(frozen=True)
class NormalizedContent:
    """Validated content: its ``ContentType``, the Wix ``content`` JSON, and its preview text."""

    content_type: str
    content: dict[str, object]
    preview_text: str


class _Checker:
    """Collects violations while walking the input; each check returns ``None`` on failure."""

    def __init__(self) -> None:
        self.violations: list[Violation] = []

    def add(self, field: str, description: str, rule: str) -> None:
        self.violations.append(Violation(field=field, description=description, violated_rule=rule))

    def required(self, field: str) -> None:
        self.add(field, "is required", RULE_REQUIRED)

    def raise_if_any(self) -> None:
        if self.violations:
            raise ContentError(self.violations)

    def fields(
        self,
        obj: Mapping[object, object],
        path: str,
        known: Collection[str],
        dropped: Collection[str] = (),
    ) -> Iterator[tuple[str, object, str]]:
        """Yield ``(name, value, path)`` for the known, non-null keys, in input order.

        Unknown keys are reported as they are met, so violations stay in document order; known
        read-only keys (``dropped``) are skipped silently.
        """
        for key, value in obj.items():
            name = key if isinstance(key, str) else str(key)
            sub = f"{path}.{name}"
            if not isinstance(key, str) or (name not in known and name not in dropped):
                self.add(sub, "is not a known field", RULE_NOT_ALLOWED)
            elif name in known and value is not None:
                yield name, value, sub

    def mapping(self, value: object, path: str) -> dict[object, object] | None:
        if isinstance(value, dict):
            return value
        self.add(path, "must be an object", RULE_FORMAT)
        return None

    def array(
        self, value: object, path: str, *, min_size: int = 0, max_size: int
    ) -> list[object] | None:
        """Check type and size. A list of the wrong size is still returned, to check its items."""
        if not isinstance(value, list):
            self.add(path, "must be a list", RULE_FORMAT)
            return None
        if len(value) < min_size:
            self.add(path, f"must have at least {_plural(min_size, 'item')}", RULE_MIN_SIZE)
        elif len(value) > max_size:
            self.add(path, f"must have at most {_plural(max_size, 'item')}", RULE_MAX_SIZE)
        return value

    def string(self, value: object, path: str, *, min_len: int = 0, max_len: int) -> str | None:
        if not isinstance(value, str):
            self.add(path, "must be a string", RULE_FORMAT)
            return None
        if len(value) < min_len:
            self.add(path, f"must be at least {_plural(min_len, 'character')}", RULE_MIN_LENGTH)
            return None
        if len(value) > max_len:
            self.add(path, f"must be at most {_plural(max_len, 'character')}", RULE_MAX_LENGTH)
            return None
        return value

    def web_url(self, value: object, path: str, *, max_len: int) -> str | None:
        url = self.string(value, path, max_len=max_len)
        if url is None:
            return None
        if not is_web_url(url):
            self.add(path, _URL_DESCRIPTION, RULE_FORMAT)
            return None
        return url

    def integer(self, value: object, path: str, *, low: int, high: int) -> int | None:
        number: int | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, float) and value.is_integer():
            number = int(value)
        if number is None or not low <= number <= high:
            self.add(path, f"must be an integer between {low} and {high}", RULE_FORMAT)
            return None
        return number

    def enum(
        self,
        value: object,
        path: str,
        allowed: Collection[str],
        *,
        unknown: str | None = None,
        default: str | None = None,
    ) -> str | None:
        """Check an enum value; its ``unknown`` (``UNKNOWN_*``) value is read as ``default``."""
        if not isinstance(value, str):
            self.add(path, "must be a string", RULE_FORMAT)
            return None
        if default is not None and value == unknown:
            return default
        if value not in allowed:
            self.add(path, f"must be one of {', '.join(allowed)}", RULE_ENUM)
            return None
        return value


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _is_set(obj: Mapping[object, object], key: str) -> bool:
    return obj.get(key) is not None


def _is_filled(obj: Mapping[object, object], key: str) -> bool:
    """Set to something other than an empty string or an empty list."""
    value = obj.get(key)
    return value is not None and value != "" and value != []


def _ordered(values: Mapping[str, object], order: Collection[str]) -> dict[str, object]:
    return {key: values[key] for key in order if key in values}


def _oneof_names(names: Collection[str]) -> str:
    return ", ".join(names)


# --- URLs --------------------------------------------------------------------------------------


def is_web_url(value: str) -> bool:
    """Whether ``value`` is an absolute ``http://`` or ``https://`` URL with a host.

    Refuses other schemes (``javascript:``, ``data:``, ``vbscript:`` …), relative and
    scheme-relative URLs, and any whitespace, control, format character or backslash.
    """
    if not isinstance(value, str) or not _WEB_URL_PREFIX.match(value):
        return False
    for char in value:
        if char == "\\" or unicodedata.category(char) in _FORBIDDEN_URL_CATEGORIES:
            return False
    try:
        parts = urlsplit(value)
        host, _port = parts.hostname, parts.port  # .port raises ValueError when malformed
    except ValueError:
        return False
    if not host:
        return False
    return not any(char in _FORBIDDEN_HOST_CHARS for char in host)


def _optional_url(ck: _Checker, value: object, path: str, *, max_len: int) -> str | None:
    """An optional URL: the empty string means "not set" (proto3), anything else is checked."""
    if value == "":
        return None
    return ck.web_url(value, path, max_len=max_len)


# --- media (basic items, form media) -----------------------------------------------------------

_IMAGE_FIELDS = ("id", "url", "filename", "width", "height")
_FILE_FIELDS = ("id", "url", "filename", "mimeType")
_MEDIA_DROPPED = ("urlExpiration", "fileSize")
_MEDIA_STRING_LIMITS = {"id": _MAX_MEDIA_ID, "filename": _MAX_FILENAME, "mimeType": _MAX_MIME_TYPE}


def _media(ck: _Checker, raw: object, path: str, kind: str) -> dict[str, object] | None:
    obj = ck.mapping(raw, path)
    if obj is None:
        return None
    known = _IMAGE_FIELDS if kind == "image" else _FILE_FIELDS
    out: dict[str, object] = {}
    for name, value, sub in ck.fields(obj, path, known, _MEDIA_DROPPED):
        result: object
        if name == "url":
            result = ck.web_url(value, sub, max_len=_MAX_URL)
        elif name in ("width", "height"):
            result = ck.integer(value, sub, low=0, high=_MAX_INT32)
        else:
            result = ck.string(value, sub, max_len=_MEDIA_STRING_LIMITS[name])
        if result is not None:
            out[name] = result
    if not _is_set(obj, "url"):
        ck.required(f"{path}.url")
    return _ordered(out, known)


def _media_item(
    ck: _Checker, raw: object, path: str, options: tuple[str, ...]
) -> dict[str, object] | None:
    """A oneof of ``text`` (basic items only), ``image`` and ``file``."""
    obj = ck.mapping(raw, path)
    if obj is None:
        return None
    present = [name for name in options if _is_set(obj, name)]
    out: dict[str, object] = {}
    for name, value, sub in ck.fields(obj, path, options):
        result: object
        if name == "text":
            result = ck.string(value, sub, min_len=1, max_len=_MAX_TEXT)
        else:
            result = _media(ck, value, sub, name)
        if result is not None:
            out[name] = result
    if not present:
        ck.add(path, f"must contain one of {_oneof_names(options)}", RULE_REQUIRED_ONE_OF)
    elif len(present) > 1:
        ck.add(path, f"must contain exactly one of {_oneof_names(options)}", RULE_ONE_OF)
    return out


def _items(
    ck: _Checker,
    value: object,
    path: str,
    *,
    min_size: int,
    max_size: int,
    options: tuple[str, ...],
) -> list[object]:
    items = ck.array(value, path, min_size=min_size, max_size=max_size)
    if items is None:
        return []
    return [_media_item(ck, item, f"{path}[{index}]", options) for index, item in enumerate(items)]


# --- buttons -----------------------------------------------------------------------------------


def _postback(ck: _Checker, raw: object, path: str, app_id: str | None) -> dict[str, object] | None:
    obj = ck.mapping(raw, path)
    if obj is None:
        return None
    out: dict[str, object] = {}
    for _name, value, sub in ck.fields(obj, path, ("interactionId",), ("appId",)):
        interaction_id = ck.string(value, sub, min_len=1, max_len=_MAX_INTERACTION_ID)
        if interaction_id is not None:
            out["interactionId"] = interaction_id
    if not _is_set(obj, "interactionId"):
        ck.required(f"{path}.interactionId")
    if app_id is not None:
        out["appId"] = app_id
    return out


def _button(ck: _Checker, raw: object, path: str, app_id: str | None) -> dict[str, object] | None:
    obj = ck.mapping(raw, path)
    if obj is None:
        return None
    out: dict[str, object] = {}
    for name, value, sub in ck.fields(obj, path, ("label", "launchUrl", "postbackProperties")):
        result: object
        if name == "label":
            result = ck.string(value, sub, min_len=1, max_len=_MAX_TEXT)
        elif name == "launchUrl":
            result = _optional_url(ck, value, sub, max_len=_MAX_LAUNCH_URL)
        else:
            result = _postback(ck, value, sub, app_id)
        if result is not None:
            out[name] = result
    if not _is_set(obj, "label"):
        ck.required(f"{path}.label")
    has_launch_url = _is_filled(obj, "launchUrl")
    has_postback = _is_set(obj, "postbackProperties")
    if not has_launch_url and not has_postback:
        ck.add(path, "must contain one of launchUrl, postbackProperties", RULE_REQUIRED_ONE_OF)
    elif has_launch_url and has_postback:
        ck.add(path, "must contain exactly one of launchUrl, postbackProperties", RULE_ONE_OF)
    return _ordered(out, ("label", "launchUrl", "postbackProperties"))


def _buttons(ck: _Checker, value: object, path: str, app_id: str | None) -> list[object]:
    buttons = ck.array(value, path, max_size=_MAX_BUTTONS)
    if buttons is None:
        return []
    return [_button(ck, button, f"{path}[{index}]", app_id) for index, button in enumerate(buttons)]


# --- payloads ----------------------------------------------------------------------------------


def _basic(ck: _Checker, raw: object, path: str) -> dict[str, object] | None:
    obj = ck.mapping(raw, path)
    if obj is None:
        return None
    out: dict[str, object] = {}
    for _name, value, sub in ck.fields(obj, path, ("items",)):
        out["items"] = _items(
            ck,
            value,
            sub,
            min_size=1,
            max_size=_MAX_BASIC_ITEMS,
            options=("text", "image", "file"),
        )
    if not _is_set(obj, "items"):
        ck.required(f"{path}.items")
    return out


def _text_lines(ck: _Checker, value: object, path: str) -> list[object]:
    lines = ck.array(value, path, max_size=_MAX_TEXT_LINES)
    if lines is None:
        return []
    return [
        ck.string(line, f"{path}[{index}]", min_len=1, max_len=_MAX_TEXT_LINE)
        for index, line in enumerate(lines)
    ]


_TEMPLATE_FIELDS = ("title", "textLines", "imageUrl", "buttons", "orientation")


def _template(ck: _Checker, raw: object, path: str, app_id: str | None) -> dict[str, object] | None:
    obj = ck.mapping(raw, path)
    if obj is None:
        return None
    out: dict[str, object] = {"textLines": [], "buttons": [], "orientation": "PORTRAIT"}
    for name, value, sub in ck.fields(obj, path, _TEMPLATE_FIELDS, ("icon",)):
        result: object
        if name == "title":
            result = ck.string(value, sub, max_len=_MAX_TITLE)
        elif name == "textLines":
            result = _text_lines(ck, value, sub)
        elif name == "imageUrl":
            result = _optional_url(ck, value, sub, max_len=_MAX_URL)
        elif name == "buttons":
            result = _buttons(ck, value, sub, app_id)
        else:
            result = ck.enum(
                value, sub, _ORIENTATIONS, unknown="UNKNOWN_ORIENTATION", default="PORTRAIT"
            )
        if result is not None:
            out[name] = result
    if not any(_is_filled(obj, name) for name in ("title", "textLines", "imageUrl")):
        ck.add(path, "must have a title, text lines or an image", RULE_REQUIRED)
    return _ordered(out, _TEMPLATE_FIELDS)


_MINIMAL_FIELDS = ("text", "iconUrl", "url")


def _minimal(ck: _Checker, raw: object, path: str) -> dict[str, object] | None:
    obj = ck.mapping(raw, path)
    if obj is None:
        return None
    out: dict[str, object] = {}
    for name, value, sub in ck.fields(obj, path, _MINIMAL_FIELDS, ("icon",)):
        result: object
        if name == "text":
            result = ck.string(value, sub, min_len=1, max_len=_MAX_TEXT)
        else:
            result = _optional_url(ck, value, sub, max_len=_MAX_URL)
        if result is not None:
            out[name] = result
    if not _is_set(obj, "text"):
        ck.required(f"{path}.text")
    return _ordered(out, _MINIMAL_FIELDS)


def _form_field(ck: _Checker, raw: object, path: str) -> dict[str, object] | None:
    obj = ck.mapping(raw, path)
    if obj is None:
        return None
    out: dict[str, object] = {"value": ""}
    for name, value, sub in ck.fields(obj, path, ("name", "value")):
        min_len = 1 if name == "name" else 0
        result = ck.string(value, sub, min_len=min_len, max_len=_MAX_FORM_FIELD_TEXT)
        if result is not None:
            out[name] = result
    if not _is_set(obj, "name"):
        ck.required(f"{path}.name")
    return _ordered(out, ("name", "value"))


_FORM_FIELDS = ("title", "description", "fields", "media")


def _form(ck: _Checker, raw: object, path: str) -> dict[str, object] | None:
    obj = ck.mapping(raw, path)
    if obj is None:
        return None
    out: dict[str, object] = {"fields": [], "media": []}
    for name, value, sub in ck.fields(obj, path, _FORM_FIELDS):
        result: object
        if name == "title":
            result = ck.string(value, sub, min_len=1, max_len=_MAX_TITLE)
        elif name == "description":
            # Optional: an empty description means "not set" (proto3), as for optional URLs.
            result = None if value == "" else ck.string(value, sub, min_len=1, max_len=_MAX_TEXT)
        elif name == "fields":
            fields = ck.array(value, sub, min_size=1, max_size=_MAX_FORM_FIELDS) or []
            result = [_form_field(ck, item, f"{sub}[{index}]") for index, item in enumerate(fields)]
        else:
            result = _items(
                ck, value, sub, min_size=0, max_size=_MAX_FORM_MEDIA, options=("image", "file")
            )
        if result is not None:
            out[name] = result
    if not _is_set(obj, "title"):
        ck.required(f"{path}.title")
    if not _is_set(obj, "fields"):
        ck.required(f"{path}.fields")
    return _ordered(out, _FORM_FIELDS)


_SYSTEM_FIELDS = ("text", "imageUrl", "buttons")


def _system(ck: _Checker, raw: object, path: str, app_id: str | None) -> dict[str, object] | None:
    obj = ck.mapping(raw, path)
    if obj is None:
        return None
    out: dict[str, object] = {"buttons": []}
    for name, value, sub in ck.fields(obj, path, _SYSTEM_FIELDS):
        result: object
        if name == "text":
            result = ck.string(value, sub, max_len=_MAX_TEXT)
        elif name == "imageUrl":
            result = _optional_url(ck, value, sub, max_len=_MAX_URL)
        else:
            result = _buttons(ck, value, sub, app_id)
        if result is not None:
            out[name] = result
    if not any(_is_filled(obj, name) for name in ("text", "imageUrl")):
        ck.add(path, "must have a text or an image", RULE_REQUIRED)
    return _ordered(out, _SYSTEM_FIELDS)


_PAYLOADS = {"basic": _basic, "minimal": _minimal, "form": _form}
_PAYLOADS_WITH_BUTTONS = {"template": _template, "system": _system}


# --- content -----------------------------------------------------------------------------------


def normalize_content(
    raw: object,
    *,
    path: str = "message.content",
    app_id: str | None = None,
    allow_system: bool = False,
) -> NormalizedContent:
    """Validate a Wix ``MessageContent`` and return its normalised form.

    ``raw`` may be anything; ``None`` (content absent) is a REQUIRED_FIELD violation at ``path``.
    ``app_id`` is written into every button's ``postbackProperties.appId``. ``system`` payloads
    are refused unless ``allow_system`` (they are reserved to the server itself).
    Raises :class:`ContentError` with every violation found.
    """
    ck = _Checker()
    if raw is None:
        ck.required(path)
        raise ContentError(ck.violations)
    obj = ck.mapping(raw, path)
    if obj is None:
        raise ContentError(ck.violations)

    sendable = CONTENT_TYPES if allow_system else tuple(k for k in CONTENT_TYPES if k != "system")
    present = [key for key in CONTENT_TYPES if _is_set(obj, key)]
    preview_given: str | None = None
    title: str | None = None
    payload: dict[str, object] | None = None
    for name, value, sub in ck.fields(
        obj, path, ("previewText", "title", *CONTENT_TYPES), ("contentType",)
    ):
        if name == "previewText":
            preview_given = ck.string(value, sub, max_len=MAX_PREVIEW_TEXT_LENGTH)
        elif name == "title":
            title = ck.string(value, sub, max_len=_MAX_TITLE)
        elif name not in sendable:
            ck.add(sub, "system messages cannot be sent through the API", RULE_NOT_ALLOWED)
        elif name in _PAYLOADS_WITH_BUTTONS:
            payload = _PAYLOADS_WITH_BUTTONS[name](ck, value, sub, app_id)
        else:
            payload = _PAYLOADS[name](ck, value, sub)
    if not present:
        ck.add(path, f"must contain one of {_oneof_names(sendable)}", RULE_REQUIRED_ONE_OF)
    elif len(present) > 1:
        ck.add(path, f"must contain exactly one of {_oneof_names(sendable)}", RULE_ONE_OF)
    ck.raise_if_any()
    if payload is None:
        raise AssertionError("unreachable: one valid payload was checked")

    key = present[0]
    content_type = CONTENT_TYPE_BY_KEY[key]
    if preview_given is not None and preview_given.strip():
        preview_text = preview_given
    else:
        preview_text = derive_preview_text(content_type, payload)
    content: dict[str, object] = {"previewText": preview_text}
    if title is not None:
        content["title"] = title
    content[key] = payload
    content["contentType"] = content_type
    return NormalizedContent(content_type=content_type, content=content, preview_text=preview_text)


# --- preview text ------------------------------------------------------------------------------


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _truncate(text: str) -> str:
    if len(text) <= MAX_PREVIEW_TEXT_LENGTH:
        return text
    return text[: MAX_PREVIEW_TEXT_LENGTH - 1].rstrip() + "…"


def _str_field(obj: object, key: str) -> str:
    value = obj.get(key) if isinstance(obj, dict) else None
    return value if isinstance(value, str) else ""


def _media_label(item: object) -> str:
    if not isinstance(item, dict):
        return ""
    if isinstance(item.get("image"), dict):
        return _str_field(item["image"], "filename") or "Image"
    if isinstance(item.get("file"), dict):
        filename = _str_field(item["file"], "filename")
        return f"File: {filename}" if filename else "File"
    return ""


def _list_field(obj: Mapping[str, object], key: str) -> list[object]:
    value = obj.get(key)
    return value if isinstance(value, list) else []


def derive_preview_text(content_type: str, payload: dict[str, object]) -> str:
    """The conversation-list summary of a payload, when the sender gave no ``previewText``.

    ``content_type`` is ``BASIC`` … ``SYSTEM`` (payload keys are accepted too). The result has its
    whitespace collapsed and is at most 256 characters, ending with "…" when cut.
    """
    if not isinstance(payload, dict):
        return ""
    kind = content_type.lower()
    candidates: list[str] = []
    if kind == "basic":
        items = _list_field(payload, "items")
        candidates = [_str_field(item, "text") for item in items]
        candidates += [_media_label(item) for item in items]
    elif kind == "template":
        candidates = [_str_field(payload, "title")]
        candidates += [line for line in _list_field(payload, "textLines") if isinstance(line, str)]
        candidates.append("Card")
    elif kind in ("minimal", "system"):
        candidates = [_str_field(payload, "text")]
    elif kind == "form":
        candidates = [_str_field(payload, "title")]
    for candidate in candidates:
        collapsed = _collapse(candidate)
        if collapsed:
            return _truncate(collapsed)
    return ""


# --- badges and channels -----------------------------------------------------------------------


def normalize_badges(raw: object, *, path: str = "message.badges") -> list[dict[str, object]]:
    """Validate ``message.badges`` (absent or ``None`` → ``[]``); raises :class:`ContentError`."""
    ck = _Checker()
    badges: list[dict[str, object]] = []
    items = [] if raw is None else ck.array(raw, path, max_size=_MAX_BADGES) or []
    for index, item in enumerate(items):
        item_path = f"{path}[{index}]"
        obj = ck.mapping(item, item_path)
        if obj is None:
            continue
        out: dict[str, object] = {"badgeVisibility": "BUSINESS_AND_PARTICIPANT"}
        known = ("text", "iconUrl", "badgeVisibility")
        for name, value, sub in ck.fields(obj, item_path, known, ("icon",)):
            result: str | None
            if name == "text":
                result = ck.string(value, sub, max_len=_MAX_BADGE_TEXT)
            elif name == "iconUrl":
                result = _optional_url(ck, value, sub, max_len=_MAX_URL)
            else:
                result = ck.enum(
                    value,
                    sub,
                    _BADGE_VISIBILITIES,
                    unknown="UNKNOWN_BADGE_VISIBILITY",
                    default="BUSINESS_AND_PARTICIPANT",
                )
            if result is not None:
                out[name] = result
        badges.append(_ordered(out, known))
    ck.raise_if_any()
    return badges


def normalize_channel_fields(
    raw_message: dict[str, object], *, path: str = "message"
) -> dict[str, object]:
    """Validate the channel fields of a message; other keys of ``raw_message`` are ignored.

    Returns ``{"targetChannels": [...], "sourceChannel": str, "targetChannelIds": [...],
    "sourceChannelId": str | None}``; raises :class:`ContentError`.
    """
    ck = _Checker()
    result: dict[str, object] = {
        "targetChannels": [],
        "sourceChannel": _UNKNOWN_CHANNEL,
        "targetChannelIds": [],
        "sourceChannelId": None,
    }
    message = ck.mapping(raw_message, path)
    if message is None:
        raise ContentError(ck.violations)

    value = message.get("targetChannels")
    sub = f"{path}.targetChannels"
    if value is not None:
        channels = ck.array(value, sub, max_size=_MAX_TARGET_CHANNELS) or []
        result["targetChannels"] = [
            ck.enum(channel, f"{sub}[{index}]", _CHANNEL_TYPES)
            for index, channel in enumerate(channels)
        ]

    value = message.get("sourceChannel")
    if value is not None:
        sub = f"{path}.sourceChannel"
        result["sourceChannel"] = ck.enum(value, sub, (_UNKNOWN_CHANNEL, *_CHANNEL_TYPES))

    value = message.get("targetChannelIds")
    sub = f"{path}.targetChannelIds"
    if value is not None:
        ids = ck.array(value, sub, max_size=_MAX_CHANNEL_IDS) or []
        result["targetChannelIds"] = [
            ck.string(channel_id, f"{sub}[{index}]", min_len=1, max_len=_MAX_CHANNEL_ID)
            for index, channel_id in enumerate(ids)
        ]

    value = message.get("sourceChannelId")
    if value is not None and value != "":
        sub = f"{path}.sourceChannelId"
        result["sourceChannelId"] = ck.string(value, sub, max_len=_MAX_CHANNEL_ID)

    ck.raise_if_any()
    return result
