"""Every write of attachments: upload, binding to the message that sends them, the orphan sweep."""

from __future__ import annotations

import dataclasses
import logging
import unicodedata
import uuid
from collections.abc import Sequence
from datetime import timedelta
from math import ceil
from typing import IO, Any

from django.core.files.base import ContentFile, File
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.utils import timezone

from inbox.attachments.images import ImageRefused, clean_image
from inbox.attachments.models import Attachment, attachment_storage
from inbox.attachments.selectors import MediaReference, attachment_references
from inbox.attachments.sniffing import EXTENSIONS, RASTER_IMAGE_TYPES, SNIFF_BYTES, sniff_type
from inbox.conf import inbox_settings, merged_setting
from inbox.content import NormalizedContent, derive_preview_text
from inbox.exceptions import (
    RULE_EXISTS,
    RULE_MIN_SIZE,
    RULE_NOT_ALLOWED,
    RULE_REQUIRED,
    AttachmentTooLarge,
    IdempotencyConflict,
    NotJoinedChatroom,
    UploadQuotaExceeded,
    ValidationFailed,
    Violation,
)
from inbox.identity import Caller
from inbox.models import Conversation, Message
from inbox.selectors import conversation_for_caller, is_own_conversation, one_or_none

logger = logging.getLogger("inbox")

_FILE_FIELD = "file"
_MAX_FILENAME = 255


def attachment_upload(
    *,
    caller: Caller,
    conversation_id: uuid.UUID | None,
    file: IO[bytes],
    filename: str,
    size: int,
    idempotency_key: str | None = None,
) -> Attachment:
    """Store an uploaded file for ``caller`` in a conversation it may write to; returns it.

    A participant uploads into its own conversation (``conversation_id`` may be omitted: it is
    then opened, as a first message would); a business caller names one. The file's type is
    sniffed from its bytes and must be in ``ATTACHMENT_ALLOWED_TYPES``; images are decoded and
    re-encoded without metadata. The row is written only after the file is completely stored,
    and the stored file is removed again if the row cannot be written: nothing is left behind.

    With ``idempotency_key``, a retry (same caller, key, conversation and file name) gets the
    attachment of the first upload back, stored once; the same key for another file is a 409.
    """
    conversation = _conversation_to_upload_into(caller=caller, conversation_id=conversation_id)
    if idempotency_key is not None:
        earlier = _earlier_upload(caller, idempotency_key, conversation, filename)
        if earlier is not None:
            return earlier
    limit = int(inbox_settings.ATTACHMENT_MAX_BYTES)
    if size > limit:
        raise AttachmentTooLarge.over(limit)
    if size == 0:
        raise ValidationFailed.single(_FILE_FIELD, "is empty", RULE_MIN_SIZE)
    mime_type = _allowed_type(file)
    width = height = None
    content: File[Any] = File(file)
    thumbnail: bytes | None = None
    if mime_type in RASTER_IMAGE_TYPES:
        try:
            image = clean_image(
                file,
                mime_type=mime_type,
                thumbnail_size=int(inbox_settings.ATTACHMENT_THUMBNAIL_SIZE),
            )
        except ImageRefused as refused:
            raise ValidationFailed.single(_FILE_FIELD, str(refused), RULE_NOT_ALLOWED) from None
        content, size = ContentFile(image.data), len(image.data)
        width, height, thumbnail = image.width, image.height, image.thumbnail
    _check_quota(caller=caller, size=size)
    attachment_id = uuid.uuid4()
    base = f"inbox/attachments/{timezone.now():%Y/%m}/{attachment_id}"
    extension = EXTENSIONS[mime_type]
    storage = attachment_storage()
    stored: list[str] = []
    try:
        stored.append(storage.save(f"{base}.{extension}", content))
        if thumbnail is not None:
            stored.append(storage.save(f"{base}.thumb.{extension}", ContentFile(thumbnail)))
        with transaction.atomic():
            attachment = Attachment.objects.create(
                id=attachment_id,
                conversation=conversation,
                uploader_scope=caller.scope,
                idempotency_key=idempotency_key,
                storage_name=stored[0],
                thumbnail_name=stored[1] if len(stored) > 1 else "",
                filename=_display_name(filename, mime_type),
                mime_type=mime_type,
                size=size,
                width=width,
                height=height,
            )
    except BaseException as error:
        for name in stored:
            storage.delete(name)
        if idempotency_key is not None and isinstance(error, IntegrityError):
            # A concurrent retry with the same key stored it first: that upload is this one.
            earlier = _earlier_upload(caller, idempotency_key, conversation, filename)
            if earlier is not None:
                return earlier
        raise
    return attachment


