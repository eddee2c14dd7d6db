"""Claims on invoices: principal, default interest and costs, as of a date — the statutory engine in
``mahnwerk.core`` applied to the ledger.

Interest accrues on the principal path of each invoice: the amount, reduced from the day after each
principal allocation's value date. Payments are split over costs, interest and principal by the rule
set's allocation order when they arrive (``ledger.services``); here the interest accrued to a date is
compared with the interest already paid. No interest on interest, no interest before default began.

Materiality: a payment that names an invoice and covers its principal settles it (§ 367(2) BGB, see
``core.claims``); after a payment or credit note, an invoice left with no more principal open than the
company's small-balance tolerance is closed by a write-off; with ``leftover_costs = "write_off"`` the
interest and fees still open on an invoice whose principal a payment settled are written off too.
A write-off reaches the invoice as allocations (component by component, like a payment) that point at
a :class:`~mahnwerk.ledger.models.WriteOff` instead of a payment or credit note.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext, gettext_noop

from mahnwerk.core.claims import ClaimBalance, allocate_payment
from mahnwerk.core.interest import DefaultStart, InterestError, Segment, default_begins, interest_for
from mahnwerk.core.limitation import time_bar
from mahnwerk.core.playbook import threshold_minor
from mahnwerk.core.rates import MissingRateError, RateError, RateTable, load_tables, percent_to_units
from mahnwerk.core.rulesets import (
    ApplicableLaw,
    DayCount,
    LawReason,
    RuleBook,
    RuleSet,
    applicable_law,
    load_rulebook,
)
from mahnwerk.core.rulesets import Component as CoreComponent
from mahnwerk.ledger.bulk import bulk_insert
from mahnwerk.ledger.facts import InvoiceLike
from mahnwerk.ledger.ids import id_in
from mahnwerk.ledger.models import (
    Allocation,
    Charge,
    Company,
    CreditNote,
    Debtor,
    Invoice,
    Jurisdiction,
    Payment,
    WriteOff,
    WriteOffReason,
)

ONE_DAY = timedelta(days=1)


RECHECK_SECONDS = 30.0


@dataclass
class _Rules:
    """Rule sets and rate tables loaded once per process, reloaded when a file in the data directory's
    ``rates/`` or ``rulesets/`` overlay changes (``mahnwerk rates add`` in another process included);
    the overlay is looked at no more than every ``RECHECK_SECONDS``."""

    key: tuple[object, ...] = ()
    checked_at: float = float("-inf")
    book: RuleBook | None = None
    tables: dict[str, RateTable] = field(default_factory=dict)


_rules = _Rules()


def _overlay_key() -> tuple[object, ...]:
    data_dir = Path(settings.DATA_DIR)
    files = [
        p
        for folder in ("rates", "rulesets")
        if (data_dir / folder).is_dir()
        for p in sorted((data_dir / folder).iterdir())
    ]
    return (str(data_dir), *((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in files))


def _current() -> _Rules:
    now = time.monotonic()
    moved = not _rules.key or _rules.key[0] != str(settings.DATA_DIR)  # another data directory: at once
    if _rules.book is None or moved or now - _rules.checked_at > RECHECK_SECONDS:
        key = _overlay_key()
        if key != _rules.key or _rules.book is None:
            data_dir = Path(settings.DATA_DIR)
            _rules.book = load_rulebook(data_dir / "rulesets")
            _rules.tables = load_tables(data_dir / "rates")
            _rules.key = key
        _rules.checked_at = now
    return _rules


def rulebook() -> RuleBook:
    book = _current().book
    assert book is not None
    return book


def rate_tables() -> dict[str, RateTable]:
    return _current().tables


def reload_rules() -> None:
    """Reload rule sets and rate tables at the next use (after ``rates add`` in this process)."""
    _rules.book = None


def ruleset(jurisdiction: str, debtor_kind: str, on: date) -> RuleSet:
    """The version of a jurisdiction's rule set for ``debtor_kind`` in force on ``on`` (looked up once per
    rule book, jurisdiction, kind and day: a run asks for every item it names)."""
    book = rulebook()
    laws = _laws_of(book)
    key = (jurisdiction, debtor_kind, on)
    found = laws.rulesets.get(key)
    if found is None:
        if len(laws.rulesets) >= _MAX_REMEMBERED:
            laws.rulesets.clear()
        found = laws.rulesets[key] = book.get(jurisdiction, debtor_kind, on)
    return found


def rules_begin(law: ApplicableLaw) -> date | None:
    """The first day a version of the debtor's rule set covers (None: it has none): money moved before it
    (a payment of 1995) is outside what the rules can reckon with."""
    versions = rulebook().versions.get((law.jurisdiction.upper(), law.debtor_kind))
    return versions[0].valid_from if versions else None


# The debtor fields the applicable law depends on, for ``values_list`` (with the id first).
LAW_FIELDS = ("id", "kind", "country", "jurisdiction")

# Per debtor id: its law, or only its kind (then its country and jurisdiction are read, one query for all).
DebtorLaws = Mapping[int, ApplicableLaw | str]


def law_for(company: Company, kind: str, country: str, jurisdiction: str) -> ApplicableLaw:
    """The rules that apply to a debtor of ``company`` with these fields: a consumer's country of residence,
    else the law of the contract set for the debtor, else the creditor's (``core.rulesets.applicable_law``).

    Worked out once per combination and rule book: a run asks it for every item of every debtor, and the
    answers are a handful of combinations."""
    laws = _laws_of(rulebook())
    key = (kind, country, jurisdiction, company.jurisdiction)
    law = laws.laws.get(key)
    if law is None:
        law = laws.laws[key] = applicable_law(
            kind, country=country, contract=jurisdiction, creditor=company.jurisdiction, known=laws.known
        )
    return law


@dataclass
class _Laws:
    """The answers of :func:`law_for` and :func:`ruleset` for one rule book: its jurisdictions, the law per
    combination of a debtor's fields, the rule set per jurisdiction, kind and day."""

    book: RuleBook | None = None
    known: tuple[str, ...] = ()
    laws: dict[tuple[str, str, str, str], ApplicableLaw] = field(default_factory=dict)
    rulesets: dict[tuple[str, str, date], RuleSet] = field(default_factory=dict)


