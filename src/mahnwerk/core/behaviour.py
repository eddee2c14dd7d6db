"""Payment behaviour per debtor: features from plain records, the payer rating A-D and segments.

Everything here is arithmetic on plain data as of an explicit business date ``as_of``: nothing dated
after ``as_of`` is looked at, so the same function serves the daily run (``as_of`` = today) and
back-tests (``as_of`` = a day in the past).

Words used below:

* *days late* of a paid invoice = paid date - due date; paying early or on the due date counts as 0
  days late (an early payment does not make up for a late one).
* *amount-weighted days late* = sum(amount_i x days_late_i) / sum(amount_i) over paid invoices.
* *overdue* at ``as_of`` = still open at the end of ``as_of`` and ``due_date < as_of``; its age is
  ``as_of - due_date`` days.
* *response to a channel* = share of messages on that channel that were followed by a payment from
  the debtor within ``response_days`` days (default 14) after sending.

User-visible texts are returned as :class:`Reason` objects: an English message id (marked with
:func:`gettext_noop` so ``makemessages`` collects it) plus parameters, rendered by the caller with its
own ``gettext`` via :meth:`Reason.render`.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any


def gettext_noop(message: str) -> str:
    """Mark ``message`` for translation without translating it (rendered later by the caller)."""
    return message


def _identity(message: str) -> str:
    return message


@dataclass(frozen=True, slots=True)
class Reason:
    """A translatable explanation: ``message`` is an English msgid with ``{name}`` placeholders."""

    message: str
    params: Mapping[str, Any] = field(default_factory=dict)
    translated_params: tuple[str, ...] = ()  # params that are msgids themselves (e.g. a segment label)
    # A param that is itself a Reason is rendered with the same ``translate``.

    def render(self, translate: Callable[[str], str] = _identity) -> str:
        params = {
            k: v.render(translate)
            if isinstance(v, Reason)
            else translate(v)
            if k in self.translated_params
            else v
            for k, v in self.params.items()
        }
        return translate(self.message).format(**params)


# --------------------------------------------------------------------------------------------------
# Plain records


@dataclass(frozen=True, slots=True)
class InvoiceRecord:
    """One invoice of one debtor with what happened to it.

    ``paid_date`` is the date the invoice was fully settled (None while any amount is open);
    ``partial_payments`` are (value date, minor units) received before full settlement. Only payments
    dated on or before a given day count as known on that day.
    """

    invoice_id: str
    debtor_id: str
    issue_date: date
    due_date: date
    amount_minor: int
    paid_date: date | None = None
    partial_payments: tuple[tuple[date, int], ...] = ()
    currency: str = "EUR"

    def is_paid_by(self, day: date) -> bool:
        """Fully settled by the end of ``day``."""
        return self.paid_date is not None and self.paid_date <= day

    def open_at(self, day: date) -> int:
        """Open amount at the end of ``day`` (0 before the invoice exists)."""
        if self.issue_date > day or self.is_paid_by(day):
            return 0
        paid = sum(minor for when, minor in self.partial_payments if when <= day)
        return max(0, self.amount_minor - paid)

    @property
    def days_late(self) -> int | None:
        """Paid date - due date in days (negative: paid early); None while open."""
        return None if self.paid_date is None else (self.paid_date - self.due_date).days

    @property
    def terms_days(self) -> int:
        return (self.due_date - self.issue_date).days

    def payment_events(self) -> list[tuple[date, int]]:
        """Every payment on this invoice as (date, minor units); the settling one for the remainder."""
        events = list(self.partial_payments)
        if self.paid_date is not None:
            events.append((self.paid_date, self.amount_minor - sum(m for _, m in self.partial_payments)))
        return events


@dataclass(frozen=True, slots=True)
class PromiseRecord:
    """A promise to pay: ``kept`` is True/False once resolved, None while its date has not come."""

    debtor_id: str
    made_on: date
    promised_date: date
    amount_minor: int
    kept: bool | None = None


@dataclass(frozen=True, slots=True)
class DisputeRecord:
    debtor_id: str
    opened_on: date
    resolved_on: date | None = None


@dataclass(frozen=True, slots=True)
class MessageRecord:
    """A message sent to the debtor (reminder, statement, call...) on a channel (email/letter/sms/call)."""

    debtor_id: str
    sent_on: date
    channel: str
    step: str = ""
    invoice_id: str | None = None


# --------------------------------------------------------------------------------------------------
# Features


@dataclass(frozen=True, slots=True)
class ChannelResponse:
    sent: int
    followed_by_payment: int

    @property
    def share(self) -> float | None:
        return self.followed_by_payment / self.sent if self.sent else None


@dataclass(frozen=True, slots=True)
class BehaviourOptions:
    recent_days: int = 180  # "recent" for the trend: invoices paid in the last N days before as_of
    response_days: int = 14  # a message counts as answered if a payment follows within N days


@dataclass(frozen=True, slots=True)
class DebtorProfile:
    """Payment behaviour of one debtor as of one date. ``None``: no data for that figure."""

    debtor_id: str
    as_of: date
    invoices_issued: int
    invoices_paid: int
    avg_days_late: float | None
    weighted_days_late: float | None
    avg_days_to_pay: float | None
    on_time_share: float | None
    recent_avg_days_late: float | None
    older_avg_days_late: float | None
    trend_days_late: float | None  # recent - older; positive: paying later than before
    promises_kept: int
    promises_broken: int
    disputes: int
    disputes_open: int
    open_minor: int
    overdue_minor: int
    overdue_count: int
    oldest_overdue_days: int
    rating_basis_days: float | None  # amount-weighted delay incl. overdue items at their current age
    channel_response: Mapping[str, ChannelResponse] = field(default_factory=dict)

    def values(self) -> dict[str, Any]:
        """The profile's figures by name, as rules and reports see them."""
        out = {name: getattr(self, name) for name in _FIGURES}
        for channel, response in self.channel_response.items():
            out[f"response_{channel}"] = response.share
        return out


