"""Assignment (issue 16): ``POST v2/conversations/{id}/assignee``, the ``assignee`` list filter
("mine", "unassigned"), the staff-only thread entries and ``conversation_assigned``, which no
participant receives. Assigning grants nothing: only staff who may open the inbox can be
assigned."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from inbox.identity import visitor_token_issue
from inbox.models import Conversation, Message, Participant, conversation_id_for, user_wire_id
from tests.conftest import API, assert_app_error, field_violations, participant_says
from tests.test_api_status import listed_ids, row_of, thread
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


def assign(client: Any, conversation_id: Any, user: Any) -> Any:
    wix_user_id = str(user_wire_id(user.pk)) if user is not None else None
    return client.post(
        f"{API}/conversations/{conversation_id}/assignee",
        {"wixUserId": wix_user_id},
        format="json",
    )


def logged_in(user: Any) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


@pytest.fixture
def kim(make_user: Any) -> Any:
    user = make_user("kim", staff=True)
    user.first_name, user.last_name = "Kim", "Lee"
    user.save()
    return user


@pytest.mark.django_db
def test_assigning_and_unassigning(staff_client, kim, make_conversation, send):
    conversation = make_conversation()
    send(conversation.pk, "hi", direction="PARTICIPANT_TO_BUSINESS")

    response = assign(staff_client, conversation.pk, kim)

    assert response.status_code == 200, response.content
    assignee = {"wixUserId": str(user_wire_id(kim.pk)), "name": "Kim Lee"}
    assert response.json() == {
        "conversationId": str(conversation.pk),
        "assignee": assignee,
        "changed": True,
    }
    row = row_of(staff_client, conversation.pk)
    assert row is not None and row["assignee"] == assignee
    assert row["unreadCount"] == 1  # the entry is silent
    entry = thread(staff_client, conversation.pk)[-1]
    assert entry["content"]["minimal"]["text"] == "Assigned to Kim Lee by staff"
    assert (entry["visibility"], entry["silent"]) == ("BUSINESS", True)
    assert assign(staff_client, conversation.pk, kim).json()["changed"] is False
    unassigned = assign(staff_client, conversation.pk, None)
    assert unassigned.json() == {
        "conversationId": str(conversation.pk),
        "assignee": None,
        "changed": True,
    }
    texts = [
        m["content"].get("minimal", {}).get("text") for m in thread(staff_client, conversation.pk)
    ]
    assert texts == [None, "Assigned to Kim Lee by staff", "Unassigned by staff"]


@pytest.mark.django_db
def test_mine_and_unassigned_filters(staff_client, staff_user, kim, app_client, make_conversation):
    mine, theirs, nobodys = (make_conversation() for _ in range(3))
    assert assign(app_client, mine.pk, staff_user).status_code == 200
    assert assign(app_client, theirs.pk, kim).status_code == 200
    assert listed_ids(staff_client, assignee="me") == {str(mine.pk)}
    assert listed_ids(logged_in(kim), assignee="me") == {str(theirs.pk)}
    assert listed_ids(staff_client, assignee="none") == {str(nobodys.pk)}
    assert len(listed_ids(staff_client)) == 3
    assert listed_ids(staff_client, assignee="none", status="CLOSED") == set()
    # The app's entry names the app.
    assert thread(staff_client, mine.pk)[-1]["content"]["minimal"]["text"] == (
        "Assigned to staff by Test app"
    )


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["", "ME", "someone"])
def test_a_bad_assignee_filter_is_one_400(staff_client, value):
    response = staff_client.get(f"{API}/conversations", {"assignee": value})
    assert field_violations(response) == {"assignee": "INVALID_ENUM_VALUE"}


@pytest.mark.django_db
def test_an_app_has_no_mine(app_client):
    response = app_client.get(f"{API}/conversations", {"assignee": "me"})
    assert field_violations(response) == {"assignee": "INVALID_ENUM_VALUE"}
    assert app_client.get(f"{API}/conversations", {"assignee": "none"}).status_code == 200


@pytest.mark.django_db
def test_only_staff_who_may_open_the_inbox_can_be_assigned(
    staff_client, make_user, member_user, make_conversation, django_user_model
):
    conversation = make_conversation()
    no_perms = make_user(staff=True, perms=False)
    inactive = make_user(staff=True)
    inactive.is_active = False
    inactive.save()
    not_staff = make_user()
    not_staff.user_permissions.add(*Permission.objects.filter(content_type__app_label="inbox"))
    for user in (no_perms, inactive, not_staff, member_user):
        response = assign(staff_client, conversation.pk, user)
        assert field_violations(response) == {"wixUserId": "EXISTS"}, user
    response = staff_client.post(
        f"{API}/conversations/{conversation.pk}/assignee",
        {"wixUserId": str(uuid.uuid4())},
        format="json",
    )
    assert field_violations(response) == {"wixUserId": "EXISTS"}
    for body in ({}, {"wixUserId": "kim"}, {"wixUserId": 7}):
        response = staff_client.post(
            f"{API}/conversations/{conversation.pk}/assignee", body, format="json"
        )
        assert set(field_violations(response)) == {"wixUserId"}
    assert Conversation.objects.get(pk=conversation.pk).assignee_id is None
    assert not Message.objects.filter(conversation=conversation).exists()

    # Through a group, or as a superuser, they can.
    grouped = make_user(staff=True, perms=False)
    group = Group.objects.create(name="agents")
    group.permissions.add(Permission.objects.get(codename="view_message"))
    grouped.groups.add(group)
    boss = django_user_model.objects.create_superuser("boss", password="pw-123456")
    for user in (grouped, boss):
        assert assign(staff_client, conversation.pk, user).status_code == 200


@pytest.mark.django_db
def test_who_may_assign(
    api, app_client, make_user, member_client, kim, make_visitor, make_conversation
):
    visitor_id, visitor = make_visitor()
    participant_says(visitor, "hi")
    own = conversation_id_for(Participant.Kind.ANONYMOUS_VISITOR, visitor_id)
    for client, target in ((visitor, own), (visitor, make_conversation().pk), (member_client, own)):
        assert_app_error(assign(client, target, kim), 403, "PERMISSION_DENIED")
    assert assign(api, own, kim).status_code == 401
    api.force_login(make_user(staff=True, perms=False))
    assert_app_error(assign(api, own, kim), 403, "PERMISSION_DENIED")
    assert Conversation.objects.get(pk=own).assignee_id is None
    assert_app_error(assign(app_client, uuid.uuid4(), kim), 404, "CONVERSATION_NOT_FOUND")
    assert assign(app_client, own, kim).status_code == 200


@pytest.mark.django_db
def test_the_list_costs_the_same_queries_with_assignees(
    staff_client, kim, app_client, make_conversation, send
):
    def count(expected: int, **params: str) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert len(listed_ids(staff_client, **params, **{"paging.limit": 100})) == expected
        return len(queries)

    def assigned_conversation(text: str) -> None:
        conversation = make_conversation()
        send(conversation.pk, text, direction="PARTICIPANT_TO_BUSINESS")
        assert assign(app_client, conversation.pk, kim).status_code == 200

    assigned_conversation("hi")
    one = count(1)
    for index in range(30):
        assigned_conversation(f"hi {index}")
    assert count(31) == one
    assert count(0, assignee="me") == one
    assert count(0, assignee="none") == one


@pytest.mark.django_db(transaction=True)
async def test_assignment_events_reach_the_business_stream_only(
    staff_user, kim, app_key, make_visitor, send
):
    visitor_id, visitor = make_visitor()
    await sync_to_async(participant_says)(visitor, "hi")
    conversation_id = conversation_id_for(Participant.Kind.ANONYMOUS_VISITOR, visitor_id)
    kim_socket = socket(BUSINESS, headers=[await sync_to_async(session_cookie)(kim)])
    participant = socket(f"{PARTICIPANT}?token={visitor_token_issue(visitor_id)}")
    for communicator in (kim_socket, participant):
        assert await open_socket(communicator) is None
        assert await resume(communicator) == []

    response = await sync_to_async(lambda: assign(logged_in(staff_user), conversation_id, kim))()
    assert response.status_code == 200, response.content
    sentinel = await sync_to_async(send)(conversation_id, "sentinel")

    received = await collect(kim_socket)
    assert [event["slug"] for event in received] == [
        "message_sent_to_participant",  # "Assigned to Kim Lee by staff"
        "conversation_assigned",
        "message_sent_to_participant",  # the sentinel
    ]
    assert received[1]["data"] == {
        "conversationId": str(conversation_id),
        "assignee": {"wixUserId": str(user_wire_id(kim.pk)), "name": "Kim Lee"},
        "assignedBy": {"wixUserId": str(user_wire_id(staff_user.pk))},
    }
    assert [event["entityId"] for event in await collect(participant)] == [sentinel["id"]]
    for communicator in (kim_socket, participant):
        await communicator.disconnect()
