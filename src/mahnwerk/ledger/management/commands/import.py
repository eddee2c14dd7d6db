"""``mahnwerk import debtors|invoices|payments FILE`` (CSV or XLSX), ``mahnwerk import statement FILE ...`` and
``mahnwerk import einvoice FILE ...``."""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from mahnwerk.core import tabular
from mahnwerk.core.tabular import MAX_DATE, MIN_DATE, TabularError
from mahnwerk.ledger.imports import (
    FIELDS,
    IMPORTERS,
    ImportFailed,
    ImportOptions,
    SavedMapping,
    load_mapping,
    mapping_path,
    read_table,
    save_mapping,
)
from mahnwerk.ledger.management.base import MahnwerkCommand
from mahnwerk.ledger.management.commands.einvoice_import import expand_paths, run_import
from mahnwerk.ledger.management.commands.statement_import import write_result
from mahnwerk.ledger.statements import import_statements

SPREADSHEET_OPTIONS = ("map", "mapping", "save_mapping", "strict", "date_format", "decimal", "sheet")

# What the command word of a spreadsheet import names, in the reader's language.
KIND_LABELS = {
    "debtors": gettext_lazy("debtors"),
    "invoices": gettext_lazy("invoices"),
    "payments": gettext_lazy("payments"),
}


def kind_label(kind: str) -> str:
    return str(KIND_LABELS.get(kind, kind))


def imported_text(kind: str, count: int, company: str, *, dry_run: bool = False) -> str:
    """ "3 invoices imported into ..." (or what a dry run would import), in the reader's language."""
    if dry_run:
        texts = {
            "debtors": ngettext(
                "Dry run: {count} debtor would be imported into {company}; nothing was saved.",
                "Dry run: {count} debtors would be imported into {company}; nothing was saved.",
                count,
            ),
            "invoices": ngettext(
                "Dry run: {count} invoice would be imported into {company}; nothing was saved.",
                "Dry run: {count} invoices would be imported into {company}; nothing was saved.",
                count,
            ),
            "payments": ngettext(
                "Dry run: {count} payment would be imported into {company}; nothing was saved.",
                "Dry run: {count} payments would be imported into {company}; nothing was saved.",
                count,
            ),
        }
    else:
        texts = {
            "debtors": ngettext(
                "{count} debtor imported into {company}", "{count} debtors imported into {company}", count
            ),
            "invoices": ngettext(
                "{count} invoice imported into {company}", "{count} invoices imported into {company}", count
            ),
            "payments": ngettext(
                "{count} payment imported into {company}", "{count} payments imported into {company}", count
            ),
        }
    if kind not in texts:  # a kind without its own words
        text = (
            _("Dry run: {count} {kind} would be imported into {company}; nothing was saved.")
            if dry_run
            else _("{count} {kind} imported into {company}")
        )
        return text.format(count=count, kind=kind_label(kind), company=company)
    return texts[kind].format(count=count, company=company)