# the figures of a profile by name (:meth:`DebtorProfile.values`), worked out once
_FIGURES = tuple(f.name for f in fields(DebtorProfile) if f.name != "channel_response")


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def debtor_profile(
    debtor_id: str,
    invoices: Iterable[InvoiceRecord],
    as_of: date,
    promises: Iterable[PromiseRecord] = (),
    disputes: Iterable[DisputeRecord] = (),
    messages: Iterable[MessageRecord] = (),
    options: BehaviourOptions = BehaviourOptions(),
) -> DebtorProfile:
    """Compute one debtor's profile from its own records, using nothing dated after ``as_of``."""
    known = [i for i in invoices if i.issue_date <= as_of]
    paid = [i for i in known if i.is_paid_by(as_of)]
    late = [max(0, i.days_late or 0) for i in paid]
    amounts = [i.amount_minor for i in paid]
    weighted = sum(a * d for a, d in zip(amounts, late, strict=True)) / sum(amounts) if sum(amounts) else None
    recent_from = as_of - timedelta(days=options.recent_days)
    recent = [max(0, i.days_late or 0) for i in paid if i.paid_date is not None and i.paid_date > recent_from]
    older = [max(0, i.days_late or 0) for i in paid if i.paid_date is not None and i.paid_date <= recent_from]
    recent_avg, older_avg = _mean(recent), _mean(older)

    open_minor = overdue_minor = overdue_count = oldest = 0
    basis_num = float(sum(a * d for a, d in zip(amounts, late, strict=True)))
    basis_den = float(sum(amounts))
    for inv in known:
        still_open = inv.open_at(as_of)
        if still_open <= 0:
            continue
        open_minor += still_open
        if inv.due_date < as_of:
            age = (as_of - inv.due_date).days
            overdue_minor += still_open
            overdue_count += 1
            oldest = max(oldest, age)
            basis_num += inv.amount_minor * age
            basis_den += inv.amount_minor

    kept = broken = 0
    for p in promises:
        if p.promised_date <= as_of and p.kept is not None:
            kept += p.kept
            broken += not p.kept
    dispute_list = [d for d in disputes if d.opened_on <= as_of]
    disputes_open = sum(1 for d in dispute_list if d.resolved_on is None or d.resolved_on > as_of)

    payment_days = sorted(when for inv in known for when, _ in inv.payment_events() if when <= as_of)
    response = channel_response(
        [m for m in messages if m.sent_on <= as_of], payment_days, as_of, options.response_days
    )
    return DebtorProfile(
        debtor_id=debtor_id,
        as_of=as_of,
        invoices_issued=len(known),
        invoices_paid=len(paid),
        avg_days_late=_mean(late),
        weighted_days_late=weighted,
        avg_days_to_pay=_mean([((i.paid_date or as_of) - i.issue_date).days for i in paid]),
        on_time_share=_mean([1.0 if d == 0 else 0.0 for d in late]),
        recent_avg_days_late=recent_avg,
        older_avg_days_late=older_avg,
        trend_days_late=None if recent_avg is None or older_avg is None else recent_avg - older_avg,
        promises_kept=kept,
        promises_broken=broken,
        disputes=len(dispute_list),
        disputes_open=disputes_open,
        open_minor=open_minor,
        overdue_minor=overdue_minor,
        overdue_count=overdue_count,
        oldest_overdue_days=oldest,
        rating_basis_days=basis_num / basis_den if basis_den else None,
        channel_response=response,
    )


