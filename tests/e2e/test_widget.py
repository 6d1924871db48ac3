"""The visitor chat widget in headless Chromium against a real ASGI server (contract §7).

The staff side is played by an API app: REST calls to the server process and a business-stream
WebSocket, exactly what a staff page or an integration does.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect as ws_connect

from inbox import services
from inbox.models import Message
from tests.e2e.conftest import assert_policy_refuses_inline_script
from tests.servers import AsgiServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "docs" / "screenshots" / "widget.png"
TIMEOUT = 15
HOST = "document.querySelector('inbox-chat-widget').shadowRoot"


# The staff side ------------------------------------------------------------------------------


class BusinessStream:
    """A business-stream socket held by the test app."""

    def __init__(self, server: AsgiServer, key: str) -> None:
        self.exits = ExitStack()
        self.socket = self.exits.enter_context(
            ws_connect(
                f"{server.ws_url}/ws/inbox/business/",
                origin=server.url,
                additional_headers={"Authorization": key},
                open_timeout=TIMEOUT,
            )
        )
        self.events: list[dict[str, Any]] = []
        assert self.next_frame()["type"] == "hello"
        self.socket.send(json.dumps({"type": "resume"}))
        assert self.next_frame()["type"] == "ready"

    def next_frame(self) -> dict[str, Any]:
        frame = json.loads(self.socket.recv(timeout=TIMEOUT))
        if frame["type"] == "event":
            self.events.append(frame["event"])
        return frame

    def wait_for(self, predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        for event in self.events:
            if predicate(event):
                return event
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            frame = self.next_frame()
            if frame["type"] == "event" and predicate(frame["event"]):
                return frame["event"]
        raise AssertionError(f"no such event; got {[e['slug'] for e in self.events]}")

    def close(self) -> None:
        self.exits.close()


class Staff:
    """The business side: REST as an API app, plus its business stream."""

    def __init__(self, server: AsgiServer) -> None:
        _, self.key = services.app_create(name="e2e staff")
        self.http = httpx.Client(
            base_url=server.url + "/inbox/v2", headers={"Authorization": self.key}, timeout=TIMEOUT
        )
        self.stream = BusinessStream(server, self.key)

    def send(self, conversation_id: str, message: dict[str, Any]) -> dict[str, Any]:
        response = self.http.post(
            "/messages", json={"conversationId": conversation_id, "message": message}
        )
        assert response.status_code == 200, response.text
        return response.json()["message"]

    def reply(self, conversation_id: str, text: str, **extra: Any) -> dict[str, Any]:
        return self.send(
            conversation_id,
            {
                "direction": "BUSINESS_TO_PARTICIPANT",
                "content": {"basic": {"items": [{"text": text}]}},
                **extra,
            },
        )

    def close(self) -> None:
        self.stream.close()
        self.http.close()


@pytest.fixture
def staff(asgi_server: AsgiServer) -> Iterator[Staff]:
    staff = Staff(asgi_server)
    try:
        yield staff
    finally:
        staff.close()


# The visitor side ----------------------------------------------------------------------------


class Widget:
    """The widget on one page, seen through its (open) shadow root."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.frames: list[dict[str, Any]] = []
        self.errors: list[str] = []
        page.on("websocket", self._watch)
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    def _watch(self, socket: Any) -> None:
        def received(payload: Any) -> None:
            try:
                self.frames.append(json.loads(payload))
            except (TypeError, ValueError):
                pass

        socket.on("framereceived", received)

    @property
    def bubble(self) -> Any:
        return self.page.locator("inbox-chat-widget .bubble")

    @property
    def input(self) -> Any:
        return self.page.get_by_role("textbox", name="Message")

    def open(self) -> None:
        self.page.get_by_role("button", name="Open chat").click()
        self.page.get_by_role("dialog", name="Chat with us").wait_for()

    def say(self, text: str) -> None:
        self.input.fill(text)
        self.input.press("Enter")

    def thread(self) -> list[str]:
        """The text of every stored message shown, in display order."""
        return self.page.evaluate(
            f"""() => Array.from({HOST}.querySelectorAll('.list .msg[data-message-id]'))
                  .map(m => Array.from(m.querySelectorAll('.bubble-item'))
                  .map(b => b.textContent).join(' | '))"""
        )

    def wait_for_thread(self, expected: list[str]) -> None:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            if self.thread() == expected:
                return
            self.page.wait_for_timeout(100)
        assert self.thread() == expected

    def wait_live(self, count: int = 1) -> None:
        """Until the widget's socket(s) said ``ready`` ``count`` times in all."""
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            if sum(1 for frame in self.frames if frame.get("type") == "ready") >= count:
                return
            self.page.wait_for_timeout(100)
        raise AssertionError(f"the widget's socket never became ready: {self.frames}")

    def state(self) -> dict[str, Any]:
        raw = self.page.evaluate("() => localStorage.getItem('inbox.widget.v1')")
        return json.loads(raw) if raw else {}

    def conversation_id(self) -> str:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            conversation_id = self.state().get("conversationId")
            if conversation_id:
                return conversation_id
            self.page.wait_for_timeout(100)
        raise AssertionError("the widget never learned its conversation id")

    def shadow_text(self) -> str:
        return self.page.evaluate(f"() => {HOST}.textContent")


