"""Which open invoices a payment received on the bank account pays: pure rules with scores and reasons.

The rules, strongest first (each candidate says which rules found it and why):

1. ``invoice_in_text`` — invoice numbers or payment references written in the remittance text. Letters and
   prefixes ("RE", "Rechnung", "Rēķins", "INV-") are ignored, so are leading zeros, spaces, separators and
   case: ``RE-2026-01452``, ``re 2026/1452`` and ``2026-01452`` are the same number. A number written in
   short after a full one (``RE-2026-01452 u. 01453``) takes the full one's leading groups. Only the last
   group of a number (``Rechnung Nr 1452`` for ``RE-2026-01452``) counts when exactly one open invoice ends
   so. Several invoices named: the amount is split over them in the order written, each paid in full
   before the next; what is left goes with the last.
2. ``creditor_reference`` — a structured creditor reference (ISO 11649 ``RF..`` with valid check digits, or
   a national one) equal to an invoice's payment reference or number.
3. ``end_to_end_id`` — the payer's end-to-end id equals an invoice number or payment reference we issued.
4. ``known_iban`` — the payer's IBAN paid a debtor's invoices before and the amount is exactly what one of
   its invoices (or all of them) has open.
5. ``amount_and_name`` — the amount is exactly what one invoice has open and the payer's name is the
   debtor's name (legal forms, case, accents and punctuation aside).
6. ``amount_only`` — when nothing else found a candidate: the invoices that have exactly this amount open
   (at most :data:`AMOUNT_ONLY_LIMIT`), never sure, so that the person who decides sees them.

A candidate is *sure* when its score reaches :data:`SURE_SCORE` and no other candidate comes within
:data:`MARGIN` of it; everything else waits for a person with its candidates.

Reasons are :class:`MatchReason` objects: an English message id (marked with :func:`gettext_noop` so
``makemessages`` collects it) and its parameters, amounts as :class:`~mahnwerk.core.money.Money`. They are
stored as such (``as_json``) and worded in the reader's language when shown (:func:`reason_text`).
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from mahnwerk.core.money import Money, format_money

SURE_SCORE = 80
MARGIN = 10

SCORE_NUMBER_EXACT_AMOUNT = 98  # the invoices named, and the amount is what they have open
SCORE_NUMBER = 90  # the invoices named, another amount (a partial or an overpayment)
SCORE_NUMBER_SHORT = 70  # only the last group of a number written
SCORE_CREDITOR_REFERENCE = 95
SCORE_END_TO_END = 90
SCORE_IBAN_AMOUNT = 85
SCORE_IBAN_TOTAL = 82
SCORE_IBAN_ONLY = 50
SCORE_NAME_AMOUNT = 80
SCORE_NAME_SIMILAR_AMOUNT = 65
SCORE_AMOUNT_ONLY = 40  # the amount alone: a hint for the person who decides, never sure
AMOUNT_ONLY_LIMIT = 5  # more invoices with the same amount say nothing
PENALTY_OTHER_DEBTOR = 25  # the text names an invoice of another debtor than the IBAN paid for before


def gettext_noop(message: str) -> str:
    """Mark ``message`` for translation without translating it (worded later, in the reader's language)."""
    return message


def _identity(message: str) -> str:
    return message


@dataclass(frozen=True, slots=True)
class MatchReason:
    """Why a candidate was found or a decision taken: ``message`` is an English msgid with ``{name}``
    placeholders, ``params`` their values (text, numbers, or :class:`Money` worded in the reader's language)."""

    message: str
    params: Mapping[str, str | int | Money] = field(default_factory=dict)

    def render(self, translate: Callable[[str], str] = _identity, language: str = "en") -> str:
        values = {
            key: format_money(value.minor, value.currency, language) if isinstance(value, Money) else value
            for key, value in self.params.items()
        }
        try:
            return translate(self.message).format(**values)
        except (KeyError, IndexError, ValueError):  # a translation with a wrong placeholder: the English text
            return self.message.format(**values)

    def __str__(self) -> str:
        return self.render()

    def as_json(self) -> dict[str, Any]:
        params: dict[str, Any] = {
            key: {"money": [value.minor, value.currency]} if isinstance(value, Money) else value
            for key, value in self.params.items()
        }
        return {"message": self.message, "params": params}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MatchReason:
        params: dict[str, str | int | Money] = {}
        for key, value in dict(data.get("params") or {}).items():
            if isinstance(value, Mapping) and "money" in value:
                minor, currency = value["money"]
                params[key] = Money(int(minor), str(currency))
            else:
                params[key] = value
        return cls(str(data.get("message", "")), params)


def reason_text(stored: Any, translate: Callable[[str], str] = _identity, language: str = "en") -> str:
    """A stored reason in the reader's language: a :class:`MatchReason` or its JSON; a plain string is a
    reason stored as English text before reasons were kept as message ids (translated where it is one)."""
    if isinstance(stored, MatchReason):
        return stored.render(translate, language)
    if isinstance(stored, Mapping) and "message" in stored:
        return MatchReason.from_json(stored).render(translate, language)
    text = str(stored)
    return translate(text) if text else text


def _why(message: str, **params: str | int | Money) -> MatchReason:
    return MatchReason(message, params)


@dataclass(frozen=True, slots=True)
class OpenItem:
    invoice_id: int
    debtor_id: int
    number: str
    reference: str
    open_minor: int
    currency: str
    due_date: date


@dataclass(frozen=True, slots=True)
class Incoming:
    """A payment received, as matching sees it."""

    amount_minor: int
    currency: str
    text: str = ""
    creditor_reference: str = ""
    document_numbers: tuple[str, ...] = ()
    end_to_end_id: str = ""
    payer_iban: str = ""
    payer_names: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Part:
    """A share of the payment for one debtor, on one invoice (or on the debtor's oldest items: ``None``)."""

    debtor_id: int
    invoice_id: int | None
    amount_minor: int


@dataclass(slots=True)
class Candidate:
    parts: tuple[Part, ...]
    score: int
    rules: list[str] = field(default_factory=list)
    reasons: list[MatchReason] = field(default_factory=list)

    @property
    def debtor_ids(self) -> set[int]:
        return {p.debtor_id for p in self.parts}

    @property
    def invoice_ids(self) -> tuple[int | None, ...]:
        return tuple(p.invoice_id for p in self.parts)


@dataclass(slots=True)
class Decision:
    candidates: list[Candidate]
    sure: bool
    reasons: list[MatchReason]

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None


# --- numbers in free text ------------------------------------------------------------------------------

_RUN_RE = re.compile(r"\d+(?:[-/.\s]\d+)*")
_KEYWORD_RE = re.compile(
    r"(?:\bRE|\bRG|RECHNUNG|RECHN|\bINV|INVOICE|REKINS|REKINA|REKINU|\bNR|\bNO|\bNUMMER|\bBILL)\W{0,4}$"
)


def fold(text: str) -> str:
    """Upper case without accents: ``Rēķins`` -> ``REKINS``, ``Schünke`` -> ``SCHUNKE``."""
    if text.isascii():  # nothing to decompose (most transfer texts): the same result, much faster
        return text.upper()
    decomposed = unicodedata.normalize("NFKD", text.replace("ß", "ss"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).upper()


_DIGITS_RE = re.compile(r"\d+")
_NON_ALNUM_RE = re.compile(r"[^0-9A-Z]")


def number_groups(value: str) -> tuple[str, ...]:
    """The digit groups of an invoice number, leading zeros off: ``RE-2026-01452`` -> ``("2026", "1452")``."""
    return tuple(g.lstrip("0") or "0" for g in _DIGITS_RE.findall(value))


def number_keys(value: str) -> set[str]:
    """The forms under which a number is recognised: its groups joined, and all its digits as written."""
    digits = _DIGITS_RE.findall(value)
    written = "".join(digits)
    if len(written) < 3:
        return set()
    return {"-".join(g.lstrip("0") or "0" for g in digits), written}


@dataclass(frozen=True, slots=True)
class _Run:
    start: int
    groups: tuple[str, ...]  # as written (leading zeros kept)
    keyword: bool  # preceded by RE, Rechnung, Nr, INV, ...


def _runs(text: str) -> list[_Run]:
    folded = fold(text)
    runs = []
    for m in _RUN_RE.finditer(folded):
        groups = tuple(_DIGITS_RE.findall(m.group(0)))
        runs.append(
            _Run(m.start(), groups, bool(_KEYWORD_RE.search(folded[max(0, m.start() - 16) : m.start()])))
        )
    return runs


def _sub_keys(groups: Sequence[str]) -> list[tuple[int, int, set[str]]]:
    """For every contiguous slice of a run's groups: its keys (longest slices first)."""
    found = []
    n = len(groups)
    for length in range(n, 0, -1):
        for i in range(0, n - length + 1):
            part = groups[i : i + length]
            raw = "".join(part)
            keys = {"-".join(g.lstrip("0") or "0" for g in part), raw}
            found.append((i, i + length, keys))
    return found


@dataclass(slots=True)
class _Index:
    """The items by the keys of their numbers and references, by debtor and by open amount (built once;
    ``items`` holds their current open amounts)."""

    items: dict[int, OpenItem]
    by_key: dict[str, list[int]]
    by_last: dict[str, list[int]]
    by_ref: dict[str, list[int]]
    by_debtor: dict[int, list[int]]
    by_amount: dict[tuple[str, int], set[int]]
    currency: str = ""

    @classmethod
    def build(cls, items: Iterable[OpenItem]) -> _Index:
        index = cls(
            {}, defaultdict(list), defaultdict(list), defaultdict(list), defaultdict(list), defaultdict(set)
        )
        for item in items:
            index.items[item.invoice_id] = item
            index.by_debtor[item.debtor_id].append(item.invoice_id)
            index.by_amount[(item.currency, item.open_minor)].add(item.invoice_id)
            for value in {item.number, item.reference} - {""}:
                for key in number_keys(value):
                    index.by_key[key].append(item.invoice_id)
                groups = _DIGITS_RE.findall(value)
                if len(groups) >= 2 and len(groups[-1]) >= 3:
                    index.by_last[groups[-1].lstrip("0")].append(item.invoice_id)
                index.by_ref[alnum(value)].append(item.invoice_id)
        return index

    def find(self, table: Mapping[Any, Iterable[int]], key: Any) -> list[OpenItem]:
        """The items still open (in the currency looked for) under ``key``, each once."""
        found = (self.items[i] for i in dict.fromkeys(table.get(key, ())))
        return [
            it for it in found if it.open_minor > 0 and (not self.currency or it.currency == self.currency)
        ]

    def set_open(self, invoice_id: int, open_minor: int) -> None:
        item = self.items[invoice_id]
        self.by_amount[(item.currency, item.open_minor)].discard(invoice_id)
        self.items[invoice_id] = replace(item, open_minor=open_minor)
        self.by_amount[(item.currency, open_minor)].add(invoice_id)


def alnum(value: str) -> str:
    return _NON_ALNUM_RE.sub("", fold(value))


def invoices_in_text(text: str, items: Sequence[OpenItem]) -> list[tuple[OpenItem, bool]]:
    """The open items the text names, in the order written, each with ``True`` where the whole number (not
    only its last group) was written."""
    index = _Index.build(items)
    return _named(text, index)


def _named(text: str, index: _Index) -> list[tuple[OpenItem, bool]]:
    found: dict[int, tuple[OpenItem, bool]] = {}
    order: list[int] = []
    last_full: tuple[str, ...] | None = None

    def add(item: OpenItem, full: bool) -> None:
        if item.invoice_id not in found:
            order.append(item.invoice_id)
            found[item.invoice_id] = (item, full)
        elif full and not found[item.invoice_id][1]:
            found[item.invoice_id] = (item, True)

    for run in _runs(text):
        covered: set[int] = set()
        for i, j, keys in _sub_keys(run.groups):
            if covered & set(range(i, j)):
                continue
            raw_len = sum(len(g) for g in run.groups[i:j])
            if raw_len < 3 and not run.keyword:
                continue
            hits = {it.invoice_id: it for k in keys for it in index.find(index.by_key, k)}
            if hits:
                for item in hits.values():
                    add(item, True)
                    digits = _DIGITS_RE.findall(item.number) or _DIGITS_RE.findall(item.reference)
                    last_full = tuple(digits)
                covered |= set(range(i, j))
        for i, group in enumerate(run.groups):
            if i in covered or len(group) < 2:
                continue
            # written in short after a full number: "RE-2026-01452 u. 01453"
            if last_full and len(last_full) >= 2:
                guess = (*last_full[:-1], group)
                hits = {
                    it.invoice_id: it
                    for k in number_keys("-".join(guess))
                    for it in index.find(index.by_key, k)
                }
                if len(hits) == 1:
                    add(next(iter(hits.values())), True)
                    covered.add(i)
                    continue
            short = index.find(index.by_last, group.lstrip("0"))
            if len({it.invoice_id for it in short}) == 1 and (len(group) >= 3 or run.keyword):
                add(short[0], False)
                covered.add(i)
    return [found[i] for i in order]


# --- references ----------------------------------------------------------------------------------------


def rf_is_valid(reference: str) -> bool:
    """ISO 11649: ``RF`` + 2 check digits + up to 21 characters, mod 97 = 1."""
    value = alnum(reference)
    if not re.fullmatch(r"RF\d{2}[0-9A-Z]{1,21}", value):
        return False
    digits = "".join(str(int(ch, 36)) for ch in value[4:] + value[:4])
    return int(digits) % 97 == 1


_RF_IN_TEXT = re.compile(r"\bRF\s?\d{2}(?:\s?[0-9A-Z]){1,21}\b")


def creditor_references(incoming: Incoming) -> list[str]:
    """The structured reference and every valid RF reference in the text, normalised."""
    refs = [alnum(incoming.creditor_reference)] if incoming.creditor_reference else []
    for m in _RF_IN_TEXT.finditer(fold(incoming.text)):
        value = alnum(m.group(0))
        # the greedy match may run into the next word: take the longest valid prefix
        for end in range(len(value), 4, -1):
            if rf_is_valid(value[:end]):
                refs.append(value[:end])
                break
    return list(dict.fromkeys(r for r in refs if r))


# --- names ---------------------------------------------------------------------------------------------

_LEGAL_FORMS = {
    "GMBH", "UG", "AG", "KG", "OHG", "GBR", "EK", "EV", "MBH", "CO", "HAFTUNGSBESCHRANKT", "SIA", "AS", "IK",
    "SE", "LTD", "LLC", "INC", "BV", "NV", "SARL", "SRL", "OU", "UAB", "CORP", "PLC", "GMBHCOKG", "AND", "UND",
}  # fmt: skip


def name_tokens(name: str) -> tuple[str, ...]:
    """The words of a name that identify it: folded, "ae"/"oe"/"ue" read as the umlaut they stand for
    (``MUELLER`` = ``Müller`` = ``MULLER``), legal forms left out."""
    words = re.findall(r"[0-9A-Z]+", fold(name))
    words = [re.sub(r"([AOU])E", r"\1", w) for w in words]
    return tuple(w for w in words if w not in _LEGAL_FORMS and len(w) > 1)


def name_similarity(a: str, b: str) -> float:
    """1.0 for the same name (order, case, accents and legal form aside), else the share of the shorter
    name's words found in the other (at most 0.9)."""
    ta, tb = name_tokens(a), name_tokens(b)
    if not ta or not tb:
        return 0.0
    if sorted(ta) == sorted(tb):
        return 1.0
    small, large = (ta, tb) if len(ta) <= len(tb) else (tb, ta)
    return min(0.9, sum(1 for w in small if w in large) / len(small))


# --- the decision --------------------------------------------------------------------------------------


def split_over(amount_minor: int, items: Sequence[OpenItem]) -> tuple[Part, ...]:
    """The amount over the items in the order given, each paid in full before the next; the rest with the
    last."""
    parts = []
    left = amount_minor
    for i, item in enumerate(items):
        share = left if i == len(items) - 1 else min(left, item.open_minor)
        if share > 0:
            parts.append(Part(item.debtor_id, item.invoice_id, share))
        left -= share
    return tuple(parts)


def decide(
    incoming: Incoming,
    items: Sequence[OpenItem],
    known_ibans: Mapping[str, set[int]] | None = None,
    debtor_names: Mapping[int, str] | None = None,
) -> Decision:
    """The candidates for ``incoming`` among the open ``items`` (best first) and whether the best is sure.

    ``known_ibans`` maps a payer IBAN to the debtors it paid for before; ``debtor_names`` a debtor to its
    name. For many payments against the same items, build a :class:`Matcher` once.
    """
    return Matcher(items).decide(incoming, known_ibans, debtor_names)


class Matcher:
    """The open items indexed once, for deciding many payments; ``consume`` takes what a payment decided
    pays off the items, so that the next payment sees what is still open."""

    def __init__(self, items: Iterable[OpenItem]) -> None:
        self.index = _Index.build(items)

    def consume(self, parts: Iterable[Part]) -> None:
        for part in parts:
            item = self.index.items.get(part.invoice_id) if part.invoice_id is not None else None
            if item is not None:
                self.index.set_open(item.invoice_id, max(item.open_minor - part.amount_minor, 0))

    def decide(
        self,
        incoming: Incoming,
        known_ibans: Mapping[str, set[int]] | None = None,
        debtor_names: Mapping[int, str] | None = None,
    ) -> Decision:
        self.index.currency = incoming.currency
        try:
            return _decide(incoming, self.index, known_ibans or {}, debtor_names or {})
        finally:
            self.index.currency = ""


def _decide(
    incoming: Incoming, index: _Index, known_ibans: Mapping[str, set[int]], debtor_names: Mapping[int, str]
) -> Decision:
    candidates: list[Candidate] = []
    iban_debtors = (
        known_ibans.get(incoming.payer_iban.replace(" ", "").upper(), set()) if incoming.payer_iban else set()
    )

    # 1. invoice numbers and payment references in the text
    text = " ".join([incoming.text, *incoming.document_numbers])
    named = _named(text, index) if text.strip() else []
    if named:
        chosen = [it for it, _full in named]
        open_total = sum(it.open_minor for it in chosen)
        full = all(f for _it, f in named)
        numbers = ", ".join(it.number for it in chosen)
        if full:
            score = SCORE_NUMBER_EXACT_AMOUNT if incoming.amount_minor == open_total else SCORE_NUMBER
        else:
            score = SCORE_NUMBER_SHORT + (10 if incoming.amount_minor == open_total else 0)
        open_money = Money(open_total, incoming.currency)
        reasons = [
            _why(gettext_noop("the transfer text names invoice {numbers}"), numbers=numbers)
            if len(chosen) == 1
            else _why(gettext_noop("the transfer text names invoices {numbers}"), numbers=numbers)
        ]
        if not full:
            reasons.append(_why(gettext_noop("only the last group of a number is written")))
        if incoming.amount_minor == open_total:
            reasons.append(
                _why(gettext_noop("the amount is exactly what is open on them ({open})"), open=open_money)
            )
        elif incoming.amount_minor < open_total:
            reasons.append(_why(gettext_noop("a partial payment: {open} is open on them"), open=open_money))
        else:
            reasons.append(_why(gettext_noop("more than is open on them ({open})"), open=open_money))
        debtors = {it.debtor_id for it in chosen}
        if len(debtors) > 1:
            score -= PENALTY_OTHER_DEBTOR
            reasons.append(_why(gettext_noop("the invoices named belong to different debtors")))
        if iban_debtors and not debtors & iban_debtors:
            score -= PENALTY_OTHER_DEBTOR
            reasons.append(_why(gettext_noop("the payer's IBAN paid for another debtor before")))
        candidates.append(
            Candidate(split_over(incoming.amount_minor, chosen), score, ["invoice_in_text"], reasons)
        )

    # 2. structured creditor references (RF and national)
    for ref in creditor_references(incoming):
        hits = index.find(index.by_ref, ref)
        if not hits and rf_is_valid(ref):
            payload = ref[4:]
            hits = list(
                {
                    it.invoice_id: it for k in number_keys(payload) for it in index.find(index.by_key, k)
                }.values()
            ) or index.find(index.by_ref, payload)
        if len(hits) == 1:
            item = hits[0]
            candidates.append(
                Candidate(
                    split_over(incoming.amount_minor, [item]),
                    SCORE_CREDITOR_REFERENCE,
                    ["creditor_reference"],
                    [
                        _why(
                            gettext_noop("the RF creditor reference {ref} is that of invoice {number}"),
                            ref=ref,
                            number=item.number,
                        )
                        if rf_is_valid(ref)
                        else _why(
                            gettext_noop(
                                "the structured creditor reference {ref} is that of invoice {number}"
                            ),
                            ref=ref,
                            number=item.number,
                        )
                    ],
                )
            )

    # 3. the end-to-end id is an invoice number or payment reference we issued
    if incoming.end_to_end_id:
        e2e = alnum(incoming.end_to_end_id)
        hits = index.find(index.by_ref, e2e)
        if len(hits) == 1:
            item = hits[0]
            candidates.append(
                Candidate(
                    split_over(incoming.amount_minor, [item]),
                    SCORE_END_TO_END,
                    ["end_to_end_id"],
                    [
                        _why(
                            gettext_noop("the end-to-end id {id} is invoice {number}"),
                            id=incoming.end_to_end_id,
                            number=item.number,
                        )
                    ],
                )
            )

    # 4. a known payer IBAN and an exact open amount
    for debtor_id in sorted(iban_debtors):
        own = sorted(index.find(index.by_debtor, debtor_id), key=lambda it: (it.due_date, it.number))
        exact = [it for it in own if it.open_minor == incoming.amount_minor]
        why = _why(
            gettext_noop("the payer's IBAN {iban} paid for this debtor before"), iban=incoming.payer_iban
        )
        if len(exact) == 1:
            candidates.append(
                Candidate(
                    split_over(incoming.amount_minor, exact),
                    SCORE_IBAN_AMOUNT,
                    ["known_iban"],
                    [
                        why,
                        _why(
                            gettext_noop("the amount is exactly what invoice {number} has open"),
                            number=exact[0].number,
                        ),
                    ],
                )
            )
        elif own and sum(it.open_minor for it in own) == incoming.amount_minor:
            candidates.append(
                Candidate(
                    split_over(incoming.amount_minor, own),
                    SCORE_IBAN_TOTAL,
                    ["known_iban"],
                    [why, _why(gettext_noop("the amount is exactly what all its invoices have open"))],
                )
            )
        else:
            candidates.append(
                Candidate(
                    (Part(debtor_id, None, incoming.amount_minor),),
                    SCORE_IBAN_ONLY,
                    ["known_iban"],
                    [why, _why(gettext_noop("no invoice has exactly this amount open"))],
                )
            )

    # 5. amount and name
    if incoming.payer_names:
        for item in index.find(index.by_amount, (incoming.currency, incoming.amount_minor)):
            if item.debtor_id not in debtor_names:
                continue
            similarity = max(name_similarity(n, debtor_names[item.debtor_id]) for n in incoming.payer_names)
            if similarity >= 0.99:
                score = SCORE_NAME_AMOUNT
            elif similarity >= 0.5:
                score = SCORE_NAME_SIMILAR_AMOUNT
            else:
                continue
            candidates.append(
                Candidate(
                    split_over(incoming.amount_minor, [item]),
                    score,
                    ["amount_and_name"],
                    [
                        _why(
                            gettext_noop("the amount is exactly what invoice {number} has open"),
                            number=item.number,
                        ),
                        _why(gettext_noop("the payer's name is that of the debtor"))
                        if score == SCORE_NAME_AMOUNT
                        else _why(gettext_noop("the payer's name is like that of the debtor")),
                    ],
                )
            )

    # 6. the amount alone, when nothing else points anywhere
    if not candidates:
        same = index.find(index.by_amount, (incoming.currency, incoming.amount_minor))
        if 0 < len(same) <= AMOUNT_ONLY_LIMIT:
            for item in sorted(same, key=lambda it: (it.number, it.invoice_id)):
                candidates.append(
                    Candidate(
                        split_over(incoming.amount_minor, [item]),
                        SCORE_AMOUNT_ONLY,
                        ["amount_only"],
                        [
                            _why(
                                gettext_noop("the amount is exactly what invoice {number} has open"),
                                number=item.number,
                            ),
                            _why(gettext_noop("nothing else in the payment points to it")),
                        ],
                    )
                )

    merged = _merge(candidates)
    sure = (
        bool(merged)
        and merged[0].score >= SURE_SCORE
        and (len(merged) == 1 or merged[0].score - merged[1].score >= MARGIN)
    )
    reasons = (
        list(merged[0].reasons)
        if merged
        else [_why(gettext_noop("no invoice number, reference, known IBAN or name matched"))]
    )
    if merged and not sure:
        if merged[0].score < SURE_SCORE:
            reasons.append(
                _why(gettext_noop("score {score} is below {sure}"), score=merged[0].score, sure=SURE_SCORE)
            )
        else:
            reasons.append(
                _why(
                    gettext_noop("another candidate scores {other} against {best}"),
                    other=merged[1].score,
                    best=merged[0].score,
                )
            )
    return Decision(merged, sure, reasons)


def _merge(candidates: list[Candidate]) -> list[Candidate]:
    """Candidates that pay the same invoices are one candidate: the best score, plus 2 per further rule
    agreeing (at most 100), all reasons."""
    by_target: dict[tuple[tuple[int, int | None], ...], Candidate] = {}
    for cand in candidates:
        target = tuple(sorted(((p.debtor_id, p.invoice_id) for p in cand.parts), key=str))
        if target not in by_target:
            by_target[target] = Candidate(cand.parts, cand.score, list(cand.rules), list(cand.reasons))
            continue
        known = by_target[target]
        new_rules = [r for r in cand.rules if r not in known.rules]
        known.score = min(100, max(known.score, cand.score) + 2 * len(new_rules))
        if cand.score > known.score:
            known.parts = cand.parts
        known.rules += new_rules
        known.reasons += [r for r in cand.reasons if r not in known.reasons]
    return sorted(by_target.values(), key=lambda c: -c.score)
