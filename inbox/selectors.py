"""Every read that applies visibility: who may see which conversation and which messages.

``visible_messages`` is the one place that decides which messages a reader sees; REST lists,
socket replays and summaries all go through it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db.models import QuerySet

from inbox.exceptions import ConversationNotFound, NotJoinedChatroom, PermissionDenied
from inbox.identity import Caller
from inbox.models import Conversation, Message

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
        raise PermissionDenied("Participants may list only BUSINESS_AND_PARTICIPANT messages")
    return requested


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
    conversation = (
        Conversation.objects.select_related("participant").filter(pk=conversation_id).first()
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
    Runs two queries whatever the page size.
    """
    base = visible_messages(conversation_id=conversation_id, visibility=visibility)
    ascending = order == ASC
    # ``forward`` walks in the requested order; a prev cursor walks backwards then flips.
    forward = before is None
    walk_ascending = ascending if forward else not ascending
    queryset = base
    if after is not None:
        queryset = queryset.filter(**{"sequence__gt" if ascending else "sequence__lt": after})
    if before is not None:
        queryset = queryset.filter(**{"sequence__lt" if ascending else "sequence__gt": before})
    rows = list(queryset.order_by("sequence" if walk_ascending else "-sequence")[: limit + 1])
    more_in_walk = len(rows) > limit
    rows = rows[:limit]
    if not forward:
        rows.reverse()
    if forward:
        has_more_after = more_in_walk
        # Messages before the page exist only if we started from a cursor position.
        has_more_before = after is not None and _exists_before(
            base, ascending=ascending, edge=rows[0].sequence if rows else after, inclusive=not rows
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
