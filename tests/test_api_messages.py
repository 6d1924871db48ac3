"""``POST v2/messages`` — send (contract §3.5, §3.6): every content type, sender per ``sendAs``,
``silent``, ``Idempotency-Key``, participants' sends, and that every rejected send writes nothing
and publishes nothing.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.db import transaction
from django.test import override_settings
from rest_framework.test import APIClient

from inbox import services
from inbox.identity import caller_for_app
from inbox.models import App, Conversation, Message, Participant, user_wire_id
from inbox.realtime.groups import business_group
from tests.conftest import (
    API,
    assert_app_error,
    field_violations,
    run_concurrently,
    text_draft,
    text_message,
)

B2P = "BUSINESS_TO_PARTICIPANT"
P2B = "PARTICIPANT_TO_BUSINESS"
PUBLISH_TIMEOUT_S = 10

CONTENTS: dict[str, dict[str, Any]] = {
    "basic text": {"basic": {"items": [{"text": "Hello"}]}},
    "basic image": {
        "basic": {
            "items": [{"image": {"url": "https://example.com/a.png", "width": 10, "height": 20}}]
        }
    },
    "basic file": {
        "basic": {
            "items": [
                {
                    "file": {
                        "url": "https://example.com/a.pdf",
                        "filename": "a.pdf",
                        "mimeType": "application/pdf",
                    }
                }
            ]
        }
    },
    "template": {
        "template": {
            "title": "Sale",
            "textLines": ["20% off"],
            "imageUrl": "https://example.com/sale.png",
            "buttons": [
                {"label": "Shop", "launchUrl": "https://example.com/shop"},
                {"label": "Notify me", "postbackProperties": {"interactionId": "notify"}},
            ],
        }
    },
    "minimal": {"minimal": {"text": "Booked an appointment", "url": "https://example.com/b"}},
    "form": {
        "form": {
            "title": "Contact form",
            "fields": [{"name": "Email", "value": "a@example.com"}],
            "media": [{"image": {"url": "https://example.com/m.png"}}],
        }
    },
}


def conversation_state(conversation_id: Any) -> tuple[Any, ...]:
    conversation = Conversation.objects.get(pk=conversation_id)
    return (
        conversation.last_sequence,
        conversation.last_message_sequence,
        conversation.last_message_preview,
        conversation.last_activity_at,
    )


def all_rows() -> tuple[Any, ...]:
    return (
        Participant.objects.count(),
        list(Conversation.objects.order_by("pk").values()),
        Message.objects.count(),
    )


def send_body(conversation_id: Any, **message: Any) -> dict[str, Any]:
    return {"conversationId": str(conversation_id), "message": text_message(**message)}


# --- accepted sends ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(CONTENTS))
def test_every_sendable_content_type_is_accepted_and_stored(app_client, make_conversation, name):
    conversation = make_conversation()
    response = app_client.post(
        f"{API}/messages",
        {
            "conversationId": str(conversation.pk),
            "message": {"direction": B2P, "content": CONTENTS[name]},
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    message = response.json()["message"]
    key = next(iter(CONTENTS[name]))
    assert message["content"]["contentType"] == key.upper()
    assert message["content"]["previewText"]
    stored = Message.objects.get()
    assert stored.content == message["content"]
    assert stored.content_type == key.upper()
    assert message["id"] == str(stored.pk)
    assert message["visibility"] == "BUSINESS_AND_PARTICIPANT"
    if key == "template":
        template = message["content"]["template"]
        assert template["orientation"] == "PORTRAIT"
        app_id = str(App.objects.get().pk)
        assert template["buttons"][1]["postbackProperties"] == {
            "interactionId": "notify",
            "appId": app_id,
        }


def test_listed_message_equals_the_sent_one(app_client, make_conversation):
    conversation = make_conversation()
    sent = [
        app_client.post(
            f"{API}/messages",
            {"conversationId": str(conversation.pk), "message": {"direction": B2P, "content": c}},
            format="json",
        ).json()["message"]
        for c in CONTENTS.values()
    ]
    listed = app_client.get(
        f"{API}/messages",
        {"conversationId": str(conversation.pk), "visibility": "BUSINESS", "sorting.order": "ASC"},
    ).json()["messages"]
    assert listed == sent


def test_sequences_strictly_increase_within_a_conversation(make_conversation, send):
    conversation = make_conversation()
    sequences = [int(send(conversation.pk, f"m{i}")["sequence"]) for i in range(10)]
    assert sequences == sorted(set(sequences))


def test_concurrent_sends_get_unique_increasing_sequences(concurrent_db, app_key):
    conversation, _ = services.conversation_get_or_create(
        kind=Participant.Kind.CONTACT, external_id=uuid.uuid4()
    )

    def call(index: int) -> dict:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=app_key)
        response = client.post(
            f"{API}/messages", send_body(conversation.pk, text=f"m{index}"), format="json"
        )
        assert response.status_code == 200, response.content
        return response.json()["message"]

    results = run_concurrently(10, call)

    assert len({message["sequence"] for message in results}) == 10
    stored = list(Message.objects.order_by("pk").values_list("sequence", flat=True))
    # Allocated under the conversation's row lock in the inserting transaction: insert order is
    # sequence order.
    assert stored == sorted(stored) and len(set(stored)) == 10
    assert Conversation.objects.get().last_sequence == stored[-1]


def test_visibility_defaults_to_business_and_participant(app_client, make_conversation):
    conversation = make_conversation()
    for visibility in (None, "UNKNOWN_VISIBILITY"):
        message = text_message()
        if visibility is None:
            del message["visibility"]
        else:
            message["visibility"] = visibility
        response = app_client.post(
            f"{API}/messages",
            {"conversationId": str(conversation.pk), "message": message},
            format="json",
        )
        assert response.status_code == 200, response.content
        assert response.json()["message"]["visibility"] == "BUSINESS_AND_PARTICIPANT"


def test_internal_note_keeps_business_visibility(app_client, make_conversation):
    conversation = make_conversation()
    response = app_client.post(
        f"{API}/messages", send_body(conversation.pk, visibility="BUSINESS"), format="json"
    )
    assert response.json()["message"]["visibility"] == "BUSINESS"


@pytest.mark.parametrize("value", [True, False])
def test_send_notifications_is_accepted(app_client, make_conversation, value):
    conversation = make_conversation()
    body = {**send_body(conversation.pk), "sendNotifications": value}
    assert app_client.post(f"{API}/messages", body, format="json").status_code == 200


# --- sender per sendAs -------------------------------------------------------------------------


def test_app_sender_per_send_as(app_client, make_conversation):
    conversation = make_conversation()
    app_id = str(App.objects.get().pk)
    contact_id = str(conversation.participant.contact_id)
    business_user_id = str(uuid.uuid4())
    cases = [
        ({}, {"appId": app_id}),
        ({"sendAs": "CALLER"}, {"appId": app_id}),
        ({"sendAs": "PARTICIPANT"}, {"contactId": contact_id}),
        (
            {"sendAs": "BUSINESS_USER", "businessUserId": business_user_id},
            {"wixUserId": business_user_id},
        ),
    ]
    for extra, sender in cases:
        response = app_client.post(
            f"{API}/messages", {**send_body(conversation.pk), **extra}, format="json"
        )
        assert response.status_code == 200, (extra, response.content)
        message = response.json()["message"]
        assert message["sender"] == sender, extra
        # An app's messages always name the app, whoever they are sent as.
        assert message["appId"] == app_id


def test_staff_sender_per_send_as(staff_client, staff_user, make_conversation):
    conversation = make_conversation(Participant.Kind.ANONYMOUS_VISITOR)
    staff_id = str(user_wire_id(staff_user.pk))
    visitor_id = str(conversation.participant.anonymous_visitor_id)
    cases = [
        ({}, {"wixUserId": staff_id}),
        ({"sendAs": "PARTICIPANT"}, {"anonymousVisitorId": visitor_id}),
        ({"sendAs": "BUSINESS_USER"}, {"wixUserId": staff_id}),
        ({"sendAs": "BUSINESS_USER", "businessUserId": staff_id}, {"wixUserId": staff_id}),
    ]
    for extra, sender in cases:
        response = staff_client.post(
            f"{API}/messages", {**send_body(conversation.pk), **extra}, format="json"
        )
        assert response.status_code == 200, (extra, response.content)
        assert response.json()["message"]["sender"] == sender
        assert "appId" not in response.json()["message"]


def test_staff_cannot_send_as_another_business_user(staff_client, make_conversation):
    conversation = make_conversation()
    body = {**send_body(conversation.pk), "sendAs": "BUSINESS_USER"}
    response = staff_client.post(
        f"{API}/messages", {**body, "businessUserId": str(uuid.uuid4())}, format="json"
    )
    assert_app_error(response, 403, "IDENTITY_DOES_NOT_MATCH")
    assert not Message.objects.exists()


def test_participant_cannot_send_as_business_user(db, make_visitor):
    _, visitor = make_visitor()
    body = {
        "message": text_message(direction=P2B),
        "sendAs": "BUSINESS_USER",
        "businessUserId": str(uuid.uuid4()),
    }
    response = visitor.post(f"{API}/messages", body, format="json")
    assert_app_error(response, 403, "IDENTITY_DOES_NOT_MATCH")
    assert not Message.objects.exists()


def test_participant_senders(member_client, member_user, make_visitor):
    member = member_client.post(
        f"{API}/messages", {"message": text_message(direction=P2B)}, format="json"
    )
    assert member.status_code == 200, member.content
    assert member.json()["message"]["sender"] == {"memberId": str(user_wire_id(member_user.pk))}
    visitor_id, visitor = make_visitor()
    sent = visitor.post(f"{API}/messages", {"message": text_message(direction=P2B)}, format="json")
    assert sent.status_code == 200, sent.content
    assert sent.json()["message"]["sender"] == {"anonymousVisitorId": str(visitor_id)}


def test_business_user_needs_business_user_id(app_client, make_conversation):
    conversation = make_conversation()
    response = app_client.post(
        f"{API}/messages", {**send_body(conversation.pk), "sendAs": "BUSINESS_USER"}, format="json"
    )
    assert field_violations(response) == {"businessUserId": "REQUIRED_FIELD"}


# --- silent ------------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["message", "request"])
def test_silent_leaves_the_conversation_summary_alone(app_client, make_conversation, send, where):
    conversation = make_conversation()
    first = send(conversation.pk, "visible")
    summary = Conversation.objects.get(pk=conversation.pk)
    body = send_body(conversation.pk, text="quiet")
    if where == "message":
        body["message"]["silent"] = True
    else:
        body["silent"] = True
    response = app_client.post(f"{API}/messages", body, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["message"]["silent"] is True
    after = Conversation.objects.get(pk=conversation.pk)
    assert after.last_message_sequence == int(first["sequence"])
    assert after.last_message_preview == "visible"
    assert after.last_activity_at == summary.last_activity_at
    assert after.last_message_direction == summary.last_message_direction
    # The silent message still took the next sequence.
    assert after.last_sequence == int(response.json()["message"]["sequence"])
    assert after.last_sequence > after.last_message_sequence


def test_a_loud_message_updates_the_summary(make_conversation, send):
    conversation = make_conversation()
    message = send(conversation.pk, "loud", visibility="BUSINESS")
    after = Conversation.objects.get(pk=conversation.pk)
    assert after.last_message_sequence == after.last_sequence == int(message["sequence"])
    assert after.last_message_preview == "loud"
    assert after.last_message_visibility == "BUSINESS"
    assert after.last_message_direction == B2P
    assert after.last_activity_at is not None


# --- Idempotency-Key ---------------------------------------------------------------------------


def test_idempotency_key_replays_the_original_message(app_client, make_conversation):
    conversation = make_conversation()
    body = send_body(conversation.pk, text="once")
    first = app_client.post(f"{API}/messages", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    state = conversation_state(conversation.pk)
    retry = app_client.post(f"{API}/messages", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == retry.status_code == 200
    assert retry.json() == first.json()
    assert Message.objects.count() == 1
    assert conversation_state(conversation.pk) == state
    # The same request spelled in snake_case is the same request.
    snake = {"conversation_id": body["conversationId"], "message": body["message"]}
    again = app_client.post(f"{API}/messages", snake, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert again.json() == first.json()
    assert Message.objects.count() == 1


def send_with_key(client, conversation, text):
    """A send of ``text`` under the Idempotency-Key ``k``."""
    return client.post(
        f"{API}/messages",
        send_body(conversation.pk, text=text),
        format="json",
        HTTP_IDEMPOTENCY_KEY="k",
    )


def test_idempotency_key_reused_with_another_body_is_409(app_client, make_conversation):
    conversation = make_conversation()
    first = send_with_key(app_client, conversation, "a")
    assert first.status_code == 200
    state = conversation_state(conversation.pk)
    other = send_with_key(app_client, conversation, "b")
    assert_app_error(other, 409, "IDEMPOTENCY_KEY_REUSED")
    assert Message.objects.count() == 1
    assert conversation_state(conversation.pk) == state


def test_idempotency_keys_belong_to_their_caller(app_client, staff_client, make_conversation):
    conversation = make_conversation()
    body = send_body(conversation.pk)
    by_app = app_client.post(f"{API}/messages", body, format="json", HTTP_IDEMPOTENCY_KEY="shared")
    by_staff = staff_client.post(
        f"{API}/messages", body, format="json", HTTP_IDEMPOTENCY_KEY="shared"
    )
    assert by_app.status_code == by_staff.status_code == 200
    assert by_app.json()["message"]["id"] != by_staff.json()["message"]["id"]
    assert Message.objects.count() == 2


@pytest.mark.parametrize("key", ["", "x" * 256, "ключ", "a\tb"])
def test_malformed_idempotency_key_is_a_field_violation(app_client, make_conversation, key):
    conversation = make_conversation()
    response = app_client.post(
        f"{API}/messages", send_body(conversation.pk), format="json", HTTP_IDEMPOTENCY_KEY=key
    )
    assert field_violations(response) == {"Idempotency-Key": "FORMAT"}
    assert Message.objects.count() == 0


def test_concurrent_retries_with_one_key_store_one_message(concurrent_db, app_key):
    conversation, _ = services.conversation_get_or_create(
        kind=Participant.Kind.CONTACT, external_id=uuid.uuid4()
    )
    body = send_body(conversation.pk, text="retry storm")

    def call(_index: int) -> dict:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=app_key)
        response = client.post(
            f"{API}/messages", body, format="json", HTTP_IDEMPOTENCY_KEY="storm-1"
        )
        assert response.status_code == 200, response.content
        return response.json()["message"]

    results = run_concurrently(10, call)

    assert len({message["id"] for message in results}) == 1
    assert Message.objects.count() == 1


# --- participants (§3.6) -----------------------------------------------------------------------


def test_visitors_first_message_creates_its_conversation(db, make_visitor):
    visitor_id, visitor = make_visitor()
    assert Conversation.objects.count() == 0
    response = visitor.post(
        f"{API}/messages", {"message": text_message("hi", direction=P2B)}, format="json"
    )
    assert response.status_code == 200, response.content
    conversation = Conversation.objects.get()
    assert conversation.participant.anonymous_visitor_id == visitor_id
    again = visitor.post(
        f"{API}/messages",
        {"conversationId": str(conversation.pk), "message": text_message("again", direction=P2B)},
        format="json",
    )
    assert again.status_code == 200, again.content
    assert Conversation.objects.count() == 1
    listed = visitor.get(
        f"{API}/messages",
        {"conversationId": str(conversation.pk), "visibility": "BUSINESS_AND_PARTICIPANT"},
    )
    assert [m["id"] for m in listed.json()["messages"]] == [
        again.json()["message"]["id"],
        response.json()["message"]["id"],
    ]


def test_business_callers_must_name_the_conversation(app_client):
    response = app_client.post(f"{API}/messages", {"message": text_message()}, format="json")
    assert field_violations(response) == {"conversationId": "REQUIRED_FIELD"}


# --- every rejected send writes nothing and publishes nothing ----------------------------------


def with_content(content: Any) -> Callable[[str], dict[str, Any]]:
    return lambda cid: {"conversationId": cid, "message": {"direction": B2P, "content": content}}


def with_message(**changes: Any) -> Callable[[str], dict[str, Any]]:
    def build(cid: str) -> dict[str, Any]:
        message = text_message()
        for key, value in changes.items():
            if value is ...:
                message.pop(key, None)
            else:
                message[key] = value
        return {"conversationId": cid, "message": message}

    return build


def with_request(**changes: Any) -> Callable[[str], dict[str, Any]]:
    return lambda cid: {**send_body(cid), **changes}


BUTTONS = [{"label": f"b{i}", "launchUrl": "https://example.com"} for i in range(11)]
FIELDS = [{"name": f"f{i}", "value": "v"} for i in range(16)]
MEDIA = [{"image": {"url": "https://example.com/i.png"}} for _ in range(16)]

# (id, who sends, body builder, expected status, expected field or application code)
REJECTED: list[tuple[str, str, Callable[[str], Any], int, str]] = [
    ("system", "app", with_content({"system": {"text": "x"}}), 400, "message.content.system"),
    ("no payload", "app", with_content({"previewText": "x"}), 400, "message.content"),
    ("content missing", "app", with_message(content=...), 400, "message.content"),
    ("content not object", "app", with_message(content="hello"), 400, "message.content"),
    (
        "two payloads",
        "app",
        with_content({"basic": {"items": [{"text": "a"}]}, "minimal": {"text": "b"}}),
        400,
        "message.content",
    ),
    (
        "unknown field in oneof",
        "app",
        with_content({"basic": {"items": [{"text": "a", "video": {"url": "https://x.y"}}]}}),
        400,
        "message.content.basic.items[0].video",
    ),
    (
        "unknown payload",
        "app",
        with_content({"video": {"url": "https://example.com/v.mp4"}}),
        400,
        "message.content.video",
    ),
    (
        "javascript url in image",
        "app",
        with_content({"basic": {"items": [{"image": {"url": "javascript:alert(1)"}}]}}),
        400,
        "message.content.basic.items[0].image.url",
    ),
    (
        "javascript url in button",
        "app",
        with_content(
            {"template": {"title": "t", "buttons": [{"label": "x", "launchUrl": "javascript:x"}]}}
        ),
        400,
        "message.content.template.buttons[0].launchUrl",
    ),
    (
        "data url",
        "app",
        with_content({"minimal": {"text": "t", "iconUrl": "data:image/png;base64,AAAA"}}),
        400,
        "message.content.minimal.iconUrl",
    ),
    (
        "relative url",
        "app",
        with_content({"basic": {"items": [{"file": {"url": "/media/a.pdf"}}]}}),
        400,
        "message.content.basic.items[0].file.url",
    ),
    (
        "scheme-relative url",
        "app",
        with_content({"template": {"title": "t", "imageUrl": "//evil.example/a.png"}}),
        400,
        "message.content.template.imageUrl",
    ),
    (
        "oversize text",
        "app",
        with_content({"basic": {"items": [{"text": "x" * 16385}]}}),
        400,
        "message.content.basic.items[0].text",
    ),
    (
        "oversize preview",
        "app",
        with_content({"previewText": "x" * 257, "basic": {"items": [{"text": "a"}]}}),
        400,
        "message.content.previewText",
    ),
    (
        "11 buttons",
        "app",
        with_content({"template": {"title": "t", "buttons": BUTTONS}}),
        400,
        "message.content.template.buttons",
    ),
    (
        "11 text lines",
        "app",
        with_content({"template": {"textLines": ["l"] * 11}}),
        400,
        "message.content.template.textLines",
    ),
    (
        "513-char text line",
        "app",
        with_content({"template": {"textLines": ["l" * 513]}}),
        400,
        "message.content.template.textLines[0]",
    ),
    (
        "no form fields",
        "app",
        with_content({"form": {"fields": []}}),
        400,
        "message.content.form.fields",
    ),
    (
        "16 form fields",
        "app",
        with_content({"form": {"fields": FIELDS}}),
        400,
        "message.content.form.fields",
    ),
    (
        "16 media",
        "app",
        with_content({"form": {"fields": FIELDS[:1], "media": MEDIA}}),
        400,
        "message.content.form.media",
    ),
    ("2 badges", "app", with_message(badges=[{"text": "a"}, {"text": "b"}]), 400, "message.badges"),
    (
        "items not a list",
        "app",
        with_content({"basic": {"items": {"text": "a"}}}),
        400,
        "message.content.basic.items",
    ),
    (
        "text not a string",
        "app",
        with_content({"basic": {"items": [{"text": 42}]}}),
        400,
        "message.content.basic.items[0].text",
    ),
    ("direction missing", "app", with_message(direction=...), 400, "message.direction"),
    (
        "UNKNOWN_DIRECTION",
        "app",
        with_message(direction="UNKNOWN_DIRECTION"),
        400,
        "message.direction",
    ),
    ("direction number", "app", with_message(direction=1), 400, "message.direction"),
    ("bad visibility", "app", with_message(visibility="EVERYONE"), 400, "message.visibility"),
    ("silent not bool", "app", with_message(silent=[1]), 400, "message.silent"),
    (
        "message not object",
        "app",
        lambda cid: {"conversationId": cid, "message": [1]},
        400,
        "message",
    ),
    ("message missing", "app", lambda cid: {"conversationId": cid}, 400, "message"),
    ("bad sendAs", "app", with_request(sendAs="ROBOT"), 400, "sendAs"),
    (
        "BUSINESS_USER without id",
        "app",
        with_request(sendAs="BUSINESS_USER"),
        400,
        "businessUserId",
    ),
    ("non-GUID conversation", "app", lambda cid: send_body("nope"), 400, "conversationId"),
    (
        "unknown conversation",
        "app",
        lambda cid: send_body(uuid.uuid4()),
        404,
        "CONVERSATION_NOT_FOUND",
    ),
    ("staff without perms", "staff_no_perms", lambda cid: send_body(cid), 403, "PERMISSION_DENIED"),
    ("no credentials", "anonymous", lambda cid: send_body(cid), 401, "UNAUTHENTICATED"),
    (
        "participant sends as business",
        "visitor",
        lambda cid: {"message": text_message(direction=B2P)},
        403,
        "IDENTITY_DOES_NOT_MATCH",
    ),
    (
        "participant writes an internal note",
        "visitor",
        lambda cid: {"message": text_message(direction=P2B, visibility="BUSINESS")},
        403,
        "IDENTITY_DOES_NOT_MATCH",
    ),
    (
        "participant into another conversation",
        "visitor",
        lambda cid: send_body(cid, direction=P2B),
        403,
        "NOT_JOINED_CHATROOM",
    ),
    (
        "participant with invalid content",
        "visitor",
        lambda cid: {"message": {"direction": P2B, "content": {"system": {"text": "x"}}}},
        400,
        "message.content.system",
    ),
]


@pytest.fixture
def isolated_groups(settings):
    """A group prefix of this test's own, so that events of other tests (or other processes on a
    shared Redis) never reach the probe."""
    settings.INBOX = {**settings.INBOX, "GROUP_PREFIX": f"test{uuid.uuid4().hex}"}


@pytest.fixture
def business_stream(
    isolated_groups, django_capture_on_commit_callbacks, app_client, make_conversation
):
    """Run a request and report what the service layer scheduled and published for it.

    Returns ``(response, rows right after it, on-commit callbacks it scheduled, first event
    published after it)``; the first event is read after a known-good "sentinel" send, so a
    rejected request that published anything would show up before the sentinel's event.
    """
    sentinel_conversation = make_conversation()

    def probe(request: Callable[[], Any]) -> tuple[Any, Any, list[Any], dict[str, Any]]:
        def run_request() -> tuple[Any, Any, list[Any]]:
            with django_capture_on_commit_callbacks(execute=True) as callbacks:
                response = request()
            return response, all_rows(), list(callbacks)

        def run_sentinel() -> str:
            with django_capture_on_commit_callbacks(execute=True):
                response = app_client.post(
                    f"{API}/messages",
                    send_body(sentinel_conversation.pk, text="sentinel"),
                    format="json",
                )
            assert response.status_code == 200, response.content
            return response.json()["message"]

        async def run() -> tuple[Any, Any, list[Any], dict[str, Any], dict[str, Any]]:
            layer = get_channel_layer()
            channel = await layer.new_channel()
            await layer.group_add(business_group(), channel)
            try:
                response, rows, callbacks = await sync_to_async(run_request)()
                sentinel = await sync_to_async(run_sentinel)()
                first = await asyncio.wait_for(layer.receive(channel), PUBLISH_TIMEOUT_S)
            finally:
                await layer.group_discard(business_group(), channel)
            return response, rows, callbacks, first["event"], sentinel

        response, rows, callbacks, first_event, sentinel = async_to_sync(run)()
        # Compared whole: ids alone can repeat (SQLite reuses the rowid of a rolled-back insert).
        probe.sentinel = {  # type: ignore[attr-defined]
            "conversationId": str(sentinel_conversation.pk),
            "message": sentinel,
        }
        return response, rows, callbacks, first_event

    return probe


def test_an_accepted_send_is_published(business_stream, app_client, make_conversation):
    """The probe's positive control: a good send does reach the business group."""
    conversation = make_conversation()
    response, _, callbacks, event = business_stream(
        lambda: app_client.post(f"{API}/messages", send_body(conversation.pk), format="json")
    )
    assert response.status_code == 200
    assert callbacks
    assert event["entityId"] == response.json()["message"]["id"]
    assert event["data"]["message"] == response.json()["message"]


