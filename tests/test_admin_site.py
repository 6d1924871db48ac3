"""``inbox.admin.register_admin``: the ModelAdmins and the staff inbox page on a site's own
``AdminSite``, next to (and independent of) the default one."""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import include, path, reverse

from inbox.admin import register_admin
from inbox.models import (
    App,
    Conversation,
    Message,
    Participant,
    StaffInbox,
    WebhookDelivery,
    WebhookEndpoint,
)

second_site = admin.AdminSite(name="second")
register_admin(second_site)

urlpatterns = [
    path("admin/", admin.site.urls),
    path("second-admin/", second_site.urls),
    path("inbox/", include("inbox.urls", namespace="inbox")),
]

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]


def test_every_model_admin_is_on_both_sites():
    for model in (
        Participant,
        Conversation,
        Message,
        App,
        StaffInbox,
        WebhookEndpoint,
        WebhookDelivery,
    ):
        assert second_site.is_registered(model), model
        assert admin.site.is_registered(model), model
        assert type(second_site.get_model_admin(model)) is type(admin.site.get_model_admin(model))


def test_the_staff_inbox_page_is_served_by_the_second_site(staff_user):
    assert (
        reverse("admin:inbox_staffinbox_changelist", current_app="second")
        == "/second-admin/inbox/staffinbox/"
    )
    client = Client()
    client.force_login(staff_user)
    response = client.get("/second-admin/inbox/staffinbox/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "inbox/admin/inbox.js" in html
    breadcrumbs = re.search(r'<div class="breadcrumbs">(.*?)</div>', html, re.S)
    assert breadcrumbs is not None
    assert 'href="/second-admin/"' in breadcrumbs.group(1)


def test_creating_an_app_on_the_second_site_links_back_to_it(admin_client):
    response = admin_client.post("/second-admin/inbox/app/add/", {"name": "Second"})
    assert response.status_code == 200
    app = App.objects.get(name="Second")
    html = response.content.decode()
    assert f'href="/second-admin/inbox/app/{app.pk}/change/"' in html
    assert 'href="/second-admin/inbox/app/"' in html
