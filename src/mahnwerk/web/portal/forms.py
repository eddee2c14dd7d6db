from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


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
