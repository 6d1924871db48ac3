"""Files between the two surfaces, both open at once in real Chromium (issue 15): a visitor
drops an image into the widget and the staff page shows it live, by its thumbnail, in the
thread and the conversation list; staff paste a PDF into the composer and the widget shows
the file chip live. Both surfaces' paperclips are buttons with a name, reachable by keyboard.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import httpx
from PIL import Image

from tests.e2e.test_staff_inbox import load_demo, open_page
from tests.e2e.test_widget import HOST, TIMEOUT, Widget, started_thread

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"

# Put a file (bytes as base64) on a DataTransfer and fire ``kind`` ("drop" or "paste") at the
# element ``target`` evaluates to: what a drag from the desktop or a pasted screenshot does.
FIRE = (
    "([target, kind, name, type, data]) => {"
    " const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));"
    " const transfer = new DataTransfer();"
    " transfer.items.add(new File([bytes], name, { type }));"
    " const node = eval(target);"
    " const event = kind === 'paste'"
    "   ? new ClipboardEvent('paste', { clipboardData: transfer, bubbles: true, cancelable: true })"
    "   : new DragEvent(kind, { dataTransfer: transfer, bubbles: true, cancelable: true });"
    " node.dispatchEvent(event);"
    " }"
)


def png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (30, 120, 200)).save(out, format="PNG")
    return out.getvalue()


def fire(page: Any, target: str, kind: str, name: str, mime: str, data: bytes) -> None:
    page.evaluate(FIRE, [target, kind, name, mime, base64.b64encode(data).decode()])


def test_an_image_from_the_widget_and_a_pdf_from_the_staff_page_arrive_live(
    browser: Any, context: Any, asgi_server: Any
) -> None:
    load_demo(asgi_server)
    staff = open_page(context)
    visitor_context = browser.new_context(
        base_url=asgi_server.url, viewport={"width": 1100, "height": 760}
    )
    visitor_context.set_default_timeout(15_000)
    try:
        widget = Widget(visitor_context.new_page())
        widget.page.goto("/")
        conversation_id = started_thread(widget, "A screenshot follows")
        conversation = staff.locator(
            f'.inbox-conversation[data-conversation-id="{conversation_id}"]'
        )
        conversation.click()
        staff.locator(".inbox-message", has_text="A screenshot follows").wait_for()

        # The visitor drags a large screenshot onto the widget: the staff page shows it live,
        # by its thumbnail, and the link opens the original.
        fire(
            widget.page,
            f"{HOST}.querySelector('.panel')",
            "drop",
            "screen.png",
            "image/png",
            png(1280, 640),
        )
        preview = staff.locator(".inbox-message .inbox-image img")
        preview.wait_for()
        assert preview.get_attribute("alt") == "screen.png"
        assert "/thumbnail?" in (preview.get_attribute("src") or "")
        staff.wait_for_function(
            "() => document.querySelector('.inbox-message .inbox-image img').naturalWidth === 320",
            timeout=TIMEOUT * 1000,
        )
        link = staff.locator(".inbox-message .inbox-image a")
        assert link.get_attribute("aria-label") == "screen.png (open full size)"
        original = httpx.get(link.evaluate("a => a.href"), timeout=TIMEOUT)
        assert Image.open(io.BytesIO(original.content)).size == (1280, 640)
        # The conversation list previews it by the same thumbnail.
        listed = conversation.locator(".inbox-conversation-thumbnail")
        listed.wait_for()
        assert "/thumbnail?" in (listed.get_attribute("src") or "")
        assert (
            conversation.locator(".inbox-conversation-preview").inner_text().strip() == "screen.png"
        )

        # Staff paste a PDF into the reply box: the widget shows its chip live, name and size.
        fire(
            staff,
            "document.querySelector('.inbox-composer textarea')",
            "paste",
            "invoice.pdf",
            "application/pdf",
            PDF,
        )
        widget.wait_for_thread(
            ["A screenshot follows", "", f"\U0001f4ce invoice.pdf ({len(PDF)} B)"]
        )
        chip = widget.page.locator("inbox-chat-widget .list .msg[data-message-id] a.file")
        served = httpx.get(chip.evaluate("a => a.href"), timeout=TIMEOUT)
        assert served.status_code == 200 and served.content == PDF
        assert served.headers["content-disposition"] == 'attachment; filename="invoice.pdf"'
        # No upload row is left over once each sender has its answer.
        staff.locator(".inbox-uploads li").wait_for(state="detached")
        widget.page.locator("inbox-chat-widget .pending-list .msg").wait_for(state="detached")

        # Both paperclips are named buttons that the keyboard reaches.
        for page in (staff, widget.page):
            attach = page.get_by_role("button", name="Attach a file")
            attach.focus()
            assert (
                page.evaluate(
                    "() => { const a = document.activeElement;"
                    " return (a.shadowRoot ? a.shadowRoot.activeElement : a).textContent; }"
                )
                == "\U0001f4ce"
            )
        assert staff.errors == [] and widget.errors == []
    finally:
        visitor_context.close()


def test_staff_resending_after_lost_answers_reuses_the_key_and_stores_once(
    context: Any, asgi_server: Any
) -> None:
    """Every answer to the first three attempts is lost after the server stored the message
    (the composer's own retries give up); pressing Send again, and the Retry of a file's
    message, reuse the same Idempotency-Key, so each message is stored once."""
    import re
    import uuid

    from inbox import services
    from inbox.models import Message, Participant

    load_demo(asgi_server)
    conversation, _ = services.conversation_get_or_create(
        kind=Participant.Kind.CONTACT, external_id=uuid.uuid4(), display_name="Flaky Network"
    )
    staff = open_page(context)
    staff.locator(".inbox-conversation", has_text="Flaky Network").click()
    staff.wait_for_selector(".inbox-composer:not([hidden])")
    keys: list[str] = []

    def lose_three_answers(route: Any, request: Any) -> None:
        if request.method != "POST":
            route.continue_()
            return
        keys.append(request.headers["idempotency-key"])
        if len(keys) % 4:  # attempts 1-3 of each message: stored, answer lost
            route.fetch()
            route.abort("connectionreset")
        else:
            route.continue_()

    staff.route(re.compile(r".*/inbox/v2/messages$"), lose_three_answers)
    box = staff.locator(".inbox-composer textarea")
    box.fill("Only once, please")
    box.press("Enter")
    staff.locator(".inbox-composer-error").wait_for()
    assert len(keys) == 3
    box.press("Enter")  # the person tries again
    staff.locator(".inbox-message", has_text="Only once, please").wait_for()
    assert len(keys) == 4 and len(set(keys)) == 1
    assert Message.objects.filter(preview_text="Only once, please").count() == 1

    fire(
        staff,
        "document.querySelector('.inbox-composer textarea')",
        "paste",
        "a.pdf",
        "application/pdf",
        PDF,
    )
    retry = staff.locator(".inbox-uploads li").get_by_role("button", name="Retry")
    retry.wait_for()
    assert "a.pdf (48 B)" in staff.locator(".inbox-uploads li").inner_text()
    retry.click()
    staff.locator(".inbox-message .inbox-file a", has_text="a.pdf").wait_for()
    # The socket may show it before the retry's answer arrives; then the upload row goes.
    staff.locator(".inbox-uploads li").wait_for(state="detached")
    assert len(keys) == 8 and len(set(keys[4:])) == 1
    assert (
        Message.objects.filter(conversation=conversation, preview_text="File: a.pdf").count() == 1
    )
    assert staff.errors == []


def test_a_widget_upload_whose_answer_was_lost_is_retried_with_its_key_and_stored_once(
    context: Any, asgi_server: Any
) -> None:
    import re

    from inbox.attachments.models import Attachment
    from inbox.models import Message

    page = context.new_page()
    widget = Widget(page)
    page.goto("/")
    started_thread(widget, "Here comes a file")
    keys: list[str] = []

    def lose_first_answer(route: Any, request: Any) -> None:
        keys.append(request.headers.get("idempotency-key", ""))
        if len(keys) == 1:
            route.fetch()  # the server stores the file...
            route.abort("connectionreset")  # ...and the answer never arrives
        else:
            route.continue_()

    page.route(re.compile(r".*/inbox/v2/attachments$"), lose_first_answer)
    fire(page, f"{HOST}.querySelector('textarea')", "paste", "notes.pdf", "application/pdf", PDF)
    retry = page.locator("inbox-chat-widget .pending-list").get_by_role("button", name="Retry")
    retry.click()
    widget.wait_for_thread(["Here comes a file", f"\U0001f4ce notes.pdf ({len(PDF)} B)"])
    assert len(keys) == 2 and keys[0] and keys[0] == keys[1]
    assert Attachment.objects.count() == 1
    assert Message.objects.filter(preview_text="File: notes.pdf").count() == 1
