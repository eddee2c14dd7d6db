"""Agreements and disputes: the use cases, and what the collection run asks of them each day.

One function per use case (``record_promise``, ``propose_plan``, ``approve_plan``, ``confirm_plan``,
``offer_settlement``, ``offer_incentive``, ``open_dispute``, ``resolve_dispute``), shared by the CLI,
jobs and the web UI. The run calls :func:`steer_items` before the playbook decides (covered items are
held, a broken promise's fallback step is made due, a broken plan's playbook resumes) and
:func:`carry_out` after its decisions (state transitions, thank-you, Plan B, instalment reminders).
Every transition goes on the debtor's timeline. Payments count by value date. The messages are
rendered in :mod:`.agreement_messages`, the lists for the CLI and UI are in :mod:`.agreement_queries`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, cast

from django.db import transaction
from django.db.models import Max
from django.utils import translation
from django.utils.translation import gettext

from mahnwerk.collection.agreement_messages import (
    queue_message,
    render_agreement_message,
    schedule_table,
)
from mahnwerk.collection.agreements_models import (
    AgreementPolicy,
    Dispute,
    DisputeReason,
    DisputeStatus,
    Incentive,
    IncentiveKind,
    Instalment,
    InstalmentPlan,
    OfferStatus,
    PlanStatusChoice,
    Promise,
    PromiseStatus,
    Settlement,
    Source,
)
from mahnwerk.collection.models import ActionItem, ActionStatus
from mahnwerk.comms.outbox import email_recipients, recheck_queued
from mahnwerk.core import agreements as core
from mahnwerk.core.agreements import AgreementError
from mahnwerk.core.calendar import format_date
from mahnwerk.core.money import format_money
from mahnwerk.core.playbook import ItemState, PlaybookSpec
from mahnwerk.ledger import timeline
from mahnwerk.ledger.models import Allocation, Company, Debtor, Invoice, TimelineEvent
from mahnwerk.ledger.services import company_today, record_credit_note

__all__ = [
    "AgreementError",
    "approve_plan",
    "cancel_agreement",
    "carry_out",
    "confirm_plan",
    "evaluate_agreements",
    "offer_incentive",
    "offer_settlement",
    "open_dispute",
    "policy_for",
    "propose_plan",
    "record_promise",
    "resolve_dispute",
    "steer_items",
    "waived_charges",
]


def policy_for(company: Company) -> AgreementPolicy:
    """The company's agreement rules (created with the defaults the first time)."""
    policy, _ = AgreementPolicy.objects.get_or_create(company=company)
    return policy


def _read_policy(company: Company) -> AgreementPolicy:
    """The company's rules without writing anything (the defaults, unsaved, if it has none yet)."""
    return AgreementPolicy.objects.filter(company=company).first() or AgreementPolicy(company=company)


# --- helpers --------------------------------------------------------------------------------------------


def _covered(
    company: Company, debtor: Debtor, invoices: Iterable[Invoice | int], *, exclusive: bool = True
) -> list[Invoice]:
    """The debtor's open invoices named, checked: same company and debtor, open, one currency."""
    ids = [i.pk if isinstance(i, Invoice) else int(i) for i in invoices]
    if not ids:
        raise AgreementError("name at least one invoice")
    found = list(
        Invoice.objects.filter(company=company, debtor=debtor, pk__in=ids).order_by("due_date", "pk")
    )
    if len(found) != len(set(ids)):
        raise AgreementError("an invoice named is not one of this debtor's")
    if any(inv.open_minor <= 0 for inv in found):
        raise AgreementError("an invoice named is already settled")
    if len({inv.currency for inv in found}) > 1:
        raise AgreementError("an agreement covers invoices in one currency only")
    if exclusive:
        _refuse_overlap(found)
    return found


def _withdraw_queued(invoice_ids: Sequence[int], today: date) -> None:
    """Reminders still waiting in the outbox that list an item now held by an agreement or dispute are
    withdrawn with their actions (the outbox's one check), so the next run decides afresh."""
    recheck_queued(invoice_ids=invoice_ids, on=today)


def _within(policy: AgreementPolicy, today: date, day: date, refusal: str) -> None:
    """Refuse a date more than the policy's ``promise_max_days`` ahead with ``refusal`` (naming ``{date}``
    and ``{days}``)."""
    if (day - today).days > policy.promise_max_days:
        raise AgreementError(refusal.format(date=_day_text(day), days=policy.promise_max_days))


def _day_text(day: date) -> str:
    return format_date(day, (translation.get_language() or "en")[:2])


def _refuse_overlap(invoices: Sequence[Invoice]) -> None:
    """One live agreement per item: a pending promise, a proposed or running plan, an offered settlement."""
    ids = [inv.pk for inv in invoices]
    live = (
        ("promise", Promise.objects.filter(invoices__in=ids, status=PromiseStatus.PENDING)),
        (
            "instalment plan",
            InstalmentPlan.objects.filter(
                invoices__in=ids, status__in=[PlanStatusChoice.PROPOSED, PlanStatusChoice.ACTIVE]
            ),
        ),
        ("settlement", Settlement.objects.filter(invoices__in=ids, status=OfferStatus.OFFERED)),
    )
    for what, qs in live:
        other = qs.first()
        if other is not None:
            raise AgreementError(f"an item is already covered by {what} #{other.pk}")


@dataclass(frozen=True, slots=True)
class _Claim:
    """What the items claim on a day: principal, interest and fees, in minor units."""

    principal: int
    interest: int
    fees: int
    currency: str

    @property
    def total(self) -> int:
        return self.principal + self.interest + self.fees

    def describe(self, language: str) -> str:
        """The total, and what it is made of when there is more than principal (in the active language)."""
        money = lambda minor: format_money(minor, self.currency, language)  # noqa: E731
        if not (self.interest or self.fees):
            return money(self.total)
        parts = [gettext("principal {amount}").format(amount=money(self.principal))]
        if self.interest:
            parts.append(
                gettext("interest to the promised date {amount}").format(amount=money(self.interest))
            )
        if self.fees:
            parts.append(gettext("fees {amount}").format(amount=money(self.fees)))
        return gettext("{total} ({parts})").format(total=money(self.total), parts=", ".join(parts))


def _claim_on(company: Company, debtor: Debtor, items: Sequence[Invoice], day: date, today: date) -> _Claim:
    """The claim on ``items`` as of ``day`` (``ledger.claims``); where the interest rate for ``day`` is not
    known yet, the interest as of ``today``."""
    from mahnwerk.ledger.claims import claim_views, debtor_law

    laws = {debtor.pk: debtor_law(company, debtor)}
    views = claim_views(company, items, laws, day)
    unknown = [inv for inv in items if views[inv.pk].interest_error]
    if unknown and day > today:
        views.update(claim_views(company, unknown, laws, today))
    return _Claim(
        sum(inv.open_minor for inv in items),
        sum(v.interest_open for v in views.values()),
        sum(v.costs_open for v in views.values()),
        items[0].currency,
    )


def _numbers(invoices: Sequence[Invoice]) -> str:
    return ", ".join(inv.number for inv in invoices)


