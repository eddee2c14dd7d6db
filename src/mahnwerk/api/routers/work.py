"""The work queue: what waits for a person, one row per debtor, and assigning it."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from django.contrib.auth import get_user_model
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router

from mahnwerk.api.auth import caller, writer
from mahnwerk.api.errors import FieldError, Invalid
from mahnwerk.api.schemas import MAX_ID, Errors, In
from mahnwerk.work import services as work

router = Router(tags=["work"])

DebtorId = Annotated[int, Field(ge=1, le=MAX_ID)]


class AssignIn(In):
    debtor_ids: Annotated[list[DebtorId], Field(min_length=1, max_length=1000)]
    user: Annotated[str | None, Field(max_length=150)] = None  # a user name; null takes the assignment away


def _user_id(username: str) -> int | None:
    return get_user_model().objects.filter(username=username).values_list("pk", flat=True).first()


@router.get("/work/queue", response={200: dict[str, Any], 401: Errors, 422: Errors})
def get_queue(
    request: HttpRequest,
    kind: Annotated[str | None, Query(max_length=30)] = None,
    assignee: Annotated[str | None, Query(max_length=20, pattern=r"^(mine|unassigned|[0-9]{1,18})$")] = None,
    sort: Literal["priority", "amount", "age"] = "priority",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Everything that waits for a person, one row per debtor: the kinds of work, the money at stake and the
    priority (the money times the risk: the predicted chance of late payment, else the age of the debt).
    ``assignee``: "mine", "unassigned" or a user id."""
    who = caller(request)
    if kind and kind not in work.KINDS:
        raise Invalid(
            [
                FieldError(
                    ("query", "kind"),
                    _("Unknown kind of work; one of: {kinds}").format(kinds=", ".join(work.KINDS)),
                )
            ]
        )
    result = work.queue(
        who.company,
        user_id=_user_id(who.username) if assignee == "mine" else None,
        kind=kind or "",
        assignee=assignee or "",
        sort=sort,
        page=page,
        page_size=page_size,
    )
    rows = []
    for row in result.page.object_list:
        assert row.debtor is not None
        rows.append(
            {
                "debtor_id": row.debtor_id,
                "debtor": row.debtor.number,
                "name": row.debtor.name,
                "kinds": row.kinds,
                "items": [
                    {
                        "kind": item.kind,
                        "since": item.since,
                        "detail": item.detail,
                        "amount_minor": item.amount_minor,
                        "task_id": item.task_id,
                    }
                    for item in row.items
                ],
                "amount_minor": row.amount_minor,
                "currency": row.currency,
                "risk": round(row.risk, 4),
                "priority_basis": row.priority_basis,
                "overdue_days": row.overdue_days,
                "waiting_days": row.age_days,
                "priority_minor": round(row.priority),
                "assignee": row.assignee or None,
            }
        )
    return {
        "count": result.count,
        "page": result.page.number,
        "pages": result.page.paginator.num_pages,
        "rows": rows,
    }


@router.post(
    "/work/assign",
    response={200: dict[str, Any], 400: Errors, 401: Errors, 403: Errors, 404: Errors, 422: Errors},
)
def assign(request: HttpRequest, payload: AssignIn) -> dict[str, Any]:
    """Give the debtors' work to a collector or administrator of the company (``user`` null: to nobody).
    A debtor of another company is not found (404) and nothing is assigned."""
    who = writer(request)
    debtors = work.company_debtors(who.company, payload.debtor_ids)
    if len(debtors) != len(set(payload.debtor_ids)):
        raise Http404("no such debtor")
    user = None
    if payload.user is not None:
        try:
            user = work.find_worker(who.company, username=payload.user)
        except work.WorkError as exc:
            raise Invalid([FieldError(("body", "user"), str(exc))]) from None
    outcomes = work.assign(who.company, payload.debtor_ids, user, actor=who.actor)
    return {"results": [o.as_dict() for o in outcomes], "assigned": sum(1 for o in outcomes if o.ok)}
