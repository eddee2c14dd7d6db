"""Agreements and disputes: the use cases, and what the collection run asks of them each day.

One function per use case (``record_promise``, ``propose_plan``, ``approve_plan``, ``confirm_plan``,
``offer_settlement``, ``offer_incentive``, ``open_dispute``, ``resolve_dispute``), shared by the CLI,
jobs and the web UI. The run calls :func:`steer_items` before the playbook decides (covered items are
held, a broken promise's fallback step is made due, a broken plan's playbook resumes) and
:func:`carry_out` after its decisions (state transitions, thank-you, Plan B, instalment reminders).
Every transition goes on the debtor's timeline. Payments count by value date. The messages are
rendered by the messaging app (:mod:`mahnwerk.comms.agreement_messages`), the lists for the CLI and UI are
in :mod:`.agreement_queries`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, cast

from django.db import transaction
from django.db.models import F, Max, Q
from django.utils import translation
from django.utils.translation import gettext

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
from mahnwerk.collection.ports import messaging
from mahnwerk.core import agreements as core
from mahnwerk.core.agreements import AgreementError
from mahnwerk.core.calendar import format_date
from mahnwerk.core.money import format_money
from mahnwerk.core.playbook import ItemState, PlaybookSpec
from mahnwerk.ledger import timeline
from mahnwerk.ledger.ids import id_in
from mahnwerk.ledger.models import Allocation, Company, Debtor, Invoice, TimelineEvent, parse_channels
from mahnwerk.ledger.services import company_today, record_credit_note

__all__ = [
    "AgreementError",
    "AgreementTerms",
    "agreement_policy_for",
    "approve_plan",
    "cancel_agreement",
    "carry_out",
    "confirm_plan",
    "evaluate_agreements",
    "keep_in_touch",
    "offer_incentive",
    "offer_settlement",
    "open_dispute",
    "policy_for",
    "propose_plan",
    "record_promise",
    "resolve_dispute",
    "segment_terms",
    "steer_items",
    "terms_for_debtors",
    "waived_charges",
]


def policy_for(company: Company) -> AgreementPolicy:
    """The company's agreement rules (created with the defaults the first time)."""
    policy, _ = AgreementPolicy.objects.get_or_create(company=company)
    return policy


def _read_policy(company: Company) -> AgreementPolicy:
    """The company's rules without writing anything (the defaults, unsaved, if it has none yet)."""
    return AgreementPolicy.objects.filter(company=company).first() or AgreementPolicy(company=company)


# --- the terms of the debtor's segment -------------------------------------------------------------------

ALL_INCENTIVES = frozenset(IncentiveKind.values)
WAIVERS = frozenset({IncentiveKind.WAIVE_FEES.value, IncentiveKind.WAIVE_INTEREST.value})
# A step's deadline is never shorter than this, whatever the segment (and never shorter than a time to
# object the rule set gives: the run's own floor).
MIN_STEP_DEADLINE_DAYS = 7


@dataclass(frozen=True, slots=True)
class _Tier:
    """What a segment's rule does not say itself (its fields left empty), by the trust its minimum down
    payment expresses."""

    below_percent: int  # for segments asking a down payment below this percentage
    settlement_floor_percent: int  # the least share of what is open a settlement may accept
    extension_days: int  # one click on the debtor's page moves the payment this many days (0: none)
    promise_days: int | None  # the furthest promised date (None: the company's limit)
    incentives: frozenset[str]  # the offers a step or a clerk may make
    deadline_days: int | None  # the longest deadline of a step (None: the step's own)


# The shipped segments ask 0 % (best payers), 10 % (normal), 20 % (watch) and 30 % (risky) down payment.
# Lenient with those who usually pay, strict with those who don't: a good payer may be granted more off in a
# settlement (a complaint settled in good will), a risky one at most a fifth.
SEGMENT_TIERS = (
    _Tier(1, 50, 14, None, ALL_INCENTIVES, None),  # no down payment asked: a trusted payer
    _Tier(20, 60, 0, None, ALL_INCENTIVES, None),
    _Tier(30, 70, 0, 60, WAIVERS, None),
    _Tier(101, 80, 0, 30, WAIVERS, MIN_STEP_DEADLINE_DAYS),  # risky: short deadlines, no discounts
)