def _money(minor: int, currency: str) -> str:
    return format_money(minor, currency)


# --- promises to pay ------------------------------------------------------------------------------------


@transaction.atomic
def record_promise(
    company: Company,
    debtor: Debtor,
    invoices: Iterable[Invoice | int],
    promised_date: date,
    amount_minor: int | None = None,
    *,
    grace_days: int | None = None,
    fallback_level: int = 0,
    source: str = Source.CLERK,
    actor: str = "system",
    note: str = "",
    as_of: date | None = None,
    confirm: bool = True,
) -> Promise:
    """Record a promise to pay ``amount_minor`` by ``promised_date`` (at most the policy's
    ``promise_max_days`` ahead). Without an amount the debtor promises the whole claim on the items as
    of the promised date: principal, interest to that date and fees; the confirmation says so.

    Reminders for the items pause until the promised date plus the grace period; ``confirm`` sends
    the debtor a confirmation of what was agreed.
    """
    today = as_of or company_today(company)
    policy = policy_for(company)
    items = _covered(company, debtor, invoices)
    if promised_date < today:
        raise AgreementError("the promised date has passed")
    _within(
        policy,
        today,
        promised_date,
        gettext(
            "the promised date {date} is more than {days} days ahead (the limit for promises is {days} days)"
        ),
    )
    claim = _claim_on(company, debtor, items, promised_date, today)
    amount = claim.total if amount_minor is None else amount_minor
    if amount <= 0 or amount > claim.total:
        raise AgreementError("the promised amount must be positive and at most what is open")
    grace = policy.promise_grace_days if grace_days is None else grace_days
    if grace < 0 or fallback_level < 0:
        raise AgreementError("grace period and fallback step cannot be negative")
    promise = Promise.objects.create(
        company=company,
        debtor=debtor,
        made_on=today,
        promised_date=promised_date,
        amount_minor=amount,
        currency=items[0].currency,
        grace_days=grace,
        fallback_level=fallback_level,
        source=source,
        actor=actor,
        note=note,
    )
    promise.invoices.set(items)
    _withdraw_queued([i.pk for i in items], today)
    events = [
        timeline.event(
            debtor.pk,
            company.pk,
            "promise_recorded",
            today,
            actor=actor,
            note=note,
            amount=_money(amount, promise.currency),
            promised_date=promised_date,
            numbers=_numbers(items),
            grace_days=grace,
        )
    ]
    if confirm:
        rendered = render_agreement_message(
            company,
            debtor,
            "promise_confirmation",
            items,
            today,
            amount=(amount, promise.currency) if amount_minor is not None else claim.describe,
            promised_date=promised_date,
        )
        queue_message(company, debtor, f"promise.{promise.pk}.confirmation", rendered, today, events)
    timeline.record(events)
    return promise


# --- instalment plans -----------------------------------------------------------------------------------


@transaction.atomic
def propose_plan(
    company: Company,
    debtor: Debtor,
    invoices: Iterable[Invoice | int],
    count: int,
    *,
    down_payment_minor: int | None = None,
    first_due: date | None = None,
    interval_days: int = 0,
    interval_months: int = 0,
    dates: Sequence[date] | None = None,
    costs_minor: int | None = None,
    costs_mode: str | None = None,
    resume_level: int = 0,
    source: str = Source.CLERK,
    actor: str = "system",
    note: str = "",
    as_of: date | None = None,
) -> InstalmentPlan:
    """Propose an instalment plan for the debtor's items; the principal is what is open on them.

    Inside the company's limits the plan is approved at once and the written agreement (schedule,
    deadline to confirm, consequence of a missed instalment) goes to the debtor; outside them it
    waits for :func:`approve_plan`. Reminders for the items pause until the deadline to confirm.
    ``costs_minor``: interest and fees claimed with the plan (default: the interest and fees open on the
    items today), settled with the first payment or folded into the instalments (``costs_mode``, default
    the company's setting). Without a down payment
    given, the policy's minimum is asked for; without ``first_due`` the first payment falls due on
    the deadline to confirm.
    """
    today = as_of or company_today(company)
    policy = policy_for(company)
    items = _covered(company, debtor, invoices)
    principal = sum(inv.open_minor for inv in items)
    if costs_minor is None:
        from mahnwerk.ledger.claims import claim_views, debtor_law

        views = claim_views(company, items, {debtor.pk: debtor_law(company, debtor)}, today)
        costs_minor = sum(v.interest_open + v.costs_open for v in views.values())
    limits = policy.plan_policy()
    down = (
        core.min_down_payment_minor(limits, principal) if down_payment_minor is None else down_payment_minor
    )
    confirm_by = today + timedelta(days=policy.confirm_days)
    start = first_due or confirm_by
    if start < today:
        raise AgreementError("the first payment cannot fall due in the past")
    _within(
        policy,
        today,
        start,
        gettext(
            "the first payment date {date} is more than {days} days ahead (the limit for instalment plans is "
            "{days} days)"
        ),
    )
    if not (interval_days or interval_months or dates):
        interval_months = 1
    mode = core.CostsMode(costs_mode or policy.costs_mode)
    try:
        schedule = core.build_schedule(
            principal,
            count,
            start,
            down_payment_minor=down,
            interval_days=interval_days,
            interval_months=interval_months,
            dates=dates,
            costs_minor=costs_minor,
            costs_mode=mode,
        )
        _plan_within(policy, today, schedule)
    except (OverflowError, ValueError) as exc:  # a date beyond the calendar (year 10000)
        if isinstance(exc, AgreementError):
            raise
        raise AgreementError(
            gettext("the plan's dates cannot be computed: a due date would fall outside the calendar")
        ) from None
    check = core.check_plan(limits, schedule, today, principal)
    plan = InstalmentPlan.objects.create(
        company=company,
        debtor=debtor,
        proposed_on=today,
        confirm_by=confirm_by,
        principal_minor=principal,
        costs_minor=costs_minor,
        costs_mode=mode.value,
        currency=items[0].currency,
        down_payment_minor=down,
        count=count,
        interval_days=interval_days,
        interval_months=interval_months,
        grace_days=policy.plan_grace_days,
        resume_level=resume_level,
        needs_approval=not check.approved_at_once,
        violations=",".join(check.violations),
        approved_by="" if check.violations else "policy",
        approved_on=None if check.violations else today,
        source=source,
        actor=actor,
        note=note,
    )
    plan.invoices.set(items)
    _withdraw_queued([i.pk for i in items], today)
    Instalment.objects.bulk_create(
        Instalment(plan=plan, number=p.number, due_date=p.due_date, amount_minor=p.amount_minor)
        for p in schedule
    )
    events = [
        timeline.event(
            debtor.pk,
            company.pk,
            "plan_proposed",
            today,
            actor=actor,
            note=note,
            total=_money(plan.total_minor, plan.currency),
            count=count,
            down=_money(down, plan.currency),
            numbers=_numbers(items),
            confirm_by=confirm_by,
        )
    ]
    if check.violations:
        events.append(
            timeline.event(
                debtor.pk, company.pk, "plan_needs_approval", today, violations=", ".join(check.violations)
            )
        )
    else:
        _send_plan_agreement(company, debtor, plan, items, today, events)
    timeline.record(events)
    return plan


