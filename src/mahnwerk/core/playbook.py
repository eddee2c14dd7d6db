"""Playbook evaluation: which step is due for which open item on a business date.

Plain data in, plain decisions out; the collection run loads the data in bulk, calls
:func:`evaluate` once and writes what it returns.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum


class Channel(StrEnum):
    EMAIL = "email"
    LETTER = "letter"
    SMS = "sms"
    CALL = "call"


class Tone(StrEnum):
    FRIENDLY = "friendly"
    FIRM = "firm"
    FORMAL = "formal"


class Anchor(StrEnum):
    DUE = "due"  # offset counted from the item's due date
    PREVIOUS = "previous"  # offset counted from the date of the previous step


class PlaybookError(ValueError):
    """A playbook whose steps cannot be evaluated."""


@dataclass(frozen=True, slots=True)
class StepSpec:
    level: int  # 1-based position in the playbook
    offset_days: int
    anchor: Anchor = Anchor.DUE
    channel: Channel = Channel.EMAIL
    tone: Tone = Tone.FRIENDLY
    deadline_days: int = 0  # new payment deadline set by this step (0: none, the due date stands)
    template: str = "reminder"
    step_id: int = 0
    min_amount: Decimal | None = None  # the account's overdue principal this step needs (None: the company's)

    @property
    def escalates(self) -> bool:
        """A final notice or a call: held to the company's escalation minimum."""
        return self.tone is Tone.FORMAL or self.channel is Channel.CALL


@dataclass(frozen=True, slots=True)
class PlaybookSpec:
    playbook_id: int
    steps: tuple[StepSpec, ...]
    min_days_between: int = 7  # never two steps for one item closer than this

    def __post_init__(self) -> None:
        validate_steps(self.steps)


def validate_steps(steps: Iterable[StepSpec]) -> None:
    seen_post_due = False
    for expected, step in enumerate(steps, start=1):
        if step.level != expected:
            raise PlaybookError(f"step levels must be 1, 2, 3...; found {step.level} at position {expected}")
        if step.deadline_days < 0:
            raise PlaybookError(f"step {step.level}: the deadline cannot be negative")
        if step.offset_days < 0:
            if step.anchor is not Anchor.DUE:
                raise PlaybookError(
                    f"step {step.level}: a step before the due date must count from the due date"
                )
            if seen_post_due:
                raise PlaybookError(f"step {step.level}: steps before the due date must come first")
        else:
            seen_post_due = True
        if step.anchor is Anchor.PREVIOUS and step.offset_days < 1:
            raise PlaybookError(
                f"step {step.level}: a step after the previous one needs an offset of at least 1 day"
            )


@dataclass(slots=True)
class ItemState:
    """One open item as the run sees it."""

    invoice_id: int
    debtor_id: int
    due_date: date
    open_minor: int
    playbook_id: int
    last_level: int = 0  # highest step already done for this item (0: none)
    last_step_date: date | None = None
    blocked: bool = False  # on hold, disputed, covered by an agreement, debtor not to be contacted
    not_before: date | None = None  # no step before this day (e.g. the debtor's time to object)
    # no step before this day either, the first after the last deadline given: the customer has that time
    # (a broken promise's fallback waits for it too, and goes then)
    deadline_passed: date | None = None
    currency: str = "EUR"
    time_barred: bool = False  # past its limitation date: no automatic message names it
    forced: bool = False  # an agreement's fallback made a step due today (see core.agreements.force_step)
    first_notice_sent: bool = False  # a written step after the due date has named this item


@dataclass(frozen=True, slots=True)
class DueItem:
    invoice_id: int
    step: StepSpec
    open_minor: int
    first_notice: bool = False  # the first step after the due date for this item (the first written notice)


@dataclass(slots=True)
class DebtorDecision:
    debtor_id: int
    playbook_id: int
    items: list[DueItem] = field(default_factory=list)
    coming: list[DueItem] = field(
        default_factory=list
    )  # not yet due: a "coming due" line, never in the total

    @property
    def step(self) -> StepSpec:
        """The account's step: it sets the message's tone, channel and deadline."""
        return max((i.step for i in self.items), key=lambda s: s.level)

    def deadline(self, as_of: date) -> date | None:
        days = self.step.deadline_days
        return as_of + timedelta(days=days) if days > 0 else None

    @property
    def total_minor(self) -> int:
        return sum(i.open_minor for i in self.items)


@dataclass(frozen=True, slots=True)
class Care:
    """What a careful clerk holds to, in minor units of one account's currency."""

    cadence_days: int = 7  # at most one collection message (or call) per debtor within this many days
    min_reminder_minor: int = 0  # no reminder for less overdue principal than this
    escalation_min_minor: int = 0  # no final notice or call for less than this

    def required_minor(self, step: StepSpec, currency: str) -> int:
        if step.min_amount is not None:
            own = threshold_minor(step.min_amount, currency)
        else:
            own = self.escalation_min_minor if step.escalates else 0
        return max(own, self.min_reminder_minor)


