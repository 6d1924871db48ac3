"""Shared factory fixtures. Tests call the real services and the real API; nothing is mocked."""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.db import connections
from rest_framework.test import APIClient

from inbox import services
from inbox.content import normalize_content
from inbox.identity import visitor_token_issue
from inbox.models import Conversation, Participant

API = "/inbox/v2"


@pytest.fixture(autouse=True)
def _fresh_throttles() -> Iterator[None]:
    """Every test starts with empty rate-limit budgets (the counters live in the cache, which
    would otherwise carry over from earlier tests of the same process)."""
    from django.core.cache import caches

    from inbox.conf import inbox_settings

    caches[inbox_settings.THROTTLE_CACHE].clear()
    yield


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    """Test users need no 1M-round PBKDF2: it made every test that creates a user cost ~0.3 s."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def app_key(db: Any) -> str:
    _, raw_key = services.app_create(name="Test app")
    return raw_key


@pytest.fixture
def app_client(app_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=app_key)
    return client


@pytest.fixture
def make_user(django_user_model: Any) -> Callable[..., Any]:
    def make(username: str | None = None, *, staff: bool = False, perms: bool = True) -> Any:
        user = django_user_model.objects.create_user(  # any USERNAME_FIELD (tests/custom_user)
            **{django_user_model.USERNAME_FIELD: username or f"user-{uuid.uuid4().hex[:8]}"},
            password="pw-123456",
        )
        if staff:
            user.is_staff = True
            user.save()
            if perms:
                user.user_permissions.add(
                    *Permission.objects.filter(content_type__app_label="inbox")
                )
        return django_user_model.objects.get(pk=user.pk)

    return make


@pytest.fixture
def staff_user(make_user: Callable[..., Any]) -> Any:
    return make_user("staff", staff=True)


@pytest.fixture
def staff_client(staff_user: Any) -> APIClient:
    client = APIClient()
    client.force_login(staff_user)
    return client


@pytest.fixture
def member_user(make_user: Callable[..., Any]) -> Any:
    return make_user("member")


@pytest.fixture
def member_client(member_user: Any) -> APIClient:
    client = APIClient()
    client.force_login(member_user)
    return client


@pytest.fixture
def make_visitor() -> Callable[[], tuple[uuid.UUID, APIClient]]:
    def make() -> tuple[uuid.UUID, APIClient]:
        visitor_id = uuid.uuid4()
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {visitor_token_issue(visitor_id)}")
        return visitor_id, client

    return make


@pytest.fixture
def make_conversation(db: Any) -> Callable[..., Conversation]:
    def make(
        kind: str = Participant.Kind.CONTACT, external_id: uuid.UUID | None = None
    ) -> Conversation:
        conversation, _ = services.conversation_get_or_create(
            kind=kind, external_id=external_id or uuid.uuid4()
        )
        return conversation

    return make


def text_message(
    text: str = "hello",
    *,
    direction: str = "BUSINESS_TO_PARTICIPANT",
    visibility: str = "BUSINESS_AND_PARTICIPANT",
    **extra: Any,
) -> dict[str, Any]:
    return {
        "direction": direction,
        "visibility": visibility,
        "content": {"basic": {"items": [{"text": text}]}},
        **extra,
    }


def text_draft(
    text: str = "hi",
    *,
    direction: str = "BUSINESS_TO_PARTICIPANT",
    visibility: str = "BUSINESS_AND_PARTICIPANT",
    silent: bool = False,
) -> services.MessageDraft:
    """What ``services.message_send`` takes for a one-text message."""
    return services.MessageDraft(
        direction=direction,
        visibility=visibility,
        content=normalize_content({"basic": {"items": [{"text": text}]}}),
        silent=silent,
    )


def participant_says(client: Any, text: str) -> dict[str, Any]:
    """``client`` (a visitor's or a member's REST client) sends ``text`` to the business;
    returns the sent message's JSON."""
    response = client.post(
        f"{API}/messages",
        {"message": text_message(text, direction="PARTICIPANT_TO_BUSINESS")},
        format="json",
    )
    assert response.status_code == 200, response.content
    return dict(response.json()["message"])


@pytest.fixture
def send(app_client: APIClient) -> Callable[..., dict[str, Any]]:
    """Send through the REST API as the test app; returns the stored message JSON."""

    def do_send(conversation_id: Any, text: str = "hello", **kwargs: Any) -> dict[str, Any]:
        response = app_client.post(
            f"{API}/messages",
            {"conversationId": str(conversation_id), "message": text_message(text, **kwargs)},
            format="json",
        )
        assert response.status_code == 200, response.content
        return response.json()["message"]

    return do_send


def assert_app_error(response: Any, status: int, code: str) -> dict[str, Any]:
    """The response is Wix's ``applicationError`` envelope with this status and code."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) == {"message", "details"}, body
    assert set(body["details"]) == {"applicationError"}, body
    assert body["details"]["applicationError"]["code"] == code, body
    assert set(body["details"]["applicationError"]) == {"code", "description", "data"}, body
    return body


def field_violations(response: Any) -> dict[str, str]:
    """``{field path: violated rule}`` of a 400 ``validationError`` envelope."""
    assert response.status_code == 400, response.content
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) == {"message", "details"}, body
    assert set(body["details"]) == {"validationError"}, body
    violations = body["details"]["validationError"]["fieldViolations"]
    assert violations, body
    for violation in violations:
        assert {"field", "description", "violatedRule"} <= set(violation), violation
    return {violation["field"]: violation["violatedRule"] for violation in violations}


@pytest.fixture
def concurrent_db(transactional_db: Any, tmp_path: Any) -> Iterator[None]:
    """A database that threads really share, each thread with its own connection.

    PostgreSQL's test database already is one. SQLite's in-memory test database (shared cache)
    makes concurrent writers fail at once with "database table is locked" instead of queueing,
    so on SQLite the test runs on a file copy of it, opened with the project's own options (WAL,
    BEGIN IMMEDIATE, busy timeout) as ``make run`` opens its database.
    """
    connection = connections["default"]
    if connection.vendor != "sqlite":
        yield
        return
    path = tmp_path / "concurrent.sqlite3"
    connection.ensure_connection()
    target = sqlite3.connect(path)
    connection.connection.backup(target)
    target.close()
    original_settings = connections.settings["default"]
    connections.settings["default"] = {**original_settings, "NAME": str(path)}
    connections["default"] = connections.create_connection("default")
    try:
        yield
    finally:
        connections["default"].close()
        connections.settings["default"] = original_settings
        connections["default"] = connection


def run_concurrently(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(0)`` … ``work(count - 1)`` in threads released at the same instant."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def target(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = work(index)
        except BaseException as error:  # re-raised in the calling thread
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=target, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a worker thread hung"
    if errors:
        raise errors[0]
    return results