# Test instrumentation: remember every socket the page opens, so a test can cut them.
TRACK_SOCKETS = """(() => {
  const Native = window.WebSocket;
  const all = (window.__inboxSockets = []);
  window.WebSocket = class extends Native {
    constructor(...args) { super(...args); all.push(this); }
  };
})()"""


@pytest.fixture
def widget(context: Any) -> Iterator[Widget]:
    context.add_init_script(TRACK_SOCKETS)
    page = context.new_page()
    widget = Widget(page)
    page.goto("/")
    yield widget
    assert widget.errors == [], "uncaught errors in the page"


def started_thread(widget: Widget, text: str = "Hello from the widget") -> str:
    """Open the widget, say something, wait until it is live; returns the conversation id."""
    widget.open()
    widget.say(text)
    conversation_id = widget.conversation_id()
    widget.wait_live()
    return conversation_id


# Tests ---------------------------------------------------------------------------------------


def test_nothing_is_stored_before_the_widget_is_opened(widget, context):
    widget.bubble.wait_for()
    widget.page.wait_for_load_state("networkidle")
    assert widget.page.evaluate("() => localStorage.length + sessionStorage.length") == 0
    assert context.cookies() == []
    assert not [f for f in widget.frames]  # no socket either

    widget.open()
    deadline = time.monotonic() + TIMEOUT
    while not widget.state().get("token") and time.monotonic() < deadline:
        widget.page.wait_for_timeout(100)
    assert widget.state()["token"].startswith("vt.")
    assert context.cookies() == []  # a visitor is known by its token, not by a cookie


def test_a_visitor_message_reaches_the_business_stream(widget, staff):
    widget.open()
    # Opening moves the focus into the composer.
    assert widget.page.evaluate(f"() => {HOST}.activeElement.getAttribute('aria-label')") == (
        "Message"
    )
    with widget.page.expect_request(re.compile(r"/inbox/v2/messages$")) as sent:
        widget.say("Hello from the widget")
    assert sent.value.method == "POST"
    assert sent.value.headers.get("idempotency-key")

    event = staff.stream.wait_for(lambda e: e["slug"] == "message_sent_to_business")
    message = event["data"]["message"]
    assert message["content"]["basic"]["items"] == [{"text": "Hello from the widget"}]
    assert set(message["sender"]) == {"anonymousVisitorId"}
    assert message["sender"]["anonymousVisitorId"] == widget.state()["visitorId"]
    widget.wait_for_thread(["Hello from the widget"])
    assert widget.conversation_id() == event["data"]["conversationId"]


def test_replies_arrive_live_notes_never_and_a_reload_keeps_the_history(widget, staff):
    conversation_id = started_thread(widget)
    staff.reply(conversation_id, "internal: check the order first", visibility="BUSINESS")
    staff.reply(conversation_id, 'Hi! <img src=x onerror="window.pwned=1"> How can we help?')
    expected = [
        "Hello from the widget",
        'Hi! <img src=x onerror="window.pwned=1"> How can we help?',
    ]
    widget.wait_for_thread(expected)
    assert "internal: check the order first" not in widget.shadow_text()
    # Text stays text: no element was made from it.
    assert widget.page.evaluate(f"() => {HOST}.querySelectorAll('.list img').length") == 0
    assert widget.page.evaluate("() => window.pwned") is None

    widget.page.reload()
    # The widget was open, so it opens again by itself, with its history.
    widget.page.get_by_role("dialog", name="Chat with us").wait_for()
    widget.wait_for_thread(expected)
    assert "internal: check the order first" not in widget.shadow_text()
    staff.reply(conversation_id, "Still there after the reload?")
    widget.wait_for_thread([*expected, "Still there after the reload?"])


