"""Typing and availability live between a staff page and a visitor's widget (issue 16), in
headless Chromium: the visitor's typing shows on the staff page and the staff user's reply
typing in the widget, a note's typing never; the widget says "online" while a staff page is
open and "we usually reply within …" or "away, back at …" once the last one closed; the away
auto-reply arrives in the widget."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.e2e.test_staff_inbox import load_demo, open_page
from tests.e2e.test_widget import Widget, started_thread

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The widget asks every 15 s (widget/availability.js POLL_MS); the server drops a closed tab at once.
AVAILABILITY_WAIT_MS = 30_000


@contextmanager
def staff_page(browser: Any, server: Any) -> Iterator[Any]:
    """The demo staff user's inbox page, in a browser profile of its own."""
    profile = browser.new_context(base_url=server.url, viewport={"width": 1100, "height": 760})
    profile.set_default_timeout(15_000)
    try:
        yield open_page(profile)
    finally:
        profile.close()


def widget_text(widget: Widget, selector: str) -> Any:
    return widget.page.locator(f"inbox-chat-widget .{selector}")


def availability_says(widget: Widget, pattern: str) -> None:
    widget.page.wait_for_function(
        "(pattern) => new RegExp(pattern).test(document.querySelector('inbox-chat-widget')"
        ".shadowRoot.querySelector('.availability').textContent)",
        arg=pattern,
        timeout=AVAILABILITY_WAIT_MS,
    )


def business_typing_frames(widget: Widget) -> list[str]:
    return [
        frame["event"]["data"]["op"]
        for frame in widget.frames
        if frame.get("type") == "event" and frame["event"]["slug"] == "business_typing"
    ]


def visitor_widget(context: Any, server: Any, first_words: str) -> Widget:
    """The demo's data, and a visitor on the home page who has said ``first_words``."""
    load_demo(server)
    page = context.new_page()
    widget = Widget(page)
    page.goto("/")
    started_thread(widget, first_words)
    return widget


def test_typing_both_ways_and_online_then_offline(context, browser, asgi_server):
    widget = visitor_widget(context, asgi_server, "Typing test, hello")
    availability_says(widget, "^We usually reply within 1 hour$")

    with staff_page(browser, asgi_server) as sam:
        availability_says(widget, "^Online$")
        sam.locator(".inbox-conversation", has_text="Typing test, hello").click()
        sam.wait_for_selector(".inbox-message >> text=Typing test, hello")

        # The visitor types: the staff page says so, under the thread.
        widget.input.press_sequentially("I have a question", delay=20)
        sam.locator(".inbox-typing", has_text="is typing…").wait_for()
        widget.input.fill("")
        widget.input.press("Backspace")
        sam.locator(".inbox-typing").wait_for(state="hidden")

        # Sam types a reply: the widget says the team is typing, and nothing once it is sent.
        sam.locator(".inbox-composer textarea").press_sequentially("Sure, ask", delay=20)
        widget_text(widget, "typing").wait_for()
        assert widget_text(widget, "typing").inner_text() == "The team is typing…"
        sam.locator(".inbox-composer textarea").press("Enter")
        widget.wait_for_thread(["Typing test, hello", "Sure, ask"])
        widget_text(widget, "typing").wait_for(state="hidden")

        # An internal note's typing never reaches the widget.
        sam.locator("input[name=mode][value=note]").check()
        sam.locator(".inbox-composer textarea").press_sequentially("VIP customer", delay=20)
        sam.locator(".inbox-composer textarea").press("Enter")
        sam.wait_for_selector(".inbox-message >> text=VIP customer")
        assert business_typing_frames(widget) == ["start", "stop"]
        assert widget_text(widget, "typing").is_hidden()

    # The last staff tab closed: the widget says so within its next check.
    availability_says(widget, "^We usually reply within 1 hour$")
    assert widget.errors == []


@pytest.fixture
def closed_shop(monkeypatch: pytest.MonkeyPatch) -> str:
    """The server process opens the shop only tomorrow 09:00-10:00 (UTC), with the away reply
    on; set before ``asgi_server`` starts it."""
    tomorrow = (datetime.now().astimezone() + timedelta(days=1)).strftime("%a").lower()
    monkeypatch.setenv("INBOX_BUSINESS_HOURS", json.dumps({tomorrow: ["09:00-10:00"]}))
    monkeypatch.setenv("INBOX_BUSINESS_TIMEZONE", "UTC")
    monkeypatch.setenv("INBOX_AWAY_REPLY", "1")
    return tomorrow


def test_away_state_and_auto_reply_live(closed_shop, context, browser, asgi_server):
    widget = visitor_widget(context, asgi_server, "Anyone there?")
    availability_says(widget, "^Away, back at ")
    widget.wait_for_thread(
        [
            "Anyone there?",
            "Thanks for your message. Nobody from the team is online right now; "
            "we will reply as soon as we are back.",
        ]
    )

    with staff_page(browser, asgi_server):
        availability_says(widget, "^Online$")
    availability_says(widget, "^Away, back at ")
    assert widget.errors == []