def _plan_within(policy: AgreementPolicy, today: date, schedule: Sequence[core.ScheduledPayment]) -> None:
    """The first payment at most ``promise_max_days`` ahead, none in the past, the last at most
    ``plan_max_months`` after the first (OverflowError or ValueError for dates beyond the calendar)."""
    first, last = schedule[0].due_date, max(p.due_date for p in schedule)
    if min(p.due_date for p in schedule) < today:
        raise AgreementError("the first payment cannot fall due in the past")
    _within(
        policy,
        today,
        first,
        gettext(
            "the first payment date {date} is more than {days} days ahead (the limit for instalment plans is "
            "{days} days)"
        ),
    )
    if last > core.add_months(first, policy.plan_max_months):
        raise AgreementError(
            gettext(
                "the last instalment ({date}) would fall due more than {months} months after the first payment "
                "(the limit for instalment plans is {months} months)"
            ).format(date=_day_text(last), months=policy.plan_max_months)
        )


def _schedule_rows(plan: InstalmentPlan) -> list[tuple[int, date, int, int]]:
    return [(i.number, i.due_date, i.amount_minor, i.paid_minor) for i in plan.instalments.order_by("number")]


def _send_plan_agreement(
    company: Company,
    debtor: Debtor,
    plan: InstalmentPlan,
    items: Sequence[Invoice],
    today: date,
    events: list[TimelineEvent],
    template: str = "plan_agreement",
) -> None:
    rows = _schedule_rows(plan)
    rendered = render_agreement_message(
        company,
        debtor,
        template,
        items,
        today,
        schedule=lambda language: schedule_table(rows, plan.currency, language),
        plan_total=(plan.total_minor, plan.currency),
        costs=(plan.costs_minor, plan.currency) if plan.costs_minor else "",
        confirm_by=plan.confirm_by,
        grace_days=plan.grace_days,
    )
    message = queue_message(company, debtor, f"plan.{plan.pk}.{template}", rendered, today, events)
    if message is not None:  # the written agreement also goes as a PDF letter attached to the email
        type(message).objects.filter(pk=message.pk).update(
            payload={"document": "agreement", "tone": "formal"}
        )


@transaction.atomic
def approve_plan(
    company: Company, plan: InstalmentPlan, *, actor: str, as_of: date | None = None
) -> InstalmentPlan:
    """Approve a plan outside the limits (the caller has checked the person's role) and send the agreement."""
    today = as_of or company_today(company)
    if plan.company_id != company.pk:
        raise AgreementError("the plan belongs to another company")
    if plan.status != PlanStatusChoice.PROPOSED or plan.approved_on is not None:
        raise AgreementError("only a proposed plan waiting for approval can be approved")
    plan.approved_by, plan.approved_on = actor, today
    plan.confirm_by = max(plan.confirm_by, today + timedelta(days=policy_for(company).confirm_days))
    plan.save(update_fields=["approved_by", "approved_on", "confirm_by"])
    events = [timeline.event(plan.debtor_id, company.pk, "plan_approved", today, actor=actor, approver=actor)]
    _send_plan_agreement(
        company, plan.debtor, plan, list(plan.invoices.order_by("due_date", "pk")), today, events
    )
    timeline.record(events)
    return plan


@transaction.atomic
def confirm_plan(
    company: Company,
    plan: InstalmentPlan,
    *,
    by: str = Source.CLERK,
    actor: str = "system",
    as_of: date | None = None,
) -> InstalmentPlan:
    """The debtor accepted the plan (recorded by a clerk, or by the debtor): it becomes active."""
    today = as_of or company_today(company)
    if plan.company_id != company.pk:
        raise AgreementError("the plan belongs to another company")
    if plan.status != PlanStatusChoice.PROPOSED:
        raise AgreementError(f"the plan is {plan.status}, not proposed")
    if plan.approved_on is None:
        raise AgreementError("the plan is outside the limits and must be approved first")
    if today > plan.confirm_by:
        raise AgreementError("the deadline to confirm the plan has passed")
    updated = InstalmentPlan.objects.filter(pk=plan.pk, status=PlanStatusChoice.PROPOSED).update(
        status=PlanStatusChoice.ACTIVE, confirmed_on=today, confirmed_by=by
    )
    if not updated:
        raise AgreementError("the plan was changed meanwhile")
    plan.refresh_from_db()
    events = [timeline.event(plan.debtor_id, company.pk, "plan_confirmed", today, actor=actor, by=by)]
    _send_plan_agreement(
        company,
        plan.debtor,
        plan,
        list(plan.invoices.order_by("due_date", "pk")),
        today,
        events,
        "plan_confirmed",
    )
    timeline.record(events)
    return plan


# --- settlements and incentives -------------------------------------------------------------------------


@transaction.atomic
def offer_settlement(
    company: Company,
    debtor: Debtor,
    invoices: Iterable[Invoice | int],
    amount_minor: int,
    deadline: date,
    *,
    reason: str,
    actor: str = "system",
    as_of: date | None = None,
) -> Settlement:
    """Offer to accept ``amount_minor`` for the items if paid by ``deadline``; the rest is then
    written off with a credit note giving ``reason``. Unpaid by the deadline, the offer lapses."""
    today = as_of or company_today(company)
    items = _covered(company, debtor, invoices)
    open_total = sum(inv.open_minor for inv in items)
    if not 0 < amount_minor <= open_total:
        raise AgreementError("the settlement amount must be positive and at most what is open")
    if deadline < today:
        raise AgreementError("the deadline has passed")
    _within(
        policy_for(company),
        today,
        deadline,
        gettext("the deadline {date} is more than {days} days ahead (the limit for offers is {days} days)"),
    )
    if not reason.strip():
        raise AgreementError("a settlement needs a reason (it goes on the credit note)")
    offer = Settlement.objects.create(
        company=company,
        debtor=debtor,
        offered_on=today,
        deadline=deadline,
        amount_minor=amount_minor,
        open_at_offer_minor=open_total,
        currency=items[0].currency,
        reason=reason,
        actor=actor,
    )
    offer.invoices.set(items)
    _withdraw_queued([i.pk for i in items], today)
    events = [
        timeline.event(
            debtor.pk,
            company.pk,
            "settlement_offered",
            today,
            actor=actor,
            note=reason,
            amount=_money(amount_minor, offer.currency),
            open=_money(open_total, offer.currency),
            deadline=deadline,
        )
    ]
    rendered = render_agreement_message(
        company,
        debtor,
        "settlement_offer",
        items,
        today,
        amount=(amount_minor, offer.currency),
        saving=(open_total - amount_minor, offer.currency),
        deadline=deadline,
    )
    queue_message(company, debtor, f"settlement.{offer.pk}.offer", rendered, today, events)
    timeline.record(events)
    return offer


def _kind_label(kind: str, language: str) -> str:
    with translation.override(language):
        return str(IncentiveKind(kind).label)


