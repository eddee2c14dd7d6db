"""``mahnwerk einvoice_import FILE ...``: XRechnung (UBL, CII) and ZUGFeRD/Factur-X invoices into the ledger.

The printing is in :func:`run_import` and :func:`result_lines`, so other commands can offer the same import.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from mahnwerk.core.money import format_money
from mahnwerk.ledger.einvoices import (
    CORRECTED,
    CREATED,
    CREDITED,
    DUPLICATE,
    NOTHING_DUE,
    EInvoiceImportFailed,
    EInvoiceImportResult,
    import_einvoices,
)
from mahnwerk.ledger.management.base import MahnwerkCommand
from mahnwerk.ledger.models import Company


def result_lines(result: EInvoiceImportResult) -> list[str]:
    """The result as lines for a person: the totals, then one line per file with its notes."""
    lines = []
    if result.dry_run:
        lines.append(_("Dry run: nothing was saved."))
    lines.append(
        _(
            "{created} invoice(s) created, {credited} credit note(s) recorded, {corrected} invoice(s) corrected, "
            "{duplicates} already imported, {debtors} debtor(s) created"
        ).format(
            created=result.invoices_created,
            credited=result.credit_notes,
            corrected=result.corrected,
            duplicates=result.duplicates,
            debtors=len(result.debtors_created),
        )
    )
    labels = {
        CREATED: _("created"),
        CREDITED: _("credit note recorded"),
        CORRECTED: _("corrected"),
        DUPLICATE: _("already imported"),
        NOTHING_DUE: _("nothing due"),
    }
    for row in result.documents:
        amount = format_money(row["amount_minor"], row["currency"])
        due = (
            _(", due {date} ({source})").format(date=row["due_date"], source=row["due_date_source"])
            if row["due_date"]
            else ""
        )
        debtor = row["debtor"] + (_(" (new)") if row["debtor_created"] else "")
        lines.append(
            "  "
            + _("{file}: {type_code} {number} {amount}{due}, debtor {debtor}: {action}").format(
                file=Path(row["file"]).name,
                type_code=row["type_code"],
                number=row["number"],
                amount=amount,
                due=due,
                debtor=debtor or "-",
                action=labels.get(row["action"], row["action"]),
            )
        )
        if row["direct_debit"]:
            lines.append("    " + _("paid by direct debit from {iban}").format(iban=row["debit_iban"] or "-"))
        lines += [f"    {note}" for note in row["notes"]]
        lines += ["    " + _("warning: {text}").format(text=warning) for warning in row["warnings"]]
    return lines


def expand_paths(paths: Sequence[str | Path]) -> list[Path]:
    """The files named; a directory stands for the XML and PDF files in it."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found += sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in {".xml", ".pdf"})
        else:
            found.append(path)
    if not found:
        raise CommandError(_("no XML or PDF files found"))
    return found


def run_import(
    command: BaseCommand,
    company: Company,
    paths: Sequence[str | Path],
    *,
    dry_run: bool = False,
    as_json: bool = False,
    actor: str = "cli",
) -> EInvoiceImportResult:
    """Import and print the result on the command's output (JSON with ``as_json``); a refused import is a
    :class:`CommandError` listing every problem (the JSON answer says them too)."""
    import json

    try:
        result = import_einvoices(company, paths, actor=actor, dry_run=dry_run)
    except EInvoiceImportFailed as exc:
        if as_json:
            command.stdout.write(
                json.dumps({"ok": False, "errors": exc.errors}, indent=2, ensure_ascii=False)
            )
        raise CommandError(
            _("nothing imported, {count} error(s):").format(count=len(exc.errors))
            + "".join(f"\n  {e}" for e in exc.errors)
        ) from None
    if as_json:
        command.stdout.write(json.dumps(result.as_dict(), indent=2, ensure_ascii=False, default=str))
    else:
        for line in result_lines(result):
            command.stdout.write(line)
    return result


class Command(MahnwerkCommand):
    help = _(
        "Import e-invoices: XRechnung (UBL Invoice/CreditNote or CII XML) and ZUGFeRD/Factur-X PDFs. Buyers "
        "are matched to debtors (VAT id, customer number, name) or created; credit notes and corrected "
        "invoices are applied; files already imported are skipped. All files are checked first: nothing is "
        "imported if one fails."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "files",
            nargs="+",
            metavar="FILE",
            help=_("e-invoice files (XML or PDF); a directory: the files in it"),
        )
        parser.add_argument(
            "--dry-run", action="store_true", help=_("show what would happen, change nothing")
        )
        parser.add_argument("--actor", default="cli", help=_("who does this (goes on the timeline)"))

    def handle(self, *args: Any, **options: Any) -> None:
        company = self.company(options)
        run_import(
            self,
            company,
            expand_paths(options["files"]),
            dry_run=options["dry_run"],
            as_json=options["json"],
            actor=options["actor"],
        )
