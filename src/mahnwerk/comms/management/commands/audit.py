"""``mahnwerk audit``: check every message written against the careful clerk's rules."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor
from django.utils.translation import gettext as _

from mahnwerk.collection.management.agreements_cli import parse_date
from mahnwerk.comms.audit import audit_messages, violations_text
from mahnwerk.ledger.management.base import MahnwerkCommand


def _unmigrated() -> bool:
    """True when the database lacks tables or migrations this code needs."""
    try:
        connection = connections[DEFAULT_DB_ALIAS]
        executor = MigrationExecutor(connection)
        return bool(executor.migration_plan(executor.loader.graph.leaf_nodes()))
    except DatabaseError:
        return True


class Command(MahnwerkCommand):
    help = _(
        "Check every message of a period against the rules: no paid, disputed, promised or not yet due item "
        "named, one collection message per cadence window, no reminder below the minimums, totals as on the "
        "statement. Prints one line per violation and the count."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--from",
            dest="date_from",
            type=parse_date,
            help=_("first business date YYYY-MM-DD (default: all)"),
        )
        parser.add_argument(
            "--to",
            dest="date_to",
            type=parse_date,
            metavar="DATE",
            help=_("last business date YYYY-MM-DD (default: all)"),
        )
        parser.add_argument(
            "--fail-on-violation",
            action="store_true",
            help=_("exit with status 1 when a violation is found (default: 0 whenever the audit ran)"),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if _unmigrated():
            raise CommandError(_("the database is not set up: run 'mahnwerk migrate' first"))
        company = self.company(options)
        date_from, date_to = options["date_from"], options["date_to"]
        if date_from and date_to and date_from > date_to:
            raise CommandError(_("--from must not be after --to"))
        report = audit_messages(company, date_from, date_to)
        if options["json"]:
            self.emit_json(report.as_dict())
        else:
            for line in violations_text(report):
                self.stdout.write(line)
            self.stdout.write(
                _("{count} violation(s) in {messages} message(s)").format(
                    count=len(report.violations), messages=report.messages
                )
            )
        if options["fail_on_violation"] and report.violations:
            raise CommandError(
                _("{count} violation(s) found").format(count=len(report.violations)), returncode=1
            )
