"""Django signals after commit (issue #12's extension points): each is sent once, after the write
commits and never for a write that rolled back, with the event id the sockets and webhooks carry."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction
from django.dispatch import Signal

from inbox import services, signals
from inbox.identity import caller_for_app, caller_for_user, caller_for_visitor
from inbox.models import App, Conversation, Message, OutboxEvent, Participant
from tests.conftest import text_draft

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def received() -> Iterator[list[tuple[str, Any, dict[str, Any]]]]:
    calls: list[tuple[str, Any, dict[str, Any]]] = []
    names = [
        "event_committed",
        "message_sent",
        "button_interacted",
        "conversations_merged",
        "conversation_read",
        "conversation_created",
    ]
    receivers = {}
    for name in names:

        def receiver(sender: Any, _name: str = name, **kwargs: Any) -> None:
            kwargs.pop("signal")
            calls.append((_name, sender, kwargs))

        receivers[name] = receiver
        getattr(signals, name).connect(receiver, weak=False)
    yield calls
    for name, receiver in receivers.items():
        signal: Signal = getattr(signals, name)
        signal.disconnect(receiver)


def visitor_conversation() -> tuple[uuid.UUID, Conversation]:
    visitor_id = uuid.uuid4()
    conversation, created = services.conversation_get_or_create(
        kind=Participant.Kind.ANONYMOUS_VISITOR, external_id=visitor_id
    )
    assert created
    return visitor_id, conversation


def test_a_new_conversation_is_signalled_once(received: list[Any]) -> None:
    _, conversation = visitor_conversation()
    services.conversation_get_or_create(
        kind=Participant.Kind.ANONYMOUS_VISITOR,
        external_id=conversation.participant.anonymous_visitor_id,
    )
    assert received == [("conversation_created", Conversation, {"conversation": conversation})]


def test_a_send_is_signalled_after_commit_with_the_outbox_event_id(received: list[Any]) -> None:
    visitor_id, conversation = visitor_conversation()
    received.clear()
    with transaction.atomic():
        message, _ = services.message_send(
            caller=caller_for_visitor(visitor_id),
            conversation=conversation,
            draft=text_draft("hi", direction="PARTICIPANT_TO_BUSINESS"),
        )
        assert received == []  # nothing before the commit
    names = [name for name, _, _ in received]
    assert names == ["event_committed", "message_sent"]
    _, sender, arguments = received[1]
    assert sender is Message
    assert arguments["data"]["message"]["id"] == str(message.pk)
    assert arguments["event"]["slug"] == "message_sent_to_business"
    assert OutboxEvent.objects.filter(pk=arguments["event_id"]).exists()
    assert received[0][2] == arguments


def test_a_rolled_back_send_is_never_signalled(received: list[Any], app_key: str) -> None:
    _, conversation = visitor_conversation()
    received.clear()
    app = App.objects.get(key_hash=App.hash_key(app_key))

    class Abort(Exception):
        pass

    with pytest.raises(Abort), transaction.atomic():
        services.message_send(
            caller=caller_for_app(app), conversation=conversation, draft=text_draft("never")
        )
        raise Abort
    assert received == []
    assert not Message.objects.exists()


def test_a_failing_receiver_neither_breaks_the_send_nor_the_other_receivers(
    received: list[Any], app_key: str
) -> None:
    def broken(sender: Any, **kwargs: Any) -> None:
        raise RuntimeError("receiver bug")

    signals.message_sent.connect(broken, weak=False)
    try:
        _, conversation = visitor_conversation()
        app = App.objects.get(key_hash=App.hash_key(app_key))
        services.message_send(
            caller=caller_for_app(app), conversation=conversation, draft=text_draft("still sent")
        )
    finally:
        signals.message_sent.disconnect(broken)
    assert Message.objects.count() == 1
    assert [name for name, _, _ in received][-2:] == ["event_committed", "message_sent"]


def test_read_and_merge_have_their_own_signals(
    received: list[Any], member_user: Any, staff_user: Any
) -> None:
    visitor_id, conversation = visitor_conversation()
    message, _ = services.message_send(
        caller=caller_for_visitor(visitor_id),
        conversation=conversation,
        draft=text_draft("hello", direction="PARTICIPANT_TO_BUSINESS"),
    )
    received.clear()
    services.conversation_mark_read(
        caller=caller_for_user(staff_user), conversation=conversation, sequence=message.sequence
    )
    read = [args for name, _, args in received if name == "conversation_read"]
    assert len(read) == 1
    assert read[0]["data"]["sequence"] == str(message.sequence)
    received.clear()
    member_conversation, _ = services.conversation_get_or_create(
        kind=Participant.Kind.MEMBER, external_id=uuid.uuid4(), user=member_user
    )
    services.conversation_merge(source=conversation, target=member_conversation)
    merged = [args for name, _, args in received if name == "conversations_merged"]
    assert len(merged) == 1
    assert merged[0]["data"]["oldConversationIds"] == [str(conversation.pk)]
    assert merged[0]["data"]["targetConversationId"] == str(member_conversation.pk)
