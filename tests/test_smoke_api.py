"""End-to-end smoke of the main flow; the detailed rules live in test_api_*.py."""

from tests.conftest import API, text_message


def test_get_or_create_send_and_list(app_client):
    participant = {"contactId": "2a6b4c1e-7d0e-4f1e-9a57-2f0c1d9e4b21"}
    created = app_client.post(f"{API}/conversations", {"participantId": participant}, format="json")
    assert created.status_code == 200
    assert created.json()["newConversation"] is True
    conversation_id = created.json()["conversation"]["id"]

    again = app_client.post(f"{API}/conversations", {"participantId": participant}, format="json")
    assert again.json() == {**created.json(), "newConversation": False}

    sent = app_client.post(
        f"{API}/messages",
        {"conversationId": conversation_id, "message": text_message("hi")},
        format="json",
    )
    assert sent.status_code == 200
    message = sent.json()["message"]
    listed = app_client.get(
        f"{API}/messages", {"conversationId": conversation_id, "visibility": "BUSINESS"}
    )
    assert listed.status_code == 200
    assert listed.json()["messages"] == [message]
