"""The run page: what today's run would do per debtor, leaving debtors or single invoices out, approving all or
the selected debtors.

What the clerk leaves out is kept in the session for today's run of the company only (tomorrow everything is
decided again) and goes to :func:`mahnwerk.collection.runs.approve_run` — the service the API and the command
line use too — which notes it on the debtors' timelines with the clerk's name.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from mahnwerk.collection import runs
from mahnwerk.collection.services import CollectionError
from mahnwerk.ledger.models import ChannelChoice, Debtor, Invoice
from mahnwerk.ledger.services import company_today
from mahnwerk.web import services
from mahnwerk.web.access import CompanyRequest, clerk, member_required
from mahnwerk.web.params import parse_count, parse_id

SESSION_KEY = "mahnwerk_run_left_out"


def left_out(request: CompanyRequest, day: date) -> tuple[list[int], list[int]]:
    """The debtors and invoices (ids) the clerk left out of the company's run of ``day``."""
    data = request.session.get(SESSION_KEY) or {}
    if data.get("company") != request.company.pk or data.get("day") != day.isoformat():
        return [], []
    return list(data.get("debtors", [])), list(data.get("items", []))


def _keep(request: CompanyRequest, day: date, debtors: list[int], items: list[int]) -> None:
    request.session[SESSION_KEY] = {
        "company": request.company.pk,
        "day": day.isoformat(),
        "debtors": sorted(set(debtors)),
        "items": sorted(set(items)),
    }


def _filters(request: CompanyRequest) -> services.RunFilter:
    level = request.GET.get("level", "")
    channel = request.GET.get("channel", "")
    show = request.GET.get("show", "planned")
    return services.RunFilter(
        q=request.GET.get("q", "")[:100],
        level=parse_count(level),
        channel=channel if channel in ChannelChoice.values else "",
        show=show if show in services.RUN_SHOWS else "planned",
    )


@member_required()
def run_preview(request: CompanyRequest) -> HttpResponse:
    """What a run would do (dry run), per debtor: today's by default, ``?day=tomorrow`` for tomorrow's (its
    summary, for the home page). Computed on demand; nothing is written."""
    company = request.company
    today = company_today(company)
    tomorrow = request.GET.get("day") == "tomorrow"
    as_of = today + timedelta(days=1) if tomorrow else today
    debtors, items = ([], []) if tomorrow else left_out(request, today)
    try:
        result = services.run_preview(clerk(request), as_of, debtors, items)
    except CollectionError:  # a debtor or invoice left out meanwhile deleted: start afresh
        request.session.pop(SESSION_KEY, None)
        debtors, items = [], []
        result = services.run_preview(clerk(request), as_of)
    per_level = result.steps  # the dry run's debtors per step level
    levels = services.steps_by_level(company)
    context: dict[str, Any] = {
        "as_of": as_of,
        "tomorrow": tomorrow,
        "result": result,
        "per_level": sorted(per_level.items()),
        "levels": levels,
    }
    if tomorrow:
        return render(request, "web/_plan.html", context)
    filters = _filters(request)
    found = services.kept_run_rows(company, result, debtors, items, filters)
    page = Paginator(found, services.RUN_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context |= {
        "rows": services.run_page_details(company, list(page.object_list), items),
        "page": page,
        "found": len(found),
        "filters": filters,
        "query": query.urlencode(),
        "here": request.get_full_path(),
        "left_out_debtors": len(debtors),
        "left_out_items": len(items),
        "level_choices": sorted(levels.items()),
        "channel_choices": ChannelChoice.choices,
        "show_choices": [
            ("planned", _("Debtors who get a step")),
            ("held", _("Debtors who get nothing, and why")),
            ("all", _("All")),
        ],
    }
    return render(request, "web/run.html", context)


def _back(request: CompanyRequest) -> str:
    back = request.POST.get("next", "")
    if back.startswith("/run/") and url_has_allowed_host_and_scheme(back, {request.get_host()}):
        return back
    return "web:run"


@require_POST
@member_required("work")
def run_leave_out(request: CompanyRequest) -> HttpResponse:
    """Leave a debtor (``debtor``) or one invoice (``item``) out of today's run, or take it back (``undo``).
    Another company's debtor or invoice is not found."""
    company = request.company
    today = company_today(company)
    debtors, items = left_out(request, today)
    undo = request.POST.get("undo") == "1"
    debtor_ref, item_ref = request.POST.get("debtor", ""), request.POST.get("item", "")
    debtor_id, item_id = parse_id(debtor_ref), parse_id(item_ref)
    if debtor_id is not None:
        debtor = get_object_or_404(Debtor, company=company, pk=debtor_id)
        debtors = [d for d in debtors if d != debtor.pk] if undo else [*debtors, debtor.pk]
        name = debtor.name
    elif item_id is not None:
        invoice = get_object_or_404(Invoice, company=company, pk=item_id)
        items = [i for i in items if i != invoice.pk] if undo else [*items, invoice.pk]
        name = invoice.number
    else:
        messages.error(request, _("Choose a debtor or an invoice."))
        return redirect(_back(request))
    _keep(request, today, debtors, items)
    if undo:
        messages.success(request, _("{name} is in today's run again.").format(name=name))
    else:
        messages.success(request, _("{name} is left out of today's run.").format(name=name))
    return redirect(_back(request))


@require_POST
@member_required("work")
def run_approve(request: CompanyRequest) -> HttpResponse:
    """Approve today's run — every debtor, or the selected ones (``mode=selected``, ``debtor`` ids) — without
    what the clerk left out."""
    company = request.company
    today = company_today(company)
    debtors, items = left_out(request, today)
    only: list[int] | None = None
    if request.POST.get("mode") == "selected":
        only = [n for n in map(parse_id, request.POST.getlist("debtor")) if n is not None]
        if not only:
            messages.error(request, _("Select at least one debtor."))
            return redirect(_back(request))
    try:
        result = runs.approve_run(
            clerk(request), today, exclude_debtors=debtors, exclude_items=items, only_debtors=only
        )
    except CollectionError as exc:
        messages.error(request, str(exc))
        return redirect(_back(request))
    request.session.pop(SESSION_KEY, None)
    messages.success(
        request,
        _(
            "Run done. Actions: {actions}, messages queued: {messages}, debtors already done today: {skipped}."
        ).format(
            actions=result.actions_created, messages=result.messages_queued, skipped=result.already_done
        ),
    )
    if debtors or items:
        messages.info(
            request,
            _("Left out of this run: {debtors} debtor(s), {items} invoice(s).").format(
                debtors=len(debtors), items=len(items)
            ),
        )
    return redirect("web:home")
