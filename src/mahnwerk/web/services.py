"""Read models and the one use case the clerk application adds ("send now").

Pages call these functions; each loads what it shows in a fixed number of queries, whatever the number of
debtors or invoices (aggregates in the database, never a query per row).
"""

from __future__ import annotations

import bisect
import gc
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from operator import itemgetter
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Count, Max, Min, Q, QuerySet, Sum
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from mahnwerk.collection import runs
from mahnwerk.collection import services as collection
from mahnwerk.collection.agreements_models import (
    Dispute,
    DisputeStatus,
    InstalmentPlan,
    OfferStatus,
    PlanStatusChoice,
    Promise,
    PromiseStatus,
    Settlement,
)
from mahnwerk.collection.models import (
    Action,
    ActionItem,
    ActionStatus,
    Case,
    Playbook,
    Run,
    RunStatus,
    Step,
)
from mahnwerk.core.playbook import Held
from mahnwerk.insights.models import DebtorInsight
from mahnwerk.insights.services import segment_rules

# The company-wide figures live in the ledger app (the work queue and the API read them too); the pages
# and their tests name them from here.
from mahnwerk.ledger import figures
from mahnwerk.ledger.figures import (
    _BOOKS,  # noqa: F401
    BUCKETS,  # noqa: F401
    CurrencyFigures,  # noqa: F401
    DebtorAmounts,  # noqa: F401
    _Book,
    _cache_token,
    bucket_due_range,
    cached,
    company_amounts,  # noqa: F401
    debtor_amounts,  # noqa: F401
    ledger_figures,  # noqa: F401
    ledger_version,
    peek,  # noqa: F401
    with_amounts,
)
from mahnwerk.ledger.models import (
    ChannelChoice,
    Company,
    Debtor,
    Invoice,
    Payment,
)
from mahnwerk.ledger.search import _name_index, search_ids, sorted_ids
from mahnwerk.ledger.services import company_today


def last_run(company: Company) -> Run | None:
    """The last finished scheduled run (runs for a single debtor, from "send now", are left out)."""
    return (
        Run.objects.filter(company=company, status=RunStatus.DONE)
        .exclude(stats__has_key="manual")
        .order_by("-as_of", "-id")
        .first()
    )


RUN_COUNTS = ("actions_created", "messages_queued", "no_contact", "tasks", "agreement_messages")


@dataclass
class RunSummary:
    """What the scheduled runs of one business date did together (a run approved later the same day adds to
    the first one's figures, and one that found nothing more to do leaves them as they were)."""

    as_of: date
    stats: dict[str, Any]
    runs: int


def day_run_summary(company: Company, limit: int = 20) -> RunSummary | None:
    """The scheduled runs of the latest business date that has any, added up (one query: the latest runs)."""
    recent = list(
        Run.objects.filter(company=company, status=RunStatus.DONE)
        .exclude(stats__has_key="manual")
        .order_by("-as_of", "-id")
        .values_list("as_of", "stats")[:limit]
    )
    if not recent:
        return None
    as_of = recent[0][0]
    runs = [stats or {} for day, stats in recent if day == as_of]
    stats: dict[str, Any] = {key: 0 for key in RUN_COUNTS}
    steps: dict[str, int] = {}
    for run_stats in runs:
        for key in RUN_COUNTS:
            stats[key] += int(run_stats.get(key) or 0)
        for level, count in (run_stats.get("steps") or {}).items():
            steps[str(level)] = steps.get(str(level), 0) + int(count)
    stats["steps"] = steps
    # what still waits for approval is the latest run's word
    stats["awaiting_approval"] = int(runs[0].get("awaiting_approval") or 0)
    return RunSummary(as_of, stats, len(runs))


@dataclass
class DebtorRow:
    debtor: Debtor
    totals: dict[str, tuple[int, int]] = field(default_factory=dict)  # currency -> (open, overdue)
    items: int = 0
    oldest_due: date | None = None
    level: int = 0
    on_hold: bool = False
    segment: str = ""  # the segment's name, from the latest insights
    rating: str = ""

    def days_overdue(self, today: date) -> int:
        return max(0, (today - self.oldest_due).days) if self.oldest_due else 0


def worklist(
    company: Company, today: date, limit: int = 10, version: tuple[int, ...] | None = None
) -> list[DebtorRow]:
    """Debtors with the most overdue money first. The ranking comes from :func:`debtor_amounts` (cached per
    ledger version); the rows shown are read fresh."""

    def top() -> list[int]:
        return with_amounts(company, today, version, lambda book: [pk for _o, pk in book.by_overdue[:limit]])

    ids = cached(company, today, f"worklist{limit}", top, version)
    debtors = Debtor.objects.in_bulk(ids)
    return describe_debtors(company, [debtors[i] for i in ids if i in debtors], today)


