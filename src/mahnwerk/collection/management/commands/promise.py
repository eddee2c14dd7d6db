"""``mahnwerk promise add|list``: promises to pay."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _

from mahnwerk.collection import agreement_queries, agreements
from mahnwerk.collection.agreements_models import Promise
from mahnwerk.collection.management.agreements_cli import (
    AgreementCommand,
    find_debtor,
    find_invoices,
    parse_amount,
    parse_date,
)
from mahnwerk.ids import parse_id


class Command(AgreementCommand):
    help = _(
        "Record a promise to pay (reminders for its items pause until the date plus grace) or list them."
    )
    actions = ("add", "list", "cancel")
    target_help = _("add: the debtor (customer number or id); cancel: the promise id")

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--invoice", action="append", help=_("invoice number (repeat; default: all open)")
        )
        parser.add_argument("--date", type=parse_date, help=_("the promised payment date YYYY-MM-DD"))
        parser.add_argument(
            "--amount", help=_("the promised amount, e.g. 500.00 (default: all that is open)")
        )
        parser.add_argument("--grace", type=int, help=_("grace period in days (default: the company's)"))
        parser.add_argument(
            "--fallback-step",
            type=int,
            default=0,
            help=_("step to run if the promise is broken (0: the next)"),
        )
        parser.add_argument(
            "--by", choices=["clerk", "debtor"], default="clerk", help=_("who made the entry")
        )
        parser.add_argument("--note", default="", help=_("a note for the timeline"))
        parser.add_argument("--reason", default="", help=_("cancel: why"))
        parser.add_argument(
            "--no-confirmation", action="store_true", help=_("do not send the debtor a confirmation")
        )

    def handle(self, *args: Any, **options: Any) -> None:
        company = self.company(options)
        if options["action"] == "list":
            debtor = find_debtor(company, options["debtor"]) if options["debtor"] else None
            rows = agreement_queries.list_promises(company, debtor, options["status"])
            if options["json"]:
                self.emit_json(rows)
                return
            for r in rows:
                self.stdout.write(
                    f"#{r['id']:<5} {r['debtor']:<10} {r['amount']:>14} "
                    + _("by {date}").format(date=r["promised_date"])
                    + f" (+{r['grace_days']})  {r['status']:<12} {', '.join(r['invoices'])}"
                )
            return
        if options["action"] == "cancel":
            ident = self.need_target(options, _("a promise id"))
            found = Promise.objects.filter(company=company, pk=parse_id(ident) or 0).first()
            if found is None:
                raise CommandError(_("no promise {id}").format(id=ident))
            try:
                agreements.cancel_agreement(
                    company, found, reason=options["reason"], actor=options["actor"], as_of=options["today"]
                )
            except agreements.AgreementError as exc:
                raise CommandError(str(exc)) from None
            (row,) = [r for r in agreement_queries.list_promises(company) if r["id"] == found.pk]
            if options["json"]:
                self.emit_json(row)
            else:
                self.stdout.write(_("Promise #{id} cancelled.").format(id=found.pk))
            return
        debtor = find_debtor(company, self.need_target(options, _("a debtor")))
        if options["date"] is None:
            raise CommandError(_("add needs --date (the promised payment date)"))
        invoices = find_invoices(company, debtor, options["invoice"])
        try:
            promise = agreements.record_promise(
                company,
                debtor,
                invoices,
                options["date"],
                parse_amount(options["amount"], invoices[0].currency),
                grace_days=options["grace"],
                fallback_level=options["fallback_step"],
                source=options["by"],
                actor=options["actor"],
                note=options["note"],
                as_of=options["today"],
                confirm=not options["no_confirmation"],
            )
        except agreements.AgreementError as exc:
            raise CommandError(str(exc)) from None
        (row,) = [r for r in agreement_queries.list_promises(company, debtor) if r["id"] == promise.pk]
        if options["json"]:
            self.emit_json(row)
            return
        self.stdout.write(
            _(
                "Promise #{id} recorded: {amount} by {date}; reminders pause until then plus {grace} days."
            ).format(id=promise.pk, amount=row["amount"], date=row["promised_date"], grace=row["grace_days"])
        )
