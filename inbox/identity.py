"""Who is calling: an app (API key), a staff user, a member, or an anonymous visitor.

Every entry point (REST, WebSocket) turns its credentials into one ``Caller`` and asks it what it
may do; nothing else inspects users or keys.
"""

from __future__ import annotations

import enum
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from django.core import signing
from django.db.models.signals import post_delete, post_save

from inbox.conf import inbox_settings
from inbox.models import App, Message, Participant, user_wire_id

VISITOR_TOKEN_PREFIX = "vt."
VISITOR_TOKEN_SALT = "inbox.visitor-token"
API_KEY_PREFIX = "ibx_"


class CallerKind(enum.StrEnum):
    APP = "app"
    STAFF = "staff"
    MEMBER = "member"
    VISITOR = "visitor"


@dataclass(frozen=True)
class Caller:
    kind: CallerKind
    # The caller's GUID on the wire: app id, user GUID, member GUID or anonymous visitor id.
    id: uuid.UUID
    app: App | None = None
    user: Any = None

    @property
    def is_business(self) -> bool:
        return self.kind in (CallerKind.APP, CallerKind.STAFF)

    @property
    def is_participant(self) -> bool:
        return not self.is_business

    @property
    def scope(self) -> str:
        """Names the caller for per-caller state such as idempotency keys and throttles."""
        return f"{self.kind.value}:{self.id}"

    @property
    def sender_kind(self) -> str:
        return {
            CallerKind.APP: Message.SenderKind.APP,
            CallerKind.STAFF: Message.SenderKind.BUSINESS_USER,
            CallerKind.MEMBER: Message.SenderKind.MEMBER,
            CallerKind.VISITOR: Message.SenderKind.ANONYMOUS_VISITOR,
        }[self.kind]

    @property
    def participant_kind(self) -> str | None:
        return {
            CallerKind.MEMBER: Participant.Kind.MEMBER,
            CallerKind.VISITOR: Participant.Kind.ANONYMOUS_VISITOR,
        }.get(self.kind)

    def can_read_business(self) -> bool:
        if self.kind is CallerKind.APP:
            return True
        if self.kind is CallerKind.STAFF:
            return bool(self.user.has_perm("inbox.view_message"))
        return False

    def can_write_business(self) -> bool:
        if self.kind is CallerKind.APP:
            return True
        if self.kind is CallerKind.STAFF:
            return bool(self.user.has_perm("inbox.add_message"))
        return False


def caller_for_app(app: App) -> Caller:
    return Caller(kind=CallerKind.APP, id=app.id, app=app)


def caller_for_user(user: Any) -> Caller | None:
    """A logged-in Django user: staff work the business side, everyone else is a member."""
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    kind = CallerKind.STAFF if user.is_staff else CallerKind.MEMBER
    return Caller(kind=kind, id=user_wire_id(user.pk), user=user)


def caller_for_visitor(visitor_id: uuid.UUID) -> Caller:
    return Caller(kind=CallerKind.VISITOR, id=visitor_id)


def visitor_token_issue(visitor_id: uuid.UUID) -> str:
    return VISITOR_TOKEN_PREFIX + signing.dumps({"v": str(visitor_id)}, salt=VISITOR_TOKEN_SALT)


def visitor_token_read(token: str) -> uuid.UUID | None:
    """The visitor id a token names, or None if it is forged, malformed or expired."""
    if not token.startswith(VISITOR_TOKEN_PREFIX):
        return None
    try:
        payload = signing.loads(
            token[len(VISITOR_TOKEN_PREFIX) :],
            salt=VISITOR_TOKEN_SALT,
            max_age=inbox_settings.VISITOR_TOKEN_MAX_AGE,
        )
        return uuid.UUID(payload["v"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None


def visitor_token_expires_at(token: str) -> float | None:
    """When ``token`` stops being valid, as a Unix time (past if it has expired), under the
    ``VISITOR_TOKEN_MAX_AGE`` in force now; None if it is forged or malformed. Open sockets use
    it to close when their token expires."""
    if not token.startswith(VISITOR_TOKEN_PREFIX):
        return None
    signed = token[len(VISITOR_TOKEN_PREFIX) :]
    try:
        # Verifies the signature (not the age); the timestamp it covers is then authentic.
        signing.TimestampSigner(salt=VISITOR_TOKEN_SALT).unsign(signed)
        issued = signing.b62_decode(signed.rsplit(":", 2)[1])
    except (signing.BadSignature, IndexError, ValueError):
        return None
    return float(issued + inbox_settings.VISITOR_TOKEN_MAX_AGE)


class _AppKeyCache:
    """Active apps by key hash, for ``INBOX["API_KEY_CACHE_SECONDS"]`` per process.

    The lookup was a query on every API request (a tenth of the send path's CPU,
    docs/benchmarks.md). Saving or deleting an app drops the cache in the process that did it
    (signals below); other processes notice a revoked key within the TTL. Unknown keys are never
    cached, and the cache is bounded, so guessing keys cannot grow it.
    """

    MAX_ENTRIES = 10_000

    def __init__(self) -> None:
        self._entries: dict[str, tuple[App, float]] = {}
        self._lock = threading.Lock()
        self.clock = time.monotonic

    def get(self, key_hash: str) -> App | None:
        hit = self.cached(key_hash)
        if hit is not None:
            return hit
        ttl = inbox_settings.API_KEY_CACHE_SECONDS
        # key_hash is unique: no ORDER BY (which .first() would add).
        app = next(iter(App.objects.filter(key_hash=key_hash, is_active=True).order_by()), None)
        if app is not None and ttl:
            with self._lock:
                if len(self._entries) >= self.MAX_ENTRIES:
                    self._entries.clear()
                self._entries[key_hash] = (app, self.clock() + ttl)
        return app

    def cached(self, key_hash: str) -> App | None:
        """The app cached for ``key_hash`` while its entry is fresh, else None; no query."""
        hit = self._entries.get(key_hash)
        if hit is not None and hit[1] > self.clock() and inbox_settings.API_KEY_CACHE_SECONDS:
            return hit[0]
        return None

    def clear(self, **_: Any) -> None:
        with self._lock:
            self._entries.clear()


app_key_cache = _AppKeyCache()
post_save.connect(app_key_cache.clear, sender=App, dispatch_uid="inbox.app_key_cache.save")
post_delete.connect(app_key_cache.clear, sender=App, dispatch_uid="inbox.app_key_cache.delete")


def app_for_key(raw_key: str) -> App | None:
    if not raw_key.startswith(API_KEY_PREFIX):
        return None
    return app_key_cache.get(App.hash_key(raw_key))


def bare_credential(value: str) -> str:
    """An ``Authorization`` value (raw key, ``Bearer <key>`` or ``Bearer <visitor token>``)
    without the scheme and surrounding spaces."""
    value = value.strip()
    if value[:7].lower() == "bearer ":
        value = value[7:].strip()
    return value


def caller_for_credential(credential: str) -> Caller | None:
    """An ``Authorization`` value (raw key, ``Bearer <key>`` or ``Bearer <visitor token>``)."""
    credential = bare_credential(credential)
    if credential.startswith(VISITOR_TOKEN_PREFIX):
        visitor_id = visitor_token_read(credential)
        return caller_for_visitor(visitor_id) if visitor_id else None
    app = app_for_key(credential)
    return caller_for_app(app) if app else None
