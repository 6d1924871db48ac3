"""The staff inbox page in headless Chromium against a real ASGI server (contract §6).

A staff user logs in through the admin login form, sees the demo conversations, receives a
visitor's message live, replies and writes an internal note; the visitor's API sees the reply
and not the note. Hostile text is shown as text. The socket is dropped and resumed without a gap
or a duplicate. The first test also takes the screenshot shown in the README: a snoozed
conversation assigned to the staff user, while its visitor types in the widget.
"""

from __future__ import annotations

import struct
import subprocess
import sys
import uuid
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from inbox import services
from inbox.content import normalize_content
from inbox.identity import Caller, CallerKind, visitor_token_issue
from inbox.models import Participant, ReadCursor
from tests.e2e.conftest import assert_policy_refuses_inline_script
from tests.e2e.test_widget import Widget

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "docs" / "screenshots" / "staff-inbox.png"
PAGE = "/admin/inbox/staffinbox/"
API = "/inbox/v2"
DEMO_NAMES = ["Visitor from Lisbon", "Ana Contact", "Member Demo"]
XSS_SCRIPT = "<script>window.__xss = 'script'</script>"
XSS_IMG = "<img src=x onerror=\"window.__xss = 'img'\">"


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A solid-colour PNG, standing in for the demo's remote images (no internet here)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    row = b"\x00" + bytes(rgb) * width
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def open_page(context: Any, *, username: str = "staff", password: str = "staff-demo-pw") -> Any:
    """Log in through the admin's login form and land on the inbox page, live."""
    page = context.new_page()
    page.dialogs = []  # type: ignore[attr-defined]
    page.errors = []  # type: ignore[attr-defined]
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.route(
        "https://picsum.photos/**",
        lambda route: route.fulfill(
            status=200, content_type="image/png", body=png(64, 40, (120, 160, 210))
        ),
    )
    page.goto(f"/admin/login/?next={PAGE}")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_url(f"**{PAGE}")
    page.wait_for_selector(".inbox-status[data-state=live]")
    return page


def row(page: Any, name: str) -> Any:
    return page.locator(
        ".inbox-conversation", has=page.locator(".inbox-conversation-name", has_text=name)
    )


def visitor(server_url: str) -> tuple[str, httpx.Client]:
    body = httpx.post(f"{server_url}{API}/visitors", timeout=10).json()
    client = httpx.Client(
        base_url=server_url, headers={"Authorization": f"Bearer {body['token']}"}, timeout=10
    )
    return body["anonymousVisitorId"], client


def visitor_says(client: httpx.Client, text: str) -> dict[str, Any]:
    response = client.post(
        f"{API}/messages",
        json={
            "message": {
                "direction": "PARTICIPANT_TO_BUSINESS",
                "content": {"basic": {"items": [{"text": text}]}},
            }
        },
    )
    assert response.status_code == 200, response.text
    return response.json()["message"]


def wait_for_names(page: Any, names: list[str]) -> None:
    """Wait until the list shows exactly these participants (filters apply asynchronously)."""
    page.wait_for_function(
        "(names) => JSON.stringify([...document.querySelectorAll('.inbox-conversation-name')]"
        ".map((node) => node.textContent)) === JSON.stringify(names)",
        arg=names,
    )


def message_texts(page: Any) -> list[str]:
    return page.locator(".inbox-message .inbox-bubble").all_inner_texts()


def load_demo(server: Any) -> None:
    """``manage.py inbox_demo`` against the server's database, as ``make run`` does."""
    subprocess.run(
        [sys.executable, "manage.py", "inbox_demo"],
        cwd=ROOT,
        env=server.env,
        check=True,
        capture_output=True,
        timeout=120,
    )


