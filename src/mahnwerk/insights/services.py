"""Customer insights use cases: the core's behaviour, rating, segments, prediction and KPIs fed from the
database. One function per use case; each loads what it needs in a fixed number of queries.

What is read as of a business date ``as_of`` (nothing later, so back-dated runs see what was known then):

* invoices issued on or before ``as_of``;
* an invoice counts as paid on ``settled_on`` when it is settled (open 0) and ``settled_on <= as_of``;
  *partial payments* are the principal allocations (payments and credit notes alike: a credit note
  reduces what the debtor owes just as a payment does) dated before the settlement, or on or before
  ``as_of`` while the invoice is open; interest and cost allocations do not pay the invoice amount;
  a principal written off (small balance) is no money received: the invoice counts as issued over the
  amount less what was written off on or before ``as_of``;
* messages that were sent (status ``sent``), dated by ``sent_at`` in the company's time zone, with the
  template of the action's step as ``step``; a message belongs to the debtor, not to one invoice;
* promises made and disputes opened on or before ``as_of``, when the agreements models exist.
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, connections, models, transaction
from django.utils import timezone, translation
from django.utils.text import capfirst
from django.utils.translation import gettext

from mahnwerk.core.behaviour import (
    DEFAULT_SEGMENT_RULES,
    ChannelResponse,
    DebtorHistory,
    DebtorProfile,
    DisputeRecord,
    InvoiceRecord,
    MessageRecord,
    PromiseRecord,
    RatingThresholds,
    SegmentChoice,
    SegmentPolicy,
    SegmentRule,
    choose_segment,
    debtor_histories,
    debtor_profile,
    debtor_profiles,
    validate_rules,
)
from mahnwerk.core.kpi import KpiReport, Period, credit_sales, kpi_report, receivables_at
from mahnwerk.core.prediction import FallbackModel, PaymentModel, Prediction, WorklistItem, worklist_order
from mahnwerk.core.tabular import MAX_DATE, MIN_DATE
from mahnwerk.insights.models import DebtorInsight, InvoicePrediction, RatingSettings, SegmentRuleRow
from mahnwerk.insights.reasons import reason_from_json, reason_to_json
from mahnwerk.ledger import timeline
from mahnwerk.ledger.models import Allocation, Company, Invoice
from mahnwerk.ledger.services import company_today

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------------
# Records from the database


@dataclass(frozen=True, slots=True)
class CompanyRecords:
    """A company's history as plain records, as known at the end of ``as_of``."""

    as_of: date
    invoices: list[InvoiceRecord]
    messages: list[MessageRecord]
    promises: list[PromiseRecord]
    disputes: list[DisputeRecord]


def records_for(company: Company, as_of: date, debtor_ids: Sequence[int] | None = None) -> CompanyRecords:
    """Invoices, messages, promises and disputes of ``company`` known at the end of ``as_of`` (of
    ``debtor_ids`` only, where given).

    Queries: invoices, principal allocations, sent messages, and (when they exist) promises and
    disputes — independent of the number of debtors.
    """
    only: dict[str, Any] = {} if debtor_ids is None else {"debtor_id__in": list(debtor_ids)}
    partials: dict[int, list[tuple[date, int]]] = defaultdict(list)
    written_off: dict[int, int] = defaultdict(int)
    for invoice_id, value_date, minor, write_off_id in _plain_rows(
        Allocation.objects.filter(
            invoice__company=company,
            component="principal",
            value_date__lte=as_of,
            invoice__issue_date__lte=as_of,
            **{f"invoice__{k}": v for k, v in only.items()},
        )
        .order_by("invoice_id", "value_date", "id")
        .values_list("invoice_id", "value_date", "amount_minor", "write_off_id")
    ):
        if write_off_id is None:
            partials[invoice_id].append((value_date, minor))
        else:
            written_off[invoice_id] += minor
    invoices = []
    skipped: list[int] = []
    for pk, debtor_id, issue, due, amount, open_minor, settled_on, currency in _plain_rows(
        Invoice.objects.filter(company=company, issue_date__lte=as_of, **only)
        .order_by("id")
        .values_list(
            "id",
            "debtor_id",
            "issue_date",
            "due_date",
            "amount_minor",
            "open_minor",
            "settled_on",
            "currency",
        )
    ):
        if not (MIN_DATE <= issue <= MAX_DATE and MIN_DATE <= due <= MAX_DATE):
            skipped.append(pk)  # a date no import accepts (0001-01-01, 9999-12-31): date arithmetic overflows
            continue
        paid = settled_on if open_minor == 0 and settled_on is not None and settled_on <= as_of else None
        parts = partials.get(pk, [])
        before = tuple(p for p in parts if p[0] < paid) if paid is not None else tuple(parts)
        amount -= written_off.get(pk, 0)
        invoices.append(
            InvoiceRecord(str(pk), str(debtor_id), issue, due, amount, paid, _merge_days(before), currency)
        )
    if skipped:
        log.warning(
            "company %s: %d invoice(s) with an issue or due date outside %s..%s left out of the insights "
            "(ids %s)",
            company.slug,
            len(skipped),
            MIN_DATE,
            MAX_DATE,
            ", ".join(map(str, skipped[:20])),
        )
    promises, disputes = _agreement_records(company, as_of, only)
    return CompanyRecords(as_of, invoices, _message_records(company, as_of, only), promises, disputes)