@pytest.mark.parametrize(
    ("who", "build", "status", "expected"),
    [case[1:] for case in REJECTED],
    ids=[case[0] for case in REJECTED],
)
def test_rejected_send_writes_and_publishes_nothing(
    business_stream,
    app_client,
    make_user,
    make_visitor,
    make_conversation,
    who,
    build,
    status,
    expected,
):
    conversation = make_conversation()
    if who == "app":
        client = app_client
    elif who == "staff_no_perms":
        client = APIClient()
        client.force_login(make_user(staff=True, perms=False))
    elif who == "visitor":
        _, client = make_visitor()
    else:
        client = APIClient()
    body = build(str(conversation.pk))
    before = all_rows()

    response, after, callbacks, first_event = business_stream(
        lambda: client.post(f"{API}/messages", body, format="json")
    )

    if status == 400:
        assert expected in field_violations(response), response.json()
    else:
        assert_app_error(response, status, expected)
    assert after == before
    assert callbacks == []
    assert first_event["data"] == business_stream.sentinel


def test_idempotency_conflict_writes_and_publishes_nothing(
    business_stream, app_client, make_conversation
):
    conversation = make_conversation()
    first = send_with_key(app_client, conversation, "a")
    assert first.status_code == 200
    before = all_rows()
    response, after, callbacks, first_event = business_stream(
        lambda: send_with_key(app_client, conversation, "b")
    )
    assert_app_error(response, 409, "IDEMPOTENCY_KEY_REUSED")
    assert after == before
    assert callbacks == []
    assert first_event["data"] == business_stream.sentinel


