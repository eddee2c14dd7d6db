"""Escalation advice for one debtor: the figures gathered from the ledger, the insights and the company's own
history, valued by :func:`mahnwerk.core.escalation.advise`; a person's decision recorded on the timeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db import models
from django.utils.translation import gettext

from mahnwerk.core.escalation import Advice, ClaimFigures, ItemLimitation, Option, Reason, Situation, advise
from mahnwerk.core.money import to_minor
from mahnwerk.escalation.texts import option_label, render_reason
from mahnwerk.ids import parse_id
from mahnwerk.ledger.claims import debtor_law, law_ruleset, statement
from mahnwerk.ledger.models import ChargeKind, Company, Debtor, Invoice, Payment, TimelineEvent
from mahnwerk.ledger.timeline import event

# The company's own history counts once it holds this many comparable cases.
MIN_HISTORY_CASES = 20
# An account "at the end of the ladder": still open this many days after its due date.
LATE_STAGE_DAYS = 60
VALUED_RATINGS = frozenset({"A", "B"})


class EscalationError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class History:
    """Success rates the company's own records support (option -> probability, with the number of cases)."""

    probabilities: dict[str, float]
    cases: dict[str, int]


def company_history(company: Company, as_of: date) -> History:
    """Keep chasing: of the invoices that were still open ``LATE_STAGE_DAYS`` after their due date (and are old
    enough to know how they ended), the share later paid in full. Settlement: of the settlement offers that
    ended, the share paid in time. Agency and lawyer: of the ended handovers to such a partner, the share that
    brought the total handed over. Used where at least ``MIN_HISTORY_CASES`` cases exist."""
    probabilities: dict[str, float] = {}
    cases: dict[str, int] = {}
    cutoff = as_of - timedelta(days=2 * LATE_STAGE_DAYS)
    late = 0
    paid = 0
    for due, settled, amount, open_minor in (
        Invoice.objects.filter(company=company, due_date__lte=cutoff)
        .values_list("due_date", "settled_on", "amount_minor", "open_minor")
        .iterator(chunk_size=10_000)
    ):
        stage = due + timedelta(days=LATE_STAGE_DAYS)
        if settled is not None and settled <= stage:
            continue
        late += 1
        if settled is not None and settled <= as_of and open_minor == 0 and amount > 0:
            paid += 1
    cases[Option.KEEP_CHASING] = late
    if late >= MIN_HISTORY_CASES:
        probabilities[Option.KEEP_CHASING] = paid / late
    ended = dict(
        TimelineEvent.objects.filter(
            company=company, kind__in=("settlement_accepted", "settlement_lapsed"), business_date__lte=as_of
        )
        .values_list("kind")
        .annotate(n=models.Count("id"))
        .values_list("kind", "n")
    )
    total = sum(ended.values())
    cases[Option.SETTLEMENT] = total
    if total >= MIN_HISTORY_CASES:
        probabilities[Option.SETTLEMENT] = ended.get("settlement_accepted", 0) / total
    for option, n, paid_in_full in _handover_history(company, as_of):
        cases[option] = n
        if n >= MIN_HISTORY_CASES:
            probabilities[option] = paid_in_full / n
    return History(probabilities, cases)


def _handover_history(company: Company, as_of: date) -> list[tuple[Option, int, int]]:
    """Agency and lawyer: of the company's handovers that ended (closed or recalled) by ``as_of``, how many
    there were and how many brought the total handed over in full — what the partner collected plus what the
    debtor paid us directly meanwhile."""
    from django.db.models.functions import Coalesce

    from mahnwerk.partners.models import Handover, HandoverStatus

    rows = (
        Handover.objects.filter(company=company, ended_on__isnull=False, ended_on__lte=as_of)
        .exclude(status=HandoverStatus.OPEN)
        .annotate(direct=Coalesce(models.Sum("payment_notices__amount_minor"), 0))
        .values_list("partner__kind", "total_minor", "collected_minor", "direct")
    )
    counts = {Option.AGENCY: [0, 0], Option.LAWYER: [0, 0]}
    for kind, handed, collected, direct in rows:
        option = Option.AGENCY if kind == "agency" else Option.LAWYER
        counts[option][0] += 1
        if collected + direct >= handed:
            counts[option][1] += 1
    return [(option, n, ok) for option, (n, ok) in counts.items()]


def find_debtor(company: Company, ident: str) -> Debtor:
    qs = Debtor.objects.filter(company=company)
    debtor = qs.filter(number=ident).first() or (
        qs.filter(pk=pk).first() if (pk := parse_id(ident)) else None
    )
    if debtor is None:
        raise EscalationError(
            gettext("no debtor {ident} in {company}").format(ident=ident, company=company.name)
        )
    return debtor


def _insight(debtor: Debtor) -> dict[str, Any]:
    from mahnwerk.insights.models import DebtorInsight

    row = DebtorInsight.objects.filter(debtor=debtor).first()
    if row is None:
        return {"rating": "", "segment": "", "segment_label": "", "on_time_share": None}
    return {
        "rating": row.rating,
        "segment": row.segment,
        "segment_label": row.segment_label,
        "on_time_share": row.on_time_share,
    }


