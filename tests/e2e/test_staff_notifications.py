"""Desktop notifications on the staff page, in headless Chromium with the permission granted.

Headless Chromium has no window to hide, so an init script makes ``document.visibilityState``
report what the test says (and fires ``visibilitychange``), and records each ``Notification``
the page creates while still creating the real one.
"""

from __future__ import annotations

from typing import Any

from tests.e2e.test_staff_inbox import PAGE, load_demo, open_page, visitor, visitor_says

CONTROLLED_TAB = """
(() => {
  let hidden = false;
  Object.defineProperty(Document.prototype, "visibilityState", {
    configurable: true, get: () => (hidden ? "hidden" : "visible"),
  });
  Object.defineProperty(Document.prototype, "hidden", { configurable: true, get: () => hidden });
  window.__setHidden = (value) => {
    hidden = value;
    document.dispatchEvent(new Event("visibilitychange"));
  };
  const Real = window.Notification;
  window.__notifications = [];
  window.Notification = class extends Real {
    constructor(title, options) {
      super(title, options);
      window.__notifications.push({ title, body: options.body, tag: options.tag, instance: this });
    }
  };
})();
"""


def notifications(page: Any) -> list[dict[str, str]]:
    return list(
        page.evaluate(
            "() => window.__notifications.map(({title, body, tag}) => ({title, body, tag}))"
        )
    )


def wait_for_preview(page: Any, text: str) -> None:
    """Wait until the message has reached the page (its row's preview shows it)."""
    page.wait_for_function(
        "(text) => [...document.querySelectorAll('.inbox-conversation-preview')]"
        ".some((node) => node.textContent === text)",
        arg=text,
    )


def test_a_hidden_tab_gets_a_desktop_notification_that_opens_the_thread(browser, asgi_server):
    load_demo(asgi_server)
    context = browser.new_context(
        base_url=asgi_server.url,
        viewport={"width": 1100, "height": 760},
        permissions=["notifications"],
    )
    context.set_default_timeout(15_000)
    context.add_init_script(CONTROLLED_TAB)
    try:
        page = open_page(context)
        button = page.locator(".inbox-notify-desktop")
        assert button.inner_text() == "Turn on desktop notifications"
        # Nothing before the user opts in, even with the permission granted.
        page.evaluate("() => window.__setHidden(true)")
        _visitor_id, client = visitor(asgi_server.url)
        visitor_says(client, "before opting in")
        wait_for_preview(page, "before opting in")
        assert notifications(page) == []
        button.click()
        page.wait_for_function(
            "() => document.querySelector('.inbox-notify-desktop').textContent"
            " === 'Desktop notifications: on'"
        )
        assert button.get_attribute("aria-pressed") == "true"

        # Visible tab: no notification; hidden tab: one, naming the message.
        page.evaluate("() => window.__setHidden(false)")
        visitor_says(client, "while looking")
        wait_for_preview(page, "while looking")
        page.evaluate("() => window.__setHidden(true)")
        visitor_says(client, "while away")
        page.wait_for_function("() => window.__notifications.length > 0")
        [shown] = notifications(page)
        assert shown["body"] == "while away"
        assert shown["title"].startswith("New message from ")
        conversation = shown["tag"]  # the thread's id: the link below opens it
        # The unread count is in the tab's title.
        assert page.title().startswith("(")

        # Clicking it opens the thread.
        page.evaluate("() => window.__notifications[0].instance.dispatchEvent(new Event('click'))")
        page.wait_for_function(
            "() => [...document.querySelectorAll('.inbox-message .inbox-bubble')]"
            ".some((node) => node.textContent.includes('while away'))"
        )
        assert page.errors == []  # type: ignore[attr-defined]

        # The choice lasts across reloads, and the e-mail link opens a thread directly.
        page.goto(f"{PAGE}?conversation={conversation}")
        page.wait_for_function(
            "() => [...document.querySelectorAll('.inbox-message .inbox-bubble')]"
            ".some((node) => node.textContent.includes('before opting in'))"
        )
        assert page.locator(".inbox-notify-desktop").inner_text() == "Desktop notifications: on"
    finally:
        context.close()


def test_the_email_toggle_is_the_users_setting(context, asgi_server):
    load_demo(asgi_server)
    page = open_page(context)
    box = page.locator(".inbox-notify-email")
    page.wait_for_function("() => !document.querySelector('.inbox-notify-email').disabled")
    assert not box.is_checked()
    with page.expect_response("**/notifications/settings") as answer:
        box.check()
    assert answer.value.json() == {"settings": {"emailUnread": True}}
    page.reload()
    page.wait_for_function("() => !document.querySelector('.inbox-notify-email').disabled")
    assert box.is_checked()
