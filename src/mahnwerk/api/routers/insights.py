"""Receivables KPIs and the worklist."""

from datetime import timedelta
from typing import Annotated, Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router

from mahnwerk.api.auth import caller
from mahnwerk.api.errors import FieldError, Invalid
from mahnwerk.api.schemas import Errors, RangeDate
from mahnwerk.core.kpi import Period
from mahnwerk.core.tabular import TabularError, check_date_range
from mahnwerk.insights.services import company_kpis_and_others, worklist
from mahnwerk.ledger.management.commands.kpi import as_dict as kpi_as_dict
from mahnwerk.ledger.management.commands.kpi import others_as_dict
from mahnwerk.ledger.services import company_today
from mahnwerk.work.waiting import waiting_work

router = Router(tags=["insights"])


@router.get("/kpi", response={200: dict[str, Any], 401: Errors, 422: Errors})
def get_kpi(
    request: HttpRequest,
    start: Annotated[RangeDate | None, Query(alias="from")] = None,
    end: Annotated[RangeDate | None, Query(alias="to")] = None,
    forecast: bool = False,
) -> dict[str, Any]:
    """KPIs for the period ``from``..``to`` (default: the last full calendar month)."""
    company = caller(request).company
    end = end or company_today(company).replace(day=1) - timedelta(days=1)
    start = start or end.replace(day=1)
    if end < start:
        raise Invalid([FieldError(("query", "to"), _("The period cannot end before it starts."))])
    for name, day in (("from", start), ("to", end)):
        try:
            check_date_range(day)
        except TabularError as exc:
            raise Invalid([FieldError(("query", name), exc.render(_))]) from None
    report, others = company_kpis_and_others(company, Period(start, end), forecast=forecast)
    # amounts in different currencies are never added up: the others are named with their own sums
    return kpi_as_dict(report) | {"currency": company.currency, "other_currencies": others_as_dict(others)}


@router.get("/worklist", response={200: dict[str, Any], 401: Errors, 422: Errors})
def get_worklist(
    request: HttpRequest,
    as_of: RangeDate | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> dict[str, Any]:
    """Open invoices ranked by the expected value of acting now, with the reason."""
    if as_of is not None:
        try:
            check_date_range(as_of)
        except TabularError as exc:
            raise Invalid([FieldError(("query", "as_of"), exc.render(_))]) from None
    return worklist(caller(request).company, as_of, limit=limit).as_dict()


@router.get("/work", response={200: list[dict[str, Any]], 401: Errors, 422: Errors})
def get_work(request: HttpRequest, limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[dict[str, Any]]:
    """What waits for a person (call tasks, address research, replies, plans outside the limits, open
    disputes), most valuable first: the money at stake times the predicted chance it stays unpaid."""
    company = caller(request).company
    return [
        {
            "kind": item.kind,
            "label": item.label,
            "debtor_id": item.debtor.pk,
            "debtor": item.debtor.number,
            "amount_minor": item.amount_minor,
            "currency": item.currency,
            "chance_unpaid": round(item.weight, 4),
            "value_minor": round(item.value),
            "due": item.due,
            "reason": item.reason,
            "object_id": item.object_id,
        }
        for item in waiting_work(company, company_today(company), limit=limit)
    ]
