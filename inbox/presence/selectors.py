"""What may be read about presence: whether *anyone* of the team is there, never who (the
widget's availability), and which staff users are online (the business side only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.utils import timezone

from inbox.conf import inbox_settings
from inbox.presence.hours import opening_state
from inbox.presence.store import presence_store
from inbox.wire import assignee_json


class AvailabilityStatus:
    ONLINE = "ONLINE"  # a staff page is open
    OFFLINE = "OFFLINE"  # nobody online, within business hours: "we usually reply within …"
    AWAY = "AWAY"  # nobody online, outside business hours: "away, back at …"


@dataclass(frozen=True)
class Availability:
    status: str
    back_at: datetime | None
    reply_within_minutes: int | None

    def as_json(self) -> dict[str, object]:
        return {
            "status": self.status,
            "backAt": self.back_at.isoformat() if self.back_at is not None else None,
            "replyWithinMinutes": self.reply_within_minutes,
        }


def online_staff_pks() -> set[str]:
    """Primary keys (as strings) of staff users with an open staff page, on any process."""
    return presence_store().online_user_pks()


def online_staff() -> list[dict[str, str]]:
    """The staff users online now, by name (business callers only)."""
    users = get_user_model().objects.filter(pk__in=online_staff_pks()).order_by("pk")
    return [json for json in map(assignee_json, users) if json is not None]


def availability(*, now: datetime | None = None) -> Availability:
    """What the widget says: staff presence first, then the business hours."""
    reply_within = inbox_settings.REPLY_WITHIN_MINUTES
    if online_staff_pks():
        return Availability(AvailabilityStatus.ONLINE, None, reply_within)
    is_open, back_at = opening_state(now or timezone.now())
    if is_open:
        return Availability(AvailabilityStatus.OFFLINE, None, reply_within)
    return Availability(AvailabilityStatus.AWAY, back_at, reply_within)
