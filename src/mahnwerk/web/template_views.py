"""Message templates in the clerk application: the list, the editor with a live preview for a real debtor,
saving and resetting (admins only).

The pages call the same service functions as the ``template`` command (``comms.templates_store``): the text
being edited is checked with ``validate_template`` and rendered with ``preview_source`` (the debtor's open
items today, interest and fees included), saved with ``save_template`` and reset with ``reset_template``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from mahnwerk.comms.documents import preview_email_html
from mahnwerk.comms.letters import LetterError, render_letter_pdf
from mahnwerk.comms.placeholders import ALLOWED_PLACEHOLDERS, Problem
from mahnwerk.comms.rendering import LANGUAGES
from mahnwerk.comms.template_models import TemplateKind, TemplateTone
from mahnwerk.comms.templates_store import (
    ANY_TONE,
    KINDS,
    SMS_MAX_SEGMENTS,
    TONES,
    Preview,
    TemplateNotFound,
    TemplateSource,
    TemplateValidationError,
    draft_source,
    list_templates,
    preview_letter,
    preview_source,
    read_shipped,
    reset_template,
    resolve_template,
    save_template,
    validate_template,
)
from mahnwerk.core.sms import analyse_sms
from mahnwerk.ledger.models import Debtor, Language
from mahnwerk.web.access import CompanyRequest, member_required
from mahnwerk.web.views import is_htmx

ORIGINS = {
    "file": gettext_lazy("shipped file"),
    "edited": gettext_lazy("edited"),
    "custom": gettext_lazy("custom"),
}
PARTS = {
    "subject": gettext_lazy("Subject"),
    "body": gettext_lazy("Text"),
    "debtor": gettext_lazy("Customer number"),
    "name": gettext_lazy("Template"),
    "tone": gettext_lazy("Tone"),
    "language": gettext_lazy("Language"),
    "kind": gettext_lazy("Kind"),
}
CONDITION_EXAMPLE = "{% if deadline %}… {{ deadline }}{% else %}…{% endif %}"
DEBTOR_CHOICES = 50  # debtors with open items offered in the chooser's list


class TemplateFilterForm(forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("Kind"), required=False, choices=[("", gettext_lazy("any")), *TemplateKind.choices]
    )
    language = forms.ChoiceField(
        label=gettext_lazy("Language"), required=False, choices=[("", gettext_lazy("any")), *Language.choices]
    )


class TemplateForm(forms.Form):
    """The text being edited and the debtor to preview it for."""

    subject = forms.CharField(label=gettext_lazy("Subject"), required=False, strip=False)
    body = forms.CharField(
        label=gettext_lazy("Text"),
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 18, "cols": 80, "spellcheck": "true"}),
    )
    debtor = forms.CharField(
        label=gettext_lazy("Customer number to preview for"),
        required=False,
        max_length=50,
        help_text=gettext_lazy("Empty: the first debtor with open items."),
    )

    def __init__(self, *args: Any, kind: str, read_only: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if kind == TemplateKind.SMS:
            del self.fields["subject"]
        else:
            self.fields["subject"].widget.attrs["size"] = 80
        self.fields["debtor"].widget.attrs["list"] = "debtor-choices"
        if read_only:
            for name in ("subject", "body"):
                if name in self.fields:
                    self.fields[name].widget.attrs["readonly"] = True

    def text(self) -> tuple[str, str]:
        """(subject, body) as entered."""
        data = self.cleaned_data
        return data.get("subject") or "", data.get("body") or ""


@dataclass(frozen=True, slots=True)
class Key:
    """Which template: from the address, checked against what exists."""

    kind: str
    name: str
    tone: str
    language: str

    def url(self, view: str) -> str:
        return reverse(f"web:{view}", args=[self.kind, self.name, self.tone, self.language])


def _key(kind: str, name: str, tone: str, language: str) -> Key:
    if kind not in KINDS or tone not in (*TONES, ANY_TONE) or language not in LANGUAGES:
        raise Http404(_("No such template."))
    return Key(kind, name, tone, language)


def _source(request: CompanyRequest, key: Key) -> TemplateSource:
    try:
        return resolve_template(request.company, key.name, key.tone, key.language, key.kind)
    except TemplateNotFound:
        raise Http404(_("No such template.")) from None


def _origin(source: TemplateSource, key: Key) -> str:
    """As in the list: "edited" (the company's text for a shipped file), "custom" (no file), "file"."""
    if not source.edited or source.tone != key.tone:
        return "file"
    return "edited" if read_shipped(key.name, key.tone, key.language, key.kind) else "custom"


@dataclass(frozen=True, slots=True)
class ShownProblem:
    part: str  # the field's label
    line: int
    message: str


def _shown(problems: list[Problem]) -> list[ShownProblem]:
    return [ShownProblem(str(PARTS.get(p.part, p.part)), p.line, str(p.message)) for p in problems]


def _labels(kind: str, tone: str, language: str) -> dict[str, str]:
    return {
        "kind": str(TemplateKind(kind).label) if kind in TemplateKind.values else kind,
        "tone": str(TemplateTone(tone).label) if tone in TemplateTone.values else tone,
        "language": str(Language(language).label) if language in Language.values else language,
    }


# -- list ------------------------------------------------------------------------------------------------


@require_GET
@member_required()
def template_list(request: CompanyRequest) -> HttpResponse:
    form = TemplateFilterForm(request.GET or None)
    kind = language = None
    if form.is_valid():
        kind = form.cleaned_data["kind"] or None
        language = form.cleaned_data["language"] or None
    rows = []
    for row in list_templates(request.company, kind=kind, language=language):
        rows.append(
            {
                **row,
                **{f"{k}_label": v for k, v in _labels(row["kind"], row["tone"], row["language"]).items()},
                "origin_label": ORIGINS.get(row["origin"], row["origin"]),
                "updated_at": datetime.fromisoformat(row["updated_at"]) if row["updated_at"] else None,
                "url": Key(row["kind"], row["name"], row["tone"], row["language"]).url("template_edit"),
            }
        )
    return render(request, "web/templates.html", {"form": form, "rows": rows})


# -- editor and preview ----------------------------------------------------------------------------------


def _debtor(request: CompanyRequest, number: str) -> Debtor | None:
    """The company's debtor with this customer number; empty: the first one with open items."""
    debtors = Debtor.objects.filter(company=request.company)
    if number:
        return debtors.filter(number=number).first()
    return debtors.filter(invoices__open_minor__gt=0).order_by("number").first()


def _preview_context(request: CompanyRequest, key: Key, form: TemplateForm) -> dict[str, Any]:
    """What the preview panel shows for the text in ``form``: the problems in it, else the message as the
    debtor would get it today."""
    if not form.is_valid():
        problems = [
            Problem(field, 0, " ".join(str(e) for e in errors)) for field, errors in form.errors.items()
        ]
        return {"problems": _shown(problems)}
    subject, body = form.text()
    company = request.company
    problems = validate_template(company, key.name, key.tone, key.language, key.kind, subject, body)
    if problems:
        return {"problems": _shown(problems)}
    number = form.cleaned_data["debtor"].strip()
    debtor = _debtor(request, number)
    if debtor is None:
        if number:
            error = _("No debtor with the customer number {number}.").format(number=number)
        else:
            error = _("No debtor has open items: enter a customer number.")
        return {"error": error}
    source = draft_source(key.name, key.tone, key.language, key.kind, subject, body)
    shown = preview_source(company, debtor, source)
    context: dict[str, Any] = {
        "shown": shown,
        "debtor": debtor,
        "rendered": shown.rendered,
        "no_interest": [i.number for i in shown.items if i.interest_unavailable],
    }
    if key.kind == TemplateKind.EMAIL:
        context["html"] = preview_email_html(company, debtor, shown)
    elif key.kind == TemplateKind.SMS:
        context["sms"] = analyse_sms(shown.rendered.body_text)
        context["sms_limit"] = SMS_MAX_SEGMENTS
    return context


def _editor(
    request: CompanyRequest,
    key: Key,
    form: TemplateForm,
    preview: dict[str, Any],
    problems: list[Problem] | None = None,
) -> HttpResponse:
    source = _source(request, key)
    origin = _origin(source, key)
    debtors = (
        Debtor.objects.filter(company=request.company, invoices__open_minor__gt=0)
        .order_by("number")
        .values_list("number", "name")
        .distinct()[:DEBTOR_CHOICES]
    )
    return render(
        request,
        "web/template_edit.html",
        {
            "key": key,
            "labels": _labels(key.kind, key.tone, key.language),
            "source": source,
            "origin": origin,
            "origin_label": ORIGINS[origin],
            "form": form,
            "problems": _shown(problems or []),
            "preview": preview,
            "found_tone": _labels(key.kind, source.tone, key.language)["tone"],
            "condition_example": CONDITION_EXAMPLE,
            "debtors": list(debtors),
            "can_edit": request.membership.can_admin,
            "placeholders": [(name, str(text)) for name, text in ALLOWED_PLACEHOLDERS.items()],
            "preview_url": key.url("template_draft_preview"),
            "pdf_url": key.url("template_pdf"),
            "reset_url": key.url("template_reset"),
        },
    )


def _form(request: CompanyRequest, key: Key, data: Any) -> TemplateForm:
    return TemplateForm(data, kind=key.kind, read_only=not request.membership.can_admin)


@require_http_methods(["GET", "POST"])
@member_required()
def template_edit(request: CompanyRequest, kind: str, name: str, tone: str, language: str) -> HttpResponse:
    """The editor: GET shows the template's current text and its preview; POST saves (admins only)."""
    key = _key(kind, name, tone, language)
    source = _source(request, key)
    if request.method == "POST":
        if not request.membership.can_admin:
            raise PermissionDenied
        form = _form(request, key, request.POST)
        problems: list[Problem] = []
        if form.is_valid():
            subject, body = form.text()
            try:
                save_template(
                    request.company,
                    key.name,
                    key.tone,
                    key.language,
                    key.kind,
                    subject,
                    body,
                    user=cast(User, request.user),  # signed in: member_required
                )
            except TemplateValidationError as exc:
                problems = exc.problems
            else:
                messages.success(request, _("Template saved: the next messages use the new text."))
                return redirect(key.url("template_edit"))
        return _editor(request, key, form, _preview_context(request, key, form), problems)
    data = {"subject": source.subject, "body": source.body, "debtor": request.GET.get("debtor", "")}
    form = _form(request, key, data)
    return _editor(request, key, form, _preview_context(request, key, form))


@require_POST
@member_required()
def template_draft_preview(
    request: CompanyRequest, kind: str, name: str, tone: str, language: str
) -> HttpResponse:
    """The preview panel for the text posted (not saved): for HTMX the panel alone, else the whole editor."""
    key = _key(kind, name, tone, language)
    _source(request, key)
    form = _form(request, key, request.POST)
    preview = _preview_context(request, key, form)
    if not is_htmx(request):
        return _editor(request, key, form, preview)
    return render(request, "web/_template_preview.html", {"key": key, "preview": preview})


@require_POST
@member_required()
def template_pdf(request: CompanyRequest, kind: str, name: str, tone: str, language: str) -> HttpResponse:
    """A letter template's posted (not saved) text as the PDF letter the debtor would get today."""
    key = _key(kind, name, tone, language)
    if key.kind != TemplateKind.LETTER:
        raise Http404(_("Only letters are printed as PDF."))
    _source(request, key)
    form = _form(request, key, request.POST)
    preview = _preview_context(request, key, form)
    shown: Preview | None = preview.get("shown")
    if shown is not None:
        try:
            pdf = render_letter_pdf(preview_letter(request.company, preview["debtor"], shown))
        except LetterError as exc:
            preview = {"error": _("The letter cannot be printed: {reason}").format(reason=exc)}
        else:
            response = HttpResponse(pdf, content_type="application/pdf")
            filename = f"{key.name}-{key.tone}-{key.language}-{preview['debtor'].number}.pdf"
            response["Content-Disposition"] = content_disposition_header(False, filename) or "inline"
            return response
    return render(
        request,
        "web/template_pdf_problems.html",
        {"key": key, "labels": _labels(key.kind, key.tone, key.language), "preview": preview},
        status=422,
    )


@require_POST
@member_required("admin")
def template_reset(request: CompanyRequest, kind: str, name: str, tone: str, language: str) -> HttpResponse:
    """Drop the company's version: the shipped text applies again."""
    key = _key(kind, name, tone, language)
    if reset_template(request.company, key.name, key.tone, key.language, key.kind):
        messages.success(request, _("Template reset: the shipped text applies again."))
    else:
        messages.info(request, _("The template was not edited: nothing to reset."))
    try:
        resolve_template(request.company, key.name, key.tone, key.language, key.kind)
    except TemplateNotFound:  # a custom template without a shipped file is gone
        return redirect("web:templates")
    return redirect(key.url("template_edit"))
