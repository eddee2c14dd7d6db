"""What waits for a person, most valuable first: open tasks and the decisions nobody has taken (plans outside
the limits, open disputes) — the home page's list and ``GET /api/work``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Max
from django.utils.translation import gettext_lazy as _

from mahnwerk.collection.agreements_models import (
    Dispute,
    DisputeReason,
    DisputeStatus,
    InstalmentPlan,
    PlanStatusChoice,
)
from mahnwerk.collection.models import Task, TaskStatus
from mahnwerk.insights.models import InvoicePrediction
from mahnwerk.ledger.models import Company, Debtor

PLAN_VIOLATIONS = {
    "too_many_instalments": _("more instalments than the limit"),
    "down_payment_too_small": _("down payment below the minimum"),
    "too_long": _("runs longer than allowed"),
}


@dataclass
class WorkItem:
    """One thing a person has to do or decide: a task or a decision, with what is at stake."""

    kind: str  # a TaskKind value, "plan_approval" or "dispute"
    label: str
    debtor: Debtor
    amount_minor: int
    currency: str
    due: date
    reason: str
    weight: float = 1.0  # probability the money stays unpaid without the person (from the predictions)
    task: Task | None = None
    object_id: int = 0

    @property
    def value(self) -> float:
        """The expected value of acting: the money at stake times the chance it stays unpaid otherwise."""
        return self.amount_minor * self.weight


def _late_weights(company: Company, today: date, debtor_ids: set[int]) -> dict[int, float]:
    """Per debtor, the highest stored probability of late payment of its open invoices (today's predictions);
    debtors without a prediction count fully."""
    if not debtor_ids:
        return {}
    return {
        debtor_id: float(p)
        for debtor_id, p in InvoicePrediction.objects.filter(
            company=company, as_of=today, invoice__debtor_id__in=debtor_ids, p_late__isnull=False
        )
        .values("invoice__debtor_id")
        .annotate(p=Max("p_late"))
        .values_list("invoice__debtor_id", "p")
        .order_by()
    }


def waiting_work(
    company: Company,
    today: date,
    *,
    limit: int = 20,
    horizon_days: int = 7,
    version: tuple[int, ...] | None = None,
) -> list[WorkItem]:
    """Open tasks due within ``horizon_days`` (calls, address research, replies to read) and decisions
    waiting for a person (plans outside the limits, open disputes), most valuable first: the money at stake
    (the debtor's overdue amount for a task, the plan's total, the disputed amount) times the predicted chance
    that it stays unpaid. Five queries whatever the number of debtors; the overdue amounts come from the
    cached company-wide pass."""
    from mahnwerk.ledger.figures import company_amounts  # the company-wide figures the pages share (cached)

    amounts = company_amounts(company, today, version)
    items: list[WorkItem] = []
    tasks = (
        Task.objects.filter(
            company=company, status=TaskStatus.OPEN, due_on__lte=today + timedelta(days=horizon_days)
        )
        .select_related("debtor")
        .order_by("due_on", "pk")[:500]
    )
    for task in tasks:
        overdue = amounts.overdue.get(task.debtor_id, 0)
        days = (today - task.due_on).days
        reason = (
            str(_("{days} days late")).format(days=days)
            if days > 0
            else str(_("due today"))
            if days == 0
            else str(_("due in {days} days")).format(days=-days)
        )
        items.append(
            WorkItem(
                task.kind,
                str(task.get_kind_display()),
                task.debtor,
                overdue or amounts.open.get(task.debtor_id, 0),
                company.currency,
                task.due_on,
                reason,
                task=task,
                object_id=task.pk,
            )
        )
    for plan in InstalmentPlan.objects.filter(
        company=company, status=PlanStatusChoice.PROPOSED, needs_approval=True, approved_on__isnull=True
    ).select_related("debtor")[:200]:
        codes = [c for c in plan.violations.split(",") if c]
        items.append(
            WorkItem(
                "plan_approval",
                str(_("Approve an instalment plan")),
                plan.debtor,
                plan.total_minor,
                plan.currency,
                plan.confirm_by,
                ", ".join(str(PLAN_VIOLATIONS.get(c, c)) for c in codes),
                object_id=plan.pk,
            )
        )
    for dispute in Dispute.objects.filter(company=company, status=DisputeStatus.OPEN).select_related(
        "debtor", "invoice"
    )[:200]:
        items.append(
            WorkItem(
                "dispute",
                str(_("Resolve a dispute")),
                dispute.debtor,
                dispute.amount_minor or dispute.invoice.open_minor,
                dispute.invoice.currency,
                dispute.opened_on,
                f"{dispute.invoice.number}: {DisputeReason(dispute.reason).label}",
                object_id=dispute.pk,
            )
        )
    weights = _late_weights(company, today, {item.debtor.pk for item in items})
    for item in items:
        item.weight = weights.get(item.debtor.pk, 1.0)
    items.sort(key=lambda i: (-i.value, i.due, i.kind, i.object_id))
    return items[:limit]