def out_of_range_invoices(company: Company) -> int:
    """How many of the company's invoices have an issue or due date outside the accepted range (left out of
    insights, key figures and predictions)."""
    outside = (
        models.Q(issue_date__lt=MIN_DATE)
        | models.Q(issue_date__gt=MAX_DATE)
        | models.Q(due_date__lt=MIN_DATE)
        | models.Q(due_date__gt=MAX_DATE)
    )
    return Invoice.objects.filter(outside, company=company).count()


def _plain_rows(queryset: models.QuerySet[Any, Any], chunk: int = 10_000) -> Iterator[tuple[Any, ...]]:
    """The rows of a ``values_list`` query of plain columns straight from the cursor. Both drivers return
    dates as dates and integers as integers (SQLite through the converters Django registers for the
    declared column types), so Django's per-value converters - a third of the loading time for 100,000
    invoices - are skipped."""
    sql, params = queryset.query.sql_with_params()
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(chunk):
            yield from rows


def _merge_days(payments: tuple[tuple[date, int], ...]) -> tuple[tuple[date, int], ...]:
    """One entry per day (several allocations of one day are one partial payment)."""
    merged: dict[date, int] = {}
    for day, minor in payments:
        merged[day] = merged.get(day, 0) + minor
    return tuple(sorted(merged.items()))


def _message_records(
    company: Company, as_of: date, only: dict[str, Any] | None = None
) -> list[MessageRecord]:
    from mahnwerk.comms.models import MessageStatus, OutboundMessage

    zone = ZoneInfo(company.time_zone)
    out = []
    for debtor_id, sent_at, channel, template in (
        OutboundMessage.objects.filter(
            company=company, status=MessageStatus.SENT, sent_at__isnull=False, **(only or {})
        )
        .order_by("sent_at", "id")
        .values_list("debtor_id", "sent_at", "channel", "action__step__template")
        .iterator(chunk_size=10_000)
    ):
        if sent_at is None:  # excluded by the filter; keeps the type checker informed
            continue
        sent_on = sent_at.astimezone(zone).date()
        if sent_on <= as_of:
            out.append(MessageRecord(str(debtor_id), sent_on, channel, template or ""))
    return out


def _agreement_records(
    company: Company, as_of: date, only: dict[str, Any] | None = None
) -> tuple[list[PromiseRecord], list[DisputeRecord]]:
    """Promises and disputes as they stood at the end of ``as_of`` (an outcome decided later is not known yet)."""
    from mahnwerk.collection.agreements_models import Dispute, Promise

    promises = [
        PromiseRecord(
            str(debtor_id),
            made_on,
            promised,
            amount or 0,
            {"kept": True, "broken": False, "partly_kept": False}.get(status)
            if closed_on is not None and closed_on <= as_of
            else None,
        )
        for debtor_id, made_on, promised, amount, status, closed_on in Promise.objects.filter(
            company=company, made_on__lte=as_of, **(only or {})
        ).values_list("debtor_id", "made_on", "promised_date", "amount_minor", "status", "closed_on")
    ]
    disputes = [
        DisputeRecord(
            str(debtor_id), opened, resolved if resolved is not None and resolved <= as_of else None
        )
        for debtor_id, opened, resolved in Dispute.objects.filter(
            company=company, opened_on__lte=as_of, **(only or {})
        ).values_list("debtor_id", "opened_on", "resolved_on")
    ]
    return promises, disputes


def _as_date(value: Any) -> date:
    return value.date() if isinstance(value, datetime) else value


# --------------------------------------------------------------------------------------------------
# Rules and thresholds


def segment_rules(company: Company) -> tuple[SegmentRule, ...]:
    """The company's segment rules in order; the shipped defaults when it has none."""
    rows = list(SegmentRuleRow.objects.filter(company=company).order_by("order"))
    return tuple(r.rule() for r in rows) if rows else DEFAULT_SEGMENT_RULES


@transaction.atomic
def set_segment_rules(company: Company, rules: Sequence[SegmentRule]) -> list[SegmentRuleRow]:
    """Replace the company's segment rules with ``rules`` (validated as a whole: see ``validate_rules``)."""
    validate_rules(rules)
    SegmentRuleRow.objects.filter(company=company).delete()
    return SegmentRuleRow.objects.bulk_create(
        SegmentRuleRow(
            company=company,
            order=n,
            key=r.key,
            label=r.label,
            condition=r.condition,
            playbook=r.policy.playbook,
            payment_terms_days=r.policy.payment_terms_days,
            credit_limit_minor=r.policy.credit_limit_minor,
            max_instalments=r.policy.max_instalments,
            min_down_payment_percent=r.policy.min_down_payment_percent,
            max_plan_days=r.policy.max_plan_days,
            thank_you_messages=r.policy.thank_you_messages,
            settlement_floor_percent=r.policy.settlement_floor_percent,
            extension_days=r.policy.extension_days,
            promise_max_days=r.policy.promise_max_days,
            offers=list(r.policy.offers) if r.policy.offers is not None else None,
            deadline_days=r.policy.deadline_days,
        )
        for n, r in enumerate(rules, start=1)
    )