def test_a_dropped_socket_recovers_missed_replies_once_in_order(widget, staff, context):
    conversation_id = started_thread(widget, "Anyone there?")
    context.set_offline(True)
    # Offline emulation refuses new connections; the open socket is cut as a network drop would.
    closed = widget.page.evaluate(
        "() => window.__inboxSockets.filter(s => s.readyState < 2).map(s => s.close()).length"
    )
    assert closed == 1
    staff.reply(conversation_id, "First reply while you were away")
    staff.reply(conversation_id, "Second reply while you were away")
    widget.page.wait_for_timeout(1000)
    assert widget.thread() == ["Anyone there?"]  # really disconnected

    context.set_offline(False)  # fires "online": the widget reconnects and resumes
    widget.wait_for_thread(
        [
            "Anyone there?",
            "First reply while you were away",
            "Second reply while you were away",
        ]
    )
    widget.page.wait_for_timeout(1500)
    assert len(widget.thread()) == 3  # and nothing twice, even after the replay settles
    assert widget.page.evaluate(f"() => {HOST}.querySelectorAll('.pending').length") == 0


def test_template_buttons_launch_or_post_back(widget, staff):
    conversation_id = started_thread(widget, "Where is my order?")
    staff.reply(conversation_id, "Let me check that for you.")
    staff.send(
        conversation_id,
        {
            "direction": "BUSINESS_TO_PARTICIPANT",
            "content": {
                "template": {
                    "title": "Order #1042",
                    "textLines": ["2 items, ready for pick-up", "Shop open until 18:00"],
                    "buttons": [
                        {"label": "Track parcel", "launchUrl": "https://example.com/track/1042"},
                        {
                            "label": "I'll pick it up",
                            "postbackProperties": {"interactionId": "pickup-1042"},
                        },
                    ],
                }
            },
        },
    )
    widget.page.get_by_role("button", name="I'll pick it up").wait_for()
    link = widget.page.get_by_role("link", name="Track parcel")
    assert link.get_attribute("href") == "https://example.com/track/1042"
    assert link.get_attribute("target") == "_blank"
    assert link.get_attribute("rel") == "noopener noreferrer"

    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    widget.page.screenshot(path=str(SCREENSHOT))

    widget.page.get_by_role("button", name="I'll pick it up").click()
    event = staff.stream.wait_for(lambda e: e["slug"] == "button_interacted")
    assert event["data"]["interactionId"] == "pickup-1042"
    assert event["data"]["conversationId"] == conversation_id
    assert event["data"]["interactedBy"] == {"anonymousVisitorId": widget.state()["visitorId"]}
    assert event["data"]["appId"]


def test_a_visitor_who_logs_in_keeps_the_thread(widget, staff, django_user_model):
    django_user_model.objects.create_user(username="alice", password="alice-pw-123")
    old_id = started_thread(widget, "Question before login")
    staff.reply(old_id, "Answer before login")
    widget.wait_for_thread(["Question before login", "Answer before login"])

    page = widget.page
    page.goto("/accounts/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "alice-pw-123")
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(r"^http://127\.0\.0\.1:\d+/$"))  # back on the home page

    page.get_by_role("dialog", name="Chat with us").wait_for()
    widget.wait_for_thread(["Question before login", "Answer before login"])
    merged = staff.stream.wait_for(lambda e: e["slug"] == "conversations_merged")
    assert merged["data"]["oldConversationIds"] == [old_id]
    member_conversation = merged["data"]["targetConversationId"]
    deadline = time.monotonic() + TIMEOUT
    while widget.state().get("token") and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert "token" not in widget.state()  # the visitor token is claimed and forgotten

    widget.say("Now logged in")
    sent = staff.stream.wait_for(
        lambda e: (
            e["slug"] == "message_sent_to_business"
            and e["data"]["message"]["content"]["basic"]["items"][0]["text"] == "Now logged in"
        )
    )
    assert sent["data"]["conversationId"] == member_conversation
    assert set(sent["data"]["message"]["sender"]) == {"memberId"}
    # Replies to the old id reach the member, live.
    staff.reply(old_id, "Welcome back, Alice")
    widget.wait_for_thread(
        ["Question before login", "Answer before login", "Now logged in", "Welcome back, Alice"]
    )


