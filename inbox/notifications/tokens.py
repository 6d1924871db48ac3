"""Unsubscribe tokens: a signed name of who unsubscribes, so the link works without a login."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.core import signing

SALT = "inbox.notifications.unsubscribe"


@dataclass(frozen=True)
class Subscriber:
    """Whom an unsubscribe token names: a participant, or a staff user (by primary key)."""

    participant_id: uuid.UUID | None = None
    user_pk: str | None = None


def unsubscribe_token(subscriber: Subscriber) -> str:
    if subscriber.participant_id is not None:
        payload = {"p": str(subscriber.participant_id)}
    else:
        payload = {"u": str(subscriber.user_pk)}
    return signing.dumps(payload, salt=SALT)


def read_unsubscribe_token(token: str) -> Subscriber | None:
    """The subscriber a token names, or None for anything not signed by us."""
    try:
        payload = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        return None
    if not isinstance(payload, dict):
        return None
    try:
        if "p" in payload:
            return Subscriber(participant_id=uuid.UUID(str(payload["p"])))
        if "u" in payload:
            return Subscriber(user_pk=str(payload["u"]))
    except ValueError:
        return None
    return None