def ranking(company: Company, today: date, sort: str, version: tuple[int, ...] | None = None) -> list[int]:
    """Every debtor id of the company in the order of ``sort``: by name or number, or most overdue
    (``-overdue``) or open (``-open``) money first with ties by id. Cached per ledger version."""

    def compute() -> list[int]:
        debtors = Debtor.objects.filter(company=company)
        if sort not in AMOUNT_SORTS:
            return list(debtors.order_by(*SORTS.get(sort, SORTS["name"])).values_list("id", flat=True))
        ids = list(debtors.order_by("id").values_list("id", flat=True))

        def by_amount(book: _Book) -> list[int]:
            amounts = book.amounts.overdue if sort == "-overdue" else book.amounts.open
            return sorted(ids, key=lambda pk: -amounts.get(pk, 0))  # stable: equal amounts stay in id order

        return with_amounts(company, today, version, by_amount)

    return cached(company, today, "ranking" + sort, compute, version)


def describe_debtors(company: Company, debtors: list[Debtor], today: date) -> list[DebtorRow]:
    """Totals, oldest due date, current step, hold, segment and rating of a page of debtors: four queries."""
    rows = {d.pk: DebtorRow(d) for d in debtors}
    if not rows:
        return []
    for r in (
        Invoice.objects.filter(debtor_id__in=rows, open_minor__gt=0)
        .values("debtor_id", "currency")
        .annotate(
            open=Sum("open_minor"),
            overdue=Sum("open_minor", filter=Q(due_date__lt=today)),
            n=Count("id"),
            oldest=Min("due_date"),
        )
        .order_by()
    ):
        row = rows[r["debtor_id"]]
        row.totals[r["currency"]] = (r["open"] or 0, r["overdue"] or 0)
        row.items += r["n"]
        row.oldest_due = min(row.oldest_due, r["oldest"]) if row.oldest_due else r["oldest"]
    for debtor_id, level in (
        ActionItem.objects.filter(
            invoice__debtor_id__in=rows,
            invoice__open_minor__gt=0,
            status=ActionStatus.ACTIVE,
        )
        .values("invoice__debtor_id")
        .annotate(level=Max("level"))
        .values_list("invoice__debtor_id", "level")
        .order_by()
    ):
        rows[debtor_id].level = level or 0
    for debtor_id in Case.objects.filter(company=company, debtor_id__in=rows, on_hold=True).values_list(
        "debtor_id", flat=True
    ):
        rows[debtor_id].on_hold = True
    for debtor_id, segment, rating in DebtorInsight.objects.filter(debtor_id__in=rows).values_list(
        "debtor_id", "segment_label", "rating"
    ):
        rows[debtor_id].segment, rows[debtor_id].rating = segment, rating
    return list(rows.values())


SORTS = {
    "name": ("name", "id"),
    "-name": ("-name", "-id"),
    "number": ("number", "id"),
}
AMOUNT_SORTS = ("-overdue", "-open")


def debtor_page(
    company: Company,
    today: date,
    page_number: str | int | None,
    *,
    sort: str = "name",
    bucket: str = "",
    page_size: int = 25,
    **filters: Any,
) -> Page:
    """One page of the debtors matching a search and filters.

    Sorted by name or number without an aging filter, the database pages (count and one page). Sorted by
    amount or filtered by aging bucket, the page comes from lists cached per ledger version (the debtor ids in
    sort order, the debtors per bucket, both from one pass over the open items): only the ids matching the
    other filters are read, and the page's debtors.
    """
    q = str(filters.pop("q", "") or "").strip()
    if sort not in AMOUNT_SORTS and not bucket:
        if not q:
            matching = search_debtors(company, today, sort=sort, **filters)
            return Paginator(matching, page_size).get_page(page_number)
        # a search reads the company's names from this process's index: the matches in sort order, then the
        # ones the other filters keep (one query for their ids), then the page's debtors
        found = search_ids(company, q)
        if any(value not in (None, "") for value in filters.values()):
            found &= set(search_debtors(company, today, **filters).order_by().values_list("id", flat=True))
        return _page_of_ids(sorted_ids(company, found, sort), page_number, page_size)
    version = ledger_version(company)
    ranked = ranking(company, today, sort, version)
    keep: set[int] | None = None
    if any(value not in (None, "") for value in filters.values()):
        keep = set(search_debtors(company, today, **filters).order_by().values_list("id", flat=True))
    if q:
        found = search_ids(company, q)
        keep = found if keep is None else keep & found
    if bucket:

        def members() -> set[int]:
            return with_amounts(company, today, version, lambda book: set(book.amounts.buckets[bucket]))

        in_bucket = cached(company, today, "bucket" + bucket, members, version)  # one small set to unpickle
        keep = in_bucket if keep is None else keep & in_bucket
    ids = ranked if keep is None else [pk for pk in ranked if pk in keep]
    return _page_of_ids(ids, page_number, page_size)


