"""The clerk application: home, debtors, the case file, playbooks, the run, settings and users.

Every view runs for the signed-in user's company (``member_required``) and looks objects up within it, so
another company's objects are "not found". Writes go through the service functions the CLI uses too.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.text import capfirst
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST
from django_htmx.middleware import HtmxDetails

from mahnwerk.collection import runs
from mahnwerk.collection.agreement_queries import list_disputes, list_plans, list_promises, list_settlements
from mahnwerk.collection.agreements import (
    AgreementError,
    approve_plan,
    cancel_agreement,
    confirm_plan,
    find_agreement,
    offer_settlement,
    open_dispute,
    propose_plan,
    record_promise,
    resolve_dispute,
    terms_for_debtors,
)
from mahnwerk.collection.agreements_models import (
    Dispute,
    DisputeReason,
    DisputeStatus,
    InstalmentPlan,
    OfferStatus,
    PlanStatusChoice,
    PromiseStatus,
)
from mahnwerk.collection.calls import CallError, prepare_call, record_call_outcome
from mahnwerk.collection.models import Playbook, Step, Task, TaskStatus
from mahnwerk.collection.services import CollectionError, set_hold, set_playbook
from mahnwerk.comms.rendering import MessageItem, render_reminder
from mahnwerk.core.kpi import Period
from mahnwerk.core.money import format_money as _format_money
from mahnwerk.core.tabular import MAX_DATE, MIN_DATE
from mahnwerk.insights.models import DebtorInsight, InvoicePrediction
from mahnwerk.insights.services import company_kpis_and_others
from mahnwerk.ledger.claims import claim_views, debtor_law, law_text
from mahnwerk.ledger.models import Debtor, Invoice
from mahnwerk.ledger.queries import credit_on_account, debtor_overview
from mahnwerk.ledger.services import (
    DEBTOR_DETAIL_FIELDS,
    LedgerError,
    PaymentRefused,
    Receipt,
    company_today,
    record_payment,
    update_debtor,
)
from mahnwerk.ledger.setup import SetupError, add_member
from mahnwerk.ledger.timeline import portal_activity
from mahnwerk.ledger.timeline_display import actor_label, describe, localize_money
from mahnwerk.web import services
from mahnwerk.web.access import SESSION_KEY, CompanyRequest, actor, clerk, member_required
from mahnwerk.web.forms import (
    CallOutcomeForm,
    CancelForm,
    CompanyForm,
    DebtorDetailsForm,
    DebtorFilterForm,
    DisputeForm,
    HoldForm,
    MemberForm,
    PaymentForm,
    PeriodForm,
    PlanForm,
    PlaybookChoiceForm,
    PlaybookForm,
    PreviewForm,
    PromiseForm,
    ResolveDisputeForm,
    SegmentTermsForm,
    SettlementForm,
    StepFormSet,
    date_range_error,
)
from mahnwerk.web.message_views import MESSAGE_EVENT_KINDS, Entry, debtor_messages, message_entry
from mahnwerk.web.models import FormSubmission, Membership
from mahnwerk.web.params import parse_id
from mahnwerk.web.portal.links import portal_path
from mahnwerk.web.refusals import refusal_text
from mahnwerk.work.models import NOTE_MAX_LENGTH
from mahnwerk.work.notes import NoteError, add_note, debtor_notes
from mahnwerk.work.waiting import waiting_work

PAGE_SIZE = 25
TIMELINE_SHOWN = 100
TASKS_SHOWN = 20


def format_money(minor: int, currency: str) -> str:
    """Money written the way the page's language writes it."""
    return _format_money(minor, currency, (get_language() or "en")[:2])


def is_htmx(request: HttpRequest) -> bool:
    """An HTMX request for a part of a page (not a boosted full page)."""
    details = HtmxDetails(request)
    return bool(details) and not details.boosted


def healthz(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


# -- home ------------------------------------------------------------------------------------------------


@member_required()
def home(request: CompanyRequest) -> HttpResponse:
    company = request.company
    today = company_today(company)
    version = services.ledger_version(company)
    figures = services.ledger_figures(company, today, version)
    main = figures[0] if figures else services.CurrencyFigures(company.currency)
    largest = max(main.buckets.values(), default=0) or 1
    aging = [
        {
            "key": key,
            "label": label,
            "amount": format_money(main.buckets.get(key, 0), main.currency),
            "percent": round(100 * main.buckets.get(key, 0) / largest),
        }
        for key, label, *_rest in services.BUCKETS
    ]
    from mahnwerk.comms.outbox import attention_counts

    run = services.day_run_summary(company)
    levels = services.steps_by_level(company)
    run_steps = [
        (int(level), levels.get(int(level), ""), count)
        for level, count in sorted(
            (run.stats.get("steps") or {}).items() if run else [], key=lambda x: int(x[0])
        )
    ]
    return render(
        request,
        "web/home.html",
        {
            "today": today,
            "figures": figures,
            "main": main,
            "aging": aging,
            "run": run,
            "run_steps": run_steps,
            "levels": levels,
            "worklist": services.worklist(company, today, version=version),
            "work": waiting_work(company, today, limit=TASKS_SHOWN, version=version),
            "awaiting_approval": (run.stats.get("awaiting_approval") or 0)
            if run and run.as_of == today
            else 0,
            "outbox": attention_counts(company, today),
        },
    )


# -- debtors ---------------------------------------------------------------------------------------------


@member_required()
def debtor_list(request: CompanyRequest) -> HttpResponse:
    company = request.company
    today = company_today(company)
    levels = services.steps_by_level(company)
    form = DebtorFilterForm(request.GET or None, levels=levels, segments=services.segment_choices(company))
    params: dict[str, Any] = form.filters() if form.is_bound and form.is_valid() else {}
    page = services.debtor_page(company, today, request.GET.get("page"), page_size=PAGE_SIZE, **params)
    rows = services.describe_debtors(company, list(page.object_list), today)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "rows": rows,
        "today": today,
        "levels": levels,
        "query": query.urlencode(),
    }
    template = "web/_debtor_table.html" if is_htmx(request) else "web/debtors.html"
    return render(request, template, context)


