"""The visibility matrix (contract §2, §3.6, §4): identity × visibility × endpoint → outcome.

The matrix below is the specification; each row is one test. A refused call writes nothing; an
accepted list returns only what that visibility allows.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from inbox import services
from inbox.identity import caller_for_app, visitor_token_issue
from inbox.models import Conversation, Message, Participant, user_wire_id
from tests.conftest import API, assert_app_error, text_draft, text_message

BOTH = "BUSINESS_AND_PARTICIPANT"
BUSINESS = "BUSINESS"

# identity         endpoint        visibility  status  code
MATRIX = """
app                get             -           200     -
staff              get             -           200     -
staff_view_only    get             -           200     -
staff_no_perms     get             -           403     PERMISSION_DENIED
member_own         get             -           200     -
member_other       get             -           403     NOT_JOINED_CHATROOM
visitor_own        get             -           200     -
visitor_other      get             -           403     NOT_JOINED_CHATROOM
anonymous          get             -           401     UNAUTHENTICATED

app                list            BUSINESS    200     -
staff              list            BUSINESS    200     -
staff_view_only    list            BUSINESS    200     -
staff_no_perms     list            BUSINESS    403     PERMISSION_DENIED
member_own         list            BUSINESS    403     PERMISSION_DENIED
member_other       list            BUSINESS    403     PERMISSION_DENIED
visitor_own        list            BUSINESS    403     PERMISSION_DENIED
visitor_other      list            BUSINESS    403     PERMISSION_DENIED
anonymous          list            BUSINESS    401     UNAUTHENTICATED

app                list            BOTH        200     -
staff              list            BOTH        200     -
staff_view_only    list            BOTH        200     -
staff_no_perms     list            BOTH        403     PERMISSION_DENIED
member_own         list            BOTH        200     -
member_other       list            BOTH        403     NOT_JOINED_CHATROOM
visitor_own        list            BOTH        200     -
visitor_other      list            BOTH        403     NOT_JOINED_CHATROOM
anonymous          list            BOTH        401     UNAUTHENTICATED

app                send            BUSINESS    200     -
staff              send            BUSINESS    200     -
staff_view_only    send            BUSINESS    403     PERMISSION_DENIED
staff_no_perms     send            BUSINESS    403     PERMISSION_DENIED
member_own         send            BUSINESS    403     IDENTITY_DOES_NOT_MATCH
member_other       send            BUSINESS    403     NOT_JOINED_CHATROOM
visitor_own        send            BUSINESS    403     IDENTITY_DOES_NOT_MATCH
visitor_other      send            BUSINESS    403     NOT_JOINED_CHATROOM
anonymous          send            BUSINESS    401     UNAUTHENTICATED

app                send            BOTH        200     -
staff              send            BOTH        200     -
staff_view_only    send            BOTH        403     PERMISSION_DENIED
staff_no_perms     send            BOTH        403     PERMISSION_DENIED
member_own         send            BOTH        200     -
member_other       send            BOTH        403     NOT_JOINED_CHATROOM
visitor_own        send            BOTH        200     -
visitor_other      send            BOTH        403     NOT_JOINED_CHATROOM
anonymous          send            BOTH        401     UNAUTHENTICATED

