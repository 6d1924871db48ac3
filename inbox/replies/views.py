"""``/v2/saved-replies``: a staff user's saved replies (our extension). Who may do what is in
``inbox.replies.services``; which replies a caller can name at all, in its selectors."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.request import Request
from rest_framework.response import Response

from inbox.api.parsers import query_request
from inbox.api.schema import EmptyResponseSerializer, extend_schema
from inbox.api.serializers import validated
from inbox.api.views import InboxViewSet
from inbox.exceptions import PermissionDenied
from inbox.identity import CallerKind
from inbox.replies import selectors, services
from inbox.replies import serializers as s
from inbox.replies.models import SavedReply

REPLY_ID = OpenApiParameter(
    "id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The saved reply's id."
)
LIST_PARAMETERS = [
    OpenApiParameter(
        "search", OpenApiTypes.STR, description="Title or text contains this (ignoring case)."
    ),
    OpenApiParameter(
        "paging.limit",
        OpenApiTypes.INT,
        description=f"At most this many (default {s.LIST_DEFAULT_LIMIT}, "
        f"at most {s.LIST_MAX_LIMIT}), by title.",
    ),
]


class SavedReplyViewSet(InboxViewSet):
    """Saved replies belong to staff users: apps, members and visitors never reach them."""

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if self.caller.kind is not CallerKind.STAFF:
            raise PermissionDenied(_("Saved replies are for staff users"))
        self.require_business_read()

    @property
    def user(self) -> Any:
        return self.caller.user

    def _reply(self, pk: str | None) -> SavedReply:
        return selectors.saved_reply_for(self.user, str(pk))

    @extend_schema(
        operation_id="listSavedReplies",
        parameters=LIST_PARAMETERS,
        responses={200: s.SavedReplyListResponseSerializer},
        summary="The shared saved replies and the caller's own, by title (our extension)",
    )
    def list(self, request: Request) -> Response:
        values = validated(s.ListRequestSerializer, query_request(request.query_params))
        limit = (values.get("paging") or {}).get("limit") or s.LIST_DEFAULT_LIMIT
        replies = selectors.saved_replies_for(self.user, search=values.get("search", "").strip())
        return Response({"savedReplies": [s.saved_reply_json(r) for r in replies[:limit]]})

    @extend_schema(
        operation_id="createSavedReply",
        request=s.SavedReplyRequestSerializer,
        responses={200: s.SavedReplyResponseSerializer},
        summary="Save a reply, personal or shared (our extension)",
    )
    def create(self, request: Request) -> Response:
        values = validated(s.SavedReplyRequestSerializer, request.data)
        reply = services.saved_reply_create(
            user=self.user,
            title=values["title"],
            text=values["text"],
            shared=values.get("shared", False),
        )
        return Response({"savedReply": s.saved_reply_json(reply)})

    @extend_schema(
        operation_id="getSavedReply",
        parameters=[REPLY_ID],
        responses={200: s.SavedReplyResponseSerializer},
        summary="Get a saved reply (our extension)",
    )
    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        return Response({"savedReply": s.saved_reply_json(self._reply(pk))})

    @extend_schema(
        operation_id="updateSavedReply",
        parameters=[REPLY_ID],
        request=s.SavedReplyUpdateSerializer,
        responses={200: s.SavedReplyResponseSerializer},
        summary="Change a saved reply's title, text or sharing (our extension)",
    )
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        values = validated(s.SavedReplyUpdateSerializer, request.data)
        reply = services.saved_reply_update(
            user=self.user,
            reply=self._reply(pk),
            title=values.get("title"),
            text=values.get("text"),
            shared=values.get("shared"),
        )
        return Response({"savedReply": s.saved_reply_json(reply)})

    @extend_schema(
        operation_id="deleteSavedReply",
        parameters=[REPLY_ID],
        responses={200: EmptyResponseSerializer},
        summary="Delete a saved reply (our extension)",
    )
    def destroy(self, request: Request, pk: str | None = None) -> Response:
        services.saved_reply_delete(user=self.user, reply=self._reply(pk))
        return Response({})