def _debtor(request: CompanyRequest, pk: int) -> Debtor:
    return get_object_or_404(Debtor.objects.select_related("company"), company=request.company, pk=pk)


# The case file's sections: each is a tab (``?tab=``) that works without JavaScript; with it, the tabs switch
# in place (``web/casefile.js``). A form that comes back with errors opens on its own tab.
CASE_TABS = ("overview", "items", "conversation", "agreements", "documents", "details")
FORM_TABS = {
    "payment_form": "items",
    "call_form": "conversation",
    "note_form": "conversation",
    "promise_form": "agreements",
    "plan_form": "agreements",
    "settlement_form": "agreements",
    "dispute_form": "agreements",
    "resolve_form": "agreements",
    "details_form": "details",
    "hold_form": "details",
    "playbook_form": "details",
}
# What the details tab lists as the history of the customer's data.
DETAIL_EVENT_KINDS = frozenset(
    {
        "debtor_created",
        "debtor_details_changed",
        "contact_updated",
        "address_found",
        "playbook_changed",
        "hold_set",
        "hold_released",
        "message_bounced",
        "sms_refused",
        "message_returned",
    }
)


def _tab_from_url(url: str) -> str | None:
    from urllib.parse import parse_qs, urlsplit

    tab = (parse_qs(urlsplit(url).query).get("tab") or [""])[0]
    return tab if tab in CASE_TABS else None


def _back(request: CompanyRequest, debtor: Debtor) -> HttpResponse:
    """After a case-file form: back to the case file, on the tab the form was posted from (the page's address
    as HTMX or the browser names it)."""
    url = reverse("web:debtor", kwargs={"pk": debtor.pk})
    tab = _tab_from_url(request.headers.get("HX-Current-URL") or request.headers.get("Referer") or "")
    return redirect(f"{url}?tab={tab}" if tab and tab != "overview" else url)


def _redisplay(request: CompanyRequest, debtor: Debtor, **forms: Any) -> HttpResponse:
    """The case file again with a form's errors (422), on the form's tab; the address bar shows that tab (not
    the form's address, which answers no GET), so the next form comes back to it too."""
    context = _debtor_context(request, debtor, **forms)
    response = render(request, "web/debtor.html", context, status=422)
    url = reverse("web:debtor", kwargs={"pk": debtor.pk})
    response["HX-Replace-Url"] = f"{url}?tab={context['tab']}" if context["tab"] != "overview" else url
    return response


@member_required()
def debtor_detail(request: CompanyRequest, pk: int) -> HttpResponse:
    debtor = _debtor(request, pk)
    if request.GET.get("as") == "customer":
        if request.method not in ("GET", "HEAD"):
            return HttpResponse(_("This is a preview: nothing can be sent from it."), status=405)
        return _customer_page(request, debtor)
    return render(request, "web/debtor.html", _debtor_context(request, debtor))


def _customer_page(request: CompanyRequest, debtor: Debtor) -> HttpResponse:
    """The debtor's payment page as the debtor sees it, for the clerk (``?as=customer``).

    The page is the portal's own, asked for as a ``HEAD`` request, for which the portal notes no visit: the
    clerk's look is not the customer's "opened the payment page". Its download links lead to the case file's
    copies (no download goes on the timeline as the customer's), and its forms post to this read-only address,
    which refuses them."""
    from mahnwerk.web.portal import views as portal
    from mahnwerk.web.portal.links import make_token

    token = make_token(debtor)
    preview = copy.copy(request)
    preview.method = "HEAD"
    response = portal.home(preview, token=token)
    if response.status_code == 200 and not response.streaming:
        own = reverse("web:debtor", kwargs={"pk": debtor.pk}) + "documents/"
        theirs = reverse("web:portal:home", kwargs={"token": token}) + "documents/"
        response.content = response.content.replace(theirs.encode(), own.encode())
    response["X-Robots-Tag"] = "noindex"
    return response


def _detail_event_text(event: Any) -> str:
    """An entry of the details tab's history: a change of the customer's details names each field with its old
    and new value ("field: old → new", a choice by its label); an event written before the values were kept
    names the fields only."""
    changes = event.data.get("changes") if event.kind == "debtor_details_changed" else None
    if not isinstance(changes, list) or not changes:
        return describe(event)
    parts = []
    for change in changes:
        name = str(change.get("field", ""))
        try:
            model_field: Any = Debtor._meta.get_field(name)
        except FieldDoesNotExist:  # a field that no longer exists: its name
            label, choices = name, {}
        else:
            label, choices = str(capfirst(model_field.verbose_name)), dict(model_field.flatchoices or [])
        old, new = (str(change.get(key) or "") for key in ("old", "new"))
        parts.append(
            _("{field}: {old} → {new}").format(
                field=label,
                old=str(choices.get(old, old)) if old else "–",
                new=str(choices.get(new, new)) if new else "–",
            )
        )
    text = _("Customer details changed: {fields}").format(fields="; ".join(parts))
    return f"{text} — {event.note}" if event.note else text


