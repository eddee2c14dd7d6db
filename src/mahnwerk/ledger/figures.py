"""The company-wide figures: open and overdue totals, aging per currency, open and overdue money per debtor.

Read once per business date and process (one pass over the open items), then patched with the few debtors
each change touched. The clerk pages, the work queue and the API all read them from here; nothing in this
module knows of the web application.
"""

from __future__ import annotations

import bisect
import itertools
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from django.core.cache import cache
from django.db import connection
from django.db.models import Max, Q
from django.utils.translation import gettext_lazy as _

from mahnwerk.ledger.models import Allocation, Company, Debtor, Invoice, TimelineEvent
from mahnwerk.ledger.services import company_today

# Aging buckets by days past the due date: (key, label, lowest days, highest days or None).
BUCKETS: list[tuple[str, Any, int, int | None]] = [
    ("current", _("Not yet due"), -100_000, 0),
    ("1-30", _("1–30 days"), 1, 30),
    ("31-60", _("31–60 days"), 31, 60),
    ("61-90", _("61–90 days"), 61, 90),
    ("90+", _("over 90 days"), 91, None),
]


def bucket_due_range(key: str, today: date) -> Q:
    """The due dates of items that are ``key`` days overdue on ``today``."""
    for name, _label, low, high in BUCKETS:
        if name == key:
            if name == "current":
                return Q(due_date__gte=today)
            q = Q(due_date__lte=today - timedelta(days=low))
            if high is not None:
                q &= Q(due_date__gte=today - timedelta(days=high))
            return q
    raise ValueError(f"unknown bucket {key!r}")


@dataclass
class CurrencyFigures:
    currency: str
    open_minor: int = 0
    overdue_minor: int = 0
    items: int = 0
    buckets: dict[str, int] = field(default_factory=dict)


CACHE_SECONDS = 600


def ledger_version(company: Company) -> tuple[int, int, int, int]:
    """Changes whenever open amounts can have changed: a new invoice, allocation (payment or credit) or timeline
    event (every ledger use case writes one), or a new debtor. Four index look-ups, whatever the ledger's size."""
    return (
        Invoice.objects.filter(company=company).aggregate(m=Max("id"))["m"] or 0,
        Allocation.objects.aggregate(m=Max("id"))["m"] or 0,
        TimelineEvent.objects.aggregate(m=Max("id"))["m"] or 0,
        Debtor.objects.filter(company=company).aggregate(m=Max("id"))["m"] or 0,
    )


def _cache_key(company: Company, today: date, name: str, version: tuple[int, ...]) -> str:
    return "mahnwerk.web:{}:{}:{}:{}".format(name, company.pk, today.isoformat(), ":".join(map(str, version)))


def peek(company: Company, today: date, name: str, version: tuple[int, ...]) -> Any:
    """What :func:`cached` keeps under ``name`` for this ledger version, or None (nothing is computed)."""
    return cache.get(_cache_key(company, today, name, version))


def cached[T](
    company: Company, today: date, name: str, compute: Callable[[], T], version: tuple[int, ...] | None = None
) -> T:
    """``compute()`` once per ledger version and business date: company-wide aggregates read every open item,
    so the home page serves them from the cache until the ledger changes (at most ``CACHE_SECONDS`` old)."""
    key = _cache_key(company, today, name, version or ledger_version(company))
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, CACHE_SECONDS)
    return cast(T, value)


def _scan(
    company: Company, columns: str, group_by: str, params: list[Any], debtor_ids: Sequence[int] | None = None
) -> list[tuple[Any, ...]]:
    """Aggregate the open items of a company (or of some of its debtors) in one query.

    For the whole company, SQLite's planner would walk an index and fetch every row by id, several times
    slower than reading the table once, so the table is read ``NOT INDEXED`` there; for a few debtors the
    debtor index is used.
    """
    table = Invoice._meta.db_table
    if debtor_ids is None:
        hint = "NOT INDEXED" if connection.vendor == "sqlite" else ""
        where = "company_id = %s AND open_minor > 0"
        params = [*params, company.pk]
    else:  # the debtors are the company's: by debtor only, so that the debtor index is the one to use
        hint = ""
        where = "debtor_id IN ({}) AND open_minor > 0".format(", ".join(["%s"] * len(debtor_ids)))
        params = [*params, *debtor_ids]
    sql = f"SELECT {group_by}, {columns} FROM {table} {hint} WHERE {where} GROUP BY {group_by}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def _sum_due(condition: str) -> str:
    return f"SUM(CASE WHEN {condition} THEN open_minor ELSE 0 END)"


def _bucket_columns(today: date) -> tuple[list[str], list[Any]]:
    """One ``SUM`` per aging bucket (in the order of ``BUCKETS``) and its parameters."""
    columns: list[str] = []
    params: list[Any] = []
    for _key, _label, low, high in BUCKETS:
        if high is not None and low < 0:  # not yet due
            columns.append(_sum_due("due_date >= %s"))
            params.append(today)
        elif high is None:
            columns.append(_sum_due("due_date <= %s"))
            params.append(today - timedelta(days=low))
        else:
            columns.append(_sum_due("due_date <= %s AND due_date >= %s"))
            params += [today - timedelta(days=low), today - timedelta(days=high)]
    return columns, params


