"""The collection run and the other collection use cases. This module is the one writer of actions.

``run_collection`` loads the open items of a company in a fixed number of queries, lets
:mod:`mahnwerk.core.playbook` decide, and writes one action (and one message) per debtor, chunk by
chunk, each chunk in one transaction. Messages go out after the chunk commits.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.db.models import Max, Min, Q
from django.utils import timezone, translation
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from mahnwerk.collection import agreements
from mahnwerk.collection.consequences import apply_step_consequences
from mahnwerk.collection.models import (
    Action,
    ActionItem,
    ActionStatus,
    Case,
    Playbook,
    Run,
    RunStatus,
    Step,
    Task,
    TaskKind,
    TaskStatus,
)
from mahnwerk.collection.ports import messaging
from mahnwerk.core.collector import collector_paused
from mahnwerk.core.playbook import (
    AccountContext,
    AccountOutcome,
    Care,
    DebtorDecision,
    Held,
    ItemState,
    PlaybookSpec,
    default_playbook_steps,
    evaluate,
    threshold_minor,
)
from mahnwerk.core.rates import MissingRateError
from mahnwerk.core.rulesets import RuleSetError
from mahnwerk.insights.services import histories_read_once
from mahnwerk.ledger import timeline
from mahnwerk.ledger.bulk import bulk_insert, bulk_insert_rows, page_cache
from mahnwerk.ledger.claims import LAW_FIELDS, debtor_laws, interest_gaps, law_for, rulebook, ruleset
from mahnwerk.ledger.facts import invoice_facts
from mahnwerk.ledger.ids import id_in, literal_ids
from mahnwerk.ledger.models import Company, Debtor, Invoice
from mahnwerk.ledger.services import company_today

log = logging.getLogger(__name__)

# The shipped default playbook's step names, written in the company's language when it is created (then the
# playbook's data, like any name a user gives)
STEP_NAMES = {
    "pre_due": _("Friendly note before due"),
    "reminder": _("Payment reminder"),
    "firm_reminder": _("Second reminder"),
    "final_notice": _("Final notice"),
}


class CollectionError(Exception):
    pass


# Why an account gets no collection message, in the reader's language (dry run, case file, "send now").
HELD_TEXTS = {
    Held.NOTHING_OPEN: _("Nothing is open."),
    Held.DONE_TODAY: _("The debtor already received a step today."),
    Held.COVERED: _("Every open item is disputed, on hold or covered by an agreement."),
    Held.TIME_BARRED: _("The open items are time-barred: a person decides what to do."),
    Held.QUIET_DAY: _("The debtor gets a confirmation or thank-you today: no reminder on the same day."),
    Held.CADENCE: _("The debtor was contacted less than {days} days ago; the next message may go on {date}."),
    Held.BELOW_MINIMUM: _("The overdue amount is below the minimum for a reminder ({amount})."),
    Held.BELOW_STEP_MINIMUM: _("The overdue amount is below the minimum for the next step ({amount})."),
    Held.NOT_YET: _("The next step is not due yet ({date})."),
    Held.UNSENT: _(
        "The message of {date} has not gone out yet (a letter not printed, an email the server refused): the "
        "next step waits for it."
    ),
    Held.DEADLINE_RUNS: _(
        "The customer still has the time the last message gave (to pay or to object): the next step may go on "
        "{date}."
    ),
    Held.END_OF_PLAYBOOK: _("The playbook has ended: the next step is a person's decision."),
    Held.BANK_NOT_CURRENT: _(
        "The newest bank statement is more than two business days old: reminders wait for it or an approval."
    ),
    Held.RATE_MISSING: _(
        "The message would claim interest for days without a known rate: it waits for the rate or an approval."
    ),
}


def held_text(company: Company, outcome: AccountOutcome, language: str | None = None) -> str:
    """Why ``outcome`` holds the account, as a sentence (in the active language)."""
    from mahnwerk.core.calendar import format_date
    from mahnwerk.core.money import format_money
    from mahnwerk.core.money import to_minor as money_to_minor

    lang = language or get_language() or "en"
    held = outcome.held or Held.NOTHING_OPEN
    amount = company.min_reminder_amount if held is Held.BELOW_MINIMUM else company.escalation_min_amount
    when = outcome.next_contact
    return str(HELD_TEXTS[held]).format(
        days=company.cadence_days,
        date=format_date(when, lang) if when else "-",
        amount=format_money(money_to_minor(amount, company.currency), company.currency, lang),
    )


@transaction.atomic
def ensure_default_playbook(company: Company) -> Playbook:
    """The company's default playbook; the shipped default is created the first time."""
    existing = Playbook.objects.filter(company=company, is_default=True).first()
    if existing is not None:
        return existing
    with translation.override(company.default_language or None):
        names = {template: str(name) for template, name in STEP_NAMES.items()}
    playbook = Playbook.objects.create(company=company, name="Standard", is_default=True)
    Step.objects.bulk_create(
        Step(
            playbook=playbook,
            level=s.level,
            name=names.get(s.template, s.template),
            offset_days=s.offset_days,
            anchor=s.anchor.value,
            channel=s.channel.value,
            tone=s.tone.value,
            template=s.template,
            deadline_days=s.deadline_days,
        )
        for s in default_playbook_steps()
    )
    return playbook


@dataclass
class RunResult:
    company_id: int
    as_of: date
    dry_run: bool
    run_id: int | None = None
    open_items: int = 0
    debtors_due: int = 0
    already_done: int = 0
    actions_created: int = 0
    messages_queued: int = 0
    no_contact: int = 0
    limitation_warnings: int = 0
    awaiting_approval: int = 0
    tasks: int = 0
    deferred: int = 0
    channels: dict[str, int] = field(default_factory=dict)
    agreement_messages: int = 0
    keep_in_touch: int = 0  # thank-yous and statements of account queued (courtesy messages)
    steps: dict[int, int] = field(default_factory=dict)
    held: dict[str, int] = field(
        default_factory=dict
    )  # accounts with overdue items that got nothing, by reason
    time_barred: int = 0
    withdrawn_at_write: int = 0  # decided at the start, dropped by the re-check inside the write
    warnings: list[str] = field(default_factory=list)
    plan: list[dict[str, object]] = field(default_factory=list)
    excluded_debtors: list[int] = field(default_factory=list)  # left out of this run by a person
    excluded_items: list[int] = field(default_factory=list)  # invoices left out of this run's messages
    # dry run with ``explain``: the debtors with open items that get nothing, and why (debtor id, Held value, date)
    held_debtors: list[tuple[int, str, date | None]] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["as_of"] = self.as_of.isoformat()
        data["steps"] = {str(k): v for k, v in sorted(self.steps.items())}
        data["held_debtors"] = [
            {"debtor_id": pk, "reason": reason, "next_contact": when.isoformat() if when else None}
            for pk, reason, when in self.held_debtors
        ]
        return data