def _debtor_context(request: CompanyRequest, debtor: Debtor, **forms: Any) -> dict[str, Any]:
    company = request.company
    today = company_today(company)
    terms = terms_for_debtors(company, [debtor.pk])[debtor.pk]  # read once for the three agreement forms
    next_step = services.suggested_next_step(company, debtor, today)
    events = list(debtor.timeline.order_by("-business_date", "-id")[:TIMELINE_SHOWN])
    overview = debtor_overview(debtor, timeline_limit=TIMELINE_SHOWN, events=events)
    playbook, case = services.debtor_playbook(company, debtor)
    levels = {s.level: s.name for s in playbook.steps.all()}
    for item in overview["open_items"]:
        item["open"] = format_money(item["open_minor"], item["currency"])
        item["amount"] = format_money(item["amount_minor"], item["currency"])
        item["days_overdue"] = max(0, (today - item["due_date"]).days)
        item["step_name"] = levels.get(item["level"], "")
    trend = services.payment_trend(company, debtor)
    totals: dict[str, int] = {}
    for item in overview["open_items"]:
        totals[item["currency"]] = totals.get(item["currency"], 0) + item["open_minor"]
    overview["total_open"] = " + ".join(
        format_money(v, k) for k, v in sorted(totals.items())
    ) or format_money(0, company.currency)
    law = debtor_law(company, debtor)
    claims = _claims(company, debtor, overview["open_items"], today)
    insight = DebtorInsight.objects.filter(debtor=debtor).first()
    disputes = list_disputes(company, debtor)
    open_disputes = [d for d in disputes if d["status"] == "open"]
    tasks = list(
        Task.objects.filter(company=company, debtor=debtor, status=TaskStatus.OPEN).order_by("due_on", "pk")
    )
    tasks_and_calls = [(task, prepare_call(task, today) if task.kind == "call" else None) for task in tasks]
    credit = credit_on_account(debtor)
    tab = next((FORM_TABS[k] for k in forms if k in FORM_TABS), None) or request.GET.get("tab", "")
    conversation = _conversation(company, debtor, events)
    return {
        "tab": tab if tab in CASE_TABS else "overview",
        "tabs": _tab_labels(),
        "conversation": conversation,
        "latest_message": next((e for e in conversation if e.kind == "message"), None),
        "details_history": [
            (e, _detail_event_text(e), actor_label(e.actor)) for e in events if e.kind in DETAIL_EVENT_KINDS
        ],
        "note_form": forms.get("note_form") or NoteForm(prefix="note"),
        "credit": " + ".join(format_money(v, k) for k, v in sorted(credit.items()) if v),
        "segment_name": _segment_name(insight),
        "claims": claims,
        "rules": law_text(law),
        "insight": insight,
        "promises": _readable(list_promises(company, debtor), PromiseStatus, "promised_date"),
        "plans": [
            plan | {"instalments": _readable(plan["instalments"], None, "due_date")}
            for plan in _readable(list_plans(company, debtor), PlanStatusChoice, "confirm_by")
        ],
        "settlements": _readable(
            list_settlements(company, debtor), OfferStatus, "offered_on", "deadline", "closed_on"
        ),
        "disputes": _readable(disputes, DisputeStatus, "opened_on", reasons=True),
        "open_disputes": open_disputes,
        "tasks": tasks_and_calls,
        "promise_form": forms.get("promise_form")
        or PromiseForm(company=company, debtor_id=debtor.pk, prefix="promise", terms=terms),
        "plan_form": forms.get("plan_form")
        or PlanForm(company=company, debtor_id=debtor.pk, prefix="plan", terms=terms),
        "dispute_form": forms.get("dispute_form") or DisputeForm(debtor_id=debtor.pk, prefix="dispute"),
        "settlement_form": forms.get("settlement_form")
        or SettlementForm(company=company, debtor_id=debtor.pk, prefix="settlement", terms=terms),
        "cancel_form": CancelForm(),
        "resolve_form": forms.get("resolve_form")
        or ResolveDisputeForm(currency=company.currency, prefix="resolve"),
        "call_form": TaskForms(
            [
                _call_form(forms.get("call_form"), task, company.currency)
                for task, _call in tasks_and_calls
                if task.kind == "call"
            ]
        ),
        "debtor": debtor,
        "overview": overview,
        "timeline": [(e, describe(e), actor_label(e.actor)) for e in events],
        "customer_page": reverse("web:debtor", kwargs={"pk": debtor.pk}) + "?as=customer",
        "portal": portal_activity(events),
        "playbook": playbook,
        "case": case,
        "today": today,
        "next": next_step,
        "escalation": services.escalation_advice(company, debtor, today, next_step),
        "trend": trend,
        "payments": [
            (p, format_money(p.amount_minor, p.currency)) for p in services.recent_payments(company, debtor)
        ],
        "actions": services.recent_actions(company, debtor),
        "portal_path": portal_path(debtor),
        "portal_url": request.build_absolute_uri(portal_path(debtor)),
        "payment_form": forms.get("payment_form")
        or PaymentForm(company=company, debtor_id=debtor.pk, initial={"value_date": today}),
        "hold_form": forms.get("hold_form") or HoldForm(),
        "details_form": forms.get("details_form")
        or DebtorDetailsForm(instance=debtor, prefix="details", contacts=overview["contacts"]),
        "playbook_form": forms.get("playbook_form")
        or PlaybookChoiceForm(company=company, initial={"playbook": case.playbook_id if case else None}),
    }


def _tab_labels() -> list[tuple[str, str]]:
    return [
        ("overview", _("Overview")),
        ("items", _("Items and payments")),
        ("conversation", _("Conversation")),
        ("agreements", _("Agreements")),
        ("documents", _("Documents")),
        ("details", _("Customer details")),
    ]


def _conversation(company: Any, debtor: Debtor, events: list[Any]) -> list[Entry]:
    """The timeline, the outgoing messages (one entry each, with its state, instead of the events of their way
    out) and the notes, newest first. Messages and notes older than the oldest event shown are left out when
    the timeline is cut off, so that the three reach back equally far."""
    now = timezone.now()
    entries = [
        Entry("event", e.business_date, e.at, describe(e), actor_label(e.actor))
        for e in events
        if e.kind not in MESSAGE_EVENT_KINDS
    ]
    entries += [message_entry(m, now) for m in debtor_messages(company, debtor)]
    entries += [
        Entry("note", timezone.localdate(n.created_at), n.created_at, n.text, actor_label(n.author))
        for n in debtor_notes(company, debtor)
    ]
    if len(events) >= TIMELINE_SHOWN:
        oldest = events[-1].business_date
        entries = [e for e in entries if e.day >= oldest]
    return sorted(entries, key=lambda e: e.order, reverse=True)


class NoteForm(forms.Form):
    text = forms.CharField(
        label=_lazy("Note"),
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_lazy("Only for the people who work on this account; the customer never sees it."),
    )


@require_POST
@member_required("work")
def note_view(request: CompanyRequest, pk: int) -> HttpResponse:
    """A free note on the case file (shown on its conversation)."""
    debtor = _debtor(request, pk)
    form = NoteForm(request.POST, prefix="note")
    if not form.is_valid():
        return _redisplay(request, debtor, note_form=form)
    try:
        add_note(request.company, debtor, form.cleaned_data["text"], author=actor(request))
    except NoteError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Note saved."))
    return _back(request, debtor)


