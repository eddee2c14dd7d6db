"""The debtor's self-service page, reached by a personal signed link and shown in the debtor's language."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_safe

from mahnwerk.collection.agreement_queries import list_disputes, list_plans, list_promises
from mahnwerk.collection.agreements import (
    PAID_NOTICE,
    AgreementError,
    AgreementTerms,
    confirm_plan,
    open_dispute,
    propose_plan,
    record_promise,
    terms_for_debtors,
)
from mahnwerk.collection.agreements_models import DisputeReason, InstalmentPlan, Promise
from mahnwerk.comms.debtor_documents import DocumentNotFound, document_file, list_documents
from mahnwerk.comms.rendering import claim_details, message_item, payment_reference
from mahnwerk.core.calendar import format_date
from mahnwerk.core.money import format_money
from mahnwerk.ledger.claims import claim_views
from mahnwerk.ledger.models import Debtor, Invoice
from mahnwerk.ledger.services import company_today
from mahnwerk.web.document_views import attachment
from mahnwerk.web.params import parse_id
from mahnwerk.web.portal import links, ratelimit
from mahnwerk.web.portal.forms import (
    ContactDetailsForm,
    PortalDisputeForm,
    PortalExtensionForm,
    PortalPaidForm,
    PortalPlanForm,
    PortalPromiseForm,
)
from mahnwerk.web.portal.services import (
    extendable_invoices,
    note_portal_visit,
    record_paid_notice,
    update_contact_details,
)
from mahnwerk.web.refusals import refusal_text


def _error(request: HttpRequest, kind: str, status: int) -> HttpResponse:
    return render(request, "portal/error.html", {"kind": kind}, status=status)


def _portal_debtor(request: HttpRequest, token: str) -> Debtor | HttpResponse:
    """The debtor the link names, after the rate limit and the link's signature and age are checked;
    otherwise the error page to show."""
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
    return debtor


def _language(debtor: Debtor) -> str:
    return debtor.language or debtor.company.default_language


@never_cache
@require_safe
def document(request: HttpRequest, token: str, kind: str, doc_id: int) -> HttpResponse:
    """A copy of one of the debtor's invoices or letters, as a download."""
    found = _portal_debtor(request, token)
    if isinstance(found, HttpResponse):
        return found
    language = _language(found)
    with translation.override(language):
        request.LANGUAGE_CODE = language
        try:
            file = document_file(found, kind, doc_id)
        except DocumentNotFound:
            return _error(request, "document", 404)
    note_portal_visit(found, document=file.filename, ref=f"{kind}:{doc_id}", actor=PORTAL_ACTOR)
    return attachment(file)


@never_cache
@csrf_protect
def home(request: HttpRequest, token: str) -> HttpResponse:
    found = _portal_debtor(request, token)
    if isinstance(found, HttpResponse):
        return found
    debtor = found
    language = _language(debtor)
    with translation.override(language):
        request.LANGUAGE_CODE = language
        # what may be agreed with this debtor: its segment's terms (the same the services apply)
        terms = terms_for_debtors(debtor.company, [debtor.pk])[debtor.pk]
        forms = _blank_forms(debtor, terms)
        primary = {c.kind: c.value for c in debtor.contacts.filter(is_primary=True)}
        form = ContactDetailsForm(
            initial={"email": primary.get("email", ""), "phone": primary.get("phone", "")}
        )
        status = 200
        if request.method == "POST":
            action = request.POST.get("action", "contact")
            if action == "confirm":
                plan = InstalmentPlan.objects.filter(
                    company_id=debtor.company_id, debtor=debtor, pk=_int(request.POST.get("plan"))
                ).first()
                try:
                    if plan is None:
                        raise AgreementError(_("no such plan"))
                    confirm_plan(debtor.company, plan, by="debtor", actor=PORTAL_ACTOR)
                except AgreementError as exc:
                    messages.error(
                        request, _("This is not possible: {reason}").format(reason=refusal_text(exc))
                    )
                else:
                    messages.success(request, _("Thank you: your instalment plan is confirmed."))
                return redirect(request.path)
            if action in AGREEMENT_FORMS:
                bound = AGREEMENT_FORMS[action](request.POST, debtor_id=debtor.pk, terms=terms, prefix=action)
                if bound.is_valid():
                    try:
                        text = _agree(debtor, action, bound.cleaned_data, terms)
                    except AgreementError as exc:
                        messages.error(
                            request, _("This is not possible: {reason}").format(reason=refusal_text(exc))
                        )
                    else:
                        messages.success(request, text)
                        return redirect(request.path)
                forms[f"{action}_form"] = bound
                status = 422
            else:
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
        if request.method == "GET":
            note_portal_visit(debtor, actor=PORTAL_ACTOR)
        documents = _documents(debtor, token, language)
        context = (
            _context(debtor, language)
            | _terms_context(debtor, terms, language)
            | {"form": form, "documents": documents}
            | forms
        )
        return render(request, "portal/home.html", context, status=status)