def threshold_minor(amount: Decimal, currency_digits_or_code: str | int) -> int:
    """A threshold in major units as minor units of a currency (rounded half up; 2 digits for EUR)."""
    from mahnwerk.core.money import digits, round_half_up

    places = (
        currency_digits_or_code
        if isinstance(currency_digits_or_code, int)
        else digits(currency_digits_or_code)
    )
    return round_half_up(amount.scaleb(places))


class Held(StrEnum):
    """Why an account gets no collection message today (said by the dry run and by "send now")."""

    NOTHING_OPEN = "nothing_open"
    DONE_TODAY = "done_today"  # the debtor already got a step today
    COVERED = "covered"  # every overdue item is disputed, on hold or covered by an agreement
    TIME_BARRED = "time_barred"
    QUIET_DAY = "quiet_day"  # a confirmation or thank-you goes to the debtor today
    CADENCE = "cadence"
    BELOW_MINIMUM = "below_minimum"
    BELOW_STEP_MINIMUM = "below_step_minimum"
    NOT_YET = "not_yet"  # the next step's date has not come
    # the step's date has come, but the time the last message gave has not run
    DEADLINE_RUNS = "deadline_runs"
    UNSENT = (
        "unsent"  # an earlier step's message has not gone out yet (a letter not printed, an email refused)
    )
    END_OF_PLAYBOOK = "end_of_playbook"
    BANK_NOT_CURRENT = "bank_not_current"  # the newest bank statement is too old (the run holds its messages)
    RATE_MISSING = "rate_missing"  # the message would claim interest without a known rate (the run holds it)


@dataclass(frozen=True, slots=True)
class AccountContext:
    """What the run knows of a debtor beyond its items."""

    last_contact: date | None = None  # business date of its last collection message or call
    quiet_today: bool = False
    unsent_since: date | None = None  # a step's message of this day has not gone out yet


@dataclass(slots=True)
class AccountOutcome:
    decision: DebtorDecision | None
    held: Held | None = None
    next_contact: date | None = None  # with CADENCE or NOT_YET: the first day a message may go


def scheduled_date(step: StepSpec, item: ItemState, min_days_between: int) -> date:
    if step.anchor is Anchor.PREVIOUS and item.last_step_date is not None:
        when = item.last_step_date + timedelta(days=step.offset_days)
    else:
        when = item.due_date + timedelta(days=step.offset_days)
    if item.last_step_date is not None:
        when = max(when, item.last_step_date + timedelta(days=min_days_between))
    return when


def following_step(item: ItemState, playbook: PlaybookSpec, as_of: date) -> StepSpec | None:
    """The item's next step regardless of its date (None: no further step). Steps before the due date
    lapse once the due date has come."""
    for step in playbook.steps[item.last_level :]:
        if step.offset_days < 0 and as_of >= item.due_date:
            continue
        return step
    return None


def _held_until(item: ItemState) -> date | None:
    """The first day a step may go for ``item`` by the time it was given (None: no such hold)."""
    days = [d for d in (item.not_before, item.deadline_passed) if d is not None]
    return max(days) if days else None


def _may_step(item: ItemState, as_of: date) -> bool:
    until = _held_until(item)
    return not item.blocked and item.open_minor > 0 and (until is None or as_of >= until)


def next_step(item: ItemState, playbook: PlaybookSpec, as_of: date) -> StepSpec | None:
    """The step due for ``item`` on ``as_of``, or None.

    Steps are taken one at a time in order, so an item that is found late gets the first reminder
    first, never the final notice. A step before the due date is skipped once the due date has come.
    """
    if not _may_step(item, as_of):
        return None
    step = following_step(item, playbook, as_of)
    if step is None:
        return None
    return step if scheduled_date(step, item, playbook.min_days_between) <= as_of else None


