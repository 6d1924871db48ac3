"""Conversation status (issue 16): ``POST v2/conversations/{id}/status``, the ``status`` list
filter, snoozes that end by themselves, a participant's message reopening, the staff-only thread
entries and events, and ``POST v2/conversations/{id}/unread``."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from inbox.identity import visitor_token_issue
from inbox.models import (
    Conversation,
    Message,
    Participant,
    ReadCursor,
    conversation_id_for,
    user_wire_id,
)
from tests.conftest import API, assert_app_error, field_violations, participant_says, text_message
from tests.test_realtime import (  # noqa: F401 - close_worker_connections is an autouse fixture
    BUSINESS,
    PARTICIPANT,
    close_worker_connections,
    collect,
    open_socket,
    resume,
    session_cookie,
    socket,
)


def set_status(client: Any, conversation_id: Any, status: str, **extra: Any) -> Any:
    return client.post(
        f"{API}/conversations/{conversation_id}/status", {"status": status, **extra}, format="json"
    )


def row_of(client: Any, conversation_id: Any, **params: Any) -> dict[str, Any] | None:
    response = client.get(f"{API}/conversations", params)
    assert response.status_code == 200, response.content
    found = [
        r
        for r in response.json()["conversations"]
        if r["conversation"]["id"] == str(conversation_id)
    ]
    return found[0] if found else None


def listed_ids(client: Any, **params: Any) -> set[str]:
    response = client.get(f"{API}/conversations", params)
    assert response.status_code == 200, response.content
    return {row["conversation"]["id"] for row in response.json()["conversations"]}


def thread(client: Any, conversation_id: Any, visibility: str = "BUSINESS") -> list[dict[str, Any]]:
    response = client.get(
        f"{API}/messages",
        {"conversationId": str(conversation_id), "visibility": visibility, "sorting.order": "ASC"},
    )
    assert response.status_code == 200, response.content
    return response.json()["messages"]


def in_an_hour() -> str:
    return (timezone.now() + timedelta(hours=1)).isoformat()


@pytest.fixture
def visitor_thread(make_visitor: Any) -> tuple[Any, uuid.UUID]:
    """(the visitor's REST client, the conversation its first message opened)."""
    visitor_id, client = make_visitor()
    participant_says(client, "hello?")
    return client, conversation_id_for(Participant.Kind.ANONYMOUS_VISITOR, visitor_id)


@pytest.mark.django_db
def test_closing_writes_a_staff_only_silent_entry_and_changes_the_row(
    staff_client, staff_user, visitor_thread
):
    visitor, conversation_id = visitor_thread
    before = row_of(staff_client, conversation_id)
    assert before is not None and before["status"] == "OPEN"

    response = set_status(staff_client, conversation_id, "CLOSED")

    assert response.status_code == 200, response.content
    assert response.json() == {
        "conversationId": str(conversation_id),
        "status": "CLOSED",
        "snoozedUntil": None,
        "changed": True,
    }
    row = row_of(staff_client, conversation_id)
    assert row is not None
    assert (row["status"], row["snoozedUntil"]) == ("CLOSED", None)
    # The entry is silent: the list summary and the unread count are the visitor's message's.
    assert row["previewText"] == "hello?"
    assert row["unreadCount"] == before["unreadCount"] == 1
    entry = thread(staff_client, conversation_id)[-1]
    assert entry["content"]["minimal"]["text"] == "Closed by staff"
    assert (entry["visibility"], entry["silent"]) == ("BUSINESS", True)
    assert entry["sender"] == {"wixUserId": str(user_wire_id(staff_user.pk))}
    # The visitor sees no trace of it.
    assert [
        m["content"].get("minimal")
        for m in thread(visitor, conversation_id, "BUSINESS_AND_PARTICIPANT")
    ] == [None]


@pytest.mark.django_db
def test_asking_for_the_status_it_has_changes_nothing(staff_client, visitor_thread):
    _, conversation_id = visitor_thread
    assert set_status(staff_client, conversation_id, "CLOSED").json()["changed"] is True
    entries = Message.objects.filter(conversation_id=conversation_id).count()
    again = set_status(staff_client, conversation_id, "CLOSED")
    assert again.status_code == 200
    assert again.json()["changed"] is False
    assert Message.objects.filter(conversation_id=conversation_id).count() == entries
    assert set_status(staff_client, conversation_id, "OPEN").json()["changed"] is True
    texts = [
        m["content"].get("minimal", {}).get("text") for m in thread(staff_client, conversation_id)
    ]
    assert texts == [None, "Closed by staff", "Reopened by staff"]


@pytest.mark.django_db
def test_the_status_filter_narrows_the_list(staff_client, app_client, make_conversation, send):
    open_, snoozed, closed = (make_conversation() for _ in range(3))
    for conversation in (open_, snoozed, closed):
        send(conversation.pk, "hi", direction="PARTICIPANT_TO_BUSINESS")
    assert (
        set_status(app_client, snoozed.pk, "SNOOZED", snoozedUntil=in_an_hour()).status_code == 200
    )
    assert set_status(app_client, closed.pk, "CLOSED").status_code == 200
    assert listed_ids(staff_client, status="OPEN") == {str(open_.pk)}
    assert listed_ids(staff_client, status="SNOOZED") == {str(snoozed.pk)}
    assert listed_ids(staff_client, status="CLOSED") == {str(closed.pk)}
    assert len(listed_ids(staff_client)) == 3
    row = row_of(staff_client, snoozed.pk)
    assert row is not None and row["status"] == "SNOOZED" and row["snoozedUntil"].endswith("Z")
    # The app's entry names the app.
    assert thread(staff_client, closed.pk)[-1]["sender"] == {
        "appId": str(app_client_app_id(closed.pk))
    }


def app_client_app_id(conversation_id: Any) -> Any:
    return Message.objects.filter(conversation_id=conversation_id, silent=True).get().app_id


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["", "open", "ARCHIVED"])
def test_a_bad_status_filter_is_one_400(staff_client, value):
    response = staff_client.get(f"{API}/conversations", {"status": value})
    assert field_violations(response) == {"status": "INVALID_ENUM_VALUE"}


