"""The demo site's pages link only to pages that exist (links are reversed, never hand-written)."""

from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if tag == "a" and href and not href.startswith("#"):
            self.hrefs.append(href)


def _links(html: str) -> list[str]:
    parser = _Links()
    parser.feed(html)
    return parser.hrefs


def _follow_every_link(client: Client, start: str) -> list[str]:
    page = client.get(start)
    assert page.status_code == 200
    hrefs = _links(page.content.decode())
    assert hrefs, f"{start} links to nothing"
    for href in hrefs:
        parts = urlsplit(href)
        assert not parts.netloc, f"{start} links off-site: {href}"
        response = client.get(href, follow=True)
        assert response.status_code == 200, f"{start} → {href}: {response.status_code}"
    return hrefs


@pytest.mark.django_db
def test_every_home_page_link_resolves_for_a_visitor() -> None:
    hrefs = _follow_every_link(Client(), "/")
    assert "/admin/inbox/staffinbox/" in hrefs


@pytest.mark.django_db
def test_every_home_page_link_resolves_for_staff(staff_user: Any) -> None:
    client = Client()
    client.force_login(staff_user)
    _follow_every_link(client, "/")
    staff_page = client.get("/admin/inbox/staffinbox/")
    assert staff_page.status_code == 200


@pytest.mark.django_db
def test_the_demo_home_page_serves_the_widget_under_a_strict_policy() -> None:
    from tests.test_admin import _directives, _inline_code

    response = Client().get("/")
    directives = _directives(response.headers["Content-Security-Policy"])
    for name in ("script-src", "style-src"):
        assert directives[name] == ["'self'"], name
    assert "data-inbox-widget" in response.content.decode()
    assert _inline_code(response.content.decode()) == []