def decide_account(
    items: Sequence[ItemState],
    playbook: PlaybookSpec,
    as_of: date,
    context: AccountContext = AccountContext(),
    care: Care = Care(),
    *,
    early: bool = False,
) -> AccountOutcome:
    """Decide one debtor's account (one currency) for ``as_of``: the account is one conversation.

    The step is the next step of the oldest overdue item that nothing holds (or the step an agreement's
    fallback forces); every other overdue item joins that message, and items not yet due appear only
    as "coming due". No message while the cadence window since the last one runs, on a day the debtor
    gets a confirmation or thank-you, or when the overdue principal is below the step's minimum.
    Without overdue items, a note before the due date may go for the items whose note is due.
    ``early``: a person asks for the next step now, before its date (every other rule still applies).
    """
    live = [i for i in items if i.open_minor > 0]
    if not live:
        return AccountOutcome(None, Held.NOTHING_OPEN)
    if context.unsent_since is not None:  # the customer gets that one first, with its deadline
        return AccountOutcome(None, Held.UNSENT, context.unsent_since)
    usable = [i for i in live if not i.blocked and not i.time_barred]
    overdue = sorted((i for i in usable if i.due_date < as_of), key=lambda i: (i.due_date, i.invoice_id))
    coming = sorted((i for i in usable if i.due_date >= as_of), key=lambda i: (i.due_date, i.invoice_id))
    if not usable:
        barred = any(i.time_barred for i in live)
        return AccountOutcome(None, Held.TIME_BARRED if barred else Held.COVERED)
    if overdue:
        forced_steps = [
            s
            for s in (following_step(i, playbook, as_of) for i in overdue if i.forced and _may_step(i, as_of))
            if s is not None
        ]
        if forced_steps:
            step: StepSpec | None = max(forced_steps, key=lambda s: s.level)
        else:
            driver = overdue[0]
            step = next_step(driver, playbook, as_of)
            if step is None:
                ahead = following_step(driver, playbook, as_of)
                if ahead is None:
                    return AccountOutcome(None, Held.END_OF_PLAYBOOK)
                when = scheduled_date(ahead, driver, playbook.min_days_between)
                held = Held.NOT_YET
                until = _held_until(driver)
                if until is not None:
                    if until > as_of and (early or until > when):
                        held = Held.DEADLINE_RUNS
                    # asked for early: the step's own date gives way, a deadline given or time to object not
                    when = until if early else max(when, until)
                if not early or as_of < (until or as_of):
                    return AccountOutcome(None, held, when)
                step = ahead
        assert step is not None
        named = overdue
    else:
        due_notes = [(i, next_step(i, playbook, as_of)) for i in coming]
        notes = [(i, s) for i, s in due_notes if s is not None and s.offset_days < 0]
        if not notes:
            return AccountOutcome(None, Held.NOT_YET, min((i.due_date for i in coming), default=None))
        step = max((s for _i, s in notes), key=lambda s: s.level)
        named = [i for i, _s in notes]
    if context.quiet_today:
        return AccountOutcome(None, Held.QUIET_DAY)
    gap = max(care.cadence_days, playbook.min_days_between)
    if context.last_contact is not None and as_of < context.last_contact + timedelta(days=gap):
        return AccountOutcome(None, Held.CADENCE, context.last_contact + timedelta(days=gap))
    currency = named[0].currency
    total = sum(i.open_minor for i in named)
    if total < care.min_reminder_minor:
        return AccountOutcome(None, Held.BELOW_MINIMUM)
    if total < care.required_minor(step, currency):
        return AccountOutcome(None, Held.BELOW_STEP_MINIMUM)
    decision = DebtorDecision(named[0].debtor_id, playbook.playbook_id)
    post_due = step.offset_days >= 0
    for item in named:
        decision.items.append(
            DueItem(item.invoice_id, step, item.open_minor, post_due and not item.first_notice_sent)
        )
    if overdue:
        decision.coming = [DueItem(i.invoice_id, step, i.open_minor) for i in coming]
    return AccountOutcome(decision)


def evaluate(
    items: Iterable[ItemState],
    playbooks: Mapping[int, PlaybookSpec],
    as_of: date,
    contexts: Mapping[int, AccountContext] | None = None,
    care: Mapping[str, Care] | None = None,
    held: dict[int, AccountOutcome] | None = None,
    *,
    early: bool = False,
) -> list[DebtorDecision]:
    """Decide every debtor's accounts for ``as_of``: at most one decision (one message) per debtor.

    ``contexts``: per debtor, its last collection contact and whether it is a quiet day. ``care``: the
    thresholds per currency. ``held``, if given, receives why a debtor with open items gets nothing.
    A debtor with accounts in several currencies gets one message naming what each account decided.
    ``early``: see :func:`decide_account`.
    """
    accounts: dict[tuple[int, str], list[ItemState]] = {}
    for item in items:
        accounts.setdefault((item.debtor_id, item.currency), []).append(item)
    decisions: dict[int, DebtorDecision] = {}
    no_context = AccountContext()
    for (debtor_id, currency), rows in accounts.items():
        playbook = playbooks[rows[0].playbook_id]
        outcome = decide_account(
            rows,
            playbook,
            as_of,
            (contexts or {}).get(debtor_id, no_context),
            (care or {}).get(currency, Care()),
            early=early,
        )
        if outcome.decision is None:
            if held is not None and outcome.held is not Held.NOTHING_OPEN and debtor_id not in decisions:
                held[debtor_id] = outcome
            continue
        if held is not None:
            held.pop(debtor_id, None)
        existing = decisions.get(debtor_id)
        if existing is None:
            decisions[debtor_id] = outcome.decision
        else:
            existing.items.extend(outcome.decision.items)
            existing.coming.extend(outcome.decision.coming)
    return sorted(decisions.values(), key=lambda d: d.debtor_id)


def default_playbook_steps() -> tuple[StepSpec, ...]:
    """The shipped default: a friendly note before due, a reminder, a firm reminder, a formal final notice."""
    return (
        StepSpec(1, -3, Anchor.DUE, Channel.EMAIL, Tone.FRIENDLY, 0, "pre_due"),
        StepSpec(2, 7, Anchor.DUE, Channel.EMAIL, Tone.FRIENDLY, 10, "reminder"),
        StepSpec(3, 14, Anchor.PREVIOUS, Channel.EMAIL, Tone.FIRM, 10, "firm_reminder"),
        StepSpec(4, 14, Anchor.PREVIOUS, Channel.EMAIL, Tone.FORMAL, 7, "final_notice"),
    )
