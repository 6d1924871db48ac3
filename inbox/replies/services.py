"""Every write of saved replies, with who may make it.

- A personal reply (``owner`` set) is its owner's alone: they create, change and delete it with
  no permission beyond opening the inbox; to everyone else it does not exist.
- A shared reply is the team's: creating one (or sharing a personal one) needs
  ``inbox.add_savedreply``, changing one (or taking it back as one's own) needs
  ``inbox.change_savedreply``, deleting one needs ``inbox.delete_savedreply``.

The caller is a staff user (``inbox.identity.Caller`` of kind STAFF, or a Django user from the
admin): selectors decide which replies they can name, these functions what they may do to them.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from inbox.exceptions import (
    RULE_MAX_LENGTH,
    RULE_MIN_LENGTH,
    PermissionDenied,
    ValidationFailed,
    Violation,
)
from inbox.replies.models import TEXT_MAX_LENGTH, TITLE_MAX_LENGTH, SavedReply

ADD_SHARED = "inbox.add_savedreply"
CHANGE_SHARED = "inbox.change_savedreply"
DELETE_SHARED = "inbox.delete_savedreply"


def _validate(*, title: str | None, text: str | None) -> None:
    violations = []
    for field, value, limit in (
        ("title", title, TITLE_MAX_LENGTH),
        ("text", text, TEXT_MAX_LENGTH),
    ):
        if value is None:
            continue
        if not value.strip():
            violations.append(Violation(field, "must not be blank", RULE_MIN_LENGTH))
        elif len(value) > limit:
            violations.append(
                Violation(field, f"must be at most {limit} characters", RULE_MAX_LENGTH)
            )
    if violations:
        raise ValidationFailed(violations)


def may_edit_saved_reply(user: Any, reply: SavedReply, *, permission: str = CHANGE_SHARED) -> bool:
    """May ``user`` change (or, with ``DELETE_SHARED``, delete) ``reply``?"""
    if reply.is_shared:
        return bool(user.has_perm(permission))
    return bool(reply.owner_id == user.pk)


def saved_reply_check(*, user: Any, reply: SavedReply | None, shared: bool | None) -> None:
    """``PermissionDenied`` unless ``user`` may save ``reply`` (None: a new one) with this
    sharing (None: unchanged)."""
    if reply is not None and not may_edit_saved_reply(user, reply):
        raise PermissionDenied(_("Changing a shared reply needs the permission to change them"))
    becomes_shared = bool(shared) and (reply is None or not reply.is_shared)
    if becomes_shared and not user.has_perm(ADD_SHARED):
        raise PermissionDenied(_("Creating a shared reply needs the permission to add them"))


def saved_reply_create(*, user: Any, title: str, text: str, shared: bool = False) -> SavedReply:
    """A new reply: ``user``'s own, or shared (which needs ``inbox.add_savedreply``)."""
    _validate(title=title, text=text)
    saved_reply_check(user=user, reply=None, shared=shared)
    return SavedReply.objects.create(title=title.strip(), text=text, owner=None if shared else user)


def saved_reply_update(
    *,
    user: Any,
    reply: SavedReply,
    title: str | None = None,
    text: str | None = None,
    shared: bool | None = None,
) -> SavedReply:
    """Change what is given. Sharing a personal reply is creating a shared one; making a shared
    reply personal makes it ``user``'s own (and hides it from everyone else)."""
    _validate(title=title, text=text)
    saved_reply_check(user=user, reply=reply, shared=shared)
    if title is not None:
        reply.title = title.strip()
    if text is not None:
        reply.text = text
    if shared is not None:
        reply.owner = None if shared else user
    reply.save()
    return reply


def saved_reply_delete(*, user: Any, reply: SavedReply) -> None:
    if not may_edit_saved_reply(user, reply, permission=DELETE_SHARED):
        raise PermissionDenied(_("Deleting a shared reply needs the permission to delete them"))
    reply.delete()
