"""Presence, business hours, availability and the away auto-reply (inbox/presence/, issue 16).

Presence is stored where every process can read it (the database, or Redis with the Redis
layer; both stores are exercised here against the real services); the widget's availability
says whether anyone is there, never who; the away reply goes at most once per conversation per
day, in the participant's language."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import connections

from inbox.models import Message, Participant, conversation_id_for, user_wire_id
from inbox.presence import hours
from inbox.presence.selectors import availability, online_staff_pks
from inbox.presence.services import (
    AWAY_REPLY_SENDER,
    away_reply_maybe,
    presence_drop,
    presence_touch,
)
from inbox.presence.store import DatabaseStore, RedisStore
from tests.conftest import API, participant_says
from tests.test_realtime import BUSINESS, open_socket, resume, session_cookie, socket

# Monday 2 March 2026, 10:00 in Lisbon (WET, UTC+0).
MONDAY_10 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
HOURS = {"mon": ["09:00-12:00", "13:00-17:00"], "wed": ["09:00-17:00"]}


def lisbon(**inbox: Any) -> dict[str, Any]:
    return {"BUSINESS_TIMEZONE": "Europe/Lisbon", "BUSINESS_HOURS": HOURS, **inbox}


# Business hours ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "is_open", "back_at"),
    [
        (MONDAY_10, True, None),
        # Lunch: back at 13:00 the same day.
        (MONDAY_10.replace(hour=12, minute=30), False, MONDAY_10.replace(hour=13)),
        # Monday evening: Wednesday 09:00 (Tuesday is closed).
        (MONDAY_10.replace(hour=18), False, datetime(2026, 3, 4, 9, 0, tzinfo=UTC)),
        # Wednesday 17:00 is closing time (ends are exclusive): next Monday.
        (datetime(2026, 3, 4, 17, 0, tzinfo=UTC), False, datetime(2026, 3, 9, 9, 0, tzinfo=UTC)),
        # Monday before opening.
        (MONDAY_10.replace(hour=8, minute=59), False, MONDAY_10.replace(hour=9)),
    ],
)
def test_opening_state_in_the_business_time_zone(settings, moment, is_open, back_at):
    settings.INBOX = lisbon()
    assert hours.opening_state(moment) == (is_open, back_at)


def test_business_hours_follow_the_time_zone_across_summer_time(settings):
    # 1 June: Lisbon is UTC+1, so 08:30 UTC is 09:30 there (open) and 07:30 UTC is closed.
    settings.INBOX = lisbon()
    june = datetime(2026, 6, 1, 8, 30, tzinfo=UTC)
    assert hours.opening_state(june) == (True, None)
    is_open, back_at = hours.opening_state(june.replace(hour=7))
    assert not is_open and back_at == datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


def test_no_hours_means_always_open_and_no_days_means_never(settings):
    settings.INBOX = {"BUSINESS_HOURS": None}
    assert hours.opening_state(MONDAY_10) == (True, None)
    settings.INBOX = {"BUSINESS_HOURS": {}}
    assert hours.opening_state(MONDAY_10) == (False, None)


# The stores --------------------------------------------------------------------------------


def redis_store() -> RedisStore:
    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    return RedisStore(host={"address": url}, key=f"inbox-test:presence.{uuid.uuid4().hex}")


@pytest.fixture(params=["database", "redis"])
def store(request: Any, db: Any) -> Any:
    return DatabaseStore() if request.param == "database" else redis_store()


def test_a_store_counts_live_sockets_per_user_and_forgets_expired_ones(store, make_user):
    sam, kim = make_user("sam", staff=True), make_user("kim", staff=True)
    store.touch(key="socket-a", user_pk=sam.pk, ttl=30)
    store.touch(key="socket-b", user_pk=sam.pk, ttl=30)
    # A socket whose process died: its last heartbeat has run out.
    store.touch(key="socket-c", user_pk=kim.pk, ttl=-1)
    assert store.online_user_pks() == {str(sam.pk)}

    # Sam closes one tab of two: still online; then the other.
    store.drop(key="socket-a")
    assert store.online_user_pks() == {str(sam.pk)}
    store.drop(key="socket-b")
    assert store.online_user_pks() == set()


# Availability over REST --------------------------------------------------------------------


@pytest.fixture(autouse=True)
async def close_worker_connections() -> Any:
    yield
    await sync_to_async(connections.close_all)()


async def staff_page(user: Any) -> Any:
    cookie = await sync_to_async(session_cookie)(user)
    communicator = socket(BUSINESS, headers=[cookie])
    assert await open_socket(communicator) is None
    assert await resume(communicator) == []
    return communicator


def get_availability(client: Any) -> dict[str, Any]:
    response = client.get(f"{API}/availability")
    assert response.status_code == 200, response.content
    return dict(response.json()["availability"])


@pytest.mark.django_db(transaction=True)
async def test_availability_follows_staff_pages_and_names_nobody_to_participants(
    make_visitor, staff_user, staff_client, settings
):
    settings.INBOX = {"REPLY_WITHIN_MINUTES": 30}
    _, visitor = make_visitor()
    read = sync_to_async(get_availability)
    assert await read(visitor) == {
        "status": "OFFLINE",
        "backAt": None,
        "replyWithinMinutes": 30,
    }

    page = await staff_page(staff_user)
    seen = await read(visitor)
    assert seen["status"] == "ONLINE"
    assert "onlineStaff" not in seen
    assert (await read(staff_client))["onlineStaff"] == [
        {"wixUserId": str(user_wire_id(staff_user.pk)), "name": "staff"}
    ]
    assert await sync_to_async(online_staff_pks)() == {str(staff_user.pk)}

    # The last staff tab closes: nobody is there, at once.
    await page.disconnect()
    assert (await read(visitor))["status"] == "OFFLINE"
    assert (await read(staff_client))["onlineStaff"] == []


@pytest.mark.django_db(transaction=True)
async def test_an_api_app_socket_is_no_presence(app_key, app_client):
    communicator = socket(BUSINESS, headers=[(b"authorization", app_key.encode())])
    assert await open_socket(communicator) is None
    assert (await sync_to_async(get_availability)(app_client))["status"] == "OFFLINE"
    await communicator.disconnect()


@pytest.mark.django_db
def test_outside_business_hours_nobody_online_is_away_until_the_next_opening(
    settings, make_visitor
):
    settings.INBOX = lisbon()
    evening = MONDAY_10.replace(hour=20)
    assert availability(now=evening).as_json() == {
        "status": "AWAY",
        "backAt": "2026-03-04T09:00:00+00:00",
        "replyWithinMinutes": 60,
    }
    _, visitor = make_visitor()
    assert get_availability(visitor)["status"] in ("AWAY", "OFFLINE")


@pytest.mark.django_db
def test_availability_needs_a_caller(api):
    response = api.get(f"{API}/availability")
    assert response.status_code == 401
    assert "message" in response.json()


# The away auto-reply -----------------------------------------------------------------------


def away_replies(conversation_id: uuid.UUID) -> list[Message]:
    return list(
        Message.objects.filter(conversation_id=conversation_id, sender_id=AWAY_REPLY_SENDER)
    )


@pytest.mark.django_db
def test_the_away_reply_goes_once_per_conversation_per_day(settings, make_visitor):
    settings.INBOX = {"AWAY_REPLY": True}
    visitor_id, visitor = make_visitor()
    first = participant_says(visitor, "anyone there?")
    participant_says(visitor, "hello?")
    conversation_id = conversation_id_for(Participant.Kind.ANONYMOUS_VISITOR, visitor_id)

    [reply] = away_replies(conversation_id)
    assert reply.direction == Message.Direction.BUSINESS_TO_PARTICIPANT
    assert reply.visibility == Message.Visibility.BUSINESS_AND_PARTICIPANT
    assert reply.sequence > int(first["sequence"])
    assert "Nobody from the team is online" in reply.preview_text
    # The participant reads it in its thread, right after its first message.
    listed = visitor.get(
        f"{API}/messages",
        {"conversationId": str(conversation_id), "visibility": "BUSINESS_AND_PARTICIPANT"},
    ).json()["messages"]
    listed.sort(key=lambda m: int(m["sequence"]))
    texts = [m["content"]["basic"]["items"][0]["text"] for m in listed]
    assert texts == ["anyone there?", reply.preview_text, "hello?"]

    # The next day it goes again (once).
    tomorrow = reply.created_at + timedelta(days=1)
    assert away_reply_maybe(conversation_id=conversation_id, now=tomorrow) is not None
    assert away_reply_maybe(conversation_id=conversation_id, now=tomorrow) is None


@pytest.mark.django_db
def test_no_away_reply_while_someone_is_online_or_when_it_is_off(
    settings, make_visitor, staff_user
):
    visitor_id, visitor = make_visitor()
    conversation_id = conversation_id_for(Participant.Kind.ANONYMOUS_VISITOR, visitor_id)
    participant_says(visitor, "off by default")
    assert away_replies(conversation_id) == []

    settings.INBOX = {"AWAY_REPLY": True}
    # A staff tab, in the store of the configured layer (Redis in CI's second pass).
    presence_touch(key="a-staff-tab", user_pk=staff_user.pk)
    try:
        participant_says(visitor, "someone is here")
    finally:
        presence_drop(key="a-staff-tab")
    assert away_replies(conversation_id) == []


@pytest.mark.django_db
def test_the_away_reply_speaks_the_participants_language_or_the_sites_text(settings, make_visitor):
    settings.INBOX = {"AWAY_REPLY": True}
    visitor_id, visitor = make_visitor()
    visitor.defaults["HTTP_ACCEPT_LANGUAGE"] = "pt"
    participant_says(visitor, "olá")
    [reply] = away_replies(conversation_id_for(Participant.Kind.ANONYMOUS_VISITOR, visitor_id))
    assert "Nobody" not in reply.preview_text and reply.preview_text

    settings.INBOX = {"AWAY_REPLY": True, "AWAY_MESSAGE": "Closed for the holidays."}
    other_id, other = make_visitor()
    participant_says(other, "hi")
    [reply] = away_replies(conversation_id_for(Participant.Kind.ANONYMOUS_VISITOR, other_id))
    assert reply.preview_text == "Closed for the holidays."
