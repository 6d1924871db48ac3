"""Request and response shapes of the webhook endpoints API (our extension to Wix's)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from inbox.realtime.registry import EVENT_TYPES
from inbox.webhooks.models import WebhookEndpoint


class EndpointRequestSerializer(serializers.Serializer[Any]):
    url = serializers.URLField(max_length=2000, help_text="Where events are POSTed.")
    eventTypes = serializers.ListField(
        child=serializers.ChoiceField(choices=sorted(EVENT_TYPES)),
        min_length=1,
        help_text="Event slugs (docs/events.md) the endpoint receives.",
    )
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    active = serializers.BooleanField(required=False, help_text="Receive events (default true).")
    format = serializers.ChoiceField(
        choices=WebhookEndpoint.Format.values,
        required=False,
        help_text="standard (Standard Webhooks, HMAC; the default) or wix (a JWT signed RS256 "
        "with the site's key, in Wix's webhook layout).",
    )


class EndpointUpdateSerializer(EndpointRequestSerializer):
    url = serializers.URLField(max_length=2000, required=False)
    eventTypes = serializers.ListField(
        child=serializers.ChoiceField(choices=sorted(EVENT_TYPES)), min_length=1, required=False
    )


class EndpointSerializer(serializers.Serializer[Any]):
    """An endpoint as listed: never its secret."""

    id = serializers.UUIDField()
    url = serializers.URLField()
    eventTypes = serializers.ListField(child=serializers.CharField())
    description = serializers.CharField()
    active = serializers.BooleanField()
    format = serializers.ChoiceField(choices=WebhookEndpoint.Format.values)
    disabledReason = serializers.CharField()
    createdDate = serializers.DateTimeField()


class EndpointWithSecretSerializer(serializers.Serializer[Any]):
    """The answer to a create or a rotation: the secret, shown this once."""

    endpoint = EndpointSerializer()
    secret = serializers.CharField(help_text="whsec_…: verify signatures with it; not shown again.")


class ReplayRequestSerializer(serializers.Serializer[Any]):
    since = serializers.DateTimeField(help_text="Deliver again every event recorded since then.")


class ReplayResponseSerializer(serializers.Serializer[Any]):
    deliveries = serializers.IntegerField(help_text="How many deliveries were queued.")


class PublicKeyResponseSerializer(serializers.Serializer[Any]):
    publicKey = serializers.CharField(
        help_text="PEM: wix-format receivers verify the JWT (RS256) with it."
    )


class EndpointResponseSerializer(serializers.Serializer[Any]):
    endpoint = EndpointSerializer()


class EndpointListResponseSerializer(serializers.Serializer[Any]):
    endpoints = EndpointSerializer(many=True)


def endpoint_json(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {
        "id": str(endpoint.pk),
        "url": endpoint.url,
        "eventTypes": list(endpoint.event_types),
        "description": endpoint.description,
        "active": endpoint.is_active,
        "format": endpoint.format,
        "disabledReason": endpoint.disabled_reason,
        "createdDate": endpoint.created_at.isoformat().replace("+00:00", "Z"),
    }
