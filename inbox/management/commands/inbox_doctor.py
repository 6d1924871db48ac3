"""``python manage.py inbox_doctor``: check the installation this site actually has.

The checks live in ``inbox.doctor``; this command runs them, prints each result with what to
fix, and exits non-zero when anything failed.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS

from inbox import doctor


class Command(BaseCommand):
    help = (
        "Check that inbox works on this installation (apps, middleware, migrations, ASGI and "
        "WebSocket routes, channel layer between two processes, Redis, database, clock skew) "
        "and print what to fix. Exits with status 1 when a check fails."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--max-skew",
            type=float,
            default=doctor.DEFAULT_MAX_SKEW_SECONDS,
            help="Largest clock difference with the database server, in seconds (default "
            f"{doctor.DEFAULT_MAX_SKEW_SECONDS}).",
        )
        parser.add_argument(
            "--database",
            default=DEFAULT_DB_ALIAS,
            help="Database alias to check (default: default).",
        )
        # Internal: the receiving half of the two-process channel layer round trip.
        parser.add_argument("--probe-receive", metavar="GROUP", help="(internal)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options.get("probe_receive"):
            doctor.probe_receive(options["probe_receive"], self.stdout.write)
            return
        results = doctor.run_checks(database=options["database"], max_skew=options["max_skew"])
        for result in results:
            self._print(result)
        failed = [result for result in results if result.status == doctor.FAIL]
        warned = [result for result in results if result.status == doctor.WARN]
        summary = f"{len(results)} checks: {len(failed)} failed, {len(warned)} warnings."
        if failed:
            self.stdout.write(self.style.ERROR(summary))
            raise CommandError(
                "inbox_doctor: " + ", ".join(result.name for result in failed) + " failed",
                returncode=1,
            )
        self.stdout.write(self.style.SUCCESS(summary))

    def _print(self, result: doctor.Result) -> None:
        style = {
            doctor.OK: self.style.SUCCESS,
            doctor.WARN: self.style.WARNING,
            doctor.FAIL: self.style.ERROR,
            doctor.SKIP: self.style.WARNING,
        }
        self.stdout.write(
            style[result.status](f"[{result.status:>4}] {result.name}: ") + result.detail
        )
        for note in result.notes:
            self.stdout.write(f"       {note}")
        if result.fix and result.status in (doctor.WARN, doctor.FAIL):
            self.stdout.write(f"       fix: {result.fix}")