@dataclass(frozen=True)
class Exclusions:
    """What a person left out of one run: whole debtors, and single invoices (not named in the debtor's
    message and not in its total; the debtor's other items still go); ``only``: the run writes for no other
    debtors (the ones a person approved). Only for that run: the next run decides them all again."""

    debtors: frozenset[int] = frozenset()
    items: frozenset[int] = frozenset()
    only: frozenset[int] | None = None

    def allows(self, debtor_id: int) -> bool:
        """Whether this run may write to ``debtor_id`` at all."""
        return debtor_id not in self.debtors and (self.only is None or debtor_id in self.only)

    def apply(self, items: list[ItemState]) -> list[ItemState]:
        """The run's items without the excluded debtors' (and others than ``only``); excluded invoices
        held, so the decision neither names them nor counts them."""
        kept = [i for i in items if self.allows(i.debtor_id)]
        for item in kept:
            if item.invoice_id in self.items:
                item.blocked = True
        return kept


class ExclusionError(CollectionError):
    """An excluded (or approved) id that is not the company's; ``field``: which list names it."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def check_exclusions(
    company: Company, exclusions: Exclusions
) -> tuple[dict[int, Debtor], dict[int, tuple[int, str]]]:
    """The excluded (and approved) debtors and the excluded invoices (debtor id, number) — all the company's,
    else :class:`CollectionError` naming the ids that are not."""
    debtor_ids = set(exclusions.debtors) | set(exclusions.only or ())
    debtors = Debtor.objects.filter(company=company).in_bulk(debtor_ids) if debtor_ids else {}
    invoices = {
        pk: (debtor_id, number)
        for pk, debtor_id, number in Invoice.objects.filter(
            company=company, pk__in=list(exclusions.items)
        ).values_list("id", "debtor_id", "number")
    }
    unknown_debtors = sorted(debtor_ids - set(debtors))
    unknown_items = sorted(set(exclusions.items) - set(invoices))
    if unknown_debtors:
        raise ExclusionError(
            gettext("No debtor of this company has the id(s) {ids}.").format(
                ids=", ".join(map(str, unknown_debtors))
            ),
            "exclude_debtors" if set(unknown_debtors) & exclusions.debtors else "only_debtors",
        )
    if unknown_items:
        raise ExclusionError(
            gettext("No invoice of this company has the id(s) {ids}.").format(
                ids=", ".join(map(str, unknown_items))
            ),
            "exclude_items",
        )
    return debtors, invoices


def _note_exclusions(
    company: Company,
    as_of: date,
    exclusions: Exclusions,
    invoices: dict[int, tuple[int, str]],
    partition: tuple[int, int],
    actor: str,
) -> None:
    """On each excluded debtor's timeline, with the person who left it (or some of its invoices) out."""
    index, parts = partition
    events = [
        timeline.event(debtor_id, company.pk, "run_excluded", as_of, actor=actor)
        for debtor_id in sorted(exclusions.debtors)
        if debtor_id % parts == index
    ]
    by_debtor: dict[int, list[str]] = {}
    for debtor_id, number in invoices.values():
        if debtor_id not in exclusions.debtors and debtor_id % parts == index:
            by_debtor.setdefault(debtor_id, []).append(number)
    events += [
        timeline.event(
            debtor_id,
            company.pk,
            "run_items_excluded",
            as_of,
            actor=actor,
            numbers=", ".join(sorted(numbers)),
        )
        for debtor_id, numbers in sorted(by_debtor.items())
    ]
    timeline.record(events)


@dataclass
class RunContext:
    """What the chunks of one run share: the company, the run, the business date and the contact instant."""

    company: Company
    run: Run
    as_of: date
    instant: datetime  # when debtors are contacted: now for today's run, 09:00 company time otherwise
    result: RunResult
    partition: tuple[int, int] = (0, 1)
    waiting: frozenset[int] = frozenset()  # playbooks whose steps wait for a person's approval
    early: bool = False  # a person asked for the next step now ("send now")
    rate_held: frozenset[int] = frozenset()  # debtors whose message waits: a missing rate, an old statement
    exclusions: Exclusions | None = None  # what a person left out of this run
    marks: LedgerMarks | None = None  # the ledger as it stood when the run decided (see :func:`_recheck`)


def run_owner() -> dict[str, object]:
    """Who runs a run while it is running: host and process id, so that the next start on the same host can
    tell a run whose process is gone (killed) from one still at work (``comms.outbox.mark_killed_runs``)."""
    return {"host": socket.gethostname(), "pid": os.getpid()}


def contact_instant(company: Company, as_of: date) -> datetime:
    if as_of == company_today(company):
        return timezone.now()
    return datetime.combine(as_of, time(9, 0), tzinfo=ZoneInfo(company.time_zone))


# Writes one chunk of decisions; tests replace it to simulate a crash midway.
ChunkWriter = Callable[[RunContext, Sequence[DebtorDecision]], tuple[int, int, int]]

# Called between the decision and the write of each chunk (tests commit payments there: the write's
# own re-check must see them).
after_decide: Callable[[RunContext, Sequence[DebtorDecision]], None] | None = None


