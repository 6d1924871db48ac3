"""The event registry (inbox/realtime/registry.py): every builder's event has its registered
shape, each stream relays exactly what the registry allows it (default deny), the publisher
refuses a group whose stream may not carry an event, and docs/events.md and README.md list the
registry."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.utils import timezone

from inbox.identity import visitor_token_issue
from inbox.models import Message, Participant, conversation_id_for
from inbox.realtime import events, registry
from inbox.realtime.groups import business_group, participant_group
from inbox.realtime.publish import CONSUMER_HANDLER, publish_on_commit
from inbox.wire import iso_micro, participant_json
from tests.conftest import participant_says
from tests.events_catalogue import CATALOGUES, ROOT, with_catalogue
from tests.test_realtime import (  # noqa: F401 - close_worker_connections is an autouse fixture
    BUSINESS,
    PARTICIPANT,
    close_worker_connections,
    collect,
    open_socket,
    resume,
    socket,
)

pytestmark = pytest.mark.django_db(transaction=True)

UNREGISTERED_SLUG = "typing_started"


def _unregistered_event(conversation_id: uuid.UUID) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "entityFqdn": registry.CONVERSATION_FQDN,
        "slug": UNREGISTERED_SLUG,
        "entityId": str(conversation_id),
        "eventTime": iso_micro(timezone.now()),
        "data": {"conversationId": str(conversation_id)},
    }


def _samples(conversation_id: uuid.UUID, send: Any) -> dict[str, dict[str, Any]]:
    """One event of every registered slug, made by its builder from stored rows, plus an
    internal message's event; keyed by a name for each."""
    send(conversation_id, "public reply")
    send(conversation_id, "internal note", visibility="BUSINESS")
    messages = list(Message.objects.filter(conversation_id=conversation_id).order_by("sequence"))
    from_visitor, public, internal = messages
    participant = from_visitor.conversation.participant
    samples = {
        "message_sent_to_business": events.message_event(from_visitor),
        "message_sent_to_participant": events.message_event(public),
        "internal message_sent_to_participant": events.message_event(internal),
        "button_interacted": events.button_interacted_event(
            message=public,
            app_id=None,
            interaction_id="yes",
            interacted_by=participant_json(participant),
        ),
        "conversations_merged": events.conversations_merged_event(
            old_conversation_ids=[uuid.uuid4()], target_conversation_id=conversation_id
        ),
        "conversation_read": events.conversation_read_event(
            conversation_id=conversation_id, read_by=participant_json(participant), sequence=7
        ),
        "conversation_status_changed": events.conversation_status_changed_event(
            conversation_id=conversation_id,
            status="SNOOZED",
            snoozed_until=timezone.now(),
            changed_by={"wixUserId": str(uuid.uuid4())},
        ),
        "conversation_marked_unread": events.conversation_marked_unread_event(
            conversation_id=conversation_id, read_by={"wixUserId": str(uuid.uuid4())}, sequence=6
        ),
        "conversation_assigned": events.conversation_assigned_event(
            conversation_id=conversation_id,
            assignee={"wixUserId": str(uuid.uuid4()), "name": "Kim"},
            assigned_by={"appId": str(uuid.uuid4())},
        ),
        "participant_typing": events.typing_event(
            event_type=registry.PARTICIPANT_TYPING,
            conversation_id=conversation_id,
            data={"op": "start"},
        ),
        "business_typing": events.typing_event(
            event_type=registry.BUSINESS_TYPING,
            conversation_id=conversation_id,
            data={"op": "stop"},
        ),
        "staff_typing": events.typing_event(
            event_type=registry.STAFF_TYPING,
            conversation_id=conversation_id,
            data={
                "op": "start",
                "staff": {"wixUserId": str(uuid.uuid4()), "name": "Kim"},
                "note": True,
            },
        ),
        "staff_viewing": events.typing_event(
            event_type=registry.STAFF_VIEWING,
            conversation_id=conversation_id,
            data={"op": "start", "staff": {"wixUserId": str(uuid.uuid4()), "name": "Kim"}},
        ),
    }
    # A new event type fails here until it has a sample and an expectation below.
    assert {event["slug"] for event in samples.values()} == set(registry.EVENT_TYPES)
    return samples


# What each stream relays, by sample name: written out rather than derived from the registry,
# so that a change to the registry's streams has to change this table too.
PARTICIPANT_RECEIVES = [
    "message_sent_to_business",
    "message_sent_to_participant",
    "conversations_merged",
    # A reply being typed, nameless; never a note's, never who.
    "business_typing",
]
BUSINESS_RECEIVES = [
    "message_sent_to_business",
    "message_sent_to_participant",
    "internal message_sent_to_participant",
    "button_interacted",
    "conversations_merged",
    "conversation_read",
    "conversation_status_changed",
    "conversation_marked_unread",
    "conversation_assigned",
    "participant_typing",
    "staff_typing",
    "staff_viewing",
]


