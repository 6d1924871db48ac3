"""ModelAdmins of the app, and the staff inbox page (contract §6).

Participants, conversations and messages are read-only here: every write goes through
``inbox.services`` (sequences, summaries and events are kept there), and the staff inbox page
writes through the REST API, which calls the services. API apps are created through
``services.app_create`` so that the raw key is shown once and only its hash is stored.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from inbox import selectors, services
from inbox.admin_shown_once import shown_once_response
from inbox.conf import inbox_settings
from inbox.i18n import js_catalog
from inbox.models import (
    App,
    Conversation,
    Message,
    Participant,
    StaffInbox,
    WebhookDelivery,
    WebhookEndpoint,
    adopt_saved,
    user_wire_id,
)
from inbox.realtime.routing import websocket_urlpatterns
from inbox.replies.admin import SavedReplyAdmin
from inbox.replies.models import SavedReply
from inbox.webhooks.admin import WebhookDeliveryAdmin, WebhookEndpointAdmin
from inbox.wire import assignee_json

# The app's view permission: the same one the REST API checks for business-side reads.
INBOX_VIEW_PERMISSION = "inbox.view_message"
INBOX_SEND_PERMISSION = "inbox.add_message"


def _static_origin() -> str:
    """The origin of ``STATIC_URL`` when it is absolute (a CDN), else nothing ('self')."""
    parts = urlsplit(str(settings.STATIC_URL or ""))
    return f" {parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def staff_page_policy(request: HttpRequest) -> str:
    """The staff page's Content-Security-Policy: its scripts and styles are static files (ES
    modules, the admin's CSS); it talks to its own REST API and business stream; message images
    and file icons are any https URL a message names (content URLs are absolute http(s))."""
    static = _static_origin()
    host = request.get_host()
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src 'self'{static}",
            f"style-src 'self'{static}",
            f"img-src 'self'{static} data: https:",
            f"font-src 'self'{static}",
            # 'self' covers same-origin ws(s) in current browsers; the explicit sources are
            # for the ones that predate CSP level 3.
            f"connect-src 'self' ws://{host} wss://{host}",
            "form-action 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "object-src 'none'",
        ]
    )


def content_security_policy(
    view: Callable[..., HttpResponse],
) -> Callable[..., HttpResponse]:
    """Serve ``view`` with ``staff_page_policy``. A header on the one view rather than a
    middleware: the app sets no policy for the rest of the site, and needs no dependency
    (Django 5.2 has no CSP of its own; django-csp would be a site-wide middleware)."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        response.headers["Content-Security-Policy"] = staff_page_policy(request)
        return response

    return wrapped


