"""Agreements and disputes as rows for the command line and the web UI."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from mahnwerk.collection.agreements_models import Dispute, InstalmentPlan, Promise, Settlement
from mahnwerk.core.money import format_money
from mahnwerk.ledger.models import Company, Debtor


def _money(minor: int, currency: str) -> str:
    return format_money(minor, currency)


def _numbers_by(model: Any, ids: list[int]) -> dict[int, list[str]]:
    through = model.invoices.through
    column = f"{model._meta.model_name}_id"
    result: dict[int, list[str]] = defaultdict(list)
    for owner, number in (
        through.objects.filter(**{f"{column}__in": ids})
        .order_by("invoice__due_date")
        .values_list(column, "invoice__number")
    ):
        result[owner].append(number)
    return result


def _select[M: (Promise, InstalmentPlan, Settlement)](
    model: type[M], company: Company, debtor: Debtor | None, status: str | None, order: str
) -> tuple[list[M], dict[int, list[str]]]:
    """A company's agreements of one kind (of one debtor, in one status), oldest first, with the numbers of
    the invoices each covers (two queries)."""
    qs = model.objects.filter(company=company).select_related("debtor").order_by(order, "pk")
    qs = qs.filter(debtor=debtor) if debtor else qs
    qs = qs.filter(status=status) if status else qs
    rows = list(qs)
    return rows, _numbers_by(model, [row.pk for row in rows])


def list_promises(
    company: Company, debtor: Debtor | None = None, status: str | None = None
) -> list[dict[str, Any]]:
    rows, numbers = _select(Promise, company, debtor, status, "promised_date")
    return [
        {
            "id": p.pk,
            "debtor": p.debtor.number,
            "invoices": numbers[p.pk],
            "made_on": p.made_on.isoformat(),
            "promised_date": p.promised_date.isoformat(),
            "grace_days": p.grace_days,
            "amount": _money(p.amount_minor, p.currency),
            "amount_minor": p.amount_minor,
            "currency": p.currency,
            "status": p.status,
            "paid_minor": p.paid_minor,
            "fallback_level": p.fallback_level,
            "closed_on": p.closed_on.isoformat() if p.closed_on else None,
        }
        for p in rows
    ]


def plan_as_dict(plan: InstalmentPlan, numbers: list[str] | None = None) -> dict[str, Any]:
    return {
        "id": plan.pk,
        "debtor": plan.debtor.number,
        "invoices": numbers if numbers is not None else list(plan.invoices.values_list("number", flat=True)),
        "status": plan.status,
        "proposed_on": plan.proposed_on.isoformat(),
        "confirm_by": plan.confirm_by.isoformat(),
        "principal_minor": plan.principal_minor,
        "costs_minor": plan.costs_minor,
        "costs_mode": plan.costs_mode,
        "total": _money(plan.total_minor, plan.currency),
        "currency": plan.currency,
        "needs_approval": plan.needs_approval,
        "violations": [v for v in plan.violations.split(",") if v],
        "approved_by": plan.approved_by,
        "confirmed_on": plan.confirmed_on.isoformat() if plan.confirmed_on else None,
        "paid_minor": plan.paid_minor,
        "breached_on": plan.breached_on.isoformat() if plan.breached_on else None,
        "resume_level": plan.resume_level,
        "instalments": [
            {
                "number": i.number,
                "due_date": i.due_date.isoformat(),
                "amount_minor": i.amount_minor,
                "amount": _money(i.amount_minor, plan.currency),
                "paid_minor": i.paid_minor,
            }
            for i in plan.instalments.order_by("number")
        ],
    }


def list_plans(
    company: Company, debtor: Debtor | None = None, status: str | None = None
) -> list[dict[str, Any]]:
    rows, numbers = _select(InstalmentPlan, company, debtor, status, "proposed_on")
    return [plan_as_dict(p, numbers[p.pk]) for p in rows]


def list_disputes(
    company: Company, debtor: Debtor | None = None, status: str | None = None
) -> list[dict[str, Any]]:
    qs = Dispute.objects.filter(company=company).select_related("debtor", "invoice", "credit_note")
    qs = qs.filter(debtor=debtor) if debtor else qs
    qs = qs.filter(status=status) if status else qs
    return [
        {
            "id": d.pk,
            "debtor": d.debtor.number,
            "invoice": d.invoice.number,
            "amount_minor": d.amount_minor,
            "amount": _money(d.amount_minor or d.invoice.open_minor, d.invoice.currency),
            "reason": d.reason,
            "notes": d.notes,
            "status": d.status,
            "opened_on": d.opened_on.isoformat(),
            "resolved_on": d.resolved_on.isoformat() if d.resolved_on else None,
            "resolution": d.resolution,
            "resume_on": d.resume_on.isoformat() if d.resume_on else None,
            "credit_note": d.credit_note.number if d.credit_note else None,
        }
        for d in qs.order_by("opened_on", "pk")
    ]


def list_settlements(
    company: Company, debtor: Debtor | None = None, status: str | None = None
) -> list[dict[str, Any]]:
    rows, numbers = _select(Settlement, company, debtor, status, "offered_on")
    return [
        {
            "id": s.pk,
            "debtor": s.debtor.number,
            "invoices": numbers[s.pk],
            "offered_on": s.offered_on.isoformat(),
            "deadline": s.deadline.isoformat(),
            "amount_minor": s.amount_minor,
            "amount": _money(s.amount_minor, s.currency),
            "open_at_offer": _money(s.open_at_offer_minor, s.currency),
            "currency": s.currency,
            "reason": s.reason,
            "status": s.status,
            "paid_minor": s.paid_minor,
            "written_off": _money(s.written_off_minor, s.currency),
            "closed_on": s.closed_on.isoformat() if s.closed_on else None,
        }
        for s in rows
    ]