def channel_response(
    messages: Iterable[MessageRecord], payment_days: Sequence[date], as_of: date, response_days: int = 14
) -> dict[str, ChannelResponse]:
    """Per channel: messages sent and how many were followed by a payment within ``response_days``.

    A message whose window has not closed by ``as_of`` and has no payment yet is not counted (its
    outcome is not known). ``payment_days`` must be sorted.
    """
    import bisect

    sent: dict[str, int] = defaultdict(int)
    answered: dict[str, int] = defaultdict(int)
    for m in messages:
        window_end = m.sent_on + timedelta(days=response_days)
        i = bisect.bisect_left(payment_days, m.sent_on)
        hit = i < len(payment_days) and payment_days[i] <= min(window_end, as_of)
        if not hit and window_end > as_of:
            continue
        sent[m.channel] += 1
        answered[m.channel] += hit
    return {c: ChannelResponse(sent[c], answered[c]) for c in sorted(sent)}


def debtor_profiles(
    invoices: Iterable[InvoiceRecord],
    as_of: date,
    promises: Iterable[PromiseRecord] = (),
    disputes: Iterable[DisputeRecord] = (),
    messages: Iterable[MessageRecord] = (),
    options: BehaviourOptions = BehaviourOptions(),
) -> dict[str, DebtorProfile]:
    """Profiles for every debtor that appears in ``invoices``, grouped in one pass."""
    return {
        debtor: history.profile(debtor, as_of, options)
        for debtor, history in debtor_histories(invoices, promises, disputes, messages).items()
    }


@dataclass(frozen=True, slots=True)
class DebtorHistory:
    """One debtor's records, each kind in the order given."""

    invoices: tuple[InvoiceRecord, ...]
    promises: tuple[PromiseRecord, ...] = ()
    disputes: tuple[DisputeRecord, ...] = ()
    messages: tuple[MessageRecord, ...] = ()

    def profile(
        self, debtor_id: str, as_of: date, options: BehaviourOptions = BehaviourOptions()
    ) -> DebtorProfile:
        return debtor_profile(
            debtor_id, self.invoices, as_of, self.promises, self.disputes, self.messages, options
        )


def debtor_histories(
    invoices: Iterable[InvoiceRecord],
    promises: Iterable[PromiseRecord] = (),
    disputes: Iterable[DisputeRecord] = (),
    messages: Iterable[MessageRecord] = (),
) -> dict[str, DebtorHistory]:
    """Each debtor's records, for every debtor that appears in ``invoices`` (in the order of its first
    invoice there)."""
    by_inv: dict[str, list[InvoiceRecord]] = defaultdict(list)
    for inv in invoices:
        by_inv[inv.debtor_id].append(inv)
    by_promise: dict[str, list[PromiseRecord]] = defaultdict(list)
    for p in promises:
        by_promise[p.debtor_id].append(p)
    by_dispute: dict[str, list[DisputeRecord]] = defaultdict(list)
    for d in disputes:
        by_dispute[d.debtor_id].append(d)
    by_message: dict[str, list[MessageRecord]] = defaultdict(list)
    for m in messages:
        by_message[m.debtor_id].append(m)
    return {
        debtor: DebtorHistory(
            tuple(invs),
            tuple(by_promise.get(debtor, ())),
            tuple(by_dispute.get(debtor, ())),
            tuple(by_message.get(debtor, ())),
        )
        for debtor, invs in by_inv.items()
    }


# --------------------------------------------------------------------------------------------------
# Rating


class Rating(StrEnum):
    A = "A"
    B = "B"
    C = "C"
    D = "D"


@dataclass(frozen=True, slots=True)
class RatingThresholds:
    """Upper bounds (inclusive) of the amount-weighted average delay in days for A, B and C; above: D."""

    a_max: float = 5
    b_max: float = 15
    c_max: float = 30
    min_invoices: int = 1  # invoices paid or overdue needed before a rating is given

    def __post_init__(self) -> None:
        if not 0 <= self.a_max <= self.b_max <= self.c_max:
            raise ValueError("rating thresholds must satisfy 0 <= A <= B <= C")


