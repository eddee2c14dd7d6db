"""``mahnwerk interest``: statutory default interest for one claim, every segment explained."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from mahnwerk.core.interest import (
    InterestError,
    InterestResult,
    NegativeRateError,
    Payment,
    statutory_interest,
)
from mahnwerk.core.money import to_decimal
from mahnwerk.core.rates import MissingRateError, RateError, load_tables, percent_to_units, units_to_percent
from mahnwerk.core.rulesets import DayCount, RuleSetError, load_rulebook
from mahnwerk.core.tabular import TabularError, parse_amount, parse_currency


def data_dir() -> Path:
    return Path(settings.DATA_DIR)


def missing_rate_message(exc: MissingRateError) -> str:
    if exc.half_year:
        text = _("no {table} rate for the half-year from {start}; add it with: {command}")
    else:
        text = _("no {table} rate for {start}; add it with: {command}")
    return text.format(table=exc.table, start=exc.period_start.isoformat(), command=exc.add_command)


def _date(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(
            _("{option}: not a date (YYYY-MM-DD): {value}").format(option=option, value=value)
        ) from None


def _amount(text: str, currency: str, option: str, *, positive: bool = True) -> int:
    """An amount given on the command line, as strictly as a spreadsheet cell ("1234.56"; no exponents,
    no more decimals than the currency has, below 10^12 minor units), in minor units."""
    try:
        return parse_amount(text.strip(), currency, positive=positive)
    except TabularError as exc:
        raise CommandError(f"{option}: " + exc.render(_)) from None


def _pct(units: int | None) -> str:
    return "" if units is None else f"{units_to_percent(units)}"


def result_as_dict(result: InterestResult) -> dict[str, Any]:
    cur = result.currency

    def money(minor: int) -> str:
        return f"{to_decimal(minor, cur)}"

    return {
        "currency": cur,
        "from": result.first_day.isoformat(),
        "to": result.last_day.isoformat(),
        "day_count": str(result.day_count),
        "principal": money(result.principal_minor),
        "interest": money(result.interest_minor),
        "interest_paid": money(result.interest_paid_minor),
        "interest_open": money(result.interest_open_minor),
        "principal_open": money(result.principal_open_minor),
        "costs_open": money(result.costs_open_minor),
        "rule": dict(result.description),
        "segments": [
            {
                "from": s.start.isoformat(),
                "to": s.end.isoformat(),
                "days": s.days,
                "principal": money(s.principal_minor),
                "base": _pct(s.base_units) or None,
                "margin": _pct(s.margin_units),
                "rate": _pct(s.rate_units),
                "year_days": s.year_days,
                "amount": money(s.amount_minor),
                "capped": s.capped,
            }
            for s in result.segments
        ],
        "payments": [
            {
                "value_date": p.value_date.isoformat(),
                "amount": money(p.amount_minor),
                "to_costs": money(p.to_costs),
                "to_interest": money(p.to_interest),
                "to_principal": money(p.to_principal),
                "to_penalty": money(p.to_penalty),
                "unapplied": money(p.unapplied),
            }
            for p in result.payments
        ],
    }


class Command(BaseCommand):
    help = _(
        "Statutory default interest on a claim: the total and every segment between rate changes "
        "and payments."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--jurisdiction", required=True, help=_("DE, LV, EU or US"))
        parser.add_argument("--debtor-kind", required=True, choices=["business", "consumer"])
        parser.add_argument("--principal", required=True, help=_("the unpaid principal, e.g. 1000.00"))
        parser.add_argument("--currency", default="EUR")
        parser.add_argument("--from", dest="first", required=True, help=_("first day on which interest runs"))
        parser.add_argument("--to", dest="last", required=True, help=_("last day on which interest runs"))
        parser.add_argument(
            "--payment",
            action="append",
            default=[],
            metavar="DATE=AMOUNT",
            help=_("a partial payment with its value date; may be repeated"),
        )
        parser.add_argument(
            "--costs", default="0", help=_("costs owed on the claim (served first in Germany)")
        )
        parser.add_argument("--day-count", choices=[str(d) for d in DayCount], default=None)
        parser.add_argument(
            "--arose",
            default=None,
            help=_(
                "the day the claim arose: chooses the rule set version and margin "
                "(default: the day before --from)"
            ),
        )
        parser.add_argument(
            "--contract-rate",
            default=None,
            help=_("an agreed rate in percent that replaces the statutory one"),
        )
        parser.add_argument("--json", action="store_true", help=_("print JSON"))

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            currency = parse_currency(options["currency"], "EUR")
        except TabularError as exc:
            raise CommandError("--currency: " + exc.render(_)) from None
        principal = _amount(options["principal"], currency, "--principal")
        costs = _amount(options["costs"], currency, "--costs", positive=False)
        if costs < 0:
            raise CommandError("--costs: " + _("cannot be negative"))
        first = _date(options["first"], "--from")
        last = _date(options["last"], "--to")
        arose = _date(options["arose"], "--arose") if options["arose"] else None
        payments: list[Payment] = []
        for spec in options["payment"]:
            day, sep, amount = spec.partition("=")
            if not sep:
                raise CommandError(_("--payment: expected DATE=AMOUNT, got {value}").format(value=spec))
            payments.append(Payment(_date(day.strip(), "--payment"), _amount(amount, currency, "--payment")))
        contract = None
        if options["contract_rate"] is not None:
            try:
                contract = percent_to_units(options["contract_rate"])
            except RateError as exc:
                raise CommandError(str(exc)) from None
        try:
            tables = load_tables(data_dir() / "rates")
            rulebook = load_rulebook(data_dir() / "rulesets")
            result = statutory_interest(
                rulebook,
                tables,
                options["jurisdiction"],
                options["debtor_kind"],
                principal,
                first,
                last,
                arose=arose,
                payments=payments,
                costs_minor=costs,
                day_count=DayCount(options["day_count"]) if options["day_count"] else None,
                contract_rate_units=contract,
                currency=currency,
            )
        except MissingRateError as exc:
            raise CommandError(missing_rate_message(exc)) from None
        except NegativeRateError as exc:
            raise CommandError(
                _("the interest rate from {start} would be negative; nothing was computed").format(
                    start=exc.start.isoformat()
                )
            ) from None
        except (InterestError, RateError, RuleSetError) as exc:
            raise CommandError(str(exc)) from None

        data = result_as_dict(result)
        if options["json"]:
            self.stdout.write(json.dumps(data, indent=2, ensure_ascii=False))
            return
        self._print_text(result, data)

    def _print_text(self, result: InterestResult, data: dict[str, Any]) -> None:
        rule = data["rule"]
        out = self.stdout
        out.write(
            _(
                "Interest {jurisdiction}/{kind} on {principal} {currency}, {first} to {last} ({day_count})"
            ).format(
                jurisdiction=rule["jurisdiction"],
                kind=rule["debtor_kind"],
                principal=data["principal"],
                currency=data["currency"],
                first=data["from"],
                last=data["to"],
                day_count=data["day_count"],
            )
        )
        if rule["formula"] == "base_plus_margin":
            out.write(
                _("Rate: {table} + {margin} pp (rule set from {valid_from})").format(
                    table=rule["rate_table"], margin=rule["margin"], valid_from=rule["ruleset_valid_from"]
                )
            )
        elif rule["formula"] == "contract":
            out.write(_("Rate: agreed by contract"))
        else:
            out.write(
                _("Rate: fixed (rule set from {valid_from})").format(valid_from=rule["ruleset_valid_from"])
            )
        headers = [
            _("from"),
            _("to"),
            _("days"),
            _("principal"),
            _("base"),
            _("margin"),
            _("rate"),
            _("amount"),
        ]
        rows = [
            [
                s["from"],
                s["to"],
                str(s["days"]),
                s["principal"],
                s["base"] if s["base"] is not None else "-",
                s["margin"],
                s["rate"] + (" " + _("(capped)") if s["capped"] else ""),
                s["amount"],
            ]
            for s in data["segments"]
        ]
        widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
        out.write("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
        for r in rows:
            out.write(
                "  ".join(
                    v.rjust(w) if i >= 2 else v.ljust(w)
                    for i, (v, w) in enumerate(zip(r, widths, strict=True))
                )
            )
        for p in data["payments"]:
            out.write(
                _(
                    "Payment {value_date} {amount}: costs {costs}, interest {interest}, "
                    "principal {principal}, unapplied {unapplied}"
                ).format(
                    value_date=p["value_date"],
                    amount=p["amount"],
                    costs=p["to_costs"],
                    interest=p["to_interest"],
                    principal=p["to_principal"],
                    unapplied=p["unapplied"],
                )
            )
        out.write(
            _("Total interest: {total} {currency}").format(total=data["interest"], currency=data["currency"])
        )
        if result.payments:
            out.write(
                _("Open: principal {principal}, interest {interest}, costs {costs}").format(
                    principal=data["principal_open"], interest=data["interest_open"], costs=data["costs_open"]
                )
            )
