"""Reads of attachments: which items of a content name one, their signed download links, and
the one decision of who may fetch a file (the visibility of the message that sent it, through
``inbox.selectors.visible_messages``, the function that decides it for messages)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from django.core import signing
from django.urls import reverse
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext_lazy as _

from inbox.attachments.models import Attachment
from inbox.conf import inbox_settings
from inbox.exceptions import PermissionDenied
from inbox.identity import Caller
from inbox.models import Message
from inbox.selectors import is_own_conversation, one_or_none, visible_messages

_SIGNING_SALT: Final = "inbox.attachment-url"
# Links are issued to expire on a whole multiple of this many seconds: every reader of a
# message within the same minute gets the same bytes (a REST list, its event and a replay
# agree, and browsers can cache the image), at the cost of up to a minute more of validity.
_EXPIRY_STEP: Final = 60
# The reader visibility a link is issued for, as carried in the link.
_AUDIENCE_KEYS: Final[dict[str, str]] = {
    Message.Visibility.BUSINESS_AND_PARTICIPANT: "p",
    Message.Visibility.BUSINESS: "b",
}
_AUDIENCE_BY_KEY: Final = {key: visibility for visibility, key in _AUDIENCE_KEYS.items()}


@dataclass(frozen=True)
class MediaReference:
    """A basic item naming an uploaded attachment: ``{"image"|"file": {"id": …}}``, no url."""

    index: int
    kind: str
    media_id: str
    path: str


def attachment_references(content: Mapping[str, Any]) -> list[MediaReference]:
    """The items of a (normalised or stored) content that name uploaded attachments."""
    basic = content.get("basic")
    if not isinstance(basic, dict):
        return []
    found = []
    for index, item in enumerate(basic.get("items") or ()):
        for kind in ("image", "file"):
            media = item.get(kind) if isinstance(item, dict) else None
            if isinstance(media, dict) and "url" not in media and media.get("id"):
                path = f"message.content.basic.items[{index}].{kind}"
                found.append(MediaReference(index, kind, str(media["id"]), path))
    return found


def _signature(attachment_id: str, expires: int, audience: str) -> str:
    return signing.Signer(salt=_SIGNING_SALT).signature(f"{attachment_id}:{expires}:{audience}")


def download_link(
    attachment_id: str, *, visibility: str, now: float | None = None
) -> tuple[str, int]:
    """A signed link to an attachment of a message with ``visibility``, and when it expires
    (seconds since the epoch)."""
    links, expires = download_links(attachment_id, visibility=visibility, now=now)
    return links["content"], expires


def download_links(
    attachment_id: str, *, visibility: str, now: float | None = None
) -> tuple[dict[str, str], int]:
    """The signed links to an attachment (``content``) and to its thumbnail (``thumbnail``),
    and when both expire. They carry the same signature: the thumbnail is the same image,
    smaller, for the same readers."""
    issued = time.time() if now is None else now
    max_age = int(inbox_settings.ATTACHMENT_URL_MAX_AGE)
    expires = -(-int(issued + max_age) // _EXPIRY_STEP) * _EXPIRY_STEP
    audience = _AUDIENCE_KEYS[visibility]
    query = f"expires={expires}&v={audience}&sig={_signature(attachment_id, expires, audience)}"
    links = {
        variant: inbox_settings.ATTACHMENT_URL_BASE
        + reverse(f"inbox:attachment-{variant}", kwargs={"attachment_id": attachment_id})
        + f"?{query}"
        for variant in ("content", "thumbnail")
    }
    return links, expires


def with_download_urls(content: dict[str, Any], *, visibility: str) -> dict[str, Any]:
    """``content`` (stored JSON) with a fresh signed ``url`` and its ``urlExpiration`` on every
    item naming an uploaded attachment; the stored JSON is not changed."""
    references = attachment_references(content)
    if not references:
        return content
    basic = dict(content["basic"])
    items = list(basic["items"])
    for reference in references:
        links, expires = download_links(reference.media_id, visibility=visibility)
        item = dict(items[reference.index])
        expiration = datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        media = {**item[reference.kind], "url": links["content"], "urlExpiration": expiration}
        if reference.kind == "image":
            media["thumbnailUrl"] = links["thumbnail"]
        item[reference.kind] = media
        items[reference.index] = item
    basic["items"] = items
    return {**content, "basic": basic}


def attachment_for_download(
    *, attachment_id: str, expires: str, audience: str, signature: str, caller: Caller | None
) -> Attachment:
    """The attachment a signed link names, if the link is genuine and unexpired and the message
    that sent it is visible at the link's visibility, and (when the request says who it is
    from) to that caller. Anything else is the same ``PERMISSION_DENIED``, so links cannot be
    probed: a wrong id, a forged or expired link, an unsent file, an internal note's file on a
    participant's link or fetched by a participant."""
    denied = PermissionDenied(_("This link is not valid (expired, forged, or not yours)"))
    visibility = _AUDIENCE_BY_KEY.get(audience)
    try:
        parsed_id, expiry = uuid.UUID(attachment_id), int(expires)
    except ValueError:
        raise denied from None
    expected = _signature(str(parsed_id), expiry, audience)
    if visibility is None or not constant_time_compare(expected, signature) or expiry < time.time():
        raise denied
    if caller is not None and caller.is_participant:
        visibility = Message.Visibility.BUSINESS_AND_PARTICIPANT
    attachment = one_or_none(
        Attachment.objects.select_related("message__conversation__participant").filter(
            pk=parsed_id, message__isnull=False
        )
    )
    if attachment is None:
        raise denied
    # The message's conversation, not the upload's: a merge moves messages, not attachments.
    conversation = attachment.message.conversation
    visible = visible_messages(conversation_id=conversation.pk, visibility=visibility)
    if not visible.filter(pk=attachment.message_id).exists():
        raise denied
    if caller is not None and caller.is_participant:
        if not is_own_conversation(caller=caller, conversation=conversation):
            raise denied
    elif caller is not None and not caller.can_read_business():
        raise denied
    return attachment
