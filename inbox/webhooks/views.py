"""``/v2/webhooks/endpoints``: an app manages the site's webhook endpoints (our extension)."""

from __future__ import annotations

import uuid
from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from inbox.api.schema import EmptyResponseSerializer, extend_schema
from inbox.api.serializers import validated
from inbox.api.views import InboxViewSet
from inbox.exceptions import PermissionDenied, WebhookEndpointNotFound
from inbox.identity import CallerKind
from inbox.webhooks import selectors, services, wix
from inbox.webhooks import serializers as s
from inbox.webhooks.models import WebhookEndpoint

ENDPOINT_ID = OpenApiParameter(
    "id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The endpoint's id."
)


class WebhookEndpointViewSet(InboxViewSet):
    """Endpoints are the site's, like its API keys: only apps (server-side key holders) manage
    them; staff use the admin."""

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if self.caller.kind is not CallerKind.APP:
            raise PermissionDenied(_("Only an app (API key) manages webhook endpoints"))

    def _endpoint(self, pk: str | None) -> WebhookEndpoint:
        try:
            return selectors.webhook_endpoints().get(pk=uuid.UUID(str(pk)))
        except (ValueError, WebhookEndpoint.DoesNotExist):
            raise WebhookEndpointNotFound() from None

    @extend_schema(
        operation_id="listWebhookEndpoints",
        responses={200: s.EndpointListResponseSerializer},
        summary="List webhook endpoints (our extension)",
    )
    def list(self, request: Request) -> Response:
        return Response({"endpoints": [s.endpoint_json(e) for e in selectors.webhook_endpoints()]})

    @extend_schema(
        operation_id="createWebhookEndpoint",
        request=s.EndpointRequestSerializer,
        responses={200: s.EndpointWithSecretSerializer},
        summary="Create a webhook endpoint; its secret is in this answer only (our extension)",
    )
    def create(self, request: Request) -> Response:
        values = validated(s.EndpointRequestSerializer, request.data)
        endpoint, secret = services.webhook_endpoint_create(
            url=values["url"],
            event_types=values["eventTypes"],
            description=values.get("description", ""),
            is_active=values.get("active", True),
            format=values.get("format", WebhookEndpoint.Format.STANDARD),
        )
        return Response({"endpoint": s.endpoint_json(endpoint), "secret": secret})

    @extend_schema(
        operation_id="getWebhookEndpoint",
        parameters=[ENDPOINT_ID],
        responses={200: s.EndpointResponseSerializer},
        summary="Get a webhook endpoint (our extension)",
    )
    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        return Response({"endpoint": s.endpoint_json(self._endpoint(pk))})

    @extend_schema(
        operation_id="updateWebhookEndpoint",
        parameters=[ENDPOINT_ID],
        request=s.EndpointUpdateSerializer,
        responses={200: s.EndpointResponseSerializer},
        summary="Change a webhook endpoint's URL, event types, description or active flag",
    )
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        values = validated(s.EndpointUpdateSerializer, request.data)
        endpoint = services.webhook_endpoint_update(
            endpoint=self._endpoint(pk),
            url=values.get("url"),
            event_types=values.get("eventTypes"),
            description=values.get("description"),
            is_active=values.get("active"),
            format=values.get("format"),
        )
        return Response({"endpoint": s.endpoint_json(endpoint)})

    @extend_schema(
        operation_id="deleteWebhookEndpoint",
        parameters=[ENDPOINT_ID],
        responses={200: EmptyResponseSerializer},
        summary="Delete a webhook endpoint and its delivery log (our extension)",
    )
    def destroy(self, request: Request, pk: str | None = None) -> Response:
        services.webhook_endpoint_delete(endpoint=self._endpoint(pk))
        return Response({})

    @extend_schema(
        operation_id="rotateWebhookEndpointSecret",
        parameters=[ENDPOINT_ID],
        request=None,
        responses={200: s.EndpointWithSecretSerializer},
        summary="A new secret, shown once; the old one also signs for 24 h (our extension)",
    )
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, pk: str | None = None) -> Response:
        endpoint = self._endpoint(pk)
        secret = services.webhook_endpoint_rotate_secret(endpoint=endpoint)
        return Response({"endpoint": s.endpoint_json(endpoint), "secret": secret})

    @extend_schema(
        operation_id="replayWebhookEndpoint",
        parameters=[ENDPOINT_ID],
        request=s.ReplayRequestSerializer,
        responses={200: s.ReplayResponseSerializer},
        summary="Deliver again every event of the endpoint's types recorded since a time "
        "(our extension)",
        description="Deliveries the endpoint had start over; events it had none for (it was off, "
        "or subscribed later) get one; as far back as the outbox keeps events. A switched-off "
        "endpoint answers 409 `WEBHOOK_ENDPOINT_INACTIVE`.",
    )
    @action(detail=True, methods=["post"], url_path="replay")
    def replay(self, request: Request, pk: str | None = None) -> Response:
        endpoint = self._endpoint(pk)
        values = validated(s.ReplayRequestSerializer, request.data)
        count = services.webhook_replay(endpoint=endpoint, since=values["since"])
        return Response({"deliveries": count})

    @extend_schema(
        operation_id="getWebhookPublicKey",
        responses={200: s.PublicKeyResponseSerializer},
        summary="The site's public key for wix-format webhooks (our extension)",
    )
    @action(detail=False, methods=["get"], url_path="public-key")
    def public_key(self, request: Request) -> Response:
        return Response({"publicKey": wix.signing_key().public_key})