@collector_paused()
@page_cache()
@histories_read_once()
def run_collection(
    company: Company,
    as_of: date | None = None,
    *,
    dry_run: bool = False,
    chunk_size: int | None = None,
    send: bool = True,
    partition: tuple[int, int] = (0, 1),
    now: datetime | None = None,
    approved: bool = False,
    exclude_debtors: Iterable[int] = (),
    exclude_items: Iterable[int] = (),
    only_debtors: Iterable[int] | None = None,
    actor: str = "system",
    explain: bool = False,
) -> RunResult:
    """Evaluate every open item of ``company`` as of ``as_of`` and write what is due.

    Idempotent: a debtor that already has an action on ``as_of`` is skipped, and the database
    refuses a second one (unique constraint). A run interrupted midway keeps the chunks it
    committed; the next run on the same date does the rest. ``partition=(i, n)`` takes only the
    debtors with ``id % n == i`` so several workers can share one run.

    ``exclude_debtors`` (ids) get nothing from this run; ``exclude_items`` (invoice ids) are neither named
    in their debtor's message nor counted in its total; ``only_debtors``: no other debtor is written to.
    All must be the company's (else :class:`CollectionError`); a real run notes the exclusions on the
    debtors' timelines with ``actor``. ``explain`` (dry run): also each held debtor and why.
    """
    from django.conf import settings

    as_of = as_of or company_today(company)
    chunk_size = chunk_size or settings.RUN_CHUNK_SIZE
    result = RunResult(company_id=company.pk, as_of=as_of, dry_run=dry_run)
    exclusions = Exclusions(
        frozenset(exclude_debtors),
        frozenset(exclude_items),
        None if only_debtors is None else frozenset(only_debtors),
    )
    excluded_invoices = check_exclusions(company, exclusions)[1]
    result.excluded_debtors = sorted(exclusions.debtors)
    result.excluded_items = sorted(exclusions.items)
    waiting: frozenset[int] = frozenset()
    if not approved and not dry_run:
        # Playbooks in approval mode: their steps wait until a person approves the run (web or --approve).
        waiting = frozenset(
            Playbook.objects.filter(company=company, approval_required=True).values_list("id", flat=True)
        )
    if dry_run:
        decisions = _decide(company, as_of, result, partition, exclusions=exclusions, explain=explain)
        _plan(company, as_of, decisions, result, chunk_size, approved=approved)
        return result
    run = Run.objects.create(company=company, as_of=as_of, stats=run_owner())
    result.run_id = run.pk
    ctx = RunContext(company, run, as_of, now or contact_instant(company, as_of), result, partition, waiting)
    ctx.exclusions = exclusions
    try:
        # Agreements first: today's thank-yous, confirmations and Plan B notices are known before the
        # playbook decides, so no reminder goes to a debtor on the day of a thank-you.
        # (a debtor left out of this run gets none of them either: they wait for the next run)
        result.agreement_messages = agreements.carry_out(company, as_of, allows=exclusions.allows)
        result.limitation_warnings = _warn_limitation(company, as_of)
        result.time_barred = _note_time_barred(company, as_of)
        # running experiments take the debtors they have not met yet, so their first step follows the arm
        from mahnwerk.experiments.services import assign_new_debtors

        assign_new_debtors(company, as_of, partition)
        if exclusions.debtors or exclusions.items:
            _note_exclusions(company, as_of, exclusions, excluded_invoices, partition, actor)
        ctx.marks = ledger_marks(company)  # before the decision reads: what comes after is checked again
        decisions = _decide(company, as_of, result, partition, exclusions=exclusions)
        # also those waiting for an approval; and the excluded ones get nothing at all from this run
        contacted = {d.debtor_id for d in decisions} | exclusions.debtors
        result.awaiting_approval = sum(1 for d in decisions if d.playbook_id in waiting)
        decisions = [d for d in decisions if d.playbook_id not in waiting]
        if not approved:
            ctx.rate_held = _hold_for_stale_bank(
                company, as_of, decisions, result
            ) or _hold_for_missing_rates(company, as_of, decisions, result)
            decisions = [d for d in decisions if d.debtor_id not in ctx.rate_held]
        result.debtors_due = len(decisions)
        for chunk in _chunks(decisions, chunk_size):
            if after_decide is not None:
                after_decide(ctx, chunk)
            actions, messages, no_contact = _write_chunk_retrying(ctx, chunk)
            result.actions_created += actions
            result.messages_queued += messages
            result.no_contact += no_contact
            if send:
                messaging().send_queued(company=company)
        # Keeping in touch after the decisions: only to debtors who get no collection message today.
        result.keep_in_touch = agreements.keep_in_touch(
            company, as_of, partition=partition, contacted=contacted
        )
        if send:
            messaging().send_queued(company=company)
    except BaseException:
        Run.objects.filter(pk=run.pk).update(status=RunStatus.FAILED, finished_at=timezone.now())
        raise
    result.warnings = sorted(set(result.warnings))
    Run.objects.filter(pk=run.pk).update(
        status=RunStatus.DONE, finished_at=timezone.now(), stats=result.as_dict() | {"plan": []}
    )
    if partition[0] == 0:  # one worker per run refreshes payment behaviour, ratings and segments
        from mahnwerk.insights.models import DebtorInsight
        from mahnwerk.insights.services import refresh_insights

        # once a day, and again only when this run took steps (a rerun that changed nothing skips it)
        if result.actions_created or not DebtorInsight.objects.filter(company=company, as_of=as_of).exists():
            refresh_insights(company, as_of)
    return result


@histories_read_once()
def dry_run_for_debtors(
    company: Company,
    as_of: date,
    debtor_ids: Iterable[int],
    *,
    exclude_debtors: Iterable[int] = (),
    exclude_items: Iterable[int] = (),
) -> RunResult:
    """The dry run with its explanations (``run_collection(dry_run=True, explain=True)``) of only
    ``debtor_ids``: their plan entries, with the deadline and the approval a real run would give them, and why
    those that get nothing get nothing, as the whole dry run gives them — to bring a preview up to date with
    the few debtors a change touched. The company-wide figures are not computed (``open_items`` 0,
    ``already_done``: see :func:`done_today_count`); the warnings speak of these debtors only."""
    result = RunResult(company_id=company.pk, as_of=as_of, dry_run=True)
    ids = sorted(set(debtor_ids))
    if not ids:
        return result
    exclusions = Exclusions(frozenset(exclude_debtors), frozenset(exclude_items))
    decisions = _decide(company, as_of, result, (0, 1), ids, exclusions=exclusions, explain=True)
    from django.conf import settings

    _plan(company, as_of, decisions, result, settings.RUN_CHUNK_SIZE, approved=False)
    return result


def _plan(
    company: Company,
    as_of: date,
    decisions: Sequence[DebtorDecision],
    result: RunResult,
    chunk_size: int,
    *,
    approved: bool,
) -> None:
    """A dry run's plan in ``result``: each decision with the deadline the real run would write (segment, time
    to object), the debtors per step level, and what waits for approval and why."""
    deadlines: dict[int, date | None] = {}
    for chunk in _chunks(decisions, chunk_size):
        deadlines.update(step_deadlines(company, as_of, chunk))
    result.plan = [_describe(d, deadlines[d.debtor_id]) for d in decisions]
    counts: dict[int, int] = {}
    for d in decisions:
        counts[d.step.level] = counts.get(d.step.level, 0) + 1
    result.steps = dict(sorted(counts.items()))
    _mark_waiting(company, as_of, decisions, result, approved=approved)


def done_today_count(company: Company, as_of: date) -> int:
    """Debtors with an action on ``as_of`` (what a run that day skips as already done)."""
    return Action.objects.filter(company=company, as_of=as_of, status=ActionStatus.ACTIVE).count()