_laws = _Laws()
_MAX_REMEMBERED = 100_000  # days remembered at most (a server running for years asks for ever new ones)


def _laws_of(book: RuleBook) -> _Laws:
    global _laws
    if _laws.book is not book:  # another (reloaded) rule book: the old answers go with the old book
        _laws = _Laws(book, tuple(book.jurisdictions()))
    return _laws


def debtor_law(company: Company, debtor: Debtor) -> ApplicableLaw:
    """The rules that apply to ``debtor`` and why (no query)."""
    return law_for(company, debtor.kind, debtor.country, debtor.jurisdiction)


def debtor_laws(company: Company, debtor_ids: Iterable[int]) -> dict[int, ApplicableLaw]:
    """The applicable law of many debtors in one query."""
    known = rulebook().jurisdictions()
    ids = sorted(set(debtor_ids))
    rows: list[tuple[int, str, str, str]] = []
    if len(ids) > 5000:  # many (an import): the company's debtors in one pass, not thousands of parameters
        wanted = set(ids)
        rows = [
            row for row in Debtor.objects.filter(company=company).values_list(*LAW_FIELDS) if row[0] in wanted
        ]
    else:
        rows = list(Debtor.objects.filter(pk__in=ids).values_list(*LAW_FIELDS))
    laws: dict[int, ApplicableLaw] = {}
    same: dict[tuple[str, str, str], ApplicableLaw] = {}  # a few combinations for any number of debtors
    for pk, kind, country, jurisdiction in rows:
        key = (kind, country, jurisdiction)
        law = same.get(key)
        if law is None:
            law = same[key] = applicable_law(
                kind, country=country, contract=jurisdiction, creditor=company.jurisdiction, known=known
            )
        laws[pk] = law
    return laws


def resolve_laws(company: Company, laws: DebtorLaws) -> dict[int, ApplicableLaw]:
    """``laws`` with every kind given alone replaced by the debtor's law (its kind as given)."""
    out = {pk: law for pk, law in laws.items() if isinstance(law, ApplicableLaw)}
    missing = {pk: law for pk, law in laws.items() if not isinstance(law, ApplicableLaw)}
    if missing:
        known = rulebook().jurisdictions()
        for pk, _kind, country, jurisdiction in Debtor.objects.filter(pk__in=list(missing)).values_list(
            *LAW_FIELDS
        ):
            out[pk] = applicable_law(
                missing[pk],
                country=country,
                contract=jurisdiction,
                creditor=company.jurisdiction,
                known=known,
            )
        for pk, kind in missing.items():  # a debtor not saved (yet): the creditor's law
            out.setdefault(pk, law_for(company, kind, "", ""))
    return out


def law_ruleset(law: ApplicableLaw, on: date) -> RuleSet:
    """The version of the debtor's rule set in force on ``on``."""
    return ruleset(law.jurisdiction, law.debtor_kind, on)


def jurisdiction_name(code: str) -> str:
    """The jurisdiction's name in the active language (its code for one only an overlay knows)."""
    return str(Jurisdiction(code).label) if code in Jurisdiction.values else code