def payer_rating(profile: DebtorProfile, thresholds: RatingThresholds = RatingThresholds()) -> Rating | None:
    """A-D by the amount-weighted average delay, counting overdue items at their current age.

    None when the debtor has fewer than ``thresholds.min_invoices`` paid or overdue invoices.
    """
    basis = profile.rating_basis_days
    if basis is None or profile.invoices_paid + profile.overdue_count < thresholds.min_invoices:
        return None
    if basis <= thresholds.a_max:
        return Rating.A
    if basis <= thresholds.b_max:
        return Rating.B
    if basis <= thresholds.c_max:
        return Rating.C
    return Rating.D


# --------------------------------------------------------------------------------------------------
# Segment rules: a small, safe condition language
#
#   condition := or_expr            (empty text or "true": always matches)
#   or_expr   := and_expr ("or" and_expr)*
#   and_expr  := not_expr ("and" not_expr)*
#   not_expr  := "not" not_expr | atom
#   atom      := "(" or_expr ")" | "true" | name op value | name "in" "(" value ("," value)* ")"
#   op        := "<" | "<=" | ">" | ">=" | "==" | "!="
#   value     := number | quoted text | bare word (e.g. A) | "none"
#
# Names are the profile's figures (:meth:`DebtorProfile.values`) plus ``rating``. A comparison with a
# figure that has no data (None) is false, except ``== none`` / ``!= none``.

_TOKEN = re.compile(
    r"\s*(?:(<=|>=|==|!=|<|>|\(|\)|,)|(-?\d+(?:\.\d+)?)|\"([^\"]*)\"|'([^']*)'|([A-Za-z_]\w*))"
)
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}


class RuleError(ValueError):
    """A segment condition that cannot be parsed; ``position`` is the character offset."""

    def __init__(self, message: str, position: int, text: str) -> None:
        super().__init__(f"{message} at position {position + 1} in {text!r}")
        self.position = position


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str  # op, num, str, word, end
    value: Any
    pos: int