@transaction.atomic
def offer_incentive(
    company: Company,
    debtor: Debtor,
    invoices: Iterable[Invoice | int],
    kind: str,
    deadline: date,
    *,
    discount_percent: int = 0,
    discount_minor: int = 0,
    actor: str = "system",
    as_of: date | None = None,
    notify: bool = True,
) -> Incentive:
    """A time-limited offer: fees waived, interest waived or a discount if the items are paid in full
    (less the discount) by ``deadline``. Applied automatically by the run when the money came in time.
    A playbook step can make the offer by calling this with ``notify=False`` and naming it in its text."""
    today = as_of or company_today(company)
    items = _covered(company, debtor, invoices, exclusive=False)
    open_total = sum(inv.open_minor for inv in items)
    if kind not in IncentiveKind.values:
        raise AgreementError(f"unknown incentive {kind!r}")
    discount = 0
    if kind == IncentiveKind.DISCOUNT:
        discount = core.discount_minor(open_total, discount_percent, discount_minor)
        if discount <= 0:
            raise AgreementError("a discount needs a percentage or an amount")
    if deadline < today:
        raise AgreementError("the deadline has passed")
    _within(
        policy_for(company),
        today,
        deadline,
        gettext("the deadline {date} is more than {days} days ahead (the limit for offers is {days} days)"),
    )
    offer = Incentive.objects.create(
        company=company,
        debtor=debtor,
        kind=kind,
        discount_minor=discount,
        offered_on=today,
        deadline=deadline,
        open_at_offer_minor=open_total,
        currency=items[0].currency,
        actor=actor,
    )
    offer.invoices.set(items)
    _withdraw_queued([i.pk for i in items], today)
    events = [
        timeline.event(
            debtor.pk,
            company.pk,
            "incentive_offered",
            today,
            actor=actor,
            offer=_kind_label(kind, "en"),
            amount=_money(offer.required_minor, offer.currency),
            deadline=deadline,
        )
    ]
    if notify:
        rendered = render_agreement_message(
            company,
            debtor,
            "incentive_offer",
            items,
            today,
            kind=offer.kind,
            offer=lambda language: _kind_label(kind, language),
            required=(offer.required_minor, offer.currency),
            discount=(discount, offer.currency),
            deadline=deadline,
        )
        queue_message(company, debtor, f"incentive.{offer.pk}.offer", rendered, today, events)
    timeline.record(events)
    return offer


def waived_charges(company: Company, invoice_ids: Iterable[int] | None = None) -> dict[int, set[str]]:
    """Invoices whose fees or interest are waived by an incentive earned in time: invoice -> kinds.

    For the interest and fee calculation: skip what is waived here.
    """
    through = Incentive.invoices.through
    rows = through.objects.filter(
        incentive__company=company,
        incentive__status=OfferStatus.ACCEPTED,
        incentive__kind__in=[IncentiveKind.WAIVE_FEES, IncentiveKind.WAIVE_INTEREST],
    )
    if invoice_ids is not None:
        rows = rows.filter(invoice_id__in=list(invoice_ids))
    result: dict[int, set[str]] = defaultdict(set)
    for invoice_id, kind in rows.values_list("invoice_id", "incentive__kind"):
        result[invoice_id].add(kind)
    return dict(result)


# --- disputes -------------------------------------------------------------------------------------------


def _reason_label(reason: str, language: str = "en") -> str:
    with translation.override(language):
        return str(DisputeReason(reason).label)


@transaction.atomic
def open_dispute(
    company: Company,
    invoice: Invoice,
    reason: str,
    *,
    amount_minor: int | None = None,
    notes: str = "",
    source: str = Source.CLERK,
    actor: str = "system",
    as_of: date | None = None,
) -> Dispute:
    """Put an invoice (or ``amount_minor`` of it) in dispute: no reminders, no interest demands, no
    escalation for it until the dispute is resolved."""
    today = as_of or company_today(company)
    if invoice.company_id != company.pk:
        raise AgreementError("the invoice belongs to another company")
    if reason not in DisputeReason.values:
        raise AgreementError(f"unknown reason {reason!r}; one of {', '.join(DisputeReason.values)}")
    if amount_minor is not None and not 0 < amount_minor <= invoice.open_minor:
        raise AgreementError("the disputed amount must be positive and at most what is open")
    if Dispute.objects.filter(invoice=invoice, status=DisputeStatus.OPEN).exists():
        raise AgreementError(f"invoice {invoice.number} is already in dispute")
    dispute = Dispute.objects.create(
        company=company,
        debtor_id=invoice.debtor_id,
        invoice=invoice,
        amount_minor=amount_minor,
        reason=reason,
        notes=notes,
        opened_on=today,
        source=source,
        actor=actor,
    )
    _withdraw_queued([invoice.pk], today)
    timeline.event(
        invoice.debtor_id,
        company.pk,
        "dispute_opened",
        today,
        actor=actor,
        note=notes[:500],
        number=invoice.number,
        amount=_money(amount_minor or invoice.open_minor, invoice.currency),
        reason=_reason_label(reason),
    ).save()
    return dispute


@transaction.atomic
def resolve_dispute(
    company: Company,
    dispute: Dispute,
    outcome: str,
    *,
    resolution: str,
    credit_minor: int | None = None,
    credit_number: str | None = None,
    actor: str = "system",
    as_of: date | None = None,
) -> Dispute:
    """Resolve a dispute: ``corrected`` (a credit note over the disputed amount), ``rejected`` (the
    playbook resumes after a new deadline and the debtor is told why) or ``partly`` (a credit note over
    ``credit_minor``, the rest resumes like a rejection)."""
    today = as_of or company_today(company)
    if dispute.company_id != company.pk:
        raise AgreementError("the dispute belongs to another company")
    if dispute.status != DisputeStatus.OPEN:
        raise AgreementError("the dispute is already resolved")
    if outcome not in (DisputeStatus.CORRECTED, DisputeStatus.REJECTED, DisputeStatus.PARTLY):
        raise AgreementError("the outcome is corrected, rejected or partly")
    if not resolution.strip():
        raise AgreementError("say how the dispute was resolved (the debtor is told)")
    invoice = Invoice.objects.select_for_update().get(pk=dispute.invoice_id)
    debtor = dispute.debtor
    credit = 0
    if outcome == DisputeStatus.CORRECTED:
        credit = min(dispute.amount_minor or invoice.open_minor, invoice.open_minor)
    elif outcome == DisputeStatus.PARTLY:
        if credit_minor is None or not 0 < credit_minor < (dispute.amount_minor or invoice.open_minor):
            raise AgreementError("a partial correction needs a credit below the disputed amount")
        credit = min(credit_minor, invoice.open_minor)
    if credit > 0:
        dispute.credit_note = record_credit_note(
            company,
            debtor=debtor,
            number=credit_number or f"CN-D{dispute.pk}",
            issue_date=today,
            amount_minor=credit,
            currency=invoice.currency,
            invoice=invoice,
            reason=resolution[:200],
            actor=actor,
        )
        invoice.refresh_from_db()
    if outcome != DisputeStatus.CORRECTED:
        dispute.resume_on = today + timedelta(days=policy_for(company).dispute_deadline_days)
    dispute.status, dispute.resolution, dispute.resolved_on, dispute.resolved_by = (
        outcome,
        resolution,
        today,
        actor,
    )
    dispute.save(
        update_fields=["status", "resolution", "resolved_on", "resolved_by", "resume_on", "credit_note"]
    )
    events = [
        timeline.event(
            debtor.pk,
            company.pk,
            "dispute_resolved",
            today,
            actor=actor,
            note=resolution[:500],
            number=invoice.number,
            outcome=outcome,
            deadline=dispute.resume_on or "-",
        )
    ]
    if outcome != DisputeStatus.CORRECTED and invoice.open_minor > 0:
        rendered = render_agreement_message(
            company,
            debtor,
            "dispute_rejected",
            [invoice],
            today,
            reason=lambda language: _reason_label(dispute.reason, language),
            resolution=resolution,
            credited=(credit, invoice.currency) if credit else "",
            deadline=dispute.resume_on,
        )
        queue_message(company, debtor, f"dispute.{dispute.pk}.{outcome}", rendered, today, events)
    timeline.record(events)
    return dispute