def _page_of_ids(ids: list[int], page_number: str | int | None, page_size: int) -> Page:
    page = Paginator(ids, page_size).get_page(page_number)
    debtors = Debtor.objects.in_bulk(list(page.object_list))
    page.object_list = [debtors[pk] for pk in page.object_list if pk in debtors]  # type: ignore[misc]
    return page


def search_debtors(
    company: Company,
    today: date,
    *,
    q: str = "",
    bucket: str = "",
    step: int | None = None,
    segment: str = "",
    rating: str = "",
    dispute: bool | None = None,
    agreement: bool | None = None,
    on_hold: bool | None = None,
    sort: str = "name",
) -> QuerySet[Debtor]:
    """The debtors matching a search (see :func:`search_ids`) and the filters:
    aging bucket, current step, segment and rating (from the latest insights), an open dispute, a running
    agreement (a pending promise, a proposed or active instalment plan, an offered settlement), hold.

    Filters are subqueries (``id IN (...)``), so the page query stays one query whatever the size.
    """
    qs = Debtor.objects.filter(company=company)
    q = q.strip()
    if q:
        qs = qs.filter(id__in=sorted(search_ids(company, q)))
    if bucket:
        qs = qs.filter(
            id__in=Invoice.objects.filter(company=company, open_minor__gt=0)
            .filter(bucket_due_range(bucket, today))
            .values("debtor_id")
        )
    if step is not None:
        qs = qs.filter(
            id__in=ActionItem.objects.filter(
                invoice__company=company, invoice__open_minor__gt=0, status=ActionStatus.ACTIVE, level=step
            ).values("invoice__debtor_id")
        )
    if segment:
        qs = qs.filter(
            id__in=DebtorInsight.objects.filter(company=company, segment=segment).values("debtor_id")
        )
    if rating:
        qs = qs.filter(
            id__in=DebtorInsight.objects.filter(company=company, rating=rating).values("debtor_id")
        )
    if dispute is not None:
        disputed = Dispute.objects.filter(company=company, status=DisputeStatus.OPEN).values("debtor_id")
        qs = qs.filter(id__in=disputed) if dispute else qs.exclude(id__in=disputed)
    if agreement is not None:
        running = (
            Q(
                id__in=Promise.objects.filter(company=company, status=PromiseStatus.PENDING).values(
                    "debtor_id"
                )
            )
            | Q(
                id__in=InstalmentPlan.objects.filter(
                    company=company, status__in=(PlanStatusChoice.PROPOSED, PlanStatusChoice.ACTIVE)
                ).values("debtor_id")
            )
            | Q(
                id__in=Settlement.objects.filter(company=company, status=OfferStatus.OFFERED).values(
                    "debtor_id"
                )
            )
        )
        qs = qs.filter(running) if agreement else qs.exclude(running)
    if on_hold is not None:
        held = Case.objects.filter(company=company, on_hold=True).values("debtor_id")
        qs = qs.filter(id__in=held) if on_hold else qs.exclude(id__in=held)
    return qs.order_by(*SORTS.get(sort, SORTS["name"]))


def segment_choices(company: Company) -> list[tuple[str, str]]:
    """The company's segments (key, name) in rule order (the shipped ones when it has none), for filters."""
    return [(rule.key, gettext(str(rule.label))) for rule in segment_rules(company)]


# -- the case file ---------------------------------------------------------------------------------------


@dataclass
class NextStep:
    step: Step | None
    when: date | None
    blocked_reason: str = ""
    level: int = 0
    held: str = (
        ""  # why the run takes no step (``core.playbook.Held``), "" when it does or it is another cause
    )


def debtor_playbook(company: Company, debtor: Debtor) -> tuple[Playbook, Case | None]:
    case = Case.objects.filter(debtor=debtor).select_related("playbook").first()
    playbook = case.playbook if case and case.playbook else collection.ensure_default_playbook(company)
    return playbook, case