@contextmanager
def demo_visitor_typing(browser: Any, server: Any, name: str, text: str) -> Iterator[Widget]:
    """The demo's visitor ``name`` back on the home page, with the chat open on their
    conversation (their token in the widget's storage, as their own browser keeps it), typing
    ``text`` without sending it."""
    participant = Participant.objects.get(display_name=name)
    state = {
        "token": visitor_token_issue(participant.external_id),
        "visitorId": str(participant.external_id),
        "conversationId": str(participant.conversation.id),
        "open": True,
    }
    profile = browser.new_context(base_url=server.url, viewport={"width": 1100, "height": 760})
    profile.set_default_timeout(15_000)
    try:
        widget = Widget(profile.new_page())
        widget.page.goto("/")
        widget.page.evaluate(
            "(state) => localStorage.setItem('inbox.widget.v1', JSON.stringify(state))", state
        )
        widget.page.reload()
        widget.wait_live()
        widget.input.press_sequentially(text, delay=20)
        yield widget
        assert widget.errors == []
    finally:
        profile.close()


def test_staff_inbox_flow(context, browser, asgi_server):
    load_demo(asgi_server)
    page = open_page(context)

    # The demo conversations are listed, newest first, with unread badges and previews.
    for name in DEMO_NAMES:
        assert row(page, name).count() == 1
    lisbon = row(page, "Visitor from Lisbon")
    assert lisbon.locator(".inbox-unread").inner_text() == "1"
    assert "Summer sale" in lisbon.locator(".inbox-conversation-preview").inner_text()

    # A visitor writes through the REST API: a new conversation appears without a reload.
    visitor_id, visitor_client = visitor(asgi_server.url)
    visitor_says(visitor_client, "Hello, is anyone there?")
    new_row = page.locator(".inbox-conversation", has_text="Hello, is anyone there?")
    new_row.wait_for()
    assert new_row.locator(".inbox-unread").inner_text() == "1"
    assert page.locator(".inbox-conversation").first.inner_text() == new_row.inner_text()

    # Opening it shows the message and moves the read cursor (the badge goes).
    new_row.click()
    page.wait_for_selector(".inbox-message >> text=Hello, is anyone there?")
    new_row.locator(".inbox-unread").wait_for(state="detached")
    conversation_id = new_row.get_attribute("data-conversation-id")
    assert ReadCursor.objects.filter(conversation_id=conversation_id, sequence__gt=0).exists()

    # While the thread is open the visitor writes again: it appears, and stays read.
    visitor_says(visitor_client, "I have a question about shipping.")
    page.wait_for_selector(".inbox-message >> text=I have a question about shipping.")

    # A reply (Enter sends) and an internal note.
    page.fill(".inbox-composer textarea", "Hi! Happy to help.")
    page.press(".inbox-composer textarea", "Enter")
    page.wait_for_selector(".inbox-message.outgoing >> text=Hi! Happy to help.")
    page.check("input[name=mode][value=note]")
    page.fill(".inbox-composer textarea", "VIP customer,")
    page.press(".inbox-composer textarea", "Shift+Enter")
    page.type(".inbox-composer textarea", "check the order history")
    page.press(".inbox-composer textarea", "Enter")
    note = page.locator(".inbox-message.internal", has_text="VIP customer,")
    note.wait_for()
    assert note.locator(".inbox-internal-label").text_content() == "Internal note"
    assert "VIP customer,\ncheck the order history" in note.locator(".inbox-bubble").inner_text()
    assert page.locator(".inbox-composer textarea").input_value() == ""

    # "Internal notes only" hides everything else.
    page.check("input[name=notesOnly]")
    assert page.locator(".inbox-message:visible").count() == 1
    page.uncheck("input[name=notesOnly]")

    # The participant's API sees the reply and never the note.
    listed = visitor_client.get(
        f"{API}/messages",
        params={"conversationId": conversation_id, "visibility": "BUSINESS_AND_PARTICIPANT"},
    ).json()["messages"]
    texts = [m["content"]["basic"]["items"][0]["text"] for m in listed]
    assert "Hi! Happy to help." in texts
    assert not any("VIP customer" in text for text in texts)

    # The visitor reads the reply: the "seen" mark shows on it, live.
    reply_sequence = next(
        m["sequence"]
        for m in listed
        if m["content"]["basic"]["items"][0]["text"] == "Hi! Happy to help."
    )
    response = visitor_client.post(
        f"{API}/conversations/{conversation_id}/read", json={"sequence": reply_sequence}
    )
    assert response.status_code == 200, response.text
    page.locator(".inbox-message.outgoing", has_text="Hi! Happy to help.").locator(
        ".inbox-seen"
    ).wait_for()

    # The demo's template card and internal note; the screenshot for the README is taken here,
    # with two demo conversations still unread.
    row(page, "Visitor from Lisbon").click()
    card = page.locator(".inbox-card", has_text="Summer sale")
    card.wait_for()
    assert card.locator(".inbox-card-line").all_inner_texts() == [
        "20% off everything",
        "Until Sunday",
    ]
    assert card.locator("a", has_text="Shop now").get_attribute("href") == (
        "https://example.com/sale"
    )
    assert card.locator(".inbox-buttons span", has_text="Notify me").count() == 1
    assert (
        page.locator(".inbox-message.internal", has_text="Internal: check DHL rates.").count() == 1
    )
    page.check("input[name=mode][value=reply]")
    page.wait_for_function("() => [...document.images].every((img) => img.complete)")
    row(page, "Visitor from Lisbon").locator(".inbox-unread").wait_for(state="detached")

    # For the screenshot too: Sam snoozes it and takes it, and the visitor is typing as it is
    # taken, so the README shows status, assignee and a typing indicator together.
    page.select_option("select[name=snooze]", "hour")
    page.wait_for_selector(".inbox-thread-status[data-status=SNOOZED]")
    page.select_option("select.inbox-assignee", label="Sam Staff (me)")
    row(page, "Visitor from Lisbon").locator(
        ".inbox-conversation-assignee", has_text="→ you"
    ).wait_for()
    with demo_visitor_typing(browser, asgi_server, "Visitor from Lisbon", "Is DHL faster"):
        page.locator(".inbox-typing", has_text="Visitor from Lisbon is typing…").wait_for()
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT))

    # The other content types: form table, file link, image, activity line, system notice.
    row(page, "Ana Contact").click()
    page.wait_for_selector(".inbox-form table >> text=ana@example.com")
    assert page.locator(".inbox-file a", has_text="brochure.pdf").get_attribute("rel") == (
        "noopener noreferrer"
    )
    assert page.locator(".inbox-image img").count() == 1
    assert page.locator(".inbox-activity", has_text="Booked a spa appointment").count() == 1
    row(page, "Member Demo").click()
    system = page.locator(".inbox-system")
    system.wait_for()
    assert system.inner_text().splitlines()[:2] == ["Order #1042 shipped", "Tracking: 1Z999"]
    # Every thread opened was marked read, even one left at once.
    row(page, "Visitor from Lisbon").click()
    page.locator(".inbox-unread").first.wait_for(state="detached")

    assert page.dialogs == []
    assert page.errors == []


