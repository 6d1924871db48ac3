"""Rewrites the event catalogues of docs/events.md and README.md from the registry
(inbox/realtime/registry.py): ``.venv/bin/python -m tests.events_catalogue``.
tests/test_realtime_registry.py fails while a catalogue differs from the registry."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from inbox.realtime.registry import EventType

ROOT = Path(__file__).resolve().parent.parent
BEGIN = (
    "<!-- generated from inbox/realtime/registry.py by `python -m tests.events_catalogue`; "
    "edit the registry, not this section -->"
)
END = "<!-- end of the generated section -->"


def _participant_condition(event_type: EventType) -> str | None:
    """When the participant stream carries the type: None never, "" always."""
    from inbox.realtime.registry import Stream

    if Stream.PARTICIPANT not in event_type.streams:
        return None
    return "when the message is `BUSINESS_AND_PARTICIPANT`" if event_type.carries_message else ""


def events_md() -> str:
    """docs/events.md's catalogue: one table row and one line per event type."""
    from inbox.realtime.registry import EVENT_TYPES, Stream

    lines = [
        "| slug | entityFqdn | entityId | id | data | streams |",
        "|---|---|---|---|---|---|",
    ]
    for event_type in EVENT_TYPES.values():
        data = ", ".join(f"`{name}` ({shape.name})" for name, shape in event_type.data.items())
        streams = [Stream.BUSINESS.value] if Stream.BUSINESS in event_type.streams else []
        condition = _participant_condition(event_type)
        if condition is not None:
            streams.append(f"{Stream.PARTICIPANT.value} {condition}".strip())
        lines.append(
            f"| `{event_type.slug}` | `{event_type.entity_fqdn}` | {event_type.entity_id} "
            f"| {event_type.event_id} | {data} | {'; '.join(streams)} |"
        )
    lines.append("")
    lines.extend(f"- `{t.slug}`: {t.summary}" for t in EVENT_TYPES.values())
    return "\n".join(lines) + "\n"


def readme_md() -> str:
    """README.md's catalogue: which stream carries which event."""
    from inbox.realtime.registry import EVENT_TYPES, Stream

    lines = ["| Event | `/ws/inbox/business/` | `/ws/inbox/participant/` |", "|---|---|---|"]
    for event_type in EVENT_TYPES.values():
        business = "yes" if Stream.BUSINESS in event_type.streams else "no"
        condition = _participant_condition(event_type)
        participant = "no" if condition is None else condition or "yes"
        lines.append(f"| `{event_type.slug}` | {business} | {participant} |")
    return "\n".join(lines) + "\n"


CATALOGUES: dict[str, Callable[[], str]] = {"docs/events.md": events_md, "README.md": readme_md}


def with_catalogue(text: str, catalogue: str) -> str:
    """``text`` with the section between the markers replaced by ``catalogue``."""
    head, begin, rest = text.partition(BEGIN)
    _, end, tail = rest.partition(END)
    if not begin or not end:
        raise ValueError(f"no section between {BEGIN!r} and {END!r}")
    return f"{head}{BEGIN}\n\n{catalogue}\n{END}{tail}"


def main() -> None:
    # The registry reads the models, so Django is set up first (no manage.py needed).
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    django.setup()
    for name, render in CATALOGUES.items():
        path = ROOT / name
        path.write_text(with_catalogue(path.read_text(encoding="utf-8"), render()))


if __name__ == "__main__":
    main()
