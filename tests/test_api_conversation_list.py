"""``GET v2/conversations``: the staff conversation list (contract §3.7)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inbox import services
from inbox.identity import caller_for_user
from inbox.models import Conversation, Participant, user_wire_id
from tests.conftest import API, text_message

pytestmark = pytest.mark.django_db


def rows(client: Any, **params: Any) -> list[dict[str, Any]]:
    response = client.get(f"{API}/conversations", params)
    assert response.status_code == 200, response.content
    return response.json()["conversations"]


def by_id(rows_: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["conversation"]["id"]: row for row in rows_}


def staff_send(client: Any, conversation_id: Any, text: str = "reply", **kwargs: Any) -> None:
    response = client.post(
        f"{API}/messages",
        {"conversationId": str(conversation_id), "message": text_message(text, **kwargs)},
        format="json",
    )
    assert response.status_code == 200, response.content


def participant_send(app_client: Any, conversation_id: Any, text: str) -> dict[str, Any]:
    """What the participant says, written by the app on its behalf (``sendAs: PARTICIPANT``)."""
    response = app_client.post(
        f"{API}/messages",
        {
            "conversationId": str(conversation_id),
            "message": text_message(text, direction="PARTICIPANT_TO_BUSINESS"),
            "sendAs": "PARTICIPANT",
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    return response.json()["message"]


def test_row_shape_and_newest_activity_first(staff_client, make_conversation, send):
    older, newer = make_conversation(), make_conversation()
    send(older.pk, "first", direction="PARTICIPANT_TO_BUSINESS")
    sent = send(newer.pk, "second", direction="PARTICIPANT_TO_BUSINESS")
    listed = rows(staff_client)
    assert [row["conversation"]["id"] for row in listed] == [str(newer.pk), str(older.pk)]
    row = listed[0]
    newer.refresh_from_db()
    assert row == {
        "conversation": row["conversation"],
        "participantKind": "CONTACT",
        "participantNamed": False,  # "Contact 3f2a1b", made up
        "previewText": "second",
        "lastSequence": sent["sequence"],
        "lastMessageSequence": sent["sequence"],
        "lastActivityDate": sent["createdDate"],
        "lastMessageDirection": "PARTICIPANT_TO_BUSINESS",
        "lastMessageVisibility": "BUSINESS_AND_PARTICIPANT",
        "previewThumbnailUrl": None,
        "unreadCount": 1,
        "readSequence": "0",
        "participantReadSequence": "0",
        "status": "OPEN",
        "snoozedUntil": None,
        "assignee": None,
    }
    assert row["conversation"]["participant"] == {"contactId": str(newer.participant.contact_id)}
    assert row["lastActivityDate"].endswith("Z")


def test_rows_say_whether_the_participant_has_a_real_name(staff_client, make_user):
    """Saved replies fill {name} only with a name someone gave, never "Visitor 3f2a1b"."""
    member = make_user("ana-member")
    member.first_name, member.last_name = "Ana", "Silva"
    member.save()
    named, _ = services.conversation_get_or_create(
        kind=Participant.Kind.MEMBER, external_id=user_wire_id(member.pk), user=member
    )
    given, _ = services.conversation_get_or_create(
        kind=Participant.Kind.CONTACT, external_id=uuid.uuid4(), display_name="Kim Lee"
    )
    anonymous, _ = services.conversation_get_or_create(
        kind=Participant.Kind.ANONYMOUS_VISITOR, external_id=uuid.uuid4()
    )
    by_id = {row["conversation"]["id"]: row for row in rows(staff_client)}
    assert {
        by_id[str(c.pk)]["conversation"]["participantDisplayData"]["name"]: by_id[str(c.pk)][
            "participantNamed"
        ]
        for c in (named, given, anonymous)
    } == {"Ana Silva": True, "Kim Lee": True, anonymous.participant.display_name: False}
    assert anonymous.participant.display_name.startswith("Visitor ")


def test_conversations_without_activity_come_last(staff_client, make_conversation, send):
    idle = make_conversation()
    active = make_conversation()
    send(active.pk, "hi")
    listed = rows(staff_client)
    assert [row["conversation"]["id"] for row in listed] == [str(active.pk), str(idle.pk)]
    assert listed[1]["lastActivityDate"] is None
    assert listed[1]["lastMessageDirection"] is None


def test_paging_walks_every_conversation_once(staff_client, make_conversation, send):
    """Seven active conversations (two sharing one activity time) and four idle ones, in pages
    of three: every one exactly once, in order, across the active/idle boundary."""
    conversations = [make_conversation() for _ in range(11)]
    for conversation in conversations[:7]:
        send(conversation.pk, "hi")
    same_time = timezone.now() - timedelta(hours=1)
    Conversation.objects.filter(pk__in=[c.pk for c in conversations[:2]]).update(
        last_activity_at=same_time
    )
    expected = [row["conversation"]["id"] for row in rows(staff_client, **{"paging.limit": 100})]
    assert len(expected) == 11
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        params: dict[str, Any] = {"paging.limit": 3}
        if cursor:
            params["paging.cursor"] = cursor
        body = staff_client.get(f"{API}/conversations", params).json()
        seen.extend(row["conversation"]["id"] for row in body["conversations"])
        assert body["pagingMetadata"]["count"] == len(body["conversations"])
        cursor = body["pagingMetadata"]["cursors"].get("next")
        if cursor is None:
            break
    assert seen == expected
    # Newest first, then the tie broken by id descending, then the idle ones by id descending.
    tied = sorted((str(c.pk) for c in conversations[:2]), key=uuid.UUID, reverse=True)
    assert seen[5:7] == tied
    idle = sorted((str(c.pk) for c in conversations[7:]), key=uuid.UUID, reverse=True)
    assert seen[7:] == idle


def test_unread_counts_are_per_staff_user(make_user, make_conversation, send, api):
    alice, bob = make_user("alice", staff=True), make_user("bob", staff=True)
    conversation = make_conversation()
    send(conversation.pk, "one", direction="PARTICIPANT_TO_BUSINESS")
    second = send(conversation.pk, "two", direction="PARTICIPANT_TO_BUSINESS")
    send(conversation.pk, "three", direction="PARTICIPANT_TO_BUSINESS")
    api.force_login(alice)
    read = api.post(
        f"{API}/conversations/{conversation.pk}/read",
        {"sequence": second["sequence"]},
        format="json",
    )
    assert read.status_code == 200
    assert by_id(rows(api))[str(conversation.pk)]["unreadCount"] == 1
    assert by_id(rows(api))[str(conversation.pk)]["readSequence"] == second["sequence"]
    api.force_login(bob)
    assert by_id(rows(api))[str(conversation.pk)]["unreadCount"] == 3


def test_silent_and_own_messages_never_count(staff_client, staff_user, make_conversation, send):
    conversation = make_conversation()
    send(conversation.pk, "quiet", direction="PARTICIPANT_TO_BUSINESS", silent=True)
    staff_send(staff_client, conversation.pk, "my reply")
    staff_send(staff_client, conversation.pk, "my note", visibility="BUSINESS")
    assert by_id(rows(staff_client))[str(conversation.pk)]["unreadCount"] == 0
    # Another business sender's messages (here an app's), internal ones too, do count.
    send(conversation.pk, "app note", visibility="BUSINESS")
    send(conversation.pk, "visitor", direction="PARTICIPANT_TO_BUSINESS")
    assert by_id(rows(staff_client))[str(conversation.pk)]["unreadCount"] == 2


def test_app_unread_counts_what_no_staff_user_has_read(
    app_client, make_user, make_conversation, send, api
):
    conversation = make_conversation()
    send(conversation.pk, "from the app itself")
    first = participant_send(app_client, conversation.pk, "one")
    participant_send(app_client, conversation.pk, "two")
    assert by_id(rows(app_client))[str(conversation.pk)]["unreadCount"] == 2
    api.force_login(make_user(staff=True))
    api.post(
        f"{API}/conversations/{conversation.pk}/read",
        {"sequence": first["sequence"]},
        format="json",
    )
    assert by_id(rows(app_client))[str(conversation.pk)]["unreadCount"] == 1


def test_filters(staff_client, staff_user, make_conversation, send):
    visitor = make_conversation(Participant.Kind.ANONYMOUS_VISITOR)
    contact = make_conversation(Participant.Kind.CONTACT)
    Participant.objects.filter(pk=contact.participant_id).update(display_name="Ana Pereira")
    send(visitor.pk, "Do you ship to Portugal?", direction="PARTICIPANT_TO_BUSINESS")
    staff_send(staff_client, contact.pk, "thanks")
    visitor_id, contact_id = str(visitor.pk), str(contact.pk)

    def ids(**params: Any) -> list[str]:
        return [row["conversation"]["id"] for row in rows(staff_client, **params)]

    assert ids(unread="true") == [visitor_id]
    assert ids(unread="false") == [contact_id]
    assert ids(participantKind="CONTACT") == [contact_id]
    assert ids(participantKind="ANONYMOUS_VISITOR") == [visitor_id]
    assert ids(q="portugal") == [visitor_id]
    assert ids(q="pereira") == [contact_id]
    assert ids(q="pereira", participantKind="ANONYMOUS_VISITOR") == []
    # The SDK's .r form and dotted/flat forms go through one parser.
    assert ids(**{"paging.limit": 1, "unread": "1"}) == [visitor_id]
    # Reading moves the conversation out of the unread filter.
    services.conversation_mark_read(
        caller=caller_for_user(staff_user),
        conversation=visitor,
        sequence=Conversation.objects.get(pk=visitor.pk).last_sequence,
    )
    assert ids(unread="true") == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"participantKind": "ROBOT"}, "participantKind"),
        ({"participantKind": ""}, "participantKind"),
        ({"unread": "maybe"}, "unread"),
        ({"q": "x" * 201}, "q"),
        ({"paging.limit": "-1"}, "paging.limit"),
        ({"paging.cursor": "forged"}, "paging.cursor"),
    ],
)
def test_bad_parameters_are_field_violations(staff_client, params, field):
    response = staff_client.get(f"{API}/conversations", params)
    assert response.status_code == 400
    violations = response.json()["details"]["validationError"]["fieldViolations"]
    assert [violation["field"] for violation in violations] == [field]


def test_cursor_is_bound_to_its_filters(staff_client, make_conversation, send):
    for _ in range(3):
        send(make_conversation().pk, "hi", direction="PARTICIPANT_TO_BUSINESS")
    body = staff_client.get(f"{API}/conversations", {"paging.limit": 1}).json()
    cursor = body["pagingMetadata"]["cursors"]["next"]
    reused = staff_client.get(
        f"{API}/conversations", {"paging.limit": 1, "paging.cursor": cursor, "unread": "true"}
    )
    assert reused.status_code == 400


def test_who_may_list(api, member_client, make_visitor, make_user, app_client):
    assert api.get(f"{API}/conversations").status_code == 401
    assert member_client.get(f"{API}/conversations").status_code == 403
    _, visitor_client = make_visitor()
    assert visitor_client.get(f"{API}/conversations").status_code == 403
    no_perms = make_user(staff=True, perms=False)
    api.force_login(no_perms)
    response = api.get(f"{API}/conversations")
    assert response.status_code == 403
    assert response.json()["details"]["applicationError"]["code"] == "PERMISSION_DENIED"
    assert app_client.get(f"{API}/conversations").status_code == 200


def test_merged_away_conversations_are_not_listed(staff_client, make_conversation):
    source, target = make_conversation(), make_conversation()
    Conversation.objects.filter(pk=source.pk).update(merged_into=target)
    assert [row["conversation"]["id"] for row in rows(staff_client)] == [str(target.pk)]


def _count_list_queries(client: Any, expected_rows: int) -> int:
    with CaptureQueriesContext(connection) as queries:
        listed = rows(client, **{"paging.limit": 100})
    assert len(listed) == expected_rows
    assert all(row["unreadCount"] == 1 for row in listed)
    return len(queries)


@pytest.mark.parametrize("who", ["staff", "app"])
def test_query_count_does_not_grow_with_the_page(
    who, staff_client, app_client, make_conversation, send
):
    client = staff_client if who == "staff" else app_client
    participant_send(app_client, make_conversation().pk, "hello")
    one_row = _count_list_queries(client, 1)
    for index in range(49):
        participant_send(app_client, make_conversation().pk, f"hello {index}")
    fifty_rows = _count_list_queries(client, 50)
    assert one_row == fifty_rows
