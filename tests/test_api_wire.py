"""Wire rules (contract §3.1, §4): status codes, query forms, key spellings, value formats, error
envelopes, and that bad input of any kind gets the envelope (never a 500, never HTML).
"""

from __future__ import annotations

import base64
import json
import re
import uuid

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from inbox.models import Conversation, Message, Participant
from tests.conftest import API, assert_app_error, field_violations, text_message

CRM_API = "/crm/inbox/v2"
ISO_MILLIS_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def encode_r(request: object) -> str:
    """Wix's SDK form: base64url of the JSON request, padding stripped."""
    return base64.urlsafe_b64encode(json.dumps(request).encode()).decode().rstrip("=")


def row_counts() -> tuple[int, int, int]:
    return Participant.objects.count(), Conversation.objects.count(), Message.objects.count()


# --- 200 for every success ---------------------------------------------------------------------


@pytest.mark.parametrize("prefix", [API, CRM_API])
def test_every_success_is_200_with_a_json_body(app_client, api, prefix):
    created = app_client.post(
        f"{prefix}/conversations",
        {"participantId": {"contactId": str(uuid.uuid4())}},
        format="json",
    )
    conversation_id = created.json()["conversation"]["id"]
    responses = [
        created,
        app_client.get(f"{prefix}/conversations/{conversation_id}"),
        app_client.post(
            f"{prefix}/messages",
            {"conversationId": conversation_id, "message": text_message()},
            format="json",
        ),
        app_client.get(
            f"{prefix}/messages", {"conversationId": conversation_id, "visibility": "BUSINESS"}
        ),
        api.post(f"{prefix}/visitors", format="json"),
    ]
    for response in responses:
        assert response.status_code == 200, (response.request["PATH_INFO"], response.content)
        assert response["Content-Type"] == "application/json"
        assert isinstance(response.json(), dict)


# --- GET parameters: flat, dotted, .r ----------------------------------------------------------


@pytest.fixture
def five_messages(make_conversation, send):
    conversation = make_conversation()
    for index in range(5):
        send(conversation.pk, f"m{index}")
    return conversation


