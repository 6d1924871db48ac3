"""Translations as people meet them: the widget's catalogs by page language, the staff page in
the admin's language, application-error messages in the caller's, and field violations left
in English for the developers they are written for."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone, translation
from django.utils.formats import date_format

from inbox.i18n import js_catalog
from inbox.models import Message, Participant, conversation_id_for
from tests.conftest import API, assert_app_error, participant_says
from tests.test_locale import APP, po_entries

INBOX_PAGE = "/admin/inbox/staffinbox/"


@pytest.mark.parametrize(
    ("tag", "lang", "bidi", "open_chat"),
    [
        ("ar", "ar", True, "فتح الدردشة"),
        ("pt-BR", "pt", False, "Abrir o chat"),  # pt-br is not offered here: its generic pt is
        ("pt", "pt", False, "Abrir o chat"),
        ("en", "en", False, "Open chat"),
        # A language the site does not offer: its LANGUAGE_CODE, the source strings.
        ("fr-CA", "en-us", False, "Open chat"),
    ],
)
def test_the_widget_catalog_follows_the_page_language(tag, lang, bidi, open_chat):
    response = Client().get(f"/inbox/i18n/{tag}.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "max-age=3600" in response["Cache-Control"]
    assert "public" in response["Cache-Control"]
    body = response.json()
    assert (body["lang"], body["bidi"]) == (lang, bidi)
    assert body["catalog"].get("Open chat", "Open chat") == open_chat
    # Plain strings only: the browser never has to evaluate a plural expression.
    assert all(isinstance(value, str) for value in body["catalog"].values())


def test_the_catalog_holds_only_the_apps_browser_strings():
    catalog = js_catalog("pt")["catalog"]
    assert catalog["Send us a message, we usually reply within a few minutes."] == (
        "Envie-nos uma mensagem; costumamos responder em poucos minutos."
    )
    # Nothing from Django's own djangojs catalogs (the admin's calendar, for one).
    assert "January" not in catalog


def test_a_malformed_language_in_the_catalog_path_is_the_api_404():
    response = Client().get("/inbox/i18n/<script>.json")
    assert response.status_code == 404
    assert response.json()["details"]["applicationError"]["code"] == "NOT_FOUND"


def inbox_config(html: str) -> dict[str, Any]:
    match = re.search(
        r'<script id="inbox-config" type="application/json">(.*?)</script>', html, re.S
    )
    assert match is not None
    return json.loads(match.group(1))


def staff_page(user: Any, accept_language: str) -> str:
    """The staff page as a browser asking for ``accept_language`` gets it."""
    client = Client(headers={"accept-language": accept_language})
    client.force_login(user)
    return client.get(INBOX_PAGE).content.decode()


@pytest.mark.django_db
def test_the_staff_page_speaks_the_admins_language(staff_user):
    html = staff_page(staff_user, "pt-BR,pt;q=0.9")
    assert '<html lang="pt" dir="ltr">' in html
    assert "Caixa de entrada da equipe" in html  # the title
    assert 'placeholder="Pesquisar nome ou mensagem"' in html
    assert ">Todos os participantes<" in html
    config = inbox_config(html)
    assert config["i18n"]["lang"] == "pt"
    assert config["i18n"]["catalog"]["Connecting…"] == "Conectando…"
    assert [kind["label"] for kind in config["participantKinds"]] == [
        "Visitante anônimo",
        "Contato",
        "Membro",
    ]


@pytest.mark.django_db
def test_the_staff_page_in_arabic_is_right_to_left(staff_user):
    html = staff_page(staff_user, "ar")
    assert '<html lang="ar" dir="rtl">' in html
    assert "اختر محادثة" in html
    assert inbox_config(html)["i18n"]["bidi"] is True


@pytest.mark.django_db
def test_application_errors_speak_the_callers_language(make_visitor, make_conversation):
    _, visitor = make_visitor()
    other = make_conversation()
    query = {"conversationId": str(other.id), "visibility": "BUSINESS_AND_PARTICIPANT"}
    english = visitor.get(f"{API}/messages", query)
    arabic = visitor.get(f"{API}/messages", query, HTTP_ACCEPT_LANGUAGE="ar")
    assert english.status_code == arabic.status_code == 403
    code = english.json()["details"]["applicationError"]["code"]
    assert arabic.json()["details"]["applicationError"]["code"] == code  # what machines match
    assert english.json()["message"] != arabic.json()["message"]
    assert re.search(r"[\u0600-\u06ff]", arabic.json()["message"])
    description = arabic.json()["details"]["applicationError"]["description"]
    assert description == arabic.json()["message"]


@pytest.mark.django_db
def test_field_violations_stay_english_for_the_api_developer(make_visitor):
    _, visitor = make_visitor()
    response = visitor.post(
        f"{API}/messages",
        {"message": {"direction": "PARTICIPANT_TO_BUSINESS", "content": {}}},
        format="json",
        HTTP_ACCEPT_LANGUAGE="ar",
    )
    assert response.status_code == 400
    violations = response.json()["details"]["validationError"]["fieldViolations"]
    assert violations
    assert not any(re.search(r"[\u0600-\u06ff]", v["description"]) for v in violations)


@pytest.mark.django_db
def test_the_status_and_assignment_controls_speak_the_admins_language(staff_user):
    html = staff_page(staff_user, "pt")
    for shown in (
        ">Reabrir<",
        ">Marcar como não lida<",
        ">Fechada (arquivo)<",
        ">Sem responsável<",
    ):
        assert shown in html
    assert 'aria-label="Responsável"' in html
    catalog = inbox_config(html)["i18n"]["catalog"]
    assert catalog["Snoozed until %(time)s"] == "Adiada até %(time)s"
    # Right to left, the arrow before an assignee's name points the way the line reads.
    arabic = inbox_config(staff_page(staff_user, "ar"))["i18n"]["catalog"]
    assert arabic["→ %(name)s"] == "← %(name)s"


@pytest.mark.django_db
def test_thread_entries_are_stored_in_english_whatever_language_wrote_them(
    staff_client, make_visitor
):
    """Entries are data, like default display names: a Portuguese admin's snooze and an Arabic
    page's reopening message leave the same English words every colleague and app reads."""
    visitor_id, visitor = make_visitor()
    visitor.defaults["HTTP_ACCEPT_LANGUAGE"] = "ar"
    staff_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "pt"
    participant_says(visitor, "olá")
    conversation_id = conversation_id_for(Participant.Kind.ANONYMOUS_VISITOR, visitor_id)
    until = timezone.now() + timedelta(days=2)
    snoozed = staff_client.post(
        f"{API}/conversations/{conversation_id}/status",
        {"status": "SNOOZED", "snoozedUntil": until.isoformat()},
        format="json",
    )
    assert snoozed.status_code == 200, snoozed.content
    participant_says(visitor, "مرحبا")

    texts = [
        message.content["minimal"]["text"]
        for message in Message.objects.filter(
            conversation_id=conversation_id, silent=True
        ).order_by("sequence")
    ]
    with translation.override("en"):
        english_until = date_format(timezone.localtime(until), "DATETIME_FORMAT")
    with translation.override("pt"):
        assert date_format(timezone.localtime(until), "DATETIME_FORMAT") != english_until
    assert texts == [
        f"Snoozed until {english_until} by staff",
        "Reopened by a new message from the participant",
    ]


