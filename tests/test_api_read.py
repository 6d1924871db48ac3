"""``POST v2/conversations/{id}/read``: read cursors of staff users and of the participant."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client
from rest_framework.test import APIClient

from inbox.models import Conversation, Participant, ReadCursor, user_wire_id
from project.asgi import application
from tests.conftest import API, assert_app_error, field_violations, run_concurrently
from tests.test_realtime import greeted

TIMEOUT = 5


def business_socket(user: Any) -> WebsocketCommunicator:
    client = Client()
    client.force_login(user)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    return WebsocketCommunicator(
        application,
        "/ws/inbox/business/",
        headers=[(b"origin", b"http://testserver"), (b"cookie", cookie.encode())],
    )


async def next_event(communicator: WebsocketCommunicator) -> dict[str, Any]:
    frame = await communicator.receive_json_from(timeout=TIMEOUT)
    assert frame["type"] == "event", frame
    return frame["event"]


def read(client: APIClient, conversation_id: Any, sequence: Any) -> Any:
    return client.post(
        f"{API}/conversations/{conversation_id}/read", {"sequence": sequence}, format="json"
    )


@pytest.mark.django_db
def test_staff_cursor_moves_forward_only(staff_client, staff_user, make_conversation, send):
    conversation = make_conversation()
    first = send(conversation.pk, "one", direction="PARTICIPANT_TO_BUSINESS")
    second = send(conversation.pk, "two", direction="PARTICIPANT_TO_BUSINESS")
    response = read(staff_client, conversation.pk, second["sequence"])
    assert response.status_code == 200
    assert response.json() == {
        "conversationId": str(conversation.pk),
        "readBy": {"wixUserId": str(user_wire_id(staff_user.pk))},
        "sequence": second["sequence"],
    }
    # Going back is not an error: the cursor stays where it is and says so.
    back = read(staff_client, conversation.pk, first["sequence"])
    assert back.status_code == 200
    assert back.json()["sequence"] == second["sequence"]
    cursor = ReadCursor.objects.get(conversation=conversation, user=staff_user)
    assert cursor.sequence == int(second["sequence"])
    # An int64 JSON number is accepted as well as the string form.
    assert read(staff_client, conversation.pk, int(second["sequence"])).status_code == 200


@pytest.mark.django_db
def test_sequence_bounds(staff_client, make_conversation, send):
    conversation = make_conversation()
    sent = send(conversation.pk, "one")
    beyond = read(staff_client, conversation.pk, str(int(sent["sequence"]) + 1))
    assert field_violations(beyond) == {"sequence": "MAX"}
    assert field_violations(read(staff_client, conversation.pk, "-1")) == {"sequence": "MIN"}
    assert "sequence" in field_violations(read(staff_client, conversation.pk, "abc"))
    assert "sequence" in field_violations(read(staff_client, conversation.pk, str(2**63)))
    assert "sequence" in field_violations(
        staff_client.post(f"{API}/conversations/{conversation.pk}/read", {}, format="json")
    )
    # Zero on an empty conversation is a no-op, not an error.
    empty = make_conversation()
    assert read(staff_client, empty.pk, "0").json()["sequence"] == "0"
    assert not ReadCursor.objects.filter(conversation=empty).exists()


@pytest.mark.django_db
def test_silent_messages_may_be_read_up_to(staff_client, make_conversation, send):
    conversation = make_conversation()
    quiet = send(conversation.pk, "quiet", direction="PARTICIPANT_TO_BUSINESS", silent=True)
    assert read(staff_client, conversation.pk, quiet["sequence"]).status_code == 200


@pytest.mark.django_db
def test_unknown_and_malformed_conversations(staff_client):
    assert_app_error(
        read(staff_client, "2a6b4c1e-7d0e-4f1e-9a57-2f0c1d9e4b21", "1"),
        404,
        "CONVERSATION_NOT_FOUND",
    )
    assert "conversationId" in field_violations(read(staff_client, "not-a-guid", "1"))


@pytest.mark.django_db
def test_participant_cursor(make_visitor, make_conversation, send, staff_client):
    visitor_id, visitor_client = make_visitor()
    conversation = make_conversation(Participant.Kind.ANONYMOUS_VISITOR, visitor_id)
    reply = send(conversation.pk, "hello visitor")
    note = send(conversation.pk, "internal", visibility="BUSINESS")
    response = read(visitor_client, conversation.pk, reply["sequence"])
    assert response.status_code == 200
    assert response.json()["readBy"] == {"anonymousVisitorId": str(visitor_id)}
    conversation.refresh_from_db()
    assert conversation.participant_read_sequence == int(reply["sequence"])
    # The participant's bound is the last message it can see: the internal note stays unknown.
    assert field_violations(read(visitor_client, conversation.pk, note["sequence"])) == {
        "sequence": "MAX"
    }
    # The staff list shows the participant's cursor (the "seen" marks).
    rows = staff_client.get(f"{API}/conversations").json()["conversations"]
    assert rows[0]["participantReadSequence"] == reply["sequence"]
    # Staff cursors are separate.
    assert rows[0]["readSequence"] == "0"


@pytest.mark.django_db
def test_participant_cannot_touch_another_conversation(make_visitor, make_conversation, send):
    _, visitor_client = make_visitor()
    other = make_conversation()
    sent = send(other.pk, "hi")
    assert_app_error(read(visitor_client, other.pk, sent["sequence"]), 403, "NOT_JOINED_CHATROOM")
    assert Conversation.objects.get(pk=other.pk).participant_read_sequence == 0


@pytest.mark.django_db
def test_who_may_read(api, app_client, make_user, make_conversation, send):
    conversation = make_conversation()
    sent = send(conversation.pk, "hi")
    assert read(api, conversation.pk, sent["sequence"]).status_code == 401
    assert_app_error(read(app_client, conversation.pk, sent["sequence"]), 403, "PERMISSION_DENIED")
    api.force_login(make_user(staff=True, perms=False))
    assert_app_error(read(api, conversation.pk, sent["sequence"]), 403, "PERMISSION_DENIED")


@pytest.mark.django_db
def test_session_callers_need_the_csrf_token(staff_user, make_conversation, send):
    conversation = make_conversation()
    sent = send(conversation.pk, "hi")
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(staff_user)
    refused = read(client, conversation.pk, sent["sequence"])
    assert refused.status_code == 403
    assert not ReadCursor.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_reads_never_move_a_cursor_back(
    concurrent_db, staff_user, make_conversation, send
):
    conversation = make_conversation()
    sequences = [int(send(conversation.pk, f"m{i}")["sequence"]) for i in range(6)]

    def work(index: int) -> int:
        client = APIClient()
        client.force_login(staff_user)
        response = read(client, conversation.pk, str(sequences[index]))
        assert response.status_code == 200, response.content
        return int(response.json()["sequence"])

    results = run_concurrently(len(sequences), work)
    assert all(result >= sequences[index] for index, result in enumerate(results))
    assert ReadCursor.objects.get(conversation=conversation, user=staff_user).sequence == max(
        sequences
    )


@pytest.mark.django_db(transaction=True)
async def test_a_move_is_pushed_to_the_business_stream_once(
    staff_user, make_visitor, make_conversation, send
):
    visitor_id, visitor_client = make_visitor()
    conversation = await sync_to_async(make_conversation)(
        Participant.Kind.ANONYMOUS_VISITOR, visitor_id
    )
    sent = await sync_to_async(send)(conversation.pk, "hello")
    staff = APIClient()
    await sync_to_async(staff.force_login)(staff_user)
    communicator = await sync_to_async(business_socket)(staff_user)
    await greeted(communicator)
    try:
        await communicator.send_json_to({"type": "resume"})
        assert (await communicator.receive_json_from(timeout=TIMEOUT))["type"] == "ready"
        response = await sync_to_async(read)(staff, conversation.pk, sent["sequence"])
        assert response.status_code == 200
        event = await next_event(communicator)
        assert event["slug"] == "conversation_read"
        assert event["entityFqdn"] == "wix.crm.inbox.v2.conversation"
        assert event["entityId"] == str(conversation.pk)
        assert event["data"] == {
            "conversationId": str(conversation.pk),
            "readBy": {"wixUserId": str(user_wire_id(staff_user.pk))},
            "sequence": sent["sequence"],
        }
        # Reading the same place again moves nothing and publishes nothing.
        await sync_to_async(read)(staff, conversation.pk, sent["sequence"])
        # The participant's move is pushed too, naming the participant.
        await sync_to_async(read)(visitor_client, conversation.pk, sent["sequence"])
        event = await next_event(communicator)
        assert event["data"]["readBy"] == {"anonymousVisitorId": str(visitor_id)}
        assert await communicator.receive_nothing(timeout=0.3)
    finally:
        await communicator.disconnect()