def test_keyboard_focus_and_narrow_screens(widget):
    page = widget.page
    # The widget stays hidden until its stylesheet has loaded; only then can Tab reach it.
    widget.bubble.wait_for(state="visible")
    page.keyboard.press("Tab")
    for _ in range(10):
        if page.evaluate("() => document.activeElement.tagName") == "INBOX-CHAT-WIDGET":
            break
        page.keyboard.press("Tab")
    assert page.evaluate(f"() => {HOST}.activeElement.getAttribute('aria-label')") == "Open chat"
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Chat with us")
    dialog.wait_for()
    assert widget.bubble.get_attribute("aria-expanded") == "true"
    assert page.evaluate(f"() => {HOST}.activeElement.getAttribute('aria-label')") == "Message"
    assert page.get_by_role("log", name="Messages").get_attribute("aria-live") == "polite"

    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    assert page.evaluate(f"() => {HOST}.activeElement.getAttribute('aria-label')") == "Open chat"

    page.set_viewport_size({"width": 375, "height": 700})
    page.emulate_media(reduced_motion="reduce")  # measure the panel, not its opening animation
    widget.open()
    box = dialog.bounding_box()
    assert box is not None
    assert (box["x"], box["y"], box["width"], box["height"]) == (0, 0, 375, 700)
    page.get_by_role("button", name="Close chat").click()
    dialog.wait_for(state="hidden")


def test_the_host_page_and_the_widget_keep_their_styles_apart(widget):
    page = widget.page
    # A constructed style sheet: the page's CSP refuses an inline <style>, which is the point.
    page.evaluate(
        """() => {
        const sheet = new CSSStyleSheet();
        sheet.replaceSync("button, div, p { color: rgb(255, 0, 0) !important;"
          + " font-size: 40px !important; } inbox-chat-widget { --inbox-accent: rgb(1, 2, 3); }");
        document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
      }"""
    )
    widget.open()
    send = f"getComputedStyle({HOST}.querySelector('.send'))"
    assert page.evaluate(f"() => {send}.color") != "rgb(255, 0, 0)"
    assert page.evaluate(f"() => {send}.fontSize") != "40px"
    # The one door left open on purpose: the page themes the widget through its custom properties.
    assert page.evaluate(f"() => {send}.backgroundColor") == "rgb(1, 2, 3)"
    # And the widget's rules (.panel, .bubble...) do not reach the page's own elements.
    page.evaluate(
        "() => { const d = document.createElement('div'); d.className = 'panel bubble';"
        " d.id = 'probe'; document.body.appendChild(d); }"
    )
    assert page.evaluate("() => getComputedStyle(document.getElementById('probe')).position") == (
        "static"
    )


def test_a_long_history_pages_back_in_order(widget, staff):
    conversation_id = started_thread(widget, "Tell me everything")
    replies = [f"Line {index:02d}" for index in range(60)]
    for text in replies:
        staff.reply(conversation_id, text)
    widget.page.reload()
    widget.page.get_by_role("dialog", name="Chat with us").wait_for()
    # History comes newest page first (50 messages); the socket's resume may replay more of the
    # recent ones, the button fetches the rest. Either way: all of them, in order, once.
    widget.page.get_by_role("button", name="Show earlier messages").click()
    widget.wait_for_thread(["Tell me everything", *replies])
    widget.page.get_by_role("button", name="Show earlier messages").wait_for(state="hidden")


def test_a_lost_response_is_retried_with_the_same_key_and_stored_once(widget, staff):
    started_thread(widget, "First")
    keys: list[str] = []

    def lose_first_response(route: Any, request: Any) -> None:
        if request.method != "POST":
            route.continue_()
            return
        keys.append(request.headers["idempotency-key"])
        if len(keys) == 1:
            route.fetch()  # the server stores the message...
            route.abort("connectionreset")  # ...and the answer never arrives
        else:
            route.continue_()

    widget.page.route(re.compile(r".*/inbox/v2/messages$"), lose_first_response)
    widget.say("Only once, please")
    # The stored message may arrive over the socket first; the optimistic copy waits for the
    # retry's answer (the original message) and then goes.
    widget.page.locator("inbox-chat-widget .pending").wait_for(state="detached")
    assert len(keys) >= 2 and len(set(keys)) == 1
    assert Message.objects.filter(preview_text="Only once, please").count() == 1
    widget.wait_for_thread(["First", "Only once, please"])


