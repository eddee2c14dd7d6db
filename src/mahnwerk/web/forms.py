"""Forms of the clerk application. Every field has a label; amounts are entered in the currency's units."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.forms import BaseModelFormSet, modelformset_factory
from django.utils.translation import gettext_lazy as _

from mahnwerk.collection.models import Playbook, Step
from mahnwerk.core.money import MoneyError, to_minor
from mahnwerk.core.playbook import Anchor, Channel, PlaybookError, StepSpec, Tone, validate_steps
from mahnwerk.ledger.models import Company, Invoice
from mahnwerk.web.models import Role

BUCKET_CHOICES = [
    ("", _("any")),
    ("current", _("not yet due")),
    ("1-30", _("1–30 days overdue")),
    ("31-60", _("31–60 days overdue")),
    ("61-90", _("61–90 days overdue")),
    ("90+", _("over 90 days overdue")),
]
SORT_CHOICES = [
    ("name", _("name (A–Z)")),
    ("-name", _("name (Z–A)")),
    ("number", _("customer number")),
    ("-overdue", _("most overdue first")),
    ("-open", _("most open first")),
]
HOLD_CHOICES = [("", _("any")), ("yes", _("on hold")), ("no", _("not on hold"))]


class DebtorFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    bucket = forms.ChoiceField(label=_("Overdue"), choices=BUCKET_CHOICES, required=False)
    step = forms.TypedChoiceField(label=_("Step"), required=False, coerce=int, empty_value=None)
    hold = forms.ChoiceField(label=_("Hold"), choices=HOLD_CHOICES, required=False)
    sort = forms.ChoiceField(label=_("Sort by"), choices=SORT_CHOICES, required=False)

    def __init__(self, *args: Any, levels: dict[int, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices: list[tuple[Any, Any]] = [("", _("any"))]
        for level, name in sorted((levels or {}).items()):
            choices.append((level, f"{level}. {name}"))
        self.fields["step"].choices = choices  # type: ignore[attr-defined]


class PaymentForm(forms.Form):
    amount = forms.DecimalField(label=_("Amount"), min_value=Decimal("0.01"), decimal_places=4, max_digits=18)
    value_date = forms.DateField(
        label=_("Value date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    reference = forms.CharField(label=_("Reference"), required=False, max_length=140)
    invoice = forms.ModelChoiceField(
        label=_("Invoice"),
        queryset=Invoice.objects.none(),
        required=False,
        empty_label=_("oldest open items first"),
    )

    def __init__(self, *args: Any, company: Company, debtor_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.company = company
        field = self.fields["invoice"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Invoice.objects.filter(debtor_id=debtor_id, open_minor__gt=0).order_by(
            "due_date", "number"
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        amount = data.get("amount")
        if amount is not None:
            invoice = data.get("invoice")
            currency = invoice.currency if invoice else self.company.currency
            try:
                data["amount_minor"] = to_minor(amount, currency)
                data["currency"] = currency
            except MoneyError as exc:
                raise ValidationError({"amount": str(exc)}) from None
        return data


class HoldForm(forms.Form):
    reason = forms.CharField(label=_("Reason for the hold"), required=False, max_length=200)


class PlaybookChoiceForm(forms.Form):
    playbook = forms.ModelChoiceField(
        label=_("Playbook"),
        queryset=Playbook.objects.none(),
        required=False,
        empty_label=_("company default"),
    )

    def __init__(self, *args: Any, company: Company, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["playbook"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Playbook.objects.filter(company=company).order_by("name")


def template_choices() -> list[tuple[str, str]]:
    """The reminder templates shipped (each in three tones and in de, lv and en), and the company's own."""
    from mahnwerk.comms.templates_store import shipped_templates

    names = sorted({name for kind, name, _tone, _language in shipped_templates() if kind == "email"})
    return [(n, n) for n in names]


class StepForm(forms.ModelForm):
    template = forms.ChoiceField(label=_("template"), choices=template_choices)

    class Meta:
        model = Step
        fields = ["name", "offset_days", "anchor", "channel", "tone", "deadline_days", "template"]


class BaseStepFormSet(BaseModelFormSet):
    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        specs = []
        level = 0
        for form in self.forms:
            data = form.cleaned_data
            if not data or data.get("DELETE"):
                continue
            level += 1
            instance_level = form.instance.level if form.instance.pk else level
            specs.append(
                StepSpec(
                    level=instance_level,
                    offset_days=data["offset_days"],
                    anchor=Anchor(data["anchor"]),
                    channel=Channel(data["channel"]),
                    tone=Tone(data["tone"]),
                    deadline_days=data["deadline_days"],
                    template=data["template"],
                )
            )
        if not specs:
            raise ValidationError(_("A playbook needs at least one step."))
        try:
            validate_steps(specs)
        except PlaybookError as exc:
            raise ValidationError(str(exc)) from None


StepFormSet = modelformset_factory(Step, form=StepForm, formset=BaseStepFormSet, extra=1, can_delete=True)


class PlaybookForm(forms.ModelForm):
    class Meta:
        model = Playbook
        fields = ["name", "min_days_between"]


class CompanyForm(forms.ModelForm):
    class Meta:
        model = Company
        fields = [
            "name",
            "street",
            "postcode",
            "city",
            "country",
            "email",
            "phone",
            "vat_id",
            "iban",
            "bic",
            "jurisdiction",
            "time_zone",
            "default_language",
        ]


class MemberForm(forms.Form):
    username = forms.CharField(label=_("User name"), max_length=150)
    password = forms.CharField(
        label=_("Password (new users only)"), required=False, widget=forms.PasswordInput, min_length=8
    )
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        name = data.get("username")
        if name and not get_user_model().objects.filter(username=name).exists() and not data.get("password"):
            raise ValidationError({"password": _("A new user needs a password.")})
        return data


class PreviewForm(forms.Form):
    debtor = forms.CharField(label=_("Customer number"), max_length=50, required=False)
