"""Conversation status on the staff page, live across two staff pages (issue 16): one staff
user closes a visitor's conversation and the other sees it closed; the visitor writes again and
both see it reopened; a snooze and "mark unread" show on the page that did them and the other.
Status never reaches the visitor."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from tests.e2e.test_staff_inbox import API, load_demo, open_page, visitor, visitor_says

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

COLLEAGUE = ("kim", "kim-colleague-pw")


def colleague() -> None:
    user = get_user_model().objects.create_user(
        username=COLLEAGUE[0], password=COLLEAGUE[1], is_staff=True, first_name="Kim"
    )
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="inbox"))


@contextmanager
def colleague_page(browser: Any, server: Any) -> Iterator[Any]:
    """Kim's inbox page, in a browser profile of its own."""
    other = browser.new_context(base_url=server.url, viewport={"width": 1100, "height": 760})
    other.set_default_timeout(15_000)
    try:
        yield open_page(other, username=COLLEAGUE[0], password=COLLEAGUE[1])
    finally:
        other.close()


def row_status(page: Any, text: str, status: str) -> None:
    """Wait until the row showing ``text`` is in ``status``."""
    page.locator(f".inbox-conversation[data-status={status}]", has_text=text).wait_for()


def test_status_changes_are_seen_live_by_a_colleague(context, browser, asgi_server):
    load_demo(asgi_server)
    colleague()
    _, visitor_client = visitor(asgi_server.url)
    visitor_says(visitor_client, "Where is my parcel?")
    sam = open_page(context)
    with colleague_page(browser, asgi_server) as kim:
        row_status(kim, "Where is my parcel?", "OPEN")

        # Sam closes it: the thread says so, with a staff-only entry; Kim's list shows it closed.
        sam.locator(".inbox-conversation", has_text="Where is my parcel?").click()
        sam.wait_for_selector(".inbox-message >> text=Where is my parcel?")
        assert sam.locator(".inbox-thread-status").inner_text() == "Open"
        sam.click(".inbox-close")
        sam.wait_for_selector(".inbox-thread-status[data-status=CLOSED]")
        entry = sam.locator(".inbox-message.internal", has_text="Closed by Sam Staff")
        entry.wait_for()
        assert entry.locator(".inbox-activity").count() == 1
        assert sam.locator(".inbox-close").is_hidden()
        row_status(kim, "Where is my parcel?", "CLOSED")
        assert (
            "Closed"
            in kim.locator(".inbox-conversation", has_text="Where is my parcel?").inner_text()
        )

        # Kim looks at the archive: only the closed conversation.
        kim.select_option("select[name=status]", "CLOSED")
        kim.wait_for_function(
            "() => [...document.querySelectorAll('.inbox-conversation')]"
            ".map((n) => n.dataset.status).join() === 'CLOSED'"
        )

        # The visitor writes again: reopened on both pages, and it leaves Kim's archive view.
        visitor_says(visitor_client, "Hello again?")
        sam.wait_for_selector(".inbox-thread-status[data-status=OPEN]")
        sam.locator(
            ".inbox-message.internal", has_text="Reopened by a new message from the participant"
        ).wait_for()
        kim.locator(".inbox-conversation", has_text="Hello again?").wait_for(state="detached")
        kim.select_option("select[name=status]", "OPEN")
        row_status(kim, "Hello again?", "OPEN")

        # Kim snoozes it for an hour; Sam's open thread and list show the snooze.
        kim.locator(".inbox-conversation", has_text="Hello again?").click()
        kim.wait_for_selector(".inbox-message >> text=Hello again?")
        kim.select_option("select[name=snooze]", "hour")
        kim.wait_for_selector(".inbox-thread-status[data-status=SNOOZED]")
        sam.wait_for_selector(".inbox-thread-status[data-status=SNOOZED]")
        assert sam.locator(".inbox-thread-status").inner_text().startswith("Snoozed until ")
        row_status(sam, "Hello again?", "SNOOZED")
        sam.locator(".inbox-message.internal", has_text="Snoozed until").wait_for()

        # Sam marks it unread: the thread closes and the badge comes back, on Sam's page only.
        sam.click(".inbox-mark-unread")
        sam.wait_for_selector(".inbox-thread-name >> text=Select a conversation")
        sam.locator(".inbox-conversation", has_text="Hello again?").locator(
            ".inbox-unread"
        ).wait_for()
        assert kim.locator(".inbox-thread-name").inner_text() != "Select a conversation"

        # The visitor's API shows none of it.
        conversation_id = sam.locator(".inbox-conversation", has_text="Hello again?").get_attribute(
            "data-conversation-id"
        )
        listed = visitor_client.get(
            f"{API}/messages",
            params={"conversationId": conversation_id, "visibility": "BUSINESS_AND_PARTICIPANT"},
        ).json()["messages"]
        assert [m["content"]["basic"]["items"][0]["text"] for m in listed] == [
            "Hello again?",
            "Where is my parcel?",
        ]
        for page in (sam, kim):
            assert page.dialogs == []
            assert page.errors == []


def test_assigning_is_seen_live_by_the_assignee(context, browser, asgi_server):
    load_demo(asgi_server)
    colleague()
    _, visitor_client = visitor(asgi_server.url)
    visitor_says(visitor_client, "Can someone call me back?")
    sam = open_page(context)
    with colleague_page(browser, asgi_server) as kim:
        kim.select_option(".inbox-filters select[name=assignee]", "me")
        kim.locator(".inbox-list-empty").wait_for()

        # Sam assigns it to Kim: Kim is told, and it is in Kim's "Mine" at once.
        sam.locator(".inbox-conversation", has_text="Can someone call me back?").click()
        sam.wait_for_selector(".inbox-message >> text=Can someone call me back?")
        assert sam.locator("select.inbox-assignee").input_value() == ""
        sam.select_option("select.inbox-assignee", label="Kim")
        sam.locator(".inbox-message.internal", has_text="Assigned to Kim by Sam Staff").wait_for()
        sam.locator(".inbox-conversation-assignee", has_text="→ Kim").wait_for()
        notice = kim.locator(".inbox-notice")
        notice.wait_for()
        assert notice.inner_text().startswith("Assigned to you: ")
        mine = kim.locator(".inbox-conversation", has_text="Can someone call me back?")
        mine.wait_for()
        assert mine.locator(".inbox-conversation-assignee").inner_text() == "→ you"

        # Kim hands it back to nobody: it leaves Kim's "Mine", and Sam's menu says unassigned.
        mine.click()
        kim.wait_for_selector(".inbox-message >> text=Can someone call me back?")
        kim.select_option("select.inbox-assignee", "")
        sam.locator(".inbox-message.internal", has_text="Unassigned by Kim").wait_for()
        sam.wait_for_function("() => document.querySelector('select.inbox-assignee').value === ''")
        assert sam.locator(".inbox-conversation-assignee").count() == 0
        kim.select_option(".inbox-filters select[name=assignee]", "none")
        kim.locator(".inbox-conversation", has_text="Can someone call me back?").wait_for()
        for page in (sam, kim):
            assert page.dialogs == []
            assert page.errors == []