def test_hostile_text_is_shown_as_text(context, asgi_server):
    load_demo(asgi_server)
    conversation, _ = services.conversation_get_or_create(
        kind=Participant.Kind.CONTACT,
        external_id=uuid.uuid4(),
        display_name=f"{XSS_IMG} Mallory",
    )
    app, key = services.app_create(name="e2e")
    caller = Caller(kind=CallerKind.APP, id=app.id, app=app)
    services.message_send(
        caller=caller,
        conversation=conversation,
        draft=services.MessageDraft(
            direction="PARTICIPANT_TO_BUSINESS",
            visibility="BUSINESS",
            content=normalize_content(
                {
                    "form": {
                        "title": XSS_SCRIPT,
                        "fields": [{"name": XSS_IMG, "value": XSS_SCRIPT}],
                    }
                }
            ),
        ),
        send_as=services.SendAs.PARTICIPANT,
    )
    page = open_page(context)
    mallory = row(page, "Mallory")
    assert mallory.locator(".inbox-conversation-name").inner_text() == f"{XSS_IMG} Mallory"
    mallory.click()
    page.wait_for_selector(".inbox-form")
    assert page.locator(".inbox-form th").inner_text() == XSS_IMG
    assert page.locator(".inbox-form td").inner_text() == XSS_SCRIPT

    # The same payloads arriving live over the socket, in a text item and a template card.
    response = httpx.post(
        f"{asgi_server.url}{API}/messages",
        headers={"Authorization": key},
        json={
            "conversationId": str(conversation.pk),
            "message": {
                "direction": "BUSINESS_TO_PARTICIPANT",
                "content": {
                    "template": {
                        "title": XSS_IMG,
                        "textLines": [XSS_SCRIPT],
                        "buttons": [{"label": XSS_IMG, "launchUrl": "https://example.com/?q=<b>"}],
                    }
                },
            },
        },
        timeout=10,
    )
    assert response.status_code == 200, response.text
    httpx.post(
        f"{asgi_server.url}{API}/messages",
        headers={"Authorization": key},
        json={
            "conversationId": str(conversation.pk),
            "message": {
                "direction": "PARTICIPANT_TO_BUSINESS",
                "content": {"basic": {"items": [{"text": XSS_SCRIPT + XSS_IMG}]}},
            },
            "sendAs": "PARTICIPANT",
        },
        timeout=10,
    ).raise_for_status()
    page.locator(".inbox-message-list").get_by_text(XSS_SCRIPT + XSS_IMG, exact=True).wait_for()
    # The list's preview shows it as text too.
    assert row(page, "Mallory").locator(".inbox-conversation-preview").inner_text() == (
        XSS_SCRIPT + XSS_IMG
    )
    card = page.locator(".inbox-card")
    assert card.locator(".inbox-card-title").inner_text() == XSS_IMG
    assert card.locator(".inbox-card-line").inner_text() == XSS_SCRIPT
    assert card.locator(".inbox-buttons a").inner_text() == XSS_IMG

    # Nothing ran and nothing was injected: no dialog, no flag, no element from the payloads.
    assert page.evaluate("() => window.__xss") is None
    assert page.locator("#inbox-staff-page img[src='x']").count() == 0
    assert page.locator("#inbox-staff-page script").count() == 0
    assert page.dialogs == []
    assert page.errors == []


