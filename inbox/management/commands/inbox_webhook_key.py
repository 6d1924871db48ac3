"""``python manage.py inbox_webhook_key [--rotate]``: print the public key ``wix``-format webhook
receivers verify with (made if the site has none yet); ``--rotate`` replaces the key pair.

The private key stays in the database (``WebhookSigningKey``; docs/architecture.md). After a
rotation every receiver needs the new public key: deliveries are signed with it at once.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from inbox.webhooks import wix


class Command(BaseCommand):
    help = "Print the public key of wix-format webhooks; --rotate makes a new key pair first."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--rotate", action="store_true", help="Replace the key pair, then print the new key."
        )

    def handle(self, *args: Any, rotate: bool, **options: Any) -> None:
        key = wix.signing_key_rotate() if rotate else wix.signing_key()
        self.stdout.write(key.public_key.rstrip("\n"))