def _claims(company: Any, debtor: Debtor, items: list[dict[str, Any]], today: Any) -> dict[str, Any]:
    """Interest and fees to date per open item (written onto the item rows) and their totals."""
    invoices = list(Invoice.objects.filter(pk__in=[i["id"] for i in items]))
    views = claim_views(company, invoices, {debtor.pk: debtor_law(company, debtor)}, today)
    totals: dict[str, list[int]] = {}
    errors = []
    for item in items:
        view = views.get(item["id"])
        if view is None:
            continue
        currency = item["currency"]
        item["interest"] = format_money(view.interest_open, currency)
        item["costs"] = format_money(view.costs_open, currency)
        item["claim"] = format_money(view.total_open, currency)
        item["interest_error"] = view.interest_error
        if view.interest_error:
            errors.append(item["number"])
        sums = totals.setdefault(currency, [0, 0, 0, 0])
        for k, v in enumerate((view.principal_open, view.interest_open, view.costs_open, view.total_open)):
            sums[k] += v

    def joined(k: int) -> str:
        return " + ".join(format_money(v[k], c) for c, v in sorted(totals.items())) or format_money(
            0, company.currency
        )

    return {
        "principal": joined(0),
        "interest": joined(1),
        "costs": joined(2),
        "total": joined(3),
        "errors": errors,
    }


def _readable(
    rows: list[dict[str, Any]], statuses: Any, *dates: str, reasons: bool = False
) -> list[dict[str, Any]]:
    """Rows of the agreement read models with dates as dates, codes as the page's words and amounts written the
    page language's way."""
    for row in rows:
        for key, value in row.items():
            if isinstance(value, str) and key not in dates:
                row[key] = localize_money(value)
        for key in dates:
            if row.get(key):
                row[key] = date.fromisoformat(row[key])
        if statuses is not None and row.get("status") in statuses.values:
            row["status_label"] = statuses(row["status"]).label
        if reasons and row.get("reason") in DisputeReason.values:
            row["reason_label"] = DisputeReason(row["reason"]).label
    return rows


def _dates_in_range(form: forms.Form) -> bool:
    """Every date of a valid form within the range the ledger takes (1990-01-01 to 2100-12-31); a date
    outside gets the field's error. Forms with their own range check pass unchanged."""
    fine = True
    for name, field in form.fields.items():
        value = form.cleaned_data.get(name)
        if (
            isinstance(field, forms.DateField)
            and isinstance(value, date)
            and not MIN_DATE <= value <= MAX_DATE
        ):
            form.add_error(name, date_range_error(value))
            fine = False
    return fine


class TaskForms:
    """The call-outcome forms of a case file, one per open call task with its own prefix (so its own field
    ids). The tasks section renders ``call_form`` once per call task, in the tasks' order: each rendering
    (its errors, then its fields) takes the next task's form."""

    def __init__(self, forms: list[forms.Form]) -> None:
        self.forms = forms
        self.index = 0

    def _current(self) -> forms.Form:
        return self.forms[min(self.index, len(self.forms) - 1)]

    def non_field_errors(self) -> Any:
        return self._current().non_field_errors() if self.forms else ""

    def __iter__(self) -> Any:
        if not self.forms:
            return iter(())
        form = self._current()
        self.index += 1
        return iter(form)

    def __len__(self) -> int:
        return len(self.forms)


def _call_form(posted: forms.Form | None, task: Task, currency: str) -> forms.Form:
    """The task's call-outcome form: the one just posted for it (with its errors), else a blank one."""
    prefix = f"call-{task.pk}"
    if posted is not None and posted.prefix == prefix:
        return posted
    return CallOutcomeForm(currency=currency, prefix=prefix)


def _segment_name(insight: DebtorInsight | None) -> str:
    """The debtor's segment in the page's language (insights keep the name in English)."""
    if insight is None:
        return ""
    return _(insight.segment_label) if insight.segment_label else insight.segment


# How long a case-file form's one-time token is remembered: a page older than that sent again is carried out.
FORM_TOKENS_KEPT = timedelta(days=7)


def _once(request: CompanyRequest, token: str, act: Callable[[], tuple[int, str]]) -> tuple[int, str]:
    """Carry out a case-file form once per one-time token (``OnceForm``): the token is remembered with what
    the form did, in the transaction that does it, so a second submission of the same form — a double click,
    the browser sending it again — books nothing and is told what the first one did. A refusal by the
    service rolls the token back with everything else: the form may be sent again. Without a token the
    form is carried out as it is."""
    if not token:
        return act()
    company, path = request.company, request.path[:200]
    with transaction.atomic():
        try:
            with transaction.atomic():  # a second submission waits here for the first one to commit
                sent = FormSubmission.objects.create(company=company, token=token, path=path)
        except IntegrityError:
            first = FormSubmission.objects.filter(company=company, token=token, path=path).first()
            if first is not None and first.text:
                return messages.WARNING, _(
                    "This form was sent twice; it was carried out once, nothing was done a second time. The "
                    "first time: {result}"
                ).format(result=first.text)
            return messages.WARNING, _(
                "This form was sent twice; it was carried out once, nothing was done a second time."
            )
        level, text = act()
        sent.level, sent.text = level, str(text)[:500]
        sent.save(update_fields=["level", "text"])
        FormSubmission.objects.filter(created_at__lt=timezone.now() - FORM_TOKENS_KEPT).delete()
    return level, text


def _case_form(
    request: CompanyRequest,
    debtor: Debtor,
    form: forms.Form,
    context_key: str,
    act: Callable[[dict[str, Any]], tuple[int, str]],
) -> HttpResponse:
    """The shape every case-file form shares: redisplay with errors (422), or call the service and say what
    happened (``act`` returns the message level and text); a refusal by the service is shown, not raised.
    A form with a one-time token (``OnceForm``) is carried out once per token."""
    if not form.is_valid() or not _dates_in_range(form):
        return _redisplay(request, debtor, **{context_key: form})
    try:
        level, text = _once(request, form.cleaned_data.get("once") or "", lambda: act(form.cleaned_data))
    except (AgreementError, CallError) as exc:
        messages.error(request, _("Not possible: {reason}").format(reason=refusal_text(exc)))
    else:
        messages.add_message(request, level, text)
    return _back(request, debtor)