@pytest.mark.django_db
def test_a_snooze_ends_by_itself_when_its_time_has_passed(staff_client, visitor_thread):
    _, conversation_id = visitor_thread
    assert (
        set_status(staff_client, conversation_id, "SNOOZED", snoozedUntil=in_an_hour()).status_code
        == 200
    )
    assert str(conversation_id) in listed_ids(staff_client, status="SNOOZED")
    # The hour has passed (moved in the row, as no clock can be wound in another process).
    Conversation.objects.filter(pk=conversation_id).update(
        snoozed_until=timezone.now() - timedelta(seconds=1)
    )
    row = row_of(staff_client, conversation_id)
    assert row is not None and (row["status"], row["snoozedUntil"]) == ("OPEN", None)
    assert str(conversation_id) in listed_ids(staff_client, status="OPEN")
    assert str(conversation_id) not in listed_ids(staff_client, status="SNOOZED")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "violations"),
    [
        ({"status": "SNOOZED"}, {"snoozedUntil": "REQUIRED_FIELD"}),
        ({"status": "SNOOZED", "snoozedUntil": "2001-01-01T00:00:00Z"}, {"snoozedUntil": "MIN"}),
        ({"status": "SNOOZED", "snoozedUntil": "2999-01-01T00:00:00Z"}, {"snoozedUntil": "MAX"}),
        (
            {"status": "CLOSED", "snoozedUntil": "2999-01-01T00:00:00Z"},
            {"snoozedUntil": "FIELD_NOT_ALLOWED"},
        ),
        ({"status": "SNOOZED", "snoozedUntil": "tomorrow"}, {"snoozedUntil": "FORMAT"}),
        ({"status": "ARCHIVED"}, {"status": "INVALID_ENUM_VALUE"}),
        ({}, {"status": "REQUIRED_FIELD"}),
    ],
)
def test_bad_status_requests_change_nothing(staff_client, visitor_thread, body, violations):
    _, conversation_id = visitor_thread
    messages = Message.objects.count()
    response = staff_client.post(
        f"{API}/conversations/{conversation_id}/status", body, format="json"
    )
    assert field_violations(response) == violations
    assert Conversation.objects.get(pk=conversation_id).status == "OPEN"
    assert Message.objects.count() == messages