def test_socket_drop_resumes_without_gap_or_duplicate(context, asgi_server):
    """The socket is cut; while it is down the visitor writes and the staff user replies (the
    reply shows from the REST answer); on reconnect the page resumes and shows the visitor's
    message once, and the reply once."""
    visitor_id, visitor_client = visitor(asgi_server.url)
    visitor_says(visitor_client, "first")
    sockets: list[Any] = []
    allow = {"connect": True}

    def route(ws: Any) -> None:
        if not allow["connect"]:
            ws.close(code=4000)
            return
        ws.connect_to_server()
        sockets.append(ws)

    context.route_web_socket("**/ws/inbox/business/", route)
    load_demo(asgi_server)
    page = open_page(context)
    page.locator(".inbox-conversation", has_text="first").click()
    page.wait_for_selector(".inbox-message >> text=first")

    allow["connect"] = False
    sockets[-1].close(code=4000)
    page.wait_for_selector(".inbox-status[data-state=reconnecting]")
    assert page.locator(".inbox-status").inner_text() == "Reconnecting…"

    visitor_says(visitor_client, "sent while you were away")
    page.fill(".inbox-composer textarea", "replied while offline")
    page.press(".inbox-composer textarea", "Enter")
    page.wait_for_selector(".inbox-message >> text=replied while offline")
    assert page.locator(".inbox-message", has_text="sent while you were away").count() == 0

    allow["connect"] = True
    page.wait_for_selector(".inbox-status[data-state=live]", timeout=20_000)
    page.wait_for_selector(".inbox-message >> text=sent while you were away")
    visitor_says(visitor_client, "and after")
    page.wait_for_selector(".inbox-message >> text=and after")
    texts = message_texts(page)
    assert texts == ["first", "sent while you were away", "replied while offline", "and after"]
    assert page.errors == []


