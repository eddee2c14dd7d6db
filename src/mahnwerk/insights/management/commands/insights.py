"""``mahnwerk insights refresh|predict``: payment behaviour, rating and segment of every debtor, and
the payment prediction of every open invoice, computed from the ledger and stored.

    mahnwerk insights refresh [--company SLUG] [--date D] [--json]
    mahnwerk insights predict [--company SLUG] [--date D] [--json]

and the segments' terms — what may be agreed in each segment — shown and changed:

    mahnwerk insights segments [--company SLUG] [--json]
    mahnwerk insights segment KEY [--playbook NAME] [--max-instalments N] [--down-payment P] [--plan-days N]
        [--settlement-floor P] [--extension-days N] [--promise-days N] [--offers KIND,...|none]
        [--deadline-days N] [--thank-you yes|no] [--by-tier TERM ...] [--company SLUG] [--json]
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from mahnwerk.ledger.models import Company
from mahnwerk.ledger.services import LedgerError, company_today, get_company


def yes_no(value: str) -> bool:
    if value.lower() in ("yes", "y", "true", "1"):
        return True
    if value.lower() in ("no", "n", "false", "0"):
        return False
    raise argparse.ArgumentTypeError(_("Not yes or no: {value}").format(value=value))


def offer_list(value: str) -> tuple[str, ...]:
    """``discount,waive_fees`` -> the offers; ``none``: no offers at all."""
    return () if value.strip().lower() == "none" else tuple(v.strip() for v in value.split(",") if v.strip())


# option, the term it sets, its type, help
TERM_OPTIONS: tuple[tuple[str, str, Callable[[str], Any], str], ...] = (
    ("--playbook", "playbook", str, "name of the segment's playbook"),
    ("--max-instalments", "max_instalments", int, "most instalments of a plan"),
    ("--down-payment", "min_down_payment_percent", int, "least down payment of a plan (%)"),
    ("--plan-days", "max_plan_days", int, "longest plan (days)"),
    (
        "--settlement-floor",
        "settlement_floor_percent",
        int,
        "least share of what is open a settlement takes (%)",
    ),
    ("--extension-days", "extension_days", int, "one-click extension on the customer's page (days, 0: none)"),
    ("--promise-days", "promise_max_days", int, "furthest payment date (days ahead)"),
    (
        "--offers",
        "offers",
        offer_list,
        "offers allowed: discount, waive_fees, waive_interest (comma-separated) or none",
    ),
    ("--deadline-days", "deadline_days", int, "longest reminder deadline (days, at least 7)"),
    ("--thank-you", "thank_you_messages", yes_no, "thank-you messages for good payers: yes or no"),
)
TIER_TERMS = frozenset(
    {"settlement_floor_percent", "extension_days", "promise_max_days", "offers", "deadline_days"}
)


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
        sub.add_parser("segments", parents=[common], help="What may be agreed in each segment, and why.")
        change = sub.add_parser("segment", parents=[common], help="Change what may be agreed in one segment.")
        change.add_argument("key", metavar="KEY", help="the segment's key, e.g. best, normal, watch, risky")
        for option, dest, kind, text in TERM_OPTIONS:
            change.add_argument(option, dest=dest, type=kind, help=text)
        change.add_argument(
            "--by-tier",
            action="append",
            default=[],
            metavar="TERM",
            choices=sorted(TIER_TERMS),
            help="leave this term to the segment's down payment tier again: " + ", ".join(sorted(TIER_TERMS)),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            company = get_company(options["company"])
        except LedgerError as exc:
            raise CommandError(str(exc)) from None
        as_of = business_date(options["date"]) if options["date"] else company_today(company)
        if options["action"] == "refresh":
            self._refresh(company, as_of, options["json"])
        elif options["action"] == "segments":
            self._segments(company, options["json"])
        elif options["action"] == "segment":
            self._change_segment(company, options)
        else:
            self._predict(company, as_of, options["json"])

    def _segments(self, company: Company, as_json: bool, only: str | None = None) -> None:
        from mahnwerk.collection.agreements import segment_terms
        from mahnwerk.insights.services import segment_rules

        rules = {r.key: r for r in segment_rules(company)}
        rows = [t for t in segment_terms(company) if only is None or t.segment == only]
        if as_json:
            data = [
                {
                    "key": t.segment,
                    "label": t.label,
                    "condition": rules[t.segment].condition,
                    "playbook": t.playbook,
                    "max_instalments": t.max_instalments,
                    "min_down_payment_percent": t.min_down_payment_percent,
                    "max_plan_days": t.max_duration_days,
                    "settlement_floor_percent": t.settlement_floor_percent,
                    "extension_days": t.extension_days,
                    "promise_max_days": t.promise_max_days,
                    "offers": sorted(t.incentives),
                    "deadline_days": t.deadline_days,
                    "thank_you_messages": t.thank_you,
                    # the terms the rule states itself (the others follow from its down payment tier)
                    "own": sorted(n for n in TIER_TERMS if getattr(rules[t.segment].policy, n) is not None),
                }
                for t in rows
            ]
            self.stdout.write(json.dumps(data, indent=2, ensure_ascii=False))
            return
        for t in rows:
            condition = rules[t.segment].condition or _("everyone else")
            self.stdout.write(f"{t.segment} ({_(t.label)}): {condition}")
            self.stdout.write(f"  {t.terms_text()}")

    def _change_segment(self, company: Company, options: dict[str, Any]) -> None:
        from mahnwerk.insights.services import SegmentError, change_segment_terms

        changes: dict[str, Any] = {
            dest: options[dest]
            for _option, dest, _kind, _text in TERM_OPTIONS
            if options.get(dest) is not None
        }
        for term in options["by_tier"]:
            changes[term] = None
        if not changes:
            raise CommandError(_("Nothing to change: name at least one term."))
        try:
            change_segment_terms(company, options["key"], **changes)
        except SegmentError as exc:
            raise CommandError(str(exc)) from None
        if not options["json"]:
            self.stdout.write(_("Segment {key} changed.").format(key=options["key"]))
        self._segments(company, options["json"], only=options["key"])

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