# The terms of a segment a person may change (``change_segment_terms``); the last five may be left empty, so
# that the trust the minimum down payment expresses decides them (``collection.agreements.SEGMENT_TIERS``).
SEGMENT_TERMS = (
    "playbook",
    "payment_terms_days",
    "credit_limit_minor",
    "max_instalments",
    "min_down_payment_percent",
    "max_plan_days",
    "thank_you_messages",
    "settlement_floor_percent",
    "extension_days",
    "promise_max_days",
    "offers",
    "deadline_days",
)
OPTIONAL_TERMS = frozenset(
    {
        "credit_limit_minor",
        "settlement_floor_percent",
        "extension_days",
        "promise_max_days",
        "offers",
        "deadline_days",
    }
)
MIN_DEADLINE_DAYS = 7  # as the run: a step's deadline is never shorter
# The most a person may set for a number of a segment's terms: beyond these a term means nothing (ten years of
# instalments, a year's extension), and the columns are small integers.
TERM_LIMITS = {
    "payment_terms_days": 365,
    "credit_limit_minor": 10**12 - 1,  # as every amount the API takes
    "max_instalments": 120,
    "min_down_payment_percent": 100,
    "max_plan_days": 3650,
    "settlement_floor_percent": 100,
    "extension_days": 365,
    "promise_max_days": 3650,
    "deadline_days": 365,
}


class SegmentError(ValueError):
    """A change to a segment's terms that cannot be made (the message says why, in the active language)."""


@transaction.atomic
def change_segment_terms(company: Company, key: str, **changes: Any) -> SegmentRule:
    """Change the terms of the company's segment ``key`` (the shipped rules are written first where the
    company has none of its own); a value of None empties an optional term (then its tier decides). The
    next run, the clerk's forms, the debtor's page and the API use the new terms at once."""
    import dataclasses

    from mahnwerk.collection.agreements_models import IncentiveKind

    unknown = sorted(set(changes) - set(SEGMENT_TERMS))
    if unknown:
        raise SegmentError(gettext("Not a term of a segment: {names}.").format(names=", ".join(unknown)))
    rules = list(segment_rules(company))
    found = next((n for n, r in enumerate(rules) if r.key == key), None)
    if found is None:
        raise SegmentError(
            gettext("No segment {key}; the segments are {keys}.").format(
                key=key, keys=", ".join(r.key for r in rules)
            )
        )
    for name, value in changes.items():
        if value is None and name not in OPTIONAL_TERMS:
            raise SegmentError(gettext("{name} cannot be left empty.").format(name=name))
        limit = TERM_LIMITS.get(name)
        if limit is not None and value is not None:
            low = MIN_DEADLINE_DAYS if name == "deadline_days" else 0
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= limit:
                if name == "deadline_days" and isinstance(value, int) and value < low:
                    raise SegmentError(
                        gettext("A reminder deadline is never shorter than {days} days.").format(days=low)
                    )
                raise SegmentError(
                    gettext("{term}: a whole number from {low} to {high}.").format(
                        term=term_label(name), low=low, high=limit
                    )
                )
    if "thank_you_messages" in changes and not isinstance(changes["thank_you_messages"], bool):
        raise SegmentError(gettext("{name} cannot be left empty.").format(name="thank_you_messages"))
    if "playbook" in changes:
        changes["playbook"] = _existing_playbook(company, changes["playbook"])
    offers = changes.get("offers")
    if offers is not None:
        wrong = sorted(set(offers) - set(IncentiveKind.values))
        if wrong:
            raise SegmentError(
                gettext("Unknown offer(s) {offers}; the offers are {known}.").format(
                    offers=", ".join(wrong), known=", ".join(IncentiveKind.values)
                )
            )
        changes["offers"] = tuple(dict.fromkeys(offers))
    try:
        policy = dataclasses.replace(rules[found].policy, **changes)
    except (ValueError, TypeError) as exc:
        raise SegmentError(str(exc)) from None
    rules[found] = dataclasses.replace(rules[found], policy=policy)
    set_segment_rules(company, rules)
    return rules[found]


def term_label(name: str) -> str:
    """A segment term's name for a person, in the active language (the column's label)."""
    field = SegmentRuleRow._meta.get_field(name)
    return str(capfirst(getattr(field, "verbose_name", name)))


def _existing_playbook(company: Company, name: Any) -> str:
    """The name of the company's playbook ``name`` names (ignoring case and spaces around it): a segment that
    named no playbook of the company would silently follow the default one."""
    from mahnwerk.collection.models import Playbook

    names = list(Playbook.objects.filter(company=company).order_by("name").values_list("name", flat=True))
    wanted = str(name or "").strip().casefold()
    found = next((n for n in names if n.casefold() == wanted), None)
    if found is None:
        shown = str(name or "").strip()
        raise SegmentError(
            gettext("No playbook “{name}”; the playbooks are {names}.").format(
                name=shown if len(shown) <= 100 else shown[:100] + "…",
                names=", ".join(f"“{n}”" for n in names),
            )
        )
    return found


def rating_thresholds(company: Company) -> RatingThresholds:
    row = RatingSettings.objects.filter(company=company).first()
    return row.thresholds() if row is not None else RatingThresholds()


# --------------------------------------------------------------------------------------------------
# Behaviour, rating and segments


@dataclass
class RefreshResult:
    company_id: int
    as_of: date
    debtors: int = 0
    segments: dict[str, int] = field(default_factory=dict)
    ratings: dict[str, int] = field(default_factory=dict)
    changed: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "company_id": self.company_id,
            "as_of": self.as_of.isoformat(),
            "debtors": self.debtors,
            "segments": dict(sorted(self.segments.items())),
            "ratings": dict(sorted(self.ratings.items())),
            "changed": self.changed,
            "seconds": round(self.seconds, 3),
        }


def _profile_json(profile: DebtorProfile) -> dict[str, Any]:
    values = profile.values()
    values.pop("debtor_id", None)
    values.pop("as_of", None)
    values = {k: v for k, v in values.items() if not k.startswith("response_")}
    values["channel_response"] = {
        channel: [r.sent, r.followed_by_payment] for channel, r in profile.channel_response.items()
    }
    return values