def _hold_for_stale_bank(
    company: Company, as_of: date, decisions: Sequence[DebtorDecision], result: RunResult
) -> frozenset[int]:
    """Where the company imports its bank statements, no reminder goes out while the newest one is more than
    two business days old: the money may be in the bank already. A person approves the run or imports the
    statement."""
    from mahnwerk.core.calendar import add_business_days
    from mahnwerk.ledger.statements import newest_statement_date

    newest = newest_statement_date(company) if decisions else None
    if newest is None or add_business_days(newest, 2, company.country or None) >= as_of:
        return frozenset()
    held = frozenset(d.debtor_id for d in decisions)
    result.awaiting_approval += len(held)
    result.held[Held.BANK_NOT_CURRENT.value] = result.held.get(Held.BANK_NOT_CURRENT.value, 0) + len(held)
    result.warnings.append(
        gettext(
            "{count} message(s) wait for approval: the newest bank statement covers {day}, more than two "
            "business days ago, so payments since then are not known. Import the statements "
            "('mahnwerk import statement FILE') or approve the run ('mahnwerk run --approve')."
        ).format(count=len(held), day=newest.isoformat())
    )
    return held


def _hold_for_missing_rates(
    company: Company, as_of: date, decisions: Sequence[DebtorDecision], result: RunResult
) -> frozenset[int]:
    """Messages that would claim interest for days without a known rate wait for a person's approval
    (``run --approve``; approved, they claim the interest up to the last known rate and say so) — never
    "interest 0.00" next to a claim for the statutory interest."""
    gaps = interest_gaps(company, (i.invoice_id for d in decisions for i in d.items), as_of)
    if not gaps:
        return frozenset()
    held: dict[int, MissingRateError] = {}
    for d in decisions:
        for item in d.items:
            if item.invoice_id in gaps:
                held.setdefault(d.debtor_id, gaps[item.invoice_id])
    result.awaiting_approval += len(held)
    result.held[Held.RATE_MISSING.value] = result.held.get(Held.RATE_MISSING.value, 0) + len(held)
    by_gap: dict[tuple[str, date], int] = {}
    for gap in held.values():
        by_gap[(gap.table, gap.period_start)] = by_gap.get((gap.table, gap.period_start), 0) + 1
    for (table, start), count in sorted(by_gap.items()):
        result.warnings.append(
            gettext(
                "{count} message(s) wait for approval: they would claim interest for days without a known "
                "{table} rate (from {start}). Add the rate ('mahnwerk rates add {table} {start} PERCENT' or "
                "'mahnwerk rates import FILE'), or approve the run ('mahnwerk run --approve'): the messages "
                "then claim interest up to {last} and say that later interest is not included."
            ).format(
                count=count,
                table=table,
                start=start.isoformat(),
                last=(start - timedelta(days=1)).isoformat(),
            )
        )
    return frozenset(held)


APPROVAL_MODE = (
    "approval_mode"  # the debtor's playbook is in approval mode (no Held: the run itself holds it)
)
WAIT_TEXTS: dict[str, Any] = {
    APPROVAL_MODE: _("The playbook is in approval mode: its steps wait for a person's approval."),
    Held.BANK_NOT_CURRENT.value: HELD_TEXTS[Held.BANK_NOT_CURRENT],
    Held.RATE_MISSING.value: HELD_TEXTS[Held.RATE_MISSING],
}


def _mark_waiting(
    company: Company, as_of: date, decisions: Sequence[DebtorDecision], result: RunResult, *, approved: bool
) -> None:
    """The dry run's word on what the real run holds for a person's approval, decided as the real run decides
    it (a playbook in approval mode; then a stale bank statement, else a message claiming interest without a
    known rate): those debtors stay in the plan with their step and amount, each entry says
    ``waits_for_approval`` (the reason's key, else None) and ``waits_reason`` (the sentence), and they count in
    ``awaiting_approval`` (with the run's warnings) and, as what approving would send, in ``debtors_due``.
    Approved (``--approve``), none waits."""
    waits: dict[int, str] = {}
    if not approved:
        in_approval_mode = set(
            Playbook.objects.filter(company=company, approval_required=True).values_list("id", flat=True)
        )
        waits = {d.debtor_id: APPROVAL_MODE for d in decisions if d.playbook_id in in_approval_mode}
        result.awaiting_approval += len(waits)
        rest = [d for d in decisions if d.debtor_id not in waits]
        stale = _hold_for_stale_bank(company, as_of, rest, result)
        if stale:
            waits |= dict.fromkeys(stale, Held.BANK_NOT_CURRENT.value)
        else:
            waits |= dict.fromkeys(
                _hold_for_missing_rates(company, as_of, rest, result), Held.RATE_MISSING.value
            )
    result.debtors_due = len(decisions)  # what approving the run would send
    for entry in result.plan:
        reason = waits.get(int(str(entry["debtor_id"])))
        entry["waits_for_approval"] = reason
        entry["waits_reason"] = str(WAIT_TEXTS[reason]) if reason else None


@dataclass
class Loaded:
    """What the run knows on a business date: open items (steered by agreements), playbooks, each
    debtor's last contact, the thresholds per currency, the debtors already written to today."""

    items: list[ItemState]
    playbooks: dict[int, PlaybookSpec]
    contexts: dict[int, AccountContext]
    care: dict[str, Care]
    done_today: set[int]
    steps: dict[int, Step] = field(default_factory=dict)  # the company's steps by id


def _decide(
    company: Company,
    as_of: date,
    result: RunResult,
    partition: tuple[int, int],
    debtor_ids: Sequence[int] | None = None,
    *,
    exclusions: Exclusions | None = None,
    explain: bool = False,
) -> list[DebtorDecision]:
    """Load everything the decision needs in a fixed number of queries and evaluate it in the core.

    ``debtor_ids``: only these debtors (the re-check inside a chunk's write transaction, a preview brought up
    to date); the company-wide counts (open items, already done) then stay as they are. ``exclusions``: what a
    person left out of this run. ``explain``: each held debtor and why in ``result.held_debtors``.
    """
    loaded = load(company, as_of, partition, debtor_ids)
    items = exclusions.apply(loaded.items) if exclusions is not None else loaded.items
    if loaded.done_today:  # written to today already: neither decided nor counted as held
        items = [i for i in items if i.debtor_id not in loaded.done_today]
    held: dict[int, AccountOutcome] = {}
    decisions = evaluate(items, loaded.playbooks, as_of, loaded.contexts, loaded.care, held)
    if debtor_ids is None:
        index, parts = partition
        result.open_items = len(loaded.items)
        result.already_done = sum(1 for debtor_id in loaded.done_today if debtor_id % parts == index)
    if debtor_ids is None or explain:
        for debtor_id, outcome in held.items():
            if outcome.held is not None and debtor_id not in loaded.done_today:
                result.held[outcome.held.value] = result.held.get(outcome.held.value, 0) + 1
                if explain:
                    result.held_debtors.append((debtor_id, outcome.held.value, outcome.next_contact))
    return [d for d in decisions if d.debtor_id not in loaded.done_today]


