"""Every write of the app. Keyword-only, typed, atomic; events leave only after commit.

Views, admin actions, consumers and commands call these; nothing else saves inbox models.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connections, models, router, transaction
from django.db.models import F, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from inbox.content import RULE_REQUIRED, NormalizedContent
from inbox.exceptions import (
    IdempotencyConflict,
    IdentityDoesNotMatch,
    NotJoinedChatroom,
    PermissionDenied,
    ValidationFailed,
)
from inbox.identity import API_KEY_PREFIX, Caller, CallerKind, app_key_cache
from inbox.models import (
    App,
    Conversation,
    Message,
    Participant,
    ReadCursor,
    conversation_id_for,
)
from inbox.realtime import events
from inbox.realtime.groups import business_group, participant_group
from inbox.selectors import (
    conversation_for_caller,
    follow_merges,
    is_own_conversation,
    one_or_none,
    participant_visible_last_sequence,
)
from inbox.wire import participant_json


class SendAs:
    CALLER = "CALLER"
    PARTICIPANT = "PARTICIPANT"
    BUSINESS_USER = "BUSINESS_USER"

    ALL = (CALLER, PARTICIPANT, BUSINESS_USER)


@dataclass(frozen=True)
class MessageDraft:
    """A validated message as the caller asked for it, before the server fills in the rest."""

    direction: str
    visibility: str
    content: NormalizedContent
    badges: list[dict[str, object]] = field(default_factory=list)
    target_channels: list[str] = field(default_factory=list)
    source_channel: str = "UNKNOWN_CHANNEL_TYPE"
    target_channel_ids: list[str] = field(default_factory=list)
    source_channel_id: str | None = None
    silent: bool = False


def app_create(*, name: str) -> tuple[App, str]:
    """Create an API app; returns it with its raw key, which is never stored or shown again."""
    raw_key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    app = App.objects.create(
        name=name, key_hash=App.hash_key(raw_key), key_prefix=raw_key[: len(API_KEY_PREFIX) + 6]
    )
    return app, raw_key


def app_update(*, app: App, name: str, is_active: bool) -> App:
    """Rename an API app or switch it off (a switched-off app's key is refused at once)."""
    App.objects.filter(pk=app.pk).update(name=name, is_active=is_active)
    # This process forgets the key at once (and again after commit, in case a request cached the
    # old row meanwhile); other processes within INBOX["API_KEY_CACHE_SECONDS"].
    app_key_cache.clear()
    transaction.on_commit(app_key_cache.clear)
    app.name, app.is_active = name, is_active
    return app


def visitor_create() -> uuid.UUID:
    """A new anonymous visitor id. Nothing is written until the visitor sends something."""
    return uuid.uuid4()


def _default_display_name(kind: str, external_id: uuid.UUID, user: Any) -> str:
    if user is not None:
        # A custom user model (AbstractBaseUser) need not have get_full_name; every one has
        # get_username.
        full_name = getattr(user, "get_full_name", None)
        return str((full_name() if callable(full_name) else "") or user.get_username())
    label = {"ANONYMOUS_VISITOR": "Visitor", "CONTACT": "Contact", "MEMBER": "Member"}[kind]
    return f"{label} {external_id.hex[:6]}"


def participant_get_or_create(
    *, kind: str, external_id: uuid.UUID, user: Any = None, display_name: str = ""
) -> Participant:
    """The participant with this wire id, created on first use. Safe under concurrency: the
    unique constraint on the id decides, and the loser reads the winner's row."""
    lookup = {
        Participant.Kind.ANONYMOUS_VISITOR: "anonymous_visitor_id",
        Participant.Kind.CONTACT: "contact_id",
        Participant.Kind.MEMBER: "member_id",
    }[Participant.Kind(kind)]
    existing = one_or_none(Participant.objects.filter(**{lookup: external_id}))
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return Participant.objects.create(
                kind=kind,
                user=user,
                display_name=display_name or _default_display_name(kind, external_id, user),
                **{lookup: external_id},
            )
    except IntegrityError:
        return Participant.objects.get(**{lookup: external_id})


def conversation_get_or_create(
    *, kind: str, external_id: uuid.UUID, user: Any = None, display_name: str = ""
) -> tuple[Conversation, bool]:
    """The one conversation of a participant; ``True`` when this call created it.

    Its id is derived from the participant, so concurrent callers race on one primary key and
    exactly one insert wins.
    """
    conversation_id = conversation_id_for(kind, external_id)
    existing = one_or_none(
        Conversation.objects.select_related("participant").filter(pk=conversation_id)
    )
    if existing is not None:
        return follow_merges(existing), False
    with transaction.atomic():
        participant = participant_get_or_create(
            kind=kind, external_id=external_id, user=user, display_name=display_name
        )
        try:
            with transaction.atomic():
                conversation = Conversation.objects.create(
                    id=conversation_id, participant=participant, channels=["CHAT"]
                )
                return conversation, True
        except IntegrityError:
            pass
    conversation = Conversation.objects.select_related("participant").get(pk=conversation_id)
    return follow_merges(conversation), False


def _sender_for(
    *,
    caller: Caller,
    conversation: Conversation,
    send_as: str,
    business_user_id: uuid.UUID | None,
) -> tuple[str, uuid.UUID, uuid.UUID | None]:
    """(sender kind, sender GUID, contact GUID) written on the message, per ``sendAs``."""
    if send_as == SendAs.PARTICIPANT or caller.is_participant:
        participant = conversation.participant
        return participant.wire_key, participant.external_id, participant.contact_id
    return _business_sender(caller=caller, send_as=send_as, business_user_id=business_user_id)


def _business_sender(
    *, caller: Caller, send_as: str, business_user_id: uuid.UUID | None
) -> tuple[str, uuid.UUID, uuid.UUID | None]:
    """The sender of a business caller writing as itself (``CALLER``) or as a business user."""
    assert caller.is_business and send_as != SendAs.PARTICIPANT
    if send_as == SendAs.BUSINESS_USER:
        if caller.kind is CallerKind.STAFF:
            # A staff user writes as itself; naming a colleague would be impersonation.
            if business_user_id is not None and business_user_id != caller.id:
                raise IdentityDoesNotMatch("A business user may only send as itself")
            return Message.SenderKind.BUSINESS_USER, caller.id, None
        if business_user_id is None:
            raise ValidationFailed.single(
                "businessUserId", "is required when sendAs is BUSINESS_USER", RULE_REQUIRED
            )
        return Message.SenderKind.BUSINESS_USER, business_user_id, None
    return caller.sender_kind, caller.id, None


def _check_participant_send(
    *, caller: Caller, conversation: Conversation, draft: MessageDraft, send_as: str
) -> None:
    participant = conversation.participant
    owns = participant.wire_key == caller.sender_kind and participant.external_id == caller.id
    if (
        not owns
        or send_as == SendAs.BUSINESS_USER
        or draft.direction != Message.Direction.PARTICIPANT_TO_BUSINESS
        or draft.visibility != Message.Visibility.BUSINESS_AND_PARTICIPANT
    ):
        raise IdentityDoesNotMatch(
            "A participant may only send PARTICIPANT_TO_BUSINESS messages with visibility "
            "BUSINESS_AND_PARTICIPANT into its own conversation"
        )


def _idempotent_replay(*, caller: Caller, key: str, fingerprint: str) -> Message | None:
    existing = one_or_none(
        Message.objects.filter(idempotency_scope=caller.scope, idempotency_key=key).select_related(
            "conversation"
        )
    )
    if existing is None:
        return None
    if existing.request_fingerprint != fingerprint:
        raise IdempotencyConflict()
    return existing


def _micros(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000 + moment.microsecond


def message_send(
    *,
    caller: Caller,
    conversation: Conversation | uuid.UUID | None,
    draft: MessageDraft,
    send_as: str = SendAs.CALLER,
    business_user_id: uuid.UUID | None = None,
    idempotency_key: str | None = None,
    fingerprint: str = "",
) -> tuple[Message, bool]:
    """Store a message and publish it after commit; returns it and whether it is new.

    ``conversation=None`` is for a participant sending into its own conversation, which this
    call creates on the first message. A business caller sending as itself may pass just the
    conversation's id: the sequence allocation is then also the lookup (one statement less on
    the hottest path), and only an id that is unknown or merged away is looked up properly.
    A retry with the same ``idempotency_key`` returns the original message; the same key with a
    different request raises ``IdempotencyConflict``.
    """
    if idempotency_key:
        replay = _idempotent_replay(caller=caller, key=idempotency_key, fingerprint=fingerprint)
        if replay is not None:
            return replay, False
    try:
        for attempt in range(MERGE_RETRIES + 1):
            try:
                with transaction.atomic():
                    message = _message_insert(
                        caller=caller,
                        conversation=conversation,
                        draft=draft,
                        send_as=send_as,
                        business_user_id=business_user_id,
                        idempotency_key=idempotency_key,
                        fingerprint=fingerprint,
                    )
                break
            except _ConversationMerged as merged:
                # The conversation was merged away after the caller looked it up (or, for an
                # id not looked up yet, is unknown): send into the surviving one, if the caller
                # may, rather than into a hidden thread.
                if attempt == MERGE_RETRIES:
                    raise NotJoinedChatroom() from None
                conversation = conversation_for_caller(
                    caller=caller, conversation_id=merged.conversation_id
                )
    except IntegrityError:
        # Only a concurrent retry with the same key can collide here: the sequence comes from
        # a row-locked counter, so it never does.
        if idempotency_key:
            replay = _idempotent_replay(caller=caller, key=idempotency_key, fingerprint=fingerprint)
            if replay is not None:
                return replay, False
        raise
    return message, True


MERGE_RETRIES = 2


class _ConversationMerged(Exception):
    def __init__(self, conversation_id: uuid.UUID) -> None:
        super().__init__(f"Conversation {conversation_id} was merged")
        self.conversation_id = conversation_id


@dataclass(frozen=True)
class _Summary:
    """What a non-silent message writes onto its conversation's list row."""

    preview: str
    direction: str
    visibility: str
    at: datetime


def _allocate_sequence(conversation_id: uuid.UUID, *, micros: int, summary: _Summary | None) -> int:
    """Allocate the conversation's next sequence, max(last + 1, ``micros``), under its row lock,
    write ``summary`` onto the row, and return the sequence. Raises ``_ConversationMerged`` if
    the conversation is unknown or was merged away.

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
        params += [micros, summary.preview, summary.direction, summary.visibility, at]
    params.append(meta.pk.get_db_prep_value(conversation_id, connection))
    with connection.cursor() as cursor:
        cursor.execute(_allocation_sql(connection, with_summary=summary is not None), params)
        row = cursor.fetchone()
    if row is None:
        raise _ConversationMerged(conversation_id)
    return int(row[0])


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
            assignments.append(f"{column('last_message_sequence')} = {next_sequence}")
            assignments += [
                f"{column(name)} = %s"
                for name in (
                    "last_message_preview",
                    "last_message_direction",
                    "last_message_visibility",
                    "last_activity_at",
                )
            ]
        # Only a conversation that has not been merged away takes messages; the merge locks the
        # same row, so a send that looked the conversation up before a merge committed sees it.
        sql = (
            f"UPDATE {quote(meta.db_table)} SET {', '.join(assignments)} "
            f"WHERE {quote(meta.pk.column)} = %s AND {column('merged_into')} IS NULL "
            f"RETURNING {column('last_sequence')}"
        )
        _ALLOCATION_SQL[key] = sql
    return sql


def _allocate_sequence_portably(
    alias: str, conversation_id: uuid.UUID, *, micros: int, summary: _Summary | None
) -> int:
    next_sequence = Greatest(F("last_sequence") + 1, Value(micros))
    updates: dict[str, Any] = {"last_sequence": next_sequence}
    if summary is not None:
        updates.update(
            last_message_sequence=next_sequence,
            last_message_preview=summary.preview,
            last_message_direction=summary.direction,
            last_message_visibility=summary.visibility,
            last_activity_at=summary.at,
        )
    live = Conversation.objects.using(alias).filter(pk=conversation_id, merged_into__isnull=True)
    if not live.update(**updates):
        raise _ConversationMerged(conversation_id)
    return (
        Conversation.objects.using(alias)
        .filter(pk=conversation_id)
        .values_list("last_sequence", flat=True)
        .get()
    )


def _message_insert(
    *,
    caller: Caller,
    conversation: Conversation | uuid.UUID | None,
    draft: MessageDraft,
    send_as: str,
    business_user_id: uuid.UUID | None,
    idempotency_key: str | None,
    fingerprint: str,
) -> Message:
    if conversation is None:
        assert caller.participant_kind is not None
        conversation, _ = conversation_get_or_create(
            kind=caller.participant_kind, external_id=caller.id, user=caller.user
        )
    elif isinstance(conversation, uuid.UUID) and (
        caller.is_participant or send_as == SendAs.PARTICIPANT
    ):
        # These need the participant: look the conversation up first.
        conversation = conversation_for_caller(caller=caller, conversation_id=conversation)
    if isinstance(conversation, uuid.UUID):
        conversation_id = conversation
        sender = _business_sender(caller=caller, send_as=send_as, business_user_id=business_user_id)
    else:
        conversation_id = conversation.pk
        if caller.is_participant:
            _check_participant_send(
                caller=caller, conversation=conversation, draft=draft, send_as=send_as
            )
        sender = _sender_for(
            caller=caller,
            conversation=conversation,
            send_as=send_as,
            business_user_id=business_user_id,
        )
    sender_kind, sender_id, contact_id = sender
    now = timezone.now()
    # One UPDATE allocates the sequence under the row lock: the next one is the current time
    # in microseconds (as Wix's are), or one more than the last if the clock has not moved on.
    # Concurrent senders in any process queue on this row; the unique constraint backs it.
    # It also proves the conversation exists and was not merged away (_ConversationMerged).
    sequence = _allocate_sequence(
        conversation_id,
        micros=_micros(now),
        summary=None
        if draft.silent
        else _Summary(
            preview=draft.content.preview_text,
            direction=draft.direction,
            visibility=draft.visibility,
            at=now,
        ),
    )
    message = Message.objects.create(
        conversation_id=conversation_id,
        sequence=sequence,
        direction=draft.direction,
        visibility=draft.visibility,
        content_type=draft.content.content_type,
        content=draft.content.content,
        preview_text=draft.content.preview_text,
        sender_kind=sender_kind,
        sender_id=sender_id,
        sender_contact_id=contact_id,
        app_id=caller.app.id if caller.app is not None else None,
        silent=draft.silent,
        badges=draft.badges,
        target_channels=draft.target_channels,
        source_channel=draft.source_channel,
        target_channel_ids=draft.target_channel_ids,
        source_channel_id=draft.source_channel_id,
        created_at=now,
        idempotency_scope=caller.scope if idempotency_key else None,
        idempotency_key=idempotency_key or None,
        request_fingerprint=fingerprint if idempotency_key else "",
    )
    if isinstance(conversation, Conversation):
        message.conversation = conversation
    groups = [business_group()]
    if message.visibility == Message.Visibility.BUSINESS_AND_PARTICIPANT:
        groups.append(participant_group(conversation_id))
    events.publish_on_commit(groups=groups, event=events.message_event(message))
    return message


def _postback_app_ids(message: Message) -> dict[str, str | None]:
    """interactionId → appId of every postback button a participant can press on ``message``."""
    found: dict[str, str | None] = {}
    payload = message.content.get("template") or message.content.get("system") or {}
    for button in payload.get("buttons") or []:
        postback = button.get("postbackProperties") if isinstance(button, dict) else None
        if isinstance(postback, dict) and postback.get("interactionId"):
            found.setdefault(postback["interactionId"], postback.get("appId"))
    return found


def message_interact(*, caller: Caller, message: Message, interaction_id: str) -> None:
    """The participant pressed a postback button of ``message``: tell the business side.

    Only the participant of the message's conversation may press, only on a message it can see,
    and only a button that exists; the event goes to the business stream alone.
    """
    conversation = message.conversation
    if (
        not caller.is_participant
        or message.visibility != Message.Visibility.BUSINESS_AND_PARTICIPANT
        or not is_own_conversation(caller=caller, conversation=conversation)
    ):
        raise NotJoinedChatroom("The message is not in a conversation the caller takes part in")
    app_ids = _postback_app_ids(message)
    if interaction_id not in app_ids:
        raise ValidationFailed.single(
            "interactionId", "the message has no postback button with this interactionId", "EXISTS"
        )
    event = events.button_interacted_event(
        message=message,
        app_id=app_ids[interaction_id],
        interaction_id=interaction_id,
        interacted_by=participant_json(conversation.participant),
    )
    events.publish_on_commit(groups=[business_group()], event=event)


def _free_sequences(taken: set[int], wanted: list[int]) -> dict[int, int]:
    """New sequences for the ascending ``wanted`` so that none is in ``taken`` and their order
    is kept: each moves to the first free value at or above both itself and its predecessor's
    new value. Only the sequences that change are returned; each only ever moves up."""
    moved: dict[int, int] = {}
    previous = -1
    for sequence in wanted:
        candidate = max(sequence, previous + 1)
        while candidate in taken:
            candidate += 1
        if candidate != sequence:
            moved[sequence] = candidate
        previous = candidate
    return moved


def conversation_merge(*, source: Conversation, target: Conversation) -> bool:
    """Move every message of ``source`` into ``target`` and make ``source`` resolve to it.

    Messages keep their ids and sequences (microsecond allocation times), so ordering by
    sequence interleaves both histories chronologically; a sequence the target already uses is
    bumped to the next free one. Returns ``False`` when there was nothing to do (already merged).
    ``conversations_merged`` goes, after commit, to the business stream and to the participant
    streams of both conversations.
    """
    if source.pk == target.pk:
        return False
    with transaction.atomic():
        # Lock both rows in a fixed order so two merges (or a merge and a send) cannot deadlock.
        locked = {
            row.pk: row
            for row in Conversation.objects.select_for_update()
            .filter(pk__in=[source.pk, target.pk])
            .order_by("pk")
        }
        source, target = locked[source.pk], locked[target.pk]
        if source.merged_into_id == target.pk:
            return False
        if target.merged_into_id is not None:
            raise IdentityDoesNotMatch("The target conversation was itself merged away")
        moving = list(
            Message.objects.filter(conversation=source)
            .order_by("sequence")
            .values_list("sequence", flat=True)
        )
        if moving:
            taken = set(
                Message.objects.filter(conversation=target, sequence__gte=moving[0]).values_list(
                    "sequence", flat=True
                )
            )
            bumped = _free_sequences(taken, moving)
            # Highest first: a message only moves up, onto values no unmoved one holds.
            for old, new in sorted(bumped.items(), reverse=True):
                Message.objects.filter(conversation=source, sequence=old).update(sequence=new)
            Message.objects.filter(conversation=source).update(conversation=target)
        else:
            bumped = {}
        highest = (
            Message.objects.filter(conversation=target)
            .order_by("-sequence")
            .values_list("sequence", flat=True)
            .first()
            or 0
        )
        target.last_sequence = max(target.last_sequence, source.last_sequence, highest)
        if source.last_message_sequence > target.last_message_sequence:
            target.last_message_sequence = bumped.get(
                source.last_message_sequence, source.last_message_sequence
            )
            target.last_message_preview = source.last_message_preview
            target.last_message_direction = source.last_message_direction
            target.last_message_visibility = source.last_message_visibility
        if source.last_activity_at and (
            target.last_activity_at is None or source.last_activity_at > target.last_activity_at
        ):
            target.last_activity_at = source.last_activity_at
        target.participant_read_sequence = max(
            target.participant_read_sequence, source.participant_read_sequence
        )
        target.save(
            update_fields=[
                "last_sequence",
                "last_message_sequence",
                "last_message_preview",
                "last_message_direction",
                "last_message_visibility",
                "last_activity_at",
                "participant_read_sequence",
            ]
        )
        # Conversations merged into ``source`` earlier now resolve in one hop too.
        Conversation.objects.filter(merged_into=source).update(merged_into=target)
        Conversation.objects.filter(pk=source.pk).update(
            merged_into=target,
            last_message_sequence=0,
            last_message_preview="",
            last_activity_at=None,
        )
        events.publish_on_commit(
            groups=[business_group(), participant_group(source.pk), participant_group(target.pk)],
            event=events.conversations_merged_event(
                old_conversation_ids=[source.pk], target_conversation_id=target.pk
            ),
        )
    return True


def visitor_claim(*, caller: Caller, visitor_id: uuid.UUID) -> tuple[Conversation, bool]:
    """A member proves (with its visitor token) that it was this anonymous visitor: the
    visitor's conversation merges into the member's. Returns the member's conversation and
    whether a merge happened; claiming again is a no-op."""
    if caller.kind is not CallerKind.MEMBER:
        raise PermissionDenied("Only a logged-in member can claim a visitor's conversation")
    source = (
        Conversation.objects.select_related("participant")
        .filter(pk=conversation_id_for(Participant.Kind.ANONYMOUS_VISITOR, visitor_id))
        .first()
    )
    target, _ = conversation_get_or_create(
        kind=Participant.Kind.MEMBER, external_id=caller.id, user=caller.user
    )
    if source is None:
        return target, False
    if source.merged_into_id is not None and follow_merges(source).pk != target.pk:
        raise IdentityDoesNotMatch("This visitor's conversation belongs to another member")
    return target, conversation_merge(source=source, target=target)


@dataclass(frozen=True)
class ReadState:
    """A read cursor after ``conversation_mark_read``: who it belongs to (IdentificationData),
    where it stands, and whether this call moved it."""

    read_by: dict[str, str]
    sequence: int
    moved: bool


def conversation_mark_read(
    *, caller: Caller, conversation: Conversation, sequence: int
) -> ReadState:
    """Move the caller's read cursor of ``conversation`` forward to ``sequence``.

    A staff user has its own cursor (``ReadCursor``); a participant moves the conversation's
    ``participant_read_sequence`` (the staff page's "seen" marks). Cursors never move back, also
    under concurrent calls: each move is one conditional UPDATE. ``sequence`` may not exceed the
    last sequence the caller can see. A move publishes ``conversation_read`` to the business
    stream after commit.
    """
    if caller.kind is CallerKind.APP:
        raise PermissionDenied("An app has no read cursor; staff users and participants do")
    if caller.is_participant:
        bound = participant_visible_last_sequence(conversation=conversation)
    else:
        bound = Conversation.objects.values_list("last_sequence", flat=True).get(pk=conversation.pk)
    if sequence > bound:
        raise ValidationFailed.single(
            "sequence", f"must not exceed the conversation's last sequence ({bound})", "MAX"
        )
    with transaction.atomic():
        if caller.is_participant:
            participant = conversation.participant
            read_by = {participant.wire_key: str(participant.external_id)}
            moved = (
                Conversation.objects.filter(
                    pk=conversation.pk, participant_read_sequence__lt=sequence
                ).update(participant_read_sequence=sequence)
                > 0
            )
            current = Conversation.objects.values_list("participant_read_sequence", flat=True).get(
                pk=conversation.pk
            )
        else:
            read_by = {Message.SenderKind.BUSINESS_USER.value: str(caller.id)}
            moved = _read_cursor_advance(
                conversation=conversation, user=caller.user, sequence=sequence
            )
            current = (
                ReadCursor.objects.filter(conversation=conversation, user=caller.user)
                .values_list("sequence", flat=True)
                .first()
                or 0
            )
        if moved:
            events.publish_on_commit(
                groups=[business_group()],
                event=events.conversation_read_event(
                    conversation_id=conversation.pk, read_by=read_by, sequence=current
                ),
            )
    return ReadState(read_by=read_by, sequence=current, moved=moved)


def _read_cursor_advance(*, conversation: Conversation, user: Any, sequence: int) -> bool:
    cursors = ReadCursor.objects.filter(conversation=conversation, user=user)
    if cursors.filter(sequence__lt=sequence).update(sequence=sequence, updated_at=timezone.now()):
        return True
    if sequence <= 0 or cursors.exists():
        return False
    try:
        with transaction.atomic():
            ReadCursor.objects.create(conversation=conversation, user=user, sequence=sequence)
        return True
    except IntegrityError:
        # A concurrent first read created the row; move it if it stands behind ours.
        return bool(
            cursors.filter(sequence__lt=sequence).update(
                sequence=sequence, updated_at=timezone.now()
            )
        )