def suggested_next_step(company: Company, debtor: Debtor, as_of: date) -> NextStep:
    """The step the run takes next for the debtor's account and when — or why none (the run's own rules)."""
    _playbook, case = debtor_playbook(company, debtor)
    if case is not None and case.on_hold:
        return NextStep(None, None, str(_("On hold: {reason}")).format(reason=case.hold_reason or "-"))
    if debtor.do_not_contact:
        return NextStep(
            None,
            None,
            str(_("Not to be contacted: {reason}")).format(reason=debtor.do_not_contact_reason or "-"),
        )
    loaded = collection.load(company, as_of, (0, 1), [debtor.pk])
    outcome = collection.account_outcome(loaded, debtor.pk, as_of)
    if outcome.decision is not None:
        level = outcome.decision.step.level
        return NextStep(loaded.steps.get(outcome.decision.step.step_id), as_of, "", level)
    if outcome.held in (Held.NOT_YET, Held.DEADLINE_RUNS, Held.CADENCE) and outcome.next_contact is not None:
        ahead = collection.account_outcome(
            loaded, debtor.pk, as_of, early=True
        )  # the step, whatever its date
        step = ahead.decision.step if ahead.decision is not None else None
        return NextStep(
            loaded.steps.get(step.step_id) if step else None,
            outcome.next_contact,
            "" if step else collection.held_text(company, outcome),
        )
    return NextStep(
        None, None, collection.held_text(company, outcome), held=outcome.held.value if outcome.held else ""
    )


def escalation_advice(
    company: Company, debtor: Debtor, as_of: date, next_step: NextStep
) -> dict[str, Any] | None:
    """For an account at the end of its playbook: the escalation options side by side (``None`` otherwise, or
    when there is nothing to advise on)."""
    if next_step.held != Held.END_OF_PLAYBOOK.value:
        return None
    from mahnwerk.escalation.services import EscalationError, advise_debtor

    try:
        advice = advise_debtor(company, debtor, as_of)
    except (EscalationError, ValueError):
        return None

    from mahnwerk.core.money import format_money

    language = (get_language() or "en")[:2]
    for option in advice["options"]:
        for key in ("expected_net", "costs", "recoverable_costs"):
            option[key] = format_money(option[f"{key}_minor"], advice["currency"], language)
    return advice


def payment_trend(company: Company, debtor: Debtor, sample: int = 5) -> dict[str, Any]:
    """Days late of the last settled invoices, the recent ones against the ones before: is it improving?"""
    settled = list(
        Invoice.objects.filter(debtor=debtor, settled_on__isnull=False)
        .order_by("-settled_on", "-id")
        .values_list("due_date", "settled_on")[: 2 * sample]
    )
    lateness = [(s - d).days for d, s in settled if s is not None]
    recent, earlier = lateness[:sample], lateness[sample:]
    recent_avg = sum(recent) / len(recent) if recent else None
    earlier_avg = sum(earlier) / len(earlier) if earlier else None
    if recent_avg is None or earlier_avg is None:
        trend = "unknown"
    elif recent_avg < earlier_avg - 2:
        trend = "better"
    elif recent_avg > earlier_avg + 2:
        trend = "worse"
    else:
        trend = "steady"
    return {"recent": recent_avg, "earlier": earlier_avg, "trend": trend, "settled": len(lateness)}


def recent_payments(company: Company, debtor: Debtor, limit: int = 10) -> list[Payment]:
    return list(Payment.objects.filter(debtor=debtor).order_by("-value_date", "-id")[:limit])


def recent_actions(company: Company, debtor: Debtor, limit: int = 10) -> list[Action]:
    return list(
        Action.objects.filter(debtor=debtor)
        .select_related("step")
        .annotate(n_items=Count("items"))
        .order_by("-as_of", "-id")[:limit]
    )


# -- the run preview -------------------------------------------------------------------------------------

RUN_PAGE_SIZE = 50
RUN_ID_LIST_LIMIT = 2000  # more rows than this: the names are read for the whole company (no huge IN list)
RUN_SHOWS = ("planned", "held", "all")  # the debtors who get a step (and those left out), those who do not


@dataclass
class _Preview:
    result: collection.RunResult
    rows: dict[tuple[Any, ...], list[dict[str, Any]]] = field(default_factory=dict)  # run_rows per filter
    # the debtor ids of ``result.plan`` and ``result.held_debtors`` in their order (both sorted by id), to find
    # a debtor's entry by bisection
    plan_ids: list[int] = field(default_factory=list)
    held_ids: list[int] = field(default_factory=list)
    # the search index's rows the row lists were sorted by (a snapshot: the index makes a new dict on change)
    names: dict[int, tuple[str, str, str, str]] | None = None

    @classmethod
    def of(cls, result: collection.RunResult) -> _Preview:
        """A whole dry run's preview: its held debtors sorted by id, the id lists made once."""
        result.held_debtors.sort(key=itemgetter(0))
        return cls(
            result,
            plan_ids=[int(str(p["debtor_id"])) for p in result.plan],
            held_ids=[h[0] for h in result.held_debtors],
        )


