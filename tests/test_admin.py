"""The admin: the staff inbox page (contract §6) and the ModelAdmins."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from inbox.identity import app_for_key
from inbox.models import App, Message, user_wire_id

pytestmark = pytest.mark.django_db

INBOX_PAGE = "/admin/inbox/staffinbox/"


@pytest.fixture
def staff_browser(staff_user: Any) -> Client:
    client = Client()
    client.force_login(staff_user)
    return client


def test_page_url_is_the_admin_changelist_of_the_proxy():
    assert reverse("admin:inbox_staffinbox_changelist") == INBOX_PAGE


def test_page_renders_inside_the_admin(staff_browser, staff_user):
    response = staff_browser.get(INBOX_PAGE)
    assert response.status_code == 200
    html = response.content.decode()
    # Admin chrome and breadcrumbs: Home › Inbox › Staff inbox.
    assert 'id="site-name"' in html
    breadcrumbs = re.search(r'<div class="breadcrumbs">(.*?)</div>', html, re.S)
    assert breadcrumbs is not None
    assert 'href="/admin/"' in breadcrumbs.group(1)
    assert 'href="/admin/inbox/"' in breadcrumbs.group(1)
    assert "Staff inbox" in breadcrumbs.group(1)
    # The page's own assets, served from the app's static files (no CDN).
    assert "/static/inbox/admin/inbox.js" in html
    assert "/static/inbox/admin/inbox.css" in html
    assert "https://" not in re.sub(r'href="https://www\.djangoproject\.com/?"', "", html)
    # The composer is a form with a CSRF token, and the config the script reads.
    assert 'name="csrfmiddlewaretoken"' in html
    config = json.loads(
        re.search(
            r'<script id="inbox-config" type="application/json">(.*?)</script>', html, re.S
        ).group(1)
    )
    assert config == {
        "conversationsUrl": "/inbox/v2/conversations",
        "messagesUrl": "/inbox/v2/messages",
        "attachmentsUrl": "/inbox/v2/attachments",
        "notificationSettingsUrl": "/inbox/v2/notifications/settings",
        "socketPath": "/ws/inbox/business/",
        "me": {"wixUserId": str(user_wire_id(staff_user.pk))},
        "canSend": True,
        "pageSize": 30,
        "resumeLimit": 500,
        "participantKinds": [
            {
                "kind": "ANONYMOUS_VISITOR",
                "wireKey": "anonymousVisitorId",
                "label": "Anonymous visitor",
            },
            {"kind": "CONTACT", "wireKey": "contactId", "label": "Contact"},
            {"kind": "MEMBER", "wireKey": "memberId", "label": "Member"},
        ],
        # The page's strings in the admin's language: English is the source, nothing to add.
        "i18n": {"lang": "en", "bidi": False, "catalog": {}},
        "assignableStaff": [
            {"wixUserId": str(user_wire_id(staff_user.pk)), "name": staff_user.get_username()}
        ],
        "savedRepliesUrl": "/inbox/v2/saved-replies",
    }


def test_page_is_listed_on_the_admin_index(staff_browser):
    html = staff_browser.get("/admin/").content.decode()
    assert f'href="{INBOX_PAGE}"' in html
    assert "Staff inbox" in html


def test_anonymous_and_non_staff_are_sent_to_the_login(client, member_user):
    response = client.get(INBOX_PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    client.force_login(member_user)
    response = client.get(INBOX_PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_staff_without_the_view_permission_get_403(make_user):
    client = Client()
    client.force_login(make_user(staff=True, perms=False))
    assert client.get(INBOX_PAGE).status_code == 403
    assert INBOX_PAGE not in client.get("/admin/").content.decode()


def test_staff_who_may_read_but_not_send_get_no_composer_rights(make_user):
    from django.contrib.auth.models import Permission

    user = make_user(staff=True, perms=False)
    user.user_permissions.add(Permission.objects.get(codename="view_message"))
    client = Client()
    client.force_login(user)
    html = client.get(INBOX_PAGE).content.decode()
    assert '"canSend": false' in html


def test_api_writes_from_a_session_need_the_csrf_token(staff_user, make_conversation):
    conversation = make_conversation()
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)
    page = client.get(INBOX_PAGE)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    body = json.dumps(
        {
            "conversationId": str(conversation.pk),
            "message": {
                "direction": "BUSINESS_TO_PARTICIPANT",
                "content": {"basic": {"items": [{"text": "hi"}]}},
            },
        }
    )
    refused = client.post("/inbox/v2/messages", body, content_type="application/json")
    assert refused.status_code == 403
    assert not Message.objects.exists()
    accepted = client.post(
        "/inbox/v2/messages", body, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert accepted.status_code == 200, accepted.content
    assert Message.objects.count() == 1


def test_admin_login_form_rejects_a_post_without_csrf(staff_user):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/admin/login/", {"username": "staff", "password": "pw-123456"})
    assert response.status_code == 403


def test_creating_an_app_shows_its_key_once(admin_client):
    response = admin_client.post("/admin/inbox/app/add/", {"name": "Zapier bridge"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    raw_key = re.search(r'<code id="inbox-api-key"[^>]*>([^<]+)</code>', html).group(1)
    app = App.objects.get(name="Zapier bridge")
    # The key works, and only its hash is stored.
    assert app_for_key(raw_key) == app
    assert app.key_hash == App.hash_key(raw_key)
    assert raw_key.startswith(app.key_prefix)
    # It is never shown again: not on the change page, the list, or a later page's messages.
    for url in (f"/admin/inbox/app/{app.pk}/change/", "/admin/inbox/app/", "/admin/"):
        assert raw_key not in admin_client.get(url).content.decode()
    assert raw_key not in str(admin_client.cookies)


def test_an_app_can_be_switched_off_in_the_admin(admin_client):
    admin_client.post("/admin/inbox/app/add/", {"name": "Old"})
    app = App.objects.get(name="Old")
    response = admin_client.post(
        f"/admin/inbox/app/{app.pk}/change/", {"name": "Old integration", "is_active": ""}
    )
    assert response.status_code == 302
    app.refresh_from_db()
    assert (app.name, app.is_active) == ("Old integration", False)


def test_model_admins_search_filter_and_stay_read_only(admin_client, make_conversation, send):
    conversation = make_conversation()
    message = send(conversation.pk, "findable words")
    note = send(conversation.pk, "a note", visibility="BUSINESS")
    listed = admin_client.get("/admin/inbox/message/", {"q": "findable"})
    assert listed.status_code == 200
    assert message["sequence"] in listed.content.decode()
    assert note["sequence"] not in listed.content.decode()
    filtered = admin_client.get("/admin/inbox/message/", {"visibility__exact": "BUSINESS"})
    assert filtered.status_code == 200
    assert note["sequence"] in filtered.content.decode()
    assert message["sequence"] not in filtered.content.decode()
    detail = admin_client.get(f"/admin/inbox/message/{message['id']}/change/")
    assert detail.status_code == 200
    html = detail.content.decode()
    # Sequence and sender are shown read-only; nothing can be edited or added.
    assert message["sequence"] in html
    assert 'name="sequence"' not in html
    assert "appId: " in html
    assert admin_client.get("/admin/inbox/message/add/").status_code == 403
    for path in ("/admin/inbox/conversation/", "/admin/inbox/participant/"):
        response = admin_client.get(path, {"q": "x"})
        assert response.status_code == 200
    assert admin_client.get("/admin/inbox/conversation/add/").status_code == 403
    assert admin_client.get("/admin/inbox/participant/add/").status_code == 403


def _directives(policy: str) -> dict[str, list[str]]:
    return {
        name: sources
        for name, *sources in (directive.split() for directive in policy.split(";") if directive)
    }


def _inline_code(html: str) -> list[str]:
    """Executable inline scripts, inline <style> elements and style / on* attributes: what a
    policy without 'unsafe-inline' refuses (JSON data blocks are not executed)."""
    scripts = [
        tag
        for tag in re.findall(r"<script\b[^>]*>", html)
        if "src=" not in tag and 'type="application/json"' not in tag
    ]
    return scripts + re.findall(r"<style\b", html) + re.findall(r"\s(?:style|on[a-z]+)=", html)


def test_the_staff_page_has_a_strict_content_security_policy(staff_browser, settings):
    settings.ALLOWED_HOSTS = ["inbox.example.com"]
    response = staff_browser.get(INBOX_PAGE, HTTP_HOST="inbox.example.com")
    directives = _directives(response.headers["Content-Security-Policy"])
    assert directives["default-src"] == ["'none'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["connect-src"] == [
        "'self'",
        "ws://inbox.example.com",
        "wss://inbox.example.com",
    ]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]
    # Nothing the policy refuses is on the page.
    assert _inline_code(response.content.decode()) == []


def test_static_files_on_another_origin_are_allowed_by_the_policy(staff_browser, settings):
    settings.STATIC_URL = "https://cdn.example.net/static/"
    directives = _directives(staff_browser.get(INBOX_PAGE).headers["Content-Security-Policy"])
    for name in ("script-src", "style-src", "img-src", "font-src"):
        assert "https://cdn.example.net" in directives[name], name


def test_only_the_staff_page_gets_the_policy(staff_browser):
    assert "Content-Security-Policy" not in staff_browser.get("/admin/").headers
