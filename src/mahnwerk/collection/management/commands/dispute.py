"""``mahnwerk dispute open|resolve|list``: disputes on invoices."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _

from mahnwerk.collection import agreement_queries, agreements
from mahnwerk.collection.agreements_models import Dispute, DisputeReason
from mahnwerk.collection.management.agreements_cli import (
    AgreementCommand,
    find_debtor,
    find_invoice,
    parse_amount,
)
from mahnwerk.ids import parse_id


class Command(AgreementCommand):
    help = _("Open a dispute on an invoice (it goes on hold), resolve it, or list disputes.")
    actions = ("open", "resolve", "list")
    target_help = _("open: the invoice number; resolve: the dispute id")

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--reason", choices=DisputeReason.values, help=_("open: why the debtor objects"))
        parser.add_argument(
            "--amount", help=_("open: the disputed part, e.g. 120.00 (default: the whole item)")
        )
        parser.add_argument("--notes", default="", help=_("open: notes"))
        parser.add_argument(
            "--outcome", choices=["corrected", "rejected", "partly"], help=_("resolve: how it ends")
        )
        parser.add_argument("--resolution", default="", help=_("resolve: the explanation the debtor is told"))
        parser.add_argument("--credit", help=_("resolve partly: the amount credited, e.g. 50.00"))
        parser.add_argument(
            "--by", choices=["clerk", "debtor"], default="clerk", help=_("who made the entry")
        )

    def handle(self, *args: Any, **options: Any) -> None:
        company = self.company(options)
        action = options["action"]
        if action == "list":
            debtor = find_debtor(company, options["debtor"]) if options["debtor"] else None
            rows = agreement_queries.list_disputes(company, debtor, options["status"])
            if options["json"]:
                self.emit_json(rows)
                return
            for r in rows:
                self.stdout.write(
                    f"#{r['id']:<5} {r['debtor']:<10} {r['invoice']:<14} {r['amount']:>14}  {r['reason']:<16} "
                    f"{r['status']:<10} {r['resolution']}"
                )
            return
        target = self.need_target(options, _("an invoice number") if action == "open" else _("a dispute id"))
        try:
            if action == "open":
                if not options["reason"]:
                    raise CommandError(_("open needs --reason"))
                invoice = find_invoice(company, target)
                dispute = agreements.open_dispute(
                    company,
                    invoice,
                    options["reason"],
                    amount_minor=parse_amount(options["amount"], invoice.currency),
                    notes=options["notes"],
                    source=options["by"],
                    actor=options["actor"],
                    as_of=options["today"],
                )
            else:
                found = Dispute.objects.filter(company=company, pk=parse_id(target) or 0).first()
                if found is None:
                    raise CommandError(_("no dispute {id}").format(id=target))
                if not options["outcome"]:
                    raise CommandError(_("resolve needs --outcome"))
                dispute = agreements.resolve_dispute(
                    company,
                    found,
                    options["outcome"],
                    resolution=options["resolution"],
                    credit_minor=parse_amount(options["credit"], found.invoice.currency),
                    actor=options["actor"],
                    as_of=options["today"],
                )
        except agreements.AgreementError as exc:
            raise CommandError(str(exc)) from None
        (row,) = [r for r in agreement_queries.list_disputes(company) if r["id"] == dispute.pk]
        if options["json"]:
            self.emit_json(row)
            return
        if action == "open":
            self.stdout.write(
                _("Dispute #{id} opened on {invoice}: no reminders for it until it is resolved.").format(
                    id=dispute.pk, invoice=row["invoice"]
                )
            )
        else:
            self.stdout.write(
                _("Dispute #{id} resolved: {outcome}.").format(id=dispute.pk, outcome=row["status"])
                + (
                    " " + _("Reminders resume after {date}.").format(date=row["resume_on"])
                    if row["resume_on"]
                    else ""
                )
            )