# --- cancelling ------------------------------------------------------------------------------------------

_CANCELLABLE: dict[type, tuple[list[str], str]] = {
    Promise: ([PromiseStatus.PENDING], PromiseStatus.CANCELLED),
    InstalmentPlan: ([PlanStatusChoice.PROPOSED, PlanStatusChoice.ACTIVE], PlanStatusChoice.CANCELLED),
    Settlement: ([OfferStatus.OFFERED], OfferStatus.WITHDRAWN),
    Incentive: ([OfferStatus.OFFERED], OfferStatus.WITHDRAWN),
}


CANCELLABLE_KINDS: dict[str, type[Promise] | type[InstalmentPlan] | type[Settlement] | type[Incentive]] = {
    "promise": Promise,
    "plan": InstalmentPlan,
    "settlement": Settlement,
    "incentive": Incentive,
}


def find_agreement(
    company: Company, debtor: Debtor, kind: str, agreement_id: int
) -> Promise | InstalmentPlan | Settlement | Incentive | None:
    """The debtor's agreement of ``kind`` ("promise", "plan", "settlement", "incentive") with this id, looked
    up within the company; None when there is none."""
    model = CANCELLABLE_KINDS.get(kind)
    if model is None:
        return None
    found = model.objects.filter(company=company, debtor=debtor, pk=agreement_id).first()
    return cast(Promise | InstalmentPlan | Settlement | Incentive | None, found)


@transaction.atomic
def cancel_agreement(
    company: Company,
    agreement: Promise | InstalmentPlan | Settlement | Incentive,
    *,
    reason: str,
    actor: str = "system",
    as_of: date | None = None,
) -> None:
    """Cancel a pending promise or a proposed or running plan, withdraw an offer. The items are no longer
    held by it: the playbook goes on from where it stood (with its usual distances)."""
    today = as_of or company_today(company)
    if agreement.company_id != company.pk:
        raise AgreementError("the agreement belongs to another company")
    live, final = _CANCELLABLE[type(agreement)]
    if not reason.strip():
        raise AgreementError("give a reason (it goes on the timeline)")
    if (
        not type(agreement)
        .objects.filter(pk=agreement.pk, status__in=live)
        .update(status=final, closed_on=today)
    ):
        raise AgreementError(f"the {agreement._meta.verbose_name} is {agreement.status}: nothing to cancel")
    agreement.refresh_from_db()
    timeline.event(
        agreement.debtor_id,
        company.pk,
        "agreement_cancelled",
        today,
        actor=actor,
        note=reason[:500],
        what=str(agreement._meta.verbose_name),
        id=agreement.pk,
    ).save()


# --- what the run asks each day -------------------------------------------------------------------------


@dataclass
class FollowUp:
    """A transition (and perhaps a message) due today."""

    kind: str
    debtor_id: int
    target: Promise | InstalmentPlan | Settlement | Incentive
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class AgreementsToday:
    blocked: set[int] = field(default_factory=set)  # invoice ids on hold today
    fallback: dict[int, int] = field(default_factory=dict)  # invoice -> step to run today (0: the next)
    resume: dict[int, int] = field(default_factory=dict)  # invoice -> step a broken plan resumes at
    followups: list[FollowUp] = field(default_factory=list)


@dataclass
class _Loaded:
    promises: list[Promise]
    plans: list[InstalmentPlan]
    settlements: list[Settlement]
    incentives: list[Incentive]
    disputes: list[Dispute]
    items: dict[tuple[str, int], list[int]]  # (kind, agreement id) -> invoice ids
    instalments: dict[int, list[Instalment]]
    open_minor: dict[int, int]
    payments: dict[int, list[tuple[date, int]]]  # invoice -> (value date, amount) of payments

    def paid(self, invoice_ids: Iterable[int], start: date, end: date) -> int:
        return sum(a for i in invoice_ids for d, a in self.payments.get(i, ()) if start <= d <= end)

    def still_open(self, invoice_ids: Iterable[int]) -> int:
        return sum(self.open_minor.get(i, 0) for i in invoice_ids)


def _load(company: Company, as_of: date, debtor_ids: Sequence[int] | None = None) -> _Loaded:
    """Everything live, in a fixed number of queries (``debtor_ids``: only these debtors' agreements)."""
    mine: dict[str, Any] = {} if debtor_ids is None else {"debtor_id__in": list(debtor_ids)}
    # pending promises, and those found broken today (another worker of the same run may have got there
    # first: their fallback step is still today's)
    promises = list(
        (
            Promise.objects.filter(company=company, **mine, status=PromiseStatus.PENDING)
            | Promise.objects.filter(
                company=company,
                **mine,
                status__in=[PromiseStatus.BROKEN, PromiseStatus.PARTLY_KEPT],
                closed_on=as_of,
            )
        ).select_related("debtor")
    )
    plans = list(
        InstalmentPlan.objects.filter(
            company=company,
            **mine,
            status__in=[PlanStatusChoice.PROPOSED, PlanStatusChoice.ACTIVE, PlanStatusChoice.BREACHED],
            closed_on__isnull=True,
        ).select_related("debtor")
    )
    settlements = list(
        Settlement.objects.filter(company=company, **mine, status=OfferStatus.OFFERED).select_related(
            "debtor"
        )
    )
    incentives = list(
        Incentive.objects.filter(company=company, **mine, status=OfferStatus.OFFERED).select_related("debtor")
    )
    disputes = list(
        Dispute.objects.filter(company=company, **mine, status=DisputeStatus.OPEN)
        | Dispute.objects.filter(company=company, **mine, resume_on__gte=as_of)
    )
    items: dict[tuple[str, int], list[int]] = defaultdict(list)
    for kind, model, rows in (
        ("promise", Promise, promises),
        ("plan", InstalmentPlan, plans),
        ("settlement", Settlement, settlements),
        ("incentive", Incentive, incentives),
    ):
        if not rows:
            continue
        through = model.invoices.through
        column = f"{model._meta.model_name}_id"
        for owner, invoice_id in through.objects.filter(
            **{f"{column}__in": [r.pk for r in rows]}
        ).values_list(column, "invoice_id"):
            items[(kind, owner)].append(invoice_id)
    instalments: dict[int, list[Instalment]] = defaultdict(list)
    for inst in Instalment.objects.filter(plan__in=[p.pk for p in plans]).order_by("plan_id", "number"):
        instalments[inst.plan_id].append(inst)
    covered = {i for ids in items.values() for i in ids}
    open_minor = dict(Invoice.objects.filter(pk__in=covered).values_list("id", "open_minor"))
    payments: dict[int, list[tuple[date, int]]] = defaultdict(list)
    for invoice_id, value_date, amount in Allocation.objects.filter(
        invoice_id__in=covered, payment__isnull=False, value_date__lte=as_of
    ).values_list("invoice_id", "value_date", "amount_minor"):
        payments[invoice_id].append((value_date, amount))
    return _Loaded(
        promises, plans, settlements, incentives, disputes, items, instalments, open_minor, payments
    )


