"""Message content: the table of Wix Inbox v2 content types, and validation and normalisation.

``CONTENT_TYPES`` holds one entry per content type (``basic`` … ``system``): its payload key on
the wire, its ``contentType`` value (also ``Message.ContentType``, which is built from it), its
validator and its preview-text rule. Adding a content type is adding an entry (then its model
migration and its renderer in the browser code).

Pure functions, no Django. Input is parsed JSON whose keys are already camelCase; output is the
exact Wix ``content`` JSON that is stored and returned, plus the preview text. Every problem is
collected (in document order) and raised at once as a :class:`~inbox.exceptions.ContentError`
carrying Wix-style field violations; no other exception escapes, whatever the input.

JSON ``null`` for a field means "not set" (as in proto3 JSON, which Wix's API speaks); ``null``
inside a list is a FORMAT violation.
"""

from __future__ import annotations

import copy
import re
import unicodedata
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Final, cast
from urllib.parse import urlsplit

from inbox.exceptions import (
    RULE_ENUM,
    RULE_FORMAT,
    RULE_MAX_LENGTH,
    RULE_MAX_SIZE,
    RULE_MIN_LENGTH,
    RULE_MIN_SIZE,
    RULE_NOT_ALLOWED,
    RULE_ONE_OF,
    RULE_REQUIRED,
    RULE_REQUIRED_ONE_OF,
    ContentError,
    Violation,
)

__all__ = [
    "CONTENT_TYPES",
    "CONTENT_TYPE_BY_KEY",
    "MAX_PREVIEW_TEXT_LENGTH",
    "ContentTypeSpec",
    "NormalizedContent",
    "derive_preview_text",
    "is_web_url",
    "normalize_badges",
    "normalize_channel_fields",
    "normalize_content",
]

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
class NormalizedContent:
    """Validated content: its ``ContentType``, the Wix ``content`` JSON, and its preview text."""

    content_type: str
    content: dict[str, object]
    preview_text: str


class _Checker:
    """Collects violations while walking the input; each check returns ``None`` on failure.

    ``app_id`` is written into every button's ``postbackProperties.appId``.
    """

    def __init__(self, app_id: str | None = None) -> None:
        self.violations: list[Violation] = []
        self.app_id = app_id

    def add(self, field: str, description: str, rule: str) -> None:
        self.violations.append(Violation(field=field, description=description, violated_rule=rule))

    def required(self, field: str) -> None:
        self.add(field, "is required", RULE_REQUIRED)

    def exactly_one(self, path: str, present: int, names: Collection[str]) -> None:
        """A oneof: ``present`` of ``names`` are set, and exactly one must be."""
        if not present:
            self.add(path, f"must contain one of {', '.join(names)}", RULE_REQUIRED_ONE_OF)
        elif present > 1:
            self.add(path, f"must contain exactly one of {', '.join(names)}", RULE_ONE_OF)

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


# --- the checks a field's value gets --------------------------------------------------------------

# Checks one value at a path: the normalised value, or None once the violation is recorded.
_Check = Callable[[_Checker, object, str], object]


def _string(*, max_len: int, min_len: int = 0) -> _Check:
    return lambda ck, value, path: ck.string(value, path, min_len=min_len, max_len=max_len)


def _web_url(*, max_len: int) -> _Check:
    return lambda ck, value, path: ck.web_url(value, path, max_len=max_len)


def _integer(*, low: int, high: int) -> _Check:
    return lambda ck, value, path: ck.integer(value, path, low=low, high=high)


def _enum(
    allowed: Collection[str], *, unknown: str | None = None, default: str | None = None
) -> _Check:
    return lambda ck, value, path: ck.enum(value, path, allowed, unknown=unknown, default=default)


def _optional(check: _Check) -> _Check:
    """An optional value: the empty string means "not set" (proto3), anything else is checked."""
    return lambda ck, value, path: None if value == "" else check(ck, value, path)


def _list_of(item: _Check, *, max_size: int, min_size: int = 0) -> _Check:
    """A list whose every item is checked, even when the list has the wrong size."""

    def check(ck: _Checker, value: object, path: str) -> list[object]:
        items = ck.array(value, path, min_size=min_size, max_size=max_size) or []
        return [item(ck, entry, f"{path}[{index}]") for index, entry in enumerate(items)]

    return check


