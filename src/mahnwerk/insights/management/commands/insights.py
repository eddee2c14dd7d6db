"""``mahnwerk insights refresh|predict``: payment behaviour, rating and segment of every debtor, and
the payment prediction of every open invoice, computed from the ledger and stored.

    mahnwerk insights refresh [--company SLUG] [--date D] [--json]
    mahnwerk insights predict [--company SLUG] [--date D] [--json]
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from mahnwerk.ledger.models import Company
from mahnwerk.ledger.services import LedgerError, company_today, get_company


def business_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(_("Not a date (YYYY-MM-DD): {value}").format(value=value)) from None


class Command(BaseCommand):
    help = "Recompute debtor insights (behaviour, rating, segment) or invoice predictions from the ledger."

    def add_arguments(self, parser: CommandParser) -> None:
        common = CommandParser(add_help=False)
        common.add_argument("--company", help="Company id or short name (default: the only one).")
        common.add_argument("--date", help="Business date YYYY-MM-DD (default: today in the company's zone).")
        common.add_argument("--json", action="store_true", help="Print JSON.")
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser(
            "refresh", parents=[common], help="Profile, rate and segment every debtor; note segment changes."
        )
        sub.add_parser("predict", parents=[common], help="Predict late payment for every open invoice.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            company = get_company(options["company"])
        except LedgerError as exc:
            raise CommandError(str(exc)) from None
        as_of = business_date(options["date"]) if options["date"] else company_today(company)
        if options["action"] == "refresh":
            self._refresh(company, as_of, options["json"])
        else:
            self._predict(company, as_of, options["json"])

    def _refresh(self, company: Company, as_of: date, as_json: bool) -> None:
        from mahnwerk.insights.services import refresh_insights

        result = refresh_insights(company, as_of)
        if as_json:
            self.stdout.write(json.dumps(result.as_dict(), indent=2))
            return
        self.stdout.write(
            _("{count} debtors profiled as of {date}; {changed} changed segment ({seconds} s).").format(
                count=result.debtors,
                date=as_of.isoformat(),
                changed=result.changed,
                seconds=round(result.seconds, 1),
            )
        )
        for key, count in sorted(result.segments.items()):
            self.stdout.write(f"  {key:<20}{count:>8}")
        self.stdout.write(
            _("Ratings:") + " " + ", ".join(f"{k}: {v}" for k, v in sorted(result.ratings.items()))
        )

    def _predict(self, company: Company, as_of: date, as_json: bool) -> None:
        from mahnwerk.insights.services import predict_open_invoices

        rows = predict_open_invoices(company, as_of)
        if as_json:
            self.stdout.write(json.dumps([r.as_dict() for r in rows], indent=2, ensure_ascii=False))
            return
        notices = {r.notice_text() for r in rows if r.notice}
        for notice in sorted(notices):
            self.stdout.write(notice)
        self.stdout.write(
            _("{count} open invoices predicted as of {date} ({model}).").format(
                count=len(rows), date=as_of.isoformat(), model=rows[0].model_version if rows else "-"
            )
        )