def law_reason_text(law: ApplicableLaw) -> str:
    """Why the rules apply, in the active language: "consumer resident in LV", "creditor's law", ..."""
    if law.reason is LawReason.RESIDENCE:
        return gettext("consumer resident in {country}").format(country=law.country)
    if law.reason is LawReason.NO_RULES_FOR_RESIDENCE:
        return gettext("consumer resident in {country}, no rules for it: contract law").format(
            country=law.country
        )
    if law.reason is LawReason.CONTRACT:
        return gettext("contract law set for this debtor")
    return gettext("creditor's law")


def law_text(law: ApplicableLaw) -> str:
    """The rules and why, in the active language: "Latvia (consumer resident in LV)"."""
    return gettext("{jurisdiction} ({reason})").format(
        jurisdiction=jurisdiction_name(law.jurisdiction), reason=law_reason_text(law)
    )


def law_summary(law: ApplicableLaw) -> dict[str, str]:
    """The applicable law for the API and the CLI's JSON: codes and the text."""
    return {
        "jurisdiction": law.jurisdiction,
        "debtor_kind": str(law.debtor_kind),
        "reason": str(law.reason),
        "country": law.country,
        "text": law_text(law),
    }


def default_start(
    invoice: Invoice, jurisdiction: str, debtor_kind: str, reminder_on: date | None = None
) -> DefaultStart:
    """When default begins for ``invoice`` (without a reminder, or with one received on ``reminder_on``)."""
    rules = ruleset(jurisdiction, debtor_kind, invoice.due_date)
    return default_begins(
        rules.default,
        debtor_kind,
        invoice.due_date,
        due_date_agreed=invoice.due_date_agreed,
        reminder_received=reminder_on,
        invoice_received=invoice.received_on or invoice.issue_date,
        consumer_notice_given=invoice.consumer_notice,
    )


def limitation_date(
    jurisdiction: str, debtor_kind: str, arose: date, part_payments: Sequence[date] = ()
) -> date:
    rules = ruleset(jurisdiction, debtor_kind, arose)
    return time_bar(rules.limitation, arose, part_payments=part_payments).expires_on


def accrued_interest(
    rules: RuleSet,
    amount_minor: int,
    reductions: Sequence[tuple[date, int]],
    first_day: date,
    last_day: date,
    *,
    currency: str,
    day_count: DayCount | None = None,
    contract_percent: Decimal | None = None,
) -> tuple[int, list[Segment]]:
    """Interest accrued from ``first_day`` to ``last_day`` (inclusive) on a principal that is reduced by
    ``reductions`` (value date, amount): the reduced principal applies from the day after the value date.

    Raises :class:`~mahnwerk.core.rates.RateError` when a rate table does not cover the period.
    With the rule set's cap (Latvia) the accrued total never grows beyond the principal then open.
    """
    if last_day < first_day:
        return 0, []
    principal = amount_minor - sum(a for d, a in reductions if d < first_day)
    intervals: list[tuple[date, int]] = [(first_day, principal)]
    for value_date, amount in sorted(r for r in reductions if r[0] >= first_day):
        principal -= amount
        start = value_date + ONE_DAY
        if intervals[-1][0] == start:
            intervals[-1] = (start, principal)
        else:
            intervals.append((start, principal))
    contract = percent_to_units(contract_percent) if contract_percent is not None else None
    total = 0
    segments: list[Segment] = []
    for i, (start, base) in enumerate(intervals):
        end = intervals[i + 1][0] - ONE_DAY if i + 1 < len(intervals) else last_day
        if end < start or base <= 0 or start > last_day:
            continue
        end = min(end, last_day)
        result = interest_for(
            rules,
            rate_tables(),
            base,
            start,
            end,
            day_count=day_count,
            contract_rate_units=contract,
            currency=currency,
        )
        gained = result.interest_minor
        if rules.interest.cap_at_principal:
            gained = max(0, min(total + gained, base) - total)
        total += gained
        segments.extend(result.segments)
    return total, segments


@dataclass(frozen=True, slots=True)
class KnownInterest:
    """Interest computed as far as the rate tables reach: ``missing`` names the first day without a rate
    (the days from then on are not claimed; they are, once the rate is added)."""

    amount_minor: int
    segments: list[Segment]
    missing: MissingRateError | None = None

    @property
    def until(self) -> date | None:
        """The last day the interest is computed for, when a rate is missing after it."""
        return None if self.missing is None else self.missing.period_start - ONE_DAY


