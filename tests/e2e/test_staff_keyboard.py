"""Keyboard shortcuts and saved replies on the staff page (issue 16), live across two staff pages
and a visitor: Sam moves with j/k, assigns with a and closes with e, and Kim sees each at once;
the visitor's next message reopens it on both pages; keys typed into the composer stay text; ?
lists the shortcuts; / inserts a saved reply with the participant's name filled (or the
fallback for a visitor without one), and Kim's personal reply is never offered to Sam."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model

from inbox.replies.services import saved_reply_create
from tests.e2e.test_staff_inbox import API, load_demo, open_page, row, visitor, visitor_says
from tests.e2e.test_staff_status import COLLEAGUE, colleague, colleague_page, row_status

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

QUESTION = "Is anyone there?"


def saved_replies() -> None:
    users = get_user_model().objects
    sam, kim = users.get(username="staff"), users.get(username=COLLEAGUE[0])
    saved_reply_create(
        user=sam, title="Greeting", text="Hi {first_name|there}, how can we help?", shared=True
    )
    saved_reply_create(user=sam, title="Sign-off", text="Best, {name}")
    saved_reply_create(user=kim, title="Kim's private note", text="KIM-ONLY text")


def current_name(page: Any) -> str:
    return str(page.locator(".inbox-thread-name").inner_text())


def press(page: Any, key: str) -> None:
    """A key pressed on the page itself (no field has the focus)."""
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    page.keyboard.press(key)


def options(page: Any) -> list[str]:
    return [
        text.split("\n")[0]
        for text in page.locator(".inbox-replies [role=option]").all_inner_texts()
    ]


def test_shortcuts_and_saved_replies_live_across_two_staff_pages(context, browser, asgi_server):
    load_demo(asgi_server)
    colleague()
    saved_replies()
    _, visitor_client = visitor(asgi_server.url)
    visitor_says(visitor_client, QUESTION)
    sam = open_page(context)
    with colleague_page(browser, asgi_server) as kim:
        row_status(kim, QUESTION, "OPEN")

        # ? lists the shortcuts in a modal dialog; Escape closes it.
        press(sam, "Shift+?")
        dialog = sam.get_by_role("dialog", name="Keyboard shortcuts")
        dialog.wait_for()
        assert "Next conversation" in dialog.inner_text()
        assert dialog.locator("kbd").all_inner_texts() == ["j", "k", "e", "a", "/", "?"]
        # No shortcut fires behind the dialog.
        sam.keyboard.press("j")
        assert current_name(sam) == "Select a conversation"
        sam.keyboard.press("Escape")
        dialog.wait_for(state="hidden")

        # j opens the first conversation (the visitor's, the newest), j the next, k back.
        names = sam.locator(".inbox-conversation-name").all_inner_texts()
        assert len(names) >= 2
        press(sam, "j")
        sam.wait_for_selector(".inbox-message >> text=" + QUESTION)
        first = current_name(sam)
        conversation_id = sam.locator(".inbox-conversation[aria-current=true]").get_attribute(
            "data-conversation-id"
        )
        kim_row = kim.locator(f'.inbox-conversation[data-conversation-id="{conversation_id}"]')
        press(sam, "j")
        sam.wait_for_function(
            "(name) => document.querySelector('.inbox-thread-name').textContent !== name", arg=first
        )
        assert current_name(sam) == names[1]
        assert (
            sam.locator(
                ".inbox-conversation[aria-current=true] .inbox-conversation-name"
            ).inner_text()
            == names[1]
        )
        press(sam, "k")
        sam.wait_for_selector(".inbox-message >> text=" + QUESTION)
        # Modifiers are the browser's: Ctrl+J or Shift+J move nowhere.
        press(sam, "Control+j")
        press(sam, "Shift+J")
        assert current_name(sam) == first

        # a assigns it to Sam, e closes it: Kim sees both at once.
        press(sam, "a")
        sam.locator(
            ".inbox-message.internal", has_text="Assigned to Sam Staff by Sam Staff"
        ).wait_for()
        kim_row.locator(".inbox-conversation-assignee", has_text="→ Sam Staff").wait_for()
        press(sam, "e")
        sam.wait_for_selector(".inbox-thread-status[data-status=CLOSED]")
        row_status(kim, QUESTION, "CLOSED")

        # The visitor writes again: reopened on both pages.
        visitor_says(visitor_client, "Hello?")
        sam.wait_for_selector(".inbox-thread-status[data-status=OPEN]")
        row_status(kim, "Hello?", "OPEN")

        # In the composer, keys are text: "e" and "a" close and assign nothing.
        composer = sam.locator(".inbox-composer textarea")
        composer.click()
        sam.keyboard.type("ea j")
        assert composer.input_value() == "ea j"
        assert sam.locator(".inbox-thread-status").get_attribute("data-status") == "OPEN"
        assert sam.locator(".inbox-replies").is_hidden()  # "/" only at the start
        composer.fill("")

        # / from the page: the composer gets "/" and the list of saved replies (not Kim's).
        press(sam, "/")
        listbox = sam.get_by_role("listbox", name="Saved replies")
        listbox.wait_for()
        sam.wait_for_function(
            "() => document.querySelectorAll('.inbox-replies [role=option]').length === 2"
        )
        assert options(sam) == ["Greeting", "Sign-off"]
        assert composer.input_value() == "/"
        assert sam.evaluate("() => document.activeElement.tagName") == "TEXTAREA"
        first_option = listbox.get_by_role("option").first
        assert first_option.get_attribute("aria-selected") == "true"
        assert composer.get_attribute("aria-activedescendant") == first_option.get_attribute("id")
        assert composer.get_attribute("aria-controls") == listbox.get_attribute("id")
        assert "KIM-ONLY" not in sam.content()

        # Filtered as Sam types; arrows move; Escape closes and leaves the text.
        sam.keyboard.type("sig")
        sam.wait_for_function(
            "() => document.querySelectorAll('.inbox-replies [role=option]').length === 1"
        )
        assert options(sam) == ["Sign-off"]
        composer.fill("")
        sam.keyboard.type("/")
        sam.wait_for_function(
            "() => document.querySelectorAll('.inbox-replies [role=option]').length === 2"
        )
        sam.keyboard.press("ArrowDown")
        second = listbox.get_by_role("option").nth(1)
        assert second.get_attribute("aria-selected") == "true"
        assert composer.get_attribute("aria-activedescendant") == second.get_attribute("id")
        sam.keyboard.press("Escape")
        listbox.wait_for(state="hidden")
        assert composer.input_value() == "/"
        assert composer.get_attribute("aria-activedescendant") is None

        # Enter inserts: the visitor has no name, so the fallback; Enter again sends it.
        composer.fill("")
        sam.keyboard.type("/gre")
        sam.wait_for_function(
            "() => document.querySelectorAll('.inbox-replies [role=option]').length === 1"
        )
        sam.keyboard.press("Enter")
        assert composer.input_value() == "Hi there, how can we help?"
        listbox.wait_for(state="hidden")
        sam.keyboard.press("Enter")
        sam.locator(".inbox-message", has_text="Hi there, how can we help?").wait_for()
        kim_row.locator(
            ".inbox-conversation-preview", has_text="Hi there, how can we help?"
        ).wait_for()

        # With a participant's name: first name in the greeting, the full name in the sign-off.
        row(sam, "Ana Contact").click()
        sam.wait_for_selector(".inbox-thread-name >> text=Ana Contact")
        composer.click()
        sam.keyboard.type("/gre")
        sam.wait_for_function(
            "() => document.querySelectorAll('.inbox-replies [role=option]').length === 1"
        )
        sam.keyboard.press("Enter")
        assert composer.input_value() == "Hi Ana, how can we help?"
        # A click inserts too, and what follows the "/query" stays.
        composer.fill(" (order 12)")
        composer.press("Home")
        sam.keyboard.type("/sign")
        sam.locator(".inbox-replies [role=option]", has_text="Sign-off").click()
        assert composer.input_value() == "Best, Ana Contact (order 12)"

        listed = visitor_client.get(
            f"{API}/messages",
            params={
                "conversationId": conversation_id,
                "visibility": "BUSINESS_AND_PARTICIPANT",
            },
        ).json()["messages"]
        assert listed[0]["content"]["basic"]["items"][0]["text"] == "Hi there, how can we help?"
        for page in (sam, kim):
            assert page.dialogs == []
            assert page.errors == []