app                get_or_create   -           200     -
staff              get_or_create   -           200     -
staff_view_only    get_or_create   -           403     PERMISSION_DENIED
staff_no_perms     get_or_create   -           403     PERMISSION_DENIED
member_own         get_or_create   -           200     -
member_other       get_or_create   -           403     NOT_JOINED_CHATROOM
visitor_own        get_or_create   -           200     -
visitor_other      get_or_create   -           403     NOT_JOINED_CHATROOM
anonymous          get_or_create   -           401     UNAUTHENTICATED
"""

ROWS = [line.split() for line in MATRIX.strip().splitlines() if line.strip()]


@dataclass
class Identity:
    client: APIClient
    # The conversation this identity acts on, and the participant id that names it.
    conversation: Conversation
    participant_id: dict[str, str]
    is_participant: bool


def seed(conversation: Conversation) -> None:
    """One message of each visibility, so that lists show what they filter."""
    app, _ = services.app_create(name="seed")
    for visibility in (BOTH, BUSINESS):
        services.message_send(
            caller=caller_for_app(app),
            conversation=conversation,
            draft=text_draft(
                visibility,
                direction=Message.Direction.BUSINESS_TO_PARTICIPANT,
                visibility=visibility,
            ),
        )


@pytest.fixture
def identity(request, db, app_client, make_user) -> Identity:
    name = request.param
    contact_id = uuid.uuid4()
    other, _ = services.conversation_get_or_create(
        kind=Participant.Kind.CONTACT, external_id=contact_id
    )
    seed(other)
    other_id = {"contactId": str(contact_id)}
    client = APIClient()
    if name == "app":
        return Identity(app_client, other, other_id, False)
    if name.startswith("staff"):
        user = make_user(staff=True, perms=name == "staff")
        if name == "staff_view_only":
            user.user_permissions.add(
                *Permission.objects.filter(
                    content_type__app_label="inbox", codename__startswith="view_"
                )
            )
        client.force_login(user)
        return Identity(client, other, other_id, False)
    if name == "anonymous":
        return Identity(client, other, other_id, False)
    if name.startswith("member"):
        user = make_user()
        client.force_login(user)
        kind, external_id = Participant.Kind.MEMBER, user_wire_id(user.pk)
        own_id = {"memberId": str(external_id)}
    else:
        external_id = uuid.uuid4()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {visitor_token_issue(external_id)}")
        kind = Participant.Kind.ANONYMOUS_VISITOR
        own_id = {"anonymousVisitorId": str(external_id)}
    own, _ = services.conversation_get_or_create(kind=kind, external_id=external_id)
    seed(own)
    if name.endswith("_own"):
        return Identity(client, own, own_id, True)
    return Identity(client, other, other_id, True)


def call(identity: Identity, endpoint: str, visibility: str) -> Any:
    conversation_id = str(identity.conversation.pk)
    if endpoint == "get":
        return identity.client.get(f"{API}/conversations/{conversation_id}")
    if endpoint == "list":
        return identity.client.get(
            f"{API}/messages", {"conversationId": conversation_id, "visibility": visibility}
        )
    if endpoint == "send":
        direction = (
            "PARTICIPANT_TO_BUSINESS" if identity.is_participant else "BUSINESS_TO_PARTICIPANT"
        )
        return identity.client.post(
            f"{API}/messages",
            {
                "conversationId": conversation_id,
                "message": text_message("matrix", direction=direction, visibility=visibility),
            },
            format="json",
        )
    return identity.client.post(
        f"{API}/conversations", {"participantId": identity.participant_id}, format="json"
    )


def rows() -> tuple[int, int, int]:
    return Participant.objects.count(), Conversation.objects.count(), Message.objects.count()


@pytest.mark.parametrize(
    ("identity", "endpoint", "visibility", "status", "code"),
    ROWS,
    ids=["-".join(row[:3]) for row in ROWS],
    indirect=["identity"],
)
def test_visibility_matrix(identity, endpoint, visibility, status, code):
    visibility = {"BOTH": BOTH, "BUSINESS": BUSINESS, "-": BOTH}[visibility]
    before = rows()

    response = call(identity, endpoint, visibility)

    if code != "-":
        assert_app_error(response, int(status), code)
        assert rows() == before
        return
    assert response.status_code == int(status), response.content
    body = response.json()
    if endpoint in ("get", "get_or_create"):
        assert body["conversation"]["id"] == str(identity.conversation.pk)
    elif endpoint == "list":
        expected = {BOTH} if visibility == BOTH else {BOTH, BUSINESS}
        assert {message["visibility"] for message in body["messages"]} == expected
    else:
        assert body["message"]["visibility"] == visibility
        assert rows() == (before[0], before[1], before[2] + 1)