def known_interest(
    rules: RuleSet,
    amount_minor: int,
    reductions: Sequence[tuple[date, int]],
    first_day: date,
    last_day: date,
    *,
    currency: str,
    day_count: DayCount | None = None,
    contract_percent: Decimal | None = None,
) -> KnownInterest:
    """:func:`accrued_interest`, or where a rate table stops short, the interest up to the day before the
    first missing rate: never a guess for the days after it, never 0 for the days before it."""
    kwargs: dict[str, Any] = {
        "currency": currency,
        "day_count": day_count,
        "contract_percent": contract_percent,
    }
    try:
        return KnownInterest(
            *accrued_interest(rules, amount_minor, reductions, first_day, last_day, **kwargs)
        )
    except MissingRateError as exc:
        missing = exc
    until = missing.period_start - ONE_DAY
    if until < first_day:
        return KnownInterest(0, [], missing)
    amount, segments = accrued_interest(rules, amount_minor, reductions, first_day, until, **kwargs)
    return KnownInterest(amount, segments, missing)


def interest_gaps(company: Company, invoice_ids: Iterable[int], as_of: date) -> dict[int, MissingRateError]:
    """The invoices among ``invoice_ids`` whose interest up to ``as_of`` needs a rate the tables do not hold
    (in default by then, no contract rate), with the first missing rate: two queries, no interest computed."""
    if not company.claim_interest:
        return {}
    wanted = set(invoice_ids)
    if not wanted:
        return {}
    found = Invoice.objects.filter(
        company=company, default_from__lte=as_of, contract_rate_percent__isnull=True
    )
    if len(wanted) <= 900:  # a few (one debtor, a preview brought up to date): by id, not the company's scan
        found = found.filter(pk__in=sorted(wanted))
    rows = [row for row in found.values_list("id", "debtor_id", "due_date") if row[0] in wanted]
    laws = debtor_laws(company, {debtor_id for _, debtor_id, _ in rows})
    tables = rate_tables()
    gaps: dict[int, MissingRateError] = {}
    for invoice_id, debtor_id, due_date in rows:
        rule = law_ruleset(laws[debtor_id], due_date).interest
        table = tables.get(rule.rate_table) if rule.kind == "base_plus_margin" and rule.rate_table else None
        if table is None:
            continue
        covered = table.covered_until()
        if covered is None or covered < as_of:
            start = (covered + ONE_DAY) if covered is not None else as_of
            gaps[invoice_id] = MissingRateError(table.name, start, half_year=table.period == "half-year")
    return gaps


WaiverRow = tuple[int, str, str, date]  # invoice id, kind, status, deadline


def waiver_rows(company: Company, invoice_ids: Iterable[int], pending: bool) -> list[WaiverRow]:
    """The incentives that waive fees or interest on these invoices (one query)."""
    from mahnwerk.collection.agreements_models import Incentive

    statuses = ["accepted", "offered"] if pending else ["accepted"]
    through = Incentive.invoices.through
    return list(
        through.objects.filter(
            id_in(through, "invoice_id", invoice_ids),
            incentive__company=company,
            incentive__status__in=statuses,
            incentive__kind__in=["waive_fees", "waive_interest"],
        ).values_list("invoice_id", "incentive__kind", "incentive__status", "incentive__deadline")
    )


def waived_on(rows: Iterable[WaiverRow], on: date) -> dict[int, set[str]]:
    """Components waived per invoice on ``on``: accepted offers always, offered ones until their deadline."""
    result: dict[int, set[str]] = defaultdict(set)
    for invoice_id, kind, status, deadline in rows:
        if status == "accepted" or deadline >= on:
            result[invoice_id].add(kind)
    return result


def waivers(company: Company, invoice_ids: Iterable[int], on: date, pending: bool) -> dict[int, set[str]]:
    """Components an incentive waives per invoice: accepted offers always; with ``pending`` also offers
    still open on ``on`` (a payment made then is applied as if the waiver holds)."""
    return waived_on(waiver_rows(company, invoice_ids, pending), on)


@dataclass
class ClaimView:
    """What one invoice claims as of a date."""

    invoice_id: int
    currency: str
    principal_open: int
    interest_accrued: int = 0
    interest_paid: int = 0
    costs_open: int = 0
    default_from: date | None = None
    interest_error: str | None = None
    interest_until: date | None = None  # a rate is missing from the day after: interest computed up to here
    rate_table: str = ""  # the reference rate interest follows ("" for a fixed rate)
    agreed_rate: bool = False  # the contract's rate applies
    segments: list[Segment] = field(default_factory=list)
    charges: list[dict[str, Any]] = field(default_factory=list)

    @property
    def interest_open(self) -> int:
        return max(self.interest_accrued - self.interest_paid, 0)

    @property
    def total_open(self) -> int:
        return self.principal_open + self.interest_open + self.costs_open