def test_idempotent_replay_publishes_nothing_again(business_stream, app_client, make_conversation):
    conversation = make_conversation()
    body = send_body(conversation.pk)
    app_client.post(f"{API}/messages", body, format="json", HTTP_IDEMPOTENCY_KEY="k")
    response, after, callbacks, first_event = business_stream(
        lambda: app_client.post(f"{API}/messages", body, format="json", HTTP_IDEMPOTENCY_KEY="k")
    )
    assert response.status_code == 200
    assert callbacks == []
    assert first_event["data"] == business_stream.sentinel


def test_oversize_send_writes_and_publishes_nothing(
    business_stream, app_client, make_conversation, settings
):
    conversation = make_conversation()
    before = all_rows()
    body = json.dumps(send_body(conversation.pk, text="x" * 5000))
    with override_settings(
        INBOX={
            **settings.INBOX,
            "MAX_BODY_BYTES": 1024,
        }
    ):
        response, after, callbacks, first_event = business_stream(
            lambda: app_client.post(f"{API}/messages", body, content_type="application/json")
        )
    assert_app_error(response, 413, "PAYLOAD_TOO_LARGE")
    assert after == before
    assert callbacks == []
    assert first_event["data"] == business_stream.sentinel


def test_a_send_whose_transaction_rolls_back_publishes_nothing(business_stream, make_conversation):
    """Events leave after commit only: a send inside a transaction that then fails is never
    seen on the stream."""
    conversation = make_conversation()
    caller = caller_for_app(App.objects.get())

    def rolled_back() -> None:
        with pytest.raises(RuntimeError), transaction.atomic():
            services.message_send(
                caller=caller,
                conversation=conversation,
                draft=text_draft("never", direction=B2P),
            )
            raise RuntimeError("the surrounding work failed")

    _, _, callbacks, first_event = business_stream(rolled_back)
    assert callbacks == []
    assert first_event["data"] == business_stream.sentinel
    assert not Message.objects.filter(conversation=conversation).exists()
