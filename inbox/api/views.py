"""The REST API: Wix Inbox v2's endpoints plus our extensions (contract §3).

Viewsets are configuration plus delegation: parse the request (serializers), ask selectors what
the caller may see, call a service to write, shape the answer with ``inbox.wire``.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from inbox import selectors, services
from inbox.api import serializers as s
from inbox.api.authentication import CredentialAuthentication, InboxSessionAuthentication
from inbox.api.errors import exception_handler
from inbox.api.filters import filter_conversations
from inbox.api.negotiation import JSONOnlyNegotiation
from inbox.api.pagination import (
    CONVERSATION_DEFAULT_LIMIT,
    CONVERSATION_MAX_LIMIT,
    DEFAULT_LIMIT,
    MAX_LIMIT,
    CursorPosition,
    conversation_cursor_dump,
    conversation_cursor_load,
    cursor_load,
    paging_metadata,
)
from inbox.api.parsers import (
    WixJSONParser,
    adopt_unsized_body,
    query_request,
    refuse_oversized_body,
)
from inbox.api.permissions import HasCaller
from inbox.api.schema import (
    CONVERSATION_LIST_PARAMETERS,
    IDEMPOTENCY_KEY_PARAMETER,
    MESSAGE_LIST_PARAMETERS,
    AssignResponseSerializer,
    AvailabilityResponseSerializer,
    EmptyResponseSerializer,
    GetConversationResponseSerializer,
    GetOrCreateConversationResponseSerializer,
    InboxAutoSchema,
    ListConversationsResponseSerializer,
    ListMessagesResponseSerializer,
    ReadResponseSerializer,
    SendMessageResponseSerializer,
    StatusResponseSerializer,
    VisitorClaimResponseSerializer,
    VisitorResponseSerializer,
    extend_schema,
)
from inbox.api.throttling import CallerRateThrottle, VisitorCreateThrottle
from inbox.exceptions import (
    RULE_FORMAT,
    RULE_REQUIRED,
    NotJoinedChatroom,
    PermissionDenied,
    ValidationFailed,
)
from inbox.identity import Caller, visitor_token_issue, visitor_token_read
from inbox.models import Conversation, Participant
from inbox.presence import selectors as presence_selectors
from inbox.wire import (
    assignee_json,
    conversation_json,
    conversation_row_json,
    message_json,
    status_json,
)

IDEMPOTENCY_HEADER = "HTTP_IDEMPOTENCY_KEY"


class InboxViewSet(viewsets.ViewSet):
    """Settings every inbox endpoint shares, independent of the site's ``REST_FRAMEWORK``."""

    authentication_classes = [CredentialAuthentication, InboxSessionAuthentication]
    permission_classes = [HasCaller]
    parser_classes = [WixJSONParser]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = JSONOnlyNegotiation
    # Error envelope, credentials and object-shaped lists in the OpenAPI schema.
    schema = InboxAutoSchema()
    # Per caller, INBOX["THROTTLE_RATES"] (429 + Retry-After in the envelope).
    throttle_classes: list[Any] = [CallerRateThrottle]

    def initialize_request(self, request: Any, *args: Any, **kwargs: Any) -> Request:
        adopt_unsized_body(request)  # chunked bodies: parsed and size-capped like sized ones
        return super().initialize_request(request, *args, **kwargs)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        refuse_oversized_body(request)
        super().initial(request, *args, **kwargs)

    def get_exception_handler(self) -> Any:
        return exception_handler

    @property
    def caller(self) -> Caller:
        assert isinstance(self.request.auth, Caller)
        return self.request.auth

    def require_business_read(self) -> None:
        if not self.caller.can_read_business():
            raise PermissionDenied(_("This endpoint needs business-side read permission"))

    def require_business_write(self) -> None:
        if not self.caller.can_write_business():
            raise PermissionDenied(_("This endpoint needs business-side send permission"))