_INSIGHT_COLUMNS = (
    "debtor_id",
    "company_id",
    "as_of",
    "rating",
    "segment",
    "segment_label",
    "weighted_days_late",
    "on_time_share",
    "overdue_minor",
    "oldest_overdue_days",
    "trend_days_late",
    "profile",
    "reason",
    "updated_at",
)


def _upsert_insights(rows: Sequence[tuple[Any, ...]], batch: int = 5000) -> None:
    """Insert or update one row per debtor with ``INSERT ... ON CONFLICT (debtor_id) DO UPDATE`` (SQLite and
    PostgreSQL). Written as SQL because building 20,000 model instances and compiling the ORM's bulk
    upsert took ten times longer than computing the insights themselves."""
    quote = connection.ops.quote_name
    json_placeholder = "%s::jsonb" if connection.vendor == "postgresql" else "%s"
    placeholders = ", ".join(
        json_placeholder if c in ("profile", "reason") else "%s" for c in _INSIGHT_COLUMNS
    )
    updates = ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in _INSIGHT_COLUMNS[2:])
    sql = (
        f"INSERT INTO {quote(DebtorInsight._meta.db_table)} ({', '.join(quote(c) for c in _INSIGHT_COLUMNS)}) "
        f"VALUES ({placeholders}) ON CONFLICT ({quote('debtor_id')}) DO UPDATE SET {updates}"
    )
    with connection.cursor() as cursor:
        for start in range(0, len(rows), batch):
            cursor.executemany(sql, rows[start : start + batch])


def refresh_insights(company: Company, as_of: date | None = None) -> RefreshResult:
    """Profile, rate and segment every debtor with invoices; store the result (one row per debtor).

    A ``segment_changed`` event with the reason goes on the timeline of each debtor whose stored segment
    differs from the new one (not on the first assignment, and never twice for the same change). The
    figures are computed outside any transaction; only the comparison with the stored segments and the
    writes run in one short transaction (SQLite takes its write lock when that transaction begins).
    """
    started = time.perf_counter()
    as_of = as_of or company_today(company)
    records = records_for(company, as_of)
    rules = segment_rules(company)
    thresholds = rating_thresholds(company)
    histories = debtor_histories(records.invoices, records.promises, records.disputes, records.messages)
    memo = _PROFILE_MEMO.get()
    known = memo.get((company.pk, as_of)) if memo is not None else None
    if known is None:
        profiles = {debtor: history.profile(debtor, as_of) for debtor, history in histories.items()}
        chosen: dict[int, SegmentChoice] = {}
    else:
        # within a run: a debtor whose records are what the run read when it began keeps the profile (and
        # segment) worked out then; only the others (a payment, a message sent since) are profiled again
        profiles, chosen = known.unchanged(histories, as_of, rules, thresholds)
    labels = {r.key: r.label for r in rules}
    result = RefreshResult(company.pk, as_of, debtors=len(profiles))
    stamp = connection.ops.adapt_datetimefield_value(timezone.now())
    day = connection.ops.adapt_datefield_value(as_of)
    rows: list[tuple[Any, ...]] = []
    choices: list[tuple[int, SegmentChoice]] = []
    for debtor_key, profile in profiles.items():
        debtor_id = int(debtor_key)
        choice = chosen.get(debtor_id) or choose_segment(profile, rules, thresholds)
        rating = choice.rating.value if choice.rating is not None else ""
        result.segments[choice.key] = result.segments.get(choice.key, 0) + 1
        result.ratings[rating or "-"] = result.ratings.get(rating or "-", 0) + 1
        choices.append((debtor_id, choice))
        rows.append(
            (
                debtor_id,
                company.pk,
                day,
                rating,
                choice.key,
                choice.rule.label,
                profile.weighted_days_late,
                profile.on_time_share,
                profile.overdue_minor,
                profile.oldest_overdue_days,
                profile.trend_days_late,
                json.dumps(_profile_json(profile), default=str),
                json.dumps(reason_to_json(choice.reason)),
                stamp,
            )
        )
    with transaction.atomic():
        before = dict(DebtorInsight.objects.filter(company=company).values_list("debtor_id", "segment"))
        events = []
        with translation.override(company.default_language):
            for debtor_id, choice in choices:
                old = before.get(debtor_id)
                if old is None or old == choice.key:
                    continue
                events.append(
                    timeline.event(
                        debtor_id,
                        company.pk,
                        "segment_changed",
                        as_of,
                        old=gettext(labels.get(old, old)),
                        new=gettext(choice.rule.label),
                        reason=choice.reason.render(gettext),
                        old_key=old,
                        new_key=choice.key,
                        rating=choice.rating.value if choice.rating is not None else "",
                    )
                )
        _upsert_insights(rows)
        timeline.record(events)
    result.changed = len(events)
    result.seconds = time.perf_counter() - started
    return result


_IN_LIST_MAX = 900