class ReadOnlyAdmin(admin.ModelAdmin):
    """Browse and search only; writes belong to the services."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ParticipantAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "kind", "external_id", "user", "created_at"]
    list_filter = ["kind", "created_at"]
    search_fields = ["display_name", *(kind.id_field for kind in Participant.Kind)]
    list_select_related = ["user"]
    date_hierarchy = "created_at"


class ConversationAdmin(ReadOnlyAdmin):
    list_display = [
        "__str__",
        "participant_kind",
        "last_message_preview",
        "last_activity_at",
        "last_sequence",
        "status",
        "assignee",
    ]
    list_filter = ["participant__kind", "status", "last_message_visibility", "last_activity_at"]
    search_fields = ["id", "participant__display_name", "last_message_preview"]
    list_select_related = ["participant"]
    readonly_fields = [
        "id",
        "participant",
        "channels",
        "last_sequence",
        *Conversation.SUMMARY_FIELDS,
        "participant_read_sequence",
        "status",
        "snoozed_until",
        "assignee",
        "merged_into",
        "created_at",
    ]

    @admin.display(description=_("participant kind"), ordering="participant__kind")
    def participant_kind(self, conversation: Conversation) -> str:
        return conversation.participant.get_kind_display()


class MessageAdmin(ReadOnlyAdmin):
    list_display = [
        "sequence",
        "conversation",
        "direction",
        "visibility",
        "content_type",
        "sender",
        "silent",
        "created_at",
    ]
    list_filter = ["direction", "visibility", "content_type", "silent", "sender_kind"]
    search_fields = ["preview_text", "=conversation__id", "conversation__participant__display_name"]
    list_select_related = ["conversation__participant"]
    readonly_fields = [
        "conversation",
        "sequence",
        "sender",
        "direction",
        "visibility",
        "content_type",
        "content",
        "preview_text",
        "silent",
        "badges",
        "app_id",
        "source_channel",
        "target_channels",
        "created_at",
    ]
    exclude = [
        "sender_kind",
        "sender_id",
        "sender_contact_id",
        "target_channel_ids",
        "source_channel_id",
        "idempotency_scope",
        "idempotency_key",
        "request_fingerprint",
    ]

    @admin.display(description=_("sender"), ordering="sender_kind")
    def sender(self, message: Message) -> str:
        return f"{message.sender_kind}: {message.sender_id}"


class AppAdmin(admin.ModelAdmin):
    """API keys: created through ``services.app_create``; the raw key is shown once, on the page
    that answers the creation (it is never stored, nor put in a cookie or the session)."""

    list_display = ["name", "key_prefix", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "key_prefix"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ["name"] if obj is None else ["id", "name", "key_prefix", "is_active", "created_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [] if obj is None else ["id", "key_prefix", "created_at"]

    def save_model(self, request: HttpRequest, obj: App, form: Any, change: bool) -> None:
        if change:
            services.app_update(app=obj, name=obj.name, is_active=obj.is_active)
            return
        app, raw_key = services.app_create(name=form.cleaned_data["name"])
        adopt_saved(obj, app)
        obj._inbox_raw_key = raw_key  # type: ignore[attr-defined]

    def response_add(
        self, request: HttpRequest, obj: App, post_url_continue: Any = None
    ) -> HttpResponse:
        raw_key = getattr(obj, "_inbox_raw_key", None)
        if raw_key is None:
            return super().response_add(request, obj, post_url_continue)
        return shown_once_response(
            self,
            request,
            obj,
            template="admin/inbox/app/key_created.html",
            title=f"API key of {obj.name}",
            app=obj,
            raw_key=raw_key,
        )


class StaffInboxAdmin(admin.ModelAdmin):
    """The staff inbox page: the conversation list, the open thread, the composer, live."""

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.has_perm(INBOX_VIEW_PERMISSION))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        name = f"{self.opts.app_label}_{self.opts.model_name}_changelist"
        view = self.admin_site.admin_view(content_security_policy(self.inbox_view))
        return [path("", view, name=name)]

    def inbox_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        user = request.user
        context = {
            **self.admin_site.each_context(request),
            "title": _("Staff inbox"),
            "opts": self.opts,
            "app_label": self.opts.app_label,
            "inbox_config": {
                "conversationsUrl": reverse("inbox:conversation-list"),
                "messagesUrl": reverse("inbox:message-list"),
                "attachmentsUrl": reverse("inbox:attachment-list"),
                "notificationSettingsUrl": reverse("inbox:notifications-notification-settings"),
                "socketPath": _business_socket_path(),
                "me": {"wixUserId": str(user_wire_id(user.pk))},
                "canSend": user.has_perm(INBOX_SEND_PERMISSION),
                "pageSize": 30,
                "resumeLimit": inbox_settings.SOCKET_MAX_RESUME_CONVERSATIONS,
                "participantKinds": _participant_kinds(),
                "i18n": js_catalog(get_language()),
                # Who a conversation can be assigned to (the assign menu).
                "assignableStaff": [assignee_json(staff) for staff in selectors.assignable_staff()],
                # The composer's "/" list (shared replies and the user's own).
                "savedRepliesUrl": reverse("inbox:saved-reply-list"),
            },
        }
        return TemplateResponse(request, "admin/inbox/inbox.html", context)


def _participant_kinds() -> list[dict[str, str]]:
    """Each participant kind with its wire key and label, for the page's script and filter."""
    return [
        {"kind": kind.value, "wireKey": kind.wire_key, "label": str(kind.label)}
        for kind in Participant.Kind
    ]


def _business_socket_path() -> str:
    for pattern in websocket_urlpatterns:
        if getattr(pattern, "name", None) == "inbox-business-stream":
            return "/" + str(pattern.pattern)
    return "/ws/inbox/business/"


def register_admin(site: admin.AdminSite) -> None:
    """Register the app's ModelAdmins and the staff inbox page on ``site``: a site with its own
    ``AdminSite`` calls this for it (``django.contrib.admin.site`` gets them below)."""
    site.register(Participant, ParticipantAdmin)
    site.register(Conversation, ConversationAdmin)
    site.register(Message, MessageAdmin)
    site.register(App, AppAdmin)
    site.register(StaffInbox, StaffInboxAdmin)
    site.register(WebhookEndpoint, WebhookEndpointAdmin)
    site.register(WebhookDelivery, WebhookDeliveryAdmin)
    site.register(SavedReply, SavedReplyAdmin)


register_admin(admin.site)
