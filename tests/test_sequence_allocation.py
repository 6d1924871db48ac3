"""The sequence allocator (services.sequences.allocate_sequence): one hand-built UPDATE ... RETURNING on
PostgreSQL and SQLite, the ORM's UPDATE + SELECT elsewhere; both must behave the same."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from django.db import connection

from inbox import services
from inbox.models import Conversation, Participant
from inbox.services.sequences import (
    ConversationMerged,
    Summary,
    _allocate_sequence_portably,
    allocate_sequence,
    allocate_sequence_reading_status,
)

AT = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


def conversation() -> Conversation:
    made, _ = services.conversation_get_or_create(
        kind=Participant.Kind.CONTACT, external_id=uuid.uuid4()
    )
    return made


def fast(conversation_id, **kwargs):
    return allocate_sequence(conversation_id, **kwargs)


def portable(conversation_id, **kwargs):
    sequence, _ = _allocate_sequence_portably(connection.alias, conversation_id, **kwargs)
    return sequence


@pytest.mark.django_db
@pytest.mark.parametrize(
    "allocate",
    [
        allocate_sequence_reading_status,
        lambda pk, **kwargs: _allocate_sequence_portably(connection.alias, pk, **kwargs),
    ],
    ids=["returning", "portable"],
)
def test_allocation_reads_the_status_under_the_lock(allocate):
    row = conversation()
    assert allocate(row.pk, micros=1, summary=None)[1] == Conversation.Status.OPEN
    Conversation.objects.filter(pk=row.pk).update(status=Conversation.Status.CLOSED)
    sequence, status = allocate(row.pk, micros=1, summary=None)
    assert (sequence, status) == (2, Conversation.Status.CLOSED)


@pytest.mark.django_db
@pytest.mark.parametrize("allocate", [fast, portable], ids=["returning", "portable"])
def test_allocation_takes_the_later_of_the_clock_and_last_plus_one(allocate):
    row = conversation()
    summary = Summary(
        preview="hi", direction="BUSINESS_TO_PARTICIPANT", visibility="BUSINESS", at=AT
    )
    assert allocate(row.pk, micros=1_000, summary=summary) == 1_000
    # The clock went back (or two sends in one microsecond): last + 1.
    assert allocate(row.pk, micros=900, summary=None) == 1_001
    row.refresh_from_db()
    assert (row.last_sequence, row.last_message_sequence) == (1_001, 1_000)
    assert (row.last_message_preview, row.last_message_visibility) == ("hi", "BUSINESS")
    assert row.last_message_direction == "BUSINESS_TO_PARTICIPANT"
    assert row.last_activity_at == AT
    assert allocate(row.pk, micros=5_000, summary=summary) == 5_000
    row.refresh_from_db()
    assert (row.last_sequence, row.last_message_sequence) == (5_000, 5_000)


@pytest.mark.django_db
@pytest.mark.parametrize("allocate", [fast, portable], ids=["returning", "portable"])
def test_unknown_and_merged_conversations_take_no_sequence(allocate):
    with pytest.raises(ConversationMerged):
        allocate(uuid.uuid4(), micros=1, summary=None)
    source, target = conversation(), conversation()
    services.conversation_merge(source=source, target=target)
    before = Conversation.objects.get(pk=source.pk).last_sequence
    with pytest.raises(ConversationMerged):
        allocate(source.pk, micros=10**15, summary=None)
    assert Conversation.objects.get(pk=source.pk).last_sequence == before