def _disputed(debtor: Debtor) -> bool:
    from mahnwerk.collection.agreements_models import Dispute

    return Dispute.objects.filter(debtor=debtor, status="open").exists()


def gather(
    company: Company, debtor: Debtor, as_of: date, agency_fee_percent: Decimal | None = None
) -> tuple[ClaimFigures, Situation, dict[str, Any]]:
    """The claim (from the statement of account), the situation and the context shown beside the advice.

    The claim is in one currency (the company's, if the debtor owes anything in it); what is open in any
    other is named in ``context["claim"]["other_currencies"]``, not silently left out. Limitation is judged
    per invoice, by the debtor's law: ``context["limitation"]`` lists each overdue invoice with the last day
    it can be enforced, ``context["time_barred"]`` those whose day has passed, ``context["limitation_date"]``
    is the earliest day among the others."""
    law = debtor_law(company, debtor)
    data = statement(company, debtor.pk, law, as_of)
    owed = {cur for cur, t in data["totals"].items() if t["total_open_minor"] > 0}
    currency = (
        company.currency
        if company.currency in owed
        else min(owed, default=next(iter(data["totals"]), company.currency))
    )
    open_lines = [
        line for line in data["lines"] if line["currency"] == currency and line["total_open_minor"] > 0
    ]
    if not open_lines:
        raise EscalationError(
            gettext("{debtor} owes nothing on {date}").format(debtor=debtor.name, date=as_of)
        )
    # only what is overdue can go to an agency, a court or a lawyer: invoices not yet due are left out of the
    # figures (and of the court fee's value), as the court applications leave them out
    lines = [line for line in open_lines if line["due_date"] < as_of]
    not_yet_due = [line for line in open_lines if line["due_date"] >= as_of]
    if not lines:
        raise EscalationError(
            gettext("{debtor}: nothing is overdue on {date}; invoices not yet due cannot be claimed").format(
                debtor=debtor.name, date=as_of
            )
        )
    flat = sum(
        c["open_minor"]
        for line in lines
        for c in line["charges"]
        if c["kind"] == ChargeKind.FLAT_COMPENSATION
    )
    claim = ClaimFigures(
        currency=currency,
        principal_minor=sum(line["principal_open_minor"] for line in lines),
        interest_minor=sum(line["interest_open_minor"] for line in lines),
        costs_minor=sum(line["fees_open_minor"] for line in lines),
        flat_rate_minor=flat,
    )
    items = tuple(
        ItemLimitation(
            invoice=line["number"],
            time_barred_after=line["time_barred_after"],
            principal_minor=line["principal_open_minor"],
            total_minor=line["total_open_minor"],
        )
        for line in lines
    )
    insight = _insight(debtor)
    cap_left: int | None = None
    for line in lines:
        fees = law_ruleset(law, line["due_date"]).fees
        if fees.total_cap_minor is not None:
            charged = sum(c["amount_minor"] for c in line["charges"] if c["kind"] == ChargeKind.REMINDER_FEE)
            cap_left = (cap_left or 0) + max(fees.total_cap_minor - charged, 0)
    history = company_history(company, as_of)
    paid_last_year = (
        Payment.objects.filter(
            company=company, debtor=debtor, value_date__gt=as_of - timedelta(days=365), value_date__lte=as_of
        ).aggregate(s=models.Sum("amount_minor"))["s"]
        or 0
    )
    valued = insight["rating"] in VALUED_RATINGS
    situation = Situation(
        as_of=as_of,
        jurisdiction=law.jurisdiction,
        debtor_kind=str(law.debtor_kind),
        debtor_country=debtor.country,
        creditor_country=company.country,
        items=items,
        rating=insight["rating"],
        segment=insight["segment_label"] or insight["segment"],
        valued_customer=valued,
        disputed=_disputed(debtor),
        agency_fee_percent=agency_fee_percent if agency_fee_percent is not None else _agency_fee(company),
        probabilities=history.probabilities,
        letter_cost_minor=to_minor(company.letter_cost, currency),
        costs_cap_left_minor=cap_left,
        escalation_min_minor=to_minor(company.escalation_min_amount, currency),
    )
    context = {
        "as_of": as_of,
        "debtor": {"id": debtor.pk, "number": debtor.number, "name": debtor.name, "kind": debtor.kind},
        "rules": data["rules"],
        "currency": currency,
        "claim": {
            "principal_minor": claim.principal_minor,
            "interest_minor": claim.interest_minor,
            "costs_minor": claim.costs_minor,
            "flat_rate_minor": claim.flat_rate_minor,
            "total_minor": claim.total_minor,
            "invoices": [line["number"] for line in lines],
            "not_yet_due_minor": sum(line["total_open_minor"] for line in not_yet_due),
            "not_yet_due_invoices": [line["number"] for line in not_yet_due],
            "other_currencies": _other_currencies(data, currency),
        },
        "limitation_date": situation.limitation_date,
        "limitation": [
            {
                "invoice": item.invoice,
                "time_barred_after": item.time_barred_after,
                "time_barred": item.barred(as_of),
                "open_minor": item.total_minor,
            }
            for item in items
        ],
        "time_barred": {
            "invoices": [item.invoice for item in situation.time_barred()],
            "total_minor": sum(item.total_minor for item in situation.time_barred()),
        },
        "relationship": {
            "rating": insight["rating"],
            "segment": insight["segment"],
            "segment_label": insight["segment_label"],
            "on_time_share": insight["on_time_share"],
            "paid_last_365_days_minor": paid_last_year,
            "valued_customer": valued,
        },
        "history_cases": history.cases,
        "disputed": situation.disputed,
    }
    return claim, situation, context


