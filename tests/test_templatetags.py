"""``{% inbox_widget %}``: what it tells the widget script, and what it must not do (set cookies
for visitors who never open the chat, hand staff a participant widget)."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.template import Context, Template
from django.test import Client, RequestFactory

SCRIPT = re.compile(r"<script [^>]*data-inbox-widget[^>]*></script>")


def attributes(html: str) -> dict[str, str]:
    (tag,) = SCRIPT.findall(html)
    return dict(re.findall(r'([a-z-]+)="([^"]*)"', tag))


@pytest.mark.django_db
def test_an_anonymous_visitor_gets_the_script_and_no_cookie():
    response = Client().get("/")
    assert response.status_code == 200
    attrs = attributes(response.content.decode())
    assert attrs == {
        "src": "/static/inbox/widget/widget.js",
        "data-api": "/inbox/v2",
        "data-ws": "/ws/inbox/participant/",
        "data-css": "/static/inbox/widget/widget.css",
        # No site title: the widget shows its own, translated into the page's language.
        "data-title": "",
        "data-authenticated": "false",
        "data-csrf": "",
    }
    # Nothing is stored for a visitor who has not opened the chat: no CSRF cookie, no session.
    assert not response.cookies


@pytest.mark.django_db
def test_a_member_gets_the_session_flag_and_a_csrf_token(member_user):
    client = Client()
    client.force_login(member_user)
    response = client.get("/")
    attrs = attributes(response.content.decode())
    assert attrs["data-authenticated"] == "true"
    assert attrs["data-csrf"]
    assert settings.CSRF_COOKIE_NAME in response.cookies


@pytest.mark.django_db
def test_staff_get_no_participant_widget(staff_user):
    client = Client()
    client.force_login(staff_user)
    html = client.get("/").content.decode()
    assert not SCRIPT.findall(html)
    assert "inbox widget: hidden for staff users" in html


def test_options_are_passed_through_and_escaped():
    request = RequestFactory().get("/")
    from django.contrib.auth.models import AnonymousUser

    request.user = AnonymousUser()
    html = Template(
        '{% load inbox %}{% inbox_widget api="/api/chat/v2" ws="wss://chat.example/ws/" '
        'title="Talk to \\"us\\" <now>" %}'
    ).render(Context({"request": request}))
    attrs = attributes(html)
    assert attrs["data-api"] == "/api/chat/v2"
    assert attrs["data-ws"] == "wss://chat.example/ws/"
    assert attrs["data-title"] == "Talk to &quot;us&quot; &lt;now&gt;"
    assert "<now>" not in html


def test_the_tag_works_without_a_request_in_the_context():
    html = Template("{% load inbox %}{% inbox_widget %}").render(Context({}))
    assert attributes(html)["data-authenticated"] == "false"


@pytest.mark.django_db
def test_without_the_request_context_processor_the_user_still_decides(member_user):
    html = Template("{% load inbox %}{% inbox_widget %}").render(Context({"user": member_user}))
    attrs = attributes(html)
    assert attrs["data-authenticated"] == "true"
    assert attrs["data-csrf"] == ""  # the script reads the csrftoken cookie instead


def test_lang_is_passed_only_when_given_and_escaped():
    """Without ``lang`` the script follows the page's ``<html lang>``; with it, the tag's."""
    plain = Template("{% load inbox %}{% inbox_widget %}").render(Context({}))
    assert "data-lang" not in attributes(plain)
    html = Template('{% load inbox %}{% inbox_widget lang="ar\\" x" %}').render(Context({}))
    assert attributes(html)["data-lang"] == "ar&quot; x"
