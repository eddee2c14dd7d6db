"""The form of the first start: the first administrator, the company and its playbook preset."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from mahnwerk.collection.presets import PRESETS, preset_choices
from mahnwerk.ledger.models import Jurisdiction, Language
from mahnwerk.ledger.setup import ALL_FIELDS, country_choices

# The form's field for each field a setup error names (the rest are shown above the form).
FORM_FIELD_OF = {"password": "password1", "default_language": "default_language"}


class FirstStartForm(forms.Form):
    username = forms.CharField(
        label=_("User name"), max_length=150, widget=forms.TextInput(attrs={"autocomplete": "username"})
    )
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 8 characters."),
    )
    password2 = forms.CharField(
        label=_("Password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    name = forms.CharField(
        label=_("Company name"),
        max_length=200,
        help_text=_("The legal name, as letters and emails name you."),
    )
    country = forms.ChoiceField(label=_("Country"), initial="DE")
    jurisdiction = forms.ChoiceField(
        label=_("Rules for your claims"),
        required=False,
        choices=[("", _("those of the country")), *Jurisdiction.choices],
        help_text=_("Interest, fees and deadlines follow these rules; outside the EU choose them here."),
    )
    currency = forms.CharField(label=_("Currency"), max_length=3, initial="EUR")
    default_language = forms.ChoiceField(
        label=_("Language of your customers"),
        required=False,
        choices=[("", _("that of the country")), *Language.choices],
    )
    iban = forms.CharField(
        label=_("IBAN"),
        max_length=42,
        required=False,
        help_text=_(
            "The account your customers pay to. Blank: your messages carry no bank details and no payment "
            "code."
        ),
    )
    bic = forms.CharField(label=_("BIC"), max_length=11, required=False)
    email = forms.EmailField(
        label=_("Sender email"), required=False, help_text=_("Collection emails come from this address.")
    )
    collections_email = forms.EmailField(
        label=_("Email for replies"), required=False, help_text=_("Blank: the sender email.")
    )
    street = forms.CharField(label=_("Street"), max_length=200, required=False)
    postcode = forms.CharField(label=_("Postcode"), max_length=20, required=False)
    city = forms.CharField(label=_("City"), max_length=100, required=False)
    preset = forms.ChoiceField(
        label=_("Playbook"),
        widget=forms.RadioSelect,
        initial="de-b2b",
        help_text=_("The steps of your reminders; you can change them later on the playbooks page."),
    )

    company_fields = (
        "name",
        "country",
        "jurisdiction",
        "currency",
        "default_language",
        "iban",
        "bic",
        "email",
        "collections_email",
        "street",
        "postcode",
        "city",
    )

    def __init__(self, *args: Any, language: str = "en", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        country = self.fields["country"]
        assert isinstance(country, forms.ChoiceField)
        country.choices = country_choices(language)
        preset = self.fields["preset"]
        assert isinstance(preset, forms.ChoiceField)
        preset.choices = preset_choices()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password1") and data.get("password2") and data["password1"] != data["password2"]:
            self.add_error("password2", _("The two passwords differ."))
        return data

    def company_values(self) -> dict[str, Any]:
        return {name: self.cleaned_data.get(name) or None for name in self.company_fields}

    def add_setup_errors(self, errors: dict[str, list[str]]) -> None:
        """Put each error a setup service raised next to its field (or above the form)."""
        for name, messages in errors.items():
            field = FORM_FIELD_OF.get(name, name)
            target = field if field in self.fields and name != ALL_FIELDS else None
            for message in messages:
                self.add_error(target, ValidationError(message))

    def sections(self) -> list[tuple[str, list[forms.BoundField]]]:
        """The fields in groups, each shown under its heading."""
        groups = [
            (_("You: the first administrator"), ("username", "password1", "password2")),
            (
                _("Your company"),
                ("name", "country", "jurisdiction", "currency", "default_language", "iban", "bic"),
            ),
            (_("Email and address"), ("email", "collections_email", "street", "postcode", "city")),
        ]
        return [(str(title), [self[name] for name in names]) for title, names in groups]

    def preset_options(self) -> list[dict[str, Any]]:
        """Each playbook preset's radio button with the description of its steps."""
        return [
            {"radio": radio, "description": PRESETS[str(radio.data["value"])].description}
            for radio in self["preset"]
        ]