@require_POST
@member_required("work")
def promise_view(request: CompanyRequest, pk: int) -> HttpResponse:
    debtor = _debtor(request, pk)

    def act(data: dict[str, Any]) -> tuple[int, str]:
        promise = record_promise(
            request.company,
            debtor,
            list(data["invoices"]),
            data["promised_date"],
            data["amount_minor"],
            source="clerk",
            actor=actor(request),
            note=data["note"],
        )
        return messages.SUCCESS, _("Promise recorded: {amount} by {day}.").format(
            amount=format_money(promise.amount_minor, promise.currency),
            day=date_format(promise.promised_date, "SHORT_DATE_FORMAT"),
        )

    form = PromiseForm(request.POST, company=request.company, debtor_id=debtor.pk, prefix="promise")
    return _case_form(request, debtor, form, "promise_form", act)


@require_POST
@member_required("work")
def plan_view(request: CompanyRequest, pk: int) -> HttpResponse:
    debtor = _debtor(request, pk)

    def act(data: dict[str, Any]) -> tuple[int, str]:
        plan = propose_plan(
            request.company,
            debtor,
            list(data["invoices"]),
            data["count"],
            down_payment_minor=data["down_payment_minor"],
            first_due=data["first_due"],
            interval_months=1,
            source="clerk",
            actor=actor(request),
            note=data["note"],
        )
        if plan.needs_approval:
            return messages.WARNING, _("The plan is outside the limits and waits for approval.")
        return messages.SUCCESS, _("Instalment plan approved; the agreement goes to the debtor.")

    form = PlanForm(request.POST, company=request.company, debtor_id=debtor.pk, prefix="plan")
    return _case_form(request, debtor, form, "plan_form", act)


@require_POST
@member_required("work")
def confirm_plan_view(request: CompanyRequest, pk: int, plan_id: int) -> HttpResponse:
    """The debtor accepted the plan (by phone, letter or email): the clerk records it; the plan runs."""
    debtor = _debtor(request, pk)
    plan = get_object_or_404(InstalmentPlan, company=request.company, debtor=debtor, pk=plan_id)

    def act(data: dict[str, Any]) -> tuple[int, str]:
        confirm_plan(request.company, plan, by="clerk", actor=actor(request))
        return messages.SUCCESS, _("The plan is confirmed and runs.")

    return _case_form(request, debtor, forms.Form(request.POST), "", act)


@require_POST
@member_required("admin")
def approve_plan_view(request: CompanyRequest, pk: int, plan_id: int) -> HttpResponse:
    """A plan outside the limits: an admin approves it, and the written agreement goes to the debtor."""
    debtor = _debtor(request, pk)
    plan = get_object_or_404(InstalmentPlan, company=request.company, debtor=debtor, pk=plan_id)

    def act(data: dict[str, Any]) -> tuple[int, str]:
        approve_plan(request.company, plan, actor=actor(request))
        return messages.SUCCESS, _("The plan is approved; the agreement goes to the debtor.")

    return _case_form(request, debtor, forms.Form(request.POST), "", act)


@require_POST
@member_required("work")
def settlement_view(request: CompanyRequest, pk: int) -> HttpResponse:
    debtor = _debtor(request, pk)

    def act(data: dict[str, Any]) -> tuple[int, str]:
        offer = offer_settlement(
            request.company,
            debtor,
            list(data["invoices"]),
            data["amount_minor"],
            data["deadline"],
            reason=data["reason"],
            actor=actor(request),
        )
        return messages.SUCCESS, _("Settlement offered: {amount} if paid by {day}.").format(
            amount=format_money(offer.amount_minor, offer.currency),
            day=date_format(offer.deadline, "SHORT_DATE_FORMAT"),
        )

    form = SettlementForm(request.POST, company=request.company, debtor_id=debtor.pk, prefix="settlement")
    return _case_form(request, debtor, form, "settlement_form", act)


@require_POST
@member_required("work")
def cancel_agreement_view(request: CompanyRequest, pk: int, kind: str, agreement_id: int) -> HttpResponse:
    """Cancel a pending promise or a proposed or running plan, withdraw a settlement offer (with a reason)."""
    debtor = _debtor(request, pk)
    agreement = find_agreement(request.company, debtor, kind, agreement_id)
    if agreement is None:
        raise Http404
    form = CancelForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give a reason for the cancellation (it goes on the timeline)."))
        return _back(request, debtor)

    def act(data: dict[str, Any]) -> tuple[int, str]:
        cancel_agreement(request.company, agreement, reason=data["reason"], actor=actor(request))
        return messages.SUCCESS, _("Cancelled: the playbook goes on for these items.")

    return _case_form(request, debtor, form, "", act)


@require_POST
@member_required("work")
def dispute_view(request: CompanyRequest, pk: int) -> HttpResponse:
    debtor = _debtor(request, pk)

    def act(data: dict[str, Any]) -> tuple[int, str]:
        open_dispute(
            request.company,
            data["invoice"],
            data["reason"],
            notes=data["notes"],
            source="clerk",
            actor=actor(request),
        )
        return messages.SUCCESS, _("Invoice {number} is in dispute.").format(number=data["invoice"].number)

    form = DisputeForm(request.POST, debtor_id=debtor.pk, prefix="dispute")
    return _case_form(request, debtor, form, "dispute_form", act)


@require_POST
@member_required("work")
def resolve_dispute_view(request: CompanyRequest, pk: int, dispute_id: int) -> HttpResponse:
    debtor = _debtor(request, pk)
    dispute = get_object_or_404(
        Dispute.objects.select_related("invoice", "debtor"),
        company=request.company,
        debtor=debtor,
        pk=dispute_id,
    )

    def act(data: dict[str, Any]) -> tuple[int, str]:
        resolve_dispute(
            request.company,
            dispute,
            data["outcome"],
            resolution=data["resolution"],
            credit_minor=data["credit_minor"],
            actor=actor(request),
        )
        return messages.SUCCESS, _("The dispute is resolved.")

    form = ResolveDisputeForm(request.POST, currency=dispute.invoice.currency, prefix="resolve")
    return _case_form(request, debtor, form, "resolve_form", act)