def _earlier_upload(
    caller: Caller, key: str, conversation: Conversation, filename: str
) -> Attachment | None:
    earlier = one_or_none(
        Attachment.objects.filter(uploader_scope=caller.scope, idempotency_key=key)
    )
    if earlier is None:
        return None
    same_name = _display_name(filename, earlier.mime_type) == earlier.filename
    if earlier.conversation_id != conversation.pk or not same_name:
        raise IdempotencyConflict()
    return earlier


def _check_quota(*, caller: Caller, size: int) -> None:
    """Refuse ``size`` more bytes from ``caller`` if they would take it past its quota (429
    with when it may try again; 413 for a file larger than the whole quota).

    Counted from the rows it stored within the window, so every server process agrees. Two
    uploads racing past the check may overshoot the quota by at most the files in flight.
    """
    quota = merged_setting("ATTACHMENT_QUOTA_BYTES").get(caller.kind.value)
    if quota is None:
        return
    window = timedelta(seconds=inbox_settings.ATTACHMENT_QUOTA_WINDOW_SECONDS)
    now = timezone.now()
    recent = Attachment.objects.filter(uploader_scope=caller.scope, created_at__gte=now - window)
    used = recent.aggregate(total=Sum("size"))["total"] or 0
    if used + size <= quota:
        return
    if size > quota:
        raise AttachmentTooLarge.over(quota)  # waiting would never help
    # The upload fits once enough of the oldest ones have left the window.
    freed, retry_after = 0, 1
    for created_at, stored_size in recent.order_by("created_at").values_list("created_at", "size"):
        freed += stored_size
        if used - freed + size <= quota:
            retry_after = ceil((created_at + window - now).total_seconds())
            break
    raise UploadQuotaExceeded.over(quota=quota, used=used, retry_after=retry_after)


def _conversation_to_upload_into(
    *, caller: Caller, conversation_id: uuid.UUID | None
) -> Conversation:
    if conversation_id is not None:
        return conversation_for_caller(caller=caller, conversation_id=conversation_id)
    if not caller.is_participant:
        raise ValidationFailed.single("conversationId", "is required", RULE_REQUIRED)
    # Imported here, not at the top: inbox.services (whose messages module imports this one)
    # must finish loading first when this module is the first of the two to be imported.
    from inbox.services.conversations import conversation_get_or_create

    assert caller.participant_kind is not None
    conversation, _ = conversation_get_or_create(
        kind=caller.participant_kind, external_id=caller.id, user=caller.user
    )
    if not is_own_conversation(caller=caller, conversation=conversation):
        raise NotJoinedChatroom()
    return conversation


def _allowed_type(file: IO[bytes]) -> str:
    file.seek(0)
    mime_type = sniff_type(file.read(SNIFF_BYTES))
    file.seek(0)
    allowed = tuple(inbox_settings.ATTACHMENT_ALLOWED_TYPES)
    if mime_type is None or mime_type not in allowed:
        raise ValidationFailed.single(
            _FILE_FIELD,
            f"is not an accepted type (accepted, by content: {', '.join(allowed)})",
            RULE_NOT_ALLOWED,
        )
    return mime_type


