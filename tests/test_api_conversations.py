"""``POST v2/conversations`` (get or create) and ``GET v2/conversations/{id}`` (contract §3.2, §3.3,
§3.6): shapes, exactly-one participant id, GUID checks, race safety, participants' own conversation.
"""

from __future__ import annotations

import uuid

import pytest
from rest_framework.test import APIClient

from inbox.models import Conversation, Participant, conversation_id_for, user_wire_id
from tests.conftest import API, assert_app_error, field_violations, run_concurrently

CRM_API = "/crm/inbox/v2"
CONTACT_ID = "2a6b4c1e-7d0e-4f1e-9a57-2f0c1d9e4b21"


def row_counts() -> tuple[int, int]:
    return Participant.objects.count(), Conversation.objects.count()


@pytest.mark.parametrize("prefix", [API, CRM_API])
@pytest.mark.parametrize("wire_key", ["contactId", "anonymousVisitorId", "memberId"])
def test_get_or_create_creates_once_per_participant(app_client, prefix, wire_key):
    external_id = str(uuid.uuid4())
    body = {"participantId": {wire_key: external_id}}

    first = app_client.post(f"{prefix}/conversations", body, format="json")
    second = app_client.post(f"{prefix}/conversations", body, format="json")

    assert first.status_code == 200, first.content
    assert second.status_code == 200, second.content
    assert first.json()["newConversation"] is True
    assert second.json()["newConversation"] is False
    conversation = first.json()["conversation"]
    assert second.json()["conversation"] == conversation
    assert set(conversation) == {
        "id",
        "participant",
        "channels",
        "businessDisplayData",
        "participantDisplayData",
    }
    assert uuid.UUID(conversation["id"])
    assert conversation["participant"] == {wire_key: external_id}
    assert isinstance(conversation["channels"], list)
    assert set(conversation["businessDisplayData"]) == {"name", "imageUrl"}
    assert set(conversation["participantDisplayData"]) == {"name", "imageUrl"}
    assert Conversation.objects.count() == 1


def test_get_or_create_is_the_same_conversation_on_both_prefixes(app_client):
    body = {"participantId": {"contactId": CONTACT_ID}}
    public = app_client.post(f"{API}/conversations", body, format="json").json()
    crm = app_client.post(f"{CRM_API}/conversations", body, format="json").json()
    assert crm["conversation"] == public["conversation"]
    assert (public["newConversation"], crm["newConversation"]) == (True, False)


def test_get_conversation_returns_what_get_or_create_returned(app_client):
    created = app_client.post(
        f"{API}/conversations", {"participantId": {"contactId": CONTACT_ID}}, format="json"
    ).json()["conversation"]
    for prefix in (API, CRM_API):
        response = app_client.get(f"{prefix}/conversations/{created['id']}")
        assert response.status_code == 200, response.content
        assert response.json() == {"conversation": created}


@pytest.mark.parametrize(
    ("participant_id", "field", "rule"),
    [
        ({}, "participantId", "REQUIRED_ONE_OF_FIELD"),
        (
            {"contactId": CONTACT_ID, "memberId": str(uuid.uuid4())},
            "participantId",
            "ONE_OF_ALIGNMENT",
        ),
        ({"contactId": "not-a-guid"}, "participantId.contactId", "FORMAT"),
        ({"anonymousVisitorId": "1234"}, "participantId.anonymousVisitorId", "FORMAT"),
        ({"memberId": 42}, "participantId.memberId", "FORMAT"),
        ({"memberId": ["a"]}, "participantId.memberId", "FORMAT"),
        ({"wixUserId": CONTACT_ID}, "participantId.wixUserId", "FIELD_NOT_ALLOWED"),
        ("contact", "participantId", "FORMAT"),
        (["contactId"], "participantId", "FORMAT"),
        (None, "participantId", "REQUIRED_FIELD"),
    ],
)
def test_get_or_create_needs_exactly_one_valid_participant_id(
    app_client, participant_id, field, rule
):
    before = row_counts()
    response = app_client.post(
        f"{API}/conversations", {"participantId": participant_id}, format="json"
    )
    assert field_violations(response).get(field) == rule, response.json()
    assert row_counts() == before