def _uuid_path(value: str, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise ValidationFailed.single(field, "must be a GUID", RULE_FORMAT) from None


class ConversationViewSet(InboxViewSet):
    """Conversations: Wix's get-or-create and get, plus our staff list and read cursor."""

    lookup_field = "conversation_id"
    lookup_value_regex = "[^/]+"

    def require_business_writer(self, refusal: str | Promise) -> None:
        """Business side with send permission; a participant is refused for any id alike."""
        if self.caller.is_participant:
            raise PermissionDenied(refusal)
        self.require_business_write()

    def named_conversation(self, conversation_id: str) -> Conversation:
        return selectors.conversation_for_caller(
            caller=self.caller, conversation_id=_uuid_path(conversation_id, "conversationId")
        )

    @extend_schema(
        operation_id="getOrCreateConversation",
        request=s.GetOrCreateConversationRequestSerializer,
        responses={200: GetOrCreateConversationResponseSerializer},
        summary="Get or create the conversation of a participant",
    )
    def create(self, request: Request) -> Response:
        caller = self.caller
        data = request.data
        if caller.is_participant:
            given = s.parse_participant_id(data, required=False)
            if given is not None and (given[0] != caller.sender_kind or given[1] != caller.id):
                raise NotJoinedChatroom(_("A participant may only open its own conversation"))
            assert caller.participant_kind is not None
            kind, external_id = caller.participant_kind, caller.id
        else:
            self.require_business_write()
            given = s.parse_participant_id(data, required=True)
            assert given is not None
            kind, external_id = Participant.Kind.for_wire_key(given[0]), given[1]
        conversation, created = services.conversation_get_or_create(
            kind=kind, external_id=external_id, user=caller.user if caller.is_participant else None
        )
        if caller.is_participant and not selectors.is_own_conversation(
            caller=caller, conversation=conversation
        ):
            # A visitor whose conversation a member has claimed no longer owns it.
            raise NotJoinedChatroom()
        return Response(
            {"conversation": conversation_json(conversation), "newConversation": created}
        )

    @extend_schema(
        operation_id="getConversation",
        responses={200: GetConversationResponseSerializer},
        summary="Get a conversation",
    )
    def retrieve(self, request: Request, conversation_id: str) -> Response:
        if self.caller.is_business:
            self.require_business_read()
        conversation = selectors.conversation_for_caller(
            caller=self.caller, conversation_id=_uuid_path(conversation_id, "conversationId")
        )
        return Response({"conversation": conversation_json(conversation)})

    @extend_schema(
        operation_id="listConversations",
        parameters=CONVERSATION_LIST_PARAMETERS,
        responses={200: ListConversationsResponseSerializer},
        summary="List conversations for the staff inbox, newest activity first (our extension)",
    )
    def list(self, request: Request) -> Response:
        if self.caller.is_participant:
            raise PermissionDenied(_("Only the business side lists conversations"))
        self.require_business_read()
        params = query_request(request.query_params)
        limit, cursor = s.parse_conversation_paging(
            params, default_limit=CONVERSATION_DEFAULT_LIMIT, max_limit=CONVERSATION_MAX_LIMIT
        )
        queryset, filters = filter_conversations(
            selectors.conversation_list_for_staff(caller=self.caller), params, caller=self.caller
        )
        after = conversation_cursor_load(cursor, filters=filters) if cursor else None
        page = selectors.conversation_page(queryset, limit=limit, after=after)
        cursors = {}
        if page.has_more:
            last = page.conversations[-1]
            cursors["next"] = conversation_cursor_dump(
                position=selectors.ConversationPosition(
                    last_activity_at=last.last_activity_at, conversation_id=last.pk
                ),
                filters=filters,
            )
        return Response(
            {
                "conversations": [conversation_row_json(row) for row in page.conversations],
                "pagingMetadata": {"count": len(page.conversations), "cursors": cursors},
            }
        )

    @extend_schema(
        operation_id="markConversationRead",
        request=s.ReadRequestSerializer,
        responses={200: ReadResponseSerializer},
        summary="Move the caller's read cursor forward (our extension; participants too)",
    )
    @action(detail=True, methods=["post"], url_path="read")
    def read(self, request: Request, conversation_id: str) -> Response:
        caller = self.caller
        if caller.is_business:
            self.require_business_read()
        conversation = selectors.conversation_for_caller(
            caller=caller, conversation_id=_uuid_path(conversation_id, "conversationId")
        )
        state = services.conversation_mark_read(
            caller=caller, conversation=conversation, sequence=s.parse_read_request(request.data)
        )
        return _read_state_response(conversation, state)

    @extend_schema(
        operation_id="setConversationStatus",
        request=s.StatusRequestSerializer,
        responses={200: StatusResponseSerializer},
        summary="Open, snooze or close a conversation (business side; our extension)",
    )
    @action(detail=True, methods=["post"], url_path="status")
    def status(self, request: Request, conversation_id: str) -> Response:
        self.require_business_writer(_("Only the business side changes a conversation's status"))
        status, snoozed_until = s.parse_status_request(request.data)
        conversation = self.named_conversation(conversation_id)
        change = services.conversation_set_status(
            caller=self.caller,
            conversation=conversation,
            status=status,
            snoozed_until=snoozed_until,
        )
        return Response(
            {
                "conversationId": str(conversation.pk),
                **status_json(conversation),
                "changed": change.changed,
            }
        )

    @extend_schema(
        operation_id="assignConversation",
        request=s.AssignRequestSerializer,
        responses={200: AssignResponseSerializer},
        summary="Assign a conversation to a staff user, or to nobody (business side; our extension)",
    )
    @action(detail=True, methods=["post"], url_path="assignee")
    def assignee(self, request: Request, conversation_id: str) -> Response:
        self.require_business_writer(_("Only the business side assigns conversations"))
        assignee_id = s.parse_assign_request(request.data)
        conversation = self.named_conversation(conversation_id)
        change = services.conversation_assign(
            caller=self.caller, conversation=conversation, assignee_id=assignee_id
        )
        return Response(
            {
                "conversationId": str(conversation.pk),
                "assignee": assignee_json(change.assignee),
                "changed": change.changed,
            }
        )

    @extend_schema(
        operation_id="markConversationUnread",
        request=None,
        responses={200: ReadResponseSerializer},
        summary="Move the caller's read cursor back before the last message (staff; our extension)",
    )
    @action(detail=True, methods=["post"], url_path="unread")
    def unread(self, request: Request, conversation_id: str) -> Response:
        if self.caller.is_participant:
            raise PermissionDenied(_("Only staff users mark a conversation unread"))
        self.require_business_read()
        conversation = self.named_conversation(conversation_id)
        state = services.conversation_mark_unread(caller=self.caller, conversation=conversation)
        return _read_state_response(conversation, state)


class MessageViewSet(InboxViewSet):
    """Messages: Wix's list and send, plus our button interactions."""

    @extend_schema(
        operation_id="listMessages",
        parameters=MESSAGE_LIST_PARAMETERS,
        responses={200: ListMessagesResponseSerializer},
        summary="List the messages of a conversation",
    )
    def list(self, request: Request) -> Response:
        caller = self.caller
        if caller.is_business:
            self.require_business_read()
        params = s.parse_list_request(
            query_request(request.query_params), default_limit=DEFAULT_LIMIT, max_limit=MAX_LIMIT
        )
        visibility = selectors.reader_visibility(caller=caller, requested=params.visibility)
        conversation_id = selectors.conversation_id_for_caller(
            caller=caller, conversation_id=params.conversation_id
        )
        position = (
            cursor_load(
                params.cursor,
                conversation_id=conversation_id,
                visibility=visibility,
                order=params.order,
            )
            if params.cursor
            else CursorPosition()
        )
        page = selectors.message_page(
            conversation_id=conversation_id,
            visibility=visibility,
            order=params.order,
            limit=params.limit,
            after=position.after,
            before=position.before,
        )
        return Response(
            {
                "messages": [message_json(message) for message in page.messages],
                "pagingMetadata": paging_metadata(
                    page,
                    conversation_id=conversation_id,
                    visibility=visibility,
                    order=params.order,
                    position=position,
                ),
            }
        )

    @extend_schema(
        operation_id="sendMessage",
        request=s.SendMessageRequestSerializer,
        responses={200: SendMessageResponseSerializer},
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        summary="Send a message",
    )
    def create(self, request: Request) -> Response:
        caller = self.caller
        if caller.is_business:
            self.require_business_write()
        idempotency_key = _idempotency_key(request)
        send = s.parse_send_request(request.data, app_id=caller.app.id if caller.app else None)
        if send.conversation_id is None and caller.is_business:
            raise ValidationFailed.single("conversationId", "is required", RULE_REQUIRED)
        # By id: the service checks who may send there (and that it exists) as it writes.
        message, _replayed = services.message_send(
            caller=caller,
            conversation=send.conversation_id,
            draft=send.draft,
            send_as=send.send_as,
            business_user_id=send.business_user_id,
            idempotency_key=idempotency_key,
            fingerprint=send.fingerprint,
        )
        return Response({"message": message_json(message)})

    @extend_schema(
        operation_id="interactWithMessage",
        request=s.InteractionRequestSerializer,
        responses={200: EmptyResponseSerializer},
        summary="Press a postback button of a template message (participant; our extension)",
    )
    @action(detail=False, methods=["post"], url_path="interactions")
    def interactions(self, request: Request) -> Response:
        interaction = s.parse_interaction_request(request.data)
        message = selectors.message_for_participant(
            caller=self.caller,
            message_id=interaction.message_id,
            conversation_id=interaction.conversation_id,
        )
        services.message_interact(
            caller=self.caller, message=message, interaction_id=interaction.interaction_id
        )
        return Response({})


def _read_state_response(conversation: Any, state: services.ReadState) -> Response:
    return Response(
        {
            "conversationId": str(conversation.pk),
            "readBy": state.read_by,
            "sequence": str(state.sequence),
        }
    )


def _idempotency_key(request: Request) -> str | None:
    key = request.META.get(IDEMPOTENCY_HEADER)
    if key is None:
        return None
    if not (1 <= len(key) <= 255) or not key.isascii() or not key.isprintable():
        raise ValidationFailed.single(
            "Idempotency-Key", "must be 1 to 255 printable ASCII characters", RULE_FORMAT
        )
    return key


class AvailabilityViewSet(InboxViewSet):
    """Whether the team is there (our extension): what the widget shows."""

    @extend_schema(
        operation_id="getAvailability",
        responses={200: AvailabilityResponseSerializer},
        summary="Whether anyone of the team is online, else when they reply (our extension)",
    )
    def list(self, request: Request) -> Response:
        if self.caller.is_business:
            self.require_business_read()
        availability = presence_selectors.availability().as_json()
        if self.caller.is_business:
            # Who is online is the team's business; participants learn only whether anyone is.
            availability["onlineStaff"] = presence_selectors.online_staff()
        return Response({"availability": availability})


class VisitorViewSet(InboxViewSet):
    """Anonymous visitors: a visitor id and its signed token (our extension)."""

    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []
    # Minting visitor ids needs no credentials: limited per client IP.
    throttle_classes: list[Any] = [VisitorCreateThrottle]

    @extend_schema(
        operation_id="createVisitor",
        request=None,
        responses={200: VisitorResponseSerializer},
        summary="Issue an anonymous visitor id and its token (our extension)",
    )
    def create(self, request: Request) -> Response:
        visitor_id = services.visitor_create()
        return Response(
            {"anonymousVisitorId": str(visitor_id), "token": visitor_token_issue(visitor_id)}
        )

    @extend_schema(
        operation_id="claimVisitor",
        request=s.VisitorClaimRequestSerializer,
        responses={200: VisitorClaimResponseSerializer},
        summary="A logged-in member takes over its visitor conversation (our extension)",
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="claim",
        authentication_classes=[CredentialAuthentication, InboxSessionAuthentication],
        permission_classes=[HasCaller],
        throttle_classes=[CallerRateThrottle],
    )
    def claim(self, request: Request) -> Response:
        values = s.validated(s.VisitorClaimRequestSerializer, request.data)
        visitor_id = visitor_token_read(values["token"])
        if visitor_id is None:
            raise ValidationFailed.single(
                "token", "is not a valid visitor token (forged, malformed or expired)", RULE_FORMAT
            )
        conversation, merged = services.visitor_claim(caller=self.caller, visitor_id=visitor_id)
        return Response({"conversation": conversation_json(conversation), "merged": merged})