def listed_texts(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [m["content"]["basic"]["items"][0]["text"] for m in response.json()["messages"]]


def test_flat_dotted_and_r_query_forms_mean_the_same(app_client, five_messages):
    conversation_id = str(five_messages.pk)
    request = {
        "conversationId": conversation_id,
        "visibility": "BUSINESS",
        "paging": {"limit": 2},
        "sorting": {"fieldName": "sequence", "order": "ASC"},
    }
    dotted = app_client.get(
        f"{API}/messages",
        {
            "conversationId": conversation_id,
            "visibility": "BUSINESS",
            "paging.limit": "2",
            "sorting.fieldName": "sequence",
            "sorting.order": "ASC",
        },
    )
    sdk_form = app_client.get(f"{API}/messages", {".r": encode_r(request)})
    snake_dotted = app_client.get(
        f"{API}/messages",
        {
            "conversation_id": conversation_id,
            "visibility": "BUSINESS",
            "paging.limit": "2",
            "sorting.field_name": "sequence",
            "sorting.order": "ASC",
        },
    )
    assert listed_texts(dotted) == ["m0", "m1"]
    assert listed_texts(sdk_form) == ["m0", "m1"]
    assert listed_texts(snake_dotted) == ["m0", "m1"]
    flat = app_client.get(
        f"{API}/messages", {"conversationId": conversation_id, "visibility": "BUSINESS"}
    )
    assert listed_texts(flat) == ["m4", "m3", "m2", "m1", "m0"]


def test_r_form_carries_the_cursor_like_the_sdk_does(app_client, five_messages):
    request = {
        "conversationId": str(five_messages.pk),
        "visibility": "BUSINESS",
        "paging": {"limit": 3},
    }
    first = app_client.get(f"{API}/messages", {".r": encode_r(request)})
    cursor = first.json()["pagingMetadata"]["cursors"]["next"]
    second = app_client.get(
        f"{API}/messages", {".r": encode_r({**request, "paging": {"limit": 3, "cursor": cursor}})}
    )
    assert listed_texts(first) == ["m4", "m3", "m2"]
    assert listed_texts(second) == ["m1", "m0"]


@pytest.mark.parametrize(
    "value",
    [
        "%%%not-base64%%%",
        "a",  # impossible base64 length
        base64.urlsafe_b64encode(b"not json").decode().rstrip("="),
        base64.urlsafe_b64encode(b"\xff\xfe\xfa").decode().rstrip("="),
        encode_r(["conversationId"]),
        encode_r("conversationId"),
        encode_r(None),
        "ä",
        "",
    ],
)
def test_malformed_r_is_a_400_envelope(app_client, five_messages, value):
    response = app_client.get(f"{API}/messages", {".r": value})
    assert ".r" in field_violations(response)


def test_r_with_wrong_types_inside_is_a_field_violation(app_client, five_messages):
    request = {
        "conversationId": str(five_messages.pk),
        "visibility": "BUSINESS",
        "paging": "ten",
        "sorting": {"order": "UPWARDS"},
    }
    violations = field_violations(app_client.get(f"{API}/messages", {".r": encode_r(request)}))
    assert set(violations) == {"paging", "sorting.order"}


# --- camelCase and snake_case input ------------------------------------------------------------


def test_send_accepts_snake_case_like_wix_examples(app_client, make_conversation):
    conversation = make_conversation()
    response = app_client.post(
        f"{API}/messages",
        {
            "conversation_id": str(conversation.pk),
            "send_as": "PARTICIPANT",
            "send_notifications": True,
            "typing_delay": 0,
            "message": {
                "direction": "PARTICIPANT_TO_BUSINESS",
                "visibility": "BUSINESS_AND_PARTICIPANT",
                "target_channels": ["CHAT"],
                "source_channel": "CHAT",
                "badges": [{"text": "auto", "badge_visibility": "BUSINESS", "icon_url": ""}],
                "content": {
                    "preview_text": "A preview",
                    "template": {
                        "title": "Card",
                        "text_lines": ["one"],
                        "image_url": "https://example.com/a.png",
                        "buttons": [{"label": "Go", "launch_url": "https://example.com"}],
                    },
                },
            },
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    message = response.json()["message"]
    assert message["sender"] == {"contactId": str(conversation.participant.contact_id)}
    assert message["targetChannels"] == ["CHAT"]
    assert message["sourceChannel"] == "CHAT"
    assert message["badges"] == [{"text": "auto", "badgeVisibility": "BUSINESS"}]
    content = message["content"]
    assert content["previewText"] == "A preview"
    assert content["template"]["textLines"] == ["one"]
    assert content["template"]["imageUrl"] == "https://example.com/a.png"
    assert content["template"]["buttons"][0]["launchUrl"] == "https://example.com"
    assert content["contentType"] == "TEMPLATE"


# --- value formats -----------------------------------------------------------------------------


def test_int64_as_strings_timestamps_with_millis_and_z_repeated_fields_present(
    app_client, make_conversation, send
):
    conversation = make_conversation()
    sent = send(conversation.pk)
    listed = app_client.get(
        f"{API}/messages", {"conversationId": str(conversation.pk), "visibility": "BUSINESS"}
    ).json()["messages"][0]
    for message in (sent, listed):
        assert isinstance(message["sequence"], str) and message["sequence"].isdigit()
        assert isinstance(message["id"], str)
        assert ISO_MILLIS_Z.match(message["createdDate"]), message["createdDate"]
        assert message["badges"] == []
        assert message["targetChannels"] == []
        assert message["targetChannelIds"] == []
        assert message["sourceChannel"] == "UNKNOWN_CHANNEL_TYPE"
        assert message["silent"] is False
    assert listed == sent
    stored = Message.objects.get()
    assert sent["sequence"] == str(stored.sequence)
    # Wix's sequences are microseconds since the epoch; createdDate is the same instant.
    assert sent["createdDate"].startswith(stored.created_at.strftime("%Y-%m-%dT%H:%M:%S"))


# --- errors ------------------------------------------------------------------------------------


def test_validation_errors_carry_field_paths(app_client, make_conversation):
    conversation = make_conversation()
    response = app_client.post(
        f"{API}/messages",
        {
            "conversationId": str(conversation.pk),
            "message": {
                "direction": "BUSINESS_TO_PARTICIPANT",
                "content": {"basic": {"items": [{"text": ""}, {"image": {"url": "ftp://x/y"}}]}},
            },
        },
        format="json",
    )
    violations = field_violations(response)
    assert violations == {
        "message.content.basic.items[0].text": "MIN_LENGTH",
        "message.content.basic.items[1].image.url": "FORMAT",
    }
    body = response.json()
    assert body["message"].startswith("message.content.basic.items[0].text")
    for violation in body["details"]["validationError"]["fieldViolations"]:
        assert violation["ruleName"] == "VALIDATION_ERROR"
        assert violation["data"] == {}


@pytest.mark.parametrize("prefix", [API, CRM_API])
def test_unknown_conversation_is_404_on_every_endpoint(app_client, prefix):
    unknown = str(uuid.uuid4())
    responses = [
        app_client.get(f"{prefix}/conversations/{unknown}"),
        app_client.get(f"{prefix}/messages", {"conversationId": unknown, "visibility": "BUSINESS"}),
        app_client.post(
            f"{prefix}/messages",
            {"conversationId": unknown, "message": text_message()},
            format="json",
        ),
    ]
    for response in responses:
        assert_app_error(response, 404, "CONVERSATION_NOT_FOUND")
    assert row_counts() == (0, 0, 0)


def test_malformed_ids_are_field_violations_everywhere(app_client):
    assert field_violations(app_client.get(f"{API}/conversations/12345")) == {
        "conversationId": "FORMAT"
    }
    listed = app_client.get(
        f"{API}/messages", {"conversationId": "12345", "visibility": "BUSINESS"}
    )
    assert field_violations(listed) == {"conversationId": "FORMAT"}
    listed_r = app_client.get(
        f"{API}/messages", {".r": encode_r({"conversationId": 12345, "visibility": "BUSINESS"})}
    )
    assert field_violations(listed_r) == {"conversationId": "FORMAT"}
    sent = app_client.post(
        f"{API}/messages", {"conversationId": "12345", "message": text_message()}, format="json"
    )
    assert field_violations(sent) == {"conversationId": "FORMAT"}
    sent_number = app_client.post(
        f"{API}/messages", {"conversationId": 12345, "message": text_message()}, format="json"
    )
    assert field_violations(sent_number) == {"conversationId": "FORMAT"}
    assert row_counts() == (0, 0, 0)


def test_list_requires_conversation_id_and_visibility(app_client):
    response = app_client.get(f"{API}/messages")
    assert field_violations(response) == {
        "conversationId": "REQUIRED_FIELD",
        "visibility": "REQUIRED_FIELD",
    }
    wrong = app_client.get(
        f"{API}/messages", {"conversationId": str(uuid.uuid4()), "visibility": "EVERYONE"}
    )
    assert field_violations(wrong) == {"visibility": "INVALID_ENUM_VALUE"}


# --- 413 ---------------------------------------------------------------------------------------


def test_oversize_body_is_413_and_writes_nothing(app_client, make_conversation):
    conversation = make_conversation()
    before = row_counts()
    body = {"conversationId": str(conversation.pk), "message": text_message("x" * 3000)}
    with override_settings(INBOX={"MAX_BODY_BYTES": 2048}):
        too_big = app_client.post(f"{API}/messages", body, format="json")
        small = app_client.post(
            f"{API}/messages",
            {"conversationId": str(conversation.pk), "message": text_message("ok")},
            format="json",
        )
    assert_app_error(too_big, 413, "PAYLOAD_TOO_LARGE")
    assert small.status_code == 200, small.content
    assert row_counts() == (before[0], before[1], before[2] + 1)


def test_default_body_limit_is_512_kib(app_client, make_conversation):
    conversation = make_conversation()
    body = json.dumps(
        {"conversationId": str(conversation.pk), "message": text_message("x" * (600 * 1024))}
    )
    response = app_client.post(f"{API}/messages", body, content_type="application/json")
    assert_app_error(response, 413, "PAYLOAD_TOO_LARGE")
    assert Message.objects.count() == 0


# --- never a 500, never HTML -------------------------------------------------------------------


def assert_envelope(response, status: int) -> None:
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) == {"message", "details"}, body
    assert body["details"], body


@pytest.mark.parametrize("prefix", ["/inbox", "/crm/inbox"])
@pytest.mark.parametrize(
    "path",
    ["/v2/nothing", "/v3/messages", "/v2/messages/123", "/v2/conversations/a/b", "/", "/v2"],
)
@pytest.mark.parametrize("method", ["get", "post", "put", "delete"])
def test_unknown_paths_answer_404_in_the_envelope(app_client, prefix, path, method):
    response = getattr(app_client, method)(f"{prefix}{path}", HTTP_ACCEPT="text/html")
    assert_envelope(response, 404)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("delete", "/v2/messages"),
        ("put", "/v2/messages"),
        ("patch", "/v2/conversations/{id}"),
        ("delete", "/v2/conversations/{id}"),
        ("post", "/v2/conversations/{id}"),
        ("get", "/v2/visitors"),
    ],
)
def test_wrong_method_is_405_in_the_envelope(app_client, make_conversation, method, path):
    conversation = make_conversation()
    response = getattr(app_client, method)(
        "/inbox" + path.format(id=conversation.pk), HTTP_ACCEPT="text/html"
    )
    assert_envelope(response, 405)
    assert response.json()["details"]["applicationError"]["code"] == "METHOD_NOT_ALLOWED"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"{not json", "application/json"),
        (b"[1, 2, 3]", "application/json"),
        (b'"a string"', "application/json"),
        (b"42", "application/json"),
        (b"null", "application/json"),
        (b"\xff\xfe{}", "application/json"),
        (b"conversationId=1&message=2", "application/x-www-form-urlencoded"),
        (b"<xml/>", "text/xml"),
        (b'{"conversationId": "a"', "text/plain"),
    ],
)
@pytest.mark.parametrize("endpoint", ["/v2/messages", "/v2/conversations"])
def test_non_json_object_bodies_are_400_in_the_envelope(app_client, body, content_type, endpoint):
    response = app_client.generic(
        "POST", "/inbox" + endpoint, body, content_type=content_type, HTTP_ACCEPT="text/html"
    )
    assert response.status_code == 400, response.content
    assert response["Content-Type"].startswith("application/json")
    assert set(response.json()) == {"message", "details"}
    assert row_counts() == (0, 0, 0)


