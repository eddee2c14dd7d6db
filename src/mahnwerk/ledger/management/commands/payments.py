"""``mahnwerk payments review|confirm|split|park|ignore``: the queue of bank statement entries to decide."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _

from mahnwerk.core.money import MoneyError, format_money, to_minor
from mahnwerk.ids import parse_id
from mahnwerk.ledger.management.base import MahnwerkCommand
from mahnwerk.ledger.models import EntryStatus, StatementEntry
from mahnwerk.ledger.services import LedgerError
from mahnwerk.ledger.statements import (
    candidate_rows,
    confirm_entry,
    reason_texts,
    review_queue,
    set_entry_status,
    split_entry,
)


def entry_row(entry: StatementEntry) -> dict[str, Any]:
    return {
        "id": entry.pk,
        "status": entry.status,
        "value_date": entry.value_date,
        "amount_minor": entry.amount_minor,
        "currency": entry.currency,
        "amount": format_money(entry.amount_minor, entry.currency),
        "credit": entry.credit,
        "reversal": entry.reversal,
        "counterparty": entry.counterparty_name,
        "counterparty_iban": entry.counterparty_iban,
        "remittance": entry.remittance,
        "end_to_end_id": entry.end_to_end_id,
        "reasons": reason_texts(entry.reasons),
        "candidates": candidate_rows(entry.candidates),
    }


class Command(MahnwerkCommand):
    help = _(
        "The payments from bank statements that wait for a person: list them (review), apply one to its best "
        "candidate or to the invoices named (confirm), over invoices with amounts (split), put one aside "
        "(park) or mark it as nothing to do with receivables (ignore)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["review", "confirm", "split", "park", "ignore"])
        parser.add_argument("entry", nargs="?", help=_("the statement entry id (see 'payments review')"))
        parser.add_argument(
            "shares", nargs="*", metavar="NUMBER=AMOUNT", help=_("split: invoice number and amount")
        )
        parser.add_argument(
            "--invoice", action="append", default=[], help=_("confirm: an invoice it pays (repeatable)")
        )
        parser.add_argument("--actor", default="cli", help=_("who does this"))

    def handle(self, *args: Any, **options: Any) -> None:
        company = self.company(options)
        action = options["action"]
        if action == "review":
            entries = review_queue(company)
            if options["json"]:
                self.emit_json([entry_row(e) for e in entries])
                return
            if not entries:
                self.stdout.write(_("Nothing to review."))
            for e in entries:
                parked = _(" (parked)") if e.status == EntryStatus.PARKED else ""
                self.stdout.write(
                    f"#{e.pk}{parked} {e.value_date} {format_money(e.amount_minor, e.currency)} "
                    f"{e.counterparty_name or '-'} {e.counterparty_iban} | {e.remittance or '-'}"
                )
                self.stdout.write("    " + "; ".join(reason_texts(e.reasons)))
                for c in candidate_rows(e.candidates):
                    target = ", ".join(
                        (p["invoice"] or _("oldest items of {debtor}").format(debtor=p["debtor"]))
                        + f" {format_money(p['amount_minor'], e.currency)}"
                        for p in c["parts"]
                    )
                    self.stdout.write(f"    {c['score']:>3} {target}: {'; '.join(c['reasons'])}")
            return
        if not options["entry"]:
            raise CommandError(
                _("name the statement entry: mahnwerk payments {action} ENTRY").format(action=action)
            )
        try:
            if action == "confirm":
                entry = confirm_entry(company, options["entry"], options["invoice"], actor=options["actor"])
            elif action == "split":
                entry = split_entry(company, options["entry"], self._shares(options), actor=options["actor"])
            else:
                status = EntryStatus.PARKED if action == "park" else EntryStatus.IGNORED
                entry = set_entry_status(company, options["entry"], status, actor=options["actor"])
        except LedgerError as exc:
            raise CommandError(str(exc)) from None
        if options["json"]:
            self.emit_json(entry_row(entry))
        else:
            self.stdout.write(
                _("Entry #{id}: {status}").format(id=entry.pk, status=entry.get_status_display())
            )

    def _shares(self, options: dict[str, Any]) -> dict[str, int]:
        entry = (
            StatementEntry.objects.filter(company=self.company(options), pk=pk)
            .values_list("currency", flat=True)
            .first()
            if (pk := parse_id(options["entry"]))
            else None
        )
        currency = entry or "EUR"
        shares: dict[str, int] = {}
        for item in options["shares"]:
            number, sep, amount = item.rpartition("=")
            if not sep or not number:
                raise CommandError(_("not NUMBER=AMOUNT: {value}").format(value=item))
            try:
                shares[number] = shares.get(number, 0) + to_minor(amount.replace(",", "."), currency)
            except MoneyError as exc:
                raise CommandError(str(exc)) from None
        return shares