AGREEMENT_FORMS: dict[str, type[Any]] = {
    "promise": PortalPromiseForm,
    "plan": PortalPlanForm,
    "dispute": PortalDisputeForm,
    "extension": PortalExtensionForm,
    "paid": PortalPaidForm,
}
PORTAL_ACTOR = "debtor (portal)"


def _int(value: str | None) -> int:
    return parse_id(value) or 0


def _blank_forms(debtor: Debtor, terms: AgreementTerms) -> dict[str, Any]:
    return {
        f"{name}_form": cls(debtor_id=debtor.pk, terms=terms, prefix=name)
        for name, cls in AGREEMENT_FORMS.items()
    }


def _terms_context(debtor: Debtor, terms: AgreementTerms, language: str) -> dict[str, object]:
    """What the page offers by the debtor's segment: the one-click extension (good payers) and the down
    payment a plan asks for."""
    today = company_today(debtor.company)
    extendable = extendable_invoices(debtor, today, terms.extension_days)
    until = today + timedelta(days=terms.extension_days)
    return {
        "terms": terms,
        "extension": {
            "days": terms.extension_days,
            "date": format_date(until, language),
            "invoices": [inv.number for inv in extendable],
        }
        if extendable
        else None,
        "down_payment_percent": terms.min_down_payment_percent,
    }


def _agree(debtor: Debtor, action: str, data: dict[str, Any], terms: AgreementTerms) -> str:
    """Carry out the debtor's request through the agreement services; the thank-you text."""
    company = debtor.company
    if action == "extension":
        today = company_today(company)
        items = extendable_invoices(debtor, today, terms.extension_days)
        if not items:
            raise AgreementError(_("there is nothing to extend"))
        until = today + timedelta(days=terms.extension_days)
        record_promise(
            company,
            debtor,
            items,
            until,
            source="debtor",
            actor=PORTAL_ACTOR,
            note=f"one-click extension ({terms.extension_days} days)",
        )
        return _(
            "Thank you: your new payment date is {day}. Until then you will receive no reminders."
        ).format(day=format_date(until, _language(debtor)))
    if action == "paid":
        promise = record_paid_notice(
            debtor, data["items"], data["paid_on"], data["amount_minor"], actor=PORTAL_ACTOR
        )
        return _(
            "Thank you: we will look for your payment of {amount} on our bank statement. Until {day} you will "
            "receive no reminders for {invoices}."
        ).format(
            amount=format_money(promise.amount_minor, promise.currency, _language(debtor)),
            day=format_date(promise.promised_date, _language(debtor)),
            invoices=", ".join(inv.number for inv in data["items"]),
        )
    if action == "promise":
        record_promise(
            company,
            debtor,
            list(data["invoices"]),
            data["promised_date"],
            source="debtor",
            actor=PORTAL_ACTOR,
        )
        return _("Thank you: we have noted your payment date. Until then you will receive no reminders.")
    if action == "plan":
        plan = propose_plan(
            company,
            debtor,
            list(data["invoices"]),
            data["count"],
            interval_months=1,
            source="debtor",
            actor=PORTAL_ACTOR,
        )
        if plan.needs_approval:
            return _("Thank you: we will check your request for an instalment plan and get back to you.")
        return _("Your instalment plan is approved. Please pay according to the schedule below.")
    open_dispute(
        company, data["invoice"], data["reason"], notes=data["notes"], source="debtor", actor=PORTAL_ACTOR
    )
    return _("Thank you: we will look into the invoice. Until then you will receive no reminders for it.")


