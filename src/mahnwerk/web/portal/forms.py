from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from mahnwerk.core.money import MoneyError, format_money, to_minor
from mahnwerk.core.sms import is_phone_number
from mahnwerk.ledger.models import Debtor, Invoice
from mahnwerk.ledger.services import company_today
from mahnwerk.web.forms import AmountField, ItemsField


class ContactDetailsForm(forms.Form):
    email = forms.EmailField(label=_("Email address for invoices and reminders"), required=False)
    phone = forms.RegexField(
        label=_("Phone number"),
        required=False,
        max_length=40,
        regex=r"^\+?[0-9 ()/-]{5,40}$",
        error_messages={"invalid": _("Enter a phone number with digits only, e.g. +49 30 1234567.")},
    )

    def clean_phone(self) -> str:
        phone = str(self.cleaned_data.get("phone") or "").strip()
        if phone and not is_phone_number(phone):  # (the same rule as a spreadsheet's and the API's)
            raise ValidationError(self.fields["phone"].error_messages["invalid"], code="invalid")
        return phone

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("email") and not data.get("phone") and not self.errors:
            raise ValidationError(_("Enter an email address or a phone number."))
        return data


class _PortalItemsForm(forms.Form):
    invoices = ItemsField(
        label=_("Invoices"), queryset=Invoice.objects.none(), widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, debtor_id: int, terms: Any = None, **kwargs: Any) -> None:
        """``terms``: what may be agreed with the debtor (``collection.agreements.agreement_policy_for``)."""
        super().__init__(*args, **kwargs)
        self.terms = terms
        field = self.fields["invoices"]
        assert isinstance(field, ItemsField)
        field.queryset = Invoice.objects.filter(debtor_id=debtor_id, open_minor__gt=0).order_by(
            "due_date", "number"
        )
        field.label_from_instance = lambda inv: inv.number  # type: ignore[method-assign,assignment]


class PortalPromiseForm(_PortalItemsForm):
    promised_date = forms.DateField(
        label=_("I will pay on"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.terms is not None:
            self.fields["promised_date"].help_text = _("At most {days} days from today.").format(
                days=self.terms.promise_max_days
            )


class PortalPlanForm(_PortalItemsForm):
    count = forms.IntegerField(label=_("Number of instalments"), min_value=2, max_value=24, initial=3)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.terms is not None:  # the debtor's page offers plans within the segment's limits
            most = max(2, min(24, self.terms.max_instalments))
            self.fields["count"] = forms.IntegerField(
                label=_("Number of instalments"),
                min_value=2,
                max_value=most,
                initial=min(3, most),
                help_text=_("Up to {count} instalments.").format(count=most),
            )


class PortalExtensionForm(forms.Form):
    """One click: the open invoices are paid the segment's extension days later (a promise to pay)."""

    def __init__(self, *args: Any, debtor_id: int, terms: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.terms = terms


def _reasons() -> list[tuple[str, Any]]:
    from mahnwerk.collection.agreements_models import DisputeReason

    return list(DisputeReason.choices)


class PortalDisputeForm(forms.Form):
    invoice = forms.ModelChoiceField(label=_("Invoice"), queryset=Invoice.objects.none())
    reason = forms.ChoiceField(label=_("What is wrong?"), choices=_reasons)
    notes = forms.CharField(
        label=_("Please describe the problem"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, debtor_id: int, terms: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["invoice"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Invoice.objects.filter(debtor_id=debtor_id, open_minor__gt=0).order_by(
            "due_date", "number"
        )
        field.label_from_instance = lambda inv: inv.number  # type: ignore[method-assign,assignment]


class PortalPaidForm(forms.Form):
    """ "I have paid": the date and amount of a transfer already made, optionally the invoices it was for
    (none chosen: the open invoices no other agreement covers). Cleans to ``items`` and ``amount_minor``."""

    paid_on = forms.DateField(
        label=_("I paid on"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    amount = AmountField(label=_("Amount paid"), min_value=Decimal("0.01"))
    invoices = ItemsField(
        label=_("For the invoices (optional)"),
        queryset=Invoice.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    def __init__(self, *args: Any, debtor_id: int, terms: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.debtor_id = debtor_id
        field = self.fields["invoices"]
        assert isinstance(field, ItemsField)
        field.queryset = Invoice.objects.filter(debtor_id=debtor_id, open_minor__gt=0).order_by(
            "due_date", "number"
        )
        field.label_from_instance = lambda inv: inv.number  # type: ignore[method-assign,assignment]
        self._debtor: Debtor | None = None

    @property
    def debtor(self) -> Debtor:
        if self._debtor is None:
            self._debtor = Debtor.objects.select_related("company").get(pk=self.debtor_id)
        return self._debtor

    def clean_paid_on(self) -> Any:
        from mahnwerk.web.portal.services import PAID_NOTICE_MAX_DAYS_BACK

        day = self.cleaned_data["paid_on"]
        today = company_today(self.debtor.company)
        if day > today:
            raise ValidationError(_("The payment date cannot be in the future."), code="future")
        if day < today - timedelta(days=PAID_NOTICE_MAX_DAYS_BACK):
            raise ValidationError(
                _("The payment date can be at most {days} days back.").format(days=PAID_NOTICE_MAX_DAYS_BACK),
                code="too_old",
            )
        return day

    def clean(self) -> dict[str, Any]:
        from mahnwerk.web.portal.services import open_claim_minor, paid_notice_items

        data = super().clean() or {}
        amount = data.get("amount")
        if self.errors or amount is None:
            return data
        debtor = self.debtor
        today = company_today(debtor.company)
        items = paid_notice_items(debtor, list(data.get("invoices") or []), today)
        if not items:
            raise ValidationError(_("There is no open invoice this payment could be for."), code="no_items")
        currencies = {inv.currency for inv in items}
        if len(currencies) > 1:
            raise ValidationError(_("Choose invoices in one currency."), code="currencies")
        currency = items[0].currency
        try:
            minor = to_minor(amount, currency)
        except MoneyError:
            self.add_error("amount", _("Enter the amount in whole cents."))
            return data
        if minor <= 0:
            self.add_error("amount", _("The amount must be more than zero."))
            return data
        most = open_claim_minor(debtor, items, today)
        if minor > most:
            self.add_error(
                "amount",
                _("The amount is more than is open on these invoices ({open}).").format(
                    open=format_money(most, currency, self._language())
                ),
            )
            return data
        data["items"] = items
        data["amount_minor"] = minor
        return data

    def _language(self) -> str:
        from django.utils.translation import get_language

        return (get_language() or "en")[:2]
