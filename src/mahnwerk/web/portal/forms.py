from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from mahnwerk.ledger.models import Invoice


class ContactDetailsForm(forms.Form):
    email = forms.EmailField(label=_("Email address for invoices and reminders"), required=False)
    phone = forms.RegexField(
        label=_("Phone number"),
        required=False,
        max_length=40,
        regex=r"^\+?[0-9 ()/-]{5,40}$",
        error_messages={"invalid": _("Enter a phone number with digits only, e.g. +49 30 1234567.")},
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("email") and not data.get("phone") and not self.errors:
            raise ValidationError(_("Enter an email address or a phone number."))
        return data


class _PortalItemsForm(forms.Form):
    invoices = forms.ModelMultipleChoiceField(
        label=_("Invoices"), queryset=Invoice.objects.none(), widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, debtor_id: int, terms: Any = None, **kwargs: Any) -> None:
        """``terms``: what may be agreed with the debtor (``collection.agreements.agreement_policy_for``)."""
        super().__init__(*args, **kwargs)
        self.terms = terms
        field = self.fields["invoices"]
        assert isinstance(field, forms.ModelMultipleChoiceField)
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
