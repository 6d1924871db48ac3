"""Tests for ``inbox.content``: message-content validation and normalisation (pure, no DB)."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from inbox import exceptions as rules
from inbox.content import (
    CONTENT_TYPES,
    NormalizedContent,
    derive_preview_text,
    is_web_url,
    normalize_badges,
    normalize_channel_fields,
    normalize_content,
)
from inbox.exceptions import ContentError, Violation
from inbox.models import Message

P = "message.content"
URL_FORMAT = "must be an absolute http(s) URL"

Json = dict[str, Any]
Build = Callable[[Any], Json]


def url(length: int) -> str:
    base = "https://example.com/"
    return base + "a" * (length - len(base))


def errors(raw: object, **kwargs: Any) -> list[tuple[str, str]]:
    with pytest.raises(ContentError) as excinfo:
        normalize_content(raw, **kwargs)
    return [(v.field, v.violated_rule) for v in excinfo.value.violations]


def content_of(raw: object, **kwargs: Any) -> Any:
    """The normalised ``content`` JSON, typed loosely for indexing in assertions."""
    return normalize_content(raw, **kwargs).content


def only_violation(raw: object, **kwargs: Any) -> Violation:
    with pytest.raises(ContentError) as excinfo:
        normalize_content(raw, **kwargs)
    assert len(excinfo.value.violations) == 1, excinfo.value.violations
    return excinfo.value.violations[0]


IMAGE = {"url": "https://example.com/a.png"}
FILE = {"url": "https://example.com/a.pdf", "filename": "a.pdf"}
BUTTON = {"label": "Go", "launchUrl": "https://example.com/go"}
FORM_FIELD = {"name": "Email", "value": "a@example.com"}


def basic(*items: object) -> Json:
    return {"basic": {"items": list(items)}}


def text_item(text: str = "hello") -> Json:
    return {"text": text}


# --- happy paths and normalised output ---------------------------------------------------------


def test_basic_text_output() -> None:
    result = normalize_content(basic(text_item("Hello there")))
    assert result == NormalizedContent(
        content_type="BASIC",
        content={
            "previewText": "Hello there",
            "basic": {"items": [{"text": "Hello there"}]},
            "contentType": "BASIC",
        },
        preview_text="Hello there",
    )


def test_basic_media_output_drops_read_only_fields_and_coerces_integral_floats() -> None:
    raw = basic(
        {
            "image": {
                "height": 800.0,
                "url": "https://example.com/a.png",
                "id": "media-1",
                "width": 1200.0,
                "filename": "a.png",
                "urlExpiration": "2024-01-01T00:00:00.000Z",
                "fileSize": "1234",
            }
        },
        {
            "file": {
                "mimeType": "application/pdf",
                "url": "https://example.com/a.pdf",
                "filename": "a.pdf",
                "id": "media-2",
                "fileSize": "99",
                "urlExpiration": None,
            }
        },
    )
    image, file = content_of(raw)["basic"]["items"]
    assert image == {
        "image": {
            "id": "media-1",
            "url": "https://example.com/a.png",
            "filename": "a.png",
            "width": 1200,
            "height": 800,
        }
    }
    assert list(image["image"]) == ["id", "url", "filename", "width", "height"]
    assert type(image["image"]["width"]) is int
    assert file == {
        "file": {
            "id": "media-2",
            "url": "https://example.com/a.pdf",
            "filename": "a.pdf",
            "mimeType": "application/pdf",
        }
    }
    assert list(file["file"]) == ["id", "url", "filename", "mimeType"]


def test_template_output_with_defaults_and_app_id() -> None:
    raw = {
        "template": {
            "title": "Your order",
            "buttons": [
                {"label": "Track", "launchUrl": "https://example.com/track"},
                {"label": "Cancel", "postbackProperties": {"interactionId": "cancel-1"}},
            ],
            "icon": "internal",
        }
    }
    result = normalize_content(raw, app_id="app-123")
    assert result.content_type == "TEMPLATE"
    assert result.content == {
        "previewText": "Your order",
        "template": {
            "title": "Your order",
            "textLines": [],
            "buttons": [
                {"label": "Track", "launchUrl": "https://example.com/track"},
                {
                    "label": "Cancel",
                    "postbackProperties": {"interactionId": "cancel-1", "appId": "app-123"},
                },
            ],
            "orientation": "PORTRAIT",
        },
        "contentType": "TEMPLATE",
    }


def test_template_full_output() -> None:
    raw = {
        "template": {
            "orientation": "LANDSCAPE",
            "imageUrl": "https://example.com/card.png",
            "textLines": ["one", "two"],
            "title": "Card",
        }
    }
    template = content_of(raw)["template"]
    assert template == {
        "title": "Card",
        "textLines": ["one", "two"],
        "imageUrl": "https://example.com/card.png",
        "buttons": [],
        "orientation": "LANDSCAPE",
    }
    assert list(template) == ["title", "textLines", "imageUrl", "buttons", "orientation"]


def test_minimal_output_drops_icon() -> None:
    raw = {
        "minimal": {
            "url": "https://example.com/booking/1",
            "text": "Booked a spa appointment",
            "iconUrl": "https://example.com/spa.svg",
            "icon": "SPA",
        }
    }
    result = normalize_content(raw)
    assert result.content_type == "MINIMAL"
    assert result.content == {
        "previewText": "Booked a spa appointment",
        "minimal": {
            "text": "Booked a spa appointment",
            "iconUrl": "https://example.com/spa.svg",
            "url": "https://example.com/booking/1",
        },
        "contentType": "MINIMAL",
    }


def test_form_output() -> None:
    raw = {
        "form": {
            "fields": [{"name": "Email", "value": "a@example.com"}, {"name": "Comment"}],
            "media": [{"image": IMAGE}, {"file": FILE}],
            "description": "Sent from the contact page",
            "title": "Contact form",
        }
    }
    result = normalize_content(raw)
    assert result.content_type == "FORM"
    assert result.preview_text == "Contact form"
    assert result.content["form"] == {
        "title": "Contact form",
        "description": "Sent from the contact page",
        "fields": [{"name": "Email", "value": "a@example.com"}, {"name": "Comment", "value": ""}],
        "media": [{"image": IMAGE}, {"file": FILE}],
    }


def test_form_minimal_output_has_empty_media() -> None:
    raw = {"form": {"title": "T", "fields": [FORM_FIELD]}}
    assert normalize_content(raw).content["form"] == {
        "title": "T",
        "fields": [FORM_FIELD],
        "media": [],
    }


def test_system_allowed_output() -> None:
    raw = {
        "system": {
            "text": "Reply within 7 days\nor lose the thread",
            "buttons": [{"label": "Learn More", "launchUrl": "https://example.com/policy"}],
        }
    }
    result = normalize_content(raw, allow_system=True)
    assert result.content_type == "SYSTEM"
    assert result.preview_text == "Reply within 7 days or lose the thread"
    assert result.content["system"] == {
        "text": "Reply within 7 days\nor lose the thread",
        "buttons": [{"label": "Learn More", "launchUrl": "https://example.com/policy"}],
    }


def test_system_image_only_output() -> None:
    raw = {"system": {"imageUrl": "https://example.com/x.png"}}
    assert normalize_content(raw, allow_system=True).content["system"] == {
        "imageUrl": "https://example.com/x.png",
        "buttons": [],
    }


def test_content_key_order_and_title() -> None:
    raw = {
        "contentType": "FORM",
        "basic": {"items": [text_item()]},
        "title": "T",
        "previewText": "P",
    }
    content = normalize_content(raw).content
    assert list(content) == ["previewText", "title", "basic", "contentType"]
    assert content["title"] == "T"
    assert content["contentType"] == "BASIC"


def test_strings_are_stored_exactly_as_given() -> None:
    text = "  <script>alert('x')</script> &amp; \u00e9\n\t "
    raw = basic(text_item(text))
    raw["title"] = " <b>T</b> "
    content = normalize_content(raw).content
    assert content["basic"] == {"items": [{"text": text}]}
    assert content["title"] == " <b>T</b> "


def test_null_fields_mean_not_set() -> None:
    raw = {
        "previewText": None,
        "title": None,
        "basic": {"items": [{"text": "hi", "image": None, "file": None}]},
        "template": None,
        "contentType": None,
    }
    assert normalize_content(raw).content == {
        "previewText": "hi",
        "basic": {"items": [{"text": "hi"}]},
        "contentType": "BASIC",
    }


def test_empty_optional_urls_mean_not_set() -> None:
    raw = {
        "template": {
            "title": "T",
            "imageUrl": "",
            "buttons": [
                {"label": "B", "launchUrl": "", "postbackProperties": {"interactionId": "i"}}
            ],
        }
    }
    template = normalize_content(raw).content["template"]
    assert template == {
        "title": "T",
        "textLines": [],
        "buttons": [{"label": "B", "postbackProperties": {"interactionId": "i"}}],
        "orientation": "PORTRAIT",
    }


def test_empty_form_description_means_not_set() -> None:
    raw = {"form": {"title": "T", "description": "", "fields": [FORM_FIELD]}}
    assert "description" not in content_of(raw)["form"]


def test_input_is_not_mutated() -> None:
    raw = {
        "template": {
            "title": "T",
            "buttons": [{"label": "B", "postbackProperties": {"interactionId": "i", "appId": "x"}}],
        }
    }
    before = copy.deepcopy(raw)
    normalize_content(raw, app_id="app")
    assert raw == before


def test_custom_path() -> None:
    assert errors({"basic": {"items": [{"text": ""}]}}, path="content") == [
        ("content.basic.items[0].text", rules.RULE_MIN_LENGTH)
    ]


# --- limits at their boundaries ----------------------------------------------------------------


def template(**fields: Any) -> Json:
    return {"template": {"title": "T", **fields}}


def template_button(**fields: Any) -> Json:
    return template(buttons=[fields])


def system(**fields: Any) -> Json:
    return {"system": {"text": "S", **fields}}


def form(**fields: Any) -> Json:
    return {"form": {"title": "T", "fields": [FORM_FIELD], **fields}}


LIMITS = [
    # content level
    pytest.param(lambda v: {**basic(text_item()), "previewText": v}, "p" * 256, "p" * 257,
                 "previewText", rules.RULE_MAX_LENGTH, id="previewText-max"),
    pytest.param(lambda v: {**basic(text_item()), "title": v}, "t" * 256, "t" * 257,
                 "title", rules.RULE_MAX_LENGTH, id="title-max"),
    # basic
    pytest.param(lambda v: basic(text_item(v)), "x" * 16384, "x" * 16385,
                 "basic.items[0].text", rules.RULE_MAX_LENGTH, id="basic-text-max"),
    pytest.param(lambda v: basic(text_item(v)), "x", "",
                 "basic.items[0].text", rules.RULE_MIN_LENGTH, id="basic-text-min"),
    pytest.param(lambda v: basic(*v), [text_item()] * 100, [text_item()] * 101,
                 "basic.items", rules.RULE_MAX_SIZE, id="basic-items-max"),
    pytest.param(lambda v: basic(*v), [text_item()], [],
                 "basic.items", rules.RULE_MIN_SIZE, id="basic-items-min"),
    pytest.param(lambda v: basic({"image": {"url": v}}), url(2000), url(2001),
                 "basic.items[0].image.url", rules.RULE_MAX_LENGTH, id="image-url-max"),
    pytest.param(lambda v: basic({"image": {**IMAGE, "id": v}}), "i" * 2000, "i" * 2001,
                 "basic.items[0].image.id", rules.RULE_MAX_LENGTH, id="image-id-max"),
    pytest.param(lambda v: basic({"image": {**IMAGE, "filename": v}}), "f" * 255, "f" * 256,
                 "basic.items[0].image.filename", rules.RULE_MAX_LENGTH, id="image-filename-max"),
    pytest.param(lambda v: basic({"image": {**IMAGE, "width": v}}), 2147483647, 2147483648,
                 "basic.items[0].image.width", rules.RULE_FORMAT, id="image-width-max"),
    pytest.param(lambda v: basic({"image": {**IMAGE, "height": v}}), 2147483647.0, 2147483648.0,
                 "basic.items[0].image.height", rules.RULE_FORMAT, id="image-height-max-float"),
    pytest.param(lambda v: basic({"image": {**IMAGE, "width": v}}), 0, -1,
                 "basic.items[0].image.width", rules.RULE_FORMAT, id="image-width-min"),
    pytest.param(lambda v: basic({"file": {"url": v}}), url(2000), url(2001),
                 "basic.items[0].file.url", rules.RULE_MAX_LENGTH, id="file-url-max"),
    pytest.param(lambda v: basic({"file": {**FILE, "id": v}}), "i" * 2000, "i" * 2001,
                 "basic.items[0].file.id", rules.RULE_MAX_LENGTH, id="file-id-max"),
    pytest.param(lambda v: basic({"file": {**FILE, "filename": v}}), "f" * 255, "f" * 256,
                 "basic.items[0].file.filename", rules.RULE_MAX_LENGTH, id="file-filename-max"),
    pytest.param(lambda v: basic({"file": {**FILE, "mimeType": v}}), "m" * 100, "m" * 101,
                 "basic.items[0].file.mimeType", rules.RULE_MAX_LENGTH, id="file-mimeType-max"),
    # template
    pytest.param(lambda v: template(title=v), "t" * 256, "t" * 257,
                 "template.title", rules.RULE_MAX_LENGTH, id="template-title-max"),
    pytest.param(lambda v: template(imageUrl=v), url(2000), url(2001),
                 "template.imageUrl", rules.RULE_MAX_LENGTH, id="template-imageUrl-max"),
    pytest.param(lambda v: template(textLines=v), ["l"] * 10, ["l"] * 11,
                 "template.textLines", rules.RULE_MAX_SIZE, id="template-textLines-max"),
    pytest.param(lambda v: template(textLines=["ok", v]), "l" * 512, "l" * 513,
                 "template.textLines[1]", rules.RULE_MAX_LENGTH, id="template-textLine-max"),
    pytest.param(lambda v: template(textLines=[v]), "l", "",
                 "template.textLines[0]", rules.RULE_MIN_LENGTH, id="template-textLine-min"),
    pytest.param(lambda v: template(buttons=v), [BUTTON] * 10, [BUTTON] * 11,
                 "template.buttons", rules.RULE_MAX_SIZE, id="template-buttons-max"),
    pytest.param(lambda v: template_button(label=v, launchUrl="https://e.com"), "b" * 16384,
                 "b" * 16385, "template.buttons[0].label", rules.RULE_MAX_LENGTH, id="button-label-max"),
    pytest.param(lambda v: template_button(label=v, launchUrl="https://e.com"), "b", "",
                 "template.buttons[0].label", rules.RULE_MIN_LENGTH, id="button-label-min"),
    pytest.param(lambda v: template_button(label="B", launchUrl=v), url(16384), url(16385),
                 "template.buttons[0].launchUrl", rules.RULE_MAX_LENGTH, id="button-launchUrl-max"),
    pytest.param(lambda v: template_button(label="B", postbackProperties={"interactionId": v}),
                 "i" * 256, "i" * 257, "template.buttons[0].postbackProperties.interactionId",
                 rules.RULE_MAX_LENGTH, id="button-interactionId-max"),
    pytest.param(lambda v: template_button(label="B", postbackProperties={"interactionId": v}),
                 "i", "", "template.buttons[0].postbackProperties.interactionId",
                 rules.RULE_MIN_LENGTH, id="button-interactionId-min"),
    # minimal
    pytest.param(lambda v: {"minimal": {"text": v}}, "m" * 16384, "m" * 16385,
                 "minimal.text", rules.RULE_MAX_LENGTH, id="minimal-text-max"),
    pytest.param(lambda v: {"minimal": {"text": v}}, "m", "",
                 "minimal.text", rules.RULE_MIN_LENGTH, id="minimal-text-min"),
    pytest.param(lambda v: {"minimal": {"text": "m", "iconUrl": v}}, url(2000), url(2001),
                 "minimal.iconUrl", rules.RULE_MAX_LENGTH, id="minimal-iconUrl-max"),
    pytest.param(lambda v: {"minimal": {"text": "m", "url": v}}, url(2000), url(2001),
                 "minimal.url", rules.RULE_MAX_LENGTH, id="minimal-url-max"),
    # form
    pytest.param(lambda v: form(title=v), "t" * 256, "t" * 257,
                 "form.title", rules.RULE_MAX_LENGTH, id="form-title-max"),
    pytest.param(lambda v: form(title=v), "t", "",
                 "form.title", rules.RULE_MIN_LENGTH, id="form-title-min"),
    pytest.param(lambda v: form(description=v), "d" * 16384, "d" * 16385,
                 "form.description", rules.RULE_MAX_LENGTH, id="form-description-max"),
    pytest.param(lambda v: form(fields=v), [FORM_FIELD] * 15, [FORM_FIELD] * 16,
                 "form.fields", rules.RULE_MAX_SIZE, id="form-fields-max"),
    pytest.param(lambda v: form(fields=v), [FORM_FIELD], [],
                 "form.fields", rules.RULE_MIN_SIZE, id="form-fields-min"),
    pytest.param(lambda v: form(fields=[{"name": v, "value": "x"}]), "n" * 8192, "n" * 8193,
                 "form.fields[0].name", rules.RULE_MAX_LENGTH, id="form-field-name-max"),
    pytest.param(lambda v: form(fields=[{"name": v, "value": "x"}]), "n", "",
                 "form.fields[0].name", rules.RULE_MIN_LENGTH, id="form-field-name-min"),
    pytest.param(lambda v: form(fields=[{"name": "n", "value": v}]), "v" * 8192, "v" * 8193,
                 "form.fields[0].value", rules.RULE_MAX_LENGTH, id="form-field-value-max"),
    pytest.param(lambda v: form(media=v), [{"image": IMAGE}] * 15, [{"image": IMAGE}] * 16,
                 "form.media", rules.RULE_MAX_SIZE, id="form-media-max"),
    pytest.param(lambda v: form(media=[{"file": {**FILE, "filename": v}}]), "f" * 255, "f" * 256,
                 "form.media[0].file.filename", rules.RULE_MAX_LENGTH, id="form-media-filename-max"),
    # system
    pytest.param(lambda v: system(text=v), "s" * 16384, "s" * 16385,
                 "system.text", rules.RULE_MAX_LENGTH, id="system-text-max"),
    pytest.param(lambda v: system(buttons=v), [BUTTON] * 10, [BUTTON] * 11,
                 "system.buttons", rules.RULE_MAX_SIZE, id="system-buttons-max"),
    pytest.param(lambda v: system(imageUrl=v), url(2000), url(2001),
                 "system.imageUrl", rules.RULE_MAX_LENGTH, id="system-imageUrl-max"),
]  # fmt: skip


@pytest.mark.parametrize(("build", "ok", "bad", "field", "rule"), LIMITS)
def test_limit(build: Build, ok: Any, bad: Any, field: str, rule: str) -> None:
    normalize_content(build(ok), allow_system=True)
    assert errors(build(bad), allow_system=True) == [(f"{P}.{field}", rule)]


def test_form_field_value_may_be_empty() -> None:
    raw = form(fields=[{"name": "n", "value": ""}])
    assert content_of(raw)["form"]["fields"] == [{"name": "n", "value": ""}]


def test_limit_descriptions() -> None:
    cases = [
        (basic(text_item("x" * 16385)), "must be at most 16384 characters"),
        (basic(text_item("")), "must be at least 1 character"),
        (basic(), "must have at least 1 item"),
        (basic(*[text_item()] * 101), "must have at most 100 items"),
        (basic({"image": {**IMAGE, "width": -1}}), "must be an integer between 0 and 2147483647"),
    ]
    for raw, description in cases:
        assert only_violation(raw).description == description


# --- wrong types -------------------------------------------------------------------------------

WRONG_TYPES = [
    pytest.param(5, "", id="content-number"),
    pytest.param("basic", "", id="content-string"),
    pytest.param([basic(text_item())], "", id="content-list"),
    pytest.param(True, "", id="content-bool"),
    pytest.param({"basic": []}, ".basic", id="basic-list"),
    pytest.param({"basic": "hi"}, ".basic", id="basic-string"),
    pytest.param({"basic": {"items": {"text": "hi"}}}, ".basic.items", id="items-object"),
    pytest.param({"basic": {"items": "hi"}}, ".basic.items", id="items-string"),
    pytest.param(basic(None), ".basic.items[0]", id="item-null"),
    pytest.param(basic("hi"), ".basic.items[0]", id="item-string"),
    pytest.param(basic([text_item()]), ".basic.items[0]", id="item-list"),
    pytest.param(basic({"text": 5}), ".basic.items[0].text", id="text-number"),
    pytest.param(basic({"text": ["hi"]}), ".basic.items[0].text", id="text-list"),
    pytest.param(basic({"image": "https://e.com/a.png"}), ".basic.items[0].image", id="image-str"),
    pytest.param(basic({"image": []}), ".basic.items[0].image", id="image-list"),
    pytest.param(basic({"file": 1}), ".basic.items[0].file", id="file-number"),
    pytest.param(basic({"image": {"url": 5}}), ".basic.items[0].image.url", id="url-number"),
    pytest.param(basic({"image": {**IMAGE, "width": "12"}}), ".basic.items[0].image.width",
                 id="width-string"),
    pytest.param(basic({"image": {**IMAGE, "width": True}}), ".basic.items[0].image.width",
                 id="width-bool"),
    pytest.param(basic({"image": {**IMAGE, "width": 1.5}}), ".basic.items[0].image.width",
                 id="width-fraction"),
    pytest.param(basic({"image": {**IMAGE, "height": float("nan")}}),
                 ".basic.items[0].image.height", id="height-nan"),
    pytest.param(basic({"image": {**IMAGE, "height": float("inf")}}),
                 ".basic.items[0].image.height", id="height-inf"),
    pytest.param(basic({"file": {**FILE, "mimeType": {}}}), ".basic.items[0].file.mimeType",
                 id="mimeType-object"),
    pytest.param(template(textLines="line"), ".template.textLines", id="textLines-string"),
    pytest.param(template(textLines=["ok", 5]), ".template.textLines[1]", id="textLine-number"),
    pytest.param(template(textLines=[None]), ".template.textLines[0]", id="textLine-null"),
    pytest.param(template(title=5), ".template.title", id="template-title-number"),
    pytest.param(template(buttons={}), ".template.buttons", id="buttons-object"),
    pytest.param(template(buttons=[None]), ".template.buttons[0]", id="button-null"),
    pytest.param(template(buttons=["Go"]), ".template.buttons[0]", id="button-string"),
    pytest.param(template_button(label=5, launchUrl="https://e.com"),
                 ".template.buttons[0].label", id="label-number"),
    pytest.param(template_button(label="B", postbackProperties="i"),
                 ".template.buttons[0].postbackProperties", id="postback-string"),
    pytest.param(template_button(label="B", postbackProperties={"interactionId": 7}),
                 ".template.buttons[0].postbackProperties.interactionId", id="interactionId-num"),
    pytest.param(template(orientation=1), ".template.orientation", id="orientation-number"),
    pytest.param({"minimal": {"text": ["a"]}}, ".minimal.text", id="minimal-text-list"),
    pytest.param({"minimal": {"text": "a", "url": {}}}, ".minimal.url", id="minimal-url-object"),
    pytest.param({"form": {"title": 5, "fields": [FORM_FIELD]}}, ".form.title", id="form-title"),
    pytest.param(form(description=5), ".form.description", id="form-description-number"),
    pytest.param(form(fields={"name": "x"}), ".form.fields", id="form-fields-object"),
    pytest.param(form(fields=[["Email", "x"]]), ".form.fields[0]", id="form-field-list"),
    pytest.param(form(fields=[{"name": "n", "value": 1}]), ".form.fields[0].value",
                 id="form-value-number"),
    pytest.param(form(media={}), ".form.media", id="form-media-object"),
    pytest.param(form(media=[None]), ".form.media[0]", id="form-media-null"),
    pytest.param({**basic(text_item()), "previewText": 5}, ".previewText", id="previewText-num"),
    pytest.param({**basic(text_item()), "title": []}, ".title", id="title-list"),
    pytest.param(system(text=5), ".system.text", id="system-text-number"),
]  # fmt: skip


@pytest.mark.parametrize(("raw", "field"), WRONG_TYPES)
def test_wrong_type_is_format_violation(raw: object, field: str) -> None:
    assert errors(raw, allow_system=True) == [(P + field, rules.RULE_FORMAT)]


def test_missing_content_is_required() -> None:
    violation = only_violation(None)
    assert (violation.field, violation.violated_rule) == (P, rules.RULE_REQUIRED)


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        pytest.param({"basic": {}}, ".basic.items", id="basic-items"),
        pytest.param({"basic": {"items": None}}, ".basic.items", id="basic-items-null"),
        pytest.param(basic({"image": {"filename": "a.png"}}), ".basic.items[0].image.url",
                     id="image-url"),
        pytest.param(basic({"file": {"url": None}}), ".basic.items[0].file.url", id="file-url"),
        pytest.param(template_button(launchUrl="https://e.com"), ".template.buttons[0].label",
                     id="button-label"),
        pytest.param(template_button(label="B", postbackProperties={}),
                     ".template.buttons[0].postbackProperties.interactionId",
                     id="interactionId"),
        pytest.param({"minimal": {"url": "https://e.com"}}, ".minimal.text", id="minimal-text"),
        pytest.param({"form": {"fields": [FORM_FIELD]}}, ".form.title", id="form-title"),
        pytest.param({"form": {"title": "T"}}, ".form.fields", id="form-fields"),
        pytest.param(form(fields=[{"value": "v"}]), ".form.fields[0].name", id="form-field-name"),
        pytest.param({"template": {"buttons": [BUTTON]}}, ".template", id="template-nothing"),
        pytest.param({"template": {"title": "", "textLines": []}}, ".template",
                     id="template-empty"),
        pytest.param({"template": {"imageUrl": ""}}, ".template", id="template-empty-image"),
        pytest.param({"system": {"buttons": [BUTTON]}}, ".system", id="system-nothing"),
        pytest.param({"system": {"text": ""}}, ".system", id="system-empty"),
    ],
)  # fmt: skip
def test_required_fields(raw: object, field: str) -> None:
    assert errors(raw, allow_system=True) == [(P + field, rules.RULE_REQUIRED)]


@pytest.mark.parametrize(
    "fields",
    [
        {"title": "T"},
        {"textLines": ["line"]},
        {"imageUrl": "https://example.com/a.png"},
    ],
)
def test_template_needs_one_thing_to_show(fields: Json) -> None:
    assert normalize_content({"template": fields}).content_type == "TEMPLATE"


# --- oneofs and unknown fields -----------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param({}, id="empty"),
        pytest.param({"previewText": "p", "title": "t"}, id="only-meta"),
        pytest.param({"basic": None}, id="null-payload"),
        pytest.param({"contentType": "BASIC"}, id="only-content-type"),
    ],
)
def test_no_payload(raw: Json) -> None:
    violation = only_violation(raw)
    assert (violation.field, violation.violated_rule) == (P, rules.RULE_REQUIRED_ONE_OF)
    assert violation.description == "must contain one of basic, template, minimal, form"


def test_no_payload_mentions_system_when_allowed() -> None:
    violation = only_violation({}, allow_system=True)
    assert violation.description == "must contain one of basic, template, minimal, form, system"


PAYLOADS: dict[str, Json] = {
    "basic": {"items": [text_item()]},
    "template": {"title": "T"},
    "minimal": {"text": "m"},
    "form": {"title": "T", "fields": [FORM_FIELD]},
    "system": {"text": "s"},
}


@pytest.mark.parametrize(
    ("first", "second"),
    [("basic", "template"), ("minimal", "form"), ("template", "system"), ("form", "basic")],
)
def test_two_payloads(first: str, second: str) -> None:
    raw = {first: PAYLOADS[first], second: PAYLOADS[second]}
    assert errors(raw, allow_system=True) == [(P, rules.RULE_ONE_OF)]


def test_all_payloads() -> None:
    assert errors(dict(PAYLOADS), allow_system=True) == [(P, rules.RULE_ONE_OF)]


def test_two_payloads_are_both_checked() -> None:
    raw = {"basic": {"items": []}, "minimal": {"text": ""}}
    assert errors(raw) == [
        (f"{P}.basic.items", rules.RULE_MIN_SIZE),
        (f"{P}.minimal.text", rules.RULE_MIN_LENGTH),
        (P, rules.RULE_ONE_OF),
    ]


@pytest.mark.parametrize(
    ("item", "rule"),
    [
        pytest.param({}, rules.RULE_REQUIRED_ONE_OF, id="none"),
        pytest.param({"text": None, "image": None}, rules.RULE_REQUIRED_ONE_OF, id="nulls"),
        pytest.param({"text": "a", "image": IMAGE}, rules.RULE_ONE_OF, id="text-image"),
        pytest.param({"image": IMAGE, "file": FILE}, rules.RULE_ONE_OF, id="image-file"),
        pytest.param({"text": "a", "image": IMAGE, "file": FILE}, rules.RULE_ONE_OF, id="all"),
    ],
)
def test_basic_item_oneof(item: Json, rule: str) -> None:
    assert errors(basic(text_item(), item)) == [(f"{P}.basic.items[1]", rule)]


@pytest.mark.parametrize(
    ("item", "rule"),
    [
        pytest.param({}, rules.RULE_REQUIRED_ONE_OF, id="none"),
        pytest.param({"image": IMAGE, "file": FILE}, rules.RULE_ONE_OF, id="both"),
    ],
)
def test_form_media_oneof(item: Json, rule: str) -> None:
    assert errors(form(media=[item])) == [(f"{P}.form.media[0]", rule)]


def test_form_media_refuses_text() -> None:
    assert errors(form(media=[{"text": "hi", "image": IMAGE}])) == [
        (f"{P}.form.media[0].text", rules.RULE_NOT_ALLOWED)
    ]


@pytest.mark.parametrize(
    ("button", "rule"),
    [
        pytest.param({"label": "B"}, rules.RULE_REQUIRED_ONE_OF, id="neither"),
        pytest.param({"label": "B", "launchUrl": ""}, rules.RULE_REQUIRED_ONE_OF, id="empty-url"),
        pytest.param(
            {
                "label": "B",
                "launchUrl": "https://e.com",
                "postbackProperties": {"interactionId": "i"},
            },
            rules.RULE_ONE_OF,
            id="both",
        ),
    ],
)
def test_button_oneof(button: Json, rule: str) -> None:
    assert errors(template(buttons=[BUTTON, button])) == [(f"{P}.template.buttons[1]", rule)]
    assert errors(system(buttons=[button]), allow_system=True) == [(f"{P}.system.buttons[0]", rule)]


def with_int_key() -> dict[object, object]:
    raw: dict[object, object] = {"basic": {"items": [text_item()]}}
    raw[1] = "x"
    return raw


UNKNOWN_FIELDS = [
    pytest.param({**basic(text_item()), "foo": 1}, ".foo", id="content"),
    pytest.param({**basic(text_item()), "payload": {"type": "BASIC"}}, ".payload",
                 id="content-old-payload-shape"),
    pytest.param({"basic": {"items": [text_item()], "foo": 1}}, ".basic.foo", id="basic"),
    pytest.param(basic({"text": "a", "foo": None}), ".basic.items[0].foo", id="item-null-value"),
    pytest.param(basic({"text": "a", "video": {}}), ".basic.items[0].video", id="item"),
    pytest.param(basic({"image": {**IMAGE, "alt": "x"}}), ".basic.items[0].image.alt",
                 id="image"),
    pytest.param(basic({"image": {**IMAGE, "mimeType": "image/png"}}),
                 ".basic.items[0].image.mimeType", id="image-mimeType"),
    pytest.param(basic({"image": {**IMAGE, "_id": "x"}}), ".basic.items[0].image._id",
                 id="image-sdk-id"),
    pytest.param(basic({"file": {**FILE, "width": 1}}), ".basic.items[0].file.width", id="file"),
    pytest.param(template(foo=1), ".template.foo", id="template"),
    pytest.param(template(buttons=[{**BUTTON, "type": "ACTION"}]), ".template.buttons[0].type",
                 id="button-type"),
    pytest.param(template(buttons=[{**BUTTON, "buttonPayload": "x"}]),
                 ".template.buttons[0].buttonPayload", id="button-payload"),
    pytest.param(template_button(label="B", postbackProperties={"interactionId": "i", "x": 1}),
                 ".template.buttons[0].postbackProperties.x", id="postback"),
    pytest.param({"minimal": {"text": "m", "foo": 1}}, ".minimal.foo", id="minimal"),
    pytest.param(form(foo=1), ".form.foo", id="form"),
    pytest.param(form(fields=[{**FORM_FIELD, "type": "email"}]), ".form.fields[0].type",
                 id="form-field"),
    pytest.param(form(media=[{"image": IMAGE, "foo": 1}]), ".form.media[0].foo", id="form-media"),
    pytest.param(form(media=[{"image": {**IMAGE, "foo": 1}}]), ".form.media[0].image.foo",
                 id="form-media-image"),
    pytest.param(system(foo=1), ".system.foo", id="system"),
    pytest.param(system(icon="x"), ".system.icon", id="system-icon"),
    pytest.param(with_int_key(), ".1", id="non-string-key"),
]  # fmt: skip


@pytest.mark.parametrize(("raw", "field"), UNKNOWN_FIELDS)
def test_unknown_field_refused(raw: Json, field: str) -> None:
    violation = only_violation(raw, allow_system=True)
    assert (violation.field, violation.violated_rule) == (P + field, rules.RULE_NOT_ALLOWED)


def test_read_only_fields_are_dropped() -> None:
    raw = {
        "contentType": "SYSTEM",
        "template": {
            "title": "T",
            "icon": "internal",
            "buttons": [
                {"label": "B", "postbackProperties": {"interactionId": "i", "appId": "forged"}}
            ],
        },
    }
    content = content_of(raw)
    assert content["contentType"] == "TEMPLATE"
    assert "icon" not in content["template"]
    assert content["template"]["buttons"] == [
        {"label": "B", "postbackProperties": {"interactionId": "i"}}
    ]


def test_postback_app_id_is_overwritten() -> None:
    raw = template_button(label="B", postbackProperties={"appId": "forged", "interactionId": "i"})
    template = content_of(raw, app_id="app-1")["template"]
    assert template["buttons"][0]["postbackProperties"] == {
        "interactionId": "i",
        "appId": "app-1",
    }


def test_system_postback_app_id_is_set() -> None:
    raw = system(buttons=[{"label": "B", "postbackProperties": {"interactionId": "i"}}])
    content = content_of(raw, app_id="app-1", allow_system=True)
    assert content["system"]["buttons"][0]["postbackProperties"]["appId"] == "app-1"


# --- system ------------------------------------------------------------------------------------


def test_system_refused_by_default() -> None:
    violation = only_violation({"system": {"text": "hello"}})
    assert violation == Violation(
        field=f"{P}.system",
        description="system messages cannot be sent through the API",
        violated_rule=rules.RULE_NOT_ALLOWED,
    )


def test_system_refused_without_checking_its_inside() -> None:
    assert errors({"system": {"text": 5, "foo": 1}}) == [(f"{P}.system", rules.RULE_NOT_ALLOWED)]


def test_system_refused_along_with_another_payload() -> None:
    assert errors({"system": {"text": "s"}, "basic": PAYLOADS["basic"]}) == [
        (f"{P}.system", rules.RULE_NOT_ALLOWED),
        (P, rules.RULE_ONE_OF),
    ]


def test_system_null_is_not_a_payload() -> None:
    assert normalize_content({"system": None, "minimal": {"text": "m"}}).content_type == "MINIMAL"


# --- orientation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("orientation", "expected"),
    [
        (None, "PORTRAIT"),
        ("UNKNOWN_ORIENTATION", "PORTRAIT"),
        ("PORTRAIT", "PORTRAIT"),
        ("LANDSCAPE", "LANDSCAPE"),
    ],
)
def test_orientation(orientation: str | None, expected: str) -> None:
    raw = template() if orientation is None else template(orientation=orientation)
    assert content_of(raw)["template"]["orientation"] == expected


@pytest.mark.parametrize("orientation", ["landscape", "SQUARE", "", "UNKNOWN"])
def test_orientation_invalid(orientation: str) -> None:
    violation = only_violation(template(orientation=orientation))
    assert (violation.field, violation.violated_rule) == (
        f"{P}.template.orientation",
        rules.RULE_ENUM,
    )
    assert violation.description == "must be one of PORTRAIT, LANDSCAPE"


# --- URLs --------------------------------------------------------------------------------------

BAD_URLS = [
    "javascript:alert(1)",
    "JavaScript:alert(document.cookie)",
    " javascript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "data:image/png;base64,iVBORw0KGgo=",
    "vbscript:msgbox(1)",
    "/relative/path.png",
    "relative.png",
    "?q=1",
    "#frag",
    "//evil.example.com/x.png",
    "ftp://example.com/x",
    "mailto:a@example.com",
    "file:///etc/passwd",
    "https:example.com",
    "https:/example.com",
    "https://",
    "http:///path",
    "http://:80/",
    "https://example.com:notaport/",
    "https://[::1/",
    " https://example.com",
    "https://example.com/a b",
    "https://example.com/\n",
    "https://exa\tmple.com",
    "https://example.com/\x00",
    "https://\u202eexample.com",
    "https:\\\\example.com",
    "https://good.example\\@evil.example/",
    "https://example.com/a\\b.png",
    "https://<script>/",
]

URL_FIELDS = [
    pytest.param(lambda u: basic({"image": {"url": u}}), ".basic.items[0].image.url",
                 id="basic-image"),
    pytest.param(lambda u: basic({"file": {"url": u}}), ".basic.items[0].file.url",
                 id="basic-file"),
    pytest.param(lambda u: template(imageUrl=u), ".template.imageUrl", id="template-image"),
    pytest.param(lambda u: template_button(label="B", launchUrl=u),
                 ".template.buttons[0].launchUrl", id="template-button"),
    pytest.param(lambda u: {"minimal": {"text": "m", "iconUrl": u}}, ".minimal.iconUrl",
                 id="minimal-icon"),
    pytest.param(lambda u: {"minimal": {"text": "m", "url": u}}, ".minimal.url",
                 id="minimal-url"),
    pytest.param(lambda u: form(media=[{"image": {"url": u}}]), ".form.media[0].image.url",
                 id="form-image"),
    pytest.param(lambda u: form(media=[{"file": {"url": u}}]), ".form.media[0].file.url",
                 id="form-file"),
    pytest.param(lambda u: system(imageUrl=u), ".system.imageUrl", id="system-image"),
    pytest.param(lambda u: system(buttons=[{"label": "B", "launchUrl": u}]),
                 ".system.buttons[0].launchUrl", id="system-button"),
]  # fmt: skip

GOOD_URLS = [
    "https://example.com",
    "http://example.com/a.png",
    "HTTPS://EXAMPLE.COM/A.PNG",
    "https://static.example.com:8443/a/b.png?x=1&y=%20#frag",
    "http://localhost:8000/media/a.png",
    "http://127.0.0.1/a",
    "http://[::1]:8080/a",
    "https://user:pw@example.com/",
    "https://例え.jp/パス",
]


@pytest.mark.parametrize("bad_url", BAD_URLS)
@pytest.mark.parametrize(("build", "field"), URL_FIELDS)
def test_bad_url_refused(build: Build, field: str, bad_url: str) -> None:
    violation = only_violation(build(bad_url), allow_system=True)
    assert violation == Violation(P + field, URL_FORMAT, rules.RULE_FORMAT)


@pytest.mark.parametrize("good_url", GOOD_URLS)
@pytest.mark.parametrize(("build", "field"), URL_FIELDS)
def test_good_url_accepted(build: Build, field: str, good_url: str) -> None:
    normalize_content(build(good_url), allow_system=True)


@pytest.mark.parametrize("value", [*BAD_URLS, "", "example.com", "https://exa mple.com"])
def test_is_web_url_refuses(value: str) -> None:
    assert is_web_url(value) is False


@pytest.mark.parametrize("value", GOOD_URLS)
def test_is_web_url_accepts(value: str) -> None:
    assert is_web_url(value) is True


# --- preview text ------------------------------------------------------------------------------

PREVIEWS = [
    pytest.param(basic(text_item("Hello")), "Hello", id="basic-text"),
    pytest.param(basic({"image": IMAGE}, text_item("after image")), "after image",
                 id="basic-first-text-wins"),
    pytest.param(basic(text_item(" \n "), text_item("second")), "second", id="basic-blank-text"),
    pytest.param(basic({"image": {**IMAGE, "filename": "cat.png"}}), "cat.png",
                 id="basic-image-filename"),
    pytest.param(basic({"image": IMAGE}), "Image", id="basic-image"),
    pytest.param(basic({"file": FILE}, {"image": IMAGE}), "File: a.pdf", id="basic-file"),
    pytest.param(basic({"file": {"url": "https://e.com/x"}}), "File", id="basic-file-no-name"),
    pytest.param(template(title="Order shipped", textLines=["line"]), "Order shipped",
                 id="template-title"),
    pytest.param({"template": {"title": "", "textLines": ["First", "Second"]}}, "First",
                 id="template-text-line"),
    pytest.param({"template": {"imageUrl": "https://e.com/a.png"}}, "Card", id="template-card"),
    pytest.param({"minimal": {"text": "Booked  a\tspa"}}, "Booked a spa", id="minimal"),
    pytest.param(form(title="Contact form"), "Contact form", id="form"),
    pytest.param(system(text="Line 1\nLine 2"), "Line 1 Line 2", id="system"),
    pytest.param({"system": {"imageUrl": "https://e.com/a.png"}}, "", id="system-image-only"),
    pytest.param(basic(text_item("  a \n\t b  ")), "a b", id="collapse-whitespace"),
    pytest.param(basic(text_item("x" * 256)), "x" * 256, id="exactly-256"),
    pytest.param(basic(text_item("x" * 300)), "x" * 255 + "…", id="truncated"),
    pytest.param(basic(text_item("word " * 100)), ("word " * 51).rstrip() + "…",
                 id="truncated-at-space"),
    pytest.param({**basic(text_item("derived")), "previewText": "Given  preview\n"},
                 "Given  preview\n", id="given-as-is"),
    pytest.param({**basic(text_item("derived")), "previewText": ""}, "derived", id="given-empty"),
    pytest.param({**basic(text_item("derived")), "previewText": " \n"}, "derived",
                 id="given-blank"),
    pytest.param({**basic(text_item("derived")), "previewText": "p" * 256}, "p" * 256,
                 id="given-256"),
]  # fmt: skip


@pytest.mark.parametrize(("raw", "expected"), PREVIEWS)
def test_preview_text(raw: Json, expected: str) -> None:
    result = normalize_content(raw, allow_system=True)
    assert result.preview_text == expected
    assert result.content["previewText"] == expected
    assert len(result.preview_text) <= 256


@pytest.mark.parametrize(
    ("content_type", "payload", "expected"),
    [
        ("BASIC", {"items": [{"text": "hi"}]}, "hi"),
        ("basic", {"items": [{"text": "hi"}]}, "hi"),
        ("TEMPLATE", {"textLines": [5, "  ", "ok"]}, "ok"),
        ("FORM", {"title": "F"}, "F"),
        ("UNSUPPORTED", {"text": "x"}, ""),
        ("BASIC", {"items": "garbage"}, ""),
        ("BASIC", {"items": [None, 5, {"image": "x"}]}, ""),
        ("MINIMAL", {}, ""),
    ],
)
def test_derive_preview_text(content_type: str, payload: Json, expected: str) -> None:
    assert derive_preview_text(content_type, payload) == expected


# --- collecting violations ---------------------------------------------------------------------


def test_all_violations_in_document_order() -> None:
    raw = {
        "previewText": "p" * 257,
        "template": {
            "title": 5,
            "textLines": ["ok", "", "x" * 513],
            "imageUrl": "javascript:alert(1)",
            "buttons": [
                {"label": "", "launchUrl": "//evil"},
                {"label": "B", "postbackProperties": {"interactionId": "", "extra": 1}},
                {"label": "C"},
            ],
            "orientation": "DIAGONAL",
            "bogus": True,
        },
        "title": "t" * 257,
    }
    assert errors(raw) == [
        (f"{P}.previewText", rules.RULE_MAX_LENGTH),
        (f"{P}.template.title", rules.RULE_FORMAT),
        (f"{P}.template.textLines[1]", rules.RULE_MIN_LENGTH),
        (f"{P}.template.textLines[2]", rules.RULE_MAX_LENGTH),
        (f"{P}.template.imageUrl", rules.RULE_FORMAT),
        (f"{P}.template.buttons[0].label", rules.RULE_MIN_LENGTH),
        (f"{P}.template.buttons[0].launchUrl", rules.RULE_FORMAT),
        (f"{P}.template.buttons[1].postbackProperties.interactionId", rules.RULE_MIN_LENGTH),
        (f"{P}.template.buttons[1].postbackProperties.extra", rules.RULE_NOT_ALLOWED),
        (f"{P}.template.buttons[2]", rules.RULE_REQUIRED_ONE_OF),
        (f"{P}.template.orientation", rules.RULE_ENUM),
        (f"{P}.template.bogus", rules.RULE_NOT_ALLOWED),
        (f"{P}.title", rules.RULE_MAX_LENGTH),
    ]


def test_oversized_list_items_are_still_checked() -> None:
    raw = basic(*[text_item()] * 100, text_item(""))
    assert errors(raw) == [
        (f"{P}.basic.items", rules.RULE_MAX_SIZE),
        (f"{P}.basic.items[100].text", rules.RULE_MIN_LENGTH),
    ]


def test_content_error_shape() -> None:
    error = ContentError([Violation("a.b", "is required", rules.RULE_REQUIRED)])
    assert isinstance(error, Exception)
    assert error.violations == [Violation("a.b", "is required", rules.RULE_REQUIRED)]
    assert "a.b" in str(error)
    with pytest.raises(dataclasses.FrozenInstanceError):
        error.violations[0].field = "x"  # type: ignore[misc]


def test_content_types_constant() -> None:
    keys = tuple(spec.key for spec in CONTENT_TYPES)
    assert keys == ("basic", "template", "minimal", "form", "system")
    assert [spec.value for spec in CONTENT_TYPES] == [key.upper() for key in keys]
    assert [spec.key for spec in CONTENT_TYPES if not spec.api_sendable] == ["system"]


def test_the_model_choices_are_the_content_types_table() -> None:
    assert Message.ContentType.choices == [(spec.value, spec.label) for spec in CONTENT_TYPES]


# --- robustness: garbage anywhere raises ContentError, nothing else ----------------------------

FULL_CONTENTS: list[Json] = [
    {
        "previewText": "p",
        "title": "t",
        "basic": {
            "items": [
                {"text": "hi"},
                {"image": {"id": "i", "url": "https://e.com/a.png", "filename": "a.png",
                           "width": 1, "height": 2}},
                {"file": {"id": "f", "url": "https://e.com/a.pdf", "filename": "a.pdf",
                          "mimeType": "application/pdf"}},
            ]
        },
    },
    {
        "template": {
            "title": "T",
            "textLines": ["a", "b"],
            "imageUrl": "https://e.com/a.png",
            "buttons": [BUTTON, {"label": "P", "postbackProperties": {"interactionId": "i"}}],
            "orientation": "LANDSCAPE",
        }
    },
    {"minimal": {"text": "m", "iconUrl": "https://e.com/i.svg", "url": "https://e.com"}},
    {
        "form": {
            "title": "F",
            "description": "d",
            "fields": [FORM_FIELD],
            "media": [{"image": IMAGE}, {"file": FILE}],
        }
    },
    {"system": {"text": "s", "imageUrl": "https://e.com/a.png", "buttons": [BUTTON]}},
]  # fmt: skip

GARBAGE: list[object] = [
    None,
    0,
    -1,
    1.5,
    True,
    "",
    "x",
    [],
    [None],
    [[]],
    {},
    {"x": 1},
    float("nan"),
]


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*prefix, key)
            yield from paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield (*prefix, index)
            yield from paths(item, (*prefix, index))


def replaced(document: Json, path: tuple[Any, ...], value: object) -> Json:
    copied = copy.deepcopy(document)
    target: Any = copied
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return copied


@pytest.mark.parametrize("allow_system", [False, True])
@pytest.mark.parametrize("garbage", GARBAGE, ids=repr)
def test_garbage_anywhere_raises_only_content_error(garbage: object, allow_system: bool) -> None:
    for document in FULL_CONTENTS:
        normalize_content(document, allow_system=True)
        for path in paths(document):
            raw = replaced(document, path, garbage)
            try:
                result = normalize_content(raw, allow_system=allow_system)
            except ContentError as error:
                violations = error.violations
            else:
                violations = []
                assert result.content_type in {"BASIC", "TEMPLATE", "MINIMAL", "FORM", "SYSTEM"}
            assert all(isinstance(v, Violation) for v in violations)


# --- badges ------------------------------------------------------------------------------------


def badge_errors(raw: object, **kwargs: Any) -> list[tuple[str, str]]:
    with pytest.raises(ContentError) as excinfo:
        normalize_badges(raw, **kwargs)
    return [(v.field, v.violated_rule) for v in excinfo.value.violations]


@pytest.mark.parametrize("raw", [None, []])
def test_badges_empty(raw: object) -> None:
    assert normalize_badges(raw) == []


def test_badge_full_output() -> None:
    raw = [
        {
            "badgeVisibility": "BUSINESS",
            "iconUrl": "https://e.com/bot.svg",
            "icon": "BOT",
            "text": "Automated",
        }
    ]
    badges = normalize_badges(raw)
    assert badges == [
        {"text": "Automated", "iconUrl": "https://e.com/bot.svg", "badgeVisibility": "BUSINESS"}
    ]
    assert list(badges[0]) == ["text", "iconUrl", "badgeVisibility"]


@pytest.mark.parametrize(
    ("visibility", "expected"),
    [
        (None, "BUSINESS_AND_PARTICIPANT"),
        ("UNKNOWN_BADGE_VISIBILITY", "BUSINESS_AND_PARTICIPANT"),
        ("BUSINESS_AND_PARTICIPANT", "BUSINESS_AND_PARTICIPANT"),
        ("BUSINESS", "BUSINESS"),
    ],
)
def test_badge_visibility(visibility: str | None, expected: str) -> None:
    assert normalize_badges([{"text": "a", "badgeVisibility": visibility}]) == [
        {"text": "a", "badgeVisibility": expected}
    ]


@pytest.mark.parametrize(
    ("raw", "field", "rule"),
    [
        pytest.param([{"text": "a"}, {"text": "b"}], "", rules.RULE_MAX_SIZE, id="two-badges"),
        pytest.param({"text": "a"}, "", rules.RULE_FORMAT, id="object"),
        pytest.param("badge", "", rules.RULE_FORMAT, id="string"),
        pytest.param([None], "[0]", rules.RULE_FORMAT, id="null-item"),
        pytest.param(["a"], "[0]", rules.RULE_FORMAT, id="string-item"),
        pytest.param([{"text": "t" * 257}], "[0].text", rules.RULE_MAX_LENGTH, id="text-max"),
        pytest.param([{"text": 1}], "[0].text", rules.RULE_FORMAT, id="text-number"),
        pytest.param([{"iconUrl": url(2001)}], "[0].iconUrl", rules.RULE_MAX_LENGTH, id="icon-max"),
        pytest.param([{"iconUrl": "javascript:alert(1)"}], "[0].iconUrl", rules.RULE_FORMAT,
                     id="icon-javascript"),
        pytest.param([{"iconUrl": "data:image/svg+xml,<svg/>"}], "[0].iconUrl", rules.RULE_FORMAT,
                     id="icon-data"),
        pytest.param([{"iconUrl": "/static/a.svg"}], "[0].iconUrl", rules.RULE_FORMAT,
                     id="icon-relative"),
        pytest.param([{"iconUrl": "//evil.com/a.svg"}], "[0].iconUrl", rules.RULE_FORMAT,
                     id="icon-scheme-relative"),
        pytest.param([{"badgeVisibility": "EVERYONE"}], "[0].badgeVisibility", rules.RULE_ENUM,
                     id="visibility-enum"),
        pytest.param([{"badgeVisibility": 1}], "[0].badgeVisibility", rules.RULE_FORMAT,
                     id="visibility-number"),
        pytest.param([{"text": "a", "color": "red"}], "[0].color", rules.RULE_NOT_ALLOWED,
                     id="unknown-field"),
    ],
)  # fmt: skip
def test_badge_violations(raw: object, field: str, rule: str) -> None:
    assert badge_errors(raw) == [(f"message.badges{field}", rule)]


def test_badge_limits_accepted_at_max() -> None:
    assert normalize_badges([{"text": "t" * 256, "iconUrl": url(2000)}])[0]["text"] == "t" * 256


def test_badges_custom_path() -> None:
    assert badge_errors([{"text": 5}], path="badges") == [("badges[0].text", rules.RULE_FORMAT)]


# --- channel fields ----------------------------------------------------------------------------


def channel_errors(raw: dict[str, object]) -> list[tuple[str, str]]:
    with pytest.raises(ContentError) as excinfo:
        normalize_channel_fields(raw)
    return [(v.field, v.violated_rule) for v in excinfo.value.violations]


DEFAULT_CHANNELS: dict[str, object] = {
    "targetChannels": [],
    "sourceChannel": "UNKNOWN_CHANNEL_TYPE",
    "targetChannelIds": [],
    "sourceChannelId": None,
}


@pytest.mark.parametrize(
    "raw",
    [
        {},
        {"content": {"basic": {}}, "direction": "X"},
        {
            "targetChannels": None,
            "sourceChannel": None,
            "targetChannelIds": None,
            "sourceChannelId": None,
        },
        {"sourceChannelId": ""},
    ],
)
def test_channel_defaults(raw: dict[str, object]) -> None:
    assert normalize_channel_fields(raw) == DEFAULT_CHANNELS


def test_channel_full_output() -> None:
    raw: dict[str, object] = {
        "targetChannels": ["EMAIL"],
        "sourceChannel": "FACEBOOK",
        "targetChannelIds": ["CHAT", "c" * 100],
        "sourceChannelId": "s" * 100,
    }
    assert normalize_channel_fields(raw) == raw


@pytest.mark.parametrize("channel", ["CHAT", "EMAIL", "SMS", "FACEBOOK", "INSTAGRAM", "WHATSAPP"])
def test_channel_types(channel: str) -> None:
    result = normalize_channel_fields({"targetChannels": [channel], "sourceChannel": channel})
    assert result["targetChannels"] == [channel]
    assert result["sourceChannel"] == channel


def test_channel_limits_accepted_at_max() -> None:
    ids = [f"id-{index}" for index in range(100)]
    assert normalize_channel_fields({"targetChannelIds": ids})["targetChannelIds"] == ids


@pytest.mark.parametrize(
    ("raw", "field", "rule"),
    [
        pytest.param({"targetChannels": ["CHAT", "EMAIL"]}, "targetChannels", rules.RULE_MAX_SIZE,
                     id="targets-max"),
        pytest.param({"targetChannels": "CHAT"}, "targetChannels", rules.RULE_FORMAT,
                     id="targets-string"),
        pytest.param({"targetChannels": ["UNKNOWN_CHANNEL_TYPE"]}, "targetChannels[0]",
                     rules.RULE_ENUM, id="targets-unknown"),
        pytest.param({"targetChannels": ["PHONE"]}, "targetChannels[0]", rules.RULE_ENUM,
                     id="targets-phone"),
        pytest.param({"targetChannels": [1]}, "targetChannels[0]", rules.RULE_FORMAT,
                     id="targets-number"),
        pytest.param({"sourceChannel": "chat"}, "sourceChannel", rules.RULE_ENUM, id="source-enum"),
        pytest.param({"sourceChannel": ["CHAT"]}, "sourceChannel", rules.RULE_FORMAT,
                     id="source-list"),
        pytest.param({"targetChannelIds": ["x"] * 101}, "targetChannelIds", rules.RULE_MAX_SIZE,
                     id="ids-max"),
        pytest.param({"targetChannelIds": {"a": 1}}, "targetChannelIds", rules.RULE_FORMAT,
                     id="ids-object"),
        pytest.param({"targetChannelIds": ["a", "b", "c", "d" * 101]}, "targetChannelIds[3]",
                     rules.RULE_MAX_LENGTH, id="id-max"),
        pytest.param({"targetChannelIds": ["a", "b", "c", ""]}, "targetChannelIds[3]",
                     rules.RULE_MIN_LENGTH, id="id-min"),
        pytest.param({"targetChannelIds": ["a", "b", "c", 4]}, "targetChannelIds[3]",
                     rules.RULE_FORMAT, id="id-number"),
        pytest.param({"sourceChannelId": "s" * 101}, "sourceChannelId", rules.RULE_MAX_LENGTH,
                     id="source-id-max"),
        pytest.param({"sourceChannelId": 5}, "sourceChannelId", rules.RULE_FORMAT,
                     id="source-id-number"),
    ],
)  # fmt: skip
def test_channel_violations(raw: dict[str, object], field: str, rule: str) -> None:
    assert channel_errors(raw) == [(f"message.{field}", rule)]


def test_channel_violations_collected_with_custom_path() -> None:
    with pytest.raises(ContentError) as excinfo:
        normalize_channel_fields(
            {"targetChannels": ["NOPE"], "sourceChannelId": 1}, path="body.message"
        )
    assert [v.field for v in excinfo.value.violations] == [
        "body.message.targetChannels[0]",
        "body.message.sourceChannelId",
    ]