def test_filters_and_older_messages_on_scroll(context, asgi_server):
    load_demo(asgi_server)
    _, key = services.app_create(name="e2e")
    conversation = httpx.post(
        f"{asgi_server.url}{API}/conversations",
        headers={"Authorization": key},
        json={"participantId": {"contactId": str(uuid.uuid4())}},
        timeout=10,
    ).json()["conversation"]
    for index in range(45):
        httpx.post(
            f"{asgi_server.url}{API}/messages",
            headers={"Authorization": key},
            json={
                "conversationId": conversation["id"],
                "message": {
                    "direction": "PARTICIPANT_TO_BUSINESS",
                    "content": {"basic": {"items": [{"text": f"line {index:02d}"}]}},
                },
                "sendAs": "PARTICIPANT",
            },
            timeout=10,
        ).raise_for_status()
    page = open_page(context)

    # Filters: text search, participant kind, unread only (the server applies them).
    page.fill(".inbox-filters input[name=q]", "lisbon")
    wait_for_names(page, ["Visitor from Lisbon"])
    page.fill(".inbox-filters input[name=q]", "")
    page.select_option(".inbox-filters select[name=participantKind]", "MEMBER")
    wait_for_names(page, ["Member Demo"])
    page.select_option(".inbox-filters select[name=participantKind]", "")
    page.wait_for_function("() => document.querySelectorAll('.inbox-conversation').length === 4")

    # 45 messages: the newest 30 first, the rest when scrolled to the top, in order, once.
    page.locator(".inbox-conversation", has_text="line 44").click()
    page.wait_for_selector(".inbox-message >> text=line 44")
    assert len(message_texts(page)) == 30
    page.locator(".inbox-messages").evaluate("(box) => { box.scrollTop = 0; }")
    page.wait_for_selector(".inbox-message >> text=line 00")
    assert message_texts(page) == [f"line {index:02d}" for index in range(45)]
    assert page.locator(".inbox-older-status").inner_text() == "Beginning of the conversation"

    # Read now: the unread-only filter leaves it out.
    page.locator(".inbox-conversation", has_text="line 44").locator(".inbox-unread").wait_for(
        state="detached"
    )
    page.check(".inbox-filters input[name=unread]")
    page.wait_for_function(
        "() => ![...document.querySelectorAll('.inbox-conversation')]"
        ".some((node) => node.textContent.includes('line 44'))"
    )
    assert (
        page.locator(".inbox-conversation .inbox-unread").count()
        == page.locator(".inbox-conversation").count()
    )
    assert page.errors == []


