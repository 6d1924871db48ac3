"""The ``wix`` webhook format: the body is a JWT in Wix's webhook layout, signed RS256.

A receiver ported from Wix verifies it unchanged: ``jwt.verify(body, PUBLIC_KEY)``, then
``JSON.parse(payload.data)`` gives ``{eventType, instanceId, data, identity}``, and ``data`` and
``identity`` are JSON strings again (the domain event, and who caused it). The key pair is the
site's (``WebhookSigningKey``, made on first use or by ``manage.py inbox_webhook_key``); its
public key is shown on every endpoint's admin page.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.db import IntegrityError, transaction
from django.utils import timezone

from inbox.conf import inbox_settings
from inbox.models import INBOX_NAMESPACE
from inbox.webhooks.models import WebhookSigningKey

KEY_BITS = 2048
# Wix's identity types by the wire key of the sender (a contact has none of its own).
IDENTITY_TYPES = {
    "appId": "APP",
    "wixUserId": "WIX_USER",
    "memberId": "MEMBER",
    "anonymousVisitorId": "ANONYMOUS_VISITOR",
}


def _new_pair() -> tuple[str, str]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private_pem, public_pem


def signing_key() -> WebhookSigningKey:
    """The site's key pair, made the first time it is needed (two processes racing to make it
    insert the same primary key: one wins, the other reads the winner's)."""
    key = WebhookSigningKey.objects.filter(pk=1).first()
    if key is not None:
        return key
    private_pem, public_pem = _new_pair()
    try:
        with transaction.atomic():
            return WebhookSigningKey.objects.create(
                pk=1, private_key=private_pem, public_key=public_pem, created_at=timezone.now()
            )
    except IntegrityError:
        return WebhookSigningKey.objects.get(pk=1)


def signing_key_rotate() -> WebhookSigningKey:
    """A new key pair in place of the old one (receivers need the new public key at once)."""
    private_pem, public_pem = _new_pair()
    key, _ = WebhookSigningKey.objects.update_or_create(
        pk=1,
        defaults={
            "private_key": private_pem,
            "public_key": public_pem,
            "created_at": timezone.now(),
        },
    )
    return key


def instance_id() -> str:
    """``data.instanceId``: ``INBOX["WEBHOOK_WIX_INSTANCE_ID"]``, or one derived for the site."""
    configured = inbox_settings.WEBHOOK_WIX_INSTANCE_ID
    return str(configured) if configured else str(uuid.uuid5(INBOX_NAMESPACE, "instance"))


def identity(envelope: dict[str, Any]) -> dict[str, str]:
    """Who caused the event, as Wix's ``identity``: the sender of a message event, else
    ``UNKNOWN``."""
    data = envelope.get("data")
    message = data.get("message") if isinstance(data, dict) else None
    sender = message.get("sender") if isinstance(message, dict) else None
    for key, value in (sender or {}).items():
        if key in IDENTITY_TYPES:
            return {"identityType": IDENTITY_TYPES[key], key: value}
    return {"identityType": "UNKNOWN"}


def claims(envelope: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The JWT's claims for one event envelope (docs/events.md, "Webhooks")."""
    event = {
        "id": envelope["id"],
        "entityFqdn": envelope["entityFqdn"],
        "slug": envelope["slug"],
        "entityId": envelope["entityId"],
        "eventTime": envelope["eventTime"],
        "triggeredByAnonymizeRequest": False,
        "actionEvent": {"body": envelope["data"]},
    }
    data = {
        "eventType": f"{envelope['entityFqdn']}_{envelope['slug']}",
        "instanceId": instance_id(),
        "data": json.dumps(event, separators=(",", ":"), ensure_ascii=False),
        "identity": json.dumps(identity(envelope), separators=(",", ":")),
    }
    return {
        "data": json.dumps(data, separators=(",", ":"), ensure_ascii=False),
        "iat": int(now.timestamp()),
    }


def body(envelope: dict[str, Any], now: datetime) -> str:
    """The request body: the signed JWT (compact form)."""
    return jwt.encode(claims(envelope, now), signing_key().private_key, algorithm="RS256")