def load(
    company: Company,
    as_of: date,
    partition: tuple[int, int] = (0, 1),
    debtor_ids: Sequence[int] | None = None,
) -> Loaded:
    """Read what the decision needs in a fixed number of queries (``debtor_ids``: only these debtors)."""
    default = ensure_default_playbook(company)
    from mahnwerk.insights.services import segment_playbooks

    # the playbook the debtor's segment chooses (from the last refresh)
    by_segment = segment_playbooks(company, debtor_ids, as_of)
    steps_by_playbook: dict[int, list[Step]] = {}
    for step in Step.objects.filter(playbook__company=company):
        steps_by_playbook.setdefault(step.playbook_id, []).append(step)
    playbooks: dict[int, PlaybookSpec] = {
        pb.pk: pb.spec(steps_by_playbook.get(pb.pk, [])) for pb in Playbook.objects.filter(company=company)
    }

    def only(qs: Any, field: str = "debtor_id") -> Any:
        return _only(qs, debtor_ids, field)

    cases = {
        debtor_id: (playbook_id, on_hold)
        for debtor_id, playbook_id, on_hold in only(Case.objects.filter(company=company)).values_list(
            "debtor_id", "playbook_id", "on_hold"
        )
    }
    not_to_contact = set(
        only(Debtor.objects.filter(company=company, do_not_contact=True), "id").values_list("id", flat=True)
    )
    history = {
        row["invoice_id"]: (row["level"], row["last"], row["first_notice"], row["deadline"])
        for row in only(
            ActionItem.objects.filter(
                invoice__company=company, invoice__open_minor__gt=0, status=ActionStatus.ACTIVE
            ),
            "invoice__debtor_id",
        )
        .values("invoice_id")
        .annotate(
            level=Max("level"),
            last=Max("action__as_of"),
            first_notice=Min("action__as_of", filter=Q(action__step__offset_days__gte=0)),
            deadline=Max("action__deadline"),
        )
        .order_by()
    }
    waits = _objection_waits(as_of)
    # each debtor's rules (a consumer's country of residence, else the law of the contract): one query
    laws: dict[int, tuple[str, str]] = {}
    if waits:
        for pk, kind, country, jurisdiction in (
            only(Debtor.objects.filter(company=company), "id")
            .values_list(*LAW_FIELDS)
            .iterator(chunk_size=5000)
        ):
            law = law_for(company, kind, country, jurisdiction)
            laws[pk] = (law.jurisdiction, str(law.debtor_kind))
    done_today = set(
        only(Action.objects.filter(company=company, as_of=as_of, status=ActionStatus.ACTIVE)).values_list(
            "debtor_id", flat=True
        )
    )
    contexts = _contexts(company, as_of, debtor_ids)
    care: dict[str, Care] = {}
    tolerance: dict[str, int] = {}
    index, parts = partition
    items: list[ItemState] = []
    for invoice_id, debtor_id, due_date, open_minor, on_hold, currency, barred_after in (
        only(Invoice.objects.filter(company=company, open_minor__gt=0, issue_date__lte=as_of))
        .values_list("id", "debtor_id", "due_date", "open_minor", "on_hold", "currency", "time_barred_on")
        .iterator(chunk_size=5000)
    ):
        if debtor_id % parts != index:
            continue
        if currency not in care:
            care[currency] = _care(company, currency)
            tolerance[currency] = threshold_minor(company.small_balance_tolerance, currency)
        if open_minor <= tolerance[currency]:
            continue  # a small balance: closed by the tolerance, never a reason to write
        playbook_id, case_hold = cases.get(debtor_id, (None, False))
        level, last, first_notice, deadline = history.get(invoice_id, (0, None, None, None))
        wait = waits.get(laws.get(debtor_id, ("", ""))) if waits and first_notice else None
        items.append(
            ItemState(
                invoice_id=invoice_id,
                debtor_id=debtor_id,
                due_date=due_date,
                open_minor=open_minor,
                playbook_id=playbook_id or by_segment.get(debtor_id) or default.pk,
                last_level=level,
                last_step_date=last,
                blocked=on_hold or case_hold or debtor_id in not_to_contact,
                # no step before the customer's time to object has run, nor before the last deadline has passed
                not_before=first_notice + timedelta(days=wait) if wait and first_notice else None,
                deadline_passed=deadline + timedelta(days=1) if deadline is not None else None,
                currency=currency,
                time_barred=barred_after is not None and barred_after < as_of,
                first_notice_sent=first_notice is not None,
            )
        )
    # Agreements and disputes: hold covered items, run a broken promise's fallback, resume after a breach.
    agreements.steer_items(company, as_of, items, playbooks, debtor_ids)
    steps = {step.pk: step for rows in steps_by_playbook.values() for step in rows}
    return Loaded(items, playbooks, contexts, care, done_today, steps)


def _only(qs: Any, debtor_ids: Sequence[int] | None, field: str = "debtor_id") -> Any:
    """``qs`` restricted to some debtors (``None``: all of the company's); ``field`` a column of ``qs``'s own
    table, or ``invoice__debtor_id`` (its invoice's debtor)."""
    if debtor_ids is None:
        return qs
    if field == "invoice__debtor_id":
        return qs.filter(id_in(Invoice, "debtor_id", debtor_ids))
    return qs.filter(id_in(qs.model, field, debtor_ids))


def _care(company: Company, currency: str) -> Care:
    return Care(
        cadence_days=company.cadence_days,
        min_reminder_minor=threshold_minor(company.min_reminder_amount, currency),
        escalation_min_minor=threshold_minor(company.escalation_min_amount, currency),
    )


def _contexts(company: Company, as_of: date, debtor_ids: Sequence[int] | None) -> dict[int, AccountContext]:
    """Per debtor (``debtor_ids``: only these; None: all of the company's): the business date of its last
    collection contact (a step's message or call, a Plan B notice) and whether a confirmation or thank-you goes
    to it today, and the first day of a step's message that has not gone out yet — four grouped queries."""
    last: dict[int, date] = dict(
        _only(
            Action.objects.filter(company=company, status=ActionStatus.ACTIVE, as_of__lte=as_of), debtor_ids
        )
        .values("debtor_id")
        .annotate(last=Max("as_of"))
        .values_list("debtor_id", "last")
        .order_by()
    )
    for debtor_id, day in messaging().last_collection_messages(company, as_of, debtor_ids).items():
        if debtor_id not in last or day > last[debtor_id]:
            last[debtor_id] = day
    quiet = messaging().courtesy_today(company, as_of, debtor_ids)
    unsent = messaging().unsent_steps(company, as_of, debtor_ids)
    return {
        debtor_id: AccountContext(last.get(debtor_id), debtor_id in quiet, unsent.get(debtor_id))
        for debtor_id in set(last) | quiet | set(unsent)
    }


