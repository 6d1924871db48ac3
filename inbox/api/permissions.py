"""DRF permission classes of the inbox endpoints. What a caller may do is decided by the selectors
and services; here only that there is a caller at all."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import NotAuthenticated
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from inbox.identity import Caller


class HasCaller(BasePermission):
    """The request carries a :class:`~inbox.identity.Caller` (any credential was accepted)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not isinstance(request.auth, Caller):
            raise NotAuthenticated(_("Authentication credentials were not provided"))
        return True
