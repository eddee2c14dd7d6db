"""``mahnwerk kpi``: receivables KPIs for a period from the ledger or an invoice-history CSV.

    mahnwerk kpi [--company SLUG] [--from DATE] [--to DATE] [--forecast] [--json]
    mahnwerk kpi --csv FILE [--map COLUMN=FIELD ...] [--from DATE] [--to DATE] [--forecast] [--json]

Without ``--csv`` the company's ledger is read (invoices, payments, credit notes, sent messages,
promises) as known at the end of the period. Without ``--from``/``--to`` the period is the last full
calendar month before today (the file's export date for a CSV). ``--forecast`` adds the 13-week cash
forecast from the predictions for the period's end (stored ones, or made from what was known then).
The ledger's figures are those of the company's currency; invoices in any other currency are named per
currency with their own credit sales and receivables (``other_currencies`` in the JSON), never added in.
Formulas: :mod:`mahnwerk.core.kpi`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from mahnwerk.core.behaviour import InvoiceRecord
from mahnwerk.core.history_csv import HistoryCsvError, parse_mapping, read_history
from mahnwerk.core.kpi import KpiReport, Period, kpi_report
from mahnwerk.core.money import format_money
from mahnwerk.core.tabular import MAX_DATE, MIN_DATE, TabularError, check_date_range

if TYPE_CHECKING:
    from mahnwerk.insights.services import OtherCurrency


def _date(value: str) -> date:
    try:
        return check_date_range(date.fromisoformat(value))
    except TabularError as exc:
        raise CommandError(exc.render(_)) from None
    except ValueError:
        raise CommandError(_("Not a date (YYYY-MM-DD): {value}").format(value=value)) from None


def _in_range(record: InvoiceRecord) -> bool:
    return all(
        MIN_DATE <= d <= MAX_DATE
        for d in (record.issue_date, record.due_date, record.paid_date)
        if d is not None
    )


class Command(BaseCommand):
    help = "Receivables KPIs (DSO, CEI, aging, forecast) for a period of an invoice history."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--csv", help="Invoice-history CSV file (default: the company's ledger).")
        parser.add_argument("--company", help="Company id or short name (default: the only one).")
        parser.add_argument("--map", nargs="+", action="extend", default=[], metavar="COLUMN=FIELD")
        parser.add_argument("--currency", default="EUR")
        parser.add_argument("--from", dest="start", help="First day of the period (YYYY-MM-DD).")
        parser.add_argument("--to", dest="end", help="Last day of the period (YYYY-MM-DD).")
        parser.add_argument("--forecast", action="store_true", help="Add the 13-week cash forecast.")
        parser.add_argument("--json", action="store_true", help="Print JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["csv"]:
            self._from_ledger(options)
            return
        try:
            mapping = parse_mapping(options["map"]) if options["map"] else None
            history = read_history(options["csv"], mapping, currency=options["currency"])
        except FileNotFoundError:
            raise CommandError(_("File not found: {path}").format(path=options["csv"])) from None
        except HistoryCsvError as exc:
            raise CommandError("\n".join(e.render(_) for e in exc.errors)) from None
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        records = [r for r in history.records if _in_range(r)]
        self._note_skipped(len(history.records) - len(records))
        as_of = min(max(history.as_of, MIN_DATE), MAX_DATE)
        last_month_end = as_of.replace(day=1) - timedelta(days=1)
        end = _date(options["end"]) if options["end"] else last_month_end
        start = _date(options["start"]) if options["start"] else end.replace(day=1)
        try:
            period = Period(start, end)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        predictions = None
        if options["forecast"]:
            from mahnwerk.core.prediction import predict, train

            model = train(records, end)
            known = [r for r in records if r.issue_date <= end]
            open_ = [r for r in known if r.open_at(end) > 0]
            predictions = predict(model, known, open_, end, with_reasons=False)
        report = kpi_report(records, period, predictions=predictions)
        if options["json"]:
            self.stdout.write(json.dumps(as_dict(report), indent=2))
        else:
            self._print(report, options["currency"])

    def _from_ledger(self, options: dict[str, Any]) -> None:
        from mahnwerk.insights.services import company_kpis_and_others, out_of_range_invoices
        from mahnwerk.ledger.services import LedgerError, company_today, get_company

        try:
            company = get_company(options["company"])
        except LedgerError as exc:
            raise CommandError(str(exc)) from None
        last_month_end = company_today(company).replace(day=1) - timedelta(days=1)
        end = _date(options["end"]) if options["end"] else last_month_end
        start = _date(options["start"]) if options["start"] else end.replace(day=1)
        try:
            period = Period(start, end)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self._note_skipped(out_of_range_invoices(company))
        report, others = company_kpis_and_others(company, period, forecast=options["forecast"])
        if options["json"]:
            other = others_as_dict(others)
            self.stdout.write(
                json.dumps(
                    as_dict(report) | {"currency": company.currency, "other_currencies": other}, indent=2
                )
            )
        else:
            self._print(report, company.currency)
            if others:
                self.stdout.write(_("Invoices in other currencies, not in these figures:"))
            for cur, o in others.items():
                self.stdout.write(
                    "  "
                    + _(
                        "{currency}: {count} invoice(s), credit sales {sales}, receivables at the end {open}"
                    ).format(
                        currency=cur,
                        count=o.invoices,
                        sales=format_money(o.credit_sales_minor, cur),
                        open=format_money(o.receivables_minor, cur),
                    )
                )

    def _note_skipped(self, count: int) -> None:
        if count:
            self.stderr.write(
                _(
                    "Note: {count} invoice(s) with a date outside {min} to {max} are left out of the figures."
                ).format(count=count, min=MIN_DATE.isoformat(), max=MAX_DATE.isoformat())
            )

    def _print(self, report: KpiReport, currency: str) -> None:
        def days(value: float | None) -> str:
            return "-" if value is None else f"{value:.1f}"

        def money(minor: int) -> str:
            return format_money(minor, currency)

        p = report.period
        self.stdout.write(
            _("Period {start} to {end} ({days} days)").format(start=p.start, end=p.end, days=p.days)
        )
        rows = [
            (_("Credit sales"), money(report.credit_sales_minor)),
            (_("Receivables at the end"), money(report.receivables_minor)),
            (_("of which not yet due"), money(report.current_receivables_minor)),
            (_("DSO (simple), days"), days(report.dso)),
            (_("DSO (count-back), days"), days(report.dso_count_back)),
            (_("Best possible DSO, days"), days(report.best_possible_dso)),
            (_("Average days delinquent"), days(report.average_days_delinquent)),
            (_("CEI, %"), days(report.cei)),
            (
                _("Promises kept, %"),
                "-" if report.promises_kept_rate is None else f"{100 * report.promises_kept_rate:.0f}",
            ),
        ]
        for label, value in rows:
            self.stdout.write(f"{label:<28}{value:>20}")
        self.stdout.write(_("Aging at {day}:").format(day=p.end))
        for bucket in report.aging:
            self.stdout.write(f"  {bucket.label:<10}{money(bucket.amount_minor):>20}{bucket.count:>8}")
        if report.forecast is not None:
            self.stdout.write(_("Expected receipts by week:"))
            for week in report.forecast.weeks:
                self.stdout.write(f"  {week.start} - {week.end}{money(week.expected_minor):>20}")
            for label, minor in (
                (_("later"), report.forecast.later_minor),
                (_("doubtful"), report.forecast.doubtful_minor),
                (_("no prediction"), report.forecast.unpredicted_minor),
            ):
                self.stdout.write(f"  {label:<23}{money(minor):>20}")


def others_as_dict(others: Mapping[str, OtherCurrency]) -> dict[str, dict[str, int]]:
    """The invoices in other currencies than the company's (``other_currencies`` in the JSON and the API)."""
    return {
        cur: {
            "invoices": o.invoices,
            "credit_sales_minor": o.credit_sales_minor,
            "receivables_minor": o.receivables_minor,
        }
        for cur, o in others.items()
    }


def as_dict(report: KpiReport) -> dict[str, Any]:
    out: dict[str, Any] = {
        "period": {"start": report.period.start.isoformat(), "end": report.period.end.isoformat()},
        "credit_sales_minor": report.credit_sales_minor,
        "receivables_minor": report.receivables_minor,
        "current_receivables_minor": report.current_receivables_minor,
        "dso": report.dso,
        "dso_count_back": report.dso_count_back,
        "best_possible_dso": report.best_possible_dso,
        "average_days_delinquent": report.average_days_delinquent,
        "cei": report.cei,
        "aging": [
            {"bucket": b.label, "amount_minor": b.amount_minor, "count": b.count} for b in report.aging
        ],
        "collected_per_step": report.collected_per_step,
        "promises_kept_rate": report.promises_kept_rate,
    }
    if report.forecast is not None:
        out["forecast"] = {
            "weeks": [
                {"start": w.start.isoformat(), "end": w.end.isoformat(), "expected_minor": w.expected_minor}
                for w in report.forecast.weeks
            ],
            "later_minor": report.forecast.later_minor,
            "doubtful_minor": report.forecast.doubtful_minor,
            "unpredicted_minor": report.forecast.unpredicted_minor,
        }
    return out