_PREVIEWS: dict[tuple[Any, ...], _Preview] = {}  # this process's latest run previews
_PREVIEWS_LOCK = threading.Lock()
PREVIEWS_KEPT = 4


def _rows_of(queryset: QuerySet[Any]) -> tuple[Any, ...]:
    fields = [f.attname for f in queryset.model._meta.concrete_fields]
    return tuple(queryset.order_by("pk").values_list(*fields))


def preview_version(company: Company) -> tuple[Any, ...]:
    """Everything a dry run's decisions depend on besides the date: the ledger (every use case writes a timeline
    event, see :func:`ledger_version`), the newest bank statement, the company's settings, playbooks and steps,
    segment rules, rating settings and experiments (small tables, read whole), the loaded rule sets and rate
    tables, and Django's cache (cleared: read again)."""
    from mahnwerk.experiments.models import Experiment
    from mahnwerk.insights.models import RatingSettings, SegmentRuleRow
    from mahnwerk.ledger.claims import rate_tables, rulebook
    from mahnwerk.ledger.models import BankStatement

    settings_rows = (
        _rows_of(Company.objects.filter(pk=company.pk)),
        _rows_of(Playbook.objects.filter(company=company)),
        _rows_of(Step.objects.filter(playbook__company=company)),
        _rows_of(SegmentRuleRow.objects.filter(company=company)),
        _rows_of(RatingSettings.objects.filter(company=company)),
        _rows_of(Experiment.objects.filter(company=company)),
    )
    return (
        ledger_version(company),
        BankStatement.objects.filter(company=company).aggregate(m=Max("id"))["m"] or 0,
        hash(repr(settings_rows)),
        id(rate_tables()),
        id(rulebook()),
        _cache_token(),
    )


def run_preview(
    clerk: runs.Clerk, as_of: date, exclude_debtors: Sequence[int] = (), exclude_items: Sequence[int] = ()
) -> collection.RunResult:
    """:func:`mahnwerk.collection.runs.preview_run`, kept in this process while nothing it depends on changed
    (:func:`preview_version`): paging, filtering and coming back to the run page cost no second dry run of the
    whole ledger. The result is shared: read it, do not change it."""
    key = (
        clerk.company.pk,
        as_of,
        tuple(sorted(exclude_debtors)),
        tuple(sorted(exclude_items)),
        preview_version(clerk.company),  # no language: the page words the reasons itself (run_page_details)
    )
    with _PREVIEWS_LOCK:
        found = _PREVIEWS.get(key)
        # the newest kept preview of the same day and language whose settings are the same
        earlier = next(
            ((k, p) for k, p in reversed(_PREVIEWS.items()) if k[:2] == key[:2] and k[-1][1:] == key[-1][1:]),
            None,
        )
    if found is not None:
        return found.result
    preview = _brought_up_to_date(clerk, key, earlier) if earlier is not None else None
    if preview is None:
        preview = _Preview.of(
            runs.preview_run(clerk, as_of, exclude_debtors=exclude_debtors, exclude_items=exclude_items)
        )
    result = preview.result
    with _PREVIEWS_LOCK:
        for old in [k for k in _PREVIEWS if k[0] == clerk.company.pk and k[-1] != key[-1]]:
            del _PREVIEWS[old]  # the ledger or the settings changed since
        while len(_PREVIEWS) >= PREVIEWS_KEPT:
            del _PREVIEWS[next(iter(_PREVIEWS))]  # the oldest
        _PREVIEWS[key] = preview
    if len(result.plan) + len(result.held_debtors) >= FREEZE_FROM:
        _out_of_the_collectors_way()
    return result


FREEZE_FROM = 20_000  # entries in a kept preview from which its lists are moved out of the collector's way


def _out_of_the_collectors_way() -> None:
    """Move every object alive now into the collector's permanent generation. A kept preview's lists are as
    long as the ledger's due debtors; left young, each of the next collections of the young generations
    traverses them (20–100 ms a request at 1M invoices). Frozen objects are still freed by reference counting
    when a newer preview replaces them; cyclic garbage frozen with them waits for the daily full collection of
    the server's warm-up thread (``serve.warm_forever``)."""
    gc.freeze()


