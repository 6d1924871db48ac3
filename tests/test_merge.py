"""Visitor → member: ``POST v2/visitors/claim`` and ``services.conversation_merge`` (contract §7,
Wix §8.3 / §8.7): one thread, in order, reachable through the old id, announced once."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client
from rest_framework.test import APIClient

from inbox import services
from inbox.exceptions import NotJoinedChatroom
from inbox.identity import caller_for_credential, caller_for_visitor, visitor_token_issue
from inbox.models import Conversation, Message, Participant, conversation_id_for, user_wire_id
from project.asgi import application
from tests.conftest import (
    API,
    assert_app_error,
    field_violations,
    participant_says,
    text_draft,
    text_message,
)
from tests.test_realtime import greeted

ORIGIN = (b"origin", b"http://testserver")
TIMEOUT = 5
BAP = "BUSINESS_AND_PARTICIPANT"


def own_conversation_id(client: Any) -> str:
    response = client.post(f"{API}/conversations", {}, format="json")
    assert response.status_code == 200, response.content
    return response.json()["conversation"]["id"]


def thread(client: Any, conversation_id: str) -> list[dict[str, Any]]:
    response = client.get(
        f"{API}/messages",
        {"conversationId": conversation_id, "visibility": BAP, "sorting.order": "ASC"},
    )
    assert response.status_code == 200, response.content
    return response.json()["messages"]


def claim(client: Any, token: str) -> Any:
    return client.post(f"{API}/visitors/claim", {"token": token}, format="json")


@pytest.fixture(autouse=True)
def _no_participant_rate_limits(settings: Any) -> None:
    """These tests make many quick calls as one member; rate limits have their own tests."""
    settings.INBOX = {
        **getattr(settings, "INBOX", {}),
        "THROTTLE_RATES": {"member": None, "visitor": None},
    }


@pytest.fixture
def visitor(make_visitor: Any) -> tuple[Any, Any, str]:
    visitor_id, client = make_visitor()
    return visitor_id, client, visitor_token_issue(visitor_id)


@pytest.mark.django_db
def test_claiming_merges_the_visitor_thread_into_the_members_in_order(
    visitor, member_client, member_user, send
):
    _, visitor_client, token = visitor
    v1 = participant_says(visitor_client, "visitor 1")
    old_id = own_conversation_id(visitor_client)
    member_id = own_conversation_id(member_client)
    m1 = participant_says(member_client, "member 1")
    reply = send(old_id, "reply to visitor")
    v2 = participant_says(visitor_client, "visitor 2")
    m2 = participant_says(member_client, "member 2")
    note = send(old_id, "internal note", visibility="BUSINESS")

    response = claim(member_client, token)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["merged"] is True
    assert body["conversation"]["id"] == member_id
    assert body["conversation"]["participant"] == {"memberId": str(user_wire_id(member_user.pk))}

    merged = thread(member_client, member_id)
    # Ids and sequences kept; sequence order is the chronological interleave.
    assert [m["id"] for m in merged] == [m["id"] for m in (v1, m1, reply, v2, m2)]
    assert [m["sequence"] for m in merged] == [m["sequence"] for m in (v1, m1, reply, v2, m2)]
    assert [m["sender"] for m in merged][0] == v1["sender"]
    # The internal note moved too, and stays internal.
    assert (
        Message.objects.get(pk=note["id"]).conversation_id
        == Conversation.objects.get(pk=member_id).pk
    )
    assert note["id"] not in {m["id"] for m in merged}


@pytest.mark.django_db
def test_the_old_id_resolves_to_the_members_conversation(visitor, member_client, send):
    _, visitor_client, token = visitor
    participant_says(visitor_client, "before login")
    old_id = own_conversation_id(visitor_client)
    assert claim(member_client, token).status_code == 200
    member_id = own_conversation_id(member_client)

    got = member_client.get(f"{API}/conversations/{old_id}")
    assert got.status_code == 200
    assert got.json()["conversation"]["id"] == member_id
    assert [m["content"]["basic"]["items"][0]["text"] for m in thread(member_client, old_id)] == [
        "before login"
    ]
    # Sending through the old id lands in the member's conversation.
    sent = member_client.post(
        f"{API}/messages",
        {
            "conversationId": old_id,
            "message": text_message("via old id", direction="PARTICIPANT_TO_BUSINESS"),
        },
        format="json",
    )
    assert sent.status_code == 200, sent.content
    assert len(thread(member_client, member_id)) == 2
    # The business side follows the old id too.
    assert send(old_id, "staff via old id")["id"] in {
        m["id"] for m in thread(member_client, member_id)
    }
    source = Conversation.objects.get(pk=old_id)
    assert str(source.merged_into_id) == member_id
    assert not source.messages.exists()


@pytest.mark.django_db
def test_the_summary_of_the_target_takes_the_newer_activity(visitor, member_client):
    _, visitor_client, token = visitor
    participant_says(member_client, "older, member")
    participant_says(visitor_client, "newer, visitor")
    old_id = own_conversation_id(visitor_client)
    claim(member_client, token)
    target = Conversation.objects.get(pk=own_conversation_id(member_client))
    source = Conversation.objects.get(pk=old_id)
    assert target.last_message_preview == "newer, visitor"
    assert target.last_sequence >= target.last_message_sequence
    assert source.last_activity_at is None  # drops out of activity-ordered lists


@pytest.mark.django_db
def test_claiming_twice_is_a_no_op(visitor, member_client):
    _, visitor_client, token = visitor
    participant_says(visitor_client, "hello")
    first = claim(member_client, token)
    second = claim(member_client, token)
    assert first.json()["merged"] is True
    assert second.status_code == 200
    assert second.json() == {**first.json(), "merged": False}
    assert len(thread(member_client, own_conversation_id(member_client))) == 1


@pytest.mark.django_db
def test_a_visitor_who_never_wrote_has_nothing_to_merge(visitor, member_client):
    _, _, token = visitor
    response = claim(member_client, token)
    assert response.status_code == 200
    assert response.json()["merged"] is False


@pytest.mark.django_db
def test_a_claimed_visitor_token_no_longer_reaches_the_thread(visitor, member_client):
    _, visitor_client, token = visitor
    participant_says(visitor_client, "hello")
    old_id = own_conversation_id(visitor_client)
    claim(member_client, token)
    assert_app_error(
        visitor_client.post(f"{API}/conversations", {}, format="json"), 403, "NOT_JOINED_CHATROOM"
    )
    assert_app_error(
        visitor_client.get(f"{API}/messages", {"conversationId": old_id, "visibility": BAP}),
        403,
        "NOT_JOINED_CHATROOM",
    )
    refused = visitor_client.post(
        f"{API}/messages",
        {"message": text_message("still there?", direction="PARTICIPANT_TO_BUSINESS")},
        format="json",
    )
    assert refused.status_code == 403


@pytest.mark.django_db
def test_another_member_cannot_claim_a_claimed_visitor(visitor, member_client, make_user):
    _, visitor_client, token = visitor
    participant_says(visitor_client, "hello")
    claim(member_client, token)
    other = Client()
    other.force_login(make_user("other-member"))
    response = other.post(
        f"{API}/visitors/claim", {"token": token}, content_type="application/json"
    )
    assert_app_error(response, 403, "IDENTITY_DOES_NOT_MATCH")


@pytest.mark.django_db
def test_claim_refuses_bad_tokens_and_callers(
    api, visitor, staff_client, app_client, member_client
):
    _, visitor_client, token = visitor
    assert "token" in field_violations(claim(member_client, "vt.forged"))
    assert "token" in field_violations(
        member_client.post(f"{API}/visitors/claim", {}, format="json")
    )
    assert_app_error(claim(api, token), 401, "UNAUTHENTICATED")
    assert_app_error(claim(visitor_client, token), 403, "PERMISSION_DENIED")
    assert_app_error(claim(staff_client, token), 403, "PERMISSION_DENIED")
    assert_app_error(claim(app_client, token), 403, "PERMISSION_DENIED")


@pytest.mark.django_db
def test_claim_needs_the_csrf_token_with_a_session(visitor, member_user):
    _, _, token = visitor
    client = Client(enforce_csrf_checks=True)
    client.force_login(member_user)
    response = client.post(
        f"{API}/visitors/claim", {"token": token}, content_type="application/json"
    )
    assert response.status_code == 403
    client.get("/")  # the page hands a logged-in member its CSRF token
    csrf = client.cookies[settings.CSRF_COOKIE_NAME].value
    response = client.post(
        f"{API}/visitors/claim",
        {"token": token},
        content_type="application/json",
        headers={"X-CSRFToken": csrf},
    )
    assert response.status_code == 200, response.content


@pytest.mark.django_db
def test_colliding_sequences_are_bumped_and_order_is_kept(make_conversation, send):
    source = make_conversation(Participant.Kind.ANONYMOUS_VISITOR)
    target = make_conversation(Participant.Kind.MEMBER)
    s1, s2 = send(source.pk, "s1"), send(source.pk, "s2")
    t1 = send(target.pk, "t1")
    # Two conversations can allocate the same microsecond; make it happen.
    Message.objects.filter(pk=t1["id"]).update(sequence=int(s1["sequence"]))
    Message.objects.filter(pk=s2["id"]).update(sequence=int(s1["sequence"]) + 1)

    assert services.conversation_merge(source=source, target=target) is True

    rows = list(Message.objects.filter(conversation=target).order_by("sequence"))
    assert len({row.sequence for row in rows}) == 3
    assert [str(row.pk) for row in rows] == [t1["id"], s1["id"], s2["id"]]
    target.refresh_from_db()
    assert target.last_sequence >= rows[-1].sequence


@pytest.mark.django_db
def test_merging_a_conversation_into_itself_or_again_does_nothing(make_conversation, send):
    source, target = make_conversation(), make_conversation()
    send(source.pk, "x")
    assert services.conversation_merge(source=source, target=source) is False
    assert services.conversation_merge(source=source, target=target) is True
    assert services.conversation_merge(source=source, target=target) is False


@pytest.mark.django_db
def test_earlier_merges_into_the_source_follow_it(make_conversation, send):
    first, second, third = make_conversation(), make_conversation(), make_conversation()
    send(first.pk, "a")
    services.conversation_merge(source=first, target=second)
    services.conversation_merge(source=second, target=third)
    assert Conversation.objects.get(pk=first.pk).merged_into_id == third.pk
    assert Message.objects.filter(conversation=third).count() == 1


@pytest.mark.django_db
def test_the_business_lists_a_merged_away_thread_through_its_old_id(
    make_conversation, send, app_client
):
    first, second, third = make_conversation(), make_conversation(), make_conversation()
    sent = [send(first.pk, "a")["id"], send(third.pk, "c")["id"]]
    services.conversation_merge(source=first, target=second)
    services.conversation_merge(source=second, target=third)
    for old_id in (first.pk, second.pk, third.pk):
        listed = thread(app_client, str(old_id))
        assert sorted(message["id"] for message in listed) == sorted(sent)
    missing = app_client.get(
        f"{API}/messages", {"conversationId": str(uuid.uuid4()), "visibility": "BUSINESS"}
    )
    assert missing.status_code == 404
    assert missing.json()["details"]["applicationError"]["code"] == "CONVERSATION_NOT_FOUND"


# The event ---------------------------------------------------------------------------------


async def _ready(communicator: WebsocketCommunicator) -> None:
    await greeted(communicator)
    await communicator.send_json_to({"type": "resume"})
    assert (await communicator.receive_json_from(timeout=TIMEOUT))["type"] == "ready"


async def _events(communicator: WebsocketCommunicator) -> list[dict[str, Any]]:
    found = []
    while not await communicator.receive_nothing(timeout=0.5):
        frame = await communicator.receive_json_from(timeout=TIMEOUT)
        if frame["type"] == "event":
            found.append(frame["event"])
    return found


@pytest.mark.django_db(transaction=True)
async def test_conversations_merged_reaches_the_business_and_both_participant_streams(
    make_visitor, member_user, app_key
):
    visitor_id, visitor_client = await sync_to_async(make_visitor)()
    token = visitor_token_issue(visitor_id)
    await sync_to_async(participant_says)(visitor_client, "hello")
    old_id = str(conversation_id_for(Participant.Kind.ANONYMOUS_VISITOR, visitor_id))
    member_client = Client()
    await sync_to_async(member_client.force_login)(member_user)
    session = member_client.cookies[settings.SESSION_COOKIE_NAME].value

    business = WebsocketCommunicator(
        application, "/ws/inbox/business/", headers=[ORIGIN, (b"authorization", app_key.encode())]
    )
    visitor_socket = WebsocketCommunicator(
        application, f"/ws/inbox/participant/?token={token}", headers=[ORIGIN]
    )
    member_socket = WebsocketCommunicator(
        application,
        "/ws/inbox/participant/",
        headers=[ORIGIN, (b"cookie", f"{settings.SESSION_COOKIE_NAME}={session}".encode())],
    )
    for communicator in (business, visitor_socket, member_socket):
        await _ready(communicator)

    response = await sync_to_async(member_client.post)(
        f"{API}/visitors/claim", {"token": token}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    target_id = response.json()["conversation"]["id"]
    again = await sync_to_async(member_client.post)(
        f"{API}/visitors/claim", {"token": token}, content_type="application/json"
    )
    assert again.json()["merged"] is False

    for communicator in (business, visitor_socket, member_socket):
        merged = [e for e in await _events(communicator) if e["slug"] == "conversations_merged"]
        assert len(merged) == 1, merged
        assert merged[0]["entityFqdn"] == "wix.crm.inbox.v2.conversation"
        assert merged[0]["data"] == {
            "oldConversationIds": [old_id],
            "targetConversationId": target_id,
        }
        await communicator.disconnect()

    # A socket the old visitor token opens now is not let into the member's conversation.
    late = WebsocketCommunicator(
        application, f"/ws/inbox/participant/?token={token}", headers=[ORIGIN]
    )
    await _ready(late)
    await sync_to_async(lambda: participant_says(api_client_for(member_user), "member only"))()
    assert await _events(late) == []
    await late.disconnect()


def api_client_for(user: Any) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def test_a_send_that_looked_up_a_conversation_before_its_merge_lands_in_the_target(
    make_conversation, app_key
):
    """The lookup and the insert are not one transaction: a merge committed in between must not
    leave the message in the merged-away (hidden) conversation."""
    source = make_conversation(Participant.Kind.ANONYMOUS_VISITOR)
    target = make_conversation(Participant.Kind.MEMBER)
    stale = Conversation.objects.select_related("participant").get(pk=source.pk)
    assert services.conversation_merge(source=source, target=target)
    caller = caller_for_credential(app_key)
    assert caller is not None
    message, created = services.message_send(
        caller=caller,
        conversation=stale,
        draft=text_draft("late"),
    )
    assert created
    assert message.conversation_id == target.pk
    assert not Message.objects.filter(conversation_id=source.pk).exists()


def test_a_claimed_visitor_sending_through_a_stale_lookup_is_refused(make_conversation):
    source = make_conversation(Participant.Kind.ANONYMOUS_VISITOR)
    target = make_conversation(Participant.Kind.MEMBER)
    stale = Conversation.objects.select_related("participant").get(pk=source.pk)
    assert services.conversation_merge(source=source, target=target)
    visitor_id = source.participant.anonymous_visitor_id
    assert visitor_id is not None
    with pytest.raises(NotJoinedChatroom):
        services.message_send(
            caller=caller_for_visitor(visitor_id),
            conversation=stale,
            draft=text_draft("late", direction="PARTICIPANT_TO_BUSINESS"),
        )
    assert not Message.objects.exists()
