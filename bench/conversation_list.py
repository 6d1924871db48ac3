"""Benchmark 5 — conversation list: the first page of the staff conversation list
(``GET v2/conversations``) with 100k conversations (two messages each, read cursors on half),
as a staff session and as an API app. Floors: the ASGI hello world, and the page's main SQL.

    .venv/bin/python bench/conversation_list.py [--quick] [--requests 300]
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness as h  # noqa: E402

BASE_SEQUENCE = 1_700_000_000_000_000
MESSAGES_PER_CONVERSATION = 2


def seed(count: int) -> tuple[str, str]:
    """``count`` conversations; returns (API key, staff session cookie)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission
    from django.contrib.sessions.backends.db import SessionStore

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
        kind=Participant.Kind.CONTACT,
    )
    last = BASE_SEQUENCE + count * MESSAGES_PER_CONVERSATION
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
            "last_activity_at": f"now() - make_interval(secs => {count} - i)",
        },
        channels=["CHAT"],
    )
    h.insert_series(
        Message,
        count * MESSAGES_PER_CONVERSATION,
        computed={
            "conversation_id": f"md5('c' || ((i - 1) / {MESSAGES_PER_CONVERSATION} + 1))::uuid",
            "sequence": f"{BASE_SEQUENCE} + i",
            "created_at": f"now() - make_interval(secs => ({last} - {BASE_SEQUENCE} - i) / 2.0)",
            "preview_text": "'message ' || i",
            "sender_id": f"md5('k' || ((i - 1) / {MESSAGES_PER_CONVERSATION} + 1))::uuid",
        },
        direction=Message.Direction.PARTICIPANT_TO_BUSINESS,
        visibility=Message.Visibility.BUSINESS_AND_PARTICIPANT,
        content_type=Message.ContentType.BASIC,
        content={"basic": {"items": [{"text": "hello"}]}},
        sender_kind=Message.SenderKind.CONTACT,
        sender_id=uuid.uuid4(),
        created_at=None,
    )
    user = get_user_model().objects.create_user(
        "bench-staff", password="bench-pw-123", is_staff=True
    )
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="inbox"))
    # The staff user has read every other conversation up to its first message.
    h.insert_series(
        ReadCursor,
        count // 2,
        computed={
            "conversation_id": "md5('c' || (i * 2))::uuid",
            "sequence": f"{BASE_SEQUENCE} + (i * 2 - 1) * {MESSAGES_PER_CONVERSATION} + 1",
        },
        user=user,
    )
    h.analyze()
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
    parser.add_argument("--conversations", type=int, default=100_000)
    args = parser.parse_args()
    if args.quick:
        args.requests, args.conversations = 10, 200
    report = h.Report(
        title=f"5. Staff conversation list, first page, {args.conversations:,} conversations",
        headers=["case", "p50 ms", "p99 ms", "mean ms", "n"],
    )
    results = {}
    with h.django_database("convlist") as db:
        with h.step(f"seed {args.conversations:,} conversations"):
            key, cookie = seed(args.conversations)
        env = h.server_env(db.url)
        with h.Server(
            "project.asgi:application", env=env, workers=args.workers, name="app"
        ) as server:
            for label, headers in (
                ("staff session", {"Cookie": cookie}),
                ("API app", {"Authorization": key}),
            ):
                request = h.build_request("GET", f"{h.API}/conversations", headers=headers)
                with h.step(f"first page as {label}"):
                    stats = h.Stats.of(
                        h.asyncio_run(h.sequential_latencies(server.port, request, args.requests))
                    )
                results[label] = stats
                report.row(f"GET v2/conversations as {label}", *stats.cells())
        with h.Server("bench.floor_app:app", env=env, workers=args.workers, name="floor") as floor:
            stats = h.Stats.of(h.asyncio_run(h.hello_latencies(floor.port, args.requests)))
            report.row("floor: ASGI hello world", *stats.cells())
        stats = h.Stats.of(h.sql_latencies(db, PAGE_SQL, [], args.requests, rows=31))
        report.row("floor: the page's keyset SQL via psycopg (no unread counts)", *stats.cells())
    staff = results["staff session"]
    report.target(
        f"conversation-list page p50 ≤ 10 ms at {args.conversations:,} conversations",
        staff.p50 <= 10,
        f"{staff.p50:.2f} ms (staff session)",
    )
    report.notes.append("sequential requests on one keep-alive connection, default page size")
    report.emit(args)


if __name__ == "__main__":
    main()
