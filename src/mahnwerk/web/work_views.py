"""The work queue page: what waits for a person, one row per debtor; assignment and bulk actions."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from mahnwerk.ledger.services import company_today
from mahnwerk.web.access import CompanyRequest, actor, member_required
from mahnwerk.web.params import parse_count, parse_id
from mahnwerk.work import services as work

SORT_CHOICES = [
    ("priority", gettext_lazy("Priority")),
    ("amount", gettext_lazy("Amount at stake")),
    ("age", gettext_lazy("Waiting longest")),
]


class QueueFilterForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Kind of work"), required=False)
    assignee = forms.ChoiceField(label=gettext_lazy("Assigned to"), required=False)
    sort = forms.ChoiceField(label=gettext_lazy("Sort by"), required=False, choices=SORT_CHOICES)

    def __init__(self, *args: Any, users: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        kind_field = self.fields["kind"]
        assert isinstance(kind_field, forms.ChoiceField)
        kind_field.choices = [("", _("All kinds")), *((k, str(v)) for k, v in work.KIND_LABELS.items())]
        assignee_field = self.fields["assignee"]
        assert isinstance(assignee_field, forms.ChoiceField)
        assignee_field.choices = [
            ("", _("Anyone")),
            ("mine", _("Me")),
            ("unassigned", _("Nobody")),
            *((str(u.pk), u.get_username()) for u in users),
        ]


@member_required()
def work_queue(request: CompanyRequest) -> HttpResponse:
    company = request.company
    today = company_today(company)
    users = work.workers(company)
    form = QueueFilterForm(request.GET or None, users=users)
    filters = form.cleaned_data if form.is_valid() else {}
    result = work.queue(
        company,
        user_id=request.user.pk,
        kind=filters.get("kind") or "",
        assignee=filters.get("assignee") or "",
        sort=filters.get("sort") or "priority",
        page=request.GET.get("page"),
        today=today,
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "web/work.html",
        {
            "today": today,
            "form": form,
            "page": result.page,
            "rows": result.page.object_list,
            "count": result.count,
            "users": users,
            "query": query.urlencode(),
            "here": request.get_full_path(),
            "can_act": request.membership.can_work,
            "max_days": work.MAX_POSTPONE_DAYS,
            "unknown_payers": work.payments_without_debtor(company),
        },
    )


@require_POST
@member_required("work")
def work_bulk(request: CompanyRequest) -> HttpResponse:
    """A bulk action on the selected rows; each debtor's outcome comes back as a message."""
    back = request.POST.get("next", "")
    if (
        not back
        or not url_has_allowed_host_and_scheme(back, {request.get_host()})
        or not back.startswith("/")
    ):
        back = "web:work"
    ids = [n for n in map(parse_id, request.POST.getlist("debtor")) if n is not None]
    days_text = request.POST.get("days", "")
    user_text = request.POST.get("user", "")
    try:
        outcomes = work.bulk(
            request.company,
            request.POST.get("action", ""),
            ids,
            actor=actor(request),
            user_id=parse_id(user_text),
            days=parse_count(days_text) or 0,
            role=request.membership.role,
        )
    except work.WorkError as exc:
        messages.error(request, str(exc))
        return redirect(back)
    for outcome in outcomes:
        text = f"{outcome.debtor or outcome.debtor_id}: {outcome.message}"
        (messages.success if outcome.ok else messages.error)(request, text)
    return redirect(back)


@member_required()
def work_counts(request: CompanyRequest) -> HttpResponse:
    """The navigation's counts (loaded after the page, so that no page pays for them): one query."""
    found = work.counts(request.company, request.user.pk)
    return HttpResponse(
        _("{total} waiting, {mine} mine").format(total=found.total, mine=found.mine),
        content_type="text/plain; charset=utf-8",
    )
