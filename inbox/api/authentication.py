"""DRF authentication that turns credentials into an ``inbox.identity.Caller`` (``request.auth``)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext_lazy as _
from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from inbox.identity import Caller, caller_for_credential, caller_for_user


class CredentialAuthentication(BaseAuthentication):
    """``Authorization: <api key>``, ``Bearer <api key>`` or ``Bearer <visitor token>``."""

    def authenticate(self, request: Request) -> tuple[Any, Caller] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header.strip():
            return None
        caller = caller_for_credential(header)
        if caller is None:
            raise AuthenticationFailed(_("Invalid, revoked or expired credentials"))
        return AnonymousUser(), caller

    def authenticate_header(self, request: Request) -> str:
        # Also makes DRF answer 401 (not 403) to unauthenticated calls.
        return 'Bearer realm="inbox"'


class InboxSessionAuthentication(SessionAuthentication):
    """A logged-in Django user (staff or member); CSRF is enforced on unsafe methods."""

    def authenticate(self, request: Request) -> tuple[Any, Caller] | None:
        result = super().authenticate(request)
        if result is None:
            return None
        user = result[0]
        caller = caller_for_user(user)
        return (user, caller) if caller is not None else None