@dataclass
class DebtorAmounts:
    open: dict[int, int]
    overdue: dict[int, int]
    buckets: dict[str, set[int]]  # bucket key -> debtors with an open item in it
    figures: list[CurrencyFigures]


# debtor id -> currency -> open, overdue, number of items, and the amount in each aging bucket
AmountRows = dict[int, dict[str, tuple[int, ...]]]


def amount_rows(company: Company, today: date, debtor_ids: Sequence[int] | None = None) -> AmountRows:
    """Open and overdue minor units, item count and aging per debtor and currency, from one query over the
    open items (of the whole company, or of ``debtor_ids``)."""
    bucket_columns, bucket_params = _bucket_columns(today)
    found: AmountRows = {}
    for debtor_id, currency, *values in _scan(
        company,
        ", ".join(["SUM(open_minor)", _sum_due("due_date < %s"), "COUNT(*)", *bucket_columns]),
        "debtor_id, currency",
        [today, *bucket_params],
        debtor_ids,
    ):
        found.setdefault(debtor_id, {})[currency] = tuple(int(v or 0) for v in values)
    return found


def _figures_of(figures: dict[str, CurrencyFigures], currency: str) -> CurrencyFigures:
    return figures.get(currency) or figures.setdefault(
        currency, CurrencyFigures(currency, buckets={key: 0 for key, *_rest in BUCKETS})
    )


def _apply(
    amounts: DebtorAmounts, figures: dict[str, CurrencyFigures], debtor_id: int, rows: Any, sign: int
) -> None:
    """Add (``sign`` 1) or take away (-1) one debtor's rows: its open and overdue amounts, its aging buckets,
    the totals per currency."""
    open_total = overdue_total = 0
    for currency, (open_minor, overdue_minor, count, *values) in rows.items():
        open_total += open_minor
        overdue_total += overdue_minor
        f = _figures_of(figures, currency)
        f.open_minor += sign * open_minor
        f.overdue_minor += sign * overdue_minor
        f.items += sign * count
        for (key, *_rest), value in zip(BUCKETS, values, strict=True):
            f.buckets[key] += sign * value
            if value and sign > 0:
                amounts.buckets[key].add(debtor_id)
    if sign < 0:
        amounts.open.pop(debtor_id, None)
        amounts.overdue.pop(debtor_id, None)
        for members in amounts.buckets.values():
            members.discard(debtor_id)
        return
    if rows:
        amounts.open[debtor_id] = open_total
    if overdue_total:
        amounts.overdue[debtor_id] = overdue_total


def _ordered(company: Company, figures: dict[str, CurrencyFigures]) -> list[CurrencyFigures]:
    """The currencies with open items, the company's own first; fresh objects, so that a page that holds the
    previous list keeps its figures."""
    kept = [
        CurrencyFigures(f.currency, f.open_minor, f.overdue_minor, f.items, dict(f.buckets))
        for f in figures.values()
        if f.items > 0
    ]
    return sorted(kept, key=lambda f: (f.currency != company.currency, f.currency))


def debtor_amounts(company: Company, today: date, rows: AmountRows | None = None) -> DebtorAmounts:
    """Everything company-wide the pages show: open and overdue minor units per debtor (all currencies added,
    for ranking), the aging buckets each debtor has open items in (for filtering), and the totals and aging
    per currency (for the home page)."""
    return _build(company, amount_rows(company, today) if rows is None else rows)[0]


def _build(company: Company, rows: AmountRows) -> tuple[DebtorAmounts, dict[str, CurrencyFigures]]:
    amounts = DebtorAmounts({}, {}, {key: set() for key, *_rest in BUCKETS}, [])
    figures: dict[str, CurrencyFigures] = {}
    for debtor_id, per_currency in rows.items():
        _apply(amounts, figures, debtor_id, per_currency, 1)
    amounts.figures = _ordered(company, figures)
    return amounts, figures


@dataclass
class _Book:
    """A process's company-wide amounts for one business date, kept up to date by patching."""

    version: tuple[int, ...]
    token: str
    built: float
    rows: AmountRows
    amounts: DebtorAmounts
    figures: dict[str, CurrencyFigures]  # the running totals per currency
    by_overdue: list[tuple[int, int]]  # (-overdue, debtor id) of the debtors with overdue money, sorted
    read: int  # which full read of the ledger it stems from

    def patch(self, company: Company, today: date, changed: set[int]) -> None:
        """Replace the rows of the ``changed`` debtors with fresh ones, in place: work in proportion to them."""
        fresh = amount_rows(company, today, sorted(changed))
        for debtor_id in changed:
            overdue = self.amounts.overdue.get(debtor_id, 0)
            if overdue:
                del self.by_overdue[bisect.bisect_left(self.by_overdue, (-overdue, debtor_id))]
            _apply(self.amounts, self.figures, debtor_id, self.rows.pop(debtor_id, {}), -1)
            if debtor_id in fresh:
                self.rows[debtor_id] = fresh[debtor_id]
                _apply(self.amounts, self.figures, debtor_id, fresh[debtor_id], 1)
            overdue = self.amounts.overdue.get(debtor_id, 0)
            if overdue:
                bisect.insort(self.by_overdue, (-overdue, debtor_id))
        self.amounts.figures = _ordered(company, self.figures)