def _display_name(filename: str, mime_type: str) -> str:
    """The client's file name, kept for display only (storage names are ours): controls,
    invisible formatting characters and path parts removed, at most 255 characters."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(
        char for char in base if unicodedata.category(char) not in ("Cc", "Cf", "Cs")
    ).strip()
    return cleaned[:_MAX_FILENAME] or f"file.{EXTENSIONS[mime_type]}"


def attachments_prepare_send(
    *, caller: Caller, conversation_id: uuid.UUID, content: NormalizedContent
) -> tuple[NormalizedContent, list[uuid.UUID]]:
    """The content of a send with every uploaded attachment it names filled in, and their ids.

    Each named attachment must be one this caller uploaded into this conversation and that no
    message has sent yet; otherwise the whole send is refused (every such item named). Called
    inside the send's transaction; ``attachments_bind`` then claims them for the message.
    """
    references = attachment_references(content.content)
    if not references:
        return content, []
    ids = _reference_ids(references)
    found = {
        attachment.pk: attachment
        for attachment in Attachment.objects.filter(
            pk__in=[value for value in ids if value is not None],
            conversation_id=conversation_id,
            uploader_scope=caller.scope,
            message__isnull=True,
        )
    }
    missing = [
        Violation(
            field=f"{reference.path}.id",
            description="is not an attachment this caller uploaded into this conversation "
            "and has not sent yet",
            violated_rule=RULE_EXISTS,
        )
        for reference, value in zip(references, ids, strict=True)
        if value not in found or found[value].is_image != (reference.kind == "image")
    ]
    if len(set(ids)) != len(ids):
        missing.append(
            Violation(
                field="message.content.basic.items",
                description="names the same attachment more than once",
                violated_rule=RULE_NOT_ALLOWED,
            )
        )
    if missing:
        raise ValidationFailed(missing)
    filled = _filled_content(content, references, [found[value] for value in ids if value])
    return filled, [value for value in ids if value is not None]


def _reference_ids(references: Sequence[MediaReference]) -> list[uuid.UUID | None]:
    ids: list[uuid.UUID | None] = []
    for reference in references:
        try:
            ids.append(uuid.UUID(reference.media_id))
        except ValueError:
            ids.append(None)
    return ids


def _filled_content(
    content: NormalizedContent,
    references: Sequence[MediaReference],
    attachments: Sequence[Attachment],
) -> NormalizedContent:
    payload = dict(content.content)
    basic = dict(payload["basic"])  # type: ignore[call-overload]
    items = [dict(item) for item in basic["items"]]
    for reference, attachment in zip(references, attachments, strict=True):
        given = items[reference.index][reference.kind]
        media = attachment.media_item()
        if given.get("filename"):
            media["filename"] = given["filename"]
        items[reference.index][reference.kind] = media
    derived = derive_preview_text(content.content_type, content.content["basic"])  # type: ignore[arg-type]
    basic["items"] = items
    payload["basic"] = basic
    preview = content.preview_text
    if preview == derived:
        # The sender gave no preview: derive it again, now that file names are known.
        preview = derive_preview_text(content.content_type, basic)
        payload["previewText"] = preview
    return dataclasses.replace(content, content=payload, preview_text=preview)


def attachments_bind(*, message: Message, attachment_ids: Sequence[uuid.UUID]) -> None:
    """Claim the attachments ``attachments_prepare_send`` checked for ``message``.

    One conditional UPDATE: if a concurrent send claimed one first, fewer rows change and the
    whole send rolls back with a violation, so an attachment is never sent twice.
    """
    claimed = Attachment.objects.filter(pk__in=attachment_ids, message__isnull=True).update(
        message=message
    )
    if claimed != len(attachment_ids):
        raise ValidationFailed.single(
            "message.content.basic.items",
            "names an attachment that another message has just sent",
            RULE_EXISTS,
        )


def attachment_purge_orphans(*, older_than: timedelta | None = None) -> int:
    """Delete the attachments no message names that were uploaded more than ``older_than``
    ago (default ``ATTACHMENT_ORPHAN_SECONDS``), with their files; returns how many."""
    if older_than is None:
        older_than = timedelta(seconds=inbox_settings.ATTACHMENT_ORPHAN_SECONDS)
    cutoff = timezone.now() - older_than
    deleted, _ = Attachment.objects.filter(message__isnull=True, created_at__lt=cutoff).delete()
    return deleted


@receiver(post_delete, sender=Attachment, dispatch_uid="inbox.attachment_file_delete")
def _delete_stored_file(sender: Any, instance: Attachment, **kwargs: Any) -> None:
    """A deleted attachment's file goes too (conversation deletes cascade here), once the
    deletion is committed: a rolled-back delete keeps its file."""
    names = [name for name in (instance.storage_name, instance.thumbnail_name) if name]

    def delete() -> None:
        for name in names:
            try:
                attachment_storage().delete(name)
            except OSError:
                logger.warning("inbox: could not delete attachment file %s", name, exc_info=True)

    transaction.on_commit(delete)
