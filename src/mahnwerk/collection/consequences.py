"""What a reminder changes on the claims: default begins, flat compensation and reminder fees are booked.

Called by the collection run for each chunk, inside its transaction, before the messages are
rendered, so every message shows interest and fees to date.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache

from django.db.models import F, Q
from django.utils import translation

from mahnwerk.collection.models import Action
from mahnwerk.core.calendar import add_business_days
from mahnwerk.core.fees import flat_compensation_minor, reminder_fee
from mahnwerk.core.money import format_money, to_minor
from mahnwerk.core.playbook import Channel, DebtorDecision
from mahnwerk.core.rulesets import ApplicableLaw, RuleSet
from mahnwerk.ledger.bulk import bulk_insert_rows
from mahnwerk.ledger.claims import ClaimView, claim_views, debtor_law, law_ruleset
from mahnwerk.ledger.facts import InvoiceFacts
from mahnwerk.ledger.ids import id_in
from mahnwerk.ledger.models import Allocation, Charge, ChargeKind, Company, Debtor, Invoice, Payment
from mahnwerk.ledger.services import company_today
from mahnwerk.ledger.timeline import EventRow, event_row, record_events

ONE_DAY = timedelta(days=1)


@dataclass
class Consequences:
    claims: dict[int, ClaimView]
    warnings: set[str] = field(default_factory=set)


class _RulesOn:
    """``law_ruleset`` once per law and day within one chunk (its items share a few hundred due dates)."""

    def __init__(self) -> None:
        self._found: dict[tuple[ApplicableLaw, date], RuleSet] = {}

    def __call__(self, law: ApplicableLaw, on: date) -> RuleSet:
        key = (law, on)
        rules = self._found.get(key)
        if rules is None:
            rules = self._found[key] = law_ruleset(law, on)
        return rules


def apply_step_consequences(
    company: Company,
    decided: Sequence[tuple[Action, DebtorDecision]],
    as_of: date,
    debtors: dict[int, Debtor],
    invoices: Mapping[int, InvoiceFacts],
    channels: Mapping[int, Channel | None] | None = None,
) -> Consequences:
    """Start default where this reminder causes it; book compensation and fees; return claims to date.

    ``channels``: the channel each action goes out on (by action id; None: nobody can be reached), as
    dispatch will choose it; without it, the step's own channel.
    """
    chosen = {
        action.pk: (channels[action.pk] if channels is not None else decision.step.channel)
        for action, decision in decided
    }
    changed: dict[tuple[date, str], list[int]] = defaultdict(list)
    # each debtor's own rules: a consumer's country of residence, else the law of the contract
    laws = {pk: debtor_law(company, d) for pk, d in debtors.items()}
    rules_on = _RulesOn()
    for action, decision in decided:
        law = laws[decision.debtor_id]
        for item in decision.items:
            inv = invoices[item.invoice_id]
            if item.step.offset_days < 0 or inv.due_date >= as_of:
                continue
            rules = rules_on(law, inv.due_date)
            if not rules.default.reminder_after_due:
                continue
            if rules.default.reminder_default_after_deadline:
                if chosen[action.pk] is None:
                    continue  # nobody can be reached: the step is not taken and puts nobody in default
                starts, rule = _default_by_reminder(
                    company, debtors[decision.debtor_id], as_of, chosen[action.pk], action.deadline
                )
            else:  # received the day it is sent; interest from the next day
                starts, rule = as_of + ONE_DAY, "reminder"
            if inv.default_from is None or starts < inv.default_from:
                inv.default_from, inv.default_rule = starts, rule
                changed[(starts, rule)].append(inv.pk)
    # one UPDATE per first day and rule, not a CASE per row
    for (starts, rule), pks in changed.items():
        Invoice.objects.filter(id_in(Invoice, "id", pks)).update(default_from=starts, default_rule=rule)
    if company.charge_fees:
        _book_charges(company, decided, as_of, debtors, invoices, laws, chosen, rules_on)
    claims = claim_views(company, invoices.values(), laws, as_of)
    warnings = {c.interest_error for c in claims.values() if c.interest_error}
    return Consequences(claims, warnings)


def _book_charges(
    company: Company,
    decided: Sequence[tuple[Action, DebtorDecision]],
    as_of: date,
    debtors: dict[int, Debtor],
    invoices: Mapping[int, InvoiceFacts],
    laws: dict[int, ApplicableLaw],
    chosen: Mapping[int, Channel | None],
    rules_on: _RulesOn,
) -> None:
    existing: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for invoice_id, kind, amount in (
        Charge.objects.filter(id_in(Charge, "invoice_id", invoices))
        .order_by("booked_on", "id")
        .values_list("invoice_id", "kind", "amount_minor")
    ):
        existing[invoice_id].append((kind, amount))
    charges: list[ChargeRow] = []
    events: list[EventRow] = []
    for action, decision in decided:
        debtor = debtors[decision.debtor_id]
        in_default = [
            inv for inv in (invoices[i.invoice_id] for i in decision.items) if _in_default(inv, as_of)
        ]
        for inv in in_default:
            policy = rules_on(laws[debtor.pk], inv.due_date).fees
            flat = flat_compensation_minor(policy) if debtor.kind == "business" else 0
            if policy.flat_compensation_covers_reminders and company.costs_claim == "itemised":
                flat = 0  # the creditor claims its reminder costs instead (§ 288 (5) s. 3 BGB: never both)
            if (
                flat
                and inv.currency == policy.currency
                and not any(k == ChargeKind.FLAT_COMPENSATION for k, _ in existing[inv.pk])
            ):
                charges.append(
                    _charge(company, debtor, inv, ChargeKind.FLAT_COMPENSATION, flat, f"flat:{inv.pk}", as_of)
                )
                existing[inv.pk].append((ChargeKind.FLAT_COMPENSATION, flat))
        channel = chosen[action.pk]
        if not in_default or channel is None:
            continue  # this reminder is the one that puts the debtor in default: it carries no fee
        target = min(in_default, key=lambda inv: (inv.due_date, inv.pk))
        policy = rules_on(laws[debtor.pk], target.due_date).fees
        if policy.flat_compensation_covers_reminders and any(
            k == ChargeKind.FLAT_COMPENSATION for k, _ in existing[target.pk]
        ):
            continue  # the flat compensation is credited against reminder costs: no fee on top
        cost = None  # the rule set's amount
        if policy.reminder_fee_by_channel:  # the actual cost: a letter's material and postage, else nothing
            cost = to_minor(company.letter_cost, target.currency) if channel is Channel.LETTER else 0
        fees = [a for k, a in existing[target.pk] if k == ChargeKind.REMINDER_FEE]
        first_notice = all(i.step.level <= 1 or i.step.offset_days < 0 for i in decision.items) and not fees
        decision_fee = reminder_fee(
            policy,
            first_notice=first_notice,
            default_causing=False,
            charged_first_minor=fees[0] if fees else 0,
            charged_further_minor=sum(fees[1:]),
            cost_minor=cost,
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
    bulk_insert_rows(Charge, CHARGE_COLUMNS, charges)
    labels = charge_labels()
    amounts: dict[tuple[int, str], str] = {}  # a few amounts, each written once
    for _company, debtor_id, invoice_id, kind, _key, amount, _open, currency, _on in charges:
        text = amounts.get((amount, currency))
        if text is None:
            text = amounts[(amount, currency)] = format_money(amount, currency)
        events.append(
            event_row(
                debtor_id,
                company.pk,
                "charge_booked",
                as_of,
                charge=labels[ChargeKind(kind)],
                amount=text,
                number=invoices[invoice_id].number,
            )
        )
    record_events(events)


def charge_labels() -> dict[ChargeKind, str]:
    """The charges' names as timeline events keep them: in English, whatever language the run or the request
    speaks (``timeline_display`` writes them in the reader's)."""
    with translation.override("en"):
        return {kind: str(kind.label) for kind in ChargeKind}


def _default_by_reminder(
    company: Company, debtor: Debtor, as_of: date, channel: Channel | None, deadline: date | None
) -> tuple[date, str]:
    """The first day of default a reminder written on ``as_of`` causes, and the rule.

    The reminder is received the day it is sent (email, SMS, a call), a letter ``letter_delivery_days``
    business days after posting; a deadline it sets is granted time, so default begins after it (the day
    after receipt where the deadline would end earlier).
    """
    received = as_of
    if channel is Channel.LETTER:
        country = (debtor.country or company.country or "").upper() or None
        received = _business_days_later(as_of, company.letter_delivery_days, country)
    if deadline is not None and deadline >= received:
        return deadline + ONE_DAY, "reminder_deadline"
    return received + ONE_DAY, "reminder"


@lru_cache(maxsize=4096)
def _business_days_later(day: date, days: int, country: str | None) -> date:
    """:func:`add_business_days`, once per day, count and country (a chunk's letters share a handful)."""
    return add_business_days(day, days, country)


def move_default_with_letter(
    action: Action,
    written: date,
    printed: date,
    old_deadline: date | None,
    channel: Channel = Channel.LETTER,
) -> int:
    """A reminder written on ``written`` goes out on ``printed`` (a letter printed, an email or text message
    sent days later, its deadline moved as far): default that this reminder was to cause moves as far too,
    never past what begins without it (30-day rule). Returns how many invoices changed."""
    from mahnwerk.collection.models import ActionItem
    from mahnwerk.ledger.claims import default_start

    company, debtor = action.company, action.debtor
    law = debtor_law(company, debtor)
    invoice_ids = ActionItem.objects.filter(action=action).values_list("invoice_id", flat=True)
    changed = 0
    for inv in Invoice.objects.filter(
        pk__in=list(invoice_ids), default_rule__in=["reminder", "reminder_deadline"]
    ):
        if not law_ruleset(law, inv.due_date).default.reminder_default_after_deadline:
            continue
        was = _default_by_reminder(company, debtor, written, channel, old_deadline)
        if inv.default_from != was[0] or inv.default_rule != was[1]:
            continue  # default began by another reminder
        starts, rule = _default_by_reminder(company, debtor, printed, channel, action.deadline)
        without = default_start(inv, law.jurisdiction, law.debtor_kind)
        if without.first_interest_day is not None and without.first_interest_day < starts:
            starts, rule = without.first_interest_day, without.rule
        Invoice.objects.filter(pk=inv.pk).update(default_from=starts, default_rule=rule)
        changed += 1
    return changed


def restore_default(actions: Sequence[Action], received: date) -> int:
    """Steps given back (a failed message put back in the queue) cause default again, as received on
    ``received`` (an email, the day it goes out) with their deadline: where that is earlier than the default
    that stands. Their fees are not booked again. Returns how many invoices changed."""
    from mahnwerk.collection.models import ActionItem, ActionStatus

    changed = 0
    for action in actions:
        company, debtor = action.company, action.debtor
        law = debtor_law(company, debtor)
        ids = ActionItem.objects.filter(action=action, status=ActionStatus.ACTIVE).values_list(
            "invoice_id", flat=True
        )
        for inv in Invoice.objects.filter(pk__in=list(ids), due_date__lt=action.as_of):
            rules = law_ruleset(law, inv.due_date).default
            if not rules.reminder_after_due:
                continue
            if rules.reminder_default_after_deadline:
                starts, rule = _default_by_reminder(
                    company, debtor, received, Channel(action.channel), action.deadline
                )
            else:
                starts, rule = received + ONE_DAY, "reminder"
            if inv.default_from is None or starts < inv.default_from:
                Invoice.objects.filter(pk=inv.pk).update(default_from=starts, default_rule=rule)
                changed += 1
    return changed


def _in_default(inv: InvoiceFacts, as_of: date) -> bool:
    return inv.default_from is not None and inv.default_from <= as_of


# a booked charge as a row (``ledger.bulk.bulk_insert_rows``): every other field as a new charge has it
CHARGE_COLUMNS = (
    "company_id",
    "debtor_id",
    "invoice_id",
    "kind",
    "key",
    "amount_minor",
    "open_minor",
    "currency",
    "booked_on",
)
ChargeRow = tuple[int, int, int, str, str, int, int, str, date]


def _charge(
    company: Company, debtor: Debtor, inv: InvoiceFacts, kind: str, amount: int, key: str, as_of: date
) -> ChargeRow:
    return (company.pk, debtor.pk, inv.pk, kind, key, amount, amount, inv.currency, as_of)


def undo_step_consequences(action_ids: Sequence[int]) -> int:
    """Steps that did not reach the debtor (withdrawn before sending, failed for good, bounced, returned by
    the post) take back what :func:`apply_step_consequences` booked for them: the first day of default they
    caused moves to what the other reminders still standing, or the law without a reminder, give; their
    reminder fee is cancelled; a flat compensation booked before the default that now stands is cancelled too
    (the next run books it when default begins). A charge something was already allocated to stays.

    Call before the actions are marked cancelled. Returns how many invoices or charges changed.
    """
    from mahnwerk.collection.models import ActionItem, ActionStatus
    from mahnwerk.ledger.claims import default_start

    actions = list(
        Action.objects.filter(pk__in=list(action_ids), status=ActionStatus.ACTIVE).select_related(
            "company", "debtor"
        )
    )
    if not actions:
        return 0
    undone = {a.pk for a in actions}
    invoice_ids = set(ActionItem.objects.filter(action_id__in=undone).values_list("invoice_id", flat=True))
    # the reminders still standing on those invoices: each may have caused default on its own
    standing: dict[int, list[Action]] = defaultdict(list)
    for item in (
        ActionItem.objects.filter(invoice_id__in=invoice_ids, status=ActionStatus.ACTIVE)
        .exclude(action_id__in=undone)
        .filter(action__status=ActionStatus.ACTIVE)
        .select_related("action")
    ):
        standing[item.invoice_id].append(item.action)
    debtors = {a.debtor_id: (a.company, a.debtor) for a in actions}
    changed = 0
    moved: list[tuple[Invoice, Company, ApplicableLaw]] = []  # default begins later now
    events: list[EventRow] = []
    invoices = {inv.pk: inv for inv in Invoice.objects.filter(pk__in=invoice_ids)}
    for inv in invoices.values():
        if inv.default_rule not in ("reminder", "reminder_deadline") or inv.default_from is None:
            continue
        company, debtor = debtors[inv.debtor_id]
        law = debtor_law(company, debtor)
        rules = law_ruleset(law, inv.due_date).default
        causes: list[tuple[date, str]] = []
        without = default_start(inv, law.jurisdiction, law.debtor_kind)
        if without.first_interest_day is not None:
            causes.append((without.first_interest_day, without.rule))
        for other in standing.get(inv.pk, ()):
            if other.as_of <= inv.due_date or not rules.reminder_after_due:
                continue
            if rules.reminder_default_after_deadline:
                causes.append(
                    _default_by_reminder(company, debtor, other.as_of, Channel(other.channel), other.deadline)
                )
            else:
                causes.append((other.as_of + ONE_DAY, "reminder"))
        first = min(causes) if causes else None
        if first is not None and first[0] <= inv.default_from:
            continue  # default stands without the steps taken back
        starts, rule = first if first is not None else (None, "")
        Invoice.objects.filter(pk=inv.pk).update(default_from=starts, default_rule=rule)
        inv.default_from, inv.default_rule = starts, rule
        moved.append((inv, company, law))
        changed += 1
    fee_keys = [f"fee:{a.key}:{a.pk}" for a in actions]
    flat_keys = [f"flat:{pk}" for pk in invoice_ids]
    today = {a.company_id: company_today(a.company) for a in actions}
    credited: set[int] = set()  # debtors with money on account again
    for charge in Charge.objects.filter(Q(key__in=fee_keys) | Q(key__in=flat_keys)).select_related("invoice"):
        if charge.kind == ChargeKind.FLAT_COMPENSATION:
            inv = invoices[charge.invoice_id]
            if inv.default_from is not None and inv.default_from <= charge.booked_on:
                continue  # booked while in default by what still stands
        if not _repay(charge, invoices[charge.invoice_id]):
            continue
        if charge.amount_minor != charge.open_minor:
            credited.add(charge.debtor_id)
        charge.delete()
        changed += 1
        flat = charge.kind == ChargeKind.FLAT_COMPENSATION
        starts = invoices[charge.invoice_id].default_from if flat else None
        events.append(
            event_row(
                charge.debtor_id,
                charge.company_id,
                "charge_cancelled_default" if flat else "charge_cancelled",
                today[charge.company_id],
                charge=charge_labels()[ChargeKind(charge.kind)],
                amount=format_money(charge.amount_minor, charge.currency),
                number=charge.invoice.number,
                **({"date": starts.isoformat() if starts else "-"} if flat else {}),
            )
        )
    for inv, company, law in moved:
        if _repay_interest(inv, company, law):
            credited.add(inv.debtor_id)
    record_events(events)
    if credited:  # what a payment had paid on a charge taken back pays the customer's other items now
        from mahnwerk.ledger.services import apply_credits

        for company, _debtor in {a.company_id: (a.company, a.debtor) for a in actions}.values():
            apply_credits(company, credited)
    return changed


def law_changed(company: Company, debtor_ids: Sequence[int], later: Sequence[int]) -> int:
    """After the law of ``debtor_ids`` changed (their kind, country or jurisdiction, and with it when default
    begins: ``ledger.services.refresh_invoice_rules``): a flat compensation the debtor no longer owes — a
    consumer's, or one booked before default now begins or on an invoice no longer in default — is cancelled,
    and for the invoices in ``later`` interest paid for days no longer in default pays the principal. What was
    paid on a cancelled charge pays the principal too (:func:`_repay`). Returns how many charges were
    cancelled."""
    from mahnwerk.ledger.services import apply_credits

    debtors = {d.pk: d for d in Debtor.objects.filter(company=company, pk__in=list(debtor_ids))}
    invoices = {
        inv.pk: inv
        for inv in Invoice.objects.filter(company=company, debtor_id__in=list(debtors), open_minor__gt=0)
    }
    today = company_today(company)
    events: list[EventRow] = []
    credited: set[int] = set()
    cancelled = 0
    label = charge_labels()[ChargeKind.FLAT_COMPENSATION]
    for charge in Charge.objects.filter(
        invoice_id__in=list(invoices), kind=ChargeKind.FLAT_COMPENSATION
    ).order_by("pk"):
        inv = invoices[charge.invoice_id]
        owed = (
            debtors[inv.debtor_id].kind == "business"
            and inv.default_from is not None
            and inv.default_from <= charge.booked_on
        )
        if owed or not _repay(charge, inv):
            continue
        if charge.amount_minor != charge.open_minor:
            credited.add(charge.debtor_id)
        charge.delete()
        cancelled += 1
        events.append(
            event_row(
                charge.debtor_id,
                company.pk,
                "charge_cancelled_law",
                today,
                charge=label,
                amount=format_money(charge.amount_minor, charge.currency),
                number=inv.number,
            )
        )
    for invoice_id in later:
        moved = invoices.get(invoice_id)
        if moved is not None and _repay_interest(
            moved, company, debtor_law(company, debtors[moved.debtor_id])
        ):
            credited.add(moved.debtor_id)
    record_events(events)
    if credited:
        apply_credits(company, credited)
    return cancelled


def _on_law_changed(
    sender: object, company: Company, debtor_ids: Sequence[int], later: Sequence[int], **kwargs: object
) -> None:
    law_changed(company, debtor_ids, later)


def _repay(charge: Charge, inv: Invoice) -> bool:
    """What payments paid on ``charge`` (about to be taken back) pays the invoice's principal instead, from
    the same value date (§ 366 BGB: the customer's money pays what is owed); what the principal cannot take
    goes back on account as a credit. False (the charge stays) where a write-off or a credit note paid on it.
    """
    paid = list(Allocation.objects.filter(charge=charge).order_by("value_date", "id"))
    if any(a.payment_id is None for a in paid):
        return False
    _to_principal(inv, [(a, a.amount_minor) for a in paid])
    return True


def _repay_interest(inv: Invoice, company: Company, law: ApplicableLaw) -> bool:
    """Default now begins later: what payments paid as interest beyond what had accrued by their value date
    pays the principal instead (the latest first), checked at each date interest was paid, again from the first
    date after each move, as paying principal earlier lowers the interest again (a bounded number of rounds).
    Returns whether anything moved."""
    moved_any = False
    for _round in range(20):
        moved = False
        days = sorted(
            set(
                Allocation.objects.filter(
                    invoice=inv, component="interest", payment__isnull=False
                ).values_list("value_date", flat=True)
            )
        )
        for day in days:
            view = claim_views(company, [inv], {inv.debtor_id: law}, day)[inv.pk]
            excess = view.interest_paid - view.interest_accrued
            moves: list[tuple[Allocation, int]] = []
            for a in Allocation.objects.filter(
                invoice=inv, component="interest", payment__isnull=False, value_date__lte=day
            ).order_by("-value_date", "-id"):
                if excess <= 0:
                    break
                take = min(a.amount_minor, excess)
                moves.append((a, take))
                excess -= take
            if moves:
                _to_principal(inv, moves)
                moved = moved_any = True
                break  # the principal changed: look again from the first date
        if not moved:
            break
    return moved_any


def _to_principal(inv: Invoice, moves: Sequence[tuple[Allocation, int]]) -> None:
    """Move ``amount`` of each payment allocation (on a charge or on interest) to the invoice's principal, same
    payment and value date; what the principal cannot take goes back on the payment as a credit."""
    if not moves:
        return
    room = inv.open_minor
    to_principal: list[Allocation] = []
    back: dict[int, int] = defaultdict(int)
    for a, amount in moves:
        if a.payment_id is None:
            continue  # only what a payment paid moves
        moved = min(amount, room)
        room -= moved
        if moved:
            to_principal.append(
                Allocation(
                    invoice=inv,
                    component="principal",
                    payment_id=a.payment_id,
                    amount_minor=moved,
                    value_date=a.value_date,
                )
            )
        if amount > moved:
            back[a.payment_id] += amount - moved
        if amount >= a.amount_minor:
            a.delete()
        else:
            Allocation.objects.filter(pk=a.pk).update(amount_minor=a.amount_minor - amount)
    Allocation.objects.bulk_create(to_principal)
    if to_principal:
        inv.open_minor = room
        settled = max(a.value_date for a in to_principal) if room == 0 else None
        Invoice.objects.filter(pk=inv.pk).update(open_minor=room, settled_on=settled or inv.settled_on)
    for payment_id, amount in back.items():
        Payment.objects.filter(pk=payment_id).update(unallocated_minor=F("unallocated_minor") + amount)
