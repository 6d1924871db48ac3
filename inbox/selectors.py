"""Every read that applies visibility: who may see which conversation and which messages.

``visible_messages`` is the one place that decides which messages a reader sees; REST lists,
socket replays (``replay_messages``) and summaries all go through it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, Max, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from inbox.attachments.models import Attachment
from inbox.conf import inbox_settings
from inbox.exceptions import ConversationNotFound, NotJoinedChatroom, PermissionDenied
from inbox.identity import Caller
from inbox.models import (
    Conversation,
    Message,
    ReadCursor,
    conversation_id_for,
    user_display_name,
    user_wire_id,
)

ASC = "ASC"
DESC = "DESC"


def visible_messages(*, conversation_id: uuid.UUID, visibility: str) -> QuerySet[Message]:
    """Messages of a conversation as a reader with ``visibility`` sees them.

    ``BUSINESS`` readers see everything; ``BUSINESS_AND_PARTICIPANT`` readers (participants, and
    business callers asking for the participant's view) never see internal messages.
    """
    queryset = Message.objects.filter(conversation_id=conversation_id)
    if visibility != Message.Visibility.BUSINESS:
        queryset = queryset.filter(visibility=Message.Visibility.BUSINESS_AND_PARTICIPANT)
    return queryset


def reader_visibility(*, caller: Caller, requested: str) -> str:
    """The visibility a caller may list with; participants get only their own view."""
    if requested == Message.Visibility.BUSINESS and caller.is_participant:
        raise PermissionDenied(_("Participants may list only BUSINESS_AND_PARTICIPANT messages"))
    return requested


def one_or_none(queryset: QuerySet[Any]) -> Any:
    """The row of a lookup on a unique key, or None. Unlike ``.first()`` it adds no ORDER BY:
    compiling the ordering was a visible share of every request (docs/benchmarks.md)."""
    return next(iter(queryset.order_by()), None)


def follow_merges(conversation: Conversation) -> Conversation:
    seen: set[uuid.UUID] = set()
    while conversation.merged_into_id is not None and conversation.pk not in seen:
        seen.add(conversation.pk)
        conversation = Conversation.objects.select_related("participant").get(
            pk=conversation.merged_into_id
        )
    return conversation


def conversation_for_caller(*, caller: Caller, conversation_id: uuid.UUID) -> Conversation:
    """The conversation named by ``conversation_id`` if the caller may see it.

    An id that was merged away resolves to the conversation it was merged into. A participant
    gets ``NOT_JOINED_CHATROOM`` for any conversation that is not its own, whether it exists or
    not, so ids cannot be probed.
    """
    conversation = one_or_none(
        Conversation.objects.select_related("participant").filter(pk=conversation_id)
    )
    if conversation is not None:
        conversation = follow_merges(conversation)
    if caller.is_business:
        if conversation is None:
            raise ConversationNotFound()
        return conversation
    if conversation is None or not is_own_conversation(caller=caller, conversation=conversation):
        raise NotJoinedChatroom()
    return conversation


def conversation_id_for_caller(*, caller: Caller, conversation_id: uuid.UUID) -> uuid.UUID:
    """The id of the conversation ``conversation_for_caller`` would return, with the same
    errors. A business caller needs no participant row to read a thread, so it gets a
    one-column lookup (half the message list's lookup cost, docs/benchmarks.md)."""
    if not caller.is_business:
        return conversation_for_caller(caller=caller, conversation_id=conversation_id).pk
    row = one_or_none(
        Conversation.objects.filter(pk=conversation_id).values_list("pk", "merged_into_id")
    )
    if row is None:
        raise ConversationNotFound()
    if row[1] is None:
        return row[0]
    return conversation_for_caller(caller=caller, conversation_id=conversation_id).pk


def is_own_conversation(*, caller: Caller, conversation: Conversation) -> bool:
    participant = conversation.participant
    return participant.wire_key == caller.sender_kind and participant.external_id == caller.id


@dataclass(frozen=True)
class MessagePage:
    messages: list[Message]
    # Whether more messages lie beyond the last one, in the requested order.
    has_more_after: bool
    # Whether messages lie before the first one, in the requested order.
    has_more_before: bool


def message_page(
    *,
    conversation_id: uuid.UUID,
    visibility: str,
    order: str,
    limit: int,
    after: int | None = None,
    before: int | None = None,
) -> MessagePage:
    """One page of messages in ``order`` (``ASC``/``DESC`` by sequence).

    ``after``: the page continues past this sequence in ``order`` (a ``next`` cursor);
    ``before``: the page ends just before this sequence in ``order`` (a ``prev`` cursor).
    Boundaries are sequences, not offsets, so pages stay exact while messages are added.
    Runs one query (two when a cursor's edge message is gone), whatever the page size.
    """
    base = visible_messages(conversation_id=conversation_id, visibility=visibility)
    ascending = order == ASC
    # ``forward`` walks in the requested order; a prev cursor walks backwards then flips.
    forward = before is None
    walk_ascending = ascending if forward else not ascending
    queryset = base
    # A next cursor's position is the last message of the page before: read from it (one row
    # more) and its presence answers "is there anything before this page", which otherwise
    # takes a query of its own (still asked when that message is not there).
    edge_included = False
    if after is not None:
        queryset = queryset.filter(**{"sequence__gte" if ascending else "sequence__lte": after})
    if before is not None:
        queryset = queryset.filter(**{"sequence__lt" if ascending else "sequence__gt": before})
    extra = 2 if after is not None else 1
    rows = list(queryset.order_by("sequence" if walk_ascending else "-sequence")[: limit + extra])
    if after is not None:
        if rows and rows[0].sequence == after:
            edge_included = True
            rows = rows[1:]
        else:
            rows = rows[: limit + 1]
    more_in_walk = len(rows) > limit
    rows = rows[:limit]
    if not forward:
        rows.reverse()
    if forward:
        has_more_after = more_in_walk
        # Messages before the page exist only if we started from a cursor position.
        has_more_before = after is not None and (
            edge_included
            or _exists_before(
                base,
                ascending=ascending,
                edge=rows[0].sequence if rows else after,
                inclusive=not rows,
            )
        )
    else:
        has_more_before = more_in_walk
        assert before is not None
        has_more_after = _exists_after(
            base,
            ascending=ascending,
            edge=rows[-1].sequence if rows else before,
            inclusive=not rows,
        )
    return MessagePage(
        messages=rows, has_more_after=has_more_after, has_more_before=has_more_before
    )


def _exists_before(base: QuerySet[Message], *, ascending: bool, edge: int, inclusive: bool) -> bool:
    op = ("lte" if inclusive else "lt") if ascending else ("gte" if inclusive else "gt")
    return base.filter(**{f"sequence__{op}": edge}).exists()


def _exists_after(base: QuerySet[Message], *, ascending: bool, edge: int, inclusive: bool) -> bool:
    op = ("gte" if inclusive else "gt") if ascending else ("lte" if inclusive else "lt")
    return base.filter(**{f"sequence__{op}": edge}).exists()


def conversation_list_for_staff(*, caller: Caller) -> QuerySet[Conversation]:
    """Every live (not merged-away) conversation, annotated for the staff inbox list.

    ``unread_count`` is per reader: for a staff user, the messages after its own read cursor;
    for an app (which has no cursor), the messages no staff user has read yet, i.e. after the
    furthest cursor of anyone. Silent messages and the reader's own messages never count.
    ``read_sequence`` is that cursor. ``preview_image_id`` is the first uploaded image of the
    last message (its thumbnail goes beside the preview text). All are correlated subqueries, so
    a page of any size is one query.
    """
    if caller.is_participant:
        raise PermissionDenied(_("Only the business side lists conversations"))
    cursors = ReadCursor.objects.filter(conversation=OuterRef("pk"))
    read_sequence: QuerySet[Any, Any]
    if caller.user is not None:
        read_sequence = cursors.filter(user=caller.user).values("sequence")[:1]
    else:
        read_sequence = (
            cursors.order_by().values("conversation").annotate(top=Max("sequence")).values("top")
        )
    unread = (
        Message.objects.filter(
            conversation=OuterRef("pk"), silent=False, sequence__gt=OuterRef("read_sequence")
        )
        .exclude(sender_kind=caller.sender_kind, sender_id=caller.id)
        .order_by()
        .values("conversation")
        .annotate(count=Count("pk"))
        .values("count")
    )
    preview_image = Attachment.objects.filter(
        message__conversation=OuterRef("pk"),
        message__sequence=OuterRef("last_message_sequence"),
        width__isnull=False,
    ).values("pk")[:1]
    return (
        Conversation.objects.filter(merged_into__isnull=True)
        .select_related("participant", "assignee")
        # Not on a list row; loading timestamps is a visible share of a page's CPU.
        .defer("created_at", "participant__created_at")
        .annotate(read_sequence=Coalesce(Subquery(read_sequence), Value(0)))
        .annotate(unread_count=Coalesce(Subquery(unread), Value(0)))
        .annotate(preview_image_id=Subquery(preview_image))
    )


def assignable_staff() -> list[Any]:
    """The users a conversation can be assigned to: active staff who may open the inbox
    (``inbox.view_message``, directly, through a group, or as superusers), by name."""
    users = get_user_model().objects.filter(is_active=True, is_staff=True)
    permitted = Q(is_superuser=True)
    permitted |= Q(
        user_permissions__content_type__app_label="inbox",
        user_permissions__codename="view_message",
    )
    permitted |= Q(
        groups__permissions__content_type__app_label="inbox",
        groups__permissions__codename="view_message",
    )
    return sorted(users.filter(permitted).distinct(), key=user_display_name)


def assignable_user(wire_id: uuid.UUID) -> Any | None:
    """The assignable staff user whose ``wixUserId`` is ``wire_id``, or None."""
    return next((user for user in assignable_staff() if user_wire_id(user.pk) == wire_id), None)


@dataclass(frozen=True)
class ConversationPosition:
    """Where a conversation-list page ends: the last row's activity time (None for a
    conversation that has none yet) and id."""

    last_activity_at: datetime | None
    conversation_id: uuid.UUID


@dataclass(frozen=True)
class ConversationPage:
    conversations: list[Conversation]
    has_more: bool


def conversation_page(
    queryset: QuerySet[Conversation], *, limit: int, after: ConversationPosition | None = None
) -> ConversationPage:
    """One page of the staff list, newest activity first, conversations without activity last.

    Two keyset segments rather than one ``ORDER BY ... NULLS LAST``: the active segment walks
    ``inbox_conv_activity_idx`` (``-last_activity_at, -id``) as it is, on every database (in
    PostgreSQL a descending index keeps NULLs first, so a NULLS LAST sort could not use it);
    the idle segment (no activity yet, ordered by id) is read only when the active one runs
    out. Hence one or two queries per page, whatever its size.
    """
    rows: list[Conversation] = []
    if after is None or after.last_activity_at is not None:
        active = queryset.filter(last_activity_at__isnull=False)
        if after is not None:
            active = active.filter(
                Q(last_activity_at__lt=after.last_activity_at)
                | Q(last_activity_at=after.last_activity_at, pk__lt=after.conversation_id)
            )
        rows = list(active.order_by("-last_activity_at", "-pk")[: limit + 1])
    if len(rows) <= limit:
        idle = queryset.filter(last_activity_at__isnull=True)
        if after is not None and after.last_activity_at is None:
            idle = idle.filter(pk__lt=after.conversation_id)
        rows.extend(idle.order_by("-pk")[: limit + 1 - len(rows)])
    return ConversationPage(conversations=rows[:limit], has_more=len(rows) > limit)


def participant_visible_last_sequence(*, conversation: Conversation) -> int:
    """The highest sequence the participant can see; bounds the participant's read cursor so
    that it reveals nothing about internal messages after it."""
    top = visible_messages(
        conversation_id=conversation.pk, visibility=Message.Visibility.BUSINESS_AND_PARTICIPANT
    ).aggregate(top=Max("sequence"))["top"]
    return int(top or 0)


def message_for_participant(
    *, caller: Caller, message_id: int, conversation_id: uuid.UUID | None = None
) -> Message:
    """A message the participant ``caller`` can see, in its own conversation (the one named by
    ``conversation_id`` if given, merges followed). Anything else, whether it exists or not, is
    ``NOT_JOINED_CHATROOM``, so message ids cannot be probed."""
    if not caller.is_participant:
        raise PermissionDenied(_("Only the participant of a conversation may do this"))
    message = one_or_none(
        Message.objects.select_related("conversation__participant").filter(
            pk=message_id, visibility=Message.Visibility.BUSINESS_AND_PARTICIPANT
        )
    )
    if message is None or not is_own_conversation(caller=caller, conversation=message.conversation):
        raise NotJoinedChatroom(_("The message is not in a conversation the caller takes part in"))
    if conversation_id is not None:
        named = conversation_for_caller(caller=caller, conversation_id=conversation_id)
        if named.pk != message.conversation_id:
            raise NotJoinedChatroom(_("The message is not in this conversation"))
    return message


def participant_stream_conversation_id(*, caller: Caller, kind: str) -> uuid.UUID:
    """The conversation the socket of participant ``caller`` (of ``kind``) listens on.

    The id is derived from the participant, so a visitor who has not written yet already knows
    (and listens on) the conversation its first message opens. A visitor whose conversation a
    member claimed keeps its old id (where ``conversations_merged`` arrives): the member's
    conversation is not its own.
    """
    conversation_id = conversation_id_for(kind, caller.id)
    existing = one_or_none(
        Conversation.objects.select_related("participant").filter(pk=conversation_id)
    )
    resolved = follow_merges(existing) if existing is not None else None
    if resolved is not None and is_own_conversation(caller=caller, conversation=resolved):
        return resolved.pk
    return conversation_id


class ReplayTooLarge(Exception):
    """More messages were missed than a socket replays; the client refetches over REST."""


def replay_messages(
    *,
    visibility: str,
    named: dict[uuid.UUID, int],
    since: int | None,
    others: bool,
    known: Collection[str] = (),
    event_id: Callable[[Any], str],
) -> list[Message]:
    """What a resuming socket missed, ordered by sequence: per named conversation the messages
    after its sequence, and (``others``) in the other conversations the messages after
    ``since``, each position moved back by the safety window. Messages whose event id
    (``event_id(pk)``) is in ``known`` (already sent on this socket) are left out, and only the
    others are loaded: a resynchronisation under load reads the window's keys, not its rows.
    Raises ``ReplayTooLarge`` when more than ``REPLAY_LIMIT`` messages of one conversation are
    to be replayed."""
    window = int(inbox_settings.RESUME_WINDOW_SECONDS * 1_000_000)
    limit = inbox_settings.REPLAY_LIMIT
    max_conversations = inbox_settings.SOCKET_MAX_RESUME_CONVERSATIONS
    positions = dict(named)
    if others and since is not None:
        floor = max(since - window, 0)
        active = list(
            Conversation.objects.filter(last_sequence__gt=floor)
            .exclude(pk__in=list(named))
            .values_list("pk", flat=True)[: max_conversations + 1]
        )
        if len(active) > max_conversations:
            raise ReplayTooLarge()
        positions.update(dict.fromkeys(active, since))
    found: list[Message] = []
    for conversation_id, after in positions.items():
        messages = visible_messages(conversation_id=conversation_id, visibility=visibility)
        keys = messages.filter(sequence__gt=max(after - window, 0)).order_by("sequence")
        # Past this many keys, more than ``limit`` of them are unknown whatever ``known`` holds.
        cap = limit + 1 + len(known)
        missed = [pk for pk in keys.values_list("pk", flat=True)[:cap] if event_id(pk) not in known]
        if len(missed) > limit:
            raise ReplayTooLarge()
        if missed:
            found.extend(messages.filter(pk__in=missed))
    found.sort(key=lambda message: (message.sequence, message.pk))
    return found