def claim_views(
    company: Company, invoices: Iterable[InvoiceLike], laws: DebtorLaws, as_of: date
) -> dict[int, ClaimView]:
    """Claims of many invoices as of ``as_of`` in two queries (allocations, charges); ``laws``: the
    applicable law per debtor (a kind alone: one more query for the debtors' countries)."""
    rows = list(invoices)
    debtor_rules = resolve_laws(company, laws)
    ids = [inv.pk for inv in rows]
    reductions: dict[int, list[tuple[date, int]]] = defaultdict(list)
    interest_paid: dict[int, int] = defaultdict(int)
    for invoice_id, component, amount, value_date in Allocation.objects.filter(
        id_in(Allocation, "invoice_id", ids), value_date__lte=as_of
    ).values_list("invoice_id", "component", "amount_minor", "value_date"):
        if component == "principal":
            reductions[invoice_id].append((value_date, amount))
        elif component == "interest":
            interest_paid[invoice_id] += amount
    charges: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for charge in Charge.objects.filter(id_in(Charge, "invoice_id", ids), booked_on__lte=as_of).values(
        "invoice_id", "kind", "amount_minor", "open_minor", "booked_on"
    ):
        charges[charge["invoice_id"]].append(dict(charge))
    day_count = DayCount(company.day_count)
    waived = waivers(company, ids, as_of, pending=False)
    views: dict[int, ClaimView] = {}
    for inv in rows:
        view = ClaimView(
            inv.pk,
            inv.currency,
            inv.open_minor,
            interest_paid=interest_paid[inv.pk],
            costs_open=sum(c["open_minor"] for c in charges[inv.pk]),
            default_from=inv.default_from,
            charges=charges[inv.pk],
        )
        if company.claim_interest and inv.default_from is not None and inv.default_from <= as_of:
            try:
                rules = law_ruleset(debtor_rules[inv.debtor_id], inv.due_date)
                known = known_interest(
                    rules,
                    inv.amount_minor,
                    reductions[inv.pk],
                    inv.default_from,
                    as_of,
                    currency=inv.currency,
                    day_count=day_count,
                    contract_percent=inv.contract_rate_percent,
                )
                view.interest_accrued, view.segments = known.amount_minor, known.segments
                view.rate_table = rules.interest.rate_table or ""
                view.agreed_rate = inv.contract_rate_percent is not None
                if known.missing is not None:
                    view.interest_error, view.interest_until = str(known.missing), known.until
            except (RateError, InterestError) as exc:
                view.interest_error = str(exc)
        if "waive_interest" in waived[inv.pk]:
            view.interest_accrued = view.interest_paid
        if "waive_fees" in waived[inv.pk]:
            view.costs_open = 0
        views[inv.pk] = view
    return views


@dataclass
class _Open:
    invoice: Invoice
    reductions: list[tuple[date, int]]
    interest_paid: int
    paid_on: list[date]
    # interest accrued over the whole principal path once the principal is 0 (it grows no more)
    final_accrued: int | None = None