@pytest.mark.django_db
def test_who_may_change_the_status(
    api, app_client, make_user, member_client, visitor_thread, make_conversation
):
    visitor, conversation_id = visitor_thread
    # A participant is refused, for its own conversation and any other, in the same words.
    for client, target in (
        (visitor, conversation_id),
        (visitor, make_conversation().pk),
        (member_client, conversation_id),
    ):
        assert_app_error(set_status(client, target, "CLOSED"), 403, "PERMISSION_DENIED")
    assert set_status(api, conversation_id, "CLOSED").status_code == 401
    no_perms = make_user(staff=True, perms=False)
    api.force_login(no_perms)
    assert_app_error(set_status(api, conversation_id, "CLOSED"), 403, "PERMISSION_DENIED")
    assert Conversation.objects.get(pk=conversation_id).status == "OPEN"
    assert_app_error(set_status(app_client, uuid.uuid4(), "CLOSED"), 404, "CONVERSATION_NOT_FOUND")
    assert set_status(app_client, conversation_id, "CLOSED").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("status", ["CLOSED", "SNOOZED"])
def test_a_participant_message_reopens(staff_client, visitor_thread, status):
    visitor, conversation_id = visitor_thread
    extra = {"snoozedUntil": in_an_hour()} if status == "SNOOZED" else {}
    assert set_status(staff_client, conversation_id, status, **extra).status_code == 200
    sent = participant_says(visitor, "anyone there?")
    conversation = Conversation.objects.get(pk=conversation_id)
    assert (conversation.status, conversation.snoozed_until) == ("OPEN", None)
    last = thread(staff_client, conversation_id)[-1]
    assert last["content"]["minimal"]["text"] == "Reopened by a new message from the participant"
    assert int(last["sequence"]) > int(sent["sequence"])
    assert last["visibility"] == "BUSINESS"
    assert thread(visitor, conversation_id, "BUSINESS_AND_PARTICIPANT")[-1]["id"] == sent["id"]


