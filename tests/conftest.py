"""Shared factory fixtures. Tests call the real services and the real API; nothing is mocked."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from inbox import services
from inbox.identity import visitor_token_issue
from inbox.models import Conversation, Participant

API = "/inbox/v2"


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
        user = django_user_model.objects.create_user(
            username=username or f"user-{uuid.uuid4().hex[:8]}", password="pw-123456"
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