class ClaimBook:
    """The open claims of some debtors, loaded once, to apply payments and credits in memory.

    Three queries load the state (open invoices, their allocations, their open charges); applying a
    payment computes interest to its value date in the core and splits it by the rule set's order.
    An invoice whose principal is paid but that was in default before is loaded too: interest may
    still be open on it, a claim of its own. ``save`` writes the write-offs, the allocations and
    updated invoices and charges in bulk; ``write_offs`` lists the write-offs made.
    """

    def __init__(self, company: Company, laws: DebtorLaws) -> None:
        self.company = company
        self.laws = resolve_laws(company, laws)
        ids = list(self.laws)
        still_open = models.Q(open_minor__gt=0) | models.Q(charges__open_minor__gt=0)
        if company.claim_interest:
            still_open |= models.Q(
                open_minor=0,
                settled_on__isnull=False,
                default_from__isnull=False,
                default_from__lte=models.F("settled_on"),
            )
        open_q = (
            Invoice.objects.filter(id_in(Invoice, "debtor_id", ids), company=company)
            .filter(still_open)
            .distinct()
        )
        self.open: dict[int, _Open] = {inv.pk: _Open(inv, [], 0, []) for inv in open_q}
        for invoice_id, component, amount, value_date, write_off_id in Allocation.objects.filter(
            id_in(Allocation, "invoice_id", self.open)
        ).values_list("invoice_id", "component", "amount_minor", "value_date", "write_off_id"):
            entry = self.open[invoice_id]
            if write_off_id is None:  # a write-off is no part payment (limitation, § 212 BGB)
                entry.paid_on.append(value_date)
            if component == "principal":
                entry.reductions.append((value_date, amount))
            elif component == "interest":
                entry.interest_paid += amount
        self.charges: dict[int, list[Charge]] = defaultdict(list)
        for charge in Charge.objects.filter(
            id_in(Charge, "invoice_id", self.open), open_minor__gt=0
        ).order_by("booked_on", "id"):
            self.charges[charge.invoice_id].append(charge)
        # by debtor, so that applying a payment looks at its debtor's claims only
        self.by_debtor: dict[int, list[_Open]] = defaultdict(list)
        for entry in self.open.values():
            self.by_debtor[entry.invoice.debtor_id].append(entry)
        # offered or accepted incentives on the open invoices, read once (a payment applies as if they hold)
        self._waivers: dict[int, list[WaiverRow]] = defaultdict(list)
        for row in waiver_rows(company, self.open, pending=True):
            self._waivers[row[0]].append(row)
        self.allocations: list[Allocation] = []
        self.touched_charges: dict[int, Charge] = {}
        self.write_offs: list[WriteOff] = []

    def _interest_open(self, entry: _Open, rules: RuleSet, on: date) -> int:
        inv = entry.invoice
        if not self.company.claim_interest or inv.default_from is None or inv.default_from > on:
            return 0
        settled = inv.open_minor == 0 and all(d <= on for d, _ in entry.reductions)
        if settled and entry.final_accrued is not None:
            return max(entry.final_accrued - entry.interest_paid, 0)
        try:
            known = known_interest(
                rules,
                inv.amount_minor,
                entry.reductions,
                inv.default_from,
                on,
                currency=inv.currency,
                day_count=DayCount(self.company.day_count),
                contract_percent=inv.contract_rate_percent,
            )
        except (RateError, InterestError):
            return 0  # no interest can be computed: nothing is claimed as interest, the money goes on
        accrued = known.amount_minor  # where a rate is missing: the interest up to it, no more
        if settled and known.missing is not None:
            return max(accrued - entry.interest_paid, 0)  # not final: more is due once the rate is known
        if settled:
            entry.final_accrued = accrued
        return max(accrued - entry.interest_paid, 0)

    def apply(
        self,
        source: Any,
        debtor_id: int,
        amount_minor: int,
        currency: str,
        value_date: date,
        named: int | None,
        *,
        principal_only: bool = False,
    ) -> int:
        """Split ``amount_minor`` over this debtor's claims; record the allocations; return what is left.

        Payments follow the rule set's order (Germany: costs, interest, principal), except that a
        payment naming an invoice and covering its principal settles that principal first (§ 367(2)
        BGB); a credit note (``principal_only``) corrects the principal alone. Then every invoice the
        payment or credit note touched is checked against the small-balance tolerance and, for a
        payment, the company's policy on leftover interest and fees (see the module doc).
        """
        law = self.laws[debtor_id]
        rules = law_ruleset(law, value_date)
        entries = [e for e in self.by_debtor.get(debtor_id, ()) if e.invoice.currency == currency]
        waived = waived_on((row for e in entries for row in self._waivers.get(e.invoice.pk, ())), value_date)
        claims = [
            ClaimBalance(
                key=e.invoice.pk,
                due_date=e.invoice.due_date,
                principal_minor=e.invoice.open_minor,
                interest_minor=0
                if principal_only or "waive_interest" in waived[e.invoice.pk]
                else self._interest_open(e, rules, value_date),
                costs_minor=0
                if principal_only or "waive_fees" in waived[e.invoice.pk]
                else sum(c.open_minor for c in self.charges[e.invoice.pk]),
            )
            for e in entries
        ]
        order = (CoreComponent.PRINCIPAL,) if principal_only else tuple(rules.allocation_order)
        parts, left = allocate_payment(amount_minor, claims, order=order, named=named)
        principal_before = {c.key: c.principal_minor for c in claims}
        for part in parts:
            entry = self.open[int(str(part.key))]
            inv = entry.invoice
            entry.paid_on.append(value_date)
            if part.component is CoreComponent.PRINCIPAL:
                inv.open_minor -= part.amount_minor
                entry.reductions.append((value_date, part.amount_minor))
                if inv.open_minor == 0:
                    inv.settled_on = value_date
                self._allocate(source, inv, "principal", part.amount_minor, value_date)
            elif part.component is CoreComponent.INTEREST:
                entry.interest_paid += part.amount_minor
                self._allocate(source, inv, "interest", part.amount_minor, value_date)
            else:
                rest = part.amount_minor
                for charge in self.charges[inv.pk]:
                    share = min(rest, charge.open_minor)
                    if share:
                        charge.open_minor -= share
                        rest -= share
                        self.touched_charges[charge.pk] = charge
                        self._allocate(source, inv, "costs", share, value_date, charge)
            if inv.time_barred_on is not None:
                inv.time_barred_on = limitation_date(
                    law.jurisdiction, law.debtor_kind, inv.due_date, entry.paid_on
                )
        touched = list(dict.fromkeys(int(str(part.key)) for part in parts))
        tolerance = threshold_minor(self.company.small_balance_tolerance, currency)
        for invoice_id in touched:
            entry = self.open[invoice_id]
            if 0 < entry.invoice.open_minor <= tolerance:
                self._write_off_principal(entry, value_date)
        if not principal_only and self.company.leftover_costs == "write_off":
            for invoice_id in touched:
                entry = self.open[invoice_id]
                if principal_before[invoice_id] > 0 and entry.invoice.open_minor == 0:
                    self._write_off_leftovers(entry, rules, value_date, waived[invoice_id])
        return left

    def _new_write_off(self, inv: Invoice, component: str, amount: int, on: date, reason: str) -> WriteOff:
        write_off = WriteOff(
            company=self.company,
            debtor_id=inv.debtor_id,
            invoice=inv,
            component=component,
            amount_minor=amount,
            currency=inv.currency,
            business_date=on,
            reason=reason,
        )
        self.write_offs.append(write_off)
        return write_off

    def _write_off_principal(self, entry: _Open, on: date) -> None:
        """Close an invoice whose open principal is within the small-balance tolerance."""
        inv = entry.invoice
        amount = inv.open_minor
        write_off = self._new_write_off(inv, "principal", amount, on, WriteOffReason.SMALL_BALANCE)
        inv.open_minor = 0
        inv.settled_on = on
        entry.reductions.append((on, amount))
        self._allocate(write_off, inv, "principal", amount, on)

    def _write_off_leftovers(self, entry: _Open, rules: RuleSet, on: date, waived: set[str]) -> None:
        """Write off the interest (accrued to ``on``) and the fees still open on a paid invoice."""
        inv = entry.invoice
        interest = 0 if "waive_interest" in waived else self._interest_open(entry, rules, on)
        if interest > 0:
            write_off = self._new_write_off(inv, "interest", interest, on, WriteOffReason.LEFTOVER)
            entry.interest_paid += interest
            self._allocate(write_off, inv, "interest", interest, on)
        charges = [] if "waive_fees" in waived else [c for c in self.charges[inv.pk] if c.open_minor > 0]
        if charges:
            total = sum(c.open_minor for c in charges)
            write_off = self._new_write_off(inv, "costs", total, on, WriteOffReason.LEFTOVER)
            for charge in charges:
                self._allocate(write_off, inv, "costs", charge.open_minor, on, charge)
                charge.open_minor = 0
                self.touched_charges[charge.pk] = charge

    def _allocate(
        self,
        source: Any,
        inv: Invoice,
        component: str,
        amount: int,
        value_date: date,
        charge: Charge | None = None,
    ) -> None:
        alloc = Allocation(
            invoice=inv, component=component, amount_minor=amount, value_date=value_date, charge=charge
        )
        alloc._source = source  # type: ignore[attr-defined]  # the payment or credit note, saved later
        self.allocations.append(alloc)

    def save(self) -> list[Allocation]:
        bulk_insert(self.write_offs)
        for alloc in self.allocations:
            source = alloc._source  # type: ignore[attr-defined]
            if isinstance(source, WriteOff):
                assert source.pk is not None, "the database returns the ids of bulk-created rows"
                alloc.write_off_id = source.pk
            elif source._meta.model_name == "payment":
                alloc.payment_id = source.pk
            else:
                alloc.credit_note_id = source.pk
        bulk_insert(self.allocations)
        changed = {alloc.invoice_id: alloc.invoice for alloc in self.allocations}
        update_grouped(Invoice, changed.values(), ("open_minor", "settled_on", "time_barred_on"))
        update_grouped(Charge, self.touched_charges.values(), ("open_minor",))
        return self.allocations