def warm_previews() -> int:
    """Every company's run preview for its business date, kept in this process (the server's workers do this
    after reading the figures), so that the run page's first visit of the day, in any language, is answered
    from it, and later ones are brought up to date (:func:`_brought_up_to_date`)."""
    from django.utils import translation

    warmed = 0
    for company in Company.objects.all():
        with translation.override(company.default_language):
            run_preview(runs.command_line(company), company_today(company))
        warmed += 1
    return warmed


PREVIEW_PATCH_LIMIT = 2_000  # more debtors touched than this: a whole dry run again


def _brought_up_to_date(
    clerk: runs.Clerk, key: tuple[Any, ...], earlier: tuple[tuple[Any, ...], _Preview]
) -> _Preview | None:
    """The preview ``key`` asks for, made from an ``earlier`` one of the same day, language and settings: only
    the debtors a change touched since then (:func:`~mahnwerk.ledger.figures.changed_debtors`: a new invoice,
    payment or timeline event — every use case writes one) or whose exclusion changed are decided again
    (:func:`~mahnwerk.collection.services.dry_run_for_debtors`), the rest is kept. After a payment or a
    debtor left out, the run page answers at once instead of deciding a million items again. None where that
    is not the faster way (many debtors touched) or cannot be trusted (the ledger went backwards). The
    warnings stay those of the earlier preview."""
    company = clerk.company
    old_key, old = earlier
    as_of, debtors, items, ledger_now = key[1], key[2], key[3], key[-1][0]
    ledger_then = old_key[-1][0]
    if not all(now >= then for now, then in zip(ledger_now, ledger_then, strict=True)):
        return None
    touched = figures.changed_debtors(company, ledger_then, limit=PREVIEW_PATCH_LIMIT)
    if touched is None:
        return None
    touched |= set(debtors) ^ set(old_key[2])
    items_changed = set(items) ^ set(old_key[3])
    if items_changed:
        touched |= set(
            Invoice.objects.filter(company=company, pk__in=list(items_changed)).values_list(
                "debtor_id", flat=True
            )
        )
    if len(touched) > PREVIEW_PATCH_LIMIT:
        return None
    fresh = collection.dry_run_for_debtors(
        company, as_of, touched, exclude_debtors=debtors, exclude_items=items
    )
    fresh.held_debtors.sort(key=itemgetter(0))
    # the kept lists are as long as the ledger's debtors: copied whole (in C), the touched debtors' entries
    # found by bisection on the id lists and taken out, the fresh ones put in their places
    plan, plan_ids = list(old.result.plan), list(old.plan_ids)
    held_debtors, held_ids = list(old.result.held_debtors), list(old.held_ids)
    gone = _take_out(plan, plan_ids, touched)
    gone_held = _take_out(held_debtors, held_ids, touched)
    for entry in fresh.plan:
        _put_in(plan, plan_ids, int(str(entry["debtor_id"])), entry)
    for row in fresh.held_debtors:
        _put_in(held_debtors, held_ids, row[0], row)
    steps, held = Counter(old.result.steps), Counter(old.result.held)
    waiting = (Held.BANK_NOT_CURRENT.value, Held.RATE_MISSING.value)  # counted as held too, as the run does
    for entry in gone:
        steps[int(str(entry["level"]))] -= 1
        if entry.get("waits_for_approval") in waiting:
            held[str(entry["waits_for_approval"])] -= 1
    for _debtor, reason, _when in gone_held:
        held[reason] -= 1
    steps.update(fresh.steps)
    held.update(fresh.held)  # its held debtors and its waits, counted as the whole dry run counts them
    patched = replace(
        old.result,
        plan=plan,
        held_debtors=held_debtors,
        held={k: v for k, v in sorted(held.items()) if v > 0},
        steps={k: v for k, v in sorted(steps.items()) if v > 0},
        debtors_due=len(plan),
        awaiting_approval=old.result.awaiting_approval
        - sum(1 for p in gone if p.get("waits_for_approval"))
        + sum(1 for p in fresh.plan if p.get("waits_for_approval")),
        already_done=collection.done_today_count(company, as_of),
        excluded_debtors=sorted(debtors),
        excluded_items=sorted(items),
        # the earlier preview's warnings: their counts are those of its whole dry run (not shown on the run page)
    )
    preview = _Preview(patched, plan_ids=plan_ids, held_ids=held_ids)
    before = replace(old.result, plan=gone, held_debtors=gone_held)
    _patch_rows(company, old, preview, before, fresh, touched, (debtors, items), (old_key[2], old_key[3]))
    return preview


def _take_out[T](entries: list[T], ids: list[int], touched: set[int]) -> list[T]:
    """Remove the entries of ``touched`` debtors from ``entries`` (sorted by id, ``ids`` beside it); returns
    them."""
    gone = []
    for pk in sorted(touched):
        i = bisect.bisect_left(ids, pk)
        while i < len(ids) and ids[i] == pk:
            gone.append(entries.pop(i))
            del ids[i]
    return gone