def test_every_content_type_a_participant_sees_is_rendered_as_text(widget, staff, asgi_server):
    conversation_id = started_thread(widget, "Show me")
    image = f"{asgi_server.url}/static/admin/img/icon-yes.svg"
    staff.send(
        conversation_id,
        {
            "direction": "BUSINESS_TO_PARTICIPANT",
            "content": {
                "basic": {
                    "items": [
                        {"text": "Here you go"},
                        {"image": {"url": image, "filename": "tick.svg"}},
                        {"file": {"url": f"{asgi_server.url}/static/x.pdf", "filename": "x.pdf"}},
                    ]
                }
            },
        },
    )
    staff.send(
        conversation_id,
        {
            "direction": "BUSINESS_TO_PARTICIPANT",
            "content": {"minimal": {"text": "Booked a spa visit", "url": "https://example.com/b"}},
        },
    )
    staff.send(
        conversation_id,
        {
            "direction": "PARTICIPANT_TO_BUSINESS",
            "content": {
                "form": {
                    "title": "Contact form",
                    "fields": [{"name": "Email", "value": "<b>a@example.com</b>"}],
                }
            },
        },
    )
    widget.wait_for_thread(
        [
            "Show me",
            "Here you go |  | \U0001f4ce x.pdf",
            "Booked a spa visit",
            "Contact formEmail<b>a@example.com</b>",
        ]
    )
    shadow = HOST
    # Each basic item is its own bubble; the image is an <img>, the file a safe new-tab link.
    assert widget.page.evaluate(f"() => {shadow}.querySelector('.media img').alt") == "tick.svg"
    assert widget.page.evaluate(f"() => {shadow}.querySelector('.media img').src") == image
    assert widget.page.evaluate(f"() => {shadow}.querySelector('a.file').rel") == (
        "noopener noreferrer"
    )
    assert widget.page.evaluate(f"() => {shadow}.querySelector('.minimal a').href") == (
        "https://example.com/b"
    )
    assert widget.page.evaluate(f"() => {shadow}.querySelectorAll('.form b').length") == 0


# The documented one-tag embed, as a page that does not use the template tag would have it.
PLAIN_SNIPPET = """() => {
  const script = document.createElement("script");
  script.src = "/static/inbox/widget/widget.js";
  script.dataset.api = "/inbox/v2";
  script.dataset.ws = "/ws/inbox/participant/";
  document.body.appendChild(script);
}"""


def test_the_plain_script_snippet_works_on_any_page(context, staff):
    page = context.new_page()
    widget = Widget(page)
    page.goto("/accounts/login/")  # the admin's login page: its own CSS, no widget tag
    page.evaluate(PLAIN_SNIPPET)
    conversation_id = started_thread(widget, "Hi from a plain page")
    event = staff.stream.wait_for(lambda e: e["slug"] == "message_sent_to_business")
    assert event["data"]["conversationId"] == conversation_id
    staff.reply(conversation_id, "Hello, plain page")
    widget.wait_for_thread(["Hi from a plain page", "Hello, plain page"])
    assert widget.errors == []


def test_the_widget_works_under_the_demo_pages_content_security_policy(
    widget, staff, context, csp_violations
):
    policy = context.request.get("/").headers["content-security-policy"]
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    # Styles, modules, the REST calls and the socket all pass the policy: the thread goes live
    # and a reply arrives.
    conversation_id = started_thread(widget)
    staff.reply(conversation_id, "answered under a CSP")
    widget.wait_for_thread(["Hello from the widget", "answered under a CSP"])
    assert csp_violations == []
    assert_policy_refuses_inline_script(widget.page, csp_violations)


def png_file(path: Path, width: int, height: int) -> Path:
    from PIL import Image

    Image.new("RGB", (width, height), (30, 120, 200)).save(path, format="PNG")
    return path


def test_a_visitor_sends_an_image_which_the_business_gets_live(
    widget, staff, asgi_server, tmp_path
):
    widget.open()
    picker = widget.page.locator("inbox-chat-widget input[type=file]")
    with widget.page.expect_request(re.compile(r"/inbox/v2/messages$")) as sent:
        picker.set_input_files(str(png_file(tmp_path / "screenshot.png", 40, 20)))
    # The message went only after the upload had finished, naming the stored attachment.
    items = sent.value.post_data_json["message"]["content"]["basic"]["items"]
    assert list(items[0]) == ["image"] and list(items[0]["image"]) == ["id"]

    event = staff.stream.wait_for(lambda e: e["slug"] == "message_sent_to_business")
    image = event["data"]["message"]["content"]["basic"]["items"][0]["image"]
    assert (image["filename"], image["width"], image["height"]) == ("screenshot.png", 40, 20)
    served = httpx.get(asgi_server.url + image["url"], timeout=TIMEOUT)
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/png"
    assert served.headers["x-content-type-options"] == "nosniff"

    # The visitor's thread shows the preview, loaded through its signed link.
    preview = widget.page.locator("inbox-chat-widget .list .msg[data-message-id] img")
    preview.wait_for()
    assert preview.get_attribute("alt") == "screenshot.png"
    widget.page.wait_for_function(
        f"() => {HOST}.querySelector('.list img').naturalWidth === 40", timeout=TIMEOUT * 1000
    )


