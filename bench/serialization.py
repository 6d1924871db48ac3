"""Benchmark 8 — serialization: the message-list output (``inbox.wire.message_json``) for a
page of 50 rows, against a hand-written dict builder producing the same dicts (the floor); a
DRF ``ModelSerializer`` is shown for scale. In-process, rows loaded from PostgreSQL.

    .venv/bin/python bench/serialization.py [--quick] [--iterations 3000]
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness as h  # noqa: E402

ROWS = 50


def hand_written(message: Any) -> dict[str, Any]:
    """The floor: one dict literal per row, no branches, no helpers."""
    created = message.created_at
    return {
        "id": str(message.id),
        "content": message.content,
        "sender": {message.sender_kind: str(message.sender_id)},
        "badges": message.badges,
        "targetChannels": message.target_channels,
        "sourceChannel": message.source_channel,
        "targetChannelIds": message.target_channel_ids,
        "visibility": message.visibility,
        "sequence": str(message.sequence),
        "direction": message.direction,
        "createdDate": f"{created:%Y-%m-%dT%H:%M:%S}.{created.microsecond // 1000:03d}Z",
        "silent": message.silent,
        "appId": str(message.app_id),
    }


def model_serializer() -> Callable[[list[Any]], Any]:
    from rest_framework import serializers

    from inbox.models import Message

    class MessageModelSerializer(serializers.ModelSerializer[Message]):
        class Meta:
            model = Message
            fields = [
                "id",
                "content",
                "badges",
                "target_channels",
                "source_channel",
                "target_channel_ids",
                "visibility",
                "sequence",
                "direction",
                "created_at",
                "silent",
                "app_id",
                "sender_kind",
                "sender_id",
            ]

    return lambda rows: MessageModelSerializer(rows, many=True).data


def timings(build: Callable[[], Any], iterations: int) -> list[float]:
    """µs per ``build()``, after a warm-up of a twentieth (at least ten)."""
    samples = h.timed(iterations, build, warmup=max(10, iterations // 20))
    return [sample * 1000 for sample in samples]


def main() -> None:
    parser = h.parser(__doc__.strip().splitlines()[0])
    parser.add_argument("--iterations", type=int, default=3000)
    args = parser.parse_args()
    if args.quick:
        args.iterations = 20
    report = h.Report(
        title=f"8. Serialization of a {ROWS}-message page",
        headers=["case", "p50 µs / page", "p99 µs / page", "× floor (p50)"],
    )
    with h.django_database("serial"):
        from inbox.models import Message
        from inbox.selectors import visible_messages
        from inbox.wire import message_json

        (conversation_id,) = h.create_conversations(1)
        h.insert_series(
            Message,
            ROWS,
            computed={
                "sequence": "1700000000000000 + i",
                "preview_text": "'message ' || i",
                "created_at": "now() - make_interval(secs => 100 - i)",
            },
            conversation_id=conversation_id,
            direction=Message.Direction.BUSINESS_TO_PARTICIPANT,
            visibility=Message.Visibility.BUSINESS_AND_PARTICIPANT,
            content_type=Message.ContentType.BASIC,
            content={"basic": {"items": [{"text": "Your order has shipped"}]}},
            sender_kind=Message.SenderKind.APP,
            sender_id=uuid.uuid4(),
            app_id=uuid.uuid4(),
            source_channel="CHAT",
            created_at=None,
        )
        rows = list(
            visible_messages(conversation_id=conversation_id, visibility="BUSINESS").order_by(
                "-sequence"
            )
        )
        assert len(rows) == ROWS
        floor_output = [hand_written(row) for row in rows]
        if [message_json(row) for row in rows] != floor_output:
            raise SystemExit("the floor builder no longer matches inbox.wire.message_json")
        serializer = model_serializer()
        cases: dict[str, Callable[[], Any]] = {
            "floor: hand-written dict builder": lambda: [hand_written(row) for row in rows],
            "inbox.wire.message_json": lambda: [message_json(row) for row in rows],
            "DRF ModelSerializer (for scale)": lambda: serializer(rows),
        }
        results = {
            label: h.Stats.of(timings(build, args.iterations)) for label, build in cases.items()
        }
    floor = results["floor: hand-written dict builder"].p50
    for label, stats in results.items():
        report.row(label, h.fmt(stats.p50, 1), h.fmt(stats.p99, 1), h.fmt(stats.p50 / floor))
    ratio = results["inbox.wire.message_json"].p50 / floor
    report.target("serialization ≤ 3× the dict builder", ratio <= 3, f"{ratio:.2f}×")
    report.notes.append(f"{args.iterations} timed pages per case after a warm-up, one process")
    report.emit(args)


if __name__ == "__main__":
    main()
