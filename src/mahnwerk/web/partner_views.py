"""The partner page: the collection agencies and lawyers of the company with the accounts handed to them.

Any member sees the page; administrators add partners, change a partner's terms (kind, fee, email, exchange
format, active) and issue it a new token; collectors and administrators recall a handover (through
``partners.services.recall``, which ends it and releases the hold). Partners and handovers are looked up within
the member's company, so another company's are "not found". A partner's token for its status reports is shown
once, on the page that answers the form, and never stored in the clear. Every change is on the partner's
history, shown on the page.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from mahnwerk.ledger.services import company_today
from mahnwerk.partners.models import (
    ExchangeFormat,
    Handover,
    HandoverStatus,
    Partner,
    PartnerEvent,
    PartnerEventKind,
    PartnerKind,
)
from mahnwerk.partners.services import (
    PartnerError,
    add_partner,
    dossier_bytes,
    recall,
    reissue_token,
    update_partner,
)
from mahnwerk.web.access import CompanyRequest, actor, member_required
from mahnwerk.web.forms import StrictDecimalField


class PartnerForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=PartnerKind.choices)
    fee_percent = StrictDecimalField(
        label=gettext_lazy("Fee (percent of the amount collected)"),
        min_value=0,
        max_value=100,
        max_digits=5,
        decimal_places=2,
    )
    email = forms.EmailField(label=gettext_lazy("Email"), required=False)
    exchange_format = forms.ChoiceField(
        label=gettext_lazy("Exchange format"),
        choices=ExchangeFormat.choices,
        initial=ExchangeFormat.CSV,
        required=False,
    )


class PartnerEditForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=PartnerKind.choices)
    fee_percent = StrictDecimalField(
        label=gettext_lazy("Fee (percent of the amount collected)"),
        min_value=0,
        max_value=100,
        max_digits=5,
        decimal_places=2,
    )
    email = forms.EmailField(label=gettext_lazy("Email"), required=False)
    exchange_format = forms.ChoiceField(label=gettext_lazy("Exchange format"), choices=ExchangeFormat.choices)
    active = forms.BooleanField(label=gettext_lazy("Active (takes new handovers)"), required=False)

    @classmethod
    def of(cls, partner: Partner, data: Any = None) -> PartnerEditForm:
        return cls(
            data,
            prefix=f"partner-{partner.pk}",
            initial={
                "kind": partner.kind,
                "fee_percent": partner.fee_percent,
                "email": partner.email,
                "exchange_format": partner.format,
                "active": partner.active,
            },
        )


FIELD_LABELS: dict[str, Any] = {
    "kind": gettext_lazy("kind"),
    "fee_percent": gettext_lazy("fee"),
    "email": gettext_lazy("email"),
    "format": gettext_lazy("exchange format"),
    "active": gettext_lazy("active"),
}


def _value(field: str, value: str) -> str:
    if field == "kind" and value in PartnerKind.values:
        return str(PartnerKind(value).label)
    if field == "active":
        return _("yes") if value == "yes" else _("no")
    if field == "fee_percent" and value:
        return f"{value} %"
    if field == "format":
        return value.upper()
    return value or "-"


def history_text(entry: PartnerEvent) -> str:
    """One entry of the partner's history in the reader's language."""
    if entry.kind == PartnerEventKind.CHANGED:
        return _("Changed: {changes}").format(
            changes="; ".join(
                f"{FIELD_LABELS.get(f, f)} {_value(f, old)} → {_value(f, new)}"
                for f, (old, new) in entry.changes.items()
            )
        )
    if entry.kind == PartnerEventKind.CREATED:
        return _("Added: {terms}").format(
            terms="; ".join(
                f"{FIELD_LABELS.get(f, f)} {_value(f, new)}" for f, (_old, new) in entry.changes.items()
            )
        )
    return str(PartnerEventKind(entry.kind).label) if entry.kind in PartnerEventKind.values else entry.kind


class RecallForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=500)


def _page(
    request: CompanyRequest,
    form: PartnerForm,
    token: str = "",
    status: int = 200,
    edit: PartnerEditForm | None = None,
    token_for: Partner | None = None,
) -> HttpResponse:
    company = request.company
    partners = list(Partner.objects.filter(company=company).order_by("name"))
    history: dict[int, list[PartnerEvent]] = {p.pk: [] for p in partners}
    for entry in PartnerEvent.objects.filter(partner__company=company).order_by("-at", "-id"):
        history.setdefault(entry.partner_id, []).append(entry)
    open_handovers: dict[int, list[Handover]] = {p.pk: [] for p in partners}
    for h in (
        Handover.objects.filter(company=company, status=HandoverStatus.OPEN)
        .select_related("debtor")
        .order_by("handed_over_on", "pk")
    ):
        open_handovers.setdefault(h.partner_id, []).append(h)
    rows: list[dict[str, Any]] = [
        {
            "partner": p,
            "handovers": open_handovers[p.pk],
            "history": [(e, history_text(e)) for e in history[p.pk][:20]],
            "edit": edit if edit is not None and edit.prefix == f"partner-{p.pk}" else PartnerEditForm.of(p),
        }
        for p in partners
    ]
    return render(
        request,
        "web/partners.html",
        {
            "rows": rows,
            "form": form,
            "token": token,
            "token_for": token_for,
            "can_admin": request.membership.can_admin,
            "can_work": request.membership.can_work,
        },
        status=status,
    )


@require_http_methods(["GET", "HEAD", "POST"])
@never_cache
@member_required()
def partner_list(request: CompanyRequest) -> HttpResponse:
    if request.method != "POST":
        return _page(request, PartnerForm())
    if not request.membership.can_admin:
        raise PermissionDenied
    form = PartnerForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            partner, token = add_partner(
                request.company,
                data["name"],
                data["kind"],
                data["fee_percent"],
                email=data["email"],
                exchange_format=data["exchange_format"] or ExchangeFormat.CSV,
                actor=actor(request),
            )
        except PartnerError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Partner {name} added.").format(name=partner.name))
            # the token is shown on this answer only (not kept in a message or the session)
            return _page(request, PartnerForm(), token=token)
    return _page(request, form, status=422)


@require_POST
@never_cache
@member_required("admin")
def partner_edit(request: CompanyRequest, pk: int) -> HttpResponse:
    """Change a partner's terms; what changed goes on its history."""
    partner = get_object_or_404(Partner, company=request.company, pk=pk)
    form = PartnerEditForm.of(partner, request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            changes = update_partner(
                request.company,
                partner,
                actor=actor(request),
                kind=data["kind"],
                fee_percent=data["fee_percent"],
                email=data["email"],
                format=data["exchange_format"],
                active=data["active"],
            )
        except PartnerError as exc:
            form.add_error(None, str(exc))
        else:
            if changes:
                messages.success(request, _("Partner {name} changed.").format(name=partner.name))
            else:
                messages.info(request, _("Nothing changed."))
            return redirect("web:partners")
    return _page(request, PartnerForm(), status=422, edit=form)


@require_POST
@never_cache
@member_required("admin")
def partner_token(request: CompanyRequest, pk: int) -> HttpResponse:
    """A new token for the partner (the earlier one stops working), shown on this answer only."""
    partner = get_object_or_404(Partner, company=request.company, pk=pk)
    key = reissue_token(partner, actor=actor(request))
    messages.success(request, _("New token issued for {name}.").format(name=partner.name))
    return _page(request, PartnerForm(), token=key, token_for=partner)


@require_POST
@member_required("work")
def recall_view(request: CompanyRequest, pk: int) -> HttpResponse:
    handover = get_object_or_404(
        Handover.objects.select_related("debtor", "partner"), company=request.company, pk=pk
    )
    form = RecallForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("A recall needs a reason."))
        return redirect("web:partners")
    if handover.status != HandoverStatus.OPEN:
        messages.error(request, _("This handover has ended already."))
        return redirect("web:partners")
    try:
        recall(
            request.company,
            handover.debtor,
            form.cleaned_data["reason"],
            company_today(request.company),
            actor=actor(request),
        )
    except PartnerError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("{debtor} recalled from {partner}: our own collection resumes.").format(
                debtor=handover.debtor.name, partner=handover.partner.name
            ),
        )
    return redirect("web:partners")


@require_safe
@never_cache
@member_required()
def dossier_view(request: CompanyRequest, pk: int) -> HttpResponse:
    handover = get_object_or_404(Handover.objects.select_related("debtor"), company=request.company, pk=pk)
    content = dossier_bytes(handover)
    if content is None:
        raise Http404("no stored dossier")
    filename = f"dossier-{handover.debtor.number}-{handover.handed_over_on.isoformat()}.zip"
    response = HttpResponse(content, content_type="application/zip")
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Content-Length"] = str(len(content))
    return response