def test_the_staff_page_runs_under_a_strict_content_security_policy(
    context, asgi_server, csp_violations
):
    load_demo(asgi_server)
    page = open_page(context)  # live: every module, style, fetch and the socket were allowed
    policy = context.request.get(PAGE).headers["content-security-policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert csp_violations == []
    assert_policy_refuses_inline_script(page, csp_violations)


PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def test_staff_sends_a_pdf_which_the_participant_side_gets(context, asgi_server):
    load_demo(asgi_server)
    conversation, _ = services.conversation_get_or_create(
        kind=Participant.Kind.CONTACT, external_id=uuid.uuid4(), display_name="Paula Pdf"
    )
    _, key = services.app_create(name="e2e files")
    page = open_page(context)
    row(page, "Paula Pdf").click()
    page.wait_for_selector(".inbox-composer:not([hidden])")
    with page.expect_request(lambda r: r.url.endswith(f"{API}/messages") and r.method == "POST"):
        page.set_input_files(
            ".inbox-file-input",
            files=[{"name": "invoice.pdf", "mimeType": "application/pdf", "buffer": PDF}],
        )
    chip = page.locator(".inbox-message .inbox-file a")
    chip.wait_for()
    assert chip.inner_text() == f"\U0001f4ce invoice.pdf ({len(PDF)} B)"
    assert page.locator(".inbox-uploads li").count() == 0
    assert page.errors == []

    # The participant's view of the conversation has it, and its link serves the file as a
    # download.
    listed = httpx.get(
        f"{asgi_server.url}{API}/messages",
        params={"conversationId": str(conversation.pk), "visibility": "BUSINESS_AND_PARTICIPANT"},
        headers={"Authorization": key},
        timeout=10,
    ).json()["messages"]
    file = listed[-1]["content"]["basic"]["items"][0]["file"]
    assert (file["filename"], file["mimeType"]) == ("invoice.pdf", "application/pdf")
    served = httpx.get(asgi_server.url + file["url"], timeout=10)
    assert served.status_code == 200 and served.content == PDF
    assert served.headers["content-disposition"] == 'attachment; filename="invoice.pdf"'


def test_the_page_speaks_the_admins_language(browser, asgi_server):
    """A staff user whose browser asks for Portuguese gets the page, and what its script writes,
    in Portuguese (LocaleMiddleware; the catalog comes inside the page's config)."""
    load_demo(asgi_server)
    context = browser.new_context(
        base_url=asgi_server.url, locale="pt-BR", viewport={"width": 1100, "height": 760}
    )
    context.set_default_timeout(15_000)
    try:
        page = open_page(context)
        assert page.evaluate("() => document.documentElement.lang") == "pt"
        assert page.locator(".inbox-status").inner_text() == "Ao vivo"
        assert page.locator("h1").inner_text() == "Caixa de entrada da equipe"
        assert page.get_by_role("searchbox", name="Pesquisar conversas").get_attribute(
            "placeholder"
        ) == ("Pesquisar nome ou mensagem")
        # The rows' kind labels come from the model's translated choices.
        lisbon = row(page, "Visitor from Lisbon")
        assert lisbon.locator(".inbox-conversation-kind").text_content() == "Visitante anônimo"
        assert page.locator(".inbox-thread-name").inner_text() == "Selecione uma conversa"

        lisbon.click()
        page.wait_for_selector(".inbox-message")
        assert page.locator(".inbox-composer button[type=submit]").inner_text() == "Enviar"
        textarea = page.get_by_role("textbox", name="Mensagem")
        assert textarea.get_attribute("placeholder") == (
            "Escreva uma resposta… (Enter para enviar, Shift+Enter para nova linha)"
        )
        # Written by the script (the catalog), not by the template.
        page.get_by_label("Nota interna", exact=True).check()
        assert textarea.get_attribute("placeholder") == (
            "Escreva uma nota interna (só a equipe a vê)…"
        )
        textarea.fill("Verificar o pedido primeiro")
        textarea.press("Enter")
        note = page.locator(".inbox-message.internal", has_text="Verificar o pedido primeiro")
        note.wait_for()
        assert note.locator(".inbox-internal-label").text_content() == "Nota interna"
        assert note.locator(".inbox-meta").inner_text().startswith("Você · ")

        # Status and assignment: the template's controls and what the script writes.
        assert page.locator(".inbox-thread-status").inner_text() == "Aberta"
        page.get_by_role("button", name="Fechar").click()
        page.wait_for_selector(".inbox-thread-status[data-status=CLOSED]")
        assert page.locator(".inbox-thread-status").inner_text() == "Fechada"
        assert lisbon.locator(".inbox-conversation-status").text_content() == "Fechada"
        # The thread entry is stored data: English, as every colleague reads it.
        page.locator(".inbox-message.internal", has_text="Closed by").wait_for()
        menu = page.get_by_label("Atribuída a")
        menu.select_option(menu.locator("option", has_text="(eu)").get_attribute("value"))
        lisbon.locator(".inbox-conversation-assignee", has_text="→ você").wait_for()
        assert page.errors == []  # type: ignore[attr-defined]
    finally:
        context.close()
