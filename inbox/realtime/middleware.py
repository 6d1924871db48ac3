"""Authentication of WebSocket handshakes.

``InboxAuthMiddlewareStack`` is Channels' session stack (cookie, session, ``scope["user"]``) plus
the app's credentials: an ``Authorization`` header (non-browser clients) or ``?token=`` on the
handshake (browsers cannot set headers on a WebSocket). The credential is turned into an
``inbox.identity.Caller`` by the same functions the REST API uses, and removed from the scope's
query string so nothing downstream can log it.

The scope keeps what an open socket needs to check its caller again later
(``current_caller``): the session key (in ``scope["session"]``), the app (in the caller) and the
visitor token's expiry time, never the token itself.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any
from urllib.parse import parse_qsl, urlencode

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth import (
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    get_user_model,
    load_backend,
)
from django.core.exceptions import ValidationError
from django.utils.crypto import constant_time_compare

from inbox.identity import (
    Caller,
    CallerKind,
    app_key_cache,
    bare_credential,
    caller_for_app,
    caller_for_credential,
    caller_for_user,
    visitor_token_expires_at,
)

# Scope keys this middleware sets.
SCOPE_CALLER = "inbox_caller"
# True when a credential was presented and refused: the socket is closed even if a session
# would have identified someone, so a bad token never silently falls back to a cookie.
SCOPE_CREDENTIAL_REFUSED = "inbox_credential_refused"
# When the presented credential stops being valid (Unix time; visitor tokens), or None.
SCOPE_CREDENTIAL_EXPIRES = "inbox_credential_expires"

TOKEN_PARAM = "token"


def _split_token(query_string: bytes) -> tuple[str | None, bytes]:
    """The ``token`` query parameter, and the query string without it."""
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    token = None
    kept = []
    for name, value in pairs:
        if name == TOKEN_PARAM:
            token = value
        else:
            kept.append((name, value))
    return token, urlencode(kept).encode("latin-1")


def _header_credential(headers: list[tuple[bytes, bytes]]) -> str | None:
    for name, value in headers:
        if name.lower() == b"authorization":
            return value.decode("latin-1")
    return None


def _resolve(credential: str | None, user: Any) -> tuple[Caller | None, bool, float | None]:
    """(caller, credential refused?, when the credential expires)"""
    if credential is not None and credential.strip():
        caller = caller_for_credential(credential)
        expires = None
        if caller is not None and caller.kind is CallerKind.VISITOR:
            expires = visitor_token_expires_at(bare_credential(credential))
        return caller, caller is None, expires
    return caller_for_user(user), False, None


def session_user(session_key: str | None) -> Any:
    """The user a session names now, or None (logged out, expired, user deleted or inactive,
    password changed since login). What the handshake's ``channels.auth.get_user`` decides, read
    afresh from the session store; unlike it, this never flushes the session, which belongs to
    the browser, not to the socket."""
    if not session_key:
        return None
    session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    try:
        user_id = get_user_model()._meta.pk.to_python(session[SESSION_KEY])
        backend_path = session[BACKEND_SESSION_KEY]
    except (KeyError, ValidationError):
        return None
    if backend_path not in settings.AUTHENTICATION_BACKENDS:
        return None
    user = load_backend(backend_path).get_user(user_id)
    if user is None:
        return None
    if hasattr(user, "get_session_auth_hash"):
        session_hash = session.get(HASH_SESSION_KEY)
        if not session_hash:
            return None
        # As Django's get_user: the current secret, else one of SECRET_KEY_FALLBACKS (a rotated
        # key); the browser's next request re-hashes the session, this check only reads it.
        if not constant_time_compare(session_hash, user.get_session_auth_hash()) and not any(
            constant_time_compare(session_hash, fallback)
            for fallback in user.get_session_auth_fallback_hash()
        ):
            return None
    return user


def current_caller(caller: Caller, session_key: str | None) -> Caller | None:
    """``caller`` as its credential names it now, or None if the credential no longer names it:
    the app is switched off or deleted (through the app key cache, so within
    ``API_KEY_CACHE_SECONDS`` of a change made by another process), or the session no longer
    names this user as an active one. A visitor token's validity depends on time alone (the
    socket knows its expiry), so a visitor is returned unchanged. Database queries: none for a
    cached app key; for a session, the session, the user and (staff) its permissions."""
    if caller.kind is CallerKind.VISITOR:
        return caller
    if caller.kind is CallerKind.APP:
        app = app_key_cache.get(caller.app.key_hash) if caller.app is not None else None
        return caller_for_app(app) if app is not None and app.pk == caller.id else None
    fresh = caller_for_user(session_user(session_key))
    if fresh is None or fresh.id != caller.id:
        return None
    return fresh


class InboxCredentialMiddleware:
    """Sets ``scope["inbox_caller"]`` (a ``Caller`` or ``None``); runs inside the auth stack."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope.get("type") != "websocket":
            return await self.inner(scope, receive, send)
        token, query_string = _split_token(scope.get("query_string", b""))
        credential = _header_credential(scope.get("headers", [])) or token
        caller, refused, expires = await database_sync_to_async(_resolve)(
            credential, scope.get("user")
        )
        scope = {
            **scope,
            "query_string": query_string,
            SCOPE_CALLER: caller,
            SCOPE_CREDENTIAL_REFUSED: refused,
            SCOPE_CREDENTIAL_EXPIRES: expires,
        }
        return await self.inner(scope, receive, send)


def InboxAuthMiddlewareStack(inner: Any) -> Any:  # noqa: N802 - named like Channels' stacks
    return AuthMiddlewareStack(InboxCredentialMiddleware(inner))