PASTE = (
    "([name, type, text]) => {"
    " const data = new DataTransfer();"
    " data.items.add(new File([text], name, { type }));"
    f" const input = {HOST}.querySelector('textarea');"
    " input.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true }));"
    " }"
)


def test_a_refused_upload_is_shown_and_sends_nothing(widget, staff):
    widget.open()
    widget.page.evaluate(PASTE, ["innocent.png", "image/png", "<html><script>alert(1)</script>"])
    note = widget.page.locator("inbox-chat-widget .pending-list .note")
    note.wait_for()
    widget.page.wait_for_function(
        f"() => /refused as invalid/.test({HOST}.querySelector('.pending-list .note').textContent)",
        timeout=TIMEOUT * 1000,
    )
    assert Message.objects.count() == 0
    note.get_by_role("button", name="Dismiss").click()
    assert widget.page.locator("inbox-chat-widget .pending-list .msg").count() == 0


def test_the_widget_on_an_arabic_page_speaks_arabic_right_to_left(browser, asgi_server, staff):
    """The demo's home page in Arabic (LocaleMiddleware, ``<html lang="ar" dir="rtl">``): the
    widget, told nothing but what the page says, fetches its Arabic catalog and lays out RTL."""
    context = browser.new_context(
        base_url=asgi_server.url, locale="ar", viewport={"width": 1100, "height": 760}
    )
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        widget = Widget(page)
        page.goto("/")
        assert page.evaluate("() => [document.documentElement.lang, document.dir]") == [
            "ar",
            "rtl",
        ]
        check_arabic_widget(page, widget, staff)
    finally:
        context.close()


def check_arabic_widget(page: Any, widget: Widget, staff: Staff) -> None:
    bubble = page.get_by_role("button", name="فتح الدردشة")
    bubble.wait_for()
    host = "document.querySelector('inbox-chat-widget')"
    assert page.evaluate(f"() => [{host}.lang, {host}.dir]") == ["ar", "rtl"]
    # Right to left, the bubble sits in the bottom-left corner (inset-inline-end).
    width = page.viewport_size["width"]
    box = bubble.bounding_box()
    assert box["x"] + box["width"] < width / 2

    bubble.click()
    dialog = page.get_by_role("dialog", name="تحدّث معنا")
    dialog.wait_for()
    panel = dialog.bounding_box()
    assert panel["x"] + panel["width"] < width / 2
    assert page.evaluate(f"() => getComputedStyle({HOST}.querySelector('.panel')).direction") == (
        "rtl"
    )
    textbox = page.get_by_role("textbox", name="الرسالة")
    assert textbox.get_attribute("placeholder") == "اكتب رسالة…"
    assert page.get_by_role("button", name="إرسال الرسالة").inner_text() == "إرسال"
    assert "أرسل إلينا رسالة، وعادةً ما نرد في غضون دقائق قليلة." in widget.shadow_text()

    # Its REST calls ask for the widget's language, so error messages come back in Arabic.
    with page.expect_request(re.compile(r"/inbox/v2/messages$")) as sent:
        textbox.fill("مرحبا")
        textbox.press("Enter")
    assert sent.value.headers.get("accept-language") == "ar"
    conversation_id = widget.conversation_id()
    widget.wait_live()
    staff.reply(conversation_id, "Hello! How can we help?")
    widget.wait_for_thread(["مرحبا", "Hello! How can we help?"])
    # The visitor's own messages on the inline end (the left), replies on the start (the right).
    mine = page.locator("inbox-chat-widget .msg.mine .bubble-item").bounding_box()
    theirs = page.locator("inbox-chat-widget .msg.theirs .bubble-item").bounding_box()
    assert mine["x"] + mine["width"] <= theirs["x"] + 1
    # A Latin reply inside the Arabic widget keeps its own direction.
    assert page.evaluate(
        f"() => getComputedStyle({HOST}.querySelector('.msg.theirs .bubble-item')).unicodeBidi"
    ) == ("plaintext")
    assert widget.errors == []