@require_POST
@member_required("work")
def call_outcome_view(request: CompanyRequest, pk: int, task_id: int) -> HttpResponse:
    debtor = _debtor(request, pk)
    task = get_object_or_404(
        Task.objects.select_related("company", "debtor", "action"),
        company=request.company,
        debtor=debtor,
        pk=task_id,
    )

    def act(data: dict[str, Any]) -> tuple[int, str]:
        record_call_outcome(
            task,
            data["outcome"],
            notes=data["notes"],
            promised_on=data["promised_on"],
            amount_minor=data["amount_minor"],
            dispute_reason=data["dispute_reason"] or "other",
            actor=actor(request),
        )
        return messages.SUCCESS, _("Call outcome recorded.")

    prefix = f"call-{task.pk}"
    data = request.POST.copy()
    if f"{prefix}-outcome" not in data:  # posted with the prefix all tasks shared before ("call-outcome")
        for key in [k for k in data if k.startswith("call-")]:
            data.setlist(f"{prefix}-{key[len('call-') :]}", data.getlist(key))
    form = CallOutcomeForm(data, currency=request.company.currency, prefix=prefix)
    return _case_form(request, debtor, form, "call_form", act)


@require_POST
@member_required("work")
def record_payment_view(request: CompanyRequest, pk: int) -> HttpResponse:
    debtor = _debtor(request, pk)
    form = PaymentForm(request.POST, company=request.company, debtor_id=debtor.pk)
    if not form.is_valid():
        return _redisplay(request, debtor, payment_form=form)
    data = form.cleaned_data
    invoice = data["invoice"]

    def act() -> tuple[int, str]:
        record_payment(
            request.company,
            Receipt(
                debtor_id=debtor.pk,
                amount_minor=data["amount_minor"],
                currency=data["currency"],
                value_date=data["value_date"],
                reference=data["reference"] or (invoice.number if invoice else ""),
                payer=debtor.name,
                invoice_id=invoice.pk if invoice else None,
            ),
            actor=actor(request),
        )
        return messages.SUCCESS, _("Payment of {amount} recorded.").format(
            amount=format_money(data["amount_minor"], data["currency"])
        )

    try:
        level, text = _once(request, data["once"], act)
    except PaymentRefused as exc:  # (a value date before the customer's rules begin, or not yet possible)
        for problem in exc.problems:
            form.add_error(problem.field if problem.field in form.fields else None, problem.message)
        return _redisplay(request, debtor, payment_form=form)
    except LedgerError as exc:
        messages.error(request, str(exc))
    else:
        messages.add_message(request, level, text)
    return _back(request, debtor)


@require_POST
@member_required("work")
def hold_view(request: CompanyRequest, pk: int) -> HttpResponse:
    debtor = _debtor(request, pk)
    on_hold = request.POST.get("on_hold") == "1"
    form = HoldForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    set_hold(request.company, debtor, on_hold, reason=reason, actor=actor(request))
    messages.success(request, _("The debtor is on hold.") if on_hold else _("The hold is released."))
    return _back(request, debtor)


@require_POST
@member_required("work")
def escalate_view(request: CompanyRequest, pk: int) -> HttpResponse:
    """A person's decision on an account at the end of its playbook (the advice and the choice on the timeline)."""
    from mahnwerk.escalation.services import EscalationError, decide

    debtor = _debtor(request, pk)
    option = request.POST.get("option", "")
    note = request.POST.get("note", "")[:500]
    try:
        decide(
            request.company, debtor, option, company_today(request.company), actor=actor(request), note=note
        )
    except (EscalationError, ValueError) as exc:
        messages.error(request, refusal_text(exc))
    else:
        messages.success(request, _("Decision recorded on the timeline."))
    return _back(request, debtor)


@require_POST
@member_required("work")
def details_view(request: CompanyRequest, pk: int) -> HttpResponse:
    debtor = _debtor(request, pk)
    form = DebtorDetailsForm(request.POST, instance=Debtor.objects.get(pk=debtor.pk), prefix="details")
    if not form.is_valid():
        return _redisplay(request, debtor, details_form=form)
    changes = {f: form.cleaned_data[f] for f in DEBTOR_DETAIL_FIELDS}
    try:
        changed = update_debtor(
            request.company,
            debtor,
            changes,
            actor=actor(request),
            email=form.cleaned_data["email"] or "",
            phone=form.cleaned_data["phone"] or "",
        )
    except (LedgerError, ValidationError) as exc:
        messages.error(request, "; ".join(getattr(exc, "messages", [str(exc)])))
    else:
        messages.success(request, _("Customer details saved.") if changed else _("Nothing changed."))
    return _back(request, debtor)


@require_POST
@member_required("work")
def playbook_view(request: CompanyRequest, pk: int) -> HttpResponse:
    debtor = _debtor(request, pk)
    form = PlaybookChoiceForm(request.POST, company=request.company)
    if not form.is_valid():
        return _redisplay(request, debtor, playbook_form=form)
    try:
        set_playbook(request.company, debtor, form.cleaned_data["playbook"], actor=actor(request))
    except CollectionError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Playbook changed."))
    return _back(request, debtor)


@require_POST
@member_required("work")
def send_now_view(request: CompanyRequest, pk: int) -> HttpResponse:
    debtor = _debtor(request, pk)
    try:
        action = runs.send_now(clerk(request), debtor, company_today(request.company))
    except CollectionError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Step {level} is on its way.").format(level=action.level))
    return _back(request, debtor)


# -- playbooks -------------------------------------------------------------------------------------------


@member_required()
def playbook_list(request: CompanyRequest) -> HttpResponse:
    playbooks = Playbook.objects.filter(company=request.company).prefetch_related("steps").order_by("name")
    form = PlaybookForm(prefix="new")
    if request.method == "POST":
        if not request.membership.can_admin:
            return HttpResponse(status=403)
        form = PlaybookForm(request.POST, prefix="new")
        if form.is_valid():
            playbook = form.save(commit=False)
            playbook.company = request.company
            with transaction.atomic():
                playbook.save()
                default = Playbook.objects.filter(company=request.company, is_default=True).first()
                if default is not None:
                    Step.objects.bulk_create(
                        Step(
                            playbook=playbook,
                            level=s.level,
                            name=s.name,
                            offset_days=s.offset_days,
                            anchor=s.anchor,
                            channel=s.channel,
                            tone=s.tone,
                            template=s.template,
                            deadline_days=s.deadline_days,
                        )
                        for s in default.steps.all()
                    )
            return redirect("web:playbook", pk=playbook.pk)
    return render(request, "web/playbooks.html", {"playbooks": playbooks, "form": form})