def _object(
    ck: _Checker,
    raw: object,
    path: str,
    fields: Mapping[str, _Check],
    *,
    dropped: Collection[str] = (),
    required: Collection[str] = (),
    defaults: Mapping[str, object] | None = None,
) -> tuple[dict[object, object], dict[str, object]] | None:
    """Check one JSON object of the schema: each known field in input order (unknown keys are
    violations, ``dropped`` read-only keys are skipped), then the ``required`` ones not set.

    Returns the input object and the checked values (over ``defaults``) in ``fields``' order, or
    ``None`` when ``raw`` is not an object.
    """
    obj = ck.mapping(raw, path)
    if obj is None:
        return None
    # Copies, not the shared defaults: the output is the caller's to keep and change.
    out = {name: copy.copy(value) for name, value in (defaults or {}).items()}
    for name, value, sub in ck.fields(obj, path, fields, dropped):
        result = fields[name](ck, value, sub)
        if result is not None:
            out[name] = result
    for name in required:
        if not _is_set(obj, name):
            ck.required(f"{path}.{name}")
    return obj, {name: out[name] for name in fields if name in out}


def _record(
    fields: Mapping[str, _Check],
    *,
    dropped: Collection[str] = (),
    required: Collection[str] = (),
    defaults: Mapping[str, object] | None = None,
) -> _Check:
    """The check of an object with no rule across its fields."""

    def check(ck: _Checker, raw: object, path: str) -> dict[str, object] | None:
        checked = _object(
            ck, raw, path, fields, dropped=dropped, required=required, defaults=defaults
        )
        return None if checked is None else checked[1]

    return check


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


_OPTIONAL_URL = _optional(_web_url(max_len=_MAX_URL))


# --- media (basic items, form media) -----------------------------------------------------------

# Read-only: recomputed on read (``thumbnailUrl``, our extension, only on uploaded images).
_MEDIA_DROPPED = ("urlExpiration", "fileSize", "thumbnailUrl")
_MEDIA_ID = _string(max_len=_MAX_MEDIA_ID)
_MEDIA_URL = _web_url(max_len=_MAX_URL)
_FILENAME = _string(max_len=_MAX_FILENAME)
_DIMENSION = _integer(low=0, high=_MAX_INT32)
_IMAGE_FIELDS = {
    "id": _MEDIA_ID,
    "url": _MEDIA_URL,
    "filename": _FILENAME,
    "width": _DIMENSION,
    "height": _DIMENSION,
}
_FILE_FIELDS = {
    "id": _MEDIA_ID,
    "url": _MEDIA_URL,
    "filename": _FILENAME,
    "mimeType": _string(max_len=_MAX_MIME_TYPE),
}
_IMAGE = _record(_IMAGE_FIELDS, dropped=_MEDIA_DROPPED, required=("url",))
_FILE = _record(_FILE_FIELDS, dropped=_MEDIA_DROPPED, required=("url",))


def _linked_or_uploaded(fields: Mapping[str, _Check]) -> _Check:
    """The image or file of a basic item: linked (``url``), or uploaded here (the ``id`` of an
    attachment and no ``url``; the send checks the attachment and fills in the rest)."""

    def check(ck: _Checker, raw: object, path: str) -> dict[str, object] | None:
        checked = _object(ck, raw, path, fields, dropped=_MEDIA_DROPPED)
        if checked is None:
            return None
        obj, out = checked
        if not _is_set(obj, "url") and not _is_filled(obj, "id"):
            ck.required(f"{path}.url")
        return out

    return check


def _media_item(options: Mapping[str, _Check]) -> _Check:
    """A oneof of ``text`` (basic items only), ``image`` and ``file``."""

    def check(ck: _Checker, raw: object, path: str) -> dict[str, object] | None:
        checked = _object(ck, raw, path, options)
        if checked is None:
            return None
        obj, out = checked
        ck.exactly_one(path, sum(_is_set(obj, name) for name in options), options)
        return out

    return check


# --- buttons -----------------------------------------------------------------------------------

