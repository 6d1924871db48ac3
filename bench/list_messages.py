"""Benchmark 3 — list: a 30-message page (first page, and a deep cursor page from the middle)
in conversations of 100, 10k and 1M messages, seeded with bulk SQL; the 1M/100 ratio is the
point. Floors: the ASGI hello world, and the page's own SQL run directly with psycopg. Reference:
the conventional stack's list (bench/conventional.py: DRF ``ListAPIView`` + ``ModelSerializer``
+ ``CursorPagination``) on the same workers, same pages.

    .venv/bin/python bench/list_messages.py [--quick] [--requests 300]
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness as h  # noqa: E402

BASE_SEQUENCE = 1_700_000_000_000_000
PAGE = 30


def seed(sizes: list[int]) -> dict[int, uuid.UUID]:
    from django.db.models.functions import Now

    from inbox.models import Conversation, Message

    conversations = {}
    for size, conversation_id in zip(sizes, h.create_conversations(len(sizes)), strict=True):
        h.insert_series(
            Message,
            size,
            computed={
                "sequence": f"{BASE_SEQUENCE} + i",
                "created_at": f"now() - make_interval(secs => {size} - i)",
                # One message in ten is an internal note, as in a real business inbox.
                "visibility": "CASE WHEN i %% 10 = 0 THEN 'BUSINESS' ELSE 'BUSINESS_AND_PARTICIPANT' END",
                "preview_text": "'message ' || i",
                "content": """jsonb_build_object('basic', jsonb_build_object('items',
                    jsonb_build_array(jsonb_build_object('text', 'message ' || i))))""",
            },
            conversation_id=conversation_id,
            direction=Message.Direction.BUSINESS_TO_PARTICIPANT,
            visibility=Message.Visibility.BUSINESS_AND_PARTICIPANT,
            content_type=Message.ContentType.BASIC,
            content={},
            sender_kind=Message.SenderKind.APP,
            sender_id=uuid.uuid4(),
            created_at=None,
        )
        Conversation.objects.filter(pk=conversation_id).update(
            last_sequence=BASE_SEQUENCE + size,
            last_message_sequence=BASE_SEQUENCE + size,
            last_activity_at=Now(),
        )
        conversations[size] = conversation_id
    h.analyze()
    return conversations


def deep_cursor(conversation_id: uuid.UUID, size: int) -> str:
    from inbox.api.pagination import CursorPosition, cursor_dump

    # Default order is DESC: the page continues below the middle of the conversation.
    return cursor_dump(
        conversation_id=conversation_id,
        visibility="BUSINESS",
        order="DESC",
        position=CursorPosition(after=BASE_SEQUENCE + size // 2),
    )


def conventional_deep_cursor(size: int) -> str:
    """DRF ``CursorPagination``'s cursor for the same position (``-sequence`` order)."""
    import base64
    from urllib.parse import quote, urlencode

    raw = urlencode({"p": str(BASE_SEQUENCE + size // 2)}).encode()
    return quote(base64.b64encode(raw).decode())


def sql_floor(
    db: h.BenchDatabase, conversation_id: uuid.UUID, after: int | None, count: int
) -> list[float]:
    query = (
        "SELECT * FROM inbox_message WHERE conversation_id = %s"
        + (" AND sequence < %s" if after is not None else "")
        + " ORDER BY sequence DESC LIMIT 31"
    )
    params = [conversation_id] + ([after] if after is not None else [])
    return h.sql_latencies(db, query, params, count, rows=31)


def main() -> None:
    parser = h.parser(__doc__.strip().splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    sizes = [100, 10_000, 1_000_000]
    if args.quick:
        sizes, args.requests = [100, 1_000], 10
    report = h.Report(
        title="3. Message list page (30 messages)",
        headers=["case", "conversation size", "p50 ms", "p99 ms", "mean ms", "n"],
    )
    results: dict[tuple[str, int], h.Stats] = {}
    with h.django_database("list") as db:
        with h.step(f"seed {sizes} messages"):
            key = h.create_app_key()
            drf_token = h.create_conventional_token()
            conversations = seed(sizes)
        env = h.server_env(db.url)
        with h.Server(
            "bench.asgi:application", env=env, workers=args.workers, name="app"
        ) as server:
            for size in sizes:
                conversation_id = conversations[size]
                base = f"{h.API}/messages?conversationId={conversation_id}&visibility=BUSINESS&paging.limit={PAGE}"
                for label, path in (
                    ("first page", base),
                    (
                        "deep cursor page",
                        f"{base}&paging.cursor={deep_cursor(conversation_id, size)}",
                    ),
                ):
                    request = h.build_request("GET", path, headers={"Authorization": key})
                    with h.step(f"{label} of {size:,}"):
                        stats = h.Stats.of(
                            h.asyncio_run(
                                h.sequential_latencies(server.port, request, args.requests)
                            )
                        )
                    results[(label, size)] = stats
                    report.row(f"GET v2/messages, {label}", f"{size:,}", *stats.cells())
                for label, cursor in (
                    ("first page", ""),
                    ("deep cursor page", conventional_deep_cursor(size)),
                ):
                    request = h.conventional_list_request(drf_token, conversation_id, cursor)
                    with h.step(f"conventional {label} of {size:,}"):
                        stats = h.Stats.of(
                            h.asyncio_run(
                                h.sequential_latencies(server.port, request, args.requests)
                            )
                        )
                    results[(f"conventional {label}", size)] = stats
                    report.row(f"conventional: ListAPIView, {label}", f"{size:,}", *stats.cells())
        with h.Server("bench.floor_app:app", env=env, workers=args.workers, name="floor") as floor:
            hello = h.Stats.of(h.asyncio_run(h.hello_latencies(floor.port, args.requests)))
            report.row("floor: ASGI hello world", "-", *hello.cells())
        sql: dict[tuple[str, int], float] = {}
        for size in (sizes[0], sizes[-1]):
            for label, after in (("first", None), ("deep", BASE_SEQUENCE + size // 2)):
                stats = h.Stats.of(sql_floor(db, conversations[size], after, args.requests))
                sql[(label, size)] = stats.p50
                report.row(
                    f"floor: the page's SQL ({label}) via psycopg", f"{size:,}", *stats.cells()
                )
    ours = {key_: stats for key_, stats in results.items() if not key_[0].startswith("conv")}
    worst = max(stats.p50 for stats in ours.values())
    report.target("list p50 ≤ 3 ms", worst <= 3, f"worst case {worst:.2f} ms")
    budget = hello.p50 + max(sql.values())
    report.target(
        "list p50 ≤ 5× (the page's SQL + the ASGI hello world)",
        worst <= 5 * budget,
        f"{worst / budget:.1f}× ({worst:.2f} / {budget:.2f} ms)",
    )
    for (label, size), stats in ours.items():
        reference = results[(f"conventional {label}", size)]
        report.target(
            f"{label} at {size:,}: ≥ 2× better than the conventional stack (p50)",
            reference.p50 >= 2 * stats.p50,
            f"conventional ÷ inbox = {reference.p50 / stats.p50:.2f}×",
        )
    small, large = sizes[0], sizes[-1]
    for label in ("first page", "deep cursor page"):
        ratio = results[(label, large)].p50 / results[(label, small)].p50
        report.target(f"{label}: p50 {large:,} / p50 {small:,} ≤ 1.2", ratio <= 1.2, f"{ratio:.2f}")
    report.notes.append(
        "sequential requests on one keep-alive connection, business visibility (one message in "
        "ten is internal), default DESC order; deep cursor = continuing from the middle; the "
        "conventional list filters nothing by visibility and has no `prev`/`resume` cursors"
    )
    report.emit(args)


if __name__ == "__main__":
    main()
