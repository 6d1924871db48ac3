"""What Django raises while reading a request answers in Wix's envelope, never a 500 or an HTML
page: oversized bodies (whatever the site's ``DATA_UPLOAD_MAX_MEMORY_SIZE``), too many query
parameters, and unknown paths under any method (issue #18, items 1-3)."""

from typing import Any

import pytest
from django.test import Client

from inbox.models import Message
from tests.conftest import API, assert_app_error

MAX_BODY = 512 * 1024  # INBOX["MAX_BODY_BYTES"]'s default
DJANGO_DEFAULT = 2621440  # DATA_UPLOAD_MAX_MEMORY_SIZE's default


def padded_body(conversation_id: str, size: int) -> bytes:
    """A valid send body padded with white space to exactly ``size`` bytes."""
    body = (
        b'{"conversationId":"%s","message":{"content":{"basic":{"items":[{"text":"hi"}]}},'
        b'"direction":"BUSINESS_TO_PARTICIPANT"}}' % conversation_id.encode()
    )
    return body + b" " * (size - len(body))


@pytest.fixture
def conversation_id(app_client: Any) -> str:
    created = app_client.post(
        f"{API}/conversations",
        {"participantId": {"contactId": "2a6b4c1e-7d0e-4f1e-9a57-2f0c1d9e4b21"}},
        format="json",
    )
    return str(created.json()["conversation"]["id"])


@pytest.mark.django_db
@pytest.mark.parametrize("django_limit", [None, 64 * 1024, 8 * 1024 * 1024])
@pytest.mark.parametrize("size", [MAX_BODY + 1, DJANGO_DEFAULT + 1, 9 * 1024 * 1024])
def test_every_body_over_the_cap_is_413_whatever_djangos_limit(
    app_client: Any, conversation_id: str, settings: Any, django_limit: int | None, size: int
) -> None:
    if django_limit is not None:
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE = django_limit
    for path in ("messages", f"conversations/{conversation_id}/read"):
        response = app_client.post(
            f"{API}/{path}", padded_body(conversation_id, size), content_type="application/json"
        )
        assert_app_error(response, 413, "PAYLOAD_TOO_LARGE")
    assert not Message.objects.exists()


@pytest.mark.django_db
def test_a_site_limit_below_ours_is_413_in_the_envelope(
    app_client: Any, conversation_id: str, settings: Any
) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    response = app_client.post(
        f"{API}/messages", padded_body(conversation_id, 4096), content_type="application/json"
    )
    assert_app_error(response, 413, "PAYLOAD_TOO_LARGE")
    assert not Message.objects.exists()


@pytest.mark.django_db
def test_a_body_at_the_cap_is_accepted(app_client: Any, conversation_id: str) -> None:
    response = app_client.post(
        f"{API}/messages", padded_body(conversation_id, MAX_BODY), content_type="application/json"
    )
    assert response.status_code == 200, response.content
    assert Message.objects.count() == 1


@pytest.mark.django_db
def test_too_many_query_parameters_is_400_for_every_identity(
    app_client: Any, staff_client: Any, make_visitor: Any, conversation_id: str
) -> None:
    _, visitor_client = make_visitor()
    params = {f"p{index}": "1" for index in range(1001)}
    # A participant may not list conversations at all (403 before any parameter is read).
    for client, paths in (
        (app_client, ("messages", "conversations")),
        (staff_client, ("messages", "conversations")),
        (visitor_client, ("messages",)),
    ):
        for path in paths:
            response = client.get(f"{API}/{path}", {"conversationId": conversation_id, **params})
            assert_app_error(response, 400, "BAD_REQUEST")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "messages/"),
        ("post", "visitors/"),
        ("post", "visitors/claim/"),
        ("post", "nothing"),
        ("put", "nothing"),
        ("delete", "nothing"),
        ("patch", "conversations/x/y/z"),
    ],
)
def test_unknown_paths_answer_404_in_the_envelope_under_any_method(
    app_key: str, method: str, path: str
) -> None:
    client = Client(enforce_csrf_checks=True)
    response = getattr(client, method)(
        f"{API}/{path}", b"{}", content_type="application/json", HTTP_AUTHORIZATION=app_key
    )
    assert response["Content-Type"].startswith("application/json")
    assert_app_error(response, 404, "NOT_FOUND")


@pytest.mark.django_db
def test_a_wrong_method_on_a_known_path_is_405_in_the_envelope(app_key: str) -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.delete(f"{API}/messages", HTTP_AUTHORIZATION=app_key)
    assert response["Content-Type"].startswith("application/json")
    assert_app_error(response, 405, "METHOD_NOT_ALLOWED")
