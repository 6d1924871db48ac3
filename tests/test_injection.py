"""Injection: HTML/JS (and SQL, template, bidi) payloads in every string field of a message are
stored and listed back exactly as given — rendering them as text is the job of the pages (the
staff page's and the widget's browser tests inject the same payloads: tests/e2e/) — and every
URL field refuses ``javascript:``, ``data:``, other schemes and relative URLs through the API.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from rest_framework.test import APIClient

from inbox.models import Conversation, Message
from tests.conftest import API, field_violations

PAYLOADS = [
    "<script>alert(document.cookie)</script>",
    '"><img src=x onerror=alert(1)>',
    "<svg/onload=alert(1)>",
    "javascript:alert(1)",
    "</textarea><iframe src=javascript:alert(1)>",
    "{{7*7}}${7*7}<%= 7*7 %>",
    "'; DROP TABLE inbox_message; --",
    "&lt;b&gt;&amp;&#x3C;script&#x3E;",
    "\u202eevil\u202c \u200b zero-width",
]
GOOD_URL = "https://example.com/a.png"


def rich_messages(
    text: Callable[[str], str], url: Callable[[str], str]
) -> dict[str, dict[str, Any]]:
    """One message per content type with every string field filled: ``text(path)`` for the
    free-text fields, ``url(path)`` for the URL fields."""
    return {
        "basic": {
            "content": {
                "previewText": text("previewText"),
                "title": text("title"),
                "basic": {
                    "items": [
                        {"text": text("basic.text")},
                        {
                            "image": {
                                "id": text("image.id"),
                                "url": url("basic.items[1].image.url"),
                                "filename": text("image.filename"),
                            }
                        },
                        {
                            "file": {
                                "id": text("file.id"),
                                "url": url("basic.items[2].file.url"),
                                "filename": text("file.filename"),
                                "mimeType": text("file.mimeType"),
                            }
                        },
                    ]
                },
            },
            "badges": [{"text": text("badge.text"), "iconUrl": url("badges[0].iconUrl")}],
            "targetChannelIds": [text("targetChannelIds")[:100]],
            "sourceChannelId": text("sourceChannelId")[:100],
        },
        "template": {
            "content": {
                "template": {
                    "title": text("template.title"),
                    "textLines": [text("template.textLines")],
                    "imageUrl": url("template.imageUrl"),
                    "buttons": [
                        {
                            "label": text("button.label"),
                            "launchUrl": url("template.buttons[0].launchUrl"),
                        },
                        {
                            "label": text("button2.label"),
                            "postbackProperties": {"interactionId": text("interactionId")},
                        },
                    ],
                }
            }
        },
        "minimal": {
            "content": {
                "minimal": {
                    "text": text("minimal.text"),
                    "url": url("minimal.url"),
                    "iconUrl": url("minimal.iconUrl"),
                }
            }
        },
        "form": {
            "content": {
                "form": {
                    "title": text("form.title"),
                    "description": text("form.description"),
                    "fields": [{"name": text("field.name"), "value": text("field.value")}],
                    "media": [
                        {"image": {"url": url("form.media[0].image.url")}},
                        {"file": {"url": url("form.media[1].file.url"), "filename": text("f")}},
                    ],
                }
            }
        },
    }


# The URL fields of each message of ``rich_messages`` (paths under ``message.content``, badges
# under ``message``).
URL_FIELDS = {
    "basic": ["basic.items[1].image.url", "basic.items[2].file.url", "badges[0].iconUrl"],
    "template": ["template.imageUrl", "template.buttons[0].launchUrl"],
    "minimal": ["minimal.url", "minimal.iconUrl"],
    "form": ["form.media[0].image.url", "form.media[1].file.url"],
}
BAD_URLS = [
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "data:image/png;base64,iVBORw0KGgo=",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
    "ftp://example.com/a.png",
    "/relative/a.png",
    "a.png",
    "//evil.example/a.png",
    "https:/evil.example",
    "http://",
    "https://exa mple.com/a.png",
    "https://example.com\\@evil.example/",
    "https://example.com/\u202egnp.exe",
    "https://<script>/",
]


@pytest.fixture
def conversation(make_conversation: Callable[..., Conversation]) -> Conversation:
    return make_conversation()


def send(
    client: APIClient, conversation: Conversation, message: dict[str, Any], **headers: str
) -> Any:
    body = {
        "conversationId": str(conversation.pk),
        "message": {"direction": "BUSINESS_TO_PARTICIPANT", **message},
    }
    return client.post(f"{API}/messages", body, format="json", **headers)


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


@pytest.mark.django_db
@pytest.mark.parametrize("payload", PAYLOADS)
def test_payloads_in_every_string_field_are_stored_and_listed_as_given(
    app_client: APIClient, conversation: Conversation, payload: str
) -> None:
    for kind, message in rich_messages(
        lambda path: f"{payload} @{path}", lambda path: GOOD_URL
    ).items():
        response = send(app_client, conversation, message)
        assert response.status_code == 200, (kind, response.content)
        sent = response.json()["message"]
        stored = Message.objects.get(pk=sent["id"])
        # Every string given is somewhere in what was stored, unchanged (nothing escaped,
        # stripped or normalised)...
        given = {text for text in strings(message) if payload in text}
        kept = set(strings(stored.content)) | set(strings(stored.badges))
        kept |= set(stored.target_channel_ids) | {stored.source_channel_id or ""}
        assert given <= kept, (kind, given - kept)
        # ...and the list returns exactly what the send returned.
        listed = app_client.get(
            f"{API}/messages",
            {"conversationId": str(conversation.pk), "visibility": "BUSINESS", "paging.limit": 1},
        ).json()["messages"][0]
        assert listed == sent
        assert listed["content"] == stored.content


@pytest.mark.django_db
def test_an_html_idempotency_key_is_just_a_key(
    app_client: APIClient, conversation: Conversation
) -> None:
    message = {"content": {"basic": {"items": [{"text": "once"}]}}}
    key = "<script>alert(1)</script>"
    first = send(app_client, conversation, message, HTTP_IDEMPOTENCY_KEY=key)
    again = send(app_client, conversation, message, HTTP_IDEMPOTENCY_KEY=key)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert Message.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("kind", list(URL_FIELDS))
def test_every_url_field_refuses_unsafe_and_relative_urls(
    app_client: APIClient, conversation: Conversation, kind: str
) -> None:
    base = rich_messages(lambda path: f"text {path}", lambda path: GOOD_URL)[kind]
    assert send(app_client, conversation, copy.deepcopy(base)).status_code == 200
    stored_before = Message.objects.count()
    for field in URL_FIELDS[kind]:
        for bad in BAD_URLS:
            message = rich_messages(
                lambda path: f"text {path}",
                lambda path, field=field, bad=bad: bad if path == field else GOOD_URL,
            )[kind]
            response = send(app_client, conversation, message)
            violations = field_violations(response)
            expected_field = field if field.startswith("badges") else f"content.{field}"
            assert violations == {f"message.{expected_field}": "FORMAT"}, (field, bad, violations)
    assert Message.objects.count() == stored_before


@pytest.mark.django_db
def test_a_visitor_cannot_smuggle_a_url_either(make_visitor: Callable[..., Any]) -> None:
    _, visitor = make_visitor()
    response = visitor.post(
        f"{API}/messages",
        {
            "message": {
                "direction": "PARTICIPANT_TO_BUSINESS",
                "content": {"minimal": {"text": "click", "url": "javascript:alert(1)"}},
            }
        },
        format="json",
    )
    assert field_violations(response) == {"message.content.minimal.url": "FORMAT"}
    assert Message.objects.count() == 0
