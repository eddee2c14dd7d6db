"""``mahnwerk export open-items|payments|timeline``: data for accounting as CSV or XLSX."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _

from mahnwerk.ledger.exports import (
    EXPORTS,
    Column,
    Row,
    export_language,
    export_rows,
    export_title,
    write_csv,
    write_xlsx,
)
from mahnwerk.ledger.management.base import MahnwerkCommand, business_date
from mahnwerk.ledger.models import Language
from mahnwerk.ledger.services import company_today


class Command(MahnwerkCommand):
    help = _(
        "Export open items (with interest and costs to date), payments (with what they paid) or the timeline "
        "as CSV or XLSX for accounting."
    )
    json_option = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.epilog = _(
            "Numbers: without --locale a CSV has ',' between fields and a decimal point, unambiguous for "
            "programs and imports. --locale de or lv writes ';' and a decimal comma, as German and Latvian "
            "spreadsheets open a CSV; --locale en ',' and a decimal point. XLSX has number and date cells in "
            "every locale. Dates are YYYY-MM-DD in every CSV."
        )
        parser.add_argument("kind", choices=sorted(EXPORTS), help=_("what to export"))
        parser.add_argument(
            "--format",
            choices=["csv", "xlsx"],
            help=_("csv or xlsx (default: by the file's suffix, else csv)"),
        )
        parser.add_argument(
            "--out", metavar="FILE", help=_("file to write (default: standard output; xlsx needs a file)")
        )
        parser.add_argument(
            "--as-of",
            type=business_date,
            metavar="YYYY-MM-DD",
            help=_("open items: figures as of this date (default: today)"),
        )
        parser.add_argument(
            "--from",
            dest="date_from",
            type=business_date,
            metavar="YYYY-MM-DD",
            help=_("payments, timeline: from this date"),
        )
        parser.add_argument(
            "--to",
            dest="date_to",
            type=business_date,
            metavar="YYYY-MM-DD",
            help=_("payments, timeline: up to this date"),
        )
        parser.add_argument(
            "--locale",
            choices=Language.values,
            help=_(
                "headers and texts in this language and a CSV as its spreadsheets open it: de and lv ';' and a "
                "decimal comma, en ',' and a decimal point (default: the company's language, ',' and a "
                "decimal point)"
            ),
        )
        parser.add_argument(
            "--language",
            choices=Language.values,
            help=_(
                "language of the headers and texts, whatever the locale (default: the locale's, else the company's)"
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        company = self.company(options)
        out = options["out"]
        fmt = options["format"] or ("xlsx" if out and out.lower().endswith(".xlsx") else "csv")
        if fmt == "xlsx" and not out:
            raise CommandError(_("an XLSX export needs --out FILE"))
        if options["date_from"] and options["date_to"] and options["date_from"] > options["date_to"]:
            raise CommandError(_("--from is after --to"))
        if out:
            _check_writable(Path(out))
        language = export_language(options["locale"], options["language"], company.default_language)
        kind = options["kind"]
        columns, rows = export_rows(
            kind,
            company,
            as_of=options["as_of"] or company_today(company),
            date_from=options["date_from"],
            date_to=options["date_to"],
            language=language,
        )
        try:
            count = self._write(fmt, out, kind, columns, rows, options["locale"], language)
        except BrokenPipeError:  # the reader stopped (``| head``): not an error
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return
        except OSError as exc:
            if not out:
                raise
            raise CommandError(
                _("cannot write {path}: {error}").format(path=out, error=exc.strerror or exc)
            ) from None
        if out:
            self.stderr.write(_("{count} row(s) written to {file}").format(count=count, file=out))

    def _write(
        self,
        fmt: str,
        out: str | None,
        kind: str,
        columns: tuple[Column, ...],
        rows: Iterator[Row],
        locale: str | None,
        language: str,
    ) -> int:
        if fmt == "xlsx":
            assert out is not None
            return write_xlsx(rows, columns, out, title=export_title(kind, language), language=language)
        if out:
            with Path(out).open("w", encoding="utf-8", newline="") as stream:
                return write_csv(rows, columns, stream, locale=locale, language=language)
        return write_csv(rows, columns, _Stdout(self), locale=locale, language=language)


def _check_writable(path: Path) -> None:
    """Refuse a file that cannot be written (a directory, or in a directory that does not exist) before the
    export is built, with a :class:`CommandError` naming the file and why."""
    if path.is_dir():
        raise CommandError(_("cannot write {path}: it is a directory, not a file").format(path=path))
    folder = path.parent
    if not folder.exists():
        raise CommandError(
            _("cannot write {path}: the directory {directory} does not exist").format(
                path=path, directory=folder
            )
        )


class _Stdout:
    """The command's standard output as a plain text stream for the csv writer (no added line endings)."""

    def __init__(self, command: Command) -> None:
        self.command = command

    def write(self, text: str) -> int:
        self.command.stdout.write(text, ending="")
        return len(text)
