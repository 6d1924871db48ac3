"""The default ``INBOX["NOTIFY_PARTICIPANT_EMAIL"]``: a participant's e-mail address."""

from __future__ import annotations

from typing import Any

from inbox.models import Participant
from inbox.notifications.selectors import email_address


def participant_email(participant: Participant) -> str | None:
    """A member's address, when the participant holds its Django user; anyone else: None (a
    site whose contacts have addresses points the setting at its own lookup)."""
    user: Any = participant.user
    if user is None or not user.is_active:
        return None
    return email_address(user) or None