def _put_in[T](entries: list[T], ids: list[int], pk: int, entry: T) -> None:
    i = bisect.bisect_right(ids, pk)
    ids.insert(i, pk)
    entries.insert(i, entry)


ROW_LISTS_KEPT = 16


def kept_run_rows(
    company: Company,
    result: collection.RunResult,
    excluded_debtors: Sequence[int] = (),
    excluded_items: Sequence[int] = (),
    filters: RunFilter | None = None,
) -> list[dict[str, Any]]:
    """:func:`run_rows` of a preview from :func:`run_preview`, kept with it per filter: the next page of the
    same list sorts no names again."""
    filters = filters or RunFilter()
    with _PREVIEWS_LOCK:
        preview = next((p for p in _PREVIEWS.values() if p.result is result), None)
    if preview is None:
        return run_rows(company, result, excluded_debtors, excluded_items, filters)
    key = (
        tuple(excluded_debtors),
        tuple(excluded_items),
        filters.q,
        filters.level,
        filters.channel,
        filters.show,
    )
    rows = preview.rows.get(key)
    if rows is None:
        if preview.names is None:
            preview.names = _name_index(company).rows  # every list of the preview sorted by these names
        rows = run_rows(company, result, excluded_debtors, excluded_items, filters, names=preview.names)
        with _PREVIEWS_LOCK:
            if len(preview.rows) >= ROW_LISTS_KEPT:
                preview.rows.clear()
            preview.rows[key] = rows
    return rows


@dataclass
class RunFilter:
    """The run page's filters: a name or number, a step, a channel, which rows (``RUN_SHOWS``)."""

    q: str = ""
    level: int | None = None
    channel: str = ""
    show: str = "planned"


def run_rows(
    company: Company,
    result: collection.RunResult,
    excluded_debtors: Sequence[int] = (),
    excluded_items: Sequence[int] = (),
    filters: RunFilter | None = None,
    names: dict[int, tuple[str, str, str, str]] | None = None,
) -> list[dict[str, Any]]:
    """A dry run per debtor, filtered: each row has the debtor's id, ``kind`` ("due", "excluded", "held"),
    and for the due ones the plan (step, channel, deadline, items); for the held ones ``reason``. Names and
    numbers come with the page (:func:`run_page_details`)."""
    filters = filters or RunFilter()
    rows: list[dict[str, Any]] = []
    if filters.show in ("planned", "all"):
        rows += [p | {"kind": "due"} for p in result.plan]
        rows += [{"debtor_id": pk, "kind": "excluded"} for pk in excluded_debtors]
    if filters.level is None and not filters.channel:
        # in the planned view too: a debtor whose invoices left out leave it nothing to send (to take them back)
        touched = (
            set(
                Invoice.objects.filter(company=company, pk__in=list(excluded_items)).values_list(
                    "debtor_id", flat=True
                )
            )
            if excluded_items and filters.show == "planned"
            else set()
        )
        rows += [
            {"debtor_id": pk, "kind": "held", "held": reason, "next_contact": when}
            for pk, reason, when in result.held_debtors
            if filters.show in ("held", "all") or pk in touched
        ]
    if filters.level is not None:
        rows = [r for r in rows if r.get("level") == filters.level]
    if filters.channel:
        rows = [r for r in rows if r.get("channel") == filters.channel]
    if filters.q.strip():
        wanted = search_ids(company, filters.q.strip())
        rows = [r for r in rows if r["debtor_id"] in wanted]
    names = _name_index(company).rows if names is None else names
    rows = [r for r in rows if r["debtor_id"] in names]
    rows.sort(key=_row_order(names))
    return rows


def _row_order(
    names: dict[int, tuple[str, str, str, str]],
) -> Callable[[dict[str, Any]], tuple[int, str, int]]:
    """The run page's order: debtors who get a step, left out, held; each by name as the search index folds it
    (kept per process and patched: no query of every name and no folding per row on each request)."""
    order = {"due": 0, "excluded": 1, "held": 2}

    def key(row: dict[str, Any]) -> tuple[int, str, int]:
        pk = row["debtor_id"]
        return (order[row["kind"]], names[pk][2].partition("\x00")[0], pk)

    return key


