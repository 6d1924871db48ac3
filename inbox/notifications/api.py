"""``v2/notifications/settings``: a staff user reads and changes its own notification settings
(our extension; the staff page's toggle uses it)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from inbox.api.schema import extend_schema
from inbox.api.serializers import validated
from inbox.api.views import InboxViewSet
from inbox.exceptions import PermissionDenied
from inbox.identity import CallerKind
from inbox.notifications import selectors, services


class NotificationSettingsSerializer(serializers.Serializer[Any]):
    emailUnread = serializers.BooleanField(
        help_text="E-mail me about participant messages no staff user has read in time "
        "(INBOX['NOTIFY_STAFF_AFTER'])."
    )


class NotificationSettingsResponseSerializer(serializers.Serializer[Any]):
    settings = NotificationSettingsSerializer()


class NotificationSettingsViewSet(InboxViewSet):
    """Only a staff user who may open the inbox has these settings: they are about e-mails
    that link into the staff page."""

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if self.caller.kind is not CallerKind.STAFF:
            raise PermissionDenied(_("Only a staff user has notification settings"))
        self.require_business_read()

    @extend_schema(
        operation_id="getNotificationSettings",
        responses={200: NotificationSettingsResponseSerializer},
        summary="The staff user's notification settings (our extension)",
    )
    @action(detail=False, methods=["get"], url_path="settings")
    def notification_settings(self, request: Request) -> Response:
        return self._answer()

    @extend_schema(
        operation_id="updateNotificationSettings",
        request=NotificationSettingsSerializer,
        responses={200: NotificationSettingsResponseSerializer},
        summary="Turn the staff user's e-mail about unread messages on or off (our extension)",
    )
    @notification_settings.mapping.patch
    def update_notification_settings(self, request: Request) -> Response:
        values = validated(NotificationSettingsSerializer, request.data)
        services.staff_notifications_update(
            user=self.caller.user, email_unread=values["emailUnread"]
        )
        return self._answer()

    def _answer(self) -> Response:
        enabled = selectors.staff_email_enabled(user=self.caller.user)
        return Response({"settings": {"emailUnread": enabled}})
