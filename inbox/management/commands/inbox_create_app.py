"""``python manage.py inbox_create_app NAME``: create an API app and print its key once."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from inbox import services


class Command(BaseCommand):
    help = "Create an API app and print its key (shown once; only a hash is stored)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="A name to recognise the app by.")

    def handle(self, *args: Any, name: str, **options: Any) -> None:
        app, raw_key = services.app_create(name=name)
        self.stdout.write(f"App {app.name!r} created with id {app.id}.")
        self.stdout.write("API key (store it now, it is not shown again):")
        self.stdout.write(raw_key)
