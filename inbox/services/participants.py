"""Participants: a new visitor id, and the participant behind a wire id, created on first use."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import IntegrityError, transaction

from inbox.models import Participant, placeholder_display_name, user_display_name
from inbox.selectors import one_or_none


def visitor_create() -> uuid.UUID:
    """A new anonymous visitor id. Nothing is written until the visitor sends something."""
    return uuid.uuid4()


def _default_display_name(kind: Participant.Kind, external_id: uuid.UUID, user: Any) -> str:
    if user is not None:
        return user_display_name(user)
    return placeholder_display_name(kind, external_id)


def participant_get_or_create(
    *, kind: str, external_id: uuid.UUID, user: Any = None, display_name: str = ""
) -> Participant:
    """The participant with this wire id, created on first use. Safe under concurrency: the
    unique constraint on the id decides, and the loser reads the winner's row."""
    participant_kind = Participant.Kind(kind)
    lookup = participant_kind.id_field
    existing = one_or_none(Participant.objects.filter(**{lookup: external_id}))
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return Participant.objects.create(
                kind=kind,
                user=user,
                display_name=display_name
                or _default_display_name(participant_kind, external_id, user),
                **{lookup: external_id},
            )
    except IntegrityError:
        return Participant.objects.get(**{lookup: external_id})
