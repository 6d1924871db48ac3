"""Webhook endpoints and their delivery log in the admin (``inbox.admin.register_admin``
registers them).

Endpoints are created through ``services.webhook_endpoint_create`` so that the secret is made
there and shown once, on the page that answers the creation; the delivery log is read-only,
with a "redeliver" action.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers, widgets
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from inbox.admin_shown_once import shown_once_response
from inbox.exceptions import InboxError, ValidationFailed
from inbox.models import adopt_saved
from inbox.webhooks import services
from inbox.webhooks.models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookSigningKey,
)


class WebhookEndpointForm(forms.ModelForm):
    """The service's rules (SSRF guard, known event types) as form errors, not a 500."""

    url = forms.URLField(max_length=2000, assume_scheme="https")

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "format", "event_types", "description", "is_active"]
        help_texts = {
            "event_types": _('A JSON list of event slugs, e.g. ["message_sent_to_business"]')
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        event_types = data.get("event_types")
        if event_types is not None and not (
            isinstance(event_types, list) and all(isinstance(t, str) for t in event_types)
        ):
            self.add_error("event_types", gettext("must be a JSON list of event slugs"))
            return data
        try:
            services.webhook_endpoint_validate(url=data.get("url"), event_types=event_types)
        except ValidationFailed as error:
            for violation in error.violations:
                field = "url" if violation.field == "url" else "event_types"
                self.add_error(field, violation.description)
        return data


class ReplayForm(forms.Form):
    since = forms.SplitDateTimeField(
        label=_("Events recorded since"), widget=widgets.AdminSplitDateTime()
    )


class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ["url", "format", "event_types", "is_active", "disabled_reason", "created_at"]
    list_filter = ["is_active", "format"]
    search_fields = ["url", "description"]
    fields = [
        "url",
        "format",
        "event_types",
        "description",
        "is_active",
        "disabled_reason",
        "wix_public_key",
    ]
    readonly_fields = ["disabled_reason", "wix_public_key"]
    actions = ["replay"]

    @admin.display(description=_("Wix-format public key"))
    def wix_public_key(self, obj: WebhookEndpoint) -> str:
        """The site's RS256 public key, which ``wix``-format receivers verify the JWT with
        (``manage.py inbox_webhook_key --rotate`` replaces the pair)."""
        key = WebhookSigningKey.objects.filter(pk=1).first()
        if key is None:
            return gettext("None yet: made with the first wix-format endpoint")
        return format_html("<pre style='user-select: all'>{}</pre>", key.public_key)

    def _warn_switched_off(self, request: HttpRequest) -> None:
        """Tell the site, on every endpoint page, which endpoints were switched off and why."""
        for endpoint in WebhookEndpoint.objects.filter(is_active=False).exclude(disabled_reason=""):
            self.message_user(
                request,
                gettext("Webhook endpoint %(url)s is switched off: %(reason)s")
                % {"url": endpoint.url, "reason": endpoint.disabled_reason},
                messages.WARNING,
            )

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if request.method == "GET":
            self._warn_switched_off(request)
        return super().changelist_view(request, extra_context)

    @admin.action(description=_("Replay events since…"), permissions=["change"])
    def replay(
        self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]
    ) -> HttpResponse | None:
        """Deliver again, to each selected endpoint, every event of its types recorded since
        the time asked on an intermediate page."""
        form = ReplayForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            count = 0
            for endpoint in queryset:
                try:
                    count += services.webhook_replay(
                        endpoint=endpoint, since=form.cleaned_data["since"]
                    )
                except InboxError as error:
                    self.message_user(request, f"{endpoint.url}: {error.message}", messages.ERROR)
            self.message_user(
                request,
                gettext("Deliveries queued: %(count)s") % {"count": count},
                messages.SUCCESS,
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Replay events since…"),
            "opts": self.opts,
            "endpoints": queryset,
            "form": form,
            "media": self.media + form.media,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/inbox/webhookendpoint/replay.html", context)

    def save_model(
        self, request: HttpRequest, obj: WebhookEndpoint, form: Any, change: bool
    ) -> None:
        data = form.cleaned_data
        if change:
            services.webhook_endpoint_update(
                endpoint=obj,
                url=data["url"],
                format=data["format"],
                event_types=data["event_types"],
                description=data["description"],
                is_active=data["is_active"],
            )
            return
        endpoint, secret = services.webhook_endpoint_create(
            url=data["url"],
            format=data["format"],
            event_types=data["event_types"],
            description=data["description"],
            is_active=data["is_active"],
        )
        adopt_saved(obj, endpoint)
        obj._inbox_secret = secret  # type: ignore[attr-defined]

    def response_add(
        self, request: HttpRequest, obj: WebhookEndpoint, post_url_continue: Any = None
    ) -> HttpResponse:
        secret = getattr(obj, "_inbox_secret", None)
        if secret is None:
            return super().response_add(request, obj, post_url_continue)
        return shown_once_response(
            self,
            request,
            obj,
            template="admin/inbox/webhookendpoint/secret_created.html",
            title=gettext("Webhook endpoint secret"),
            subject=obj.url,
            endpoint=obj,
            secret=secret,
        )


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    fields = readonly_fields = (
        "attempted_at",
        "status_code",
        "latency_ms",
        "error",
        "response_excerpt",
    )
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class WebhookDeliveryAdmin(admin.ModelAdmin):
    """The delivery log: every attempt with its time, status, latency and answer."""

    list_display = [
        "event_type",
        "event_id",
        "endpoint",
        "status",
        "attempt_count",
        "next_attempt_at",
        "created_at",
    ]
    list_filter = ["status", "event_type", "endpoint"]
    search_fields = ["event_id"]
    fields = readonly_fields = (
        "endpoint",
        "event_id",
        "event_type",
        "payload",
        "status",
        "attempt_count",
        "next_attempt_at",
        "created_at",
        "completed_at",
    )
    inlines = [WebhookAttemptInline]
    actions = ["redeliver"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(
        description=_("Redeliver (a fresh retry schedule from now)"), permissions=["view"]
    )
    def redeliver(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        count = 0
        for delivery in queryset:
            services.webhook_redeliver(delivery=delivery)
            count += 1
        # No plural forms in the catalogs (README, Translations): the count comes last.
        self.message_user(
            request,
            gettext("Deliveries queued again: %(count)s") % {"count": count},
            messages.SUCCESS,
        )
