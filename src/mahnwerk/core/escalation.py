"""When reminders are not enough: what each way of going on costs and is expected to bring.

Pure logic, no framework. The Django app ``mahnwerk.escalation`` gathers the figures (the statement of the
debtor's account, limitation dates, rating and segment, the company's own history) and shows the result.

Fee tables are data (``core/data/fees/*.toml``), each version with its sources and the day it applies from:

* ``gkg.toml`` — court fees, Anlage 2 zu § 34 GKG; the court payment order (Mahnverfahren, KV GKG Nr. 1100)
  costs a 0.5 fee with a minimum. The claim value is the sum of the main claims: interest and costs claimed
  beside them do not count (§ 43 (1) GKG).
* ``rvg.toml`` — lawyers' fees, Anlage 2 zu § 13 RVG; out of court the Geschäftsgebühr (VV RVG Nr. 2300,
  usually 1.3) plus expenses (Nr. 7002: 20 %, at most 20 EUR).
* ``other.toml`` — stated assumptions: the agency's share, the court fee of the European Small Claims
  Procedure, the Latvian warning procedure.

Every option is valued the same way (amounts in minor units)::

    expected_net = round(p * (claim + recoverable)) - outlay

``claim`` is what the debtor owes today (principal, interest, costs), ``p`` the probability that the option
succeeds, ``recoverable`` the part of the option's costs the debtor must reimburse on top, ``outlay`` what
the creditor pays whether or not it succeeds (court and lawyer fees). Where costs arise only on success (an
agency's share, a settlement's discount) they are taken from the amount collected instead:
``round(p * (claim + recoverable - share))``.

What the debtor must reimburse:

* § 288 (5) s. 3 BGB: the 40 EUR flat rate already claimed is credited against costs of legal pursuit, so a
  lawyer's or agency's costs are recoverable only beyond it (:func:`credit_flat_rate`).
* § 13e RDG (and the prevailing view for businesses): an agency's costs only up to what a lawyer could claim —
  a 0.9 fee for an undisputed claim (1.3 when disputed) plus expenses (:func:`agency_cost_cap`).
* Latvian consumers (Cabinet Regulation 61/2013, ``lv_consumer.toml``): recovery costs at most 17 EUR per debt
  in total; what the reminders have used up of that cap is gone (``Situation.costs_cap_left_minor``).
* Court fees are borne by the losing debtor (§ 91 ZPO; Art. 16 Reg. 861/2007).

Success probabilities: the company's own history where it has enough cases (``Situation.probabilities``,
from the ``insights`` data), else :data:`DEFAULT_SUCCESS`; both scaled by the debtor's rating
(:data:`RATING_FACTORS`), cut for a disputed claim and for a claim whose limitation runs out first.

Limitation is judged item by item (``Situation.items``, each invoice with the last day it can be enforced, by
the debtor's law): out of court, a time-barred item's share of the claim counts at :data:`TIME_BARRED_FACTOR`
and an item that becomes time-barred before the option has run its course at :data:`LIMITATION_FIRST_FACTOR`,
the rest in full. A court application leaves time-barred items out (as ``escalation.court`` does unless told
otherwise): the court options are valued on the other items alone, and are not possible when every item is
time-barred. The statutes cited are those of the debtor's law (:func:`mahnwerk.core.limitation.statutes`).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any

from mahnwerk.core.calendar import period_end
from mahnwerk.core.limitation import statutes
from mahnwerk.core.money import round_half_up, to_minor
from mahnwerk.core.rulesets import EU_COUNTRIES


class FeeTableError(ValueError):
    """A fee that the tables cannot give (no version for the date, a value beyond the table)."""


class Option(StrEnum):
    KEEP_CHASING = "keep_chasing"
    SETTLEMENT = "settlement"
    AGENCY = "agency"
    COURT_PAYMENT_ORDER = "court_payment_order"  # German Mahnverfahren, §§ 688 ff. ZPO
    LV_PAYMENT_ORDER = "lv_payment_order"  # Latvian warning procedure, CPL 400.-406.1 pants
    SMALL_CLAIMS = "european_small_claims"  # Regulation (EC) No 861/2007
    LAWYER = "lawyer"
    WRITE_OFF = "write_off"


# Stated default success probabilities, used where the company's own history is too thin. They are the share
# of accounts at the end of the reminder ladder that each option brings to payment in full (a settlement: to
# payment of the settled amount); conservative figures, to be replaced by the company's history as it grows.
DEFAULT_SUCCESS: dict[Option, float] = {
    Option.KEEP_CHASING: 0.20,
    Option.SETTLEMENT: 0.45,
    Option.AGENCY: 0.50,
    Option.COURT_PAYMENT_ORDER: 0.70,
    Option.LV_PAYMENT_ORDER: 0.65,
    Option.SMALL_CLAIMS: 0.60,
    Option.LAWYER: 0.60,
    Option.WRITE_OFF: 0.0,
}

# How long each option takes until money can be expected (days, stated defaults): the court payment order is
# the Mahnbescheid, two weeks for an objection and the enforcement order.
DAYS: dict[Option, int] = {
    Option.KEEP_CHASING: 30,
    Option.SETTLEMENT: 21,
    Option.AGENCY: 90,
    Option.COURT_PAYMENT_ORDER: 60,
    Option.LV_PAYMENT_ORDER: 60,
    Option.SMALL_CLAIMS: 150,
    Option.LAWYER: 45,
    Option.WRITE_OFF: 0,
}

# The debtor's payment rating scales every probability that depends on the debtor's will or means.
RATING_FACTORS: dict[str, float] = {"A": 1.10, "B": 1.0, "C": 0.85, "D": 0.70}
MAX_PROBABILITY = 0.95
DISPUTED_FACTOR = 0.3  # a disputed claim: an objection is likely, the payment order turns into a suit
TIME_BARRED_FACTOR = 0.1  # the debtor may refuse to pay a time-barred item (§ 214 BGB)
LIMITATION_FIRST_FACTOR = 0.5  # the item becomes time-barred before the option has run its course

SETTLEMENT_SHARE = Decimal("0.85")  # a settlement offer asks for 85 % of the total owed today
FURTHER_REMINDERS = 2  # keep chasing: two more letters
SOFT_MARGIN = Decimal("0.9")  # a valued customer: a soft option within 90 % of the best one is preferred

SOFT_OPTIONS = frozenset({Option.KEEP_CHASING, Option.SETTLEMENT})
HARD_OPTIONS = frozenset(
    {Option.AGENCY, Option.COURT_PAYMENT_ORDER, Option.LV_PAYMENT_ORDER, Option.SMALL_CLAIMS, Option.LAWYER}
)
# A court is asked: time-barred items stay out of the application, filing stops the period running out.
COURT_OPTIONS = frozenset({Option.COURT_PAYMENT_ORDER, Option.LV_PAYMENT_ORDER, Option.SMALL_CLAIMS})
# The reasons that explain a probability: left out for an option that is not possible.
PROBABILITY_REASONS = frozenset(
    {
        "probability_history",
        "probability_default",
        "rating",
        "disputed",
        "time_barred",
        "limitation_paused",
        "limitation_ends",
        "limitation_first",
        "time_barred_left_out",
    }
)
# The European Small Claims Procedure (Regulation 861/2007) applies in every EU member state but Denmark.
SMALL_CLAIMS_COUNTRIES = EU_COUNTRIES - {"DK"}


# --- fee tables ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FeeStep:
    up_to_minor: int
    per_minor: int
    add_minor: int


@dataclass(frozen=True, slots=True)
class FeeTable:
    """One version of a value-based fee table (GKG, RVG)."""

    name: str
    valid_from: date
    base_minor: int
    first_up_to_minor: int
    steps: tuple[FeeStep, ...]
    covered_up_to_minor: int
    minimum_minor: int
    sources: tuple[str, ...]
    unconfirmed: tuple[str, ...]
    extra: Mapping[str, str]

    def fee(self, value_minor: int) -> int:
        """The full (1.0) fee for ``value_minor``: the base fee, plus each step's amount for every started
        span above the previous limit."""
        if value_minor < 0:
            raise ValueError("the value must not be negative")
        if value_minor > self.covered_up_to_minor:
            raise FeeTableError(
                f"the {self.name} table from {self.valid_from} reaches {self.covered_up_to_minor // 100} EUR only"
            )
        fee = self.base_minor
        limit = self.first_up_to_minor
        for step in self.steps:
            if value_minor <= limit:
                break
            span = min(value_minor, step.up_to_minor) - limit
            fee += -(-span // step.per_minor) * step.add_minor
            limit = step.up_to_minor
        return max(fee, self.minimum_minor)

    def decimal(self, key: str) -> Decimal:
        return Decimal(self.extra[key])

    def minor(self, key: str) -> int:
        return to_minor(self.extra[key], "EUR")


def _read(name: str) -> dict[str, Any]:
    item = resources.files("mahnwerk.core").joinpath("data", "fees", f"{name}.toml")
    return tomllib.loads(item.read_text(encoding="utf-8"))


@cache
def fee_tables(name: str) -> tuple[FeeTable, ...]:
    """Every version of the fee table ``name`` ("gkg", "rvg"), oldest first."""
    doc = _read(name)
    currency = str(doc.get("currency", "EUR"))
    out = []
    for v in doc["versions"]:
        known = {
            "valid_from",
            "sources",
            "unconfirmed",
            "base",
            "first_up_to",
            "steps",
            "covered_up_to",
            "minimum",
        }
        out.append(
            FeeTable(
                name=name,
                valid_from=v["valid_from"],
                base_minor=to_minor(v["base"], currency),
                first_up_to_minor=to_minor(v["first_up_to"], currency),
                steps=tuple(
                    FeeStep(
                        to_minor(s["up_to"], currency),
                        to_minor(s["per"], currency),
                        to_minor(s["add"], currency),
                    )
                    for s in v["steps"]
                ),
                covered_up_to_minor=to_minor(v["covered_up_to"], currency),
                minimum_minor=to_minor(v["minimum"], currency),
                sources=tuple(v.get("sources", ())),
                unconfirmed=tuple(v.get("unconfirmed", ())),
                extra={k: str(val) for k, val in v.items() if k not in known},
            )
        )
    return tuple(sorted(out, key=lambda t: t.valid_from))


def fee_table(name: str, on: date) -> FeeTable:
    """The version of ``name`` in force on ``on``."""
    versions = [t for t in fee_tables(name) if t.valid_from <= on]
    if not versions:
        raise FeeTableError(f"no {name} fee table in force on {on}")
    return versions[-1]


@cache
def assumptions() -> dict[str, Any]:
    """The stated assumptions of ``other.toml`` (agency share, small-claims court fee, Latvian procedure)."""
    return _read("other")


def scaled(fee_minor: int, factor: Decimal) -> int:
    """A fraction or multiple of a fee, rounded to the cent, half a cent up (§ 34 (2) GKG, § 2 (2) RVG)."""
    return round_half_up(Decimal(fee_minor) * factor)


def mahnverfahren_fee(value_minor: int, on: date) -> int:
    """The court fee for a German court payment order (KV GKG Nr. 1100): 0.5 of the GKG fee for the sum of the
    main claims, at least the table's minimum.

    Worked example, 1,234.56 EUR on 2025-09-01: the GKG fee up to 1,500 EUR is 40.00 + 2 * 21.00 = 82.00;
    half of it is 41.00, above the minimum of 38.00 -> 41.00 EUR."""
    table = fee_table("gkg", on)
    return max(
        scaled(table.fee(value_minor), table.decimal("mahnverfahren_factor")),
        table.minor("mahnverfahren_minimum"),
    )


@dataclass(frozen=True, slots=True)
class LawyerFee:
    factor: Decimal
    fee_minor: int
    expenses_minor: int

    @property
    def total_minor(self) -> int:
        return self.fee_minor + self.expenses_minor


def rvg_business_fee(value_minor: int, on: date, factor: Decimal | None = None) -> LawyerFee:
    """A lawyer's out-of-court fee (VV RVG Nr. 2300, 1.3 unless ``factor``) with the expenses (Nr. 7002), net.

    Worked example, 1,234.56 EUR on 2025-09-01: the RVG fee up to 1,500 EUR is 51.50 + 2 * 41.50 = 134.50;
    1.3 of it is 174.85; expenses 20 % = 34.97, capped at 20.00 -> 194.85 EUR."""
    table = fee_table("rvg", on)
    factor = table.decimal("business_fee_factor") if factor is None else factor
    fee = scaled(table.fee(value_minor), factor)
    expenses = min(scaled(fee, table.decimal("expenses_percent") / 100), table.minor("expenses_cap"))
    return LawyerFee(factor, fee, expenses)


def agency_cost_cap(value_minor: int, on: date, *, disputed: bool = False) -> int:
    """What a debtor may have to reimburse of an agency's costs (§ 13e RDG): what a lawyer could claim — a
    0.9 fee for an undisputed claim, 1.3 otherwise — plus expenses."""
    table = fee_table("rvg", on)
    factor = table.decimal("business_fee_factor" if disputed else "undisputed_fee_factor")
    return rvg_business_fee(value_minor, on, factor).total_minor


def credit_flat_rate(costs_minor: int, flat_rate_minor: int) -> int:
    """Costs of legal pursuit still recoverable once the flat rate already claimed is credited (§ 288 (5) s. 3)."""
    return max(costs_minor - max(flat_rate_minor, 0), 0)


# --- advice -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reason:
    """Why an option is valued as it is: a code (the Django app has a text for each) and its figures."""

    code: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ClaimFigures:
    currency: str
    principal_minor: int
    interest_minor: int
    costs_minor: int  # fees booked and open: flat rate, reminder fees
    flat_rate_minor: int = 0  # of the costs: the flat compensation claimed (§ 288 (5) BGB)

    @property
    def total_minor(self) -> int:
        return self.principal_minor + self.interest_minor + self.costs_minor


@dataclass(frozen=True, slots=True)
class ItemLimitation:
    """One item of the claim (an invoice) with the last day it can be enforced and what is open on it."""

    invoice: str
    time_barred_after: date | None  # None: no limitation date known
    principal_minor: int
    total_minor: int  # principal, interest and costs open

    def barred(self, as_of: date) -> bool:
        return self.time_barred_after is not None and self.time_barred_after < as_of


@dataclass(frozen=True, slots=True)
class Situation:
    as_of: date
    jurisdiction: str  # the rule set that applies to the debtor: DE, LV, EU, US
    debtor_kind: str  # business or consumer
    debtor_country: str = ""
    creditor_country: str = ""
    rating: str = ""
    segment: str = ""
    valued_customer: bool = False
    disputed: bool = False
    agency_fee_percent: Decimal | None = None  # None: the stated default of other.toml
    probabilities: Mapping[str, float] = field(default_factory=dict)  # from the company's history
    letter_cost_minor: int = 150
    costs_cap_left_minor: int | None = None  # a cap on recovery costs (Latvian consumers): what is left of it
    escalation_min_minor: int = 0  # below this total no agency, court or lawyer (the company's minimum)
    items: tuple[ItemLimitation, ...] = ()  # the claim's items with their limitation dates

    def time_barred(self) -> list[ItemLimitation]:
        """The items whose limitation period has ended (time-barred after a day before ``as_of``)."""
        return [i for i in self.items if i.barred(self.as_of)]

    def enforceable(self) -> list[ItemLimitation]:
        return [i for i in self.items if not i.barred(self.as_of)]

    @property
    def limitation_date(self) -> date | None:
        """The next limitation date: the earliest of the items not yet time-barred (None: none known)."""
        return min((i.time_barred_after for i in self.enforceable() if i.time_barred_after), default=None)


@dataclass(frozen=True, slots=True)
class OptionAdvice:
    option: Option
    available: bool
    expected_net_minor: int
    costs_minor: int
    recoverable_costs_minor: int
    days: int
    probability: float
    probability_source: str  # "history", "default" or "none"
    reasons: tuple[Reason, ...]


@dataclass(frozen=True, slots=True)
class Advice:
    options: tuple[OptionAdvice, ...]  # available first, by expected net recovery, best first
    recommended: Option
    why: tuple[Reason, ...]

    def option(self, option: Option | str) -> OptionAdvice:
        return next(o for o in self.options if o.option == option)


def _probability(option: Option, s: Situation, reasons: list[Reason]) -> tuple[float, str]:
    if option is Option.WRITE_OFF:
        return 0.0, "none"
    if option in s.probabilities:
        p, source = float(s.probabilities[option]), "history"
        reasons.append(Reason("probability_history", {"percent": round(p * 100)}))
    else:
        p, source = DEFAULT_SUCCESS[option], "default"
        reasons.append(Reason("probability_default", {"percent": round(p * 100)}))
    factor = RATING_FACTORS.get(s.rating, 1.0)
    if factor != 1.0:
        p *= factor
        reasons.append(Reason("rating", {"rating": s.rating}))
    if s.disputed and option in HARD_OPTIONS | {Option.KEEP_CHASING}:
        p *= DISPUTED_FACTOR
        reasons.append(Reason("disputed"))
    p *= _limitation_factor(option, s, reasons)
    return min(p, MAX_PROBABILITY), source


def _item_list(items: Iterable[ItemLimitation]) -> list[list[str]]:
    """Items as a reason names them: ``[invoice, last day it can be enforced (ISO)]`` each."""
    return [[i.invoice, i.time_barred_after.isoformat() if i.time_barred_after else ""] for i in items]


def _limitation_factor(option: Option, s: Situation, reasons: list[Reason]) -> float:
    """What limitation leaves of an option's probability, item by item, with the reasons (the statutes of the
    debtor's law; none where it names none).

    A court option: time-barred items stay out of the application (valued in :func:`_value`); filing stops
    the period of the others running out — by § 204 BGB in Germany; elsewhere the reason only says by when to
    file. Any other option: each item counts by its share of what is open, a time-barred one at
    :data:`TIME_BARRED_FACTOR`, one that becomes time-barred before the option has run its course at
    :data:`LIMITATION_FIRST_FACTOR`."""
    if option is Option.WRITE_OFF or not s.items:
        return 1.0
    law = statutes(s.jurisdiction, s.debtor_kind)
    if option in COURT_OPTIONS:
        next_date = s.limitation_date
        if next_date is not None and law.suspension:
            reasons.append(Reason("limitation_paused", {"date": next_date, "statute": law.suspension}))
        elif next_date is not None:
            reasons.append(Reason("limitation_ends", {"date": next_date, "statute": law.period}))
        return 1.0
    barred = s.time_barred()
    ends_by = s.as_of + timedelta(days=DAYS[option])
    first = [i for i in s.enforceable() if i.time_barred_after is not None and i.time_barred_after < ends_by]
    if barred:
        reasons.append(
            Reason(
                "time_barred",
                {
                    "items": _item_list(barred),
                    "amount_minor": sum(i.total_minor for i in barred),
                    "statute": law.defence,
                },
            )
        )
    if first:
        reasons.append(Reason("limitation_first", {"items": _item_list(first)}))
    if not barred and not first:
        return 1.0
    weights = [max(i.total_minor, 0) for i in s.items]
    if not any(weights):  # nothing open to weigh by: each item counts alike
        weights = [1] * len(weights)
    factor = {id(i): TIME_BARRED_FACTOR for i in barred} | {id(i): LIMITATION_FIRST_FACTOR for i in first}
    kept = sum(w * factor.get(id(i), 1.0) for i, w in zip(s.items, weights, strict=True))
    return kept / sum(weights)


def _recoverable(
    costs_minor: int, claim: ClaimFigures, s: Situation, *, credit: bool = True
) -> tuple[int, Reason | None]:
    """The part of collection costs the debtor must reimburse: the flat rate credited, a cap applied."""
    out = credit_flat_rate(costs_minor, claim.flat_rate_minor) if credit else costs_minor
    reason = (
        Reason("flat_rate_credited", {"flat_rate_minor": claim.flat_rate_minor})
        if credit and claim.flat_rate_minor
        else None
    )
    if s.costs_cap_left_minor is not None:
        capped = min(out, max(s.costs_cap_left_minor, 0))
        if capped < out:
            reason = Reason("costs_cap", {"cap_left_minor": max(s.costs_cap_left_minor, 0)})
        out = capped
    return out, reason


def _expected(p: float, amount_minor: int) -> int:
    return round_half_up(Decimal(str(p)) * Decimal(amount_minor))


def advise(claim: ClaimFigures, s: Situation) -> Advice:
    """Every option with its costs, recoverable costs, time and expected net recovery, and the one to take."""
    options = [_value(option, claim, s) for option in Option]
    available = sorted((o for o in options if o.available), key=lambda o: -o.expected_net_minor)
    ordered = tuple(available + [o for o in options if not o.available])
    best = available[0]
    why: list[Reason] = [Reason("highest_expected", {"option": str(best.option)})]
    if best.expected_net_minor <= 0:
        best = next(o for o in available if o.option is Option.WRITE_OFF)
        why = [Reason("nothing_pays")]
    elif s.valued_customer and best.option not in SOFT_OPTIONS:
        soft = [o for o in available if o.option in SOFT_OPTIONS]
        if soft and Decimal(soft[0].expected_net_minor) >= SOFT_MARGIN * best.expected_net_minor:
            why = [
                Reason(
                    "valued_customer_soft", {"option": str(soft[0].option), "instead_of": str(best.option)}
                )
            ]
            best = soft[0]
    return Advice(ordered, best.option, tuple(why))


def _value(option: Option, claim: ClaimFigures, s: Situation) -> OptionAdvice:
    reasons: list[Reason] = []
    total = claim.total_minor
    principal = claim.principal_minor
    on = s.as_of
    available = True
    costs = recoverable = 0
    expected = 0
    p, source = _probability(option, s, reasons)
    relationship = s.valued_customer and option in HARD_OPTIONS
    barred = s.time_barred() if option in COURT_OPTIONS else []
    if barred:  # the application leaves them out: its value, fee and limit are those of the other items
        total -= sum(i.total_minor for i in barred)
        principal -= sum(i.principal_minor for i in barred)

    if barred and not s.enforceable():
        available = False
        reasons.append(Reason("all_time_barred", {"items": _item_list(barred)}))
    elif option is Option.KEEP_CHASING:
        costs = FURTHER_REMINDERS * s.letter_cost_minor
        reasons.append(Reason("further_reminders", {"count": FURTHER_REMINDERS}))
        expected = _expected(p, total) - costs
    elif option is Option.SETTLEMENT:
        offer = round_half_up(Decimal(total) * SETTLEMENT_SHARE)
        reasons.append(Reason("settlement_offer", {"offer_minor": offer, "given_up_minor": total - offer}))
        expected = _expected(p, offer)
    elif option is Option.AGENCY:
        percent = s.agency_fee_percent
        if percent is None:
            percent = Decimal(str(assumptions()["agency"]["default_fee_percent"]))
            reasons.append(Reason("agency_default_fee", {"percent": str(percent)}))
        else:
            reasons.append(Reason("agency_fee", {"percent": str(percent)}))
        costs = round_half_up(Decimal(total) * percent / 100)
        recoverable, agency_why = _agency_recoverable(costs, claim, s)
        reasons.extend(agency_why)
        expected = _expected(p, total + recoverable - costs)
    elif option is Option.COURT_PAYMENT_ORDER:
        if s.debtor_country not in ("", "DE"):
            available = False
            reasons.append(Reason("court_debtor_abroad", {"country": s.debtor_country}))
        else:
            try:
                costs = mahnverfahren_fee(principal, on)
            except FeeTableError as exc:
                available = False
                reasons.append(Reason("fee_table", {"error": str(exc)}))
            else:
                recoverable = costs
                reasons.append(Reason("gkg_fee", {"fee_minor": costs, "value_minor": principal}))
                reasons.append(Reason("court_fee_borne_by_debtor"))
                expected = _expected(p, total + recoverable) - costs
    elif option is Option.LV_PAYMENT_ORDER:
        if s.debtor_country != "LV" and not (s.debtor_country == "" and s.jurisdiction == "LV"):
            available = False
            reasons.append(Reason("lv_only"))
        else:
            lv = assumptions()["lv_payment_order"]
            costs = max(
                round_half_up(Decimal(principal) * Decimal(str(lv["fee_percent"])) / 100),
                to_minor(str(lv["fee_minimum"]), "EUR"),
            )
            recoverable = costs
            reasons.append(Reason("lv_fee", {"percent": str(lv["fee_percent"]), "fee_minor": costs}))
            reasons.append(Reason("unconfirmed_assumption"))
            expected = _expected(p, total + recoverable) - costs
    elif option is Option.SMALL_CLAIMS:
        esc = assumptions()["european_small_claims"]
        limit = to_minor(str(esc["limit"]), "EUR")
        cross_border = (
            s.debtor_country in SMALL_CLAIMS_COUNTRIES
            and s.creditor_country in SMALL_CLAIMS_COUNTRIES
            and s.debtor_country != s.creditor_country
        )
        if principal > limit:
            available = False
            reasons.append(Reason("small_claims_limit", {"limit_minor": limit}))
        elif not cross_border:
            available = False
            reasons.append(Reason("small_claims_cross_border"))
        else:
            costs = to_minor(str(esc["assumed_court_fee"]), "EUR")
            recoverable = costs
            reasons.append(Reason("small_claims_fee", {"fee_minor": costs}))
            expected = _expected(p, total + recoverable) - costs
    elif option is Option.LAWYER:
        try:
            fee = rvg_business_fee(principal, on)
        except FeeTableError as exc:
            available = False
            reasons.append(Reason("fee_table", {"error": str(exc)}))
        else:
            costs = fee.total_minor
            reasons.append(
                Reason(
                    "rvg_fee",
                    {
                        "factor": str(fee.factor),
                        "fee_minor": fee.fee_minor,
                        "expenses_minor": fee.expenses_minor,
                    },
                )
            )
            if s.jurisdiction != "DE":
                reasons.append(Reason("rvg_estimate"))
            recoverable, lawyer_why = _recoverable(costs, claim, s)
            if lawyer_why is not None:
                reasons.append(lawyer_why)
            expected = _expected(p, total + recoverable) - costs
    else:  # write-off
        reasons.append(Reason("write_off"))
        if s.jurisdiction == "DE":
            reasons.append(Reason("vat_correction"))

    if barred and available:
        reasons.append(
            Reason(
                "time_barred_left_out",
                {"items": _item_list(barred), "amount_minor": sum(i.total_minor for i in barred)},
            )
        )
    if option in HARD_OPTIONS and available and total < s.escalation_min_minor:
        available = False
        reasons.append(Reason("below_minimum", {"minimum_minor": s.escalation_min_minor}))
    if relationship:
        reasons.append(Reason("relationship", {"rating": s.rating, "segment": s.segment}))
    elif s.valued_customer and option in SOFT_OPTIONS:
        reasons.append(Reason("relationship_kept", {"rating": s.rating, "segment": s.segment}))
    if not available:
        expected = costs = recoverable = 0
        p, source = 0.0, "none"
        reasons = [r for r in reasons if r.code not in PROBABILITY_REASONS]
    return OptionAdvice(
        option=option,
        available=available,
        expected_net_minor=expected,
        costs_minor=costs,
        recoverable_costs_minor=recoverable,
        days=DAYS[option],
        probability=round(p, 4),
        probability_source=source,
        reasons=tuple(reasons),
    )


def _agency_recoverable(costs: int, claim: ClaimFigures, s: Situation) -> tuple[int, list[Reason]]:
    reasons: list[Reason] = []
    if s.jurisdiction == "DE":
        cap = agency_cost_cap(claim.principal_minor, s.as_of, disputed=s.disputed)
        if cap < costs:
            reasons.append(Reason("rdg_cap", {"cap_minor": cap}))
        recoverable, why = _recoverable(min(costs, cap), claim, s)
    elif s.debtor_kind == "business" or s.costs_cap_left_minor is not None:
        recoverable, why = _recoverable(costs, claim, s)
    else:
        recoverable, why = 0, Reason("not_recoverable")
    if why is not None:
        reasons.append(why)
    return recoverable, reasons


# --- the court payment order's interest claims ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InterestPiece:
    """One segment of computed interest: its days, the principal it ran on, its rate, base and margin."""

    start: date
    end: date
    principal_minor: int
    margin: Decimal
    base: Decimal | None  # None: a fixed rate
    rate: Decimal
    amount_minor: int


@dataclass(frozen=True, slots=True)
class InterestClaims:
    """Interest as a court payment order claims it: the interest computed for earlier periods on amounts no
    longer open (``calculated_minor``, up to ``calculated_until``), and running interest on the principal open
    now from ``running_from`` (a margin over the base rate, or a fixed rate)."""

    calculated_minor: int
    calculated_until: date | None
    running_from: date | None
    running_principal_minor: int
    margin: Decimal | None
    fixed_rate: Decimal | None


def split_interest(
    pieces: Sequence[InterestPiece], principal_open_minor: int, interest_paid_minor: int
) -> InterestClaims:
    """Split computed interest into an amount for the past and running interest on today's principal.

    The running claim starts where the principal last changed to what is open now; interest paid is taken
    from the calculated amount first (the running claim is counted by the court from its start date)."""
    running_from: date | None = None
    tail: list[InterestPiece] = []
    for piece in reversed(pieces):
        if piece.principal_minor != principal_open_minor:
            break
        tail.append(piece)
    tail.reverse()
    head = list(pieces[: len(pieces) - len(tail)])
    if principal_open_minor > 0 and tail:
        running_from = tail[0].start
    elif principal_open_minor > 0 and pieces:
        running_from = pieces[-1].end + timedelta(days=1)
    calculated = sum(p.amount_minor for p in head)
    paid_left = interest_paid_minor - calculated
    calculated = max(calculated - interest_paid_minor, 0)
    if paid_left > 0 and tail:
        # interest paid beyond the past periods: the running claim starts later, after the days it covers
        covered = 0
        for piece in tail:
            covered += piece.amount_minor
            if covered > paid_left:
                calculated += covered - paid_left
                running_from = piece.end + timedelta(days=1)
                break
        else:
            running_from = tail[-1].end + timedelta(days=1)
    ref = tail[0] if tail else (pieces[-1] if pieces else None)
    return InterestClaims(
        calculated_minor=calculated,
        calculated_until=_calculated_until(calculated, running_from, pieces),
        running_from=running_from,
        running_principal_minor=principal_open_minor if running_from else 0,
        margin=None if ref is None or ref.base is None else ref.margin,
        fixed_rate=None if ref is None or ref.base is not None else ref.rate,
    )


def _calculated_until(
    calculated: int, running_from: date | None, pieces: Sequence[InterestPiece]
) -> date | None:
    if not calculated:
        return None
    if running_from is not None:
        return running_from - timedelta(days=1)
    return pieces[-1].end if pieces else None


def deadlines(service_on: date) -> dict[str, date]:
    """What follows a court payment order served on ``service_on``: the objection period ends two weeks later
    (§ 692 (1) Nr. 3 ZPO); the enforcement order must be applied for within six months (§ 701 ZPO, § 188 (2),
    (3) BGB: the month's last day where it is shorter). A period ending on a Saturday, Sunday or nationwide
    public holiday ends on the next working day (§ 222 (2) ZPO)."""
    month = service_on.month - 1 + 6
    year = service_on.year + month // 12
    month = month % 12 + 1
    day = min(service_on.day, _days_in_month(year, month))
    return {
        "objection_until": period_end(service_on + timedelta(days=14), "DE"),
        "enforcement_order_by": period_end(date(year, month, day), "DE"),
    }


def lv_deadlines(
    written_on: date, warning_days: int, service_days: int, objection_days: int
) -> dict[str, date]:
    """What follows the creditor's warning letter of the Latvian warning procedure written on ``written_on``:
    the letter gives ``warning_days`` to pay, so the application can be filed the day after; the court's
    warning is expected to be served ``service_days`` after filing, and the debtor may object within
    ``objection_days`` of service (Civilprocesa likums 400.-406.1 pants; the periods are the assumptions of
    ``other.toml``). A period ending on a Saturday, Sunday or Latvian public holiday ends on the next working
    day (Civilprocesa likums 48. pants (3))."""
    pay_by = period_end(written_on + timedelta(days=warning_days), "LV")
    file_from = pay_by + timedelta(days=1)
    service_on = file_from + timedelta(days=service_days)
    return {
        "pay_by": pay_by,
        "file_application_from": file_from,
        "assumed_service_on": service_on,
        "objection_until": period_end(service_on + timedelta(days=objection_days), "LV"),
    }


def _days_in_month(year: int, month: int) -> int:
    nxt = date(year + month // 12, month % 12 + 1, 1)
    return (nxt - timedelta(days=1)).day


def reasons_codes(reasons: Iterable[Reason]) -> list[str]:
    return [r.code for r in reasons]