@dataclass
class _Histories:
    """A company's debtor profiles on one date, and the segments chosen from them under ``rules`` and
    ``thresholds`` (chosen again from the same profiles when those differ)."""

    profiles: dict[str, DebtorProfile]
    rules: tuple[SegmentRule, ...] = ()
    thresholds: RatingThresholds | None = None
    choices: dict[int, SegmentChoice] = field(default_factory=dict)
    # per debtor, the hash of the records its profile was worked out from
    read: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, histories: dict[str, DebtorHistory], as_of: date) -> _Histories:
        return cls(
            {debtor: history.profile(debtor, as_of) for debtor, history in histories.items()},
            read={debtor: hash(history) for debtor, history in histories.items()},
        )

    def unchanged(
        self,
        histories: dict[str, DebtorHistory],
        as_of: date,
        rules: tuple[SegmentRule, ...],
        thresholds: RatingThresholds,
    ) -> tuple[dict[str, DebtorProfile], dict[int, SegmentChoice]]:
        """The profiles of ``histories`` (each debtor's records now): the one worked out before where its
        records are the same (by hash), a new one where not; and the segments already chosen for the former
        under these rules and thresholds."""
        same_terms = rules == self.rules and thresholds == self.thresholds
        profiles: dict[str, DebtorProfile] = {}
        chosen: dict[int, SegmentChoice] = {}
        for debtor, history in histories.items():
            before = self.profiles.get(debtor)
            if before is not None and self.read.get(debtor) == hash(history):
                profiles[debtor] = before
                choice = self.choices.get(int(debtor)) if same_terms else None
                if choice is not None:
                    chosen[int(debtor)] = choice
            else:
                profiles[debtor] = history.profile(debtor, as_of)
        return profiles, chosen

    def choose(
        self, ids: Sequence[int], as_of: date, rules: tuple[SegmentRule, ...], thresholds: RatingThresholds
    ) -> dict[int, SegmentChoice]:
        if rules != self.rules or thresholds != self.thresholds:
            self.rules, self.thresholds, self.choices = rules, thresholds, {}
        out = {}
        for pk in ids:
            choice = self.choices.get(pk)
            if choice is None:
                profile = self.profiles.get(str(pk)) or debtor_profile(str(pk), (), as_of)
                choice = self.choices[pk] = choose_segment(profile, rules, thresholds)
            out[pk] = choice
        return out


# (company id, as of) -> debtor profiles and segments, while :func:`histories_read_once` is active
_PROFILE_MEMO: ContextVar[dict[tuple[int, date], _Histories] | None] = ContextVar(
    "mahnwerk_profile_memo", default=None
)


@contextmanager
def histories_read_once() -> Iterator[None]:
    """Within the block, :func:`provisional_segments` reads a company's payment histories once per date and
    answers every later call from them. For one run: its chunks decide the same debtors' segments several
    times (the decision, the re-check inside the write, the deadlines), and the histories as they stood when
    the run began are the ones that count for all of them."""
    token = _PROFILE_MEMO.set({})
    try:
        yield
    finally:
        _PROFILE_MEMO.reset(token)


def _unrated(company: Company, debtor_ids: Sequence[int] | None, stored: Iterable[int]) -> list[int]:
    """Of ``debtor_ids`` (None: the company's debtors with invoices, one query), those without a stored
    insight."""
    known = set(stored)
    if debtor_ids is not None:
        return sorted({pk for pk in debtor_ids if pk not in known})
    from mahnwerk.ledger.models import Debtor

    invoiced = Invoice.objects.filter(debtor_id=models.OuterRef("pk"))
    return [
        pk
        for pk in Debtor.objects.filter(models.Exists(invoiced), company=company, insight__isnull=True)
        .order_by("id")
        .values_list("id", flat=True)
        if pk not in known
    ]


def provisional_segments(
    company: Company,
    debtor_ids: Sequence[int],
    as_of: date | None = None,
    rules: Sequence[SegmentRule] | None = None,
) -> dict[int, SegmentChoice]:
    """The segment of each of ``debtor_ids`` chosen now, from its own history as :func:`refresh_insights`
    would choose it (same rules, thresholds and figures), without storing anything: a debtor imported
    since the last refresh gets its segment's terms from day one. A debtor without any invoice has an empty
    history (no rating) and so falls in the first segment whose conditions hold without one, usually the
    catch-all. Queries: the debtors' records (5) and the rating thresholds; none for an empty list."""
    ids = sorted(set(debtor_ids))
    if not ids:
        return {}
    as_of = as_of or company_today(company)
    rules = tuple(rules) if rules is not None else segment_rules(company)
    thresholds = rating_thresholds(company)
    memo = _PROFILE_MEMO.get()
    if memo is not None:
        # inside a run: the company's histories are read once, every later chunk looks them up
        key = (company.pk, as_of)
        if key not in memo:
            records = records_for(company, as_of)
            memo[key] = _Histories.of(
                debtor_histories(records.invoices, records.promises, records.disputes, records.messages),
                as_of,
            )
        return memo[key].choose(ids, as_of, rules, thresholds)
    # many debtors (a company's first run after a large import): the whole company's records, no long list
    records = records_for(company, as_of, ids if len(ids) <= _IN_LIST_MAX else None)
    profiles = debtor_profiles(records.invoices, as_of, records.promises, records.disputes, records.messages)
    return _Histories(profiles).choose(ids, as_of, rules, thresholds)


def segment_keys(
    company: Company, debtor_ids: Sequence[int] | None = None, as_of: date | None = None
) -> dict[int, str]:
    """Debtor id -> its segment's key: the stored one, else chosen now (:func:`provisional_segments`)."""
    stored = DebtorInsight.objects.filter(company=company)
    if debtor_ids is not None:
        stored = stored.filter(debtor_id__in=list(debtor_ids))
    out: dict[int, str] = dict(stored.values_list("debtor_id", "segment"))
    missing = _unrated(company, debtor_ids, out)
    out.update((pk, choice.key) for pk, choice in provisional_segments(company, missing, as_of).items())
    return out