@dataclass(frozen=True)
class AgreementTerms:
    """What may be agreed with one debtor: the company's rules with its segment's terms in place of the
    company-wide plan limits (:func:`agreement_policy_for`)."""

    policy: AgreementPolicy
    segment: str = ""  # the segment's key ("": no segment yet, the company-wide limits apply)
    label: str = ""  # the segment's name (an English msgid)
    reason: dict[str, Any] = field(default_factory=dict)  # why the debtor is in it (stored reason)
    max_instalments: int = 0
    min_down_payment_percent: int = 0
    max_duration_days: int = 0
    settlement_floor_percent: int = 0
    extension_days: int = 0
    promise_max_days: int = 0
    incentives: frozenset[str] = ALL_INCENTIVES
    deadline_days: int | None = None
    thank_you: bool = False
    playbook: str = ""
    playbook_found: bool = True  # False: the company has no playbook of that name, its default one applies

    @property
    def plan_max_months(self) -> int:
        return self.policy.plan_max_months

    def plan_policy(self) -> core.PlanPolicy:
        return core.PlanPolicy(self.max_instalments, self.min_down_payment_percent, self.max_duration_days)

    def min_settlement_minor(self, open_minor: int) -> int:
        return -(-open_minor * self.settlement_floor_percent // 100)

    def terms_text(self) -> str:
        """The terms in words, in the active language."""
        parts = [
            gettext("plans up to {count} instalments over at most {days} days").format(
                count=self.max_instalments, days=self.max_duration_days
            ),
            gettext("down payment at least {percent} %").format(percent=self.min_down_payment_percent)
            if self.min_down_payment_percent
            else gettext("no down payment"),
            gettext("payment dates at most {days} days ahead").format(days=self.promise_max_days),
        ]
        if self.settlement_floor_percent:
            parts.append(
                # xgettext:no-python-format (a per-cent sign, not a placeholder)
                gettext("settlements from {percent} % of what is open").format(
                    percent=self.settlement_floor_percent
                )
            )
        if self.extension_days:
            parts.append(
                gettext("one-click extension of {days} days on the customer's page").format(
                    days=self.extension_days
                )
            )
        if not self.incentives:
            parts.append(gettext("no offers"))
        elif "discount" not in self.incentives:
            parts.append(gettext("no discounts"))
        if self.deadline_days:
            parts.append(gettext("reminder deadlines of at most {days} days").format(days=self.deadline_days))
        if self.playbook and self.playbook_found:
            parts.append(gettext("playbook “{playbook}”").format(playbook=self.playbook))
        elif self.playbook:
            parts.append(
                gettext("playbook “{playbook}” not found: the default playbook applies").format(
                    playbook=self.playbook
                )
            )
        return "; ".join(parts)

    def explanation(self) -> str:
        """Which terms apply and why, in the active language (the case file's agreements section)."""
        terms = self.terms_text()
        if not self.segment:
            return gettext(
                "No segment yet (the payment behaviour is rated after the next run): the company-wide limits "
                "apply: {terms}."
            ).format(terms=terms)
        from mahnwerk.insights.reasons import render_reason

        why = render_reason(self.reason, gettext)
        if self.reason.get("provisional"):
            return gettext(
                "Segment “{segment}” applies{why}, chosen from the history so far (rated again after the next "
                "run): {terms}."
            ).format(segment=gettext(self.label), why=f" ({why})" if why else "", terms=terms)
        return gettext("Segment “{segment}” applies{why}: {terms}.").format(
            segment=gettext(self.label), why=f" ({why})" if why else "", terms=terms
        )


def _tier(min_down_payment_percent: int) -> _Tier:
    return next(t for t in SEGMENT_TIERS if min_down_payment_percent < t.below_percent)


def _terms(
    policy: AgreementPolicy,
    segment: Any = None,
    reason: dict[str, Any] | None = None,
    playbooks: frozenset[str] | None = None,
) -> AgreementTerms:
    """``segment``: a ``core.behaviour.SegmentRule`` (None: the company-wide limits); ``playbooks``: the
    company's playbook names, casefolded (None: not checked)."""
    if segment is None:
        return AgreementTerms(
            policy,
            max_instalments=policy.max_instalments,
            min_down_payment_percent=policy.min_down_payment_percent,
            max_duration_days=policy.max_duration_days,
            promise_max_days=policy.promise_max_days,
        )
    rule = segment.policy
    tier = _tier(rule.min_down_payment_percent)
    # the segment rule's own terms where it states them, else its tier's
    promise_days = policy.promise_max_days
    own_promise = rule.promise_max_days if rule.promise_max_days is not None else tier.promise_days
    if own_promise is not None:
        promise_days = min(promise_days, own_promise)
    extension = rule.extension_days if rule.extension_days is not None else tier.extension_days
    return AgreementTerms(
        policy,
        segment=segment.key,
        label=segment.label,
        reason=reason or {},
        max_instalments=rule.max_instalments,
        min_down_payment_percent=rule.min_down_payment_percent,
        max_duration_days=rule.max_plan_days,
        settlement_floor_percent=rule.settlement_floor_percent
        if rule.settlement_floor_percent is not None
        else tier.settlement_floor_percent,
        extension_days=min(extension, promise_days),
        promise_max_days=promise_days,
        incentives=frozenset(rule.offers) if rule.offers is not None else tier.incentives,
        deadline_days=rule.deadline_days if rule.deadline_days is not None else tier.deadline_days,
        thank_you=rule.thank_you_messages,
        playbook=rule.playbook,
        playbook_found=playbooks is None or rule.playbook.casefold() in playbooks,
    )


def _playbook_names(company: Company) -> frozenset[str]:
    """The company's playbook names, casefolded (the run finds a segment's playbook ignoring case)."""
    from mahnwerk.collection.models import Playbook

    return frozenset(
        name.casefold() for name in Playbook.objects.filter(company=company).values_list("name", flat=True)
    )


def terms_for_debtors(
    company: Company,
    debtor_ids: Iterable[int],
    policy: AgreementPolicy | None = None,
    as_of: date | None = None,
) -> dict[int, AgreementTerms]:
    """:func:`agreement_policy_for` for many debtors in a fixed number of queries (every id is listed);
    ``as_of``: the day a debtor not rated yet is given its segment for (default: the company's today)."""
    from mahnwerk.insights.services import debtor_segments

    ids = list(debtor_ids)
    policy = policy or _read_policy(company)
    found = debtor_segments(company, ids, as_of) if ids else {}
    company_wide = _terms(policy)
    playbooks = _playbook_names(company) if found else None
    return {pk: _terms(policy, *found[pk], playbooks) if pk in found else company_wide for pk in ids}


def segment_terms(company: Company) -> list[AgreementTerms]:
    """What may be agreed in each of the company's segments, in their order: the rule's own terms and, where it
    leaves them empty, its tier's (``mahnwerk insights segments``)."""
    from mahnwerk.insights.services import segment_rules

    policy = _read_policy(company)
    playbooks = _playbook_names(company)
    return [_terms(policy, rule, None, playbooks) for rule in segment_rules(company)]


def agreement_policy_for(
    company: Company, debtor: Debtor | int, policy: AgreementPolicy | None = None, as_of: date | None = None
) -> AgreementTerms:
    """What may be agreed with ``debtor``: plan length and down payment, settlement floor, one-click extension,
    the furthest payment date, which offers and how long a step's deadline — by the debtor's segment (from
    the last insights refresh; for a debtor not rated yet, the segment its history so far gives, chosen now:
    ``insights.services.provisional_segments``). Every surface asks this: the
    clerk's forms, the debtor's page, the API (through the services) and the run."""
    pk = debtor if isinstance(debtor, int) else debtor.pk
    return terms_for_debtors(company, [pk], policy or policy_for(company), as_of)[pk]


def shorten_deadlines(company: Company, as_of: date, deadlines: dict[int, date | None]) -> None:
    """The run's step deadlines, shortened in place where the debtor's segment asks for short deadlines
    (risky payers) — never below :data:`MIN_STEP_DEADLINE_DAYS` (the run applies a time to object after
    this)."""
    if not deadlines:
        return
    for debtor_id, terms in terms_for_debtors(company, list(deadlines), as_of=as_of).items():
        current = deadlines[debtor_id]
        if terms.deadline_days is None or current is None:
            continue
        shortest = as_of + timedelta(days=max(terms.deadline_days, MIN_STEP_DEADLINE_DAYS))
        if current > shortest:
            deadlines[debtor_id] = shortest


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
    messaging().recheck_queued(invoice_ids=invoice_ids, on=today)


def _within(policy: AgreementPolicy | AgreementTerms, today: date, day: date, refusal: str) -> None:
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
    disputed = (
        Dispute.objects.filter(invoice__in=ids, status=DisputeStatus.OPEN).select_related("invoice").first()
    )
    if disputed is not None:  # an agreement to pay what the debtor contests: the dispute is settled first
        raise AgreementError(
            gettext("invoice {number} is under dispute #{id}: resolve the dispute first").format(
                number=disputed.invoice.number, id=disputed.pk
            )
        )


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

# The source of a "paid notice": the customer says it paid already. Its items are held until the promised
# date (the stated date plus a few days for the bank statement); if no payment shows by then, the notice
# simply ends and the playbook goes on from where it stood: no fallback step, no broken-promise message.
PAID_NOTICE = "paidnotice"
# Payments on its items count from this many days before the notice was given (the furthest back a
# payment may be stated), since the money may have been booked before the customer told us.
PAID_NOTICE_LOOKBACK_DAYS = 30


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
    terms = agreement_policy_for(company, debtor, policy, today)
    items = _covered(company, debtor, invoices)
    if promised_date < today:
        raise AgreementError("the promised date has passed")
    _within(
        terms,
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
            # "I have paid" on the debtor's page is no promise: the timeline says what the customer said
            "paid_notice_recorded" if source == PAID_NOTICE else "promise_recorded",
            today,
            actor=actor,
            note=note,
            amount=_money(amount, promise.currency),
            promised_date=promised_date,
            numbers=_numbers(items),
            grace_days=grace,
            segment=terms.segment,
        )
    ]
    if confirm:
        rendered = messaging().render_agreement_message(
            company,
            debtor,
            "promise_confirmation",
            items,
            today,
            amount=(amount, promise.currency) if amount_minor is not None else claim.describe,
            promised_date=promised_date,
        )
        messaging().queue_message(
            company, debtor, f"promise.{promise.pk}.confirmation", rendered, today, events
        )
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
    terms = agreement_policy_for(company, debtor, policy, today)
    items = _covered(company, debtor, invoices)
    principal = sum(inv.open_minor for inv in items)
    from mahnwerk.ledger.claims import claim_views, debtor_law

    views = claim_views(company, items, {debtor.pk: debtor_law(company, debtor)}, today)
    owed = sum(v.interest_open + v.costs_open for v in views.values())
    if costs_minor is None:
        costs_minor = owed
    elif not 0 <= costs_minor <= owed:  # less is a waiver; more is nothing the debtor owes
        raise AgreementError(
            gettext(
                "the plan's interest and fees ({costs}) cannot be more than the {owed} open on these items today"
            ).format(
                costs=format_money(costs_minor, items[0].currency), owed=format_money(owed, items[0].currency)
            )
        )
    limits = terms.plan_policy()
    down = (
        core.min_down_payment_minor(limits, principal) if down_payment_minor is None else down_payment_minor
    )
    confirm_by = today + timedelta(days=policy.confirm_days)
    start = first_due or confirm_by
    if start < today:
        raise AgreementError("the first payment cannot fall due in the past")
    _within(
        terms,
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
        _plan_within(terms, today, schedule)
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
            segment=terms.segment,
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


def _plan_within(
    policy: AgreementPolicy | AgreementTerms, today: date, schedule: Sequence[core.ScheduledPayment]
) -> None:
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
    rendered = messaging().render_agreement_message(
        company,
        debtor,
        template,
        items,
        today,
        schedule=lambda language: messaging().schedule_table(rows, plan.currency, language),
        plan_total=(plan.total_minor, plan.currency),
        costs=(plan.costs_minor, plan.currency) if plan.costs_minor else "",
        confirm_by=plan.confirm_by,
        grace_days=plan.grace_days,
    )
    # the written agreement also goes as a PDF letter attached to the email
    messaging().queue_message(
        company,
        debtor,
        f"plan.{plan.pk}.{template}",
        rendered,
        today,
        events,
        payload={"document": "agreement", "tone": "formal"},
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
    terms = agreement_policy_for(company, debtor, as_of=today)
    items = _covered(company, debtor, invoices)
    open_total = sum(inv.open_minor for inv in items)
    if not 0 < amount_minor <= open_total:
        raise AgreementError("the settlement amount must be positive and at most what is open")
    floor = terms.min_settlement_minor(open_total)
    if amount_minor < floor:
        raise AgreementError(
            gettext(
                # xgettext:no-python-format (a per-cent sign, not a placeholder)
                "the amount is below {percent} % of what is open ({floor}), the least a settlement may accept "
                "for the customer's segment"
            ).format(percent=terms.settlement_floor_percent, floor=_money(floor, items[0].currency))
        )
    if deadline < today:
        raise AgreementError("the deadline has passed")
    _within(
        terms,
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
    rendered = messaging().render_agreement_message(
        company,
        debtor,
        "settlement_offer",
        items,
        today,
        amount=(amount_minor, offer.currency),
        saving=(open_total - amount_minor, offer.currency),
        deadline=deadline,
    )
    messaging().queue_message(company, debtor, f"settlement.{offer.pk}.offer", rendered, today, events)
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
    terms = agreement_policy_for(company, debtor, as_of=today)
    if kind not in terms.incentives:
        raise AgreementError(
            gettext("this offer ({offer}) is not made to customers of the segment “{segment}”").format(
                offer=_kind_label(kind, (translation.get_language() or "en")[:2]),
                segment=gettext(terms.label),
            )
        )
    discount = 0
    if kind == IncentiveKind.DISCOUNT:
        discount = core.discount_minor(open_total, discount_percent, discount_minor)
        if discount <= 0:
            raise AgreementError("a discount needs a percentage or an amount")
    if deadline < today:
        raise AgreementError("the deadline has passed")
    _within(
        terms,
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
        rendered = messaging().render_agreement_message(
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
        messaging().queue_message(company, debtor, f"incentive.{offer.pk}.offer", rendered, today, events)
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
        rendered = messaging().render_agreement_message(
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
        messaging().queue_message(company, debtor, f"dispute.{dispute.pk}.{outcome}", rendered, today, events)
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


# the first part of an agreement message's key, by kind (``plan.7.proposal``)
_AGREEMENT_KEYS: dict[type, str] = {
    Promise: "promise",
    InstalmentPlan: "plan",
    Settlement: "settlement",
    Incentive: "incentive",
}


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
    # its messages not sent yet (a proposal, a confirmation) stay unsent
    messaging().withdraw_agreement_messages(
        company, f"{_AGREEMENT_KEYS[type(agreement)]}.{agreement.pk}", today
    )
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
    # invoice -> (step to run (0: the next), the day the promise broke): taken once, the first day it may go
    fallback: dict[int, tuple[int, date]] = field(default_factory=dict)
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


# how long a broken promise's fallback step waits for the account's other rules to let it go
FALLBACK_WAITS = timedelta(days=90)


def _load(company: Company, as_of: date, debtor_ids: Sequence[int] | None = None) -> _Loaded:
    """Everything live, in a fixed number of queries (``debtor_ids``: only these debtors' agreements)."""
    mine: dict[str, Any] = {} if debtor_ids is None else {"debtor_id__in": list(debtor_ids)}
    # pending promises, and those found broken lately: their fallback step waits until the account's other
    # rules let it go (the deadline the last reminder gave, the cadence), then goes once
    promises = list(
        (
            Promise.objects.filter(company=company, **mine, status=PromiseStatus.PENDING)
            | Promise.objects.filter(
                company=company,
                **mine,
                status__in=[PromiseStatus.BROKEN, PromiseStatus.PARTLY_KEPT],
                closed_on__lte=as_of,
                closed_on__gte=as_of - FALLBACK_WAITS,
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
                today.fallback[invoice_id] = (promise.fallback_level, promise.closed_on or as_of)
            continue
        terms = core.PromiseTerms(promise.promised_date, promise.amount_minor, promise.grace_days)
        notice = promise.source == PAID_NOTICE
        since = promise.made_on - timedelta(days=PAID_NOTICE_LOOKBACK_DAYS if notice else 0)
        paid = data.paid(ids, since, terms.last_day)
        state = core.promise_state(terms, paid, data.still_open(ids), as_of)
        if state is core.PromiseState.PENDING:
            today.blocked.update(ids)
            continue
        if notice and state is not core.PromiseState.KEPT:  # no payment seen: the hold just ends
            today.followups.append(FollowUp("paid_notice_lapsed", promise.debtor_id, promise, {"paid": paid}))
            continue
        if state is not core.PromiseState.KEPT:
            for invoice_id in ids:
                today.fallback[invoice_id] = (promise.fallback_level, as_of)
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
            level, broken_on = today.fallback[item.invoice_id]
            if item.last_step_date is None or item.last_step_date < broken_on:  # not taken yet
                core.force_step(item, playbooks[item.playbook_id], level, as_of)
        elif item.invoice_id in today.resume and item.last_level < today.resume[item.invoice_id]:
            core.force_step(item, playbooks[item.playbook_id], today.resume[item.invoice_id], as_of)
    return today


# Follow-ups whose message collects (a broken plan's Plan B notice): they keep the debtor's cadence and never
# go out beside a confirmation or thank-you; until they may, the plan's items stay held.
COLLECTING_FOLLOWUPS = frozenset({"plan_breached"})


def carry_out(company: Company, as_of: date, allows: Callable[[int], bool] | None = None) -> int:
    """Record today's transitions and queue their messages (before the run's playbook decisions, so those
    know today's thank-yous and notices). Returns the number of messages queued. Safe to run twice or in
    two workers: each transition is a conditional update, and only the caller that made it writes the
    messages and timeline events. A Plan B notice waits while the debtor's cadence window runs or while
    another follow-up (a thank-you, a confirmation) goes to it today. ``allows``: whether a debtor's
    follow-ups are carried out in this run (a debtor a person left out of the run keeps them for the next
    one: the transitions are decided on the agreements' state, not on the day)."""
    today = evaluate_agreements(company, as_of)
    if allows is not None:
        today.followups = [f for f in today.followups if allows(f.debtor_id)]
    _defer_collecting(company, as_of, today)
    policy = policy_for(company) if today.followups else None
    recipients = (
        messaging().email_recipients({f.debtor_id for f in today.followups}) if today.followups else {}
    )
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
    queued = False
    if paid > 0:
        rendered = messaging().render_agreement_message(
            company,
            promise.debtor,
            "promise_thanks",
            list(promise.invoices.order_by("due_date", "pk")),
            as_of,
            paid=(paid, promise.currency),
        )
        queued = messaging().queue_message(
            company,
            promise.debtor,
            f"promise.{promise.pk}.thanks",
            rendered,
            as_of,
            events,
            follow.data.get("recipients"),
        )
    timeline.record(events)
    return int(queued)


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


def _on_paid_notice_lapsed(company: Company, follow: FollowUp, as_of: date, policy: AgreementPolicy) -> int:
    """A paid notice whose payment did not show in time ends quietly: the playbook goes on as it stood."""
    promise = follow.target
    assert isinstance(promise, Promise)
    if _transition(
        Promise,
        promise.pk,
        PromiseStatus.PENDING,
        status=PromiseStatus.CANCELLED,
        paid_minor=follow.data["paid"],
        closed_on=as_of,
    ):
        language = company.default_language  # the clerks' language: the note is for the case file
        with translation.override(language):
            note = gettext("the payment the customer told us of has not shown by {day}: the reminders go on")
            timeline.event(
                promise.debtor_id,
                company.pk,
                "agreement_cancelled",
                as_of,
                note=note.format(day=format_date(promise.promised_date, language)),
                what=str(Promise._meta.verbose_name),
                id=promise.pk,
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
        rendered = messaging().render_agreement_message(
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
            schedule=lambda language, s=status: messaging().schedule_table(
                [(r.number, r.due_date, r.amount_minor, r.paid_minor) for r in s.instalments],
                plan.currency,
                language,
            ),
        )
        queued += int(
            messaging().queue_message(
                company,
                plan.debtor,
                f"plan.{plan.pk}.{row.number}.{kind.value}",
                rendered,
                as_of,
                events,
                follow.data.get("recipients"),
            )
        )
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
    rendered = messaging().render_agreement_message(
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
    queued = messaging().queue_message(
        company, plan.debtor, f"plan.{plan.pk}.breach", rendered, as_of, events, follow.data.get("recipients")
    )
    timeline.record(events)
    return int(queued)


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
    "paid_notice_lapsed": _on_paid_notice_lapsed,
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


# --- keeping in touch -----------------------------------------------------------------------------------

# A thank-you goes for payments settled within these days (never for an old episode, say after a pause).
THANKS_WINDOW_DAYS = 14
# A good payer (a segment that sends thank-you messages) is thanked at most once within these days.
THANKS_GOOD_PAYER_GAP_DAYS = 90
# The statement of account goes to business customers with open items once a month, on the first day of the
# month on which they get no collection message; after this day of the month it waits for the next month.
STATEMENT_LAST_DAY_OF_MONTH = 10
# ... and only to those who had no collection message within these days: a reminder lists every overdue item
# already, so the statement keeps in touch with those who hear nothing else from us.
STATEMENT_QUIET_DAYS = 28
# A person is asked to call when a customer with overdue items did not react to this many contacts in a row
# (no payment, no visit to the payment page, no reply, no promise or dispute, no call that reached it).
NO_ANSWER_CONTACTS = 3
NO_ANSWER_LOOKBACK_DAYS = 180
# What counts as a reaction on the timeline.
REACTIONS = (
    timeline.PORTAL_OPENED,
    timeline.DOCUMENT_DOWNLOADED,
    "reply_received",
    "promise_recorded",
    "dispute_opened",
    "plan_proposed",
    "contact_updated",
)


@dataclass
class _Busy:
    """Debtors who get no keep-in-touch message today, and who is not to be written to at all."""

    today: set[int]
    no_contact: set[int]


def keep_in_touch(
    company: Company,
    as_of: date,
    *,
    partition: tuple[int, int] = (0, 1),
    contacted: Iterable[int] = (),
) -> int:
    """Keeping in touch, after the day's collection decisions: a thank-you when a customer who was reminded
    has paid everything due (good payers: after their payments, when their segment says so), once per
    settled episode; the monthly statement of account to business customers with open items; a call task
    for a person when a customer with overdue items did not react to :data:`NO_ANSWER_CONTACTS` contacts.

    The messages are courtesy messages: they do not count against the cadence and go only to debtors who get
    no collection contact today (``contacted``: those the run decided to contact, also when waiting for an
    approval). Idempotent by the messages' keys and the alerts' timeline marks; a fixed number of queries.
    Returns the number of messages queued."""
    busy = _busy(company, as_of, set(contacted))
    index, parts = partition
    recipients_for: dict[int, str] = {}

    def mine(ids: Iterable[int]) -> set[int]:
        return {pk for pk in ids if pk % parts == index and pk not in busy.no_contact}

    # they go by email: not to a customer whose contract names only other channels (``agreed_channels``)
    thanks = [row for row in _paid_thanks(company, as_of, mine, busy) if _email_agreed(row[0])]
    statements = [row for row in _statements(company, as_of, mine, busy) if _email_agreed(row[0])]
    wanted = {d.pk for d, _k, _r in [*thanks, *statements]}
    if wanted:
        recipients_for = messaging().email_recipients(wanted)
    events = messaging().queue_messages(company, [*thanks, *statements], as_of, recipients_for)
    with transaction.atomic():
        timeline.record(events)
        _no_answer_alerts(company, as_of, mine)
    return len(events)


def _email_agreed(debtor: Debtor) -> bool:
    """Whether an email may go to ``debtor``: its contract names no channels, or email among them."""
    agreed = parse_channels(debtor.agreed_channels)
    return not agreed or "email" in agreed


def _busy(company: Company, as_of: date, contacted: set[int]) -> _Busy:
    from mahnwerk.collection.models import Action

    today = set(contacted)
    today.update(
        Action.objects.filter(company=company, as_of=as_of, status=ActionStatus.ACTIVE).values_list(
            "debtor_id", flat=True
        )
    )
    today.update(messaging().collection_messaged(company, on=as_of))
    no_contact = set(Debtor.objects.filter(company=company, do_not_contact=True).values_list("id", flat=True))
    return _Busy(today, no_contact)


def _paid_thanks(
    company: Company, as_of: date, mine: Callable[[Iterable[int]], set[int]], busy: _Busy
) -> list[tuple[Debtor, str, Any]]:
    """(debtor, key, rendered) of today's thank-yous for a settled episode."""
    since = as_of - timedelta(days=THANKS_WINDOW_DAYS)
    settled: list[tuple[int, int, date, date, str]] = [
        (pk, debtor_id, due, on, number)
        for pk, debtor_id, due, on, number in Invoice.objects.filter(
            company=company, open_minor=0, settled_on__gte=since, settled_on__lte=as_of
        ).values_list("id", "debtor_id", "due_date", "settled_on", "number")
        if on is not None
    ]
    candidates = mine(row[1] for row in settled) - busy.today
    if not candidates:
        return []
    settled = [row for row in settled if row[1] in candidates]
    reminded = set(
        ActionItem.objects.filter(
            invoice_id__in=[row[0] for row in settled if row[3] > row[2]],
            action__status=ActionStatus.ACTIVE,
            action__as_of__gt=F("invoice__due_date"),
        ).values_list("invoice_id", flat=True)
    )
    terms = terms_for_debtors(company, candidates, as_of=as_of)
    open_rows = list(
        Invoice.objects.filter(
            company=company, debtor_id__in=list(candidates), open_minor__gt=0, issue_date__lte=as_of
        ).values_list("debtor_id", "due_date")
    )
    overdue = {debtor_id for debtor_id, due in open_rows if due < as_of}
    anything_open = {debtor_id for debtor_id, _due in open_rows}
    # the newest thank-you of each (a kept promise's or an earlier one of these)
    last_thanks = messaging().last_thanks(company, candidates)
    episodes: dict[int, list[tuple[int, date, str, bool]]] = defaultdict(list)
    for pk, debtor_id, _due, settled_on, number in settled:
        episodes[debtor_id].append((pk, settled_on, number, pk in reminded))
    chosen: dict[int, tuple[date, list[str], bool]] = {}
    for debtor_id, rows in episodes.items():
        was_late = any(late for *_rest, late in rows)
        good = terms[debtor_id].thank_you
        if was_late and debtor_id not in overdue:
            episode = max(settled_on for _pk, settled_on, _n, late in rows if late)
        elif good and debtor_id not in anything_open:
            episode = max(settled_on for _pk, settled_on, _n, _late in rows)
            if as_of < last_thanks.get(debtor_id, date.min) + timedelta(days=THANKS_GOOD_PAYER_GAP_DAYS):
                continue
        else:
            continue
        if last_thanks.get(debtor_id, date.min) >= episode:
            continue  # thanked already (a kept promise's thank-you, or this episode's)
        chosen[debtor_id] = (episode, [n for _pk, _d, n, _late in rows], not was_late)
    debtors = Debtor.objects.in_bulk(list(chosen))
    out: list[tuple[Debtor, str, Any]] = []
    for debtor_id, (episode, numbers, reliable) in sorted(chosen.items()):
        debtor = debtors[debtor_id]
        rendered = messaging().render_agreement_message(
            company,
            debtor,
            "paid_thanks",
            [],
            as_of,
            numbers=", ".join(sorted(numbers)),
            reliable="yes" if reliable else "",
            still_open="yes" if debtor_id in anything_open else "",
        )
        out.append((debtor, f"keep.{debtor_id}.{episode.isoformat()}.paid_thanks", rendered))
    return out


def _statements(
    company: Company, as_of: date, mine: Callable[[Iterable[int]], set[int]], busy: _Busy
) -> list[tuple[Debtor, str, Any]]:
    """(debtor, key, rendered) of this month's statements of account still to go (business customers): every
    ``company.statement_interval_months`` months (1: monthly, the default; 0: none) — a customer who got one in
    this month or the interval's months before gets none now."""
    interval = company.statement_interval_months
    if as_of.day > STATEMENT_LAST_DAY_OF_MONTH or interval <= 0:
        return []
    from mahnwerk.collection.models import Case
    from mahnwerk.ledger.claims import claim_views, debtor_laws

    month = as_of.strftime("%Y-%m")
    open_items = Invoice.objects.filter(
        company=company,
        open_minor__gt=0,
        issue_date__lte=as_of,
        debtor__kind="business",
        debtor__do_not_contact=False,
    )
    # the debtors first (ids only), the invoices then of the few that get a statement
    candidates = mine(open_items.order_by().values_list("debtor_id", flat=True).distinct()) - busy.today
    if not candidates:
        return []
    months = []
    for back in range(interval):  # this month and the months before it within the interval
        index = as_of.year * 12 + as_of.month - 1 - back
        months.append(f"{index // 12:04d}-{index % 12 + 1:02d}")
    candidates -= messaging().statement_recipients(company, months)
    candidates -= set(
        Case.objects.filter(id_in(Case, "debtor_id", candidates), company=company, on_hold=True).values_list(
            "debtor_id", flat=True
        )
    )
    candidates -= _collected_since(company, as_of - timedelta(days=STATEMENT_QUIET_DAYS), candidates)
    if not candidates:
        return []
    invoices = list(open_items.filter(id_in(Invoice, "debtor_id", candidates)).order_by("due_date", "number"))
    views = claim_views(company, invoices, debtor_laws(company, candidates), as_of)
    by_debtor: dict[int, list[Invoice]] = defaultdict(list)
    for inv in invoices:
        by_debtor[inv.debtor_id].append(inv)
    debtors = Debtor.objects.in_bulk(list(by_debtor))
    out: list[tuple[Debtor, str, Any]] = []
    for debtor_id, rows in sorted(by_debtor.items()):
        debtor = debtors[debtor_id]
        items = [messaging().message_item(inv, views.get(inv.pk), inv.open_minor) for inv in rows]
        due = [item for item in items if item.due_date < as_of]
        coming = [item for item in items if item.due_date >= as_of]
        rendered = messaging().render_agreement_message(
            company,
            debtor,
            "statement_of_account",
            rows,
            as_of,
            message_items=items,
            due_table=lambda language, due=due: _items_table(due, language),
            due_total=lambda language, due=due: _items_total(due, language),
            coming_table=lambda language, coming=coming: _items_table(coming, language),
            coming_total=lambda language, coming=coming: _items_total(coming, language),
        )
        out.append((debtor, f"keep.{debtor_id}.statement.{month}.{as_of.isoformat()}", rendered))
    return out


def _collected_since(company: Company, since: date, debtor_ids: Iterable[int]) -> set[int]:
    """Which of these debtors had a collection contact (a step, a Plan B notice) after ``since``."""
    from mahnwerk.collection.models import Action

    ids = list(debtor_ids)
    found = set(
        Action.objects.filter(
            id_in(Action, "debtor_id", ids), company=company, status=ActionStatus.ACTIVE, as_of__gt=since
        ).values_list("debtor_id", flat=True)
    )
    found.update(messaging().collection_messaged(company, after=since, debtor_ids=ids))
    return found


def _items_table(items: Sequence[Any], language: str) -> str:
    return messaging().items_table(items, language)


def _items_total(items: Sequence[Any], language: str) -> str:
    return messaging().items_total(items, language)


def _no_answer_alerts(company: Company, as_of: date, mine: Callable[[Iterable[int]], set[int]]) -> int:
    """A call task for a person (with the contacts that got no reaction) for each customer with overdue items
    who did not react to :data:`NO_ANSWER_CONTACTS` collection contacts in a row; once per silence."""
    from mahnwerk.collection.models import Action, CallOutcome, Task, TaskKind, TaskStatus

    overdue = mine(
        Invoice.objects.filter(
            company=company, open_minor__gt=0, due_date__lt=as_of, debtor__do_not_contact=False
        )
        .values_list("debtor_id", flat=True)
        .distinct()
    )
    if not overdue:
        return 0
    ids = list(overdue)
    since = as_of - timedelta(days=NO_ANSWER_LOOKBACK_DAYS)
    contacts: dict[int, list[tuple[date, int, str]]] = defaultdict(list)
    for debtor_id, day, level, channel in (
        Action.objects.filter(
            Q(step__isnull=True) | Q(step__offset_days__gte=0),  # a note before the due date asks nothing
            id_in(Action, "debtor_id", ids),
            company=company,
            status=ActionStatus.ACTIVE,
            as_of__gt=since,
            as_of__lte=as_of,
        )
        .order_by("as_of")
        .values_list("debtor_id", "as_of", "level", "channel")
    ):
        contacts[debtor_id].append((day, level, channel))
    ids = [pk for pk in ids if len(contacts.get(pk, ())) >= NO_ANSWER_CONTACTS]
    if not ids:
        return 0
    quiet_since: dict[int, date] = {}

    def reacted(debtor_id: int, day: date | None) -> None:
        if day is not None and day > quiet_since.get(debtor_id, date.min):
            quiet_since[debtor_id] = day

    for debtor_id, day in (
        Allocation.objects.filter(invoice__debtor_id__in=ids, payment__isnull=False, value_date__gt=since)
        .values("invoice__debtor_id")
        .annotate(last=Max("value_date"))
        .values_list("invoice__debtor_id", "last")
        .order_by()
    ):
        reacted(debtor_id, day)
    for debtor_id, day in (
        TimelineEvent.objects.filter(debtor_id__in=ids, kind__in=REACTIONS, business_date__gt=since)
        .values("debtor_id")
        .annotate(last=Max("business_date"))
        .values_list("debtor_id", "last")
        .order_by()
    ):
        reacted(debtor_id, day)
    # an earlier alert: the contacts before it are not counted again
    for debtor_id, day in (
        TimelineEvent.objects.filter(
            debtor_id__in=ids, kind="task_created", data__alert="no_answer", business_date__gt=since
        )
        .values("debtor_id")
        .annotate(last=Max("business_date"))
        .values_list("debtor_id", "last")
        .order_by()
    ):
        reacted(debtor_id, day)
    reached = [CallOutcome.REACHED, CallOutcome.PROMISED, CallOutcome.DISPUTED, CallOutcome.REFUSED]
    calling = set()
    for debtor_id, status, outcome, done_at in Task.objects.filter(
        debtor_id__in=ids, kind=TaskKind.CALL
    ).values_list("debtor_id", "status", "outcome", "done_at"):
        if status == TaskStatus.OPEN:
            calling.add(debtor_id)  # a person is on it already
        elif outcome in reached and done_at is not None:
            reacted(debtor_id, done_at.date())
    tasks, events = [], []
    with translation.override(company.default_language):
        for debtor_id in ids:
            if debtor_id in calling:
                continue
            silent = [c for c in contacts[debtor_id] if c[0] > quiet_since.get(debtor_id, date.min)]
            if len(silent) < NO_ANSWER_CONTACTS:
                continue
            language = company.default_language
            history = "; ".join(
                gettext("{date}: step {level} ({channel})").format(
                    date=format_date(day, language), level=level, channel=channel
                )
                for day, level, channel in silent
            )
            text = gettext(
                "No reaction to {count} contacts (no payment, no visit to the payment page, no reply, no call "
                "reached): {history}. Please call the customer."
            ).format(count=len(silent), history=history)
            tasks.append(
                Task(company=company, debtor_id=debtor_id, kind=TaskKind.CALL, due_on=as_of, notes=text)
            )
            events.append(
                timeline.event(
                    debtor_id,
                    company.pk,
                    "task_created",
                    as_of,
                    task=text,
                    alert="no_answer",
                    contacts=len(silent),
                )
            )
    Task.objects.bulk_create(tasks)
    timeline.record(events)
    return len(tasks)
