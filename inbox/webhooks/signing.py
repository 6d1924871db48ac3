"""Standard Webhooks signatures (https://www.standardwebhooks.com/), with the reference library."""

from __future__ import annotations

import base64
import json
import secrets
from datetime import datetime
from typing import Any

from standardwebhooks.webhooks import Webhook

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A fresh signing secret: ``whsec_`` + 32 random bytes in base64 (what the spec suggests)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def body(payload: dict[str, Any]) -> str:
    """The request body: the event envelope as the sockets get it."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def headers(
    *, message_id: str, timestamp: datetime, body: str, secrets: list[str]
) -> dict[str, str]:
    """``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` (one ``v1,…`` per secret,
    space-separated, so a receiver holding either the old or the new secret verifies)."""
    signatures = [Webhook(secret).sign(message_id, timestamp, body) for secret in secrets]
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": " ".join(signatures),
        "content-type": "application/json",
    }
