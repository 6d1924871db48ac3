"""``POST v2/messages/interactions``: a participant presses a postback button (contract §3.7),
and ``button_interacted`` reaches the business stream, and only it."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from inbox.identity import visitor_token_issue
from project.asgi import application
from tests.conftest import API, assert_app_error, field_violations, participant_says
from tests.test_realtime import greeted

ORIGIN = (b"origin", b"http://testserver")
TIMEOUT = 5


def template_message(*, visibility: str = "BUSINESS_AND_PARTICIPANT") -> dict[str, Any]:
    return {
        "direction": "BUSINESS_TO_PARTICIPANT",
        "visibility": visibility,
        "content": {
            "template": {
                "title": "Your order",
                "textLines": ["Ready for pick-up"],
                "buttons": [
                    {"label": "Track", "launchUrl": "https://example.com/track"},
                    {"label": "Confirm", "postbackProperties": {"interactionId": "confirm-42"}},
                ],
            }
        },
    }


def visitor_thread(
    make_visitor: Any, app_client: Any, *, visibility: str = "BUSINESS_AND_PARTICIPANT"
):
    """A visitor's conversation (opened by its first message) holding a template message sent
    by the test app; returns (visitor client, conversation id, template message JSON)."""
    visitor_id, client = make_visitor()
    participant_says(client, "hi")
    conversation_id = client.post(f"{API}/conversations", {}, format="json").json()["conversation"][
        "id"
    ]
    sent = app_client.post(
        f"{API}/messages",
        {"conversationId": conversation_id, "message": template_message(visibility=visibility)},
        format="json",
    )
    assert sent.status_code == 200, sent.content
    return client, conversation_id, sent.json()["message"], visitor_id


def press(client: Any, message_id: str, interaction_id: str = "confirm-42", **extra: Any) -> Any:
    return client.post(
        f"{API}/messages/interactions",
        {"messageId": message_id, "interactionId": interaction_id, **extra},
        format="json",
    )


@pytest.mark.django_db
def test_the_participant_presses_a_postback_button(make_visitor, app_client):
    client, conversation_id, message, _ = visitor_thread(make_visitor, app_client)
    # The app that sent the button is the one its postbacks belong to.
    buttons = message["content"]["template"]["buttons"]
    assert buttons[1]["postbackProperties"]["appId"] == message["appId"]

    assert press(client, message["id"]).json() == {}
    response = press(client, message["id"], conversationId=conversation_id)
    assert response.status_code == 200
    assert response.json() == {}


@pytest.mark.django_db
def test_a_member_presses_a_button_in_its_own_conversation(member_client, app_client):
    conversation_id = member_client.post(f"{API}/conversations", {}, format="json").json()[
        "conversation"
    ]["id"]
    sent = app_client.post(
        f"{API}/messages",
        {"conversationId": conversation_id, "message": template_message()},
        format="json",
    ).json()["message"]
    assert press(member_client, sent["id"]).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("interaction_id", ["confirm-43", "Track", "CONFIRM-42"])
def test_an_interaction_id_the_message_has_no_postback_button_for_is_400(
    make_visitor, app_client, interaction_id
):
    client, _, message, _ = visitor_thread(make_visitor, app_client)
    assert "interactionId" in field_violations(press(client, message["id"], interaction_id))


@pytest.mark.django_db
def test_a_message_without_buttons_has_nothing_to_press(make_visitor, app_client, send):
    client, conversation_id, _, _ = visitor_thread(make_visitor, app_client)
    plain = send(conversation_id, "no buttons here")
    assert "interactionId" in field_violations(press(client, plain["id"]))


@pytest.mark.django_db
def test_another_participants_message_is_403(make_visitor, app_client):
    _, _, message, _ = visitor_thread(make_visitor, app_client)
    _, stranger = make_visitor()
    assert_app_error(press(stranger, message["id"]), 403, "NOT_JOINED_CHATROOM")


@pytest.mark.django_db
def test_an_internal_message_cannot_be_pressed_even_in_the_own_conversation(
    make_visitor, app_client
):
    client, conversation_id, message, _ = visitor_thread(
        make_visitor, app_client, visibility="BUSINESS"
    )
    assert_app_error(press(client, message["id"]), 403, "NOT_JOINED_CHATROOM")
    assert_app_error(
        press(client, message["id"], conversationId=conversation_id), 403, "NOT_JOINED_CHATROOM"
    )


@pytest.mark.django_db
def test_an_unknown_message_id_is_indistinguishable_from_a_foreign_one(make_visitor, app_client):
    client, _, _, _ = visitor_thread(make_visitor, app_client)
    assert_app_error(press(client, "99999999"), 403, "NOT_JOINED_CHATROOM")


@pytest.mark.django_db
def test_a_conversation_id_that_does_not_hold_the_message_is_403(
    make_visitor, app_client, make_conversation
):
    client, _, message, _ = visitor_thread(make_visitor, app_client)
    other = make_conversation()
    assert_app_error(
        press(client, message["id"], conversationId=str(other.pk)), 403, "NOT_JOINED_CHATROOM"
    )


@pytest.mark.django_db
def test_the_business_side_does_not_press_participant_buttons(make_visitor, app_client):
    _, _, message, _ = visitor_thread(make_visitor, app_client)
    assert_app_error(press(app_client, message["id"]), 403, "PERMISSION_DENIED")


@pytest.mark.django_db
def test_pressing_needs_credentials(api, make_visitor, app_client):
    _, _, message, _ = visitor_thread(make_visitor, app_client)
    assert_app_error(press(api, message["id"]), 401, "UNAUTHENTICATED")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"interactionId": "x"}, "messageId"),
        ({"messageId": "12"}, "interactionId"),
        ({"messageId": "abc", "interactionId": "x"}, "messageId"),
        ({"messageId": "99999999999999999999", "interactionId": "x"}, "messageId"),
        ({"messageId": "١٢", "interactionId": "x"}, "messageId"),
        ({"messageId": "1", "interactionId": ""}, "interactionId"),
        ({"messageId": "1", "interactionId": "x" * 257}, "interactionId"),
        ({"messageId": "1", "interactionId": "x", "conversationId": "nope"}, "conversationId"),
    ],
)
def test_bad_bodies_are_field_violations(make_visitor, body, field):
    _, client = make_visitor()
    response = client.post(f"{API}/messages/interactions", body, format="json")
    assert field in field_violations(response)


# The event ---------------------------------------------------------------------------------


async def _quiet(communicator: WebsocketCommunicator) -> list[dict[str, Any]]:
    frames = []
    while not await communicator.receive_nothing(timeout=0.5):
        frames.append(await communicator.receive_json_from(timeout=TIMEOUT))
    return frames


@pytest.mark.django_db(transaction=True)
async def test_button_interacted_reaches_the_business_stream_only(
    make_visitor, app_client, app_key
):
    client, conversation_id, message, visitor_id = await sync_to_async(visitor_thread)(
        make_visitor, app_client
    )
    business = WebsocketCommunicator(
        application, "/ws/inbox/business/", headers=[ORIGIN, (b"authorization", app_key.encode())]
    )
    participant = WebsocketCommunicator(
        application,
        f"/ws/inbox/participant/?token={visitor_token_issue(visitor_id)}",
        headers=[ORIGIN],
    )
    for communicator in (business, participant):
        await greeted(communicator)
        await communicator.send_json_to({"type": "resume"})
        assert (await communicator.receive_json_from(timeout=TIMEOUT))["type"] == "ready"

    response = await sync_to_async(press)(client, message["id"])
    assert response.status_code == 200

    frame = await business.receive_json_from(timeout=TIMEOUT)
    event = frame["event"]
    assert event["slug"] == "button_interacted"
    assert event["entityFqdn"] == "wix.crm.inbox.v2.message"
    assert event["data"] == {
        "conversationId": conversation_id,
        "appId": message["appId"],
        "interactionId": "confirm-42",
        "interactedBy": {"anonymousVisitorId": str(visitor_id)},
        "messageId": message["id"],
    }
    uuid.UUID(event["id"])
    assert await _quiet(business) == []
    assert await _quiet(participant) == []
    await business.disconnect()
    await participant.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_refused_press_publishes_nothing(make_visitor, app_client, app_key):
    client, _, message, _ = await sync_to_async(visitor_thread)(make_visitor, app_client)
    business = WebsocketCommunicator(
        application, "/ws/inbox/business/", headers=[ORIGIN, (b"authorization", app_key.encode())]
    )
    await greeted(business)
    await business.send_json_to({"type": "resume"})
    assert (await business.receive_json_from(timeout=TIMEOUT))["type"] == "ready"

    response = await sync_to_async(press)(client, message["id"], "no-such-button")
    assert response.status_code == 400
    assert await _quiet(business) == []
    await business.disconnect()
