"""Forms of the clerk application. Every field has a label; amounts are entered in the currency's units."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db.models import fields as fields_module
from django.forms import BaseModelFormSet, modelformset_factory
from django.utils.formats import date_format
from django.utils.text import capfirst
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from mahnwerk.collection.agreements import AgreementTerms
from mahnwerk.collection.models import Playbook, Step
from mahnwerk.core.money import MoneyError, digits, to_minor
from mahnwerk.core.playbook import Anchor, Channel, PlaybookError, StepSpec, Tone, validate_steps
from mahnwerk.core.tabular import MAX_DATE, MIN_DATE, TabularError, check_minor, parse_decimal
from mahnwerk.ledger.models import Company, Debtor, Invoice
from mahnwerk.ledger.services import DEBTOR_DETAIL_FIELDS
from mahnwerk.ledger.setup import country_codes
from mahnwerk.web.models import Role

# Django's empty choice reads "- Select an option -", which its catalogues do not translate into German or
# Latvian; a dash says the same in every language (Django's advice: set it once, when the app loads).
fields_module.BLANK_CHOICE_LABEL = "–"


def _decimal_separator(text: str) -> str:
    """The decimal separator of one typed amount: what the text says for sure ("12,50", "1.234,56",
    "400.00"), else the page language's ("1.234" is 1234 in German and Latvian, 1.234 in English)."""
    body = "".join(c for c in text if c in ".,")
    if "," in body and "." in body:
        return "," if text.rfind(",") > text.rfind(".") else "."
    for sep in (",", "."):
        n = body.count(sep)
        if n > 1:
            return "." if sep == "," else ","
        if n == 1 and not re.search(rf"\{sep}\d{{3}}$", text.strip()):
            return sep
    return "," if (get_language() or "en")[:2] in ("de", "lv") else "."


def amount_error(exc: Exception, value: Any, currency: str) -> str:
    """A refused amount in the page's language (the core raises English texts for the command line)."""
    if isinstance(exc, TabularError):
        return exc.render(gettext)
    if isinstance(exc, MoneyError) and "decimal places" in str(exc):
        return gettext("{value} has more decimal places than {currency} allows ({places})").format(
            value=value, currency=currency, places=digits(currency)
        )
    return gettext("not an amount: {value!r}").format(value=str(value))


