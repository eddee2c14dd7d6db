"""``mahnwerk writeoff list|reverse``: small balances and leftover interest and fees written off."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _

from mahnwerk.core.money import format_money
from mahnwerk.ids import parse_id
from mahnwerk.ledger.management.base import MahnwerkCommand, business_date
from mahnwerk.ledger.models import Company, Debtor, WriteOff
from mahnwerk.ledger.services import LedgerError, reverse_write_off


def write_off_rows(company: Company, debtor: Debtor | None = None) -> list[dict[str, Any]]:
    """The write-offs of ``company`` (or of one debtor), newest first."""
    qs = WriteOff.objects.filter(company=company).select_related("debtor", "invoice")
    if debtor is not None:
        qs = qs.filter(debtor=debtor)
    return [
        {
            "id": w.pk,
            "debtor": w.debtor.number,
            "invoice": w.invoice.number,
            "component": w.component,
            "amount_minor": w.amount_minor,
            "currency": w.currency,
            "amount": format_money(w.amount_minor, w.currency),
            "business_date": w.business_date,
            "reason": w.reason,
            "reason_text": str(w.get_reason_display()),
            "reversed_on": w.reversed_on,
            "reversed_by": w.reversed_by,
        }
        for w in qs.order_by("-business_date", "-id")
    ]


class Command(MahnwerkCommand):
    help = _(
        "List the small balances and leftover interest and fees written off, or reverse a write-off "
        "(the amount is open again)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["list", "reverse"])
        parser.add_argument("id", nargs="?", help=_("reverse: the write-off id"))
        parser.add_argument("--debtor", help=_("list: only this debtor (customer number or id)"))
        parser.add_argument(
            "--today", type=business_date, help=_("business date YYYY-MM-DD (default: today)")
        )
        parser.add_argument("--actor", default="cli", help=_("who does this (goes on the timeline)"))

    def handle(self, *args: Any, **options: Any) -> None:
        company = self.company(options)
        if options["action"] == "list":
            self._list(company, options)
        else:
            self._reverse(company, options)

    def _list(self, company: Company, options: dict[str, Any]) -> None:
        debtor = None
        if options["debtor"]:
            ident = options["debtor"]
            qs = Debtor.objects.filter(company=company)
            debtor = qs.filter(number=ident).first() or (
                qs.filter(pk=pk).first() if (pk := parse_id(ident)) else None
            )
            if debtor is None:
                raise CommandError(
                    _("no debtor {ident} in {company}").format(ident=ident, company=company.name)
                )
        rows = write_off_rows(company, debtor)
        if options["json"]:
            self.emit_json(rows)
            return
        if not rows:
            self.stdout.write(_("No write-offs."))
            return
        for r in rows:
            state = (
                _("reversed on {date} by {actor}").format(date=r["reversed_on"], actor=r["reversed_by"])
                if r["reversed_on"]
                else ""
            )
            self.stdout.write(
                f"#{r['id']:<5} {r['business_date']}  {r['debtor']:<10} {r['invoice']:<14} "
                f"{r['component']:<9} {r['amount']:>12}  {r['reason_text']}"
                + (f"  [{state}]" if state else "")
            )

    def _reverse(self, company: Company, options: dict[str, Any]) -> None:
        ident = options["id"]
        if not ident:
            raise CommandError(_("reverse needs the id of a write-off (see 'mahnwerk writeoff list')"))
        ident = ident.lstrip("#")
        pk = parse_id(ident)
        if pk is None:
            raise CommandError(_("not a write-off id: {value}").format(value=options["id"]))
        try:
            done = reverse_write_off(company, pk, options["actor"], on=options["today"])
        except LedgerError as exc:
            raise CommandError(str(exc)) from None
        (row,) = [r for r in write_off_rows(company, done.debtor) if r["id"] == done.pk]
        if options["json"]:
            self.emit_json(row)
            return
        self.stdout.write(
            _("Write-off #{id} reversed: {amount} on invoice {number} is open again.").format(
                id=done.pk, amount=row["amount"], number=row["invoice"]
            )
        )
