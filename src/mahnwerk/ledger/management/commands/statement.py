from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _

from mahnwerk.core.calendar import format_date
from mahnwerk.core.money import format_money
from mahnwerk.ids import parse_id
from mahnwerk.ledger.claims import debtor_law, statement
from mahnwerk.ledger.management.base import MahnwerkCommand, business_date
from mahnwerk.ledger.models import Debtor
from mahnwerk.ledger.services import company_today


class Command(MahnwerkCommand):
    help = "Statement of account of a debtor: principal, interest, fees, payments and the total due."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("debtor", help="debtor id or customer number")
        parser.add_argument("--date", type=business_date, help="as of this date (default: today)")

    def handle(self, *args: Any, **options: Any) -> None:
        company = self.company(options)
        qs = Debtor.objects.filter(company=company)
        ident = options["debtor"]
        debtor = qs.filter(number=ident).first() or (
            qs.filter(pk=pk).first() if (pk := parse_id(ident)) else None
        )
        if debtor is None:
            raise CommandError(
                _("no debtor {ident!r} in {company}").format(ident=ident, company=company.name)
            )
        as_of = options["date"] or company_today(company)
        data = statement(company, debtor.pk, debtor_law(company, debtor), as_of)
        if options["json"]:
            self.emit_json(data)
            return
        out = self.stdout.write
        out(
            _("Statement of account for {name} ({number}) as of {date}").format(
                name=debtor.name, number=debtor.number, date=format_date(as_of, "en")
            )
        )
        out(_("Rules: {rules}").format(rules=data["rules"]["text"]))
        for line in data["lines"]:
            cur = line["currency"]
            out(
                "  "
                + _(
                    "{number:<16} due {due:<12} principal {principal:>12}  interest {interest:>10}  "
                    "fees {fees:>9}  total {total:>12}"
                ).format(
                    number=line["number"],
                    due=format_date(line["due_date"], "en"),
                    principal=format_money(line["principal_open_minor"], cur),
                    interest=format_money(line["interest_open_minor"], cur),
                    fees=format_money(line["fees_open_minor"], cur),
                    total=format_money(line["total_open_minor"], cur),
                )
            )
            if line["default_from"] and line["default_rule_label"]:
                out(
                    "      "
                    + _("interest from {date} (default by {rule})").format(
                        date=format_date(line["default_from"], "en"), rule=line["default_rule_label"]
                    )
                )
            for seg in line["segments"]:
                out(
                    "      "
                    + _(
                        "{start} – {end}  {days:>4} days  {rate:>7} % p.a.  on {principal}  = {amount}"
                    ).format(
                        start=seg["from"],
                        end=seg["to"],
                        days=seg["days"],
                        rate=seg["rate"],
                        principal=format_money(seg["principal_minor"], cur),
                        amount=format_money(seg["amount_minor"], cur),
                    )
                )
            if line["interest_error"] and line["interest_until"]:
                out(
                    "      "
                    + _("interest computed up to {date}: {reason}").format(
                        date=format_date(line["interest_until"], "en"), reason=line["interest_error"]
                    )
                )
            elif line["interest_error"]:
                out("      " + _("interest not computed: {reason}").format(reason=line["interest_error"]))
            if line["time_barred"]:
                out(
                    "      "
                    + _("time-barred since {date}: the customer may refuse to pay").format(
                        date=format_date(line["time_barred_after"] + timedelta(days=1), "en")
                    )
                )
        for cur, t in data["totals"].items():
            out(_("Total due: {total}").format(total=format_money(t["total_open_minor"], cur)))
            if t["time_barred_open_minor"]:
                out(
                    _("of which time-barred: {amount}").format(
                        amount=format_money(t["time_barred_open_minor"], cur)
                    )
                )
        for cur, amount in data["credits"].items():
            out(_("Credit on account, not yet used: {amount}").format(amount=format_money(amount, cur)))