_BOOKS: dict[tuple[int, date], _Book] = {}
_BOOKS_LOCK = threading.RLock()
_READS = itertools.count(1)
PATCH_LIMIT = 10_000  # more new rows than this since the last look: read everything again
REBUILD_SECONDS = 6 * 3600  # and at least every six hours, whatever changed (a safety net)
_TOKEN_KEY = "mahnwerk.web:amounts-token"


def changed_debtors(company: Company, since: tuple[int, ...], limit: int | None = None) -> set[int] | None:
    """The debtors whose open amounts can have changed since the ledger ``since`` (see ``ledger_version``):
    those with a new invoice, allocation or timeline event (every ledger use case writes one). None when there
    are more than ``limit`` rows to look at (then reading everything again is the faster way).

    Three reads of the rows after the ids in ``since``, by primary key only: with the company in the condition
    the database would rather walk the company's index, which is as long as the ledger."""
    limit = PATCH_LIMIT if limit is None else limit
    invoice_max, allocation_max, event_max, _debtor_max = since
    found: set[int] = set()
    for queryset in (
        Invoice.objects.filter(id__gt=invoice_max).values_list("company_id", "debtor_id"),
        Allocation.objects.filter(id__gt=allocation_max).values_list(
            "invoice__company_id", "invoice__debtor_id"
        ),
        TimelineEvent.objects.filter(id__gt=event_max).values_list("company_id", "debtor_id"),
    ):
        rows = list(queryset.order_by()[: limit + 1])
        if len(rows) > limit:
            return None
        found.update(debtor_id for company_id, debtor_id in rows if company_id == company.pk)
    return found


def _cache_token() -> str:
    """Changes when Django's cache is cleared: what a process keeps for itself is read again then."""
    token = cache.get(_TOKEN_KEY)
    if token is None:
        token = uuid.uuid4().hex
        cache.set(_TOKEN_KEY, token, None)
    return str(token)


def _book(company: Company, today: date, version: tuple[int, ...] | None) -> _Book:
    """The company's book for ``today`` brought to the ledger ``version`` (call with ``_BOOKS_LOCK`` held)."""
    version = version or ledger_version(company)
    token = _cache_token()
    key = (company.pk, today)
    book = _BOOKS.get(key)
    if book is not None and book.token == token and book.version == version:
        return book
    changed = None
    if (
        book is not None
        and book.token == token
        and time.monotonic() - book.built < REBUILD_SECONDS
        and all(now >= then for now, then in zip(version, book.version, strict=True))
    ):
        changed = changed_debtors(company, book.version)
    if book is not None and changed is not None:
        if changed:
            book.patch(company, today, changed)
        book.version = version
    else:
        rows = amount_rows(company, today)
        amounts, figures = _build(company, rows)
        by_overdue = sorted((-v, k) for k, v in amounts.overdue.items())
        book = _Book(version, token, time.monotonic(), rows, amounts, figures, by_overdue, next(_READS))
    for other in [k for k in _BOOKS if k[0] == company.pk and k != key]:
        del _BOOKS[other]
    _BOOKS[key] = book
    return book


def company_amounts(company: Company, today: date, version: tuple[int, ...] | None = None) -> DebtorAmounts:
    """The company-wide amounts as of the ledger ``version``, kept in this process: read once per business
    date, then patched in place with the few debtors each change touched, so the pages stay fast right after a
    payment. Clearing Django's cache (``cache.clear()``) forgets them too. Iterate over the maps only through
    :func:`with_amounts` (other threads may patch them)."""
    with _BOOKS_LOCK:
        return _book(company, today, version).amounts


def with_amounts[T](
    company: Company, today: date, version: tuple[int, ...] | None, read: Callable[[_Book], T]
) -> T:
    """``read(book)`` while no other thread patches the company's amounts."""
    with _BOOKS_LOCK:
        return read(_book(company, today, version))


def warm_amounts() -> list[tuple[int, date]]:
    """Read the company-wide amounts of every company for its business date now, so that no page has to
    wait for it (the server's workers do this when they start and again when a business date begins)."""
    warmed = []
    for company in Company.objects.all():
        today = company_today(company)
        company_amounts(company, today)
        warmed.append((company.pk, today))
    return warmed


def next_business_day_start(now: datetime | None = None) -> datetime:
    """The next moment at which some company's business date changes (midnight in its time zone)."""
    now = now or datetime.now(UTC)
    starts = []
    for zone in set(Company.objects.values_list("time_zone", flat=True)) or {"UTC"}:
        local = now.astimezone(ZoneInfo(zone))
        starts.append(datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), ZoneInfo(zone)))
    return min(starts)


def ledger_figures(
    company: Company, today: date, version: tuple[int, ...] | None = None
) -> list[CurrencyFigures]:
    """Open and overdue totals and the aging buckets, per currency."""
    return company_amounts(company, today, version).figures