def may_collect(company: Company, as_of: date, debtor_ids: Iterable[int]) -> set[int]:
    """Which of these debtors a collection message may go to today: no collection contact within the
    cadence window, no confirmation or thank-you today (the same test the run's decisions make)."""
    ids = list(debtor_ids)
    if not ids:
        return set()
    contexts = _contexts(company, as_of, ids)
    gap = timedelta(days=company.cadence_days)
    allowed = set()
    for debtor_id in ids:
        context = contexts.get(debtor_id, AccountContext())
        if not context.quiet_today and (context.last_contact is None or as_of >= context.last_contact + gap):
            allowed.add(debtor_id)
    return allowed


def decide_debtor(company: Company, debtor: Debtor, as_of: date, *, early: bool = False) -> AccountOutcome:
    """What the run decides for one debtor on ``as_of`` — or why nothing. ``early``: the next step now,
    before its date ("send now"); every other rule (holds, agreements, cadence, amounts) still applies."""
    return account_outcome(load(company, as_of, (0, 1), [debtor.pk]), debtor.pk, as_of, early=early)


def account_outcome(loaded: Loaded, debtor_id: int, as_of: date, *, early: bool = False) -> AccountOutcome:
    """The decision (or the reason for none) for one debtor of ``loaded``, all its currencies together —
    the run's own evaluation, for one debtor."""
    if debtor_id in loaded.done_today:
        return AccountOutcome(None, Held.DONE_TODAY)
    rows = [item for item in loaded.items if item.debtor_id == debtor_id]
    held: dict[int, AccountOutcome] = {}
    decisions = evaluate(rows, loaded.playbooks, as_of, loaded.contexts, loaded.care, held, early=early)
    if decisions:
        return AccountOutcome(decisions[0])
    return held.get(debtor_id, AccountOutcome(None, Held.NOTHING_OPEN))


def _warn_limitation(company: Company, as_of: date) -> int:
    """Note on the timeline, once per invoice, that it becomes time-barred within the rule set's window."""
    soon = list(
        Invoice.objects.filter(
            company=company,
            open_minor__gt=0,
            limitation_warned=False,
            time_barred_on__lte=as_of + timedelta(days=90),
        ).values_list("id", "debtor_id", "number", "time_barred_on")
    )
    if soon:
        timeline.record(
            timeline.event(debtor_id, company.pk, "limitation_warning", as_of, number=number, date=barred)
            for _pk, debtor_id, number, barred in soon
        )
        Invoice.objects.filter(pk__in=[row[0] for row in soon]).update(limitation_warned=True)
    return len(soon)


def _note_time_barred(company: Company, as_of: date) -> int:
    """Items past their limitation date leave the automatic messages; once per item, a person is asked to
    decide (one open task per debtor, the numbers in its notes, the reason on the timeline)."""
    barred = list(
        Invoice.objects.filter(
            company=company, open_minor__gt=0, time_barred_noted=False, time_barred_on__lt=as_of
        ).values_list("id", "debtor_id", "number", "time_barred_on")
    )
    if not barred:
        return 0
    by_debtor: dict[int, list[tuple[str, date | None]]] = {}
    for _pk, debtor_id, number, barred_on in barred:
        by_debtor.setdefault(debtor_id, []).append((number, barred_on))
    open_tasks = {
        task.debtor_id: task
        for task in Task.objects.filter(
            debtor_id__in=list(by_debtor), kind=TaskKind.TIME_BARRED, status=TaskStatus.OPEN
        )
    }
    new_tasks = []
    for debtor_id, rows in by_debtor.items():
        lines = "\n".join(f"{number}: {barred_on}" for number, barred_on in rows)
        task = open_tasks.get(debtor_id)
        if task is None:
            new_tasks.append(
                Task(
                    company=company, debtor_id=debtor_id, kind=TaskKind.TIME_BARRED, due_on=as_of, notes=lines
                )
            )
        else:
            Task.objects.filter(pk=task.pk).update(notes=f"{task.notes}\n{lines}".strip())
    Task.objects.bulk_create(new_tasks)
    timeline.record(
        timeline.event(debtor_id, company.pk, "time_barred", as_of, number=number, date=barred_on)
        for _pk, debtor_id, number, barred_on in barred
    )
    Invoice.objects.filter(pk__in=[row[0] for row in barred]).update(time_barred_noted=True)
    return len(barred)


def _step_offers(
    company: Company,
    decided: Sequence[tuple[Action, DebtorDecision]],
    as_of: date,
    debtors: dict[int, Debtor],
) -> dict[int, str]:
    """Make the incentive a step offers (fees or interest waived, a discount if paid in time); return the
    sentence each action's message carries, by action id."""
    from django.utils import translation
    from django.utils.translation import gettext

    from mahnwerk.core.calendar import format_date
    from mahnwerk.core.money import format_money

    steps = Step.objects.in_bulk({d.step.step_id for _, d in decided})
    terms: dict[int, agreements.AgreementTerms] = {}
    notes: dict[int, str] = {}
    for action, decision in decided:
        step = steps.get(decision.step.step_id)
        if step is None or not step.incentive:
            continue
        debtor = debtors[decision.debtor_id]
        terms = terms or agreements.terms_for_debtors(company, [d.debtor_id for _, d in decided], as_of=as_of)
        if step.incentive not in terms[debtor.pk].incentives:
            continue  # not an offer the debtor's segment gets
        limit = terms[debtor.pk].promise_max_days  # an offer's deadline limit
        days = min(step.incentive_days or step.deadline_days or 14, limit)
        deadline = as_of + timedelta(days=days)
        offer = agreements.offer_incentive(
            company,
            debtor,
            [i.invoice_id for i in decision.items],
            step.incentive,
            deadline,
            discount_percent=step.incentive_discount_percent,
            actor="playbook",
            as_of=as_of,
            notify=False,
        )
        with translation.override(debtor.language):
            when = format_date(deadline, debtor.language)
            if step.incentive == "discount":
                notes[action.pk] = gettext(
                    "If you pay the full amount by {deadline}, we will grant you a discount of {amount}."
                ).format(
                    deadline=when, amount=format_money(offer.discount_minor, offer.currency, debtor.language)
                )
            elif step.incentive == "waive_interest":
                notes[action.pk] = gettext(
                    "If you pay the full amount by {deadline}, we will waive the interest."
                ).format(deadline=when)
            else:
                notes[action.pk] = gettext(
                    "If you pay the full amount by {deadline}, we will waive the fees."
                ).format(deadline=when)
    return notes


