"""Limitation (Verjährung / noilgums): the day after which a claim is time-barred.

* Germany (§§ 195, 199 BGB): 3 years from the end of the year in which the claim arose -- a claim
  that arose on 2023-05-10 can be enforced until 2026-12-31. A part-payment or an acknowledgement
  (§ 212 BGB) starts the period again from that day: it then ends on the same calendar date three
  years later (§§ 187, 188 BGB; 29 February -> 28 February). A restart never shortens the period.
* Latvia: 3 years for commercial transactions (Komerclikums § 406), 10 years in general
  (Civillikums § 1895), counted from the due date.
* A suspension (a court payment order, negotiations: § 204, § 203 BGB) adds its days to the period.
* The product warns ``warning_days`` (90) days before the end.

:func:`statutes` names the statutes behind each rule set's limitation as the design's legal notes give them,
and none where they give none (no citation is invented): Germany §§ 195, 199 BGB (the period), § 204 BGB (court
action suspends it), § 214 BGB (the debtor may then refuse to pay); Latvia the period only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from mahnwerk.core.rulesets import LimitationRule

PART_PAYMENT = "part_payment"
ACKNOWLEDGEMENT = "acknowledgement"


@dataclass(frozen=True, slots=True)
class Statutes:
    """The statutes behind a jurisdiction's limitation rules ("" where none is known)."""

    period: str = ""  # how long the period runs and from when
    suspension: str = ""  # court action suspends (pauses) it
    defence: str = ""  # once it has ended, the debtor may refuse to pay


_GERMANY = Statutes("§§ 195, 199 BGB", "§ 204 BGB", "§ 214 BGB")
STATUTES: dict[tuple[str, str], Statutes] = {
    ("DE", "business"): _GERMANY,
    ("DE", "consumer"): _GERMANY,
    ("LV", "business"): Statutes(period="Komerclikums § 406"),  # commercial transactions: 3 years
    ("LV", "consumer"): Statutes(period="Civillikums § 1895"),  # in general: 10 years
}


def statutes(jurisdiction: str, debtor_kind: str) -> Statutes:
    """The statutes of the debtor's law (its rule set's jurisdiction and debtor kind); none for a rule set
    whose limitation is a placeholder (EU, US) or one only a user overlay knows."""
    return STATUTES.get((jurisdiction.upper(), str(debtor_kind)), Statutes())


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