@pytest.fixture
def visitor_conversation(make_visitor: Any) -> tuple[uuid.UUID, uuid.UUID]:
    """(visitor id, the id of the conversation its first message opened)."""
    visitor_id, client = make_visitor()
    participant_says(client, "hi")
    return visitor_id, conversation_id_for(Participant.Kind.ANONYMOUS_VISITOR, visitor_id)


async def test_each_stream_relays_exactly_the_registered_events_it_may_carry(
    visitor_conversation, app_key, send, caplog
):
    visitor_id, conversation_id = visitor_conversation
    samples = await sync_to_async(_samples)(conversation_id, send)
    samples["unregistered"] = _unregistered_event(conversation_id)
    sockets = {
        PARTICIPANT: socket(f"{PARTICIPANT}?token={visitor_token_issue(visitor_id)}"),
        BUSINESS: socket(BUSINESS, headers=[(b"authorization", app_key.encode())]),
    }
    for communicator in sockets.values():
        assert await open_socket(communicator) is None
        assert await resume(communicator) == []

    layer = get_channel_layer()
    caplog.set_level(logging.ERROR, logger="inbox")
    # Straight to the groups, past the publisher (which refuses these): the consumers' own
    # check is what is under test.
    for group in (participant_group(conversation_id), business_group()):
        for event in samples.values():
            await layer.group_send(group, {"type": CONSUMER_HANDLER, "event": event})

    names = {event["id"]: name for name, event in samples.items()}
    received = {
        path: [names[event["id"]] for event in await collect(communicator)]
        for path, communicator in sockets.items()
    }
    assert received == {PARTICIPANT: PARTICIPANT_RECEIVES, BUSINESS: BUSINESS_RECEIVES}
    dropped = [r.getMessage() for r in caplog.records if "which may not carry it" in r.message]
    # Ten on the participant socket; on the business socket the participant-only
    # business_typing and the unregistered one.
    assert len(dropped) == 12
    assert sum(UNREGISTERED_SLUG in line for line in dropped) == 2
    for communicator in sockets.values():
        await communicator.disconnect()


def test_every_builder_makes_its_registered_shape(visitor_conversation, send):
    _, conversation_id = visitor_conversation
    for name, event in _samples(conversation_id, send).items():
        assert registry.schema_errors(event) == [], name
    event = events.message_event(Message.objects.filter(conversation_id=conversation_id)[0])
    del event["data"]["conversationId"]
    assert registry.schema_errors(event) == ["data keys ['message']"]
    event = _unregistered_event(conversation_id)
    assert registry.schema_errors(event) == [f"unregistered slug {UNREGISTERED_SLUG!r}"]
    event = events.conversation_assigned_event(
        conversation_id=conversation_id, assignee=None, assigned_by={"appId": str(uuid.uuid4())}
    )
    assert registry.schema_errors(event) == []
    event["data"]["assignee"] = {"wixUserId": "kim"}
    assert registry.schema_errors(event) == ["data.assignee is not {wixUserId, name} or null"]


def test_the_publisher_refuses_a_group_whose_stream_may_not_carry_the_event(
    visitor_conversation, send
):
    _, conversation_id = visitor_conversation
    samples = _samples(conversation_id, send)
    participant = participant_group(conversation_id)
    refused = [
        ([participant], samples["internal message_sent_to_participant"]),
        ([participant], samples["button_interacted"]),
        ([participant], samples["conversation_read"]),
        ([participant], samples["conversation_status_changed"]),
        ([participant], samples["conversation_marked_unread"]),
        ([participant], samples["conversation_assigned"]),
        ([participant], samples["participant_typing"]),
        ([participant], samples["staff_typing"]),
        ([participant], samples["staff_viewing"]),
        ([business_group()], samples["business_typing"]),
        ([business_group()], _unregistered_event(conversation_id)),
        ([business_group(), participant], _unregistered_event(conversation_id)),
    ]
    for groups, event in refused:
        with pytest.raises(ValueError, match="may not be published"):
            publish_on_commit(groups=groups, event=event)
    for name in PARTICIPANT_RECEIVES:
        groups = [participant] if name == "business_typing" else [business_group(), participant]
        publish_on_commit(groups=groups, event=samples[name])


@pytest.mark.parametrize("name", sorted(CATALOGUES))
def test_the_docs_list_the_registry(name):
    text = (ROOT / name).read_text(encoding="utf-8")
    assert with_catalogue(text, CATALOGUES[name]()) == text, (
        f"{name}'s event catalogue differs from inbox/realtime/registry.py: "
        "run `.venv/bin/python -m tests.events_catalogue`"
    )
