"""The ``Attachment`` model: one uploaded file, stored through Django's storage API."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.files import File
from django.core.files.storage import Storage, storages
from django.db import models
from django.db.models import Q

from inbox.conf import inbox_settings


def attachment_storage() -> Storage:
    """The storage of ``INBOX["ATTACHMENT_STORAGE"]`` (a ``STORAGES`` alias), looked up when a
    file is read or written, so a site switches to S3 & co. by settings alone."""
    return storages[inbox_settings.ATTACHMENT_STORAGE]


class Attachment(models.Model):
    """A file a caller uploaded into a conversation; sent once a message names it.

    The row exists only once the file is completely stored (the upload writes the file, then
    the row), so a message can never reference a half-uploaded file.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    conversation = models.ForeignKey(
        "inbox.Conversation", on_delete=models.CASCADE, related_name="attachments"
    )
    # Who uploaded it (``Caller.scope``): only they may send it.
    uploader_scope = models.CharField(max_length=80, editable=False)
    # The client's Idempotency-Key of the upload, if it gave one: a retry with the same key
    # gets this attachment back instead of storing the file again.
    idempotency_key = models.CharField(max_length=255, null=True, blank=True, editable=False)
    # The message that sent it; None until then (and again if that message is deleted), which
    # makes it an orphan for ``inbox_purge_attachments``.
    message = models.ForeignKey(
        "inbox.Message",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="attachments",
    )
    # The file's name in the attachment storage (a path chosen by us, never the client's name).
    # Not a FileField: that would fix its storage when the model class is created, while this
    # one follows ATTACHMENT_STORAGE whenever it is read.
    storage_name = models.CharField(max_length=255, editable=False)
    # The image's thumbnail in the same storage; "" for files, and for images small enough to
    # be their own thumbnail.
    thumbnail_name = models.CharField(max_length=255, blank=True, default="", editable=False)
    filename = models.CharField(max_length=255, editable=False)
    # What the content sniffing found, never the client's Content-Type.
    mime_type = models.CharField(max_length=100, editable=False)
    size = models.BigIntegerField(editable=False)
    width = models.PositiveIntegerField(null=True, blank=True, editable=False)
    height = models.PositiveIntegerField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "inbox"
        constraints = [
            models.CheckConstraint(name="inbox_attachment_size_positive", condition=Q(size__gt=0)),
            models.UniqueConstraint(
                fields=["uploader_scope", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="inbox_attachment_idempotency_unique",
            ),
        ]
        indexes = [
            # The orphan sweep: WHERE message_id IS NULL AND created_at < cutoff.
            models.Index(
                fields=["created_at"],
                condition=Q(message__isnull=True),
                name="inbox_attachment_orphan_idx",
            ),
            # The upload quota: what one caller stored since the window's start.
            models.Index(
                fields=["uploader_scope", "created_at"], name="inbox_attachment_quota_idx"
            ),
        ]

    def __str__(self) -> str:
        return self.filename

    def open(self, *, thumbnail: bool = False) -> File[bytes]:
        """The stored file, or its thumbnail (the file itself when it has none)."""
        name = self.thumbnail_name if thumbnail and self.thumbnail_name else self.storage_name
        return attachment_storage().open(name, "rb")

    @property
    def is_image(self) -> bool:
        return self.width is not None

    def media_item(self) -> dict[str, Any]:
        """The ``image`` or ``file`` of a basic item naming it, as stored (no ``url``: links are
        signed when the message is read, ``inbox.attachments.selectors.with_download_urls``)."""
        item: dict[str, Any] = {"id": str(self.pk), "filename": self.filename}
        if self.is_image:
            item.update(width=self.width, height=self.height)
        else:
            item["mimeType"] = self.mime_type
        item["fileSize"] = str(self.size)
        return item