def _plan_schedule(rows: Sequence[Instalment]) -> list[core.ScheduledPayment]:
    return [core.ScheduledPayment(i.number, i.due_date, i.amount_minor) for i in rows]


def evaluate_agreements(
    company: Company, as_of: date, debtor_ids: Sequence[int] | None = None
) -> AgreementsToday:
    """What the agreements and disputes of ``company`` mean for the run on ``as_of``; reads only.

    ``blocked``: disputed items, items of a pending promise (until its date plus grace), of a plan
    being confirmed or running (its own instalments are reminded instead), of a pending settlement or
    incentive (until its deadline has passed).
    ``fallback``: items of a promise found broken today get its fallback step. ``resume``: items of
    a broken plan get the plan's resume step once its Plan B deadline has passed. ``followups``:
    the transitions and messages due today.
    """
    data = _load(company, as_of, debtor_ids)
    today = AgreementsToday()
    policy: AgreementPolicy | None = None
    for dispute in data.disputes:
        today.blocked.add(dispute.invoice_id)
    for promise in data.promises:
        ids = data.items[("promise", promise.pk)]
        if promise.status != PromiseStatus.PENDING:
            for invoice_id in ids:
                today.fallback[invoice_id] = promise.fallback_level
            continue
        terms = core.PromiseTerms(promise.promised_date, promise.amount_minor, promise.grace_days)
        paid = data.paid(ids, promise.made_on, terms.last_day)
        state = core.promise_state(terms, paid, data.still_open(ids), as_of)
        if state is core.PromiseState.PENDING:
            today.blocked.update(ids)
            continue
        if state is not core.PromiseState.KEPT:
            for invoice_id in ids:
                today.fallback[invoice_id] = promise.fallback_level
        today.followups.append(FollowUp(f"promise_{state.value}", promise.debtor_id, promise, {"paid": paid}))
    for plan in data.plans:
        ids = data.items[("plan", plan.pk)]
        if plan.status == PlanStatusChoice.BREACHED:
            if plan.resume_after is not None and as_of <= plan.resume_after:
                today.blocked.update(ids)
            elif data.still_open(ids) > 0:
                for invoice_id in ids:
                    today.resume[invoice_id] = plan.resume_level
            else:  # paid or credited after all: nothing left to resume
                today.followups.append(FollowUp("plan_closed", plan.debtor_id, plan))
            continue
        if plan.status == PlanStatusChoice.PROPOSED:
            if as_of <= plan.confirm_by:
                today.blocked.update(ids)
            else:
                today.followups.append(FollowUp("plan_expired", plan.debtor_id, plan))
            continue
        rows = data.instalments[plan.pk]
        status = core.plan_status(
            _plan_schedule(rows),
            data.paid(ids, plan.proposed_on, as_of),
            plan.grace_days,
            as_of,
        )
        if status.state is core.PlanState.BREACHED:
            today.blocked.update(ids)  # the Plan B message goes out today; the playbook resumes later
            today.followups.append(
                FollowUp("plan_breached", plan.debtor_id, plan, {"status": status, "instalments": rows})
            )
            continue
        if status.state is core.PlanState.COMPLETED:
            today.followups.append(
                FollowUp("plan_completed", plan.debtor_id, plan, {"status": status, "instalments": rows})
            )
            continue
        today.blocked.update(ids)
        policy = policy or _read_policy(company)
        notices = core.instalment_notices(
            status,
            as_of,
            days_before=policy.notice_days_before,
            days_after=policy.overdue_days_after,
            sent=_notices_sent(rows),
        )
        if notices or _progress_changed(plan, status, rows):
            today.followups.append(
                FollowUp(
                    "plan_progress",
                    plan.debtor_id,
                    plan,
                    {"status": status, "instalments": rows, "notices": notices},
                )
            )
    for offer in data.settlements:
        ids = data.items[("settlement", offer.pk)]
        paid = data.paid(ids, offer.offered_on, offer.deadline)
        offered = core.offer_state(offer.amount_minor, paid, offer.deadline, as_of)
        if offered is not core.OfferState.LAPSED:
            today.blocked.update(ids)
        if offered is not core.OfferState.PENDING:
            today.followups.append(
                FollowUp(f"settlement_{offered.value}", offer.debtor_id, offer, {"paid": paid})
            )
    for incentive in data.incentives:
        ids = data.items[("incentive", incentive.pk)]
        paid = data.paid(ids, incentive.offered_on, incentive.deadline)
        earned = core.offer_state(incentive.required_minor, paid, incentive.deadline, as_of)
        # while the offer runs, no collection message names its items
        if earned is not core.OfferState.LAPSED:
            today.blocked.update(ids)
        if earned is not core.OfferState.PENDING:
            today.followups.append(
                FollowUp(f"incentive_{earned.value}", incentive.debtor_id, incentive, {"paid": paid})
            )
    return today


def steer_items(
    company: Company,
    as_of: date,
    items: Sequence[ItemState],
    playbooks: dict[int, PlaybookSpec],
    debtor_ids: Sequence[int] | None = None,
) -> AgreementsToday:
    """Adjust the run's view of the open items for agreements and disputes (before the playbook decides);
    ``debtor_ids``: the items are only these debtors'."""
    today = evaluate_agreements(company, as_of, debtor_ids)
    for item in items:
        if item.blocked:
            continue
        if item.invoice_id in today.blocked:
            item.blocked = True
        elif item.invoice_id in today.fallback:
            core.force_step(item, playbooks[item.playbook_id], today.fallback[item.invoice_id], as_of)
        elif item.invoice_id in today.resume and item.last_level < today.resume[item.invoice_id]:
            core.force_step(item, playbooks[item.playbook_id], today.resume[item.invoice_id], as_of)
    return today


# Follow-ups whose message collects (a broken plan's Plan B notice): they keep the debtor's cadence and never
# go out beside a confirmation or thank-you; until they may, the plan's items stay held.
COLLECTING_FOLLOWUPS = frozenset({"plan_breached"})


