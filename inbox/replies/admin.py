"""Saved replies in the admin (``inbox.admin.register_admin`` registers them).

Every staff user who may open the inbox manages their own personal replies here; shared ones
need the saved-reply model permissions, as on the REST API (``services`` decides both). Nobody,
superusers included, sees a colleague's personal reply.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from inbox.exceptions import InboxError
from inbox.models import adopt_saved
from inbox.replies import selectors, services
from inbox.replies.models import SavedReply

INBOX_VIEW_PERMISSION = "inbox.view_message"


class SavedReplyForm(forms.ModelForm):
    shared = forms.BooleanField(
        label=_("Shared"),
        required=False,
        help_text=_("Every staff user sees a shared reply; a personal one is yours alone."),
    )

    class Meta:
        model = SavedReply
        fields = ["title", "text"]
        help_texts = {
            "text": _(
                "{name} and {first_name} become the participant's name when inserted; "
                "{first_name|there} says “there” when the name is unknown."
            )
        }

    # The user saving, set by ``SavedReplyAdmin.get_form`` on the class it builds per request.
    user: Any = None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        reply = None if self.instance._state.adding else self.instance
        try:
            services.saved_reply_check(user=self.user, reply=reply, shared=data.get("shared"))
        except InboxError as error:
            self.add_error("shared", str(error.message))
        return data


class SavedReplyAdmin(admin.ModelAdmin):
    form = SavedReplyForm
    list_display = ["title", "shared", "owner", "updated_at"]
    search_fields = ["title", "text"]
    fields = ["title", "text", "shared"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[SavedReply]:
        return selectors.saved_replies_for(request.user)

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form: Any = super().get_form(request, obj, change=change, **kwargs)
        form.base_fields["shared"].initial = obj.is_shared if obj is not None else False
        form.user = request.user
        return form

    @admin.display(description=_("shared"), boolean=True)
    def shared(self, reply: SavedReply) -> bool:
        return reply.is_shared

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm(INBOX_VIEW_PERMISSION))

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.has_perm(INBOX_VIEW_PERMISSION))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm(INBOX_VIEW_PERMISSION))

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is None:
            return bool(request.user.has_perm(INBOX_VIEW_PERMISSION))
        return services.may_edit_saved_reply(request.user, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is None:
            return bool(request.user.has_perm(INBOX_VIEW_PERMISSION))
        return services.may_edit_saved_reply(request.user, obj, permission=services.DELETE_SHARED)

    def save_model(self, request: HttpRequest, obj: SavedReply, form: Any, change: bool) -> None:
        data = form.cleaned_data
        if change:
            reply = SavedReply.objects.get(pk=obj.pk)
            services.saved_reply_update(
                user=request.user,
                reply=reply,
                title=data["title"],
                text=data["text"],
                shared=data["shared"],
            )
        else:
            reply = services.saved_reply_create(
                user=request.user, title=data["title"], text=data["text"], shared=data["shared"]
            )
        adopt_saved(obj, reply)

    def delete_model(self, request: HttpRequest, obj: SavedReply) -> None:
        services.saved_reply_delete(user=request.user, reply=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[SavedReply]) -> None:
        for reply in queryset:
            services.saved_reply_delete(user=request.user, reply=reply)
