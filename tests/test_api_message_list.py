"""``GET v2/messages`` — list (contract §3.4): page sizes, orders, cursors in both directions,
exact walks while messages arrive, tamper-evident cursors bound to what they were made for,
participant visibility, and constant query counts.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.core import signing
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inbox import services
from inbox.api.pagination import CURSOR_SALT, CursorPosition, cursor_dump, cursor_load
from inbox.exceptions import ValidationFailed
from inbox.identity import caller_for_app
from inbox.models import App, Conversation, Message, Participant
from tests.conftest import API, field_violations, text_draft, text_message

BOTH = "BUSINESS_AND_PARTICIPANT"
BUSINESS = "BUSINESS"


def add_messages(conversation: Conversation, count: int, *, internal_every: int = 0) -> None:
    """``count`` messages through the service layer; every ``internal_every``-th is internal."""
    caller = caller_for_app(App.objects.first() or services.app_create(name="seed")[0])
    for index in range(count):
        internal = internal_every and index % internal_every == 0
        services.message_send(
            caller=caller,
            conversation=conversation,
            draft=text_draft(f"m{index}", visibility=BUSINESS if internal else BOTH),
        )


def visible_sequences(conversation: Conversation, visibility: str) -> list[str]:
    queryset = Message.objects.filter(conversation=conversation)
    if visibility == BOTH:
        queryset = queryset.filter(visibility=BOTH)
    return [str(s) for s in queryset.order_by("sequence").values_list("sequence", flat=True)]


@pytest.fixture
def list_page(app_client) -> Callable[..., dict[str, Any]]:
    def get(conversation: Conversation, client: Any = None, **params: Any) -> dict[str, Any]:
        query = {"conversationId": str(conversation.pk), "visibility": BUSINESS, **params}
        response = (client or app_client).get(f"{API}/messages", query)
        assert response.status_code == 200, response.content
        return response.json()

    return get


def sequences(page: dict[str, Any]) -> list[str]:
    return [message["sequence"] for message in page["messages"]]


# --- page size ---------------------------------------------------------------------------------


def test_default_page_is_30_and_limit_0_means_default(make_conversation, list_page):
    conversation = make_conversation()
    add_messages(conversation, 35)
    for params in ({}, {"paging.limit": "0"}):
        page = list_page(conversation, **params)
        assert page["pagingMetadata"]["count"] == len(page["messages"]) == 30
        assert "next" in page["pagingMetadata"]["cursors"]


def test_limit_is_clamped_to_100(make_conversation, list_page):
    conversation = make_conversation()
    add_messages(conversation, 105)
    for limit in ("100", "101", "100000"):
        page = list_page(conversation, **{"paging.limit": limit})
        assert len(page["messages"]) == 100
    assert len(list_page(conversation, **{"paging.limit": "7"})["messages"]) == 7


def test_next_only_when_another_page_exists(make_conversation, list_page):
    conversation = make_conversation()
    add_messages(conversation, 30)
    full = list_page(conversation)
    assert len(full["messages"]) == 30
    assert "next" not in full["pagingMetadata"]["cursors"]
    assert "prev" not in full["pagingMetadata"]["cursors"]
    exact = list_page(conversation, **{"paging.limit": "15"})
    second = list_page(
        conversation,
        **{"paging.cursor": exact["pagingMetadata"]["cursors"]["next"], "paging.limit": "15"},
    )
    assert len(second["messages"]) == 15
    assert "next" not in second["pagingMetadata"]["cursors"]
    assert "prev" in second["pagingMetadata"]["cursors"]


def test_empty_conversation_lists_nothing_without_cursors(make_conversation, list_page):
    page = list_page(make_conversation())
    assert page["messages"] == []
    assert page["pagingMetadata"]["count"] == 0
    assert "next" not in page["pagingMetadata"]["cursors"]
    assert "prev" not in page["pagingMetadata"]["cursors"]


# --- order -------------------------------------------------------------------------------------


def test_desc_is_the_default_and_asc_is_available(make_conversation, list_page):
    conversation = make_conversation()
    add_messages(conversation, 5)
    stored = visible_sequences(conversation, BUSINESS)
    assert sequences(list_page(conversation)) == stored[::-1]
    assert sequences(list_page(conversation, **{"sorting.order": "DESC"})) == stored[::-1]
    assert sequences(list_page(conversation, **{"sorting.order": "ASC"})) == stored
    assert (
        sequences(
            list_page(conversation, **{"sorting.order": "ASC", "sorting.fieldName": "sequence"})
        )
        == stored
    )


# --- cursors both ways -------------------------------------------------------------------------


@pytest.mark.parametrize("order", ["ASC", "DESC"])
def test_next_to_the_end_then_prev_back_to_the_start(make_conversation, list_page, order):
    conversation = make_conversation()
    add_messages(conversation, 23)
    params = {"paging.limit": "5", "sorting.order": order}
    pages = [list_page(conversation, **params)]
    while "next" in pages[-1]["pagingMetadata"]["cursors"]:
        cursor = pages[-1]["pagingMetadata"]["cursors"]["next"]
        pages.append(list_page(conversation, **params, **{"paging.cursor": cursor}))
    stored = visible_sequences(conversation, BUSINESS)
    expected = stored if order == "ASC" else stored[::-1]
    assert [s for page in pages for s in sequences(page)] == expected
    assert [len(page["messages"]) for page in pages] == [5, 5, 5, 5, 3]

    backwards = [pages[-1]]
    while "prev" in backwards[-1]["pagingMetadata"]["cursors"]:
        cursor = backwards[-1]["pagingMetadata"]["cursors"]["prev"]
        backwards.append(list_page(conversation, **params, **{"paging.cursor": cursor}))
    assert [sequences(page) for page in backwards] == [sequences(page) for page in pages[::-1]]
    # A page reached by prev offers next again.
    assert all("next" in page["pagingMetadata"]["cursors"] for page in backwards[1:])


@pytest.mark.parametrize("visibility", [BOTH, BUSINESS])
@pytest.mark.parametrize("order", ["ASC", "DESC"])
def test_walk_yields_every_message_once_while_messages_arrive(
    make_conversation, list_page, order, visibility
):
    conversation = make_conversation()
    add_messages(conversation, 20, internal_every=3)
    at_start = visible_sequences(conversation, visibility)
    params = {"paging.limit": "4", "sorting.order": order, "visibility": visibility}
    seen: list[str] = []
    page = list_page(conversation, **params)
    for _ in range(100):
        seen += sequences(page)
        if "next" not in page["pagingMetadata"]["cursors"]:
            break
        # Both an internal note and a visible message arrive between every two fetches.
        add_messages(conversation, 2, internal_every=2)
        page = list_page(
            conversation, **params, **{"paging.cursor": page["pagingMetadata"]["cursors"]["next"]}
        )
    assert len(seen) == len(set(seen)), "a message was repeated"
    assert seen == sorted(seen, key=int, reverse=order == "DESC")
    if visibility == BOTH:
        assert not (
            set(seen)
            & {
                str(s)
                for s in Message.objects.filter(visibility=BUSINESS).values_list(
                    "sequence", flat=True
                )
            }
        )
    if order == "ASC":
        # New messages land ahead of an ascending walk: it reaches all of them.
        assert seen == visible_sequences(conversation, visibility)
    else:
        # New messages land behind a descending walk: it yields exactly what was there.
        assert seen == at_start[::-1]


def test_resume_cursor_picks_up_messages_sent_after_the_last_page(make_conversation, list_page):
    conversation = make_conversation()
    add_messages(conversation, 3)
    page = list_page(conversation, **{"sorting.order": "ASC"})
    assert "next" not in page["pagingMetadata"]["cursors"]
    add_messages(conversation, 2)
    later = list_page(
        conversation,
        **{"sorting.order": "ASC", "paging.cursor": page["pagingMetadata"]["cursors"]["resume"]},
    )
    assert sequences(later) == visible_sequences(conversation, BUSINESS)[3:]


# --- cursors are tamper-evident and bound ------------------------------------------------------


@pytest.fixture
def paged(make_conversation, list_page):
    conversation = make_conversation()
    add_messages(conversation, 6)
    page = list_page(conversation, **{"paging.limit": "2"})
    return conversation, page["pagingMetadata"]["cursors"]["next"]


def flip(token: str, index: int) -> str:
    char = token[index]
    return token[:index] + ("A" if char != "A" else "B") + token[index + 1 :]


def test_forged_and_tampered_cursors_are_400(app_client, paged):
    conversation, cursor = paged
    payload = {"c": conversation.pk.hex, "v": BUSINESS, "o": "DESC", "a": 1, "b": None}
    forged = [
        "garbage",
        "",
        cursor[:-3],
        flip(cursor, 1),
        flip(cursor, len(cursor) // 2),
        flip(cursor, len(cursor) - 1),
        cursor + "x",
        signing.dumps(payload, salt="another.salt", compress=True),
        signing.dumps(payload, salt=CURSOR_SALT, key="not-our-secret-key-" * 3, compress=True),
        "." + cursor,
    ]
    for token in forged:
        response = app_client.get(
            f"{API}/messages",
            {
                "conversationId": str(conversation.pk),
                "visibility": BUSINESS,
                "paging.cursor": token,
                "paging.limit": "2",
            },
        )
        if token == "":
            # An empty cursor is "no cursor" (proto3: the empty string is unset).
            assert response.status_code == 200
            continue
        assert field_violations(response) == {"paging.cursor": "FORMAT"}, token


def test_cursor_reused_with_another_visibility_order_or_conversation_is_400(
    app_client, paged, make_conversation
):
    conversation, cursor = paged
    other = make_conversation()
    add_messages(other, 6)
    for params in (
        {"conversationId": str(conversation.pk), "visibility": BOTH},
        {"conversationId": str(conversation.pk), "visibility": BUSINESS, "sorting.order": "ASC"},
        {"conversationId": str(other.pk), "visibility": BUSINESS},
    ):
        response = app_client.get(
            f"{API}/messages", {**params, "paging.cursor": cursor, "paging.limit": "2"}
        )
        assert field_violations(response) == {"paging.cursor": "FORMAT"}, params


def test_validly_signed_but_meaningless_cursor_positions_are_refused():
    conversation_id = uuid.uuid4()
    bound = {"conversation_id": conversation_id, "visibility": BUSINESS, "order": "DESC"}
    for position in (CursorPosition(), CursorPosition(after=1, before=2)):
        token = cursor_dump(**bound, position=position)
        with pytest.raises(ValidationFailed):
            cursor_load(token, **bound)
    token = signing.dumps(
        {"c": conversation_id.hex, "v": BUSINESS, "o": "DESC", "a": "1", "b": None},
        salt=CURSOR_SALT,
    )
    with pytest.raises(ValidationFailed):
        cursor_load(token, **bound)


# --- participants never see internal messages --------------------------------------------------


def test_participant_walk_never_returns_business_messages(
    make_visitor, list_page, make_conversation
):
    visitor_id, visitor = make_visitor()
    conversation = make_conversation(Participant.Kind.ANONYMOUS_VISITOR, visitor_id)
    add_messages(conversation, 25, internal_every=2)
    params = {"visibility": BOTH, "paging.limit": "5"}
    seen: list[dict[str, Any]] = []
    page = list_page(conversation, visitor, **params)
    while True:
        seen += page["messages"]
        if "next" not in page["pagingMetadata"]["cursors"]:
            break
        page = list_page(
            conversation,
            visitor,
            **params,
            **{"paging.cursor": page["pagingMetadata"]["cursors"]["next"]},
        )
    assert {message["visibility"] for message in seen} == {BOTH}
    assert [m["sequence"] for m in seen] == visible_sequences(conversation, BOTH)[::-1]


# --- constant number of queries ----------------------------------------------------------------


def count_queries(action: Callable[[], Any]) -> int:
    with CaptureQueriesContext(connection) as context:
        response = action()
    assert response.status_code == 200, response.content
    return len(context.captured_queries)


@pytest.mark.parametrize("who", ["app", "staff", "visitor"])
def test_list_runs_the_same_queries_whatever_the_page_size(
    who, app_client, staff_client, make_visitor, make_conversation
):
    visitor_id, visitor = make_visitor()
    conversation = make_conversation(Participant.Kind.ANONYMOUS_VISITOR, visitor_id)
    add_messages(conversation, 120)
    client = {"app": app_client, "staff": staff_client, "visitor": visitor}[who]
    visibility = BOTH if who == "visitor" else BUSINESS

    def fetch(limit: int, cursor: str | None = None) -> Any:
        params = {
            "conversationId": str(conversation.pk),
            "visibility": visibility,
            "paging.limit": str(limit),
        }
        if cursor:
            params["paging.cursor"] = cursor
        return client.get(f"{API}/messages", params)

    fetch(1)  # warm per-process caches (content types, permissions) out of the count
    small = count_queries(lambda: fetch(1))
    large = count_queries(lambda: fetch(100))
    assert small == large
    cursor = fetch(1).json()["pagingMetadata"]["cursors"]["next"]
    assert count_queries(lambda: fetch(1, cursor)) == count_queries(lambda: fetch(100, cursor))
    # A cursor page reads its edge message with the page instead of asking "anything before?".
    assert count_queries(lambda: fetch(100, cursor)) == large
    # Pinned: credentials (none for a key the process has cached; session, user and two
    # permission queries for staff), conversation, page.
    assert large == {"app": 2, "staff": 6, "visitor": 2}[who]


@pytest.mark.parametrize("who", ["app", "staff", "visitor"])
def test_send_runs_the_same_queries_whatever_the_message(
    who, app_client, staff_client, make_visitor, make_conversation
):
    visitor_id, visitor = make_visitor()
    conversation = make_conversation(Participant.Kind.ANONYMOUS_VISITOR, visitor_id)
    client = {"app": app_client, "staff": staff_client, "visitor": visitor}[who]
    direction = "PARTICIPANT_TO_BUSINESS" if who == "visitor" else "BUSINESS_TO_PARTICIPANT"

    def send(items: int) -> Any:
        message = text_message(direction=direction)
        message["content"] = {"basic": {"items": [{"text": f"t{i}"} for i in range(items)]}}
        return client.post(
            f"{API}/messages",
            {"conversationId": str(conversation.pk), "message": message},
            format="json",
        )

    send(1)
    one = count_queries(lambda: send(1))
    many = count_queries(lambda: send(100))
    assert one == many
    add_messages(conversation, 50)
    assert count_queries(lambda: send(1)) == one
    # Pinned: credentials (see above), then in one transaction (a savepoint and its release
    # inside the test's): lock-and-bump the sequence allocator with UPDATE ... RETURNING, which
    # also proves the conversation exists, the INSERT, and the INSERT of its outbox event
    # (inbox/outbox/; its UPDATE of published_at runs after commit, which never comes inside the
    # test's transaction). A participant's send looks its conversation up first (ownership).
    assert one == {"app": 5, "staff": 9, "visitor": 6}[who]