def _iso(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(_("not a date (YYYY-MM-DD): {value!r}").format(value=text)) from None


class Command(MahnwerkCommand):
    help = _(
        "Import debtors, invoices or payments from a CSV or XLSX file (every cell checked first, then written "
        "all or nothing), bank statements (camt, MT940) or e-invoices (XRechnung, ZUGFeRD/Factur-X)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=[*sorted(FIELDS), "statement", "einvoice"])
        parser.add_argument(
            "file",
            nargs="*",
            type=Path,
            metavar="FILE",
            help=_(
                "one CSV or XLSX file; for statement, one or more statement files; for einvoice, XML or PDF "
                "files or directories"
            ),
        )
        parser.add_argument(
            "--map",
            nargs="+",
            action="extend",
            default=[],
            metavar="COLUMN=FIELD",
            help=_("read file column COLUMN as field FIELD (several pairs, or the option repeated)"),
        )
        parser.add_argument("--mapping", metavar="NAME", help=_("use the column mapping saved as NAME"))
        parser.add_argument(
            "--save-mapping", metavar="NAME", help=_("save the column mapping given (and formats) as NAME")
        )
        parser.add_argument(
            "--strict",
            action="store_true",
            help=_("refuse columns nobody knows (default: list and ignore them)"),
        )
        parser.add_argument(
            "--date-format",
            metavar="FORMAT",
            help=_("the dates' format when the file cannot tell, e.g. DD/MM/YYYY, MM/DD/YYYY or %%d.%%m.%%Y"),
        )
        parser.add_argument(
            "--decimal",
            choices=[",", "."],
            help=_("the amounts' decimal separator (default: from the values)"),
        )
        parser.add_argument(
            "--min-date",
            type=_iso,
            default=MIN_DATE,
            help=_("earliest date accepted (default: %(default)s)"),
        )
        parser.add_argument(
            "--max-date",
            type=_iso,
            default=MAX_DATE,
            help=_("latest date accepted (default: %(default)s)"),
        )
        parser.add_argument("--sheet", metavar="NAME", help=_("the XLSX sheet to read (default: the first)"))
        parser.add_argument(
            "--dry-run", action="store_true", help=_("check everything and report, write nothing")
        )

    def handle(self, *args: Any, **options: Any) -> None:
        kind: str = options["kind"]
        files: list[Path] = list(options["file"])
        # "--map a=number FILE": a file taken by --map is a file
        pairs = [m for m in options["map"] if "=" in m]
        files += [Path(m) for m in options["map"] if "=" not in m and Path(m).is_file()]
        stray = [m for m in options["map"] if "=" not in m and not Path(m).is_file()]
        if stray:
            raise CommandError(_("--map expects COLUMN=FIELD, got {value!r}").format(value=stray[0]))
        if not files:
            raise CommandError(_("name the file to import"))
        if kind == "einvoice":
            given = [o for o in SPREADSHEET_OPTIONS if options.get(o)]
            if given:
                raise CommandError(
                    _("--{option} is for spreadsheets, not e-invoices").format(
                        option=given[0].replace("_", "-")
                    )
                )
            run_import(
                self,
                self.company(options),
                expand_paths(files),
                dry_run=options["dry_run"],
                as_json=options["json"],
                actor="cli import",
            )
            return
        missing = [f for f in files if not f.is_file()]
        if missing:
            raise CommandError(_("no such file: {path}").format(path=missing[0]))
        company = self.company(options)
        if kind == "statement":
            given = [o for o in SPREADSHEET_OPTIONS if options.get(o)]
            if given:
                raise CommandError(
                    _("--{option} is for spreadsheets, not bank statements").format(
                        option=given[0].replace("_", "-")
                    )
                )
            statements = import_statements(company, files, actor="cli import", dry_run=options["dry_run"])
            write_result(self, statements, as_json=options["json"])
            return
        if len(files) != 1:
            raise CommandError(
                _("{kind} are imported from exactly one CSV or XLSX file, not {count}").format(
                    kind=kind_label(kind), count=len(files)
                )
            )
        import_options = self._options(company, kind, pairs, options)
        if options["save_mapping"]:
            try:
                mapping_path(company, options["save_mapping"])
            except ValueError as exc:
                raise CommandError(str(exc)) from None
        try:
            table = read_table(files[0], kind, import_options)
            if options["save_mapping"]:
                path = save_mapping(
                    company,
                    options["save_mapping"],
                    SavedMapping(kind, import_options.mapping, options["date_format"], options["decimal"]),
                )
                self.stderr.write(
                    _("mapping saved as {name} ({path})").format(name=options["save_mapping"], path=path)
                )
            result = IMPORTERS[kind](
                company,
                table.rows,
                actor="cli import",
                options=replace(import_options, header_row=table.header_row),
                dry_run=options["dry_run"],
            )
        except ImportFailed as exc:
            if options["json"]:
                self.emit_json({"ok": False, "errors": [asdict(e) for e in exc.errors]})
            raise CommandError(str(exc)) from None
        warnings = table.warnings + result.warnings
        if options["json"]:
            self.emit_json(
                {
                    "ok": True,
                    "kind": result.kind,
                    "created": result.created,
                    "dry_run": result.dry_run,
                    "warnings": warnings,
                    **result.details,
                }
            )
            return
        for warning in warnings:
            self.stderr.write(_("warning: {text}").format(text=warning))
        self.stdout.write(imported_text(result.kind, result.created, company.name, dry_run=result.dry_run))
        if "updated" in result.details:  # customers known before: changed, or the same as they were
            counts = {"updated": result.details["updated"], "unchanged": result.details["unchanged"]}
            self.stdout.write(
                _("Dry run: {updated} known debtor(s) would be updated, {unchanged} unchanged.").format(
                    **counts
                )
                if result.dry_run
                else _("{updated} known debtor(s) updated, {unchanged} unchanged.").format(**counts)
            )

    def _options(self, company: Any, kind: str, pairs: list[str], options: dict[str, Any]) -> ImportOptions:
        mapping: dict[str, str] = {}
        date_format, decimal = options["date_format"], options["decimal"]
        if options["mapping"]:
            try:
                saved = load_mapping(company, options["mapping"])
            except ValueError as exc:
                raise CommandError(str(exc)) from None
            if saved.kind and saved.kind != kind:
                raise CommandError(
                    _("the mapping {name} is for {saved}, not {kind}").format(
                        name=options["mapping"], saved=kind_label(saved.kind), kind=kind_label(kind)
                    )
                )
            mapping.update(saved.columns)
            date_format = date_format or saved.date_format
            decimal = decimal or saved.decimal
        try:
            for column, target in tabular.split_pairs(pairs):
                if target not in FIELDS[kind]:
                    raise CommandError(
                        _("--map {column}={target}: unknown field {target!r} (known: {known})").format(
                            column=column, target=target, known=", ".join(FIELDS[kind])
                        )
                    )
                mapping[column] = target
            if date_format:
                tabular.date_format(date_format)
        except TabularError as exc:
            raise CommandError(exc.render(_)) from None
        if decimal not in {None, ",", "."}:
            raise CommandError(_("the decimal separator is ',' or '.', not {value!r}").format(value=decimal))
        if options["min_date"] > options["max_date"]:
            raise CommandError(_("--min-date is after --max-date"))
        return ImportOptions(
            mapping=mapping,
            strict=options["strict"],
            date_format=date_format,
            decimal=decimal,
            min_date=options["min_date"],
            max_date=options["max_date"],
            sheet=options["sheet"],
        )
