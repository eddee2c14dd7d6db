"""Playbook evaluation: which step is due for which open item on a business date.

Plain data in, plain decisions out; the collection run loads the data in bulk, calls
:func:`evaluate` once and writes what it returns.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
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

    @property
    def step(self) -> StepSpec:
        """The most advanced step among the items: it sets the message's tone, channel and deadline."""
        return max((i.step for i in self.items), key=lambda s: s.level)

    def deadline(self, as_of: date) -> date | None:
        days = self.step.deadline_days
        return as_of + timedelta(days=days) if days > 0 else None

    @property
    def total_minor(self) -> int:
        return sum(i.open_minor for i in self.items)


def scheduled_date(step: StepSpec, item: ItemState, min_days_between: int) -> date:
    if step.anchor is Anchor.PREVIOUS and item.last_step_date is not None:
        when = item.last_step_date + timedelta(days=step.offset_days)
    else:
        when = item.due_date + timedelta(days=step.offset_days)
    if item.last_step_date is not None:
        when = max(when, item.last_step_date + timedelta(days=min_days_between))
    return when


def next_step(item: ItemState, playbook: PlaybookSpec, as_of: date) -> StepSpec | None:
    """The step due for ``item`` on ``as_of``, or None.

    Steps are taken one at a time in order, so an item that is found late gets the first reminder
    first, never the final notice. A step before the due date is skipped once the due date has come.
    """
    if item.blocked or item.open_minor <= 0:
        return None
    if item.not_before is not None and as_of < item.not_before:
        return None
    for step in playbook.steps[item.last_level :]:
        if step.offset_days < 0 and as_of >= item.due_date:
            continue
        return step if scheduled_date(step, item, playbook.min_days_between) <= as_of else None
    return None


def evaluate(
    items: Iterable[ItemState], playbooks: Mapping[int, PlaybookSpec], as_of: date
) -> list[DebtorDecision]:
    """Decide, for every debtor, which of its items get which step today: one decision per debtor."""
    decisions: dict[int, DebtorDecision] = {}
    for item in items:
        step = next_step(item, playbooks[item.playbook_id], as_of)
        if step is None:
            continue
        decision = decisions.get(item.debtor_id)
        if decision is None:
            decision = decisions[item.debtor_id] = DebtorDecision(item.debtor_id, item.playbook_id)
        spec = playbooks[item.playbook_id]
        first_notice = step.offset_days >= 0 and all(s.offset_days < 0 for s in spec.steps[: item.last_level])
        decision.items.append(DueItem(item.invoice_id, step, item.open_minor, first_notice))
    return sorted(decisions.values(), key=lambda d: d.debtor_id)


def default_playbook_steps() -> tuple[StepSpec, ...]:
    """The shipped default: a friendly note before due, a reminder, a firm reminder, a formal final notice."""
    return (
        StepSpec(1, -3, Anchor.DUE, Channel.EMAIL, Tone.FRIENDLY, 0, "pre_due"),
        StepSpec(2, 7, Anchor.DUE, Channel.EMAIL, Tone.FRIENDLY, 10, "reminder"),
        StepSpec(3, 14, Anchor.PREVIOUS, Channel.EMAIL, Tone.FIRM, 10, "firm_reminder"),
        StepSpec(4, 14, Anchor.PREVIOUS, Channel.EMAIL, Tone.FORMAL, 7, "final_notice"),
    )