class AmountField(forms.CharField):
    """An amount typed by a person, read strictly (the rules of the spreadsheet import): no exponents
    ("1e6"), no underscores, thousands groups of three digits, a comma or a point as the decimal separator,
    a currency code or symbol beside it allowed. Cleans to a ``Decimal``; the form converts it to minor units
    of its currency."""

    def __init__(self, *args: Any, min_value: Decimal | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.min_value = min_value
        self.widget.attrs.setdefault("inputmode", "decimal")
        self.widget.attrs.setdefault("maxlength", "40")

    def to_python(self, value: Any) -> Decimal | None:  # type: ignore[override]
        text = str(super().to_python(value) or "").strip()
        if not text:
            return None
        try:
            amount = parse_decimal(text, _decimal_separator(text))
        except TabularError as exc:
            raise ValidationError(exc.render(gettext), code="invalid") from None
        if self.min_value is not None and amount < self.min_value:
            raise ValidationError(gettext("must be positive: {value!r}").format(value=text), code="min_value")
        return amount


class StrictDecimalField(forms.DecimalField):
    """A number typed by a person, without an exponent: "1e3" is refused with the reason (as every amount is,
    ``AmountField``), not read as 1000."""

    def to_python(self, value: Any) -> Decimal | None:  # type: ignore[override]
        if isinstance(value, str) and "e" in value.strip().lower():
            AmountField().to_python(value)  # raises the reason where an exponent is written
        return super().to_python(value)


class ItemsField(forms.ModelMultipleChoiceField):
    """Several of the debtor's records chosen by id: a value that is no id the database could hold ("²",
    "1e3", twenty digits) is an invalid choice like any unknown id, not a database error."""

    def _check_values(self, value: Any) -> Any:
        from mahnwerk.web.params import parse_id

        for pk in value if isinstance(value, (list, tuple)) else []:
            if parse_id(pk) is None:
                raise ValidationError(
                    self.error_messages["invalid_pk_value"], code="invalid_pk_value", params={"pk": pk}
                )
        return super()._check_values(value)  # type: ignore[misc]


def date_range_error(value: date) -> str:
    """Why a date outside 1990-01-01..2100-12-31 is refused, in the page's language and date format."""
    return gettext("{value} is outside the accepted range {min} to {max}").format(
        value=date_format(value, "SHORT_DATE_FORMAT"),
        min=date_format(MIN_DATE, "SHORT_DATE_FORMAT"),
        max=date_format(MAX_DATE, "SHORT_DATE_FORMAT"),
    )


class DayField(forms.DateField):
    """A calendar date within the range every import accepts (1990-01-01 to 2100-12-31): a typo such as
    1900 or 9999 is refused here, not by a service deep inside."""

    widget = forms.DateInput(
        attrs={"type": "date", "min": MIN_DATE.isoformat(), "max": MAX_DATE.isoformat()}, format="%Y-%m-%d"
    )

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value is not None and not MIN_DATE <= value <= MAX_DATE:
            raise ValidationError(date_range_error(value), code="date_range")


def clean_country_code(value: Any) -> str:
    """A country typed by a person, checked as the API and the import check it: empty, or an ISO 3166-1
    alpha-2 code of a country (upper case; "de" is DE, "XX" is refused)."""
    code = str(value or "").strip().upper()
    if code and code not in country_codes():
        raise ValidationError(
            gettext("not a two-letter country code (ISO 3166): {value!r}").format(value=code), code="country"
        )
    return code


def bound_integer_fields(form: forms.ModelForm) -> None:
    """The limits of the model's integer fields (``MinValueValidator``/``MaxValueValidator``) on the form's
    fields too: a value beyond them is refused next to its field, and the browser offers no more."""
    for name, field in form.fields.items():
        if not isinstance(field, forms.IntegerField):
            continue
        try:
            column = form._meta.model._meta.get_field(name)
        except FieldDoesNotExist:
            continue
        for validator in getattr(column, "validators", ()):
            limit = validator.limit_value if isinstance(validator, MinValueValidator) else None
            if isinstance(limit, int) and not (isinstance(field.min_value, int) and field.min_value >= limit):
                field.min_value = limit
                field.validators.append(MinValueValidator(limit))
                field.widget.attrs["min"] = limit
            limit = validator.limit_value if isinstance(validator, MaxValueValidator) else None
            if isinstance(limit, int) and not (isinstance(field.max_value, int) and field.max_value <= limit):
                field.max_value = limit
                field.validators.append(MaxValueValidator(limit))
                field.widget.attrs["max"] = limit


ONCE_TOKEN = re.compile(r"[0-9a-f]{32}\Z")


class OnceForm(forms.Form):
    """A case-file form that books money or makes an agreement carries a one-time token (``once``, a random
    id rendered into the form as a hidden field): the view carries the form out once per token
    (``views._once``), so a double click or a form the browser sends again books nothing twice. A form
    posted without a token (an old page, a script) is carried out as before."""

    once = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial = {**self.initial, "once": uuid.uuid4().hex}

    def clean_once(self) -> str:
        value = str(self.cleaned_data.get("once") or "")
        return value if ONCE_TOKEN.match(value) else ""


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
YES_NO_CHOICES = [("", _("any")), ("yes", _("yes")), ("no", _("no"))]
RATING_CHOICES = [("", _("any")), ("A", "A"), ("B", "B"), ("C", "C"), ("D", "D")]


class DebtorFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    bucket = forms.ChoiceField(label=_("Overdue"), choices=BUCKET_CHOICES, required=False)
    step = forms.TypedChoiceField(label=_("Step"), required=False, coerce=int, empty_value=None)
    segment = forms.ChoiceField(label=_("Segment"), required=False)
    rating = forms.ChoiceField(label=_("Rating"), choices=RATING_CHOICES, required=False)
    dispute = forms.ChoiceField(label=_("Open dispute"), choices=YES_NO_CHOICES, required=False)
    agreement = forms.ChoiceField(label=_("Running agreement"), choices=YES_NO_CHOICES, required=False)
    hold = forms.ChoiceField(label=_("Hold"), choices=HOLD_CHOICES, required=False)
    sort = forms.ChoiceField(label=_("Sort by"), choices=SORT_CHOICES, required=False)

    def __init__(
        self,
        *args: Any,
        levels: dict[int, str] | None = None,
        segments: list[tuple[str, str]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        choices: list[tuple[Any, Any]] = [("", _("any"))]
        for level, name in sorted((levels or {}).items()):
            choices.append((level, f"{level}. {name}"))
        self.fields["step"].choices = choices  # type: ignore[attr-defined]
        self.fields["segment"].choices = [("", _("any")), *(segments or [])]  # type: ignore[attr-defined]

    def filters(self) -> dict[str, Any]:
        """The cleaned choices as the keyword arguments of ``services.debtor_page``."""
        data = self.cleaned_data
        yes_no = {"yes": True, "no": False}
        return {
            "q": data["q"],
            "bucket": data["bucket"],
            "step": data["step"],
            "segment": data["segment"],
            "rating": data["rating"],
            "dispute": yes_no.get(data["dispute"]),
            "agreement": yes_no.get(data["agreement"]),
            "on_hold": yes_no.get(data["hold"]),
            "sort": data["sort"] or "name",
        }


class PaymentForm(OnceForm):
    amount = AmountField(label=_("Amount"), min_value=Decimal("0.01"))
    value_date = DayField(label=_("Value date"))
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
                data["amount_minor"] = check_minor(to_minor(amount, currency))
                data["currency"] = currency
            except (MoneyError, TabularError) as exc:
                raise ValidationError({"amount": amount_error(exc, amount, currency)}) from None
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


def template_choices_or_none() -> list[tuple[str, Any]]:
    """The templates after an empty choice: the empty extra row of the steps posts it unchanged (and is
    left out), instead of the first template, which would make it a half-filled new step."""
    return [("", "–"), *template_choices()]


class StepForm(forms.ModelForm):
    template = forms.ChoiceField(label=_("template"), choices=template_choices_or_none)

    class Meta:
        model = Step
        fields = [
            "name",
            "offset_days",
            "anchor",
            "channel",
            "tone",
            "deadline_days",
            "template",
            "min_amount",
        ]
        field_classes = {"min_amount": StrictDecimalField}


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


# A playbook has a handful of steps; a form claiming thousands of rows ("steps-TOTAL_FORMS") is refused at
# once, not built row by row (which took the server half a minute).
MAX_STEPS = 50
StepFormSet = modelformset_factory(
    Step,
    form=StepForm,
    formset=BaseStepFormSet,
    extra=1,
    can_delete=True,
    max_num=MAX_STEPS,
    absolute_max=MAX_STEPS,
    validate_max=True,
)


class PlaybookForm(forms.ModelForm):
    class Meta:
        model = Playbook
        fields = ["name", "min_days_between", "approval_required"]


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
            "collections_email",
            "collections_phone",
            "sms_sender",
            "legal_form",
            "register_court",
            "register_number",
            "managing_directors",
            "registration_number",
            "vat_id",
            "iban",
            "bic",
            "jurisdiction",
            "time_zone",
            "default_language",
            "cadence_days",
            "min_reminder_amount",
            "small_balance_tolerance",
            "escalation_min_amount",
            "leftover_costs",
            "costs_claim",
            "letter_cost",
            "letter_delivery_days",
            "statement_interval_months",
        ]
        field_classes = {
            name: StrictDecimalField
            for name in (
                "min_reminder_amount",
                "small_balance_tolerance",
                "escalation_min_amount",
                "letter_cost",
            )
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bound_integer_fields(self)

    def clean_country(self) -> str:
        return clean_country_code(self.cleaned_data.get("country"))


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


class SegmentTermsForm(forms.Form):
    """What may be agreed in one segment (``insights.services.change_segment_terms`` checks it again): the
    company's playbooks to choose from; an empty optional term is left to the segment's down payment tier."""

    # the terms as numbers, required or not (empty: by the down payment)
    NUMBERS = (
        ("max_instalments", True),
        ("min_down_payment_percent", True),
        ("max_plan_days", True),
        ("settlement_floor_percent", False),
        ("extension_days", False),
        ("promise_max_days", False),
        ("deadline_days", False),
    )

    playbook = forms.ChoiceField(label=_("Playbook"))
    offers_by_tier = forms.BooleanField(label=_("Offers by the down payment"), required=False)
    offers = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)
    thank_you_messages = forms.BooleanField(required=False)

    def __init__(self, *args: Any, company: Company, rule: Any, **kwargs: Any) -> None:
        from mahnwerk.collection.agreements_models import IncentiveKind
        from mahnwerk.insights.models import SegmentRuleRow
        from mahnwerk.insights.services import MIN_DEADLINE_DAYS, TERM_LIMITS

        policy = rule.policy
        kwargs.setdefault("prefix", f"segment-{rule.key}")
        kwargs.setdefault(
            "initial",
            {
                **{name: getattr(policy, name) for name, _required in self.NUMBERS},
                "playbook": policy.playbook,
                "offers_by_tier": policy.offers is None,
                "offers": list(policy.offers or ()),
                "thank_you_messages": policy.thank_you_messages,
            },
        )
        super().__init__(*args, **kwargs)
        self.rule = rule
        for name, required in self.NUMBERS:
            column = SegmentRuleRow._meta.get_field(name)
            self.fields[name] = forms.IntegerField(
                label=capfirst(getattr(column, "verbose_name", name)),
                required=required,
                min_value=MIN_DEADLINE_DAYS if name == "deadline_days" else 0,
                max_value=TERM_LIMITS[name],
                help_text=getattr(column, "help_text", "") if not required else "",
            )
        for name in ("offers", "thank_you_messages"):
            self.fields[name].label = capfirst(
                getattr(SegmentRuleRow._meta.get_field(name), "verbose_name", "")
            )
        self.order_fields(
            ["playbook", *(name for name, _required in self.NUMBERS), "offers_by_tier", "offers"]
        )
        names = list(Playbook.objects.filter(company=company).order_by("name").values_list("name", flat=True))
        choices = [(n, n) for n in names]
        if not any(n.casefold() == policy.playbook.casefold() for n in names):
            # a segment naming a playbook the company does not have follows the default one
            choices.insert(
                0,
                (
                    policy.playbook,
                    gettext("{name} (not found: the default playbook applies)").format(name=policy.playbook),
                ),
            )
        self.fields["playbook"].choices = choices  # type: ignore[attr-defined]
        self.fields["offers"].choices = IncentiveKind.choices  # type: ignore[attr-defined]

    def changes(self) -> dict[str, Any]:
        """The terms to pass to ``change_segment_terms`` (the playbook only where it changed, so that a segment
        naming a playbook that is gone keeps its other terms editable)."""
        data = self.cleaned_data
        out: dict[str, Any] = {name: data[name] for name, _required in self.NUMBERS}
        out["thank_you_messages"] = bool(data["thank_you_messages"])
        out["offers"] = None if data["offers_by_tier"] else tuple(data["offers"])
        if data["playbook"].casefold() != self.rule.policy.playbook.casefold():
            out["playbook"] = data["playbook"]
        return out


# -- agreements, disputes and calls ----------------------------------------------------------------------


def _open_items(debtor_id: int) -> Any:
    return Invoice.objects.filter(debtor_id=debtor_id, open_minor__gt=0).order_by("due_date", "number")


def _minor(form: forms.Form, data: dict[str, Any], field: str, currency: str, target: str) -> None:
    value = data.get(field)
    if value is None:
        data[target] = None
        return
    try:
        data[target] = check_minor(to_minor(value, currency))
    except (MoneyError, TabularError) as exc:
        form.add_error(field, amount_error(exc, value, currency))


DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class _ItemsForm(OnceForm):
    invoices = ItemsField(
        label=_("Invoices"), queryset=Invoice.objects.none(), widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, company: Company, debtor_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.company = company
        field = self.fields["invoices"]
        assert isinstance(field, forms.ModelMultipleChoiceField)
        field.queryset = _open_items(debtor_id)
        field.label_from_instance = lambda inv: inv.number  # type: ignore[method-assign,assignment]

    def currency(self, data: dict[str, Any]) -> str:
        items = data.get("invoices") or []
        return items[0].currency if items else self.company.currency


class _AgreementForm(_ItemsForm):
    """An agreement form shows the terms of the debtor's segment (``terms``: what may be agreed, and why)."""

    def __init__(
        self, *args: Any, company: Company, debtor_id: int, terms: AgreementTerms | None = None, **kwargs: Any
    ) -> None:
        from mahnwerk.collection.agreements import terms_for_debtors

        super().__init__(*args, company=company, debtor_id=debtor_id, **kwargs)
        # the caller may pass the terms it has read already (the case file shows three of these forms)
        self.terms = terms if terms is not None else terms_for_debtors(company, [debtor_id])[debtor_id]


class PromiseForm(_AgreementForm):
    promised_date = forms.DateField(label=_("Promised payment date"), widget=DATE_WIDGET)
    amount = StrictDecimalField(
        label=_("Amount (empty: all that is open)"),
        required=False,
        min_value=Decimal("0.01"),
        decimal_places=4,
        max_digits=18,
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=500)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["promised_date"].help_text = _("At most {days} days ahead.").format(
            days=self.terms.promise_max_days
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        _minor(self, data, "amount", self.currency(data), "amount_minor")
        return data


class PlanForm(_AgreementForm):
    count = forms.IntegerField(label=_("Number of instalments"), min_value=1, max_value=60, initial=3)
    down_payment = StrictDecimalField(
        label=_("Down payment (empty: the minimum of the policy)"),
        required=False,
        min_value=Decimal("0"),
        decimal_places=4,
        max_digits=18,
    )
    first_due = forms.DateField(
        label=_("First payment due (empty: the deadline to confirm)"), required=False, widget=DATE_WIDGET
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=500)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        terms = self.terms
        self.fields["count"].help_text = _(
            "Within the customer's terms: up to {count} instalments over {days} days, a down payment of at "
            "least {percent} %; beyond them an admin approves the plan."
        ).format(
            count=terms.max_instalments, days=terms.max_duration_days, percent=terms.min_down_payment_percent
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        _minor(self, data, "down_payment", self.currency(data), "down_payment_minor")
        return data


class SettlementForm(_AgreementForm):
    amount = StrictDecimalField(
        label=_("Accept this amount"), min_value=Decimal("0.01"), decimal_places=4, max_digits=18
    )
    deadline = forms.DateField(label=_("If paid by"), widget=DATE_WIDGET)
    reason = forms.CharField(
        label=_("Reason (printed on the credit note for the rest)"), max_length=200, min_length=3
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.terms.settlement_floor_percent:
            # xgettext:no-python-format (a per-cent sign, not a placeholder)
            self.fields["amount"].help_text = _("At least {percent} % of what is open.").format(
                percent=self.terms.settlement_floor_percent
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        _minor(self, data, "amount", self.currency(data), "amount_minor")
        return data


class InvoiceDocumentForm(forms.Form):
    invoice = forms.ModelChoiceField(label=_("Invoice"), queryset=Invoice.objects.none())
    file = forms.FileField(
        label=_("Copy of the invoice (PDF)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,application/pdf"}),
    )

    def __init__(self, *args: Any, debtor_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["invoice"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Invoice.objects.filter(debtor_id=debtor_id).order_by("-issue_date", "number")
        field.label_from_instance = lambda inv: inv.number  # type: ignore[method-assign,assignment]


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500, min_length=3)


def dispute_reason_choices() -> list[tuple[str, Any]]:
    from mahnwerk.collection.agreements_models import DisputeReason

    return list(DisputeReason.choices)


class DisputeForm(OnceForm):
    invoice = forms.ModelChoiceField(label=_("Disputed invoice"), queryset=Invoice.objects.none())
    reason = forms.ChoiceField(label=_("Reason"), choices=dispute_reason_choices)
    notes = forms.CharField(
        label=_("Details"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, debtor_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["invoice"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = _open_items(debtor_id)
        field.label_from_instance = lambda inv: inv.number  # type: ignore[method-assign,assignment]


RESOLUTION_CHOICES = [
    ("corrected", _("corrected: a credit note over the disputed amount")),
    ("rejected", _("rejected: reminders resume after a new deadline")),
    ("partly", _("partly corrected: a credit note over the amount below")),
]


class ResolveDisputeForm(OnceForm):
    outcome = forms.ChoiceField(label=_("Outcome"), choices=RESOLUTION_CHOICES)
    resolution = forms.CharField(
        label=_("Resolution (the debtor is told)"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    credit = AmountField(label=_("Credit (partly corrected only)"), required=False, min_value=Decimal("0.01"))

    def __init__(self, *args: Any, currency: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.currency = currency

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        _minor(self, data, "credit", self.currency, "credit_minor")
        return data


def call_outcome_choices() -> list[tuple[str, Any]]:
    from mahnwerk.collection.models import CallOutcome

    return list(CallOutcome.choices)


class CallOutcomeForm(OnceForm):
    outcome = forms.ChoiceField(label=_("Outcome of the call"), choices=call_outcome_choices)
    notes = forms.CharField(
        label=_("Notes"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    promised_on = DayField(label=_("Promised payment date"), required=False)
    amount = AmountField(
        label=_("Promised amount (empty: all that is open)"), required=False, min_value=Decimal("0.01")
    )
    dispute_reason = forms.ChoiceField(
        label=_("Reason of the dispute"), choices=dispute_reason_choices, required=False
    )

    def __init__(self, *args: Any, currency: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.currency = currency

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        _minor(self, data, "amount", self.currency, "amount_minor")
        if data.get("outcome") == "promised" and not data.get("promised_on"):
            self.add_error("promised_on", _("Enter the date the debtor promised to pay."))
        return data


class PeriodForm(forms.Form):
    month = forms.CharField(
        label=_("Month"), required=False, widget=forms.DateInput(attrs={"type": "month"}), max_length=7
    )


class DebtorDetailsForm(forms.ModelForm):
    """The debtor's details a clerk keeps current: who, where, which law and which channels, its email address
    and phone number (they become the primary ones; earlier ones stay as secondary contacts), and whether it
    may be contacted at all."""

    email = forms.EmailField(label=_("Email address"), required=False, max_length=254)
    phone = forms.RegexField(
        label=_("Phone number"),
        required=False,
        max_length=40,
        regex=r"^\+?[0-9 ()/-]{5,40}$",
        error_messages={"invalid": _("Enter a phone number with digits only, e.g. +49 30 1234567.")},
    )

    class Meta:
        model = Debtor
        fields = list(DEBTOR_DETAIL_FIELDS)

    def __init__(self, *args: Any, contacts: Iterable[dict[str, Any]] | None = None, **kwargs: Any) -> None:
        """``contacts``: the debtor's contacts as the case file read them (kind, value, is_primary, is_valid),
        else read here."""
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            if contacts is None:
                contacts = self.instance.contacts.values("kind", "value", "is_primary", "is_valid")
            primary = {c["kind"]: c["value"] for c in contacts if c["is_primary"] and c["is_valid"]}
            self.fields["email"].initial = primary.get("email", "")
            self.fields["phone"].initial = primary.get("phone", "")

    def clean_country(self) -> str:
        return clean_country_code(self.cleaned_data.get("country"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("do_not_contact") and not (data.get("do_not_contact_reason") or "").strip():
            self.add_error("do_not_contact_reason", _("Say why the customer is not to be contacted."))
        return data