_POSTBACK_FIELDS = {"interactionId": _string(min_len=1, max_len=_MAX_INTERACTION_ID)}


def _postback(ck: _Checker, raw: object, path: str) -> dict[str, object] | None:
    checked = _object(
        ck, raw, path, _POSTBACK_FIELDS, dropped=("appId",), required=("interactionId",)
    )
    if checked is None:
        return None
    out = checked[1]
    if ck.app_id is not None:
        out["appId"] = ck.app_id
    return out


_BUTTON_FIELDS = {
    "label": _string(min_len=1, max_len=_MAX_TEXT),
    "launchUrl": _optional(_web_url(max_len=_MAX_LAUNCH_URL)),
    "postbackProperties": _postback,
}


def _button(ck: _Checker, raw: object, path: str) -> dict[str, object] | None:
    checked = _object(ck, raw, path, _BUTTON_FIELDS, required=("label",))
    if checked is None:
        return None
    obj, out = checked
    present = _is_filled(obj, "launchUrl") + _is_set(obj, "postbackProperties")
    ck.exactly_one(path, present, ("launchUrl", "postbackProperties"))
    return out


_BUTTONS = _list_of(_button, max_size=_MAX_BUTTONS)


# --- payloads ----------------------------------------------------------------------------------

_BASIC_ITEM = _media_item(
    {
        "text": _string(min_len=1, max_len=_MAX_TEXT),
        "image": _linked_or_uploaded(_IMAGE_FIELDS),
        "file": _linked_or_uploaded(_FILE_FIELDS),
    }
)
_basic = _record(
    {"items": _list_of(_BASIC_ITEM, min_size=1, max_size=_MAX_BASIC_ITEMS)}, required=("items",)
)

_TEMPLATE_FIELDS = {
    "title": _string(max_len=_MAX_TITLE),
    "textLines": _list_of(_string(min_len=1, max_len=_MAX_TEXT_LINE), max_size=_MAX_TEXT_LINES),
    "imageUrl": _OPTIONAL_URL,
    "buttons": _BUTTONS,
    "orientation": _enum(_ORIENTATIONS, unknown="UNKNOWN_ORIENTATION", default="PORTRAIT"),
}
_TEMPLATE_DEFAULTS = {"textLines": [], "buttons": [], "orientation": "PORTRAIT"}


def _template(ck: _Checker, raw: object, path: str) -> dict[str, object] | None:
    checked = _object(
        ck, raw, path, _TEMPLATE_FIELDS, dropped=("icon",), defaults=_TEMPLATE_DEFAULTS
    )
    if checked is None:
        return None
    obj, out = checked
    if not any(_is_filled(obj, name) for name in ("title", "textLines", "imageUrl")):
        ck.add(path, "must have a title, text lines or an image", RULE_REQUIRED)
    return out


_minimal = _record(
    {"text": _string(min_len=1, max_len=_MAX_TEXT), "iconUrl": _OPTIONAL_URL, "url": _OPTIONAL_URL},
    dropped=("icon",),
    required=("text",),
)

_FORM_FIELD = _record(
    {
        "name": _string(min_len=1, max_len=_MAX_FORM_FIELD_TEXT),
        "value": _string(max_len=_MAX_FORM_FIELD_TEXT),
    },
    required=("name",),
    defaults={"value": ""},
)
_form = _record(
    {
        "title": _string(min_len=1, max_len=_MAX_TITLE),
        # Optional: an empty description means "not set" (proto3), as for optional URLs.
        "description": _optional(_string(min_len=1, max_len=_MAX_TEXT)),
        "fields": _list_of(_FORM_FIELD, min_size=1, max_size=_MAX_FORM_FIELDS),
        "media": _list_of(_media_item({"image": _IMAGE, "file": _FILE}), max_size=_MAX_FORM_MEDIA),
    },
    required=("title", "fields"),
    defaults={"fields": [], "media": []},
)

_SYSTEM_FIELDS = {
    "text": _string(max_len=_MAX_TEXT),
    "imageUrl": _OPTIONAL_URL,
    "buttons": _BUTTONS,
}


