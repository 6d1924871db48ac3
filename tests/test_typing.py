"""Typing and viewing over the sockets (inbox/realtime/typing.py, issue 16): a participant's
typing reaches the business stream; a staff user's reply typing reaches colleagues by name and
the participant nameless; note typing and viewing never reach the participant; bad frames get
an error and reach nobody; API apps may not announce typing."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections

from inbox.identity import visitor_token_issue
from inbox.models import Participant, conversation_id_for, user_wire_id
from inbox.realtime import protocol, registry
from tests.conftest import participant_says
from tests.test_realtime import (
    BUSINESS,
    PARTICIPANT,
    next_event,
    open_socket,
    resume,
    session_cookie,
    socket,
)

pytestmark = pytest.mark.django_db(transaction=True)

QUIET = 0.3


@pytest.fixture(autouse=True)
async def close_worker_connections() -> Any:
    yield
    await sync_to_async(connections.close_all)()


async def live(communicator: WebsocketCommunicator) -> WebsocketCommunicator:
    assert await open_socket(communicator) is None
    assert await resume(communicator) == []
    return communicator


@pytest.fixture
async def visitor(make_visitor: Any) -> dict[str, Any]:
    """A visitor who has written once (its conversation exists), with its live socket."""
    visitor_id, client = make_visitor()
    await sync_to_async(participant_says)(client, "hello")
    conversation_id = conversation_id_for(Participant.Kind.ANONYMOUS_VISITOR, visitor_id)
    communicator = await live(socket(f"{PARTICIPANT}?token={visitor_token_issue(visitor_id)}"))
    yield {"id": visitor_id, "conversation_id": str(conversation_id), "socket": communicator}
    await communicator.disconnect()


async def staff_socket(user: Any) -> WebsocketCommunicator:
    cookie = await sync_to_async(session_cookie)(user)
    return await live(socket(BUSINESS, headers=[cookie]))


async def test_participant_typing_reaches_the_business_stream(visitor, staff_user):
    staff = await staff_socket(staff_user)
    await visitor["socket"].send_json_to({"type": "typing", "op": "start"})

    event = await next_event(staff)
    assert event["slug"] == "participant_typing"
    assert event["data"] == {"conversationId": visitor["conversation_id"], "op": "start"}
    assert registry.schema_errors(event) == []

    await visitor["socket"].send_json_to({"type": "typing", "op": "stop"})
    assert (await next_event(staff))["data"]["op"] == "stop"
    # The typist hears nothing of its own typing.
    assert await visitor["socket"].receive_nothing(timeout=QUIET)
    await staff.disconnect()


async def test_staff_reply_typing_reaches_colleagues_by_name_and_the_participant_nameless(
    visitor, staff_user, make_user
):
    colleague = await sync_to_async(make_user)("kim", staff=True)
    sam, kim = await staff_socket(staff_user), await staff_socket(colleague)
    conversation_id = visitor["conversation_id"]

    await sam.send_json_to({"type": "typing", "op": "start", "conversationId": conversation_id})

    seen = await next_event(kim)
    assert seen["slug"] == "staff_typing"
    assert seen["data"] == {
        "conversationId": conversation_id,
        "op": "start",
        "staff": {"wixUserId": str(user_wire_id(staff_user.pk)), "name": "staff"},
        "note": False,
    }
    told = await next_event(visitor["socket"])
    assert told["slug"] == "business_typing"
    assert told["data"] == {"conversationId": conversation_id, "op": "start"}
    assert registry.schema_errors(told) == []
    await sam.disconnect()
    await kim.disconnect()


async def test_note_typing_and_viewing_never_reach_the_participant(visitor, staff_user, make_user):
    colleague = await sync_to_async(make_user)("kim", staff=True)
    sam, kim = await staff_socket(staff_user), await staff_socket(colleague)
    conversation_id = visitor["conversation_id"]

    await sam.send_json_to(
        {"type": "typing", "op": "start", "conversationId": conversation_id, "note": True}
    )
    await sam.send_json_to({"type": "viewing", "op": "start", "conversationId": conversation_id})

    typing = await next_event(kim)
    assert (typing["slug"], typing["data"]["note"]) == ("staff_typing", True)
    viewing = await next_event(kim)
    assert viewing["slug"] == "staff_viewing"
    assert viewing["data"]["staff"]["wixUserId"] == str(user_wire_id(staff_user.pk))
    assert await visitor["socket"].receive_nothing(timeout=QUIET)
    await sam.disconnect()
    await kim.disconnect()


async def test_a_participant_typing_frame_names_no_other_conversation(visitor, make_visitor):
    """The participant stream is the conversation's: a conversationId in the frame is ignored,
    so nobody can announce typing in another's conversation."""
    other_id, other_client = make_visitor()
    await sync_to_async(participant_says)(other_client, "me too")
    other = await live(socket(f"{PARTICIPANT}?token={visitor_token_issue(other_id)}"))

    await other.send_json_to(
        {"type": "typing", "op": "start", "conversationId": visitor["conversation_id"]}
    )
    assert await visitor["socket"].receive_nothing(timeout=QUIET)
    await other.disconnect()


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ({"type": "typing", "op": "begin", "conversationId": str(uuid.uuid4())}, "INVALID_FRAME"),
        ({"type": "typing", "op": "start"}, "INVALID_FRAME"),
        ({"type": "typing", "op": "start", "conversationId": "x"}, "INVALID_FRAME"),
        (
            {"type": "typing", "op": "start", "conversationId": str(uuid.uuid4()), "note": "y"},
            "INVALID_FRAME",
        ),
        ({"type": "viewing", "op": None, "conversationId": str(uuid.uuid4())}, "INVALID_FRAME"),
        # The slug of an event is no frame.
        ({"type": "staff_typing", "op": "start"}, "UNKNOWN_TYPE"),
    ],
)
async def test_bad_staff_frames_get_an_error_and_reach_nobody(staff_user, make_user, frame, code):
    colleague = await sync_to_async(make_user)("kim", staff=True)
    sam, kim = await staff_socket(staff_user), await staff_socket(colleague)
    await sam.send_json_to(frame)
    error = await sam.receive_json_from(timeout=5)
    assert (error["type"], error["code"]) == ("error", code)
    assert await kim.receive_nothing(timeout=QUIET)
    await sam.disconnect()
    await kim.disconnect()