def _objection_waits(as_of: date) -> dict[tuple[str, str], int]:
    """Days after the first written notice before any further step, per (jurisdiction, debtor kind), where
    the rule set asks for a time to object (Latvian consumers: 21 days from receipt, a letter counting as
    received on the 7th day — the postal days are always added, so the wait is never too short)."""
    waits = {}
    for jurisdiction in rulebook().jurisdictions():
        for kind in ("business", "consumer"):
            try:
                contact = ruleset(jurisdiction, kind, as_of).contact
            except RuleSetError:
                continue  # no rule set for this kind, or none in force yet
            if contact.first_notice_objection_days:
                waits[(jurisdiction, kind)] = (
                    contact.first_notice_objection_days + contact.postal_receipt_days
                )
    return waits


def step_deadlines(company: Company, as_of: date, chunk: Sequence[DebtorDecision]) -> dict[int, date | None]:
    """Each decision's payment deadline, as the run writes it and the dry run shows it: the step's,
    shortened where the debtor's segment asks for short deadlines (risky payers, never below 7 days), but
    never shorter than the time to object where a first notice starts one (Latvian consumers: a payment
    demanded before the objection period ends would cut the right short)."""
    deadlines = {d.debtor_id: d.deadline(as_of) for d in chunk}
    agreements.shorten_deadlines(company, as_of, deadlines)  # risky payers: shorter, never below 7 days
    firsts = [d.debtor_id for d in chunk if any(i.first_notice for i in d.items)]
    waits = _objection_waits(as_of) if firsts else {}
    if waits:
        for debtor_id, law in debtor_laws(company, firsts).items():
            wait = waits.get((law.jurisdiction, str(law.debtor_kind)))
            floor = as_of + timedelta(days=wait) if wait else None
            if floor is not None and (deadlines[debtor_id] or as_of) < floor:
                deadlines[debtor_id] = floor
    return deadlines


