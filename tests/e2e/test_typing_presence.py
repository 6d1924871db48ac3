"""Typing and availability live between a staff page and a visitor's widget (issue 16), in
headless Chromium: the visitor's typing shows on the staff page and the staff user's reply
typing in the widget, a note's typing never; the widget says "online" while a staff page is
open and "we usually reply within …" or "away, back at …" once the last one closed; the away
auto-reply arrives in the widget. With two staff pages, each sees which colleague is replying,
writing a note or viewing the thread, and the visitor only that the team is typing a reply."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.e2e.test_staff_inbox import load_demo, open_page
from tests.e2e.test_staff_status import colleague, colleague_page
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


# Records, in the widget, every text its typing line shows from now on (whether or not it is
# still shown when the test looks).
WATCH_WIDGET_TYPING = """() => {
  const line = document.querySelector('inbox-chat-widget').shadowRoot.querySelector('.typing');
  window.__typingShown = [];
  new MutationObserver(() => {
    if (!line.hidden) window.__typingShown.push(line.textContent);
  }).observe(line, { attributes: true, childList: true, characterData: true, subtree: true });
}"""

# How long the widget is watched for a note's typing after a colleague saw it: an observation
# window, not a deadline (a leaked indicator would arrive with the colleague's).
NOTE_WATCH_MS = 3_000


def staff_line(page: Any, text: str) -> None:
    """Wait until the line under the open thread says exactly ``text``."""
    page.locator(".inbox-typing", has_text=text).wait_for()
    assert page.locator(".inbox-typing").inner_text() == text


def test_colleagues_see_who_replies_writes_a_note_or_views(context, browser, asgi_server):
    widget = visitor_widget(context, asgi_server, "Two of you on this?")
    colleague()
    with staff_page(browser, asgi_server) as sam, colleague_page(browser, asgi_server) as kim:
        sam.locator(".inbox-conversation", has_text="Two of you on this?").click()
        sam.wait_for_selector(".inbox-message >> text=Two of you on this?")

        # Kim opens the same thread: Sam is told Kim is looking at it.
        kim.locator(".inbox-conversation", has_text="Two of you on this?").click()
        kim.wait_for_selector(".inbox-message >> text=Two of you on this?")
        staff_line(sam, "Kim is viewing this conversation")

        # Sam types a reply: Kim sees who, the visitor only that the team is typing.
        composer = sam.locator(".inbox-composer textarea")
        composer.press_sequentially("On it", delay=20)
        staff_line(kim, "Sam Staff is replying…")
        widget_text(widget, "typing").wait_for()
        assert widget_text(widget, "typing").inner_text() == "The team is typing…"
        composer.press("Enter")
        widget.wait_for_thread(["Two of you on this?", "On it"])
        widget_text(widget, "typing").wait_for(state="hidden")

        # Sam types an internal note: Kim sees it; the visitor's line stays hidden, and no
        # typing frame reaches the widget, while Kim is already told.
        widget.page.evaluate(WATCH_WIDGET_TYPING)
        frames_before = len(business_typing_frames(widget))
        sam.locator("input[name=mode][value=note]").check()
        composer.press_sequentially("Kim, take the refund", delay=20)
        staff_line(kim, "Sam Staff is writing an internal note…")
        widget.page.wait_for_timeout(NOTE_WATCH_MS)
        assert widget_text(widget, "typing").is_hidden()
        assert widget.page.evaluate("() => window.__typingShown") == []
        composer.press("Enter")
        kim.wait_for_selector(".inbox-message.internal >> text=Kim, take the refund")

        # Then a reply again: the widget's socket was live all along, and the only typing frame
        # it got since the note began is this reply's start.
        sam.locator("input[name=mode][value=reply]").check()
        composer.press_sequentially("One moment", delay=20)
        widget_text(widget, "typing").wait_for()
        assert business_typing_frames(widget)[frames_before:] == ["start"]
        assert widget.page.evaluate("() => window.__typingShown")[0] == "The team is typing…"
        composer.fill("")
        composer.press("Backspace")
        widget_text(widget, "typing").wait_for(state="hidden")

        # Kim moves on to another conversation: Sam's line no longer says Kim is viewing.
        kim.locator(".inbox-conversation", has_text="Ana Contact").click()
        kim.locator(".inbox-thread-name", has_text="Ana Contact").wait_for()
        sam.locator(".inbox-typing").wait_for(state="hidden")

        for page in (sam, kim):
            assert page.dialogs == []
            assert page.errors == []
    assert widget.errors == []