async def test_bad_participant_frame_gets_an_error(visitor):
    await visitor["socket"].send_json_to({"type": "typing", "op": "maybe"})
    error = await visitor["socket"].receive_json_from(timeout=5)
    assert (error["type"], error["code"]) == ("error", protocol.ERROR_INVALID_FRAME)


async def test_apps_and_staff_without_send_permission_may_not_announce_typing(
    app_key, make_user, staff_user
):
    watcher = await staff_socket(staff_user)
    app = await live(socket(BUSINESS, headers=[(b"authorization", app_key.encode())]))
    frame = {"type": "typing", "op": "start", "conversationId": str(uuid.uuid4())}
    await app.send_json_to(frame)
    assert (await app.receive_json_from(timeout=5))["code"] == protocol.ERROR_NOT_ALLOWED

    reader = await sync_to_async(make_user)("reader", staff=True, perms=False)
    await sync_to_async(_grant)(reader, "view_message")
    read_only = await staff_socket(reader)
    await read_only.send_json_to(frame)
    assert (await read_only.receive_json_from(timeout=5))["code"] == protocol.ERROR_NOT_ALLOWED
    # Viewing needs only the view permission.
    await read_only.send_json_to({**frame, "type": "viewing"})
    assert (await next_event(watcher))["slug"] == "staff_viewing"
    assert await watcher.receive_nothing(timeout=QUIET)
    for communicator in (watcher, app, read_only):
        await communicator.disconnect()


def _grant(user: Any, codename: str) -> None:
    from django.contrib.auth.models import Permission

    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="inbox", codename=codename)
    )


async def test_typing_frames_count_against_the_frame_cap(visitor, settings):
    settings.INBOX = {"SOCKET_MAX_FRAMES": 3}
    for _ in range(3):
        await visitor["socket"].send_json_to({"type": "typing", "op": "start"})
    await visitor["socket"].send_json_to({"type": "typing", "op": "start"})
    output = await visitor["socket"].receive_output(timeout=5)
    assert (output["type"], output.get("code")) == (
        "websocket.close",
        protocol.CLOSE_TOO_MANY_FRAMES,
    )
