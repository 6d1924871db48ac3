"""``python manage.py inbox_relay [--once]``: publish what a crashed process left unpublished,
create the webhook deliveries of new events (each with its first attempt enqueued for the
worker) and hand attempts abandoned by a dead worker to another.

Runs beside the server and ``db_worker`` (``make run``, ``make serve``); see
``inbox/outbox/relay.py`` and docs/reliability.md. A loop of its own rather than a task: the
database task backend has no periodic tasks, and a task that re-enqueues itself stops for good
when a worker dies mid-run (a claimed task is never handed to another worker).
"""

from __future__ import annotations

import signal
import time
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections

from inbox.conf import inbox_settings
from inbox.outbox.relay import prune_once, relay_once, signal_once
from inbox.webhooks.services import webhooks_fan_out, webhooks_recover_abandoned

PRUNE_EVERY_SECONDS = 300.0


class Command(BaseCommand):
    help = (
        "Publish outbox events their own process did not (it died between commit and publish) "
        "and dispatch webhooks."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="Relay one batch, then exit.")

    def handle(self, *args: Any, once: bool, **options: Any) -> None:
        if once:
            self.stdout.write(f"relayed {relay_once()} events")
            self.stdout.write(f"signalled {signal_once()} events")
            self.stdout.write(f"created {webhooks_fan_out()} webhook deliveries")
            self.stdout.write(f"recovered {webhooks_recover_abandoned()} webhook deliveries")
            return
        running = True

        def stop(signum: int, frame: FrameType | None) -> None:
            nonlocal running
            running = False

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write("inbox_relay: publishing stale outbox events", ending="\n")
        self.stdout.flush()
        pruned_at = 0.0
        while running:
            close_old_connections()
            relayed = (
                relay_once() + signal_once() + webhooks_fan_out() + webhooks_recover_abandoned()
            )
            if time.monotonic() - pruned_at > PRUNE_EVERY_SECONDS:
                prune_once()
                pruned_at = time.monotonic()
            if not relayed:
                time.sleep(inbox_settings.OUTBOX_RELAY_INTERVAL_SECONDS)