def segment_playbooks(
    company: Company, debtor_ids: Sequence[int] | None = None, as_of: date | None = None
) -> dict[int, int]:
    """Debtor id -> id of the playbook its segment names (names compared ignoring case).

    Only debtors whose segment's playbook exists for the company are listed; the run uses this for a
    debtor without a playbook of its own on its Case. The segment is the stored one, or for a debtor the
    insights have not rated yet, the one chosen now (:func:`provisional_segments`). A debtor in a running
    experiment gets its arm's playbook instead (``experiments.services.running_assignments``, read in the
    same query).
    """
    rules = segment_rules(company)
    by_segment = {r.key: r.policy.playbook.casefold() for r in rules}
    from mahnwerk.collection.models import Playbook
    from mahnwerk.experiments.services import running_assignments

    playbooks = {
        name.casefold(): pk for name, pk in Playbook.objects.filter(company=company).values_list("name", "id")
    }
    out: dict[int, int] = {}
    arms: dict[int, int] = {}
    insights = DebtorInsight.objects.filter(company=company)
    if debtor_ids is not None:
        insights = insights.filter(debtor_id__in=list(debtor_ids))
    rows = insights.values_list(
        "debtor_id", "segment", models.Value(None, output_field=models.BigIntegerField())
    ).union(
        running_assignments(company, debtor_ids).values_list(
            "debtor_id", models.Value("", output_field=models.CharField()), "arm_id"
        ),
        all=True,
    )
    segments: dict[int, str] = {}
    for debtor_id, segment, arm in rows:
        if arm is not None:
            arms[debtor_id] = arm
        else:
            segments[debtor_id] = segment
    missing = _unrated(company, debtor_ids, segments)
    segments.update((pk, c.key) for pk, c in provisional_segments(company, missing, as_of, rules).items())
    for debtor_id, segment in segments.items():
        name = by_segment.get(segment)
        if name is not None and name in playbooks:
            out[debtor_id] = playbooks[name]
    out.update(arms)
    return out


def segment_policies(company: Company) -> dict[int, SegmentPolicy]:
    """Debtor id -> the policy of its stored segment: payment terms and credit limit to suggest for new
    invoices, instalment limits, and whether thank-you messages go out. Debtors without an insight (no
    invoices yet) are not listed; a segment no longer in the rules falls back to the last (catch-all) rule."""
    rules = segment_rules(company)
    by_key = {r.key: r.policy for r in rules}
    return {
        debtor_id: by_key.get(segment, rules[-1].policy)
        for debtor_id, segment in DebtorInsight.objects.filter(company=company).values_list(
            "debtor_id", "segment"
        )
    }


def debtor_segments(
    company: Company, debtor_ids: Sequence[int] | None = None, as_of: date | None = None
) -> dict[int, tuple[SegmentRule, dict[str, Any]]]:
    """Debtor id -> its segment's rule and the reason it was chosen (render it with
    ``insights.reasons.render_reason``): the stored ones, in two queries; a debtor the insights have not
    rated yet gets its segment chosen now from what was known on ``as_of`` (default: the company's today;
    :func:`provisional_segments`, its reason marked ``"provisional": True``). ``debtor_ids`` None: every debtor of the company. A segment no longer in the
    rules falls back to the last (catch-all) rule."""
    rules = segment_rules(company)
    by_key = {r.key: r for r in rules}
    insights = DebtorInsight.objects.filter(company=company)
    if debtor_ids is not None:
        insights = insights.filter(debtor_id__in=list(debtor_ids))
    out = {
        debtor_id: (by_key.get(segment, rules[-1]), reason if isinstance(reason, dict) else {})
        for debtor_id, segment, reason in insights.values_list("debtor_id", "segment", "reason")
    }
    missing = _unrated(company, debtor_ids, out)
    for pk, choice in provisional_segments(company, missing, as_of, rules).items():
        out[pk] = (choice.rule, reason_to_json(choice.reason) | {"provisional": True})
    return out


# --------------------------------------------------------------------------------------------------
# Prediction


def company_model_path(company: Company) -> Path:
    return Path(settings.DATA_DIR) / "models" / f"payment-model-{company.slug}.joblib"


def model_version(model: PaymentModel | FallbackModel) -> str:
    if isinstance(model, FallbackModel):
        return f"fallback {model.trained_until.isoformat()} n={model.n_known}"
    return f"gbm {model.trained_until.isoformat()} n={model.n_train}"


@dataclass(frozen=True, slots=True)
class TrainResult:
    company_id: int
    as_of: date
    kind: str  # "model" or "fallback"
    invoices_with_outcome: int
    late_share: float | None
    path: Path
    version: str
    notice: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "company_id": self.company_id,
            "kind": self.kind,
            "invoices_with_outcome": self.invoices_with_outcome,
            "late_share": self.late_share,
            "trained_until": self.as_of.isoformat(),
            "path": str(self.path),
            "model": self.version,
            "notice": self.notice,
        }


def train_company_model(
    company: Company, as_of: date | None = None, path: str | Path | None = None
) -> TrainResult:
    """Train on the company's invoices with an outcome known at the end of ``as_of`` and save the model
    (the fallback averages when the history is too small)."""
    from mahnwerk.core.prediction import save_model, train

    as_of = as_of or company_today(company)
    model = train(records_for(company, as_of).invoices, as_of)
    target = save_model(model, path or company_model_path(company))
    if isinstance(model, FallbackModel):
        return TrainResult(
            company.pk,
            as_of,
            "fallback",
            model.n_known,
            model.late_share,
            target,
            model_version(model),
            model.notice.render(gettext),
        )
    return TrainResult(
        company.pk, as_of, "model", model.n_train, model.late_share, target, model_version(model), None
    )