def carry_out(company: Company, as_of: date) -> int:
    """Record today's transitions and queue their messages (before the run's playbook decisions, so those
    know today's thank-yous and notices). Returns the number of messages queued. Safe to run twice or in
    two workers: each transition is a conditional update, and only the caller that made it writes the
    messages and timeline events. A Plan B notice waits while the debtor's cadence window runs or while
    another follow-up (a thank-you, a confirmation) goes to it today."""
    today = evaluate_agreements(company, as_of)
    _defer_collecting(company, as_of, today)
    policy = policy_for(company) if today.followups else None
    recipients = email_recipients({f.debtor_id for f in today.followups}) if today.followups else {}
    queued = 0
    for follow in today.followups:
        follow.data["recipients"] = recipients
        assert policy is not None
        with transaction.atomic():
            queued += _HANDLERS[follow.kind](company, follow, as_of, policy)
    return queued


def _defer_collecting(company: Company, as_of: date, today: AgreementsToday) -> None:
    collecting = [f for f in today.followups if f.kind in COLLECTING_FOLLOWUPS]
    if not collecting:
        return
    from mahnwerk.collection.services import may_collect

    others = {f.debtor_id for f in today.followups if f.kind not in COLLECTING_FOLLOWUPS}
    allowed = may_collect(company, as_of, {f.debtor_id for f in collecting} - others)
    today.followups = [
        f for f in today.followups if f.kind not in COLLECTING_FOLLOWUPS or f.debtor_id in allowed
    ]


def _transition(model: Any, pk: int, current: str, **changes: Any) -> bool:
    return bool(model.objects.filter(pk=pk, status=current).update(**changes))


def _on_promise_kept(company: Company, follow: FollowUp, as_of: date, policy: AgreementPolicy) -> int:
    promise = follow.target
    assert isinstance(promise, Promise)
    paid = follow.data["paid"]
    if not _transition(
        Promise,
        promise.pk,
        PromiseStatus.PENDING,
        status=PromiseStatus.KEPT,
        paid_minor=paid,
        closed_on=as_of,
    ):
        return 0
    events = [
        timeline.event(
            promise.debtor_id, company.pk, "promise_kept", as_of, paid=_money(paid, promise.currency)
        )
    ]
    message = None
    if paid > 0:
        rendered = render_agreement_message(
            company,
            promise.debtor,
            "promise_thanks",
            list(promise.invoices.order_by("due_date", "pk")),
            as_of,
            paid=(paid, promise.currency),
        )
        message = queue_message(
            company,
            promise.debtor,
            f"promise.{promise.pk}.thanks",
            rendered,
            as_of,
            events,
            follow.data.get("recipients"),
        )
    timeline.record(events)
    return int(message is not None)


def _on_promise_failed(company: Company, follow: FollowUp, as_of: date, policy: AgreementPolicy) -> int:
    promise = follow.target
    assert isinstance(promise, Promise)
    partly = follow.kind == "promise_partly_kept"
    status = PromiseStatus.PARTLY_KEPT if partly else PromiseStatus.BROKEN
    paid = follow.data["paid"]
    if _transition(
        Promise, promise.pk, PromiseStatus.PENDING, status=status, paid_minor=paid, closed_on=as_of
    ):
        timeline.event(
            promise.debtor_id,
            company.pk,
            follow.kind,
            as_of,
            paid=_money(paid, promise.currency),
            amount=_money(promise.amount_minor, promise.currency),
            last_day=promise.promised_date + timedelta(days=promise.grace_days),
        ).save()
    return 0


def _notices_sent(rows: Sequence[Instalment]) -> dict[int, set[core.NoticeKind]]:
    return {
        i.number: {
            kind
            for kind, when in (
                (core.NoticeKind.BEFORE, i.notice_sent_on),
                (core.NoticeKind.OVERDUE, i.overdue_sent_on),
            )
            if when
        }
        for i in rows
    }


def _progress_changed(plan: InstalmentPlan, status: core.PlanStatus, rows: Sequence[Instalment]) -> bool:
    by_number = {row.number: row.paid_minor for row in status.instalments}
    return plan.paid_minor != status.paid_minor or any(i.paid_minor != by_number.get(i.number) for i in rows)


def _store_progress(plan: InstalmentPlan, status: core.PlanStatus, rows: Sequence[Instalment]) -> None:
    """Write what the payments so far fill of each instalment, where it changed."""
    by_number = {row.number: row.paid_minor for row in status.instalments}
    changed = [i for i in rows if i.paid_minor != by_number.get(i.number, i.paid_minor)]
    for inst in changed:
        inst.paid_minor = by_number[inst.number]
    if changed:
        Instalment.objects.bulk_update(changed, ["paid_minor"])
    if plan.paid_minor != status.paid_minor:
        InstalmentPlan.objects.filter(pk=plan.pk).update(paid_minor=status.paid_minor)


def _on_plan_progress(company: Company, follow: FollowUp, as_of: date, policy: AgreementPolicy) -> int:
    """Instalment reminders that follow the instalment dates, each once. No query unless one is due."""
    plan = follow.target
    assert isinstance(plan, InstalmentPlan)
    status: core.PlanStatus = follow.data["status"]
    _store_progress(plan, status, follow.data["instalments"])
    rows = {i.number: i for i in follow.data["instalments"]}
    notices: list[tuple[core.InstalmentStatus, core.NoticeKind]] = follow.data["notices"]
    queued = 0
    invoices = list(plan.invoices.order_by("due_date", "pk")) if notices else []
    for row, kind in notices:
        column = "notice_sent_on" if kind is core.NoticeKind.BEFORE else "overdue_sent_on"
        if not Instalment.objects.filter(pk=rows[row.number].pk, **{f"{column}__isnull": True}).update(
            **{column: as_of}
        ):
            continue
        events = [
            timeline.event(
                plan.debtor_id,
                company.pk,
                "instalment_notice",
                as_of,
                number=row.number,
                amount=_money(row.open_minor, plan.currency),
                due_date=row.due_date,
            )
        ]
        rendered = render_agreement_message(
            company,
            plan.debtor,
            "instalment_reminder",
            invoices,
            as_of,
            overdue="yes" if kind is core.NoticeKind.OVERDUE else "",
            instalment=row.number,
            amount=(row.open_minor, plan.currency),
            due=row.due_date,
            last_day=row.due_date + timedelta(days=plan.grace_days),
            schedule=lambda language, s=status: schedule_table(
                [(r.number, r.due_date, r.amount_minor, r.paid_minor) for r in s.instalments],
                plan.currency,
                language,
            ),
        )
        message = queue_message(
            company,
            plan.debtor,
            f"plan.{plan.pk}.{row.number}.{kind.value}",
            rendered,
            as_of,
            events,
            follow.data.get("recipients"),
        )
        queued += int(message is not None)
        timeline.record(events)
    return queued


def _on_plan_completed(company: Company, follow: FollowUp, as_of: date, policy: AgreementPolicy) -> int:
    plan = follow.target
    assert isinstance(plan, InstalmentPlan)
    status: core.PlanStatus = follow.data["status"]
    if _transition(
        InstalmentPlan, plan.pk, PlanStatusChoice.ACTIVE, status=PlanStatusChoice.COMPLETED, closed_on=as_of
    ):
        _store_progress(plan, status, follow.data["instalments"])
        timeline.event(
            plan.debtor_id, company.pk, "plan_completed", as_of, paid=_money(status.paid_minor, plan.currency)
        ).save()
    return 0


