"""``mahnwerk worklist``: open invoices ordered by the expected value of acting now, with the reason.

mahnwerk worklist [--company SLUG] [--date D] [--limit N] [--json]
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser
from django.utils.translation import gettext as _

from mahnwerk.core.money import format_money
from mahnwerk.insights.management.commands.insights import business_date
from mahnwerk.ledger.management.base import MahnwerkCommand
from mahnwerk.ledger.services import company_today


class Command(MahnwerkCommand):
    help = "The collector's worklist: open amount x risk of loss x how much the next step tends to help."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", help="Business date YYYY-MM-DD (default: today in the company's zone).")
        parser.add_argument("--limit", type=int, default=50, help="How many invoices to list (default 50).")

    def handle(self, *args: Any, **options: Any) -> None:
        from mahnwerk.insights.services import worklist

        company = self.company(options)
        as_of = business_date(options["date"]) if options["date"] else company_today(company)
        result = worklist(company, as_of, options["limit"])
        if options["json"]:
            self.emit_json(result.as_dict())
            return
        self.stdout.write(_("Worklist as of {date}").format(date=as_of.isoformat()))
        for notice in sorted({row.notice for row in result.rows if row.notice}):
            self.stdout.write(f"! {notice}")
        for n, row in enumerate(result.rows, start=1):
            self.stdout.write(
                f"{n:>3}. {row.invoice_number:<14}{row.debtor_name[:30]:<32}"
                f"{format_money(row.open_minor, row.currency):>16}  {row.reason}"
            )
            for text in row.prediction_reasons:
                self.stdout.write(f"       - {text}")
        if result.unpredicted:
            self.stdout.write(
                _("{count} open invoices have no prediction: there is no payment history yet.").format(
                    count=result.unpredicted
                )
            )