def _model_for(
    company: Company, as_of: date, invoices: Sequence[InvoiceRecord]
) -> PaymentModel | FallbackModel:
    """The saved model if it was trained on what was known by ``as_of``; otherwise one trained now."""
    from mahnwerk.core.prediction import load_model, train

    path = company_model_path(company)
    if path.exists():
        try:
            model = load_model(path)
        except (ValueError, OSError, EOFError) as exc:
            log.warning("ignoring the saved model %s: %s", path, exc)
        else:
            if model.trained_until <= as_of:
                return model
    return train(invoices, as_of)


def _predictions(company: Company, as_of: date) -> tuple[list[Prediction], str]:
    from mahnwerk.core.prediction import predict

    records = records_for(company, as_of)
    model = _model_for(company, as_of, records.invoices)
    segments = {
        str(debtor_id): segment
        for debtor_id, segment in DebtorInsight.objects.filter(company=company).values_list(
            "debtor_id", "segment"
        )
    }
    open_invoices = [r for r in records.invoices if r.open_at(as_of) > 0]
    return predict(model, records.invoices, open_invoices, as_of, segments), model_version(model)


@transaction.atomic
def predict_open_invoices(company: Company, as_of: date | None = None) -> list[InvoicePrediction]:
    """Predict every invoice open at the end of ``as_of`` and store the predictions (replacing the
    company's earlier ones). Uses the saved model, or trains one; with too little history the fallback
    averages give the probability and every prediction carries the notice."""
    as_of = as_of or company_today(company)
    predictions, version = _predictions(company, as_of)
    InvoicePrediction.objects.filter(company=company).delete()
    rows = [
        InvoicePrediction(
            invoice_id=int(p.invoice_id),
            company=company,
            as_of=as_of,
            open_minor=p.open_minor,
            p_late=p.p_late,
            expected_days_late=p.expected_days_late,
            already_overdue=p.already_overdue,
            reasons=[reason_to_json(r) for r in p.reasons],
            notice=reason_to_json(p.notice) if p.notice is not None else None,
            model_version=version,
        )
        for p in predictions
    ]
    return InvoicePrediction.objects.bulk_create(rows, batch_size=2000)


_STORED = (
    "invoice_id",
    "invoice__debtor_id",
    "invoice__due_date",
    "open_minor",
    "p_late",
    "expected_days_late",
    "reasons",
    "notice",
    "already_overdue",
)


def stored_predictions(company: Company, as_of: date) -> list[Prediction] | None:
    """The stored predictions made on ``as_of`` (one query); None when there are none for that day."""
    out = [
        Prediction(
            str(invoice_id),
            str(debtor_id),
            due,
            open_minor,
            p_late,
            days,
            tuple(reason_from_json(r) for r in reasons),
            reason_from_json(notice) if notice else None,
            overdue,
        )
        for invoice_id, debtor_id, due, open_minor, p_late, days, reasons, notice, overdue in (
            InvoicePrediction.objects.filter(company=company, as_of=as_of)
            .order_by("invoice_id")
            .values_list(*_STORED)
        )
    ]
    return out or None


# --------------------------------------------------------------------------------------------------
# Worklist


@dataclass(frozen=True, slots=True)
class WorklistRow:
    invoice_id: int
    invoice_number: str
    debtor_id: int
    debtor_name: str
    open_minor: int
    currency: str
    due_date: date
    p_late: float
    channel: str
    value_minor: float
    reason: str
    prediction_reasons: tuple[str, ...]
    notice: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "invoice_id": self.invoice_id,
            "invoice": self.invoice_number,
            "debtor_id": self.debtor_id,
            "debtor": self.debtor_name,
            "open_minor": self.open_minor,
            "currency": self.currency,
            "due_date": self.due_date.isoformat(),
            "p_late": self.p_late,
            "channel": self.channel,
            "value_minor": round(self.value_minor),
            "reason": self.reason,
            "prediction_reasons": list(self.prediction_reasons),
            "notice": self.notice or None,
        }


@dataclass(frozen=True, slots=True)
class Worklist:
    as_of: date
    rows: list[WorklistRow]
    unpredicted: int  # open invoices without a probability (no payment history at all): not ranked

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "rows": [r.as_dict() for r in self.rows],
            "unpredicted": self.unpredicted,
        }


def _next_channels(company: Company, invoices: Sequence[tuple[int, int]]) -> dict[int, str]:
    """Invoice id -> channel of the next step of its debtor's playbook after the last step it received
    (the last step again when all were sent; email when the playbook has no steps)."""
    from django.db.models import Max

    from mahnwerk.collection.models import ActionItem, ActionStatus, Case, Playbook, Step

    steps: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for playbook_id, level, channel in (
        Step.objects.filter(playbook__company=company)
        .order_by("level")
        .values_list("playbook_id", "level", "channel")
    ):
        steps[playbook_id].append((level, channel))
    default = Playbook.objects.filter(company=company, is_default=True).values_list("id", flat=True).first()
    manual = dict(
        Case.objects.filter(company=company, playbook__isnull=False).values_list("debtor_id", "playbook_id")
    )
    by_segment = segment_playbooks(company)
    last = dict(
        ActionItem.objects.filter(
            invoice__company=company, invoice__open_minor__gt=0, status=ActionStatus.ACTIVE
        )
        .values("invoice_id")
        .annotate(level=Max("level"))
        .values_list("invoice_id", "level")
    )
    out = {}
    for invoice_id, debtor_id in invoices:
        playbook = manual.get(debtor_id) or by_segment.get(debtor_id) or default
        levels = steps.get(playbook or 0, [])
        done = last.get(invoice_id, 0)
        following = [c for level, c in levels if level > done]
        out[invoice_id] = following[0] if following else levels[-1][1] if levels else "email"
    return out