@pytest.mark.django_db
def test_status_and_unread_refusals_speak_the_callers_language(make_visitor, app_client):
    visitor_id, visitor = make_visitor()
    participant_says(visitor, "hi")
    conversation_id = conversation_id_for(Participant.Kind.ANONYMOUS_VISITOR, visitor_id)
    refused = visitor.post(
        f"{API}/conversations/{conversation_id}/status",
        {"status": "CLOSED"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="ar",
    )
    body = assert_app_error(refused, 403, "PERMISSION_DENIED")
    assert body["message"] == "لا يغيّر حالة المحادثة إلا جانب النشاط التجاري"
    unread = app_client.post(
        f"{API}/conversations/{conversation_id}/unread",
        {},
        format="json",
        HTTP_ACCEPT_LANGUAGE="pt",
    )
    body = assert_app_error(unread, 403, "PERMISSION_DENIED")
    assert (
        body["message"] == "Somente um usuário da equipe tem um cursor de leitura para fazer recuar"
    )


@pytest.mark.parametrize("language", ["pt", "ar"])
def test_no_other_apps_catalog_overrides_ours(language):
    """Django merges the catalogs of INSTALLED_APPS with the earlier apps winning, and a site
    lists the admin before inbox: a shipped msgid that Django's admin also translates ("Close")
    must say what ours says, or the page would show the admin's word for it."""
    entries = po_entries(APP / "locale" / language / "LC_MESSAGES" / "django.po")
    with translation.override(language):
        overridden = {
            msgid: translation.gettext(msgid)
            for msgid, (msgstr, _) in entries.items()
            if translation.gettext(msgid) != msgstr
        }
    assert overridden == {}


@pytest.mark.django_db
def test_the_webhook_admin_and_errors_speak_the_callers_language(staff_user, app_client, settings):
    settings.INBOX = {"WEBHOOK_ALLOWED_NETWORKS": ["127.0.0.0/8"]}
    admin = Client(headers={"accept-language": "pt"})
    admin.force_login(staff_user)
    created = admin.post(
        "/admin/inbox/webhookendpoint/add/",
        {
            "url": "http://127.0.0.1:9/hooks?a=1&b=2",
            "format": "standard",
            "event_types": json.dumps(["message_sent_to_business"]),
            "is_active": "on",
        },
    )
    assert created.status_code == 200
    html = created.content.decode()
    assert "<title>Segredo do endpoint de webhook" in html
    # The URL is the endpoint's, escaped inside the translated sentence.
    assert (
        "O endpoint de webhook <strong>http://127.0.0.1:9/hooks?a=1&amp;b=2</strong> assina"
    ) in html
    missing = app_client.get(
        f"{API}/webhooks/endpoints/00000000-0000-4000-8000-000000000000",
        HTTP_ACCEPT_LANGUAGE="ar",
    )
    body = assert_app_error(missing, 404, "WEBHOOK_ENDPOINT_NOT_FOUND")
    assert body["message"] == "لا توجد نقطة نهاية webhook بهذا المعرّف"
