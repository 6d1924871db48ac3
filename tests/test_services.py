"""The service layer and the database rules behind it: sequence allocation, summaries, events only
after commit, and the named constraints that hold whatever code path writes.
"""

from __future__ import annotations

import uuid

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from inbox import services
from inbox.exceptions import IdempotencyConflict, IdentityDoesNotMatch
from inbox.identity import caller_for_app, caller_for_visitor
from inbox.models import App, Conversation, Message, Participant, conversation_id_for
from tests.conftest import text_draft

B2P = Message.Direction.BUSINESS_TO_PARTICIPANT
P2B = Message.Direction.PARTICIPANT_TO_BUSINESS
BOTH = Message.Visibility.BUSINESS_AND_PARTICIPANT


@pytest.fixture
def app_caller(db):
    app, _ = services.app_create(name="svc")
    return caller_for_app(app)


def test_app_create_stores_only_a_hash(db):
    app, raw_key = services.app_create(name="svc")
    stored = App.objects.get(pk=app.pk)
    assert stored.key_hash == App.hash_key(raw_key)
    assert raw_key not in str(list(App.objects.values_list()))
    assert raw_key.startswith(stored.key_prefix) and len(stored.key_prefix) < 12


def test_conversation_id_is_derived_from_the_participant(db):
    external_id = uuid.uuid4()
    conversation, created = services.conversation_get_or_create(
        kind=Participant.Kind.CONTACT, external_id=external_id, display_name="Ana"
    )
    again, created_again = services.conversation_get_or_create(
        kind=Participant.Kind.CONTACT, external_id=external_id
    )
    assert (created, created_again) == (True, False)
    assert conversation.pk == again.pk == conversation_id_for("CONTACT", external_id)
    assert conversation.participant.display_name == "Ana"
    # The same GUID as another kind of participant is another person.
    other, _ = services.conversation_get_or_create(
        kind=Participant.Kind.MEMBER, external_id=external_id
    )
    assert other.pk != conversation.pk


def test_sequence_is_microseconds_and_strictly_increasing(app_caller, make_conversation):
    conversation = make_conversation()
    before = timezone.now()
    messages = [
        services.message_send(caller=app_caller, conversation=conversation, draft=text_draft())[0]
        for _ in range(5)
    ]
    sequences = [message.sequence for message in messages]
    assert sequences == sorted(set(sequences))
    assert sequences[0] >= int(before.timestamp() * 1_000_000) - 1_000_000


def test_sequence_still_increases_when_the_clock_lags_the_allocator(app_caller, make_conversation):
    conversation = make_conversation()
    future = int((timezone.now().timestamp() + 3600) * 1_000_000)
    Conversation.objects.filter(pk=conversation.pk).update(last_sequence=future)
    message, _ = services.message_send(
        caller=app_caller, conversation=conversation, draft=text_draft()
    )
    assert message.sequence == future + 1


def test_silent_message_takes_a_sequence_but_not_the_summary(app_caller, make_conversation):
    conversation = make_conversation()
    loud, _ = services.message_send(
        caller=app_caller, conversation=conversation, draft=text_draft("a")
    )
    quiet, _ = services.message_send(
        caller=app_caller, conversation=conversation, draft=text_draft("b", silent=True)
    )
    conversation.refresh_from_db()
    assert conversation.last_sequence == quiet.sequence
    assert conversation.last_message_sequence == loud.sequence
    assert conversation.last_message_preview == "a"


def test_events_leave_only_after_commit(
    app_caller, make_conversation, django_capture_on_commit_callbacks
):
    conversation = make_conversation()
    with django_capture_on_commit_callbacks() as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            services.message_send(caller=app_caller, conversation=conversation, draft=text_draft())
            raise RuntimeError("roll back")
    assert callbacks == []
    assert Message.objects.count() == 0
    with django_capture_on_commit_callbacks() as callbacks:
        services.message_send(caller=app_caller, conversation=conversation, draft=text_draft())
    assert len(callbacks) == 1


def test_participants_first_message_creates_the_conversation_atomically(db):
    visitor = caller_for_visitor(uuid.uuid4())
    with pytest.raises(IdentityDoesNotMatch):
        services.message_send(caller=visitor, conversation=None, draft=text_draft(direction=B2P))
    assert (Participant.objects.count(), Conversation.objects.count()) == (0, 0)
    message, created = services.message_send(
        caller=visitor, conversation=None, draft=text_draft(direction=P2B)
    )
    assert created
    assert message.conversation.participant.anonymous_visitor_id == visitor.id