def update_grouped(model: type[models.Model], rows: Iterable[models.Model], fields: Sequence[str]) -> None:
    """Save ``fields`` of many rows with one ``UPDATE ... WHERE id IN (...)`` per distinct set of values
    (most payments settle their invoices: a handful of statements instead of a CASE per row)."""
    groups: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for row in rows:
        groups[tuple(getattr(row, f) for f in fields)].append(row.pk)
    for values, pks in groups.items():
        for at in range(0, len(pks), 5000):
            model._default_manager.filter(pk__in=pks[at : at + 5000]).update(
                **dict(zip(fields, values, strict=True))
            )


# How default began (``Invoice.default_rule``), for people: translated where shown.
DEFAULT_RULES = {
    "calendar_due_date": gettext_noop("the due date agreed"),
    "reminder": gettext_noop("a reminder, on receipt"),
    "reminder_deadline": gettext_noop("a reminder, after its payment deadline"),
    "days_after_due_and_receipt": gettext_noop("30 days after due date and receipt of the invoice"),
}


def default_rule_label(rule: str) -> str:
    """How default began, in the active language ("" where it has not begun)."""
    return gettext(DEFAULT_RULES[rule]) if rule in DEFAULT_RULES else rule if rule != "none" else ""


def statement(company: Company, debtor_id: int, law: ApplicableLaw | str, as_of: date) -> dict[str, Any]:
    """Statement of account: every invoice with principal, interest, fees and payments, and the total due.

    ``law``: the debtor's applicable law, or its kind alone (its country and jurisdiction are then read);
    ``rules`` says which rules the figures follow and why.

    ``paid`` is what payments and credit notes covered per component, ``written_off`` what the creditor
    gave up (small balances, leftover interest and fees). A line past its limitation date is marked
    ``time_barred``; each currency's totals say how much of the total is (``time_barred_open_minor``). Amounts are minor units; interest comes with its segments (dates, days, rate, base, amount) so
    every figure can be explained.
    """
    invoices = list(
        Invoice.objects.filter(company=company, debtor_id=debtor_id, issue_date__lte=as_of).order_by(
            "due_date", "number"
        )
    )
    rules = resolve_laws(company, {debtor_id: law})[debtor_id]
    views = claim_views(company, invoices, {debtor_id: rules}, as_of)
    paid: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    written_off: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for invoice_id, component, amount, write_off_id in Allocation.objects.filter(
        invoice__in=invoices, value_date__lte=as_of
    ).values_list("invoice_id", "component", "amount_minor", "write_off_id"):
        (paid if write_off_id is None else written_off)[invoice_id][component] += amount
    lines = []
    totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for inv in invoices:
        view = views[inv.pk]
        if view.total_open == 0 and inv.settled_on is not None and inv.settled_on < as_of:
            continue
        line = {
            "invoice_id": inv.pk,
            "number": inv.number,
            "issue_date": inv.issue_date,
            "due_date": inv.due_date,
            "currency": inv.currency,
            "amount_minor": inv.amount_minor,
            "paid": dict(paid[inv.pk]),
            "written_off": dict(written_off[inv.pk]),
            "principal_open_minor": view.principal_open,
            "interest_accrued_minor": view.interest_accrued,
            "interest_paid_minor": view.interest_paid,
            "interest_open_minor": view.interest_open,
            "fees_open_minor": view.costs_open,
            "total_open_minor": view.total_open,
            "default_from": view.default_from,
            "default_rule": inv.default_rule,
            "default_rule_label": default_rule_label(inv.default_rule),
            "time_barred_after": inv.time_barred_on,
            # the limitation period has ended: the debtor may refuse to pay (§ 214 BGB); still owed until then
            "time_barred": inv.time_barred_on is not None and inv.time_barred_on < as_of,
            "interest_error": view.interest_error,
            "interest_until": view.interest_until,
            "charges": view.charges,
            "segments": [
                {
                    "from": s.start,
                    "to": s.end,
                    "days": s.days,
                    "principal_minor": s.principal_minor,
                    "rate": str(s.rate),
                    "base": None if s.base is None else str(s.base),
                    "margin": str(s.margin),
                    "year_days": s.year_days,
                    "amount_minor": s.amount_minor,
                }
                for s in view.segments
            ],
        }
        lines.append(line)
        t = totals[inv.currency]
        t["principal_open_minor"] += view.principal_open
        t["interest_open_minor"] += view.interest_open
        t["fees_open_minor"] += view.costs_open
        t["total_open_minor"] += view.total_open
        t["time_barred_open_minor"] += view.total_open if line["time_barred"] else 0
    credits: dict[str, int] = defaultdict(int)  # on account and not yet used: overpayments, credit notes
    for model, day in ((Payment, "value_date"), (CreditNote, "issue_date")):
        for currency, amount in model.objects.filter(
            company=company, debtor_id=debtor_id, unallocated_minor__gt=0, **{f"{day}__lte": as_of}
        ).values_list("currency", "unallocated_minor"):
            credits[currency] += amount
    return {
        "as_of": as_of,
        "debtor_id": debtor_id,
        "rules": law_summary(rules),
        "lines": lines,
        "totals": {k: dict(v) for k, v in totals.items()},
        "credits": dict(credits),
    }