@pytest.mark.django_db
def test_business_and_silent_messages_do_not_reopen(staff_client, app_client, visitor_thread, send):
    _, conversation_id = visitor_thread
    assert set_status(staff_client, conversation_id, "CLOSED").status_code == 200
    send(conversation_id, "a reply after closing")
    send(conversation_id, "a note", visibility="BUSINESS")
    response = app_client.post(
        f"{API}/messages",
        {
            "conversationId": str(conversation_id),
            "message": text_message("silent", direction="PARTICIPANT_TO_BUSINESS", silent=True),
            "sendAs": "PARTICIPANT",
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    assert Conversation.objects.get(pk=conversation_id).status == "CLOSED"


@pytest.mark.django_db
def test_an_app_writing_for_the_participant_reopens(staff_client, visitor_thread, send):
    _, conversation_id = visitor_thread
    assert set_status(staff_client, conversation_id, "CLOSED").status_code == 200
    send(conversation_id, "by the app", direction="PARTICIPANT_TO_BUSINESS")
    assert Conversation.objects.get(pk=conversation_id).status == "OPEN"


@pytest.mark.django_db
def test_the_list_costs_the_same_queries_with_the_status_filter(
    staff_client, make_conversation, send
):
    def count(expected: int, **params: str) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert len(listed_ids(staff_client, **params, **{"paging.limit": 100})) == expected
        return len(queries)

    send(make_conversation().pk, "hi", direction="PARTICIPANT_TO_BUSINESS")
    one = count(1, status="OPEN")
    for index in range(30):
        send(make_conversation().pk, f"hi {index}", direction="PARTICIPANT_TO_BUSINESS")
    assert count(31, status="OPEN") == one
    # The filter is a WHERE clause of the same page query, not a query of its own.
    assert count(31) == one


# Mark unread ---------------------------------------------------------------------------------


def mark_unread(client: Any, conversation_id: Any) -> Any:
    return client.post(f"{API}/conversations/{conversation_id}/unread", {}, format="json")


@pytest.mark.django_db
def test_mark_unread_moves_the_cursor_back_before_the_last_message(
    staff_client, staff_user, visitor_thread
):
    visitor, conversation_id = visitor_thread
    sent = participant_says(visitor, "second")
    own = staff_client.post(
        f"{API}/messages",
        {"conversationId": str(conversation_id), "message": text_message("my own reply")},
        format="json",
    )
    assert own.status_code == 200, own.content
    top = Conversation.objects.get(pk=conversation_id).last_sequence
    read = staff_client.post(
        f"{API}/conversations/{conversation_id}/read", {"sequence": str(top)}, format="json"
    )
    assert read.status_code == 200
    assert row_of(staff_client, conversation_id)["unreadCount"] == 0

    response = mark_unread(staff_client, conversation_id)

    assert response.status_code == 200, response.content
    assert response.json()["sequence"] == str(int(sent["sequence"]) - 1)
    row = row_of(staff_client, conversation_id)
    assert row is not None and row["unreadCount"] >= 1
    assert str(conversation_id) in listed_ids(staff_client, unread="true")
    # Moving back only: a second call leaves the cursor where it is.
    assert (
        mark_unread(staff_client, conversation_id).json()["sequence"] == response.json()["sequence"]
    )
    assert ReadCursor.objects.get(user=staff_user).sequence == int(sent["sequence"]) - 1


@pytest.mark.django_db
def test_who_may_mark_unread(
    api, app_client, member_client, visitor_thread, make_conversation, staff_client
):
    visitor, conversation_id = visitor_thread
    assert_app_error(mark_unread(app_client, conversation_id), 403, "PERMISSION_DENIED")
    assert_app_error(mark_unread(visitor, conversation_id), 403, "PERMISSION_DENIED")
    assert_app_error(mark_unread(member_client, conversation_id), 403, "PERMISSION_DENIED")
    assert mark_unread(api, conversation_id).status_code == 401
    assert_app_error(mark_unread(staff_client, uuid.uuid4()), 404, "CONVERSATION_NOT_FOUND")
    empty = make_conversation()
    assert mark_unread(staff_client, empty.pk).json()["sequence"] == "0"


# Events --------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_status_events_reach_the_business_stream_only(
    staff_user, app_key, make_visitor, send
):
    visitor_id, visitor = make_visitor()
    await sync_to_async(participant_says)(visitor, "hi")
    conversation_id = conversation_id_for(Participant.Kind.ANONYMOUS_VISITOR, visitor_id)
    staff = socket(BUSINESS, headers=[await sync_to_async(session_cookie)(staff_user)])
    participant = socket(f"{PARTICIPANT}?token={visitor_token_issue(visitor_id)}")
    for communicator in (staff, participant):
        assert await open_socket(communicator) is None
        assert await resume(communicator) == []

    app = await sync_to_async(_app_client)(app_key)
    response = await sync_to_async(set_status)(app, conversation_id, "CLOSED")
    assert response.status_code == 200
    reopening = await sync_to_async(participant_says)(visitor, "back again")
    response = await sync_to_async(staff_read_then_mark_unread)(staff_user, conversation_id)
    assert response.status_code == 200
    sentinel = await sync_to_async(send)(conversation_id, "sentinel")

    business = await collect(staff)
    slugs = [event["slug"] for event in business]
    assert slugs == [
        "message_sent_to_participant",  # "Closed by …"
        "conversation_status_changed",
        "message_sent_to_business",  # the visitor's message
        "message_sent_to_participant",  # "Reopened by …"
        "conversation_status_changed",
        "conversation_read",
        "conversation_marked_unread",
        "message_sent_to_participant",  # the sentinel
    ]
    changes = [
        event["data"] for event in business if event["slug"] == "conversation_status_changed"
    ]
    assert [(c["status"], c["snoozedUntil"]) for c in changes] == [("CLOSED", None), ("OPEN", None)]
    assert changes[1]["changedBy"] == {"anonymousVisitorId": str(visitor_id)}
    # The participant got its own message and the public sentinel: no status, no entries.
    assert [event["entityId"] for event in await collect(participant)] == [
        reopening["id"],
        sentinel["id"],
    ]
    for communicator in (staff, participant):
        await communicator.disconnect()


def _app_client(app_key: str) -> Any:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=app_key)
    return client


def staff_read_then_mark_unread(user: Any, conversation_id: Any) -> Any:
    client = APIClient()
    client.force_login(user)
    top = Conversation.objects.get(pk=conversation_id).last_sequence
    read = client.post(
        f"{API}/conversations/{conversation_id}/read", {"sequence": str(top)}, format="json"
    )
    assert read.status_code == 200, read.content
    return mark_unread(client, conversation_id)