@member_required()
def playbook_detail(request: CompanyRequest, pk: int) -> HttpResponse:
    playbook = get_object_or_404(Playbook, company=request.company, pk=pk)
    steps = Step.objects.filter(playbook=playbook).order_by("level")
    if request.method == "POST":
        if not request.membership.can_admin:
            return HttpResponse(status=403)
        form = PlaybookForm(request.POST, instance=playbook, prefix="pb")
        formset = StepFormSet(request.POST, queryset=steps, prefix="steps")
        if form.is_valid() and formset.is_valid():
            try:
                with transaction.atomic():
                    form.save()
                    level = 0
                    for step_form in formset.forms:
                        data = step_form.cleaned_data
                        if not data or data.get("DELETE"):
                            if step_form.instance.pk and data.get("DELETE"):
                                step_form.instance.delete()
                            continue
                        level += 1
                        step = step_form.save(commit=False)
                        step.playbook = playbook
                        if not step.pk:
                            step.level = level
                        step.save()
            except ProtectedError:
                messages.error(request, _("A step that reminders were already sent with cannot be deleted."))
            else:
                messages.success(request, _("Playbook saved."))
                return redirect("web:playbook", pk=playbook.pk)
    else:
        form = PlaybookForm(instance=playbook, prefix="pb")
        formset = StepFormSet(queryset=steps, prefix="steps")
    return render(
        request,
        "web/playbook.html",
        {"playbook": playbook, "form": form, "formset": formset, "steps": steps, "preview": PreviewForm()},
    )


@member_required()
def template_preview(request: CompanyRequest, pk: int, step_id: int) -> HttpResponse:
    """A step's message as a real debtor would receive it today (nothing is stored or sent)."""
    company = request.company
    step = get_object_or_404(Step, playbook__company=company, playbook_id=pk, pk=step_id)
    today = company_today(company)
    number = (request.GET.get("debtor") or "").strip()
    debtors = Debtor.objects.filter(company=company)
    if number:
        debtor = debtors.filter(number=number).first()
    else:
        debtor = debtors.filter(invoices__open_minor__gt=0).order_by("number").first()
    if debtor is None:
        return render(
            request, "web/_preview.html", {"error": _("No such debtor with open items."), "step": step}
        )
    invoices = list(
        Invoice.objects.filter(debtor=debtor, open_minor__gt=0).order_by("due_date", "number")[:20]
    )
    if not invoices:
        return render(
            request, "web/_preview.html", {"error": _("The debtor has no open items."), "step": step}
        )
    items = [
        MessageItem(i.number, i.issue_date, i.due_date, i.open_minor, i.currency, i.reference)
        for i in invoices
    ]
    deadline = today + timedelta(days=step.deadline_days) if step.deadline_days else None
    rendered = render_reminder(company, debtor, step.template, items, deadline, today)
    return render(request, "web/_preview.html", {"rendered": rendered, "debtor": debtor, "step": step})


# -- settings and users ----------------------------------------------------------------------------------


@member_required("admin")
def company_settings(request: CompanyRequest) -> HttpResponse:
    form = CompanyForm(request.POST or None, instance=request.company)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Settings saved."))
        return redirect("web:settings")
    return _settings_page(request, form)


def _settings_page(
    request: CompanyRequest, form: CompanyForm, bound: SegmentTermsForm | None = None, status: int = 200
) -> HttpResponse:
    """The settings page: the company's details and, per segment, what may be agreed (``bound``: the segment
    form that was sent, with its errors)."""
    from mahnwerk.collection.agreements import segment_terms
    from mahnwerk.insights.services import segment_rules

    company = request.company
    terms = {t.segment: t for t in segment_terms(company)}
    segments = []
    for rule in segment_rules(company):
        segment_form = (
            bound
            if bound is not None and bound.rule.key == rule.key
            else SegmentTermsForm(company=company, rule=rule)
        )
        segments.append(
            {
                "key": rule.key,
                "label": _(rule.label) if rule.label else rule.key,
                "condition": rule.condition or _("everyone else"),
                "terms": terms[rule.key].terms_text(),
                "form": segment_form,
            }
        )
    return render(request, "web/settings.html", {"form": form, "segments": segments}, status=status)


@require_POST
@member_required("admin")
def segment_terms_view(request: CompanyRequest, key: str) -> HttpResponse:
    """Change what may be agreed in one of the company's segments (``insights.services.change_segment_terms``):
    the clerk's forms, the debtor's page, the API and the next run use the new terms at once."""
    from mahnwerk.insights.services import SegmentError, change_segment_terms, segment_rules

    rule = next((r for r in segment_rules(request.company) if r.key == key), None)
    if rule is None:
        raise Http404
    form = SegmentTermsForm(request.POST, company=request.company, rule=rule)
    if form.is_valid():
        try:
            change_segment_terms(request.company, key, **form.changes())
        except SegmentError as exc:
            form.add_error(None, str(exc))
        else:
            label = _(rule.label) if rule.label else rule.key
            messages.success(request, _("Segment {segment} changed.").format(segment=label))
            return redirect(reverse("web:settings") + f"#segment-{key}")
    return _settings_page(request, CompanyForm(instance=request.company), bound=form, status=422)


@member_required("admin")
def users(request: CompanyRequest) -> HttpResponse:
    form = MemberForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            result = add_member(
                data["username"],
                request.company,
                data["role"],
                password=data["password"] or None,
                added_by=request.membership.user,
            )
        except SetupError as exc:
            for field, problems in exc.errors.items():
                form.add_error(field if field in form.fields else None, problems)
        else:
            name, role = result.membership.user.get_username(), result.membership.get_role_display()
            if result.previous_role is not None and result.previous_role != result.membership.role:
                text = _("{user}'s role changed from {before} to {role}.")
            elif result.previous_role is not None:
                text = _("{user} is already {role}: nothing changed.")
            else:
                text = _("{user} is now a member.")
            before = Membership(role=result.previous_role).get_role_display() if result.previous_role else ""
            messages.success(request, text.format(user=name, role=role, before=before))
            return redirect("web:users")
    members = (
        Membership.objects.filter(company=request.company).select_related("user").order_by("user__username")
    )
    return render(request, "web/users.html", {"form": form, "members": members})


