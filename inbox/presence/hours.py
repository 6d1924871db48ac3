"""Business hours: ``INBOX["BUSINESS_HOURS"]`` maps weekday names (``"mon"`` … ``"sun"``) to
opening ranges ``"HH:MM-HH:MM"`` in ``INBOX["BUSINESS_TIMEZONE"]`` (the site's ``TIME_ZONE``
when None); a day it does not name is closed, and None (the default) means always open."""

from __future__ import annotations

import re
import zoneinfo
from datetime import datetime, time, timedelta, tzinfo
from typing import Any

from django.utils import timezone

from inbox.conf import inbox_settings

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")

# (start, end) as minutes since midnight, end exclusive.
Ranges = list[tuple[int, int]]


def parse_ranges(value: Any) -> Ranges:
    """The ranges of one day. Raises ``ValueError`` saying what is wrong."""
    if not isinstance(value, list | tuple):
        raise ValueError('must be a list of "HH:MM-HH:MM" ranges')
    ranges = []
    for item in value:
        match = _RANGE.match(item) if isinstance(item, str) else None
        if match is None:
            raise ValueError(f'has {item!r}, not an "HH:MM-HH:MM" range')
        start_h, start_m, end_h, end_m = map(int, match.groups())
        start, end = start_h * 60 + start_m, end_h * 60 + end_m
        if end > 24 * 60 or end <= start:
            raise ValueError(f"has {item!r}, which ends before it starts")
        ranges.append((start, end))
    return sorted(ranges)


def parse_hours(value: Any) -> dict[int, Ranges] | None:
    """``BUSINESS_HOURS`` as {weekday number: ranges}, None for always open."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError('must be None or a dict such as {"mon": ["09:00-17:00"], …}')
    hours = {}
    for day, ranges in value.items():
        if day not in WEEKDAYS:
            raise ValueError(f"has {day!r}, not one of {', '.join(WEEKDAYS)}")
        try:
            hours[WEEKDAYS.index(day)] = parse_ranges(ranges)
        except ValueError as error:
            raise ValueError(f"[{day!r}] {error}") from None
    return hours


def business_timezone() -> tzinfo:
    name = inbox_settings.BUSINESS_TIMEZONE
    return zoneinfo.ZoneInfo(name) if name else timezone.get_default_timezone()


def opening_state(now: datetime) -> tuple[bool, datetime | None]:
    """(open at ``now``?, when it opens next if not; None when it never does)."""
    hours = parse_hours(inbox_settings.BUSINESS_HOURS)
    if hours is None:
        return True, None
    local = now.astimezone(business_timezone())
    minute = local.hour * 60 + local.minute
    if any(start <= minute < end for start, end in hours.get(local.weekday(), [])):
        return True, None
    for days_ahead in range(8):
        day = (local + timedelta(days=days_ahead)).date()
        for start, _end in hours.get(day.weekday(), []):
            if days_ahead == 0 and start <= minute:
                continue
            opening = datetime.combine(day, time(start // 60, start % 60), local.tzinfo)
            return False, opening
    return False, None