def _on_plan_closed(company: Company, follow: FollowUp, as_of: date, policy: AgreementPolicy) -> int:
    """A broken plan whose items were settled afterwards: no longer looked at."""
    InstalmentPlan.objects.filter(pk=follow.target.pk, closed_on__isnull=True).update(closed_on=as_of)
    return 0


def _on_plan_expired(company: Company, follow: FollowUp, as_of: date, policy: AgreementPolicy) -> int:
    plan = follow.target
    assert isinstance(plan, InstalmentPlan)
    if _transition(
        InstalmentPlan, plan.pk, PlanStatusChoice.PROPOSED, status=PlanStatusChoice.EXPIRED, closed_on=as_of
    ):
        timeline.event(plan.debtor_id, company.pk, "plan_expired", as_of, confirm_by=plan.confirm_by).save()
    return 0


def _on_plan_breached(company: Company, follow: FollowUp, as_of: date, policy: AgreementPolicy) -> int:
    """Plan B: the whole remaining amount falls due at once; after its deadline the playbook resumes."""
    plan = follow.target
    assert isinstance(plan, InstalmentPlan)
    status: core.PlanStatus = follow.data["status"]
    missed = status.missed
    assert missed is not None
    invoices = list(plan.invoices.order_by("due_date", "pk"))
    level = plan.resume_level
    if not level:
        reached = ActionItem.objects.filter(invoice__in=invoices, status=ActionStatus.ACTIVE).aggregate(
            m=Max("level")
        )
        level = (reached["m"] or 0) + 1
    deadline = as_of + timedelta(days=policy.breach_deadline_days)
    if not _transition(
        InstalmentPlan,
        plan.pk,
        PlanStatusChoice.ACTIVE,
        status=PlanStatusChoice.BREACHED,
        breached_on=as_of,
        resume_after=deadline,
        resume_level=level,
    ):
        return 0
    _store_progress(plan, status, follow.data["instalments"])
    open_now = sum(inv.open_minor for inv in invoices)
    events = [
        timeline.event(
            plan.debtor_id,
            company.pk,
            "plan_breached",
            as_of,
            number=missed.number,
            due_date=missed.due_date,
            remaining=_money(open_now, plan.currency),
            level=level,
            deadline=deadline,
        )
    ]
    rendered = render_agreement_message(
        company,
        plan.debtor,
        "plan_breach",
        [inv for inv in invoices if inv.open_minor > 0],
        as_of,
        instalment=missed.number,
        missed_due=missed.due_date,
        missed_amount=(missed.open_minor, plan.currency),
        deadline=deadline,
    )
    message = queue_message(
        company, plan.debtor, f"plan.{plan.pk}.breach", rendered, as_of, events, follow.data.get("recipients")
    )
    timeline.record(events)
    return int(message is not None)


def _write_off(
    company: Company,
    debtor: Debtor,
    invoices: Sequence[Invoice],
    limit: int,
    prefix: str,
    reason: str,
    as_of: date,
) -> int:
    """Credit notes over what is left open on ``invoices`` (at most ``limit`` in all); returns the total."""
    left = limit
    total = 0
    parts = core.settlement_write_off({inv.pk: inv.open_minor for inv in invoices})
    for n, inv in enumerate(invoices, start=1):
        amount = min(parts.get(inv.pk, 0), left)
        if amount <= 0:
            continue
        record_credit_note(
            company,
            debtor=debtor,
            number=f"{prefix}-{n}",
            issue_date=as_of,
            amount_minor=amount,
            currency=inv.currency,
            invoice=inv,
            reason=reason[:200],
        )
        left -= amount
        total += amount
    return total


def _on_settlement_earned(company: Company, follow: FollowUp, as_of: date, policy: AgreementPolicy) -> int:
    offer = follow.target
    assert isinstance(offer, Settlement)
    if not _transition(
        Settlement, offer.pk, OfferStatus.OFFERED, status=OfferStatus.ACCEPTED, closed_on=as_of
    ):
        return 0
    invoices = list(Invoice.objects.select_for_update().filter(settlements=offer).order_by("due_date", "pk"))
    written = _write_off(
        company,
        offer.debtor,
        invoices,
        sum(i.open_minor for i in invoices),
        f"CN-S{offer.pk}",
        offer.reason,
        as_of,
    )
    Settlement.objects.filter(pk=offer.pk).update(paid_minor=follow.data["paid"], written_off_minor=written)
    timeline.event(
        offer.debtor_id,
        company.pk,
        "settlement_accepted",
        as_of,
        note=offer.reason,
        paid=_money(follow.data["paid"], offer.currency),
        written_off=_money(written, offer.currency),
    ).save()
    return 0


def _on_settlement_lapsed(company: Company, follow: FollowUp, as_of: date, policy: AgreementPolicy) -> int:
    offer = follow.target
    assert isinstance(offer, Settlement)
    if _transition(
        Settlement,
        offer.pk,
        OfferStatus.OFFERED,
        status=OfferStatus.LAPSED,
        closed_on=as_of,
        paid_minor=follow.data["paid"],
    ):
        timeline.event(
            offer.debtor_id, company.pk, "settlement_lapsed", as_of, deadline=offer.deadline
        ).save()
    return 0


def _on_incentive(company: Company, follow: FollowUp, as_of: date, policy: AgreementPolicy) -> int:
    offer = follow.target
    assert isinstance(offer, Incentive)
    earned = follow.kind == "incentive_earned"
    status = OfferStatus.ACCEPTED if earned else OfferStatus.LAPSED
    if not _transition(Incentive, offer.pk, OfferStatus.OFFERED, status=status, closed_on=as_of):
        return 0
    written = 0
    if earned and offer.kind == IncentiveKind.DISCOUNT:
        invoices = list(
            Invoice.objects.select_for_update().filter(incentives=offer).order_by("due_date", "pk")
        )
        written = _write_off(
            company,
            offer.debtor,
            invoices,
            offer.discount_minor,
            f"CN-I{offer.pk}",
            f"discount for payment by {offer.deadline.isoformat()}",
            as_of,
        )
    timeline.event(
        offer.debtor_id,
        company.pk,
        "incentive_applied" if earned else "incentive_lapsed",
        as_of,
        offer=_kind_label(offer.kind, "en"),
        deadline=offer.deadline,
        discount=_money(written, offer.currency),
    ).save()
    return 0


_HANDLERS: dict[str, Callable[[Company, FollowUp, date, AgreementPolicy], int]] = {
    "promise_kept": _on_promise_kept,
    "promise_partly_kept": _on_promise_failed,
    "promise_broken": _on_promise_failed,
    "plan_progress": _on_plan_progress,
    "plan_completed": _on_plan_completed,
    "plan_expired": _on_plan_expired,
    "plan_closed": _on_plan_closed,
    "plan_breached": _on_plan_breached,
    "settlement_earned": _on_settlement_earned,
    "settlement_lapsed": _on_settlement_lapsed,
    "incentive_earned": _on_incentive,
    "incentive_lapsed": _on_incentive,
}