@require_POST
@member_required("admin")
def remove_member(request: CompanyRequest, pk: int) -> HttpResponse:
    from mahnwerk.ledger.setup import remove_member as end_membership

    try:
        end_membership(request.company, pk, removed_by=request.membership.user)
    except Membership.DoesNotExist:
        raise Http404 from None
    except SetupError as exc:
        messages.error(request, exc.line())
    else:
        messages.success(request, _("Member removed."))
    return redirect("web:users")


@require_POST
@member_required()
def switch_company(request: CompanyRequest) -> HttpResponse:
    company_id = parse_id(request.POST.get("company"))
    if company_id and Membership.objects.filter(user=request.membership.user, company_id=company_id).exists():
        request.session[SESSION_KEY] = company_id
    return redirect("web:home")


# -- key figures -----------------------------------------------------------------------------------------


def _bars(rows: list[tuple[str, int]], currency: str) -> list[dict[str, Any]]:
    largest = max((v for _k, v in rows), default=0) or 1
    return [
        {"label": label, "amount": format_money(v, currency), "percent": round(100 * max(v, 0) / largest)}
        for label, v in rows
    ]


def _month(value: str, today: Any) -> tuple[int, int]:
    try:
        year, month = (int(x) for x in value.split("-"))
        if 2000 <= year <= 2100 and 1 <= month <= 12:
            return year, month
    except ValueError:
        pass
    return today.year, today.month


@member_required()
def kpi(request: CompanyRequest) -> HttpResponse:
    """The company's key figures for a month (the current month up to today), with bar charts."""
    company = request.company
    today = company_today(company)
    year, month = _month(request.GET.get("month") or "", today)
    period = Period.month(year, month)
    if period.start > today:
        year, month = today.year, today.month
        period = Period.month(year, month)
    if period.end > today:
        period = Period(period.start, today)
    form = PeriodForm(initial={"month": f"{year:04d}-{month:02d}"})
    # The figures take a pass over the period's invoices (tens of milliseconds); the cash forecast needs a
    # prediction per open invoice, which without the day's stored predictions means training a model (seconds).
    # So the forecast comes with the page only when it is cheap (stored predictions, or computed before for
    # this ledger version); otherwise the page asks for it after it is shown (``?part=forecast``).
    version = services.ledger_version(company)
    name = f"kpi:{period.start.isoformat()}:{period.end.isoformat()}"
    part = request.GET.get("part") == "forecast"
    with_forecast = (
        part
        or services.peek(company, today, name + ":forecast", version) is not None
        or InvoicePrediction.objects.filter(company=company, as_of=period.end).exists()
    )
    report, others = services.cached(
        company,
        today,
        name + (":forecast" if with_forecast else ""),
        lambda: company_kpis_and_others(company, period, forecast=with_forecast),
        version,
    )
    currency = company.currency
    labels = {key: label for key, label, *_rest in services.BUCKETS}
    aging = _bars([(str(labels.get(b.label, b.label)), b.amount_minor) for b in report.aging], currency)
    levels = services.steps_by_level(company)

    def step_label(key: str) -> str:
        if not key:
            return _("without a reminder")
        name = levels.get(int(key), "") if key.isdigit() else ""
        return f"{key}. {name}" if name else _("step {level}").format(level=key)

    per_step = _bars(
        [(step_label(k), v) for k, v in sorted(report.collected_per_step.items(), key=lambda kv: kv[0])],
        currency,
    )
    forecast = report.forecast
    weeks = (
        _bars(
            [(date_format(w.start, "SHORT_DATE_FORMAT"), w.expected_minor) for w in forecast.weeks], currency
        )
        if forecast
        else []
    )

    def days(value: float | None) -> str:
        return "–" if value is None else _("{days} days").format(days=number_format(value, 1))

    def percent(value: float | None) -> str:
        return "–" if value is None else f"{number_format(value, 1)} %"

    figures = [
        ("dso", _("DSO (simple)"), days(report.dso), _("open receivables ÷ credit sales × days")),
        (
            "dso-count-back",
            _("DSO (count-back)"),
            days(report.dso_count_back),
            _("months of sales still open"),
        ),
        ("best-dso", _("Best possible DSO"), days(report.best_possible_dso), _("only what is not yet due")),
        (
            "add",
            _("Average days delinquent"),
            days(report.average_days_delinquent),
            _("DSO − best possible DSO"),
        ),
        ("cei", _("Collection effectiveness index"), percent(report.cei), _("collected ÷ collectible")),
        (
            "promises-kept",
            _("Promises kept"),
            percent(None if report.promises_kept_rate is None else report.promises_kept_rate * 100),
            _("share of promises due in the month that were kept"),
        ),
    ]
    return render(
        request,
        "web/_forecast.html" if part and is_htmx(request) else "web/kpi.html",
        {
            "form": form,
            "forecast_pending": not with_forecast,
            "forecast_url": f"?month={year:04d}-{month:02d}&part=forecast",
            "period": period,
            "report": report,
            "figures": figures,
            "sales": format_money(report.credit_sales_minor, currency),
            "receivables": format_money(report.receivables_minor, currency),
            # amounts in different currencies are never added up: the others are named with their own sums
            "others": [
                (
                    code,
                    other.invoices,
                    format_money(other.credit_sales_minor, code),
                    format_money(other.receivables_minor, code),
                )
                for code, other in others.items()
            ],
            "aging": aging,
            "per_step": per_step,
            "weeks": weeks,
            "forecast_later": format_money(forecast.later_minor, currency) if forecast else "",
            "forecast_unpredicted": format_money(forecast.unpredicted_minor, currency) if forecast else "",
            "forecast_doubtful": format_money(forecast.doubtful_minor, currency) if forecast else "",
            "currency": currency,
        },
    )
