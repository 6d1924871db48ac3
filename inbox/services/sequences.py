"""Sequence allocation: the conversation row's counter, moved under its row lock by one UPDATE
that also writes the inbox-list summary of a non-silent message."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connections, models, router
from django.db.models import F, Value
from django.db.models.functions import Greatest

from inbox.models import Conversation


class ConversationMerged(Exception):
    def __init__(self, conversation_id: uuid.UUID) -> None:
        super().__init__(f"Conversation {conversation_id} was merged")
        self.conversation_id = conversation_id


@dataclass(frozen=True)
class Summary:
    """What a non-silent message writes onto its conversation's list row."""

    preview: str
    direction: str
    visibility: str
    at: datetime

    def values(self, *, sequence: Any, at: Any) -> dict[str, Any]:
        """``Conversation.SUMMARY_FIELDS`` → value, with the sequence and the activity time in
        the form the statement takes them."""
        return dict(
            zip(
                Conversation.SUMMARY_FIELDS,
                (sequence, self.preview, self.direction, self.visibility, at),
                strict=True,
            )
        )


def micros(moment: datetime) -> int:
    """``moment`` in microseconds since the epoch, the unit of sequences (exact, no float)."""
    return int(moment.timestamp()) * 1_000_000 + moment.microsecond


def allocate_sequence(conversation_id: uuid.UUID, *, micros: int, summary: Summary | None) -> int:
    """The sequence ``allocate_sequence_reading_status`` allocates."""
    sequence, _ = allocate_sequence_reading_status(conversation_id, micros=micros, summary=summary)
    return sequence


def allocate_sequence_reading_status(
    conversation_id: uuid.UUID, *, micros: int, summary: Summary | None
) -> tuple[int, str]:
    """Allocate the conversation's next sequence, max(last + 1, ``micros``), under its row lock,
        write ``summary`` onto the row, and return the sequence. Raises ``ConversationMerged`` if
        the conversation is unknown or was merged away. Also returns the conversation's status as it
    stands under the lock, so that a participant's message can reopen it without another read.

        On PostgreSQL and SQLite (>= 3.35) this is one ``UPDATE ... RETURNING`` whose SQL is built
        once per process: the send path's hottest statement, where compiling the ORM's update with
        its expressions cost more than running it (docs/benchmarks.md). Elsewhere, the ORM's UPDATE
        and a SELECT.
    """
    alias = router.db_for_write(Conversation)
    connection = connections[alias]
    if connection.vendor not in ("postgresql", "sqlite") or not (
        connection.features.can_return_columns_from_insert
    ):
        return _allocate_sequence_portably(alias, conversation_id, micros=micros, summary=summary)
    meta = Conversation._meta
    params: list[Any] = [micros]
    if summary is not None:
        at = meta.get_field("last_activity_at").get_db_prep_save(summary.at, connection)
        params += summary.values(sequence=micros, at=at).values()
    params.append(meta.pk.get_db_prep_value(conversation_id, connection))
    with connection.cursor() as cursor:
        cursor.execute(_allocation_sql(connection, with_summary=summary is not None), params)
        row = cursor.fetchone()
    if row is None:
        raise ConversationMerged(conversation_id)
    return int(row[0]), str(row[1])


_ALLOCATION_SQL: dict[tuple[str, str, bool], str] = {}


def _allocation_sql(connection: Any, *, with_summary: bool) -> str:
    key = (connection.alias, connection.vendor, with_summary)
    sql = _ALLOCATION_SQL.get(key)
    if sql is None:
        meta = Conversation._meta
        quote = connection.ops.quote_name

        def column(name: str) -> str:
            field = meta.get_field(name)
            assert isinstance(field, models.Field)
            return str(quote(field.column))

        greatest = "MAX" if connection.vendor == "sqlite" else "GREATEST"
        # Every expression of a SET list reads the row as it was before the UPDATE, so both
        # sequences get the same new value.
        next_sequence = f"{greatest}({column('last_sequence')} + 1, %s)"
        assignments = [f"{column('last_sequence')} = {next_sequence}"]
        if with_summary:
            assignments += [
                f"{column(name)} = {next_sequence if name == 'last_message_sequence' else '%s'}"
                for name in Conversation.SUMMARY_FIELDS
            ]
        # Only a conversation that has not been merged away takes messages; the merge locks the
        # same row, so a send that looked the conversation up before a merge committed sees it.
        sql = (
            f"UPDATE {quote(meta.db_table)} SET {', '.join(assignments)} "
            f"WHERE {quote(meta.pk.column)} = %s AND {column('merged_into')} IS NULL "
            f"RETURNING {column('last_sequence')}, {column('status')}"
        )
        _ALLOCATION_SQL[key] = sql
    return sql


def _allocate_sequence_portably(
    alias: str, conversation_id: uuid.UUID, *, micros: int, summary: Summary | None
) -> tuple[int, str]:
    next_sequence = Greatest(F("last_sequence") + 1, Value(micros))
    updates: dict[str, Any] = {"last_sequence": next_sequence}
    if summary is not None:
        updates.update(summary.values(sequence=next_sequence, at=summary.at))
    live = Conversation.objects.using(alias).filter(pk=conversation_id, merged_into__isnull=True)
    if not live.update(**updates):
        raise ConversationMerged(conversation_id)
    sequence, status = (
        Conversation.objects.using(alias)
        .filter(pk=conversation_id)
        .values_list("last_sequence", "status")
        .get()
    )
    return sequence, status
