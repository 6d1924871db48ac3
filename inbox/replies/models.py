"""Saved replies (imported by ``inbox.models``)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

TITLE_MAX_LENGTH = 100
# A message text's limit (inbox.content): an inserted reply always fits in one message.
TEXT_MAX_LENGTH = 16384


class SavedReply(models.Model):
    """A text a staff user inserts from the composer (``/``). ``owner`` empty: shared, every
    staff user who may open the inbox sees it; set: personal, only its owner does."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    title = models.CharField(_("title"), max_length=TITLE_MAX_LENGTH)
    # May hold placeholders ({name}, {first_name}), filled by the staff page when inserted.
    text = models.TextField(_("text"), max_length=TEXT_MAX_LENGTH)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("saved reply")
        verbose_name_plural = _("saved replies")
        constraints = [
            models.CheckConstraint(
                condition=~Q(title="") & ~Q(text=""), name="inbox_savedreply_not_blank"
            ),
        ]
        indexes = [
            # The list a staff user sees: the shared ones and their own, by title.
            models.Index(fields=["owner", "title"], name="inbox_savedreply_owner_title"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_shared(self) -> bool:
        return self.owner_id is None