def worklist(company: Company, as_of: date | None = None, limit: int = 50) -> Worklist:
    """Open invoices ordered by the expected value of acting now (open amount x P(late) x how often the
    next step's channel was followed by a payment), with the reason. Predicts first when there are no
    stored predictions for ``as_of``."""
    as_of = as_of or company_today(company)
    predictions = stored_predictions(company, as_of)
    if predictions is None:
        predict_open_invoices(company, as_of)
        predictions = stored_predictions(company, as_of) or []
    ranked = [p for p in predictions if p.p_late is not None and p.open_minor > 0]
    responses: dict[int, dict[str, list[int]]] = {
        debtor_id: profile.get("channel_response", {})
        for debtor_id, profile in DebtorInsight.objects.filter(company=company).values_list(
            "debtor_id", "profile"
        )
    }
    company_sent: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for per_channel in responses.values():
        for channel, (sent, followed) in per_channel.items():
            company_sent[channel][0] += sent
            company_sent[channel][1] += followed
    channels = _next_channels(company, [(int(p.invoice_id), int(p.debtor_id)) for p in ranked])
    info = {
        pk: (number, currency, name)
        for pk, number, currency, name in InvoicePrediction.objects.filter(
            company=company, as_of=as_of
        ).values_list("invoice_id", "invoice__number", "invoice__currency", "invoice__debtor__name")
    }
    items = []
    by_id = {p.invoice_id: p for p in ranked}
    for p in ranked:
        channel = channels[int(p.invoice_id)]
        own = responses.get(int(p.debtor_id), {}).get(channel)
        total = company_sent.get(channel)
        items.append(
            WorklistItem(
                invoice_id=p.invoice_id,
                debtor_id=p.debtor_id,
                open_minor=p.open_minor,
                p_loss=float(p.p_late or 0.0),
                channel=channel,
                debtor_response=ChannelResponse(own[0], own[1]) if own else None,
                company_response=total[1] / total[0] if total and total[0] else None,
                currency=info[int(p.invoice_id)][1],
                due_date=p.due_date,
            )
        )
    rows = []
    for entry in worklist_order(items)[:limit]:
        p = by_id[entry.item.invoice_id]
        number, currency, name = info[int(p.invoice_id)]
        rows.append(
            WorklistRow(
                invoice_id=int(p.invoice_id),
                invoice_number=number,
                debtor_id=int(p.debtor_id),
                debtor_name=name,
                open_minor=p.open_minor,
                currency=currency,
                due_date=p.due_date,
                p_late=entry.item.p_loss,
                channel=entry.item.channel,
                value_minor=entry.value_minor,
                reason=entry.reason.render(gettext),
                prediction_reasons=tuple(r.render(gettext) for r in p.reasons),
                notice=p.notice.render(gettext) if p.notice is not None else "",
            )
        )
    return Worklist(as_of, rows, sum(1 for p in predictions if p.p_late is None and p.open_minor > 0))


# --------------------------------------------------------------------------------------------------
# KPIs


@dataclass(frozen=True, slots=True)
class OtherCurrency:
    """Invoices in a currency other than the company's: not in its KPIs (amounts in different currencies
    cannot be added up), named with their own sums instead."""

    invoices: int  # known at the period's end
    credit_sales_minor: int  # issued in the period
    receivables_minor: int  # open at the period's end


def company_kpis(company: Company, period: Period, forecast: bool = True) -> KpiReport:
    """All KPIs of ``company`` for ``period`` (formulas: :mod:`mahnwerk.core.kpi`), from what was known at
    the end of the period. Only invoices in the company's currency count (:func:`company_kpis_and_others`
    names the others). The cash forecast uses the predictions stored for ``period.end`` or, when there are
    none, predictions made now (not stored)."""
    return company_kpis_and_others(company, period, forecast)[0]


def company_kpis_and_others(
    company: Company, period: Period, forecast: bool = True
) -> tuple[KpiReport, dict[str, OtherCurrency]]:
    """:func:`company_kpis`, and what the invoices in every other currency come to (by currency code)."""
    records = records_for(company, period.end)
    invoices = [r for r in records.invoices if r.currency == company.currency]
    by_currency: dict[str, list[InvoiceRecord]] = defaultdict(list)
    for r in records.invoices:
        if r.currency != company.currency:
            by_currency[r.currency].append(r)
    others = {
        currency: OtherCurrency(
            len(rows), credit_sales(rows, period.start, period.end), receivables_at(rows, period.end)
        )
        for currency, rows in sorted(by_currency.items())
    }
    predictions: list[Prediction] | None = None
    if forecast:
        predictions = stored_predictions(company, period.end)
        if predictions is None:
            predictions, _version = _predictions(company, period.end)
        in_currency = {r.invoice_id for r in invoices}
        predictions = [p for p in predictions if p.invoice_id in in_currency]
    return kpi_report(invoices, period, records.messages, records.promises, predictions), others