def _system(ck: _Checker, raw: object, path: str) -> dict[str, object] | None:
    checked = _object(ck, raw, path, _SYSTEM_FIELDS, defaults={"buttons": []})
    if checked is None:
        return None
    obj, out = checked
    if not any(_is_filled(obj, name) for name in ("text", "imageUrl")):
        ck.add(path, "must have a text or an image", RULE_REQUIRED)
    return out


# --- preview rules: the texts a payload's preview is taken from, first non-blank wins ----------


def _str_field(obj: object, key: str) -> str:
    value = obj.get(key) if isinstance(obj, dict) else None
    return value if isinstance(value, str) else ""


def _list_field(obj: Mapping[str, object], key: str) -> list[object]:
    value = obj.get(key)
    return value if isinstance(value, list) else []


def _media_label(item: object) -> str:
    if not isinstance(item, dict):
        return ""
    if isinstance(item.get("image"), dict):
        return _str_field(item["image"], "filename") or "Image"
    if isinstance(item.get("file"), dict):
        filename = _str_field(item["file"], "filename")
        return f"File: {filename}" if filename else "File"
    return ""


def _basic_preview(payload: Mapping[str, object]) -> list[str]:
    items = _list_field(payload, "items")
    return [_str_field(item, "text") for item in items] + [_media_label(item) for item in items]


def _template_preview(payload: Mapping[str, object]) -> list[str]:
    lines = [line for line in _list_field(payload, "textLines") if isinstance(line, str)]
    return [_str_field(payload, "title"), *lines, "Card"]


def _text_preview(payload: Mapping[str, object]) -> list[str]:
    return [_str_field(payload, "text")]


def _title_preview(payload: Mapping[str, object]) -> list[str]:
    return [_str_field(payload, "title")]


# --- the table of content types ----------------------------------------------------------------


@dataclass(frozen=True)
class ContentTypeSpec:
    """One Wix content type: everything the server knows about it."""

    key: str
    """Its payload's key in ``content`` (``basic``)."""
    value: str
    """``content.contentType`` on the wire and the ``Message.ContentType`` choice (``BASIC``)."""
    label: str
    """The model choice's label."""
    validate: _Check
    """Checks and normalises its payload."""
    preview: Callable[[Mapping[str, object]], list[str]]
    """The texts its preview is taken from when the sender gives none."""
    api_sendable: bool = True
    """False: reserved to the server itself, refused from API callers."""


CONTENT_TYPES: Final = (
    ContentTypeSpec("basic", "BASIC", "Basic", _basic, _basic_preview),
    ContentTypeSpec("template", "TEMPLATE", "Template", _template, _template_preview),
    ContentTypeSpec("minimal", "MINIMAL", "Minimal", _minimal, _text_preview),
    ContentTypeSpec("form", "FORM", "Form", _form, _title_preview),
    ContentTypeSpec("system", "SYSTEM", "System", _system, _text_preview, api_sendable=False),
)
CONTENT_TYPE_BY_KEY: Final[Mapping[str, ContentTypeSpec]] = {
    spec.key: spec for spec in CONTENT_TYPES
}


# --- content -----------------------------------------------------------------------------------


def _refused(key: str) -> _Check:
    def check(ck: _Checker, value: object, path: str) -> None:
        ck.add(path, f"{key} messages cannot be sent through the API", RULE_NOT_ALLOWED)

    return check


def _content_fields(*, allow_system: bool) -> dict[str, _Check]:
    fields = {
        "previewText": _string(max_len=MAX_PREVIEW_TEXT_LENGTH),
        "title": _string(max_len=_MAX_TITLE),
    }
    for spec in CONTENT_TYPES:
        sendable = allow_system or spec.api_sendable
        fields[spec.key] = spec.validate if sendable else _refused(spec.key)
    return fields


