"""``python manage.py inbox_purge_attachments``: delete uploads no message ever sent.

Run it periodically (cron, a scheduler): an upload that was never sent, or whose message was
deleted, is removed with its file once older than ``INBOX["ATTACHMENT_ORPHAN_SECONDS"]``.
"""

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from inbox.attachments.services import attachment_purge_orphans


class Command(BaseCommand):
    help = "Delete uploaded attachments that no message has sent, older than a cutoff."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than",
            type=int,
            default=None,
            metavar="SECONDS",
            help='Default: INBOX["ATTACHMENT_ORPHAN_SECONDS"] (one day).',
        )

    def handle(self, *args: Any, older_than: int | None, **options: Any) -> None:
        age = None if older_than is None else timedelta(seconds=older_than)
        deleted = attachment_purge_orphans(older_than=age)
        self.stdout.write(f"Deleted {deleted} orphaned attachment(s).")