def test_get_or_create_without_participant_id_is_a_field_violation_for_the_business(app_client):
    response = app_client.post(f"{API}/conversations", {}, format="json")
    assert field_violations(response) == {"participantId": "REQUIRED_FIELD"}
    assert row_counts() == (0, 0)


def test_get_or_create_accepts_snake_case(app_client):
    response = app_client.post(
        f"{API}/conversations", {"participant_id": {"contact_id": CONTACT_ID}}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["conversation"]["participant"] == {"contactId": CONTACT_ID}


def test_get_conversation_with_a_malformed_id_is_a_field_violation(app_client):
    response = app_client.get(f"{API}/conversations/not-a-guid")
    assert field_violations(response) == {"conversationId": "FORMAT"}


def test_get_unknown_conversation_is_404(app_client):
    response = app_client.get(f"{API}/conversations/{uuid.uuid4()}")
    assert_app_error(response, 404, "CONVERSATION_NOT_FOUND")


def test_get_or_create_is_race_safe(concurrent_db, app_key):
    """20 simultaneous calls for one participant: one conversation, exactly one says it is new."""
    body = {"participantId": {"contactId": CONTACT_ID}}

    def call(_index: int) -> dict:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=app_key)
        response = client.post(f"{API}/conversations", body, format="json")
        assert response.status_code == 200, response.content
        return response.json()

    results = run_concurrently(20, call)

    assert len({result["conversation"]["id"] for result in results}) == 1
    assert [result["newConversation"] for result in results].count(True) == 1
    assert Conversation.objects.count() == 1
    assert Participant.objects.count() == 1


# --- participants (§3.6) ---------------------------------------------------------------------


def test_member_opens_its_own_conversation(member_client, member_user):
    first = member_client.post(f"{API}/conversations", {}, format="json")
    again = member_client.post(
        f"{API}/conversations",
        {"participantId": {"memberId": str(user_wire_id(member_user.pk))}},
        format="json",
    )
    assert first.status_code == 200, first.content
    assert again.status_code == 200, again.content
    conversation = first.json()["conversation"]
    assert conversation["participant"] == {"memberId": str(user_wire_id(member_user.pk))}
    assert (first.json()["newConversation"], again.json()["newConversation"]) == (True, False)
    assert again.json()["conversation"] == conversation
    participant = Participant.objects.get()
    assert participant.user == member_user
    assert member_client.get(f"{API}/conversations/{conversation['id']}").json() == {
        "conversation": conversation
    }


def test_visitor_gets_a_token_and_opens_its_own_conversation(db, api):
    issued = api.post(f"{API}/visitors", format="json")
    assert issued.status_code == 200, issued.content
    visitor_id = issued.json()["anonymousVisitorId"]
    visitor = APIClient()
    visitor.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.json()['token']}")

    response = visitor.post(f"{API}/conversations", {}, format="json")

    assert response.status_code == 200, response.content
    conversation = response.json()["conversation"]
    assert conversation["participant"] == {"anonymousVisitorId": visitor_id}
    assert conversation["id"] == str(
        conversation_id_for("ANONYMOUS_VISITOR", uuid.UUID(visitor_id))
    )


@pytest.mark.parametrize("wire_key", ["contactId", "anonymousVisitorId", "memberId"])
def test_participant_cannot_open_someone_elses_conversation(db, make_visitor, wire_key):
    _, visitor = make_visitor()
    response = visitor.post(
        f"{API}/conversations", {"participantId": {wire_key: str(uuid.uuid4())}}, format="json"
    )
    assert_app_error(response, 403, "NOT_JOINED_CHATROOM")
    assert row_counts() == (0, 0)


def test_participant_cannot_read_someone_elses_conversation_even_by_probing(
    make_visitor, make_conversation
):
    _, visitor = make_visitor()
    existing = make_conversation()
    for conversation_id in (existing.pk, uuid.uuid4()):
        response = visitor.get(f"{API}/conversations/{conversation_id}")
        # Existing or not, the answer is the same, so ids cannot be probed.
        assert_app_error(response, 403, "NOT_JOINED_CHATROOM")