def _chunks(items: Sequence[DebtorDecision], size: int) -> Iterator[Sequence[DebtorDecision]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _write_chunk_retrying(ctx: RunContext, chunk: Sequence[DebtorDecision]) -> tuple[int, int, int]:
    """Write a chunk; if another worker wrote some of its debtors meanwhile, drop those and retry once."""
    try:
        return write_chunk(ctx, chunk)
    except IntegrityError:
        done = set(
            Action.objects.filter(
                debtor_id__in=[d.debtor_id for d in chunk], as_of=ctx.as_of, status=ActionStatus.ACTIVE
            ).values_list("debtor_id", flat=True)
        )
        rest = [d for d in chunk if d.debtor_id not in done]
        return write_chunk(ctx, rest) if rest else (0, 0, 0)


@dataclass(frozen=True)
class LedgerMarks:
    """What the run's decision was made on: the newest row of each table a change of a debtor's ledger or
    contacts adds a row to (every use case writes a timeline event; payments, credits and write-offs an
    allocation; a new invoice; an action or a message written by another run or use case), and the
    settings the decision reads for every debtor (playbooks and their steps, segment rules, experiments)."""

    invoice: int
    allocation: int
    event: int
    action: int
    message: int
    settings: str


def _max_id(model: Any) -> int:
    return int(model.objects.aggregate(m=Max("id"))["m"] or 0)


def _decision_settings(company: Company) -> str:
    """The company-wide rows every decision reads besides the ledger (small tables, read whole)."""
    from mahnwerk.experiments.models import Experiment
    from mahnwerk.insights.models import RatingSettings, SegmentRuleRow

    rows = [
        list(model.objects.filter(**{lookup: company}).order_by("pk").values_list())
        for model, lookup in (
            (Playbook, "company"),
            (Step, "playbook__company"),
            (SegmentRuleRow, "company"),
            (RatingSettings, "company"),
            (Experiment, "company"),
        )
    ]
    return repr(rows)


def ledger_marks(company: Company) -> LedgerMarks | None:
    """The run's :class:`LedgerMarks`, read before it decides; None where ids do not follow the order in which
    transactions commit (PostgreSQL hands out ids before commit, so a row committed after the marks may carry
    a smaller id): there each chunk's debtors are all decided again."""
    from django.db import connection

    from mahnwerk.ledger.models import Allocation, TimelineEvent

    if connection.vendor != "sqlite":
        return None
    return LedgerMarks(
        invoice=_max_id(Invoice),
        allocation=_max_id(Allocation),
        event=_max_id(TimelineEvent),
        action=_max_id(Action),
        message=messaging().newest_message_id(),
        settings=_decision_settings(company),
    )


def changed_since(company: Company, marks: LedgerMarks, debtor_ids: Sequence[int]) -> set[int] | None:
    """Of ``debtor_ids``, those whose ledger changed since ``marks``: a new timeline event, invoice,
    allocation, action or message of theirs. None when the settings the decision reads changed (then every
    debtor is decided again). Index look-ups by debtor, so the rows the run itself writes for other chunks
    are never read."""
    from django.db import connection

    if _decision_settings(company) != marks.settings:
        return None
    ids = literal_ids(debtor_ids)
    sql = (
        f"SELECT debtor_id FROM ledger_timelineevent WHERE debtor_id IN ({ids}) AND id > %s "
        f"UNION SELECT debtor_id FROM ledger_invoice WHERE debtor_id IN ({ids}) AND id > %s "
        f"UNION SELECT debtor_id FROM collection_action WHERE debtor_id IN ({ids}) AND id > %s "
        "UNION SELECT i.debtor_id FROM ledger_allocation a JOIN ledger_invoice i ON i.id = a.invoice_id "
        "WHERE a.id > %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [marks.event, marks.invoice, marks.action, marks.allocation])
        changed = {row[0] for row in cursor.fetchall()}
    changed.update(messaging().messaged_since(marks.message, debtor_ids))
    return changed & set(debtor_ids)


def _recheck(ctx: RunContext, chunk: Sequence[DebtorDecision]) -> list[DebtorDecision]:
    """Decide the chunk's debtors again inside the write transaction, after locking them (PostgreSQL;
    SQLite's immediate transaction holds the whole database): a payment, credit, dispute, hold or
    agreement committed since the run started wins, and so does a message written meanwhile.

    Where the run has its :class:`LedgerMarks` (SQLite: ids follow the commits), only the debtors whose ledger
    changed since the decision are decided again; the others' ledger is the one they were decided on, and
    their decisions stand."""
    ids = [d.debtor_id for d in chunk]
    list(
        Debtor.objects.select_for_update()
        .filter(id_in(Debtor, "id", sorted(ids)))
        .order_by("pk")
        .values_list("id", flat=True)
    )
    if ctx.early:
        fresh = []
        for debtor in Debtor.objects.filter(pk__in=ids):
            outcome = decide_debtor(ctx.company, debtor, ctx.as_of, early=True)
            if outcome.decision is not None:
                fresh.append(outcome.decision)
    else:
        changed = changed_since(ctx.company, ctx.marks, ids) if ctx.marks is not None else None
        if changed is None:
            fresh = _decide(ctx.company, ctx.as_of, ctx.result, ctx.partition, ids, exclusions=ctx.exclusions)
        else:
            again = sorted(changed)
            redecided = (
                {
                    d.debtor_id: d
                    for d in _decide(
                        ctx.company, ctx.as_of, ctx.result, ctx.partition, again, exclusions=ctx.exclusions
                    )
                }
                if again
                else {}
            )
            fresh = [
                redecided[d.debtor_id] if d.debtor_id in changed else d
                for d in chunk
                if d.debtor_id not in changed or d.debtor_id in redecided
            ]
    fresh = [d for d in fresh if d.playbook_id not in ctx.waiting and d.debtor_id not in ctx.rate_held]
    ctx.result.withdrawn_at_write += len(set(ids) - {d.debtor_id for d in fresh})
    return fresh


@transaction.atomic
def _write_chunk(ctx: RunContext, chunk: Sequence[DebtorDecision]) -> tuple[int, int, int]:
    """Actions, their items, messages and timeline events for one chunk of debtors, in one transaction."""
    company, run, as_of = ctx.company, ctx.run, ctx.as_of
    comms = messaging()
    chunk = _recheck(ctx, chunk)
    if not chunk:
        return 0, 0, 0
    for decision in chunk:
        ctx.result.steps[decision.step.level] = ctx.result.steps.get(decision.step.level, 0) + 1
    deadlines = step_deadlines(company, as_of, chunk)

    actions = bulk_insert(
        [
            Action(
                company=company,
                debtor_id=d.debtor_id,
                as_of=as_of,
                key=Action.make_key(d.debtor_id, as_of),
                run=run,
                playbook_id=d.playbook_id,
                step_id=d.step.step_id,
                level=d.step.level,
                channel=d.step.channel.value,
                tone=d.step.tone.value,
                deadline=deadlines[d.debtor_id],
            )
            for d in chunk
        ]
    )
    bulk_insert_rows(
        ActionItem,
        ("action_id", "invoice_id", "level", "open_minor"),
        [
            (action.pk, item.invoice_id, item.step.level, item.open_minor)
            for action, decision in zip(actions, chunk, strict=True)
            for item in decision.items
        ],
    )
    decided = list(zip(actions, chunk, strict=True))
    debtors = {d.pk: d for d in Debtor.objects.filter(id_in(Debtor, "id", [d.debtor_id for d in chunk]))}
    invoices = invoice_facts(i.invoice_id for d in chunk for i in [*d.items, *d.coming])
    # the channel each message goes out on decides when it is received (default) and what it costs (fees)
    reach = comms.reachability(debtors)
    choices = comms.channel_choices(company, decided, debtors, reach, as_of)
    channels = {pk: choice.channel for pk, choice in choices.items()}
    consequences = apply_step_consequences(company, decided, as_of, debtors, invoices, channels)
    offers = _step_offers(company, decided, as_of, debtors)
    dispatched = comms.dispatch(
        company, decided, as_of, debtors, invoices, consequences.claims, ctx.instant, offers, reach, choices
    )
    ctx.result.warnings.extend(consequences.warnings)
    ctx.result.tasks += dispatched.tasks
    ctx.result.deferred += dispatched.deferred
    for channel, count in dispatched.by_channel.items():
        ctx.result.channels[channel] = ctx.result.channels.get(channel, 0) + count
    return len(actions), dispatched.queued, dispatched.no_contact


write_chunk: ChunkWriter = _write_chunk


def _describe(decision: DebtorDecision, deadline: date | None) -> dict[str, object]:
    """One decision of a dry run; ``deadline``: the one the real run would write (:func:`step_deadlines`)."""
    return {
        "debtor_id": decision.debtor_id,
        "level": decision.step.level,
        "template": decision.step.template,
        "channel": decision.step.channel.value,
        "tone": decision.step.tone.value,
        "deadline": deadline.isoformat() if deadline else None,
        "items": [
            {"invoice_id": i.invoice_id, "level": i.step.level, "open_minor": i.open_minor}
            for i in decision.items
        ],
        "coming": [{"invoice_id": i.invoice_id, "open_minor": i.open_minor} for i in decision.coming],
    }


@transaction.atomic
def set_hold(
    company: Company, debtor: Debtor, on_hold: bool, reason: str = "", actor: str = "system"
) -> Case:
    case, _ = Case.objects.get_or_create(company=company, debtor=debtor)
    case.on_hold = on_hold
    case.hold_reason = reason if on_hold else ""
    case.save(update_fields=["on_hold", "hold_reason"])
    kind = "hold_set" if on_hold else "hold_released"
    timeline.event(debtor.pk, company.pk, kind, company_today(company), actor=actor, reason=reason).save()
    return case


@transaction.atomic
def set_playbook(company: Company, debtor: Debtor, playbook: Playbook | None, actor: str = "system") -> Case:
    if playbook is not None and playbook.company_id != company.pk:
        raise CollectionError("the playbook belongs to another company")
    case, _ = Case.objects.get_or_create(company=company, debtor=debtor)
    case.playbook = playbook
    case.save(update_fields=["playbook"])
    name = playbook.name if playbook else "default"
    timeline.event(
        debtor.pk, company.pk, "playbook_changed", company_today(company), actor=actor, playbook=name
    ).save()
    return case


def cancel_actions(action_ids: Iterable[int]) -> None:
    """Take back steps that did not reach the debtor (or are out of date): the next run decides them afresh.
    What they booked goes with them (:func:`~mahnwerk.collection.consequences.undo_step_consequences`):
    the default they caused, their reminder fee."""
    from mahnwerk.collection.consequences import undo_step_consequences

    ids = list(action_ids)
    undo_step_consequences(ids)
    Action.objects.filter(pk__in=ids).update(status=ActionStatus.CANCELLED)
    ActionItem.objects.filter(action_id__in=ids).update(status=ActionStatus.CANCELLED)