def test_accept_html_still_gets_json(app_client, make_conversation):
    conversation = make_conversation()
    for accept in ("text/html", "application/xml", "*/*", "text/html;q=1, application/json;q=0.1"):
        response = app_client.get(f"{API}/conversations/{conversation.pk}", HTTP_ACCEPT=accept)
        assert response.status_code == 200, response.content
        assert response["Content-Type"] == "application/json"
        error = app_client.get(f"{API}/conversations/{uuid.uuid4()}", HTTP_ACCEPT=accept)
        assert_envelope(error, 404)


def test_unauthenticated_html_client_gets_json_401(api, db):
    response = api.get(f"{API}/conversations/{uuid.uuid4()}", HTTP_ACCEPT="text/html")
    assert_envelope(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_bad_input_never_reaches_500(app_client, make_conversation):
    """A sweep of odd values in every send field: each is a 4xx envelope, nothing is written."""
    conversation = make_conversation()
    odd_values = [None, 0, -1, 1.5, True, "", "x", [], {}, [None], {"a": None}, "\u0000", "ä" * 50]
    fields = ["conversationId", "message", "sendAs", "silent", "sendNotifications", "typingDelay"]
    message_fields = ["direction", "visibility", "silent", "content", "badges", "targetChannels"]
    before = row_counts()
    for value in odd_values:
        for field in fields:
            body = {"conversationId": str(conversation.pk), "message": text_message()}
            body[field] = value
            response = app_client.post(f"{API}/messages", body, format="json")
            assert response.status_code < 500, (field, value, response.content)
            assert response["Content-Type"].startswith("application/json")
        for field in message_fields:
            message = text_message()
            message[field] = value
            response = app_client.post(
                f"{API}/messages",
                {"conversationId": str(conversation.pk), "message": message},
                format="json",
            )
            assert response.status_code < 500, (field, value, response.content)
            assert response["Content-Type"].startswith("application/json")
    # Only sends whose odd value is harmless (e.g. silent=False) were stored.
    assert row_counts()[:2] == before[:2]


@pytest.mark.parametrize(
    "params",
    [
        {"visibility": "BUSINESS", "paging.limit": "many"},
        {"visibility": "BUSINESS", "paging.limit": "-1"},
        {"visibility": "BUSINESS", "paging.limit": "1e9"},
        {"visibility": "BUSINESS", "sorting.order": "SIDEWAYS"},
        {"visibility": "BUSINESS", "sorting.fieldName": "createdDate"},
        {"visibility": "BUSINESS", "paging.cursor": "x" * 16001},
        {"visibility": "BUSINESS", "paging": "1"},
        {"visibility": "BUSINESS_AND_EVERYONE"},
        {"visibility": ""},
    ],
)
def test_bad_list_parameters_are_field_violations(app_client, make_conversation, params):
    conversation = make_conversation()
    response = app_client.get(f"{API}/messages", {"conversationId": str(conversation.pk), **params})
    assert field_violations(response)


def test_csrf_is_enforced_for_session_callers_but_not_for_api_keys(staff_user, app_key):
    conversation_body = {"participantId": {"contactId": str(uuid.uuid4())}}
    staff = APIClient(enforce_csrf_checks=True)
    staff.force_login(staff_user)
    refused = staff.post(f"{API}/conversations", conversation_body, format="json")
    assert_app_error(refused, 403, "PERMISSION_DENIED")
    assert "CSRF" in refused.json()["message"]
    assert Conversation.objects.count() == 0

    staff.get("/accounts/login/")  # renders a form, which sets the csrftoken cookie
    token = staff.cookies["csrftoken"].value
    accepted = staff.post(
        f"{API}/conversations", conversation_body, format="json", HTTP_X_CSRFTOKEN=token
    )
    assert accepted.status_code == 200, accepted.content

    app = APIClient(enforce_csrf_checks=True)
    app.credentials(HTTP_AUTHORIZATION=app_key)
    assert app.post(f"{API}/conversations", conversation_body, format="json").status_code == 200