def test_idempotent_send_replays_and_conflicts(app_caller, make_conversation):
    conversation = make_conversation()
    first, created = services.message_send(
        caller=app_caller,
        conversation=conversation,
        draft=text_draft(),
        idempotency_key="k",
        fingerprint="f1",
    )
    replay, created_again = services.message_send(
        caller=app_caller,
        conversation=conversation,
        draft=text_draft(),
        idempotency_key="k",
        fingerprint="f1",
    )
    assert (created, created_again) == (True, False)
    assert replay.pk == first.pk
    with pytest.raises(IdempotencyConflict):
        services.message_send(
            caller=app_caller,
            conversation=conversation,
            draft=text_draft(),
            idempotency_key="k",
            fingerprint="f2",
        )
    assert Message.objects.count() == 1


# --- the database holds the invariants ---------------------------------------------------------


def raw_message(conversation: Conversation, **fields) -> Message:
    values = {
        "conversation": conversation,
        "sequence": 1,
        "direction": B2P,
        "visibility": BOTH,
        "content_type": "BASIC",
        "content": {},
        "sender_kind": Message.SenderKind.APP,
        "sender_id": uuid.uuid4(),
        "created_at": timezone.now(),
        **fields,
    }
    return Message(**values)


@pytest.mark.parametrize(
    ("fields", "constraint"),
    [
        ({"sequence": 0}, "inbox_message_sequence_positive"),
        ({"direction": "SIDEWAYS"}, "inbox_message_direction_valid"),
        ({"visibility": "EVERYONE"}, "inbox_message_visibility_valid"),
    ],
)
def test_message_check_constraints(make_conversation, fields, constraint):
    conversation = make_conversation()
    with pytest.raises(IntegrityError) as error, transaction.atomic():
        raw_message(conversation, **fields).save()
    assert constraint in str(error.value)


def test_sequence_is_unique_per_conversation(make_conversation):
    conversation = make_conversation()
    other = make_conversation()
    raw_message(conversation, sequence=7).save()
    raw_message(other, sequence=7).save()
    with pytest.raises(IntegrityError), transaction.atomic():
        raw_message(conversation, sequence=7).save()


def test_idempotency_key_is_unique_per_caller(make_conversation):
    conversation = make_conversation()
    raw_message(conversation, sequence=1, idempotency_scope="app:1", idempotency_key="k").save()
    raw_message(conversation, sequence=2, idempotency_scope="app:2", idempotency_key="k").save()
    raw_message(conversation, sequence=3).save()
    raw_message(conversation, sequence=4).save()  # no key: any number of them
    with pytest.raises(IntegrityError), transaction.atomic():
        raw_message(conversation, sequence=5, idempotency_scope="app:1", idempotency_key="k").save()


def test_participant_needs_the_id_of_its_kind(db):
    with pytest.raises(IntegrityError), transaction.atomic():
        Participant.objects.create(kind=Participant.Kind.MEMBER, contact_id=uuid.uuid4())
    contact_id = uuid.uuid4()
    Participant.objects.create(kind=Participant.Kind.CONTACT, contact_id=contact_id)
    with pytest.raises(IntegrityError), transaction.atomic():
        Participant.objects.create(kind=Participant.Kind.CONTACT, contact_id=contact_id)


@pytest.mark.parametrize(
    ("kind", "wire_key", "default_name"),
    [
        (Participant.Kind.ANONYMOUS_VISITOR, "anonymousVisitorId", "Visitor"),
        (Participant.Kind.CONTACT, "contactId", "Contact"),
        (Participant.Kind.MEMBER, "memberId", "Member"),
    ],
)
def test_a_participant_kind_names_its_id_on_the_wire_and_in_the_row(
    db, kind, wire_key, default_name
):
    external_id = uuid.uuid4()
    conversation, _ = services.conversation_get_or_create(kind=kind, external_id=external_id)
    participant = conversation.participant
    assert Participant.Kind.for_wire_key(wire_key) is kind
    assert participant.wire_key == wire_key == Message.SenderKind[kind.name]
    assert getattr(participant, kind.id_field) == participant.external_id == external_id
    assert participant.display_name == f"{default_name} {external_id.hex[:6]}"
    with pytest.raises(KeyError):
        Participant.Kind.for_wire_key("wixUserId")


def test_one_conversation_per_participant(make_conversation):
    conversation = make_conversation()
    with pytest.raises(IntegrityError), transaction.atomic():
        Conversation.objects.create(id=uuid.uuid4(), participant=conversation.participant)


def test_summary_never_runs_ahead_of_the_allocator(make_conversation):
    conversation = make_conversation()
    with pytest.raises(IntegrityError), transaction.atomic():
        Conversation.objects.filter(pk=conversation.pk).update(last_message_sequence=5)