def _other_currencies(data: dict[str, Any], currency: str) -> list[dict[str, Any]]:
    """What the statement has open in currencies other than the advice's: per currency its total and
    invoices (due or not), for the advice to name instead of leaving out silently."""
    out: dict[str, dict[str, Any]] = {}
    for line in data["lines"]:
        if line["currency"] == currency or line["total_open_minor"] <= 0:
            continue
        entry = out.setdefault(
            line["currency"], {"currency": line["currency"], "total_minor": 0, "invoices": []}
        )
        entry["total_minor"] += line["total_open_minor"]
        entry["invoices"].append(line["number"])
    return [out[cur] for cur in sorted(out)]


def _agency_fee(company: Company) -> Decimal | None:
    """The fee of the company's active collection agency (the lowest, if it has several; None: none recorded,
    the stated default applies)."""
    from mahnwerk.partners.models import Partner

    fees = Partner.objects.filter(company=company, kind="agency", active=True).values_list(
        "fee_percent", flat=True
    )
    return min(fees, default=None)


def _reason_json(reason: Reason, currency: str) -> dict[str, Any]:
    params = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in reason.params.items()}
    return {"code": reason.code, "params": params, "text": render_reason(reason, currency)}


def advice_json(advice: Advice, context: dict[str, Any]) -> dict[str, Any]:
    currency = context["currency"]
    return {
        **context,
        "options": [
            {
                "option": str(o.option),
                "label": option_label(o.option),
                "available": o.available,
                "expected_net_minor": o.expected_net_minor,
                "costs_minor": o.costs_minor,
                "recoverable_costs_minor": o.recoverable_costs_minor,
                "days": o.days,
                "probability": o.probability,
                "probability_source": o.probability_source,
                "reasons": [render_reason(r, currency) for r in o.reasons],
                "reason_codes": [_reason_json(r, currency) for r in o.reasons],
            }
            for o in advice.options
        ],
        "recommended": str(advice.recommended),
        "recommended_because": [render_reason(r, currency) for r in advice.why],
    }


def advise_debtor(
    company: Company, debtor: Debtor, as_of: date, agency_fee_percent: Decimal | None = None
) -> dict[str, Any]:
    """The advice for ``debtor`` as JSON-ready data (amounts in minor units)."""
    claim, situation, context = gather(company, debtor, as_of, agency_fee_percent)
    return advice_json(advise(claim, situation), context)


def decide(
    company: Company,
    debtor: Debtor,
    option: str,
    as_of: date,
    *,
    actor: str = "system",
    note: str = "",
    agency_fee_percent: Decimal | None = None,
) -> dict[str, Any]:
    """Record a person's decision: the advice of the day and the option chosen, both on the timeline."""
    if option not in set(Option):
        raise EscalationError(
            gettext("unknown option {option}; one of: {options}").format(
                option=option, options=", ".join(Option)
            )
        )
    data = advise_debtor(company, debtor, as_of, agency_fee_percent)
    chosen = next(o for o in data["options"] if o["option"] == option)
    if not chosen["available"]:
        raise EscalationError(
            gettext("{option} is not possible for this account: {reasons}").format(
                option=chosen["label"], reasons="; ".join(chosen["reasons"])
            )
        )
    best = next(o for o in data["options"] if o["option"] == data["recommended"])
    currency = data["currency"]
    summary = [
        {
            k: o[k]
            for k in (
                "option",
                "available",
                "expected_net_minor",
                "costs_minor",
                "recoverable_costs_minor",
                "days",
            )
        }
        for o in data["options"]
    ]
    from mahnwerk.core.money import format_money

    events = [
        event(
            debtor.pk,
            company.pk,
            "escalation_advised",
            as_of,
            actor=actor,
            option=data["recommended"],
            expected=format_money(best["expected_net_minor"], currency),
            total=format_money(data["claim"]["total_minor"], currency),
            options=summary,
        ),
        event(
            debtor.pk,
            company.pk,
            "escalation_decided",
            as_of,
            actor=actor,
            note=note[:500],
            option=option,
            recommended=data["recommended"],
            expected=format_money(chosen["expected_net_minor"], currency),
            costs=format_money(chosen["costs_minor"], currency),
        ),
    ]
    for e in events:
        e.save()
    return {**data, "decision": {"option": option, "note": note, "actor": actor, "on": as_of}}
