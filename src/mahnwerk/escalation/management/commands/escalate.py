from __future__ import annotations

import argparse
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _

from mahnwerk.core.money import format_money
from mahnwerk.escalation.services import EscalationError, advise_debtor, decide, find_debtor
from mahnwerk.escalation.texts import item_list
from mahnwerk.ledger.management.base import MahnwerkCommand, business_date
from mahnwerk.ledger.services import company_today


def _percent(value: str) -> Decimal:
    """argparse type: a usage error for a bad percentage, not a traceback."""
    try:
        percent = Decimal(value.replace(",", "."))
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"not a percentage: {value!r}") from None
    if not percent.is_finite() or not 0 <= percent <= 100:
        raise argparse.ArgumentTypeError(f"a percentage lies between 0 and 100: {value!r}")
    return percent


class Command(MahnwerkCommand):
    help = (
        "Escalation at the end of the reminders: 'advise DEBTOR' compares keep chasing, a settlement offer, an "
        "agency, a court payment order, European small claims, a lawyer and a write-off by expected net recovery; "
        "'decide DEBTOR OPTION' records a person's choice with the advice on the timeline."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["advise", "decide"])
        parser.add_argument("debtor", help="debtor id or customer number")
        parser.add_argument("option", nargs="?", help="decide: the option chosen (e.g. court_payment_order)")
        parser.add_argument("--date", type=business_date, help="as of this date (default: today)")
        parser.add_argument("--note", default="", help="decide: why")
        parser.add_argument(
            "--agency-fee-percent", type=_percent, help="the agency's share of what it collects (default: 25)"
        )
        parser.add_argument("--actor", default="cli", help="who decides (recorded on the timeline)")

    def handle(self, *args: Any, **options: Any) -> None:
        company = self.company(options)
        as_of = options["date"] or company_today(company)
        try:
            debtor = find_debtor(company, options["debtor"])
            if options["action"] == "decide":
                if not options["option"]:
                    raise CommandError(_("decide needs an OPTION"))
                data = decide(
                    company,
                    debtor,
                    options["option"],
                    as_of,
                    actor=options["actor"],
                    note=options["note"],
                    agency_fee_percent=options["agency_fee_percent"],
                )
            else:
                data = advise_debtor(company, debtor, as_of, options["agency_fee_percent"])
        except EscalationError as exc:
            raise CommandError(str(exc)) from None
        if options["json"]:
            self.emit_json(data)
            return
        cur = data["currency"]
        out = self.stdout.write
        out(
            _("Escalation advice for {name} ({number}) as of {date}").format(
                name=debtor.name, number=debtor.number, date=as_of.isoformat()
            )
        )
        claim = data["claim"]
        out(
            _("Owed: {total} (principal {principal}, interest {interest}, costs {costs})").format(
                total=format_money(claim["total_minor"], cur),
                principal=format_money(claim["principal_minor"], cur),
                interest=format_money(claim["interest_minor"], cur),
                costs=format_money(claim["costs_minor"], cur),
            )
        )
        if claim["not_yet_due_minor"]:
            out(
                _("Not yet due, left out: {amount} ({invoices})").format(
                    amount=format_money(claim["not_yet_due_minor"], cur),
                    invoices=", ".join(claim["not_yet_due_invoices"]),
                )
            )
        if claim["other_currencies"]:
            out(
                _("Owed in other currencies, not in these figures: {amounts}").format(
                    amounts="; ".join(
                        f"{format_money(o['total_minor'], o['currency'])} ({', '.join(o['invoices'])})"
                        for o in claim["other_currencies"]
                    )
                )
            )
        barred = data["time_barred"]
        if barred["invoices"]:
            out(
                _("Time-barred already: {items}; {amount} in all").format(
                    items=item_list(
                        [i["invoice"], i["time_barred_after"]] for i in data["limitation"] if i["time_barred"]
                    ),
                    amount=format_money(barred["total_minor"], cur),
                )
            )
        if data["limitation_date"]:
            out(
                _("Next limitation date: {date} ({invoices})").format(
                    date=data["limitation_date"],
                    invoices=", ".join(
                        i["invoice"]
                        for i in data["limitation"]
                        if i["time_barred_after"] == data["limitation_date"] and not i["time_barred"]
                    ),
                )
            )
        rel = data["relationship"]
        out(
            _("Customer: rating {rating}, segment {segment}").format(
                rating=rel["rating"] or "-", segment=rel["segment_label"] or rel["segment"] or "-"
            )
        )
        for o in data["options"]:
            if not o["available"]:
                out(f"  {o['label']:<48} {_('not possible')}: {'; '.join(o['reasons'])}")
                continue
            out(
                f"  {o['label']:<48} {_('expected')} {format_money(o['expected_net_minor'], cur):>12}  "
                f"{_('costs')} {format_money(o['costs_minor'], cur):>10}  "
                f"{_('reimbursed')} {format_money(o['recoverable_costs_minor'], cur):>10}  "
                f"{o['days']:>3} {_('days')}"
            )
            out("      " + "; ".join(o["reasons"]))
        label = next(o["label"] for o in data["options"] if o["option"] == data["recommended"])
        out(
            _("Recommended: {option} ({why})").format(
                option=label, why="; ".join(data["recommended_because"])
            )
        )
        if "decision" in data:
            out(_("Decision recorded: {option}").format(option=data["decision"]["option"]))
