"""Limitation (Verjährung / noilgums): the day after which a claim is time-barred.

* Germany (§§ 195, 199 BGB): 3 years from the end of the year in which the claim arose -- a claim
  that arose on 2023-05-10 can be enforced until 2026-12-31. A part-payment or an acknowledgement
  (§ 212 BGB) starts the period again from that day: it then ends on the same calendar date three
  years later (§§ 187, 188 BGB; 29 February -> 28 February). A restart never shortens the period.
* Latvia: 3 years for commercial transactions (Komerclikums § 406), 10 years in general
  (Civillikums § 1895), counted from the due date.
* A suspension (a court payment order, negotiations: § 204, § 203 BGB) adds its days to the period.
* The product warns ``warning_days`` (90) days before the end.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from mahnwerk.core.rulesets import LimitationRule

PART_PAYMENT = "part_payment"
ACKNOWLEDGEMENT = "acknowledgement"


@dataclass(frozen=True, slots=True)
class Limitation:
    expires_on: date  # the last day the claim can be enforced; time-barred from the day after
    warn_from: date
    rule: str  # "year_end", "due_date", "restart:part_payment", "restart:acknowledgement"
    restarted_on: date | None
    suspended_days: int

    def status(self, as_of: date) -> str:
        """ "running", "warning" (inside the warning window) or "time_barred"."""
        if as_of > self.expires_on:
            return "time_barred"
        if as_of >= self.warn_from:
            return "warning"
        return "running"


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February into a common year
        return day.replace(year=day.year + years, day=28)


def time_bar(
    rule: LimitationRule,
    arose: date,
    *,
    part_payments: Sequence[date] = (),
    acknowledgements: Sequence[date] = (),
    suspensions: Sequence[tuple[date, date]] = (),
) -> Limitation:
    """When the claim that arose (fell due) on ``arose`` becomes time-barred, given later events.

    ``suspensions`` are inclusive (first, last) day ranges during which the period does not run.
    Events after the period has already ended change nothing (a time-barred claim stays barred).
    """
    if rule.starts == "year_end":
        expires = date(arose.year + rule.years, 12, 31)
    else:
        expires = add_years(arose, rule.years)
    how = rule.starts
    restarted: date | None = None
    suspended = 0
    events: list[tuple[date, int, str, date]] = []
    if PART_PAYMENT in rule.restart_on:
        events.extend((d, 1, PART_PAYMENT, d) for d in part_payments)
    if ACKNOWLEDGEMENT in rule.restart_on:
        events.extend((d, 1, ACKNOWLEDGEMENT, d) for d in acknowledgements)
    for first, last in suspensions:
        if last < first:
            raise ValueError("a suspension ends before it starts")
        events.append((first, 0, "suspension", last))
    for day, _, kind, last in sorted(events):
        if day < arose or day > expires:
            continue
        if kind == "suspension":
            days = (last - day).days + 1
            suspended += days
            expires += timedelta(days=days)
            continue
        candidate = add_years(day, rule.years)
        if candidate > expires:
            expires = candidate
            how = f"restart:{kind}"
            restarted = day
    return Limitation(expires, expires - timedelta(days=rule.warning_days), how, restarted, suspended)
