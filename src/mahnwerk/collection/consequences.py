"""What a reminder changes on the claims: default begins, flat compensation and reminder fees are booked.

Called by the collection run for each chunk, inside its transaction, before the messages are
rendered, so every message shows interest and fees to date.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from mahnwerk.collection.models import Action
from mahnwerk.core.fees import flat_compensation_minor, reminder_fee
from mahnwerk.core.money import format_money
from mahnwerk.core.playbook import DebtorDecision
from mahnwerk.core.rulesets import ApplicableLaw
from mahnwerk.ledger import timeline
from mahnwerk.ledger.claims import ClaimView, claim_views, debtor_law, law_ruleset
from mahnwerk.ledger.models import Charge, ChargeKind, Company, Debtor, Invoice

ONE_DAY = timedelta(days=1)


@dataclass
class Consequences:
    claims: dict[int, ClaimView]
    warnings: set[str] = field(default_factory=set)


def apply_step_consequences(
    company: Company,
    decided: Sequence[tuple[Action, DebtorDecision]],
    as_of: date,
    debtors: dict[int, Debtor],
    invoices: dict[int, Invoice],
) -> Consequences:
    """Start default where this reminder causes it; book compensation and fees; return claims to date."""
    changed: list[Invoice] = []
    # each debtor's own rules: a consumer's country of residence, else the law of the contract
    laws = {pk: debtor_law(company, d) for pk, d in debtors.items()}
    for _action, decision in decided:
        law = laws[decision.debtor_id]
        for item in decision.items:
            inv = invoices[item.invoice_id]
            if item.step.offset_days < 0 or inv.due_date >= as_of:
                continue
            rules = law_ruleset(law, inv.due_date)
            if not rules.default.reminder_after_due:
                continue
            starts = as_of + ONE_DAY  # an email is received the day it is sent; interest from the next day
            if inv.default_from is None or starts < inv.default_from:
                inv.default_from, inv.default_rule = starts, "reminder"
                changed.append(inv)
    # Every change here sets the same values (default from tomorrow, by reminder): one UPDATE, not a CASE per row.
    if changed:
        Invoice.objects.filter(pk__in=[inv.pk for inv in changed]).update(
            default_from=as_of + ONE_DAY, default_rule="reminder"
        )
    if company.charge_fees:
        _book_charges(company, decided, as_of, debtors, invoices, laws)
    claims = claim_views(company, invoices.values(), laws, as_of)
    warnings = {c.interest_error for c in claims.values() if c.interest_error}
    return Consequences(claims, warnings)


def _book_charges(
    company: Company,
    decided: Sequence[tuple[Action, DebtorDecision]],
    as_of: date,
    debtors: dict[int, Debtor],
    invoices: dict[int, Invoice],
    laws: dict[int, ApplicableLaw],
) -> None:
    existing: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for invoice_id, kind, amount in (
        Charge.objects.filter(invoice_id__in=list(invoices))
        .order_by("booked_on", "id")
        .values_list("invoice_id", "kind", "amount_minor")
    ):
        existing[invoice_id].append((kind, amount))
    charges: list[Charge] = []
    events = []
    for action, decision in decided:
        debtor = debtors[decision.debtor_id]
        in_default = [
            inv for inv in (invoices[i.invoice_id] for i in decision.items) if _in_default(inv, as_of)
        ]
        for inv in in_default:
            policy = law_ruleset(laws[debtor.pk], inv.due_date).fees
            flat = flat_compensation_minor(policy) if debtor.kind == "business" else 0
            if (
                flat
                and inv.currency == policy.currency
                and not any(k == ChargeKind.FLAT_COMPENSATION for k, _ in existing[inv.pk])
            ):
                charges.append(
                    _charge(company, debtor, inv, ChargeKind.FLAT_COMPENSATION, flat, f"flat:{inv.pk}", as_of)
                )
                existing[inv.pk].append((ChargeKind.FLAT_COMPENSATION, flat))
        if not in_default:
            continue  # this reminder is the one that puts the debtor in default: it carries no fee
        target = min(in_default, key=lambda inv: (inv.due_date, inv.pk))
        policy = law_ruleset(laws[debtor.pk], target.due_date).fees
        fees = [a for k, a in existing[target.pk] if k == ChargeKind.REMINDER_FEE]
        first_notice = all(i.step.level <= 1 or i.step.offset_days < 0 for i in decision.items) and not fees
        decision_fee = reminder_fee(
            policy,
            first_notice=first_notice,
            default_causing=False,
            charged_first_minor=fees[0] if fees else 0,
            charged_further_minor=sum(fees[1:]),
        )
        if decision_fee.amount_minor and target.currency == policy.currency:
            charges.append(
                _charge(
                    company,
                    debtor,
                    target,
                    ChargeKind.REMINDER_FEE,
                    decision_fee.amount_minor,
                    f"fee:{action.key}:{action.pk}",
                    as_of,
                )
            )
    Charge.objects.bulk_create(charges, batch_size=1000)
    for charge in charges:
        events.append(
            timeline.event(
                charge.debtor_id,
                company.pk,
                "charge_booked",
                as_of,
                charge=str(charge.get_kind_display()),
                amount=format_money(charge.amount_minor, charge.currency),
                number=invoices[charge.invoice_id].number,
            )
        )
    timeline.record(events)


def _in_default(inv: Invoice, as_of: date) -> bool:
    return inv.default_from is not None and inv.default_from <= as_of


def _charge(
    company: Company, debtor: Debtor, inv: Invoice, kind: str, amount: int, key: str, as_of: date
) -> Charge:
    return Charge(
        company=company,
        debtor=debtor,
        invoice=inv,
        kind=kind,
        key=key,
        amount_minor=amount,
        open_minor=amount,
        currency=inv.currency,
        booked_on=as_of,
    )
