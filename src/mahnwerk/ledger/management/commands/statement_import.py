"""``mahnwerk statement_import FILE ...``: bank statements (camt.052/053/054, MT940) matched to open invoices."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _

from mahnwerk.core.money import format_money
from mahnwerk.ledger.management.base import MahnwerkCommand
from mahnwerk.ledger.statements import StatementImportResult, import_statements


class Command(MahnwerkCommand):
    help = _(
        "Import bank statements (camt.052/053/054 or MT940, read from the content): payments found are "
        "matched to open invoices, the sure ones applied, the others put in the review queue "
        "('mahnwerk payments review')."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", metavar="FILE", help=_("statement files"))
        parser.add_argument(
            "--dry-run", action="store_true", help=_("show what would happen, change nothing")
        )
        parser.add_argument("--actor", default="cli", help=_("who does this (goes on the timeline)"))

    def handle(self, *args: Any, **options: Any) -> None:
        company = self.company(options)
        result = import_statements(
            company, options["files"], actor=options["actor"], dry_run=options["dry_run"]
        )
        write_result(self, result, as_json=options["json"])


def write_result(command: MahnwerkCommand, result: StatementImportResult, *, as_json: bool) -> None:
    """Print a statement import's summary (shared with ``mahnwerk import statement``); fail when a file
    was refused (nothing of it imported: unreadable or incomplete) or nothing could be imported."""
    failed = bool(result.refused) or bool(result.errors and not result.statements)
    single = failed and len(result.errors) == 1
    if as_json:
        command.emit_json(result.as_dict())
    else:
        if result.dry_run:
            command.stdout.write(_("Dry run: nothing was saved."))
        command.stdout.write(
            _(
                "{statements} statement(s), {entries} entries: {matched} matched, {review} to review, "
                "{ignored} ignored, {reversed} reversed, {duplicates} already imported, {errors} error(s)"
            ).format(
                statements=result.statements,
                entries=result.entries,
                matched=result.matched,
                review=result.review,
                ignored=result.ignored,
                reversed=result.reversed,
                duplicates=result.duplicates,
                errors=len(result.errors),
            )
        )
        for row in result.rows:
            if row["status"] in {"matched", "review", "reversed"}:
                command.stdout.write(
                    f"  #{row['id'] or '-'} {row['value_date']} "
                    f"{format_money(row['amount_minor'], row['currency'])} {row['status']}: "
                    f"{'; '.join(row['reasons'])}"
                )
        for warning in result.warnings:
            command.stderr.write(_("warning: {text}").format(text=warning))
        if single:  # the command's own error line says it
            raise CommandError(result.errors[0])
        for error in result.errors:
            command.stderr.write(error)
    if not failed:
        return
    if result.statements:
        raise CommandError(
            _("{count} file(s) refused: nothing of them was imported").format(count=len(result.refused))
        )
    raise CommandError(_("nothing imported: {count} error(s)").format(count=len(result.errors)))