def _tokenize(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if m is None:
            raise RuleError("unexpected character", len(text) - len(text[pos:].lstrip()), text)
        start = m.start(m.lastindex or 0)
        op, num, s1, s2, word = m.groups()
        if op is not None:
            toks.append(_Tok("op", op, start))
        elif num is not None:
            toks.append(_Tok("num", float(num), start))
        elif s1 is not None or s2 is not None:
            toks.append(_Tok("str", s1 if s1 is not None else s2, start))
        else:
            toks.append(_Tok("word", word, start))
        pos = m.end()
    toks.append(_Tok("end", None, len(text)))
    return toks


# A parsed condition is a tree of tuples:
#   ("true",) | ("and", a, b) | ("or", a, b) | ("not", a) | ("cmp", name, op, value) | ("in", name, values)
Node = tuple[Any, ...]


class _Parser:
    def __init__(self, text: str, names: frozenset[str] | None) -> None:
        self.text = text
        self.toks = _tokenize(text)
        self.i = 0
        self.names = names

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def is_word(self, word: str) -> bool:
        tok = self.peek()
        return tok.kind == "word" and str(tok.value).lower() == word

    def expect_op(self, op: str) -> None:
        tok = self.take()
        if tok.kind != "op" or tok.value != op:
            raise RuleError(f"expected {op!r}", tok.pos, self.text)

    def parse(self) -> Node:
        if self.peek().kind == "end":
            return ("true",)
        node = self.or_expr()
        if self.peek().kind != "end":
            raise RuleError("unexpected text", self.peek().pos, self.text)
        return node

    def or_expr(self) -> Node:
        node = self.and_expr()
        while self.is_word("or"):
            self.take()
            node = ("or", node, self.and_expr())
        return node

    def and_expr(self) -> Node:
        node = self.not_expr()
        while self.is_word("and"):
            self.take()
            node = ("and", node, self.not_expr())
        return node

    def not_expr(self) -> Node:
        if self.is_word("not"):
            self.take()
            return ("not", self.not_expr())
        return self.atom()

    def value(self) -> Any:
        tok = self.take()
        if tok.kind in ("num", "str"):
            return tok.value
        if tok.kind == "word":
            return None if str(tok.value).lower() == "none" else tok.value
        raise RuleError("expected a value", tok.pos, self.text)

    def atom(self) -> Node:
        tok = self.peek()
        if tok.kind == "op" and tok.value == "(":
            self.take()
            node = self.or_expr()
            self.expect_op(")")
            return node
        if self.is_word("true"):
            self.take()
            return ("true",)
        if tok.kind != "word":
            raise RuleError("expected a figure name", tok.pos, self.text)
        name = str(self.take().value)
        if self.names is not None and name not in self.names:
            raise RuleError(f"unknown figure {name!r}", tok.pos, self.text)
        if self.is_word("in"):
            self.take()
            self.expect_op("(")
            values = [self.value()]
            while self.peek().kind == "op" and self.peek().value == ",":
                self.take()
                values.append(self.value())
            self.expect_op(")")
            return ("in", name, tuple(values))
        op = self.take()
        if op.kind != "op" or op.value not in _OPS:
            raise RuleError("expected a comparison (<, <=, >, >=, ==, !=, in)", op.pos, self.text)
        return ("cmp", name, op.value, self.value())


def rule_names() -> frozenset[str]:
    """Figures a segment condition may use."""
    base = {f.name for f in fields(DebtorProfile) if f.name not in ("channel_response", "debtor_id", "as_of")}
    base |= {"rating", "response_email", "response_letter", "response_sms", "response_call"}
    return frozenset(base)


_RULE_NAMES = rule_names()


def parse_condition(text: str, names: frozenset[str] | None = None) -> Node:
    """Parse a condition; raise :class:`RuleError` naming the position of the first problem."""
    return _parse_cached(text, _RULE_NAMES if names is None else names)


@lru_cache(maxsize=1024)
def _parse_cached(text: str, names: frozenset[str]) -> Node:
    return _Parser(text, names).parse()


def _compare(actual: Any, op: str, wanted: Any) -> bool:
    if wanted is None:
        return (actual is None) if op == "==" else (actual is not None) if op == "!=" else False
    if actual is None:
        return False
    numeric = isinstance(actual, (int, float)), isinstance(wanted, (int, float))
    if numeric == (True, True):
        return _OPS[op](actual, wanted)
    if True in numeric:  # a number against a word (e.g. rating > 5): never true
        return False
    return _OPS[op](str(actual), str(wanted))


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return str(value)


def evaluate_condition(node: Node, values: Mapping[str, Any], because: list[str] | None = None) -> bool:
    """True if ``values`` satisfy the condition; the atoms that decided it are added to ``because``."""
    kind = node[0]
    if kind == "true":
        return True
    if kind == "and":
        sub: list[str] = []
        ok = evaluate_condition(node[1], values, sub) and evaluate_condition(node[2], values, sub)
        if ok and because is not None:
            because.extend(sub)
        return ok
    if kind == "or":
        sub = []
        if evaluate_condition(node[1], values, sub):
            if because is not None:
                because.extend(sub)
            return True
        sub = []
        ok = evaluate_condition(node[2], values, sub)
        if ok and because is not None:
            because.extend(sub)
        return ok
    if kind == "not":
        ok = not evaluate_condition(node[1], values, None)
        if ok and because is not None:
            because.append(f"not ({_describe(node[1], values)})")
        return ok
    if kind == "cmp":
        _, name, op, wanted = node
        ok = _compare(values.get(name), op, wanted)
    else:
        _, name, wanted_values = node
        ok = any(_compare(values.get(name), "==", w) for w in wanted_values)
    if ok and because is not None:
        because.append(_describe(node, values))
    return ok


def _describe(node: Node, values: Mapping[str, Any]) -> str:
    kind = node[0]
    if kind == "cmp":
        _, name, op, wanted = node
        return f"{name} = {_fmt(values.get(name))} ({op} {_fmt(wanted)})"
    if kind == "in":
        _, name, wanted_values = node
        return f"{name} = {_fmt(values.get(name))} (in {', '.join(_fmt(w) for w in wanted_values)})"
    if kind == "not":
        return f"not ({_describe(node[1], values)})"
    if kind == "true":
        return "true"
    return f"({_describe(node[1], values)} {kind} {_describe(node[2], values)})"


@dataclass(frozen=True, slots=True)
class SegmentPolicy:
    """What a segment decides for its debtors."""

    playbook: str
    payment_terms_days: int
    credit_limit_minor: int | None  # None: no limit suggested
    max_instalments: int
    min_down_payment_percent: int
    max_plan_days: int
    thank_you_messages: bool
    # What may be agreed beyond the plan limits; None: by the trust the down payment expresses (the agreement
    # services' tiers). Settlement floor (% of what is open), one-click extension on the debtor's page (days,
    # 0: none), the furthest payment date (days ahead), the offers allowed (incentive kinds), the longest
    # deadline of a step (days).
    settlement_floor_percent: int | None = None
    extension_days: int | None = None
    promise_max_days: int | None = None
    offers: tuple[str, ...] | None = None
    deadline_days: int | None = None

    def __post_init__(self) -> None:
        if self.payment_terms_days < 0 or self.max_instalments < 0 or self.max_plan_days < 0:
            raise ValueError("segment terms, instalments and plan days cannot be negative")
        if not 0 <= self.min_down_payment_percent <= 100:
            raise ValueError("the minimum down payment is a percentage from 0 to 100")
        if self.credit_limit_minor is not None and self.credit_limit_minor < 0:
            raise ValueError("a credit limit cannot be negative")
        if self.settlement_floor_percent is not None and not 0 <= self.settlement_floor_percent <= 100:
            raise ValueError("the settlement floor is a percentage from 0 to 100")
        days = (self.extension_days, self.promise_max_days, self.deadline_days)
        if any(d is not None and d < 0 for d in days):
            raise ValueError("extension, payment date and deadline days cannot be negative")


@dataclass(frozen=True, slots=True)
class SegmentRule:
    """One segment: the first rule (in order) whose condition holds decides the debtor's segment."""

    key: str
    label: str  # English msgid, translated for display
    condition: str
    policy: SegmentPolicy

    def parsed(self) -> Node:
        return parse_condition(self.condition)


@dataclass(frozen=True, slots=True)
class SegmentChoice:
    rule: SegmentRule
    rating: Rating | None
    reason: Reason

    @property
    def key(self) -> str:
        return self.rule.key

    @property
    def policy(self) -> SegmentPolicy:
        return self.rule.policy


def validate_rules(rules: Sequence[SegmentRule]) -> None:
    """Every condition parses, keys are unique and the last rule matches everyone (a catch-all)."""
    if not rules:
        raise ValueError("at least one segment is needed")
    keys = [r.key for r in rules]
    if len(set(keys)) != len(keys):
        raise ValueError("segment keys must be unique")
    for rule in rules:
        rule.parsed()
    if rules[-1].parsed() != ("true",):
        raise ValueError("the last segment must have no condition (it takes everyone not matched before)")


DEFAULT_SEGMENT_RULES: tuple[SegmentRule, ...] = (
    SegmentRule(
        "risky",
        gettext_noop("Risky"),
        "rating == D or oldest_overdue_days > 60 or promises_broken >= 2",
        SegmentPolicy("strict", 14, 0, 3, 30, 90, False),
    ),
    SegmentRule(
        "watch",
        gettext_noop("Watch"),
        "rating == C or trend_days_late > 10 or oldest_overdue_days > 30 or disputes_open >= 1 "
        "or promises_broken >= 1",
        SegmentPolicy("firm", 14, 500_000, 4, 20, 120, False),
    ),
    SegmentRule(
        "best",
        gettext_noop("Best payers"),
        "rating == A and invoices_paid >= 5 and overdue_count == 0",
        SegmentPolicy("gentle", 30, None, 12, 0, 365, True),
    ),
    SegmentRule(
        "normal",
        gettext_noop("Normal"),
        "",
        SegmentPolicy("standard", 30, 2_000_000, 6, 10, 180, False),
    ),
)


def choose_segment(
    profile: DebtorProfile,
    rules: Sequence[SegmentRule] = DEFAULT_SEGMENT_RULES,
    thresholds: RatingThresholds = RatingThresholds(),
) -> SegmentChoice:
    """The debtor's segment (first matching rule) with the reason: the conditions that held."""
    rating = payer_rating(profile, thresholds)
    values = profile.values()
    values["rating"] = None if rating is None else rating.value
    for rule in rules:
        because: list[str] = []
        if evaluate_condition(rule.parsed(), values, because):
            if because:
                reason = Reason(
                    gettext_noop("Segment {segment}: {conditions}"),
                    {"segment": rule.label, "conditions": "; ".join(because)},
                    ("segment",),
                )
            else:
                reason = Reason(
                    gettext_noop("Segment {segment}: no other segment's conditions apply"),
                    {"segment": rule.label},
                    ("segment",),
                )
            return SegmentChoice(rule, rating, reason)
    raise ValueError("no segment matched: the last rule must be a catch-all (see validate_rules)")