def _documents(debtor: Debtor, token: str, language: str) -> list[dict[str, object]]:
    return [
        {
            "label": doc.label,
            "date": format_date(doc.date, language),
            "settled": doc.settled,
            "url": reverse(
                "web:portal:document", kwargs={"token": token, "kind": doc.kind, "doc_id": doc.id}
            ),
        }
        for doc in list_documents(debtor)
    ]


def _context(debtor: Debtor, language: str) -> dict[str, object]:
    company = debtor.company
    today = company_today(company)
    invoices = list(Invoice.objects.filter(debtor=debtor, open_minor__gt=0).order_by("due_date", "number"))
    # the same figures as the reminders: principal, interest to date and costs, explained per invoice
    claims = claim_views(company, invoices, {debtor.pk: debtor.kind}, today)
    items = [message_item(i, claims.get(i.pk), i.open_minor) for i in invoices]
    totals: dict[str, int] = {}
    for item in items:
        totals[item.currency] = totals.get(item.currency, 0) + item.total_minor
    rows = [
        {
            "number": i.number,
            "issue_date": format_date(i.issue_date, language),
            "due_date": format_date(i.due_date, language),
            "open": format_money(i.open_minor, i.currency, language),
            "interest": format_money(i.interest_minor, i.currency, language),
            "costs": format_money(i.fees_minor, i.currency, language),
            "total": format_money(i.total_minor, i.currency, language),
            "overdue": i.due_date < today,
        }
        for i in items
    ]
    charges = any(i.interest_minor or i.fees_minor for i in items)
    details = [line for line in claim_details(items, language).splitlines() if line]
    compact = company.iban.replace(" ", "")
    plans = []
    for plan in list_plans(company, debtor):
        if plan["status"] not in ("proposed", "approved", "active"):
            continue
        plan["instalments"] = [
            {
                "number": i["number"],
                "due_date": format_date(date.fromisoformat(i["due_date"]), language),
                "amount": format_money(i["amount_minor"], plan["currency"], language),
            }
            for i in plan["instalments"]
        ]
        plan["confirm_by"] = format_date(date.fromisoformat(plan["confirm_by"]), language)
        plans.append(plan)
    pending = list_promises(company, debtor, status="pending")
    notices = set(
        Promise.objects.filter(pk__in=[p["id"] for p in pending], source=PAID_NOTICE).values_list(
            "pk", flat=True
        )
    )
    promises = [
        {
            "invoices": p["invoices"],
            "date": format_date(date.fromisoformat(p["promised_date"]), language),
            "amount": format_money(p["amount_minor"], p["currency"], language),
            "paid_notice": p["id"] in notices,
        }
        for p in pending
    ]
    disputes = [
        {"invoice": d["invoice"], "reason": DisputeReason(d["reason"]).label}
        for d in list_disputes(company, debtor, status="open")
    ]
    return {
        "plans": plans,
        "promises": promises,
        "disputes": disputes,
        "debtor": debtor,
        "company": company,
        "rows": rows,
        "charges": charges,
        "details": details,
        "total": " + ".join(format_money(v, k, language) for k, v in sorted(totals.items())),
        "iban": " ".join(compact[i : i + 4] for i in range(0, len(compact), 4)),
        "reference": payment_reference(debtor, items) if items else debtor.number,
        "language": language,
    }
