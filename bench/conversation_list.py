"""Benchmark 5 — conversation list: the first page of the staff conversation list
(``GET v2/conversations``) with 100k, then 1M conversations (two messages each, read cursors on
half; the data set grows in place by bulk ``INSERT … SELECT FROM generate_series``), as a staff
session and as an API app. Floors: the ASGI hello world, and the page's main SQL, at each size.

    .venv/bin/python bench/conversation_list.py [--quick] [--requests 300]
        [--conversations 100000,1000000]
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness as h  # noqa: E402

BASE_SEQUENCE = 1_700_000_000_000_000
MESSAGES_PER_CONVERSATION = 2
# Activity times count up from here, one second per conversation: a later batch is newer.
EPOCH = "timestamptz '2026-01-01 00:00:00+00'"


def seed_conversations(start: int, count: int) -> None:
    """Conversations ``start + 1 .. start + count`` (each newer than every one before), their
    participants and messages, and the staff user's read cursors on every other one."""
    from inbox.models import Conversation, Message, Participant, ReadCursor

    participant = "md5('p' || i)::uuid"
    conversation = "md5('c' || i)::uuid"
    h.insert_series(
        Participant,
        count,
        computed={
            "id": participant,
            "contact_id": "md5('k' || i)::uuid",
            "display_name": "'Contact ' || i",
        },
        start=start,
        kind=Participant.Kind.CONTACT,
    )
    h.insert_series(
        Conversation,
        count,
        computed={
            "id": conversation,
            "participant_id": participant,
            "last_sequence": f"{BASE_SEQUENCE} + i * {MESSAGES_PER_CONVERSATION}",
            "last_message_sequence": f"{BASE_SEQUENCE} + i * {MESSAGES_PER_CONVERSATION}",
            "last_message_preview": "'message ' || i",
            "last_message_direction": "'PARTICIPANT_TO_BUSINESS'",
            "last_message_visibility": "'BUSINESS_AND_PARTICIPANT'",
            "last_activity_at": f"{EPOCH} + make_interval(secs => i)",
        },
        start=start,
        channels=["CHAT"],
    )
    h.insert_series(
        Message,
        count * MESSAGES_PER_CONVERSATION,
        computed={
            "conversation_id": f"md5('c' || ((i - 1) / {MESSAGES_PER_CONVERSATION} + 1))::uuid",
            "sequence": f"{BASE_SEQUENCE} + i",
            "created_at": f"{EPOCH} + make_interval(secs => i / 2.0)",
            "preview_text": "'message ' || i",
            "sender_id": f"md5('k' || ((i - 1) / {MESSAGES_PER_CONVERSATION} + 1))::uuid",
        },
        start=start * MESSAGES_PER_CONVERSATION,
        direction=Message.Direction.PARTICIPANT_TO_BUSINESS,
        visibility=Message.Visibility.BUSINESS_AND_PARTICIPANT,
        content_type=Message.ContentType.BASIC,
        content={"basic": {"items": [{"text": "hello"}]}},
        sender_kind=Message.SenderKind.CONTACT,
        sender_id=uuid.uuid4(),
        created_at=None,
    )
    # The staff user has read every other conversation up to its first message.
    h.insert_series(
        ReadCursor,
        count // 2,
        computed={
            "conversation_id": "md5('c' || (i * 2))::uuid",
            "sequence": f"{BASE_SEQUENCE} + (i * 2 - 1) * {MESSAGES_PER_CONVERSATION} + 1",
        },
        start=start // 2,
        user=staff_user(),
    )
    h.analyze()


def staff_user() -> Any:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    user, created = get_user_model().objects.get_or_create(
        username="bench-staff", defaults={"is_staff": True}
    )
    if created:
        user.set_password("bench-pw-123")
        user.save()
        user.user_permissions.add(*Permission.objects.filter(content_type__app_label="inbox"))
    return user


def credentials() -> tuple[str, str]:
    """(API key, staff session cookie)."""
    from django.contrib.sessions.backends.db import SessionStore

    user = staff_user()
    session = SessionStore()
    session["_auth_user_id"] = str(user.pk)
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    session["_auth_user_hash"] = user.get_session_auth_hash()
    session.create()
    return h.create_app_key(), f"sessionid={session.session_key}"


# The page's keyset query (without the unread counts), run directly as the floor.
PAGE_SQL = (
    "SELECT c.*, p.* FROM inbox_conversation c JOIN inbox_participant p ON p.id = c.participant_id "
    "WHERE c.merged_into_id IS NULL AND c.last_activity_at IS NOT NULL "
    "ORDER BY c.last_activity_at DESC, c.id DESC LIMIT 31"
)


def main() -> None:
    parser = h.parser(__doc__.strip().splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--conversations", default="100000,1000000")
    args = parser.parse_args()
    sizes = [int(n) for n in args.conversations.split(",")]
    if args.quick:
        args.requests, sizes = 10, [200, 400]
    report = h.Report(
        title="5. Staff conversation list, first page, "
        + " and ".join(f"{n:,}" for n in sizes)
        + " conversations",
        headers=["case", "conversations", "p50 ms", "p99 ms", "mean ms", "n"],
    )
    results: dict[tuple[str, int], h.Stats] = {}
    with h.django_database("convlist") as db:
        env = h.server_env(db.url)
        seeded = 0
        for size in sizes:
            with h.step(f"seed {size - seeded:,} more conversations (to {size:,})"):
                seed_conversations(seeded, size - seeded)
                seeded = size
                key, cookie = credentials()
            with h.Server(
                "bench.asgi:application", env=env, workers=args.workers, name="app"
            ) as server:
                for label, headers in (
                    ("staff session", {"Cookie": cookie}),
                    ("API app", {"Authorization": key}),
                ):
                    request = h.build_request("GET", f"{h.API}/conversations", headers=headers)
                    with h.step(f"first page as {label} at {size:,}"):
                        stats = h.Stats.of(
                            h.asyncio_run(
                                h.sequential_latencies(server.port, request, args.requests)
                            )
                        )
                    results[(label, size)] = stats
                    report.row(f"GET v2/conversations as {label}", f"{size:,}", *stats.cells())
            stats = h.Stats.of(h.sql_latencies(db, PAGE_SQL, [], args.requests, rows=31))
            report.row(
                "floor: the page's keyset SQL via psycopg (no unread counts)",
                f"{size:,}",
                *stats.cells(),
            )
        with h.Server("bench.floor_app:app", env=env, workers=args.workers, name="floor") as floor:
            stats = h.Stats.of(h.asyncio_run(h.hello_latencies(floor.port, args.requests)))
            report.row("floor: ASGI hello world", "-", *stats.cells())
    small, large = sizes[0], sizes[-1]
    staff_small, staff_large = results[("staff session", small)], results[("staff session", large)]
    report.target(
        f"staff conversation list p50 ≤ 6 ms at {small:,} conversations",
        staff_small.p50 <= 6,
        f"{staff_small.p50:.2f} ms",
    )
    ratio = staff_large.p50 / staff_small.p50
    report.target(
        f"staff conversation list p50 at {large:,} ≤ 1.2× that at {small:,}",
        ratio <= 1.2,
        f"{ratio:.2f}× ({staff_large.p50:.2f} ms)",
    )
    report.notes.append(
        "sequential requests on one keep-alive connection, default page size; the servers are "
        "restarted after each growth step (a fresh process, its caches cold, then warmed by a "
        "tenth of the requests)"
    )
    report.emit(args)


if __name__ == "__main__":
    main()
