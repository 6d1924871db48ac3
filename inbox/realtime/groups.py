"""Channel-layer group names: ASCII, under 100 characters, built from UUIDs only."""

import uuid

from inbox.conf import inbox_settings
from inbox.realtime.registry import Stream


def business_group() -> str:
    """Every event of every conversation, for staff pages and API clients."""
    return f"{inbox_settings.GROUP_PREFIX}.business"


def participant_group(conversation_id: uuid.UUID) -> str:
    """What the participant of one conversation may see (never ``BUSINESS`` messages)."""
    return f"{_participant_prefix()}{uuid.UUID(str(conversation_id)).hex}"


def probe_group() -> str:
    """Nobody joins it: a publish to it proves the layer reachable (socket handshakes)."""
    return f"{inbox_settings.GROUP_PREFIX}.probe"


def doctor_group() -> str:
    """A new group for one ``inbox_doctor`` round trip: no socket and no other run joins it."""
    return f"{inbox_settings.GROUP_PREFIX}.doctor.{uuid.uuid4().hex}"


def group_stream(group: str) -> Stream:
    """The stream whose sockets listen on ``group``."""
    return Stream.PARTICIPANT if group.startswith(_participant_prefix()) else Stream.BUSINESS


def _participant_prefix() -> str:
    return f"{inbox_settings.GROUP_PREFIX}.participant."
