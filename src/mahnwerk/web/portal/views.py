"""The debtor's self-service page, reached by a personal signed link and shown in the debtor's language."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect

from mahnwerk.comms.rendering import MessageItem, payment_reference
from mahnwerk.core.calendar import format_date
from mahnwerk.core.money import format_money
from mahnwerk.ledger.models import Debtor, Invoice
from mahnwerk.ledger.services import company_today
from mahnwerk.web.portal import links, ratelimit
from mahnwerk.web.portal.forms import ContactDetailsForm
from mahnwerk.web.portal.services import update_contact_details


def _error(request: HttpRequest, kind: str, status: int) -> HttpResponse:
    return render(request, "portal/error.html", {"kind": kind}, status=status)


@never_cache
@csrf_protect
def home(request: HttpRequest, token: str) -> HttpResponse:
    if not ratelimit.allow(request):
        return _error(request, "limited", 429)
    try:
        key = links.read_token(token)
    except links.LinkExpired:
        return _error(request, "expired", 410)
    except links.LinkInvalid:
        return _error(request, "invalid", 404)
    debtor = (
        Debtor.objects.select_related("company").filter(pk=key.debtor_id, company_id=key.company_id).first()
    )
    if debtor is None:
        return _error(request, "invalid", 404)
    language = debtor.language or debtor.company.default_language
    with translation.override(language):
        request.LANGUAGE_CODE = language
        if request.method == "POST":
            form = ContactDetailsForm(request.POST)
            if form.is_valid():
                changes = update_contact_details(
                    debtor,
                    email=form.cleaned_data["email"],
                    phone=form.cleaned_data["phone"],
                    actor="debtor (portal)",
                )
                messages.success(
                    request,
                    _("Thank you: your contact details are updated.")
                    if changes
                    else _("Nothing has changed."),
                )
                return redirect(request.path)
        else:
            primary = {c.kind: c.value for c in debtor.contacts.filter(is_primary=True)}
            form = ContactDetailsForm(
                initial={"email": primary.get("email", ""), "phone": primary.get("phone", "")}
            )
        return render(request, "portal/home.html", _context(debtor, language) | {"form": form}, status=200)


def _context(debtor: Debtor, language: str) -> dict[str, object]:
    company = debtor.company
    today = company_today(company)
    invoices = list(Invoice.objects.filter(debtor=debtor, open_minor__gt=0).order_by("due_date", "number"))
    items = [
        MessageItem(i.number, i.issue_date, i.due_date, i.open_minor, i.currency, i.reference)
        for i in invoices
    ]
    totals: dict[str, int] = {}
    for i in invoices:
        totals[i.currency] = totals.get(i.currency, 0) + i.open_minor
    rows = [
        {
            "number": i.number,
            "issue_date": format_date(i.issue_date, language),
            "due_date": format_date(i.due_date, language),
            "open": format_money(i.open_minor, i.currency, language),
            "overdue": i.due_date < today,
        }
        for i in invoices
    ]
    compact = company.iban.replace(" ", "")
    return {
        "debtor": debtor,
        "company": company,
        "rows": rows,
        "total": " + ".join(format_money(v, k, language) for k, v in sorted(totals.items())),
        "iban": " ".join(compact[i : i + 4] for i in range(0, len(compact), 4)),
        "reference": payment_reference(debtor, items) if items else debtor.number,
        "language": language,
    }