def _patch_rows(
    company: Company,
    earlier: _Preview,
    preview: _Preview,
    gone: collection.RunResult,
    fresh: collection.RunResult,
    touched: set[int],
    now: tuple[Sequence[int], Sequence[int]],
    then: tuple[Sequence[int], Sequence[int]],
) -> None:
    """Bring the row lists ``earlier`` kept per filter over to ``preview``: each list copied, the rows the
    touched debtors had in it (made again from their ``gone`` entries as the list made them, with the exclusions
    ``then``) found by bisection and taken out, their rows made from ``fresh`` (exclusions ``now``) and put in
    their places — no pass over the whole list in Python."""
    if not earlier.rows or earlier.names is None:
        return
    names = _name_index(company).rows
    before, after = _row_order(earlier.names), _row_order(names)
    for key, rows in earlier.rows.items():
        filters = RunFilter(q=key[2], level=key[3], channel=key[4], show=key[5])
        if filters.q.strip():  # a search's list is short, and what it found may have changed with a name
            kept, old_rows = [r for r in rows if r["debtor_id"] not in touched], []
        else:
            kept = list(rows)
            old_rows = run_rows(
                company, gone, [pk for pk in then[0] if pk in touched], then[1], filters, names=earlier.names
            )
        for row in old_rows:
            i = bisect.bisect_left(kept, before(row), key=before)
            if i < len(kept) and kept[i]["debtor_id"] == row["debtor_id"] and kept[i]["kind"] == row["kind"]:
                del kept[i]
            else:  # not where its name puts it (the index changed under the list): look for it
                kept = [r for r in kept if r["debtor_id"] != row["debtor_id"]]
        again = run_rows(company, fresh, [pk for pk in now[0] if pk in touched], now[1], filters, names=names)
        for row in again:
            bisect.insort(kept, row, key=after)
        preview.rows[(tuple(now[0]), tuple(now[1]), *key[2:])] = kept
    preview.names = names


def run_page_details(
    company: Company, rows: Sequence[dict[str, Any]], excluded_items: Sequence[int] = ()
) -> list[dict[str, Any]]:
    """The rows of one page ready to show: the debtor, the step's channel by name, each item's number and
    amount, the totals per currency, the invoices left out, the reason a held debtor gets nothing."""
    from mahnwerk.core.playbook import AccountOutcome

    debtors = Debtor.objects.filter(company=company).in_bulk([r["debtor_id"] for r in rows])
    wanted = {i["invoice_id"] for r in rows for i in [*r.get("items", ()), *r.get("coming", ())]}
    invoices = {
        pk: (number, currency)
        for pk, number, currency in Invoice.objects.filter(company=company, pk__in=wanted).values_list(
            "id", "number", "currency"
        )
    }
    left_out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if excluded_items:
        for pk, debtor_id, number, currency, open_minor in Invoice.objects.filter(
            company=company, pk__in=list(excluded_items), debtor_id__in=list(debtors)
        ).values_list("id", "debtor_id", "number", "currency", "open_minor"):
            left_out[debtor_id].append(
                {"invoice_id": pk, "number": number, "currency": currency, "open_minor": open_minor}
            )
    shown = []
    for row in rows:
        debtor = debtors.get(row["debtor_id"])
        if debtor is None:
            continue
        items = [
            i | {"number": invoices[i["invoice_id"]][0], "currency": invoices[i["invoice_id"]][1]}
            for i in row.get("items", ())
            if i["invoice_id"] in invoices
        ]
        totals: dict[str, int] = {}
        for item in items:
            totals[item["currency"]] = totals.get(item["currency"], 0) + item["open_minor"]
        channel = row.get("channel", "")
        reason = ""
        if row["kind"] == "held" and row["held"] == Held.COVERED.value and left_out.get(debtor.pk):
            reason = str(_("Every invoice that could go is left out of today's run."))
        elif row["kind"] == "held":
            reason = collection.held_text(
                company, AccountOutcome(None, Held(row["held"]), row["next_contact"])
            )
        shown.append(
            row
            | {
                "debtor": debtor,
                "items": items,
                "totals": sorted(totals.items()),
                "channel_label": ChannelChoice(channel).label if channel in ChannelChoice.values else channel,
                "left_out": sorted(left_out.get(debtor.pk, []), key=lambda i: i["number"]),
                "reason": reason,
                # in the page's language (the kept preview serves every language)
                "waits_reason": str(collection.WAIT_TEXTS[row["waits_for_approval"]])
                if row.get("waits_for_approval")
                else None,
            }
        )
    return shown


def steps_by_level(company: Company) -> dict[int, str]:
    names: defaultdict[int, str] = defaultdict(str)
    for level, name in Step.objects.filter(playbook__company=company, playbook__is_default=True).values_list(
        "level", "name"
    ):
        names[level] = name
    return dict(names)
