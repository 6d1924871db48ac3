"""The member paths against tests/custom_user's model (UUID pk, e-mail login, no
``get_full_name``). Run under tests/settings_custom_user.py by tests/test_custom_user.py; the
file name keeps it out of the default collection, whose settings do not install the model."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from inbox.models import user_wire_id
from tests.conftest import API, participant_says
from tests.test_merge import own_conversation_id
from tests.test_realtime import PARTICIPANT, next_event, open_socket, resume, session_cookie, socket

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_user_model_is_the_custom_one(member_user):
    user_model = get_user_model()
    assert user_model._meta.label == "custom_user.User"
    assert user_model._meta.pk.get_internal_type() == "UUIDField"
    assert not hasattr(member_user, "get_full_name")


def test_a_member_logged_in_by_email_sends_and_is_named_by_username(member_user, app_client):
    client = APIClient()
    assert client.login(email=member_user.email, password="pw-123456")

    sent = participant_says(client, "hello from a custom user")

    assert sent["sender"] == {"memberId": str(user_wire_id(member_user.pk))}
    listed = app_client.get(f"{API}/conversations")
    assert listed.status_code == 200, listed.content
    names = [
        row["conversation"]["participantDisplayData"]["name"]
        for row in listed.json()["conversations"]
    ]
    assert names == [member_user.get_username()]


async def test_a_member_socket_receives_the_business_reply(member_user, member_client, send):
    conversation_id = await sync_to_async(own_conversation_id)(member_client)
    communicator = socket(PARTICIPANT, headers=[await sync_to_async(session_cookie)(member_user)])
    assert await open_socket(communicator) is None
    assert await resume(communicator) == []

    reply = await sync_to_async(send)(conversation_id, "answer")

    event = await next_event(communicator)
    assert event["entityId"] == reply["id"]
    assert event["data"]["conversationId"] == conversation_id
    await communicator.disconnect()
