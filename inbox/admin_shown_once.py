"""The admin page that shows a credential once, right after the row holding it was added (an
app's API key, a webhook endpoint's secret): never kept by a browser or a proxy cache."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse


def shown_once_response(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    obj: Any,
    *,
    template: str,
    title: str,
    **context: Any,
) -> HttpResponse:
    """``template`` rendered in the admin's frame, with links back to the changelist and to
    ``obj``'s change page, marked ``no-store``: this is the one time the credential is shown."""
    opts = model_admin.opts
    name = model_admin.admin_site.name
    prefix = f"admin:{opts.app_label}_{opts.model_name}"
    page = {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "opts": opts,
        "changelist_url": reverse(f"{prefix}_changelist", current_app=name),
        "change_url": reverse(f"{prefix}_change", args=[obj.pk], current_app=name),
        **context,
    }
    response = TemplateResponse(request, template, page)
    response["Cache-Control"] = "no-store"
    return response