_CONTENT_FIELDS = {allow: _content_fields(allow_system=allow) for allow in (False, True)}


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
    Raises :class:`~inbox.exceptions.ContentError` with every violation found.
    """
    ck = _Checker(app_id)
    if raw is None:
        ck.required(path)
        raise ContentError(ck.violations)
    checked = _object(ck, raw, path, _CONTENT_FIELDS[allow_system], dropped=("contentType",))
    if checked is None:
        raise ContentError(ck.violations)
    obj, out = checked

    present = [spec for spec in CONTENT_TYPES if _is_set(obj, spec.key)]
    sendable = [spec.key for spec in CONTENT_TYPES if allow_system or spec.api_sendable]
    ck.exactly_one(path, len(present), sendable)
    ck.raise_if_any()
    spec = present[0]
    payload = out.get(spec.key)
    if not isinstance(payload, dict):
        raise AssertionError("unreachable: one valid payload was checked")

    preview_given = out.get("previewText")
    if isinstance(preview_given, str) and preview_given.strip():
        preview_text = preview_given
    else:
        preview_text = derive_preview_text(spec.value, payload)
    content: dict[str, object] = {"previewText": preview_text}
    if "title" in out:
        content["title"] = out["title"]
    content[spec.key] = payload
    content["contentType"] = spec.value
    return NormalizedContent(content_type=spec.value, content=content, preview_text=preview_text)


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _truncate(text: str) -> str:
    if len(text) <= MAX_PREVIEW_TEXT_LENGTH:
        return text
    return text[: MAX_PREVIEW_TEXT_LENGTH - 1].rstrip() + "…"


def derive_preview_text(content_type: str, payload: dict[str, object]) -> str:
    """The conversation-list summary of a payload, when the sender gave no ``previewText``.

    ``content_type`` is ``BASIC`` … ``SYSTEM`` (payload keys are accepted too). The result has its
    whitespace collapsed and is at most 256 characters, ending with "…" when cut.
    """
    if not isinstance(payload, dict):
        return ""
    spec = CONTENT_TYPE_BY_KEY.get(content_type.lower())
    for candidate in spec.preview(payload) if spec else ():
        collapsed = _collapse(candidate)
        if collapsed:
            return _truncate(collapsed)
    return ""


# --- badges and channels -----------------------------------------------------------------------

_BADGES = _list_of(
    _record(
        {
            "text": _string(max_len=_MAX_BADGE_TEXT),
            "iconUrl": _OPTIONAL_URL,
            "badgeVisibility": _enum(
                _BADGE_VISIBILITIES,
                unknown="UNKNOWN_BADGE_VISIBILITY",
                default="BUSINESS_AND_PARTICIPANT",
            ),
        },
        dropped=("icon",),
        defaults={"badgeVisibility": "BUSINESS_AND_PARTICIPANT"},
    ),
    max_size=_MAX_BADGES,
)


def normalize_badges(raw: object, *, path: str = "message.badges") -> list[dict[str, object]]:
    """Validate ``message.badges`` (absent or ``None`` → ``[]``); raises ``ContentError``."""
    ck = _Checker()
    badges = [] if raw is None else _BADGES(ck, raw, path)
    ck.raise_if_any()
    # Every badge checked out, so each is a dict.
    return cast(list[dict[str, object]], badges)


# The channel fields of a message, checked in this order; other keys of the message are ignored.
_CHANNEL_FIELDS: Mapping[str, _Check] = {
    "targetChannels": _list_of(_enum(_CHANNEL_TYPES), max_size=_MAX_TARGET_CHANNELS),
    "sourceChannel": _enum((_UNKNOWN_CHANNEL, *_CHANNEL_TYPES)),
    "targetChannelIds": _list_of(
        _string(min_len=1, max_len=_MAX_CHANNEL_ID), max_size=_MAX_CHANNEL_IDS
    ),
    "sourceChannelId": _optional(_string(max_len=_MAX_CHANNEL_ID)),
}


def normalize_channel_fields(
    raw_message: dict[str, object], *, path: str = "message"
) -> dict[str, object]:
    """Validate the channel fields of a message; other keys of ``raw_message`` are ignored.

    Returns ``{"targetChannels": [...], "sourceChannel": str, "targetChannelIds": [...],
    "sourceChannelId": str | None}``; raises ``ContentError``.
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
    for name, check in _CHANNEL_FIELDS.items():
        value = message.get(name)
        if value is not None:
            result[name] = check(ck, value, f"{path}.{name}")
    ck.raise_if_any()
    return result
