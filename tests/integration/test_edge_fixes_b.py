"""Settings and case-file values a person can type but no business has: a cadence of 999999999999 days (it was
saved, and every run failed after), a letter under way for years, a country "XX" (the API and the import
refuse it; the forms took it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

pytestmark = pytest.mark.django_db

COUNTRY_REFUSED = "not a two-letter country code (ISO 3166): 'XX'"


def _client(company: Any, username: str, role: str) -> Client:
    from django.contrib.auth import get_user_model

    from mahnwerk.web.models import Membership

    user = get_user_model().objects.create_user(username=username, password="correct-horse-battery")
    Membership.objects.create(user=user, company=company, role=role)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def admin(company: Any) -> Client:
    return _client(company, "alice", "admin")


@pytest.fixture
def collector(company: Any) -> Client:
    return _client(company, "bob", "collector")


def _settings(admin: Client, **changes: str) -> dict[str, Any]:
    form = admin.get("/settings/").context["form"]
    data = {k: ("" if v is None else v) for k, v in form.initial.items() if k in form.fields}
    return data | changes


# -- day counts of the company ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("cadence_days", "999999999999"),
        ("cadence_days", "366"),
        ("cadence_days", "0"),
        ("letter_delivery_days", "999999999999"),
        ("letter_delivery_days", "31"),
        ("letter_delivery_days", "0"),
        ("statement_interval_months", "13"),
    ],
)
def test_settings_refuse_a_day_count_beyond_its_limit(
    admin: Client, company: Any, field: str, value: str
) -> None:
    from mahnwerk.ledger.models import Company

    before = getattr(company, field)
    response = admin.post("/settings/", _settings(admin, **{field: value}))
    assert response.status_code == 200  # the page again, with the error next to the field
    assert list(response.context["form"].errors) == [field]
    assert getattr(Company.objects.get(pk=company.pk), field) == before
    # and the run still works
    assert admin.get("/run/").status_code == 200


def test_settings_take_the_largest_day_counts_and_the_form_names_the_limits(
    admin: Client, company: Any
) -> None:
    form = admin.get("/settings/").context["form"]
    limits = {
        f: (form.fields[f].min_value, form.fields[f].max_value)
        for f in ("cadence_days", "letter_delivery_days")
    }
    assert limits == {"cadence_days": (1, 365), "letter_delivery_days": (1, 30)}
    page = admin.get("/settings/").content.decode()
    assert 'max="365"' in page and 'max="30"' in page
    response = admin.post("/settings/", _settings(admin, cadence_days="365", letter_delivery_days="30"))
    assert response.status_code == 302
    company.refresh_from_db()
    assert (company.cadence_days, company.letter_delivery_days) == (365, 30)
    assert admin.get("/run/").status_code == 200


def test_the_error_says_the_limit(admin: Client) -> None:
    response = admin.post("/settings/", _settings(admin, cadence_days="999999999999"))
    assert "365" in " ".join(response.context["form"].errors["cadence_days"])


def test_the_model_refuses_them_for_every_path_that_validates(company: Any) -> None:
    """``full_clean`` is what ``ledger.setup`` (the ``company`` command) and the admin run."""
    company.cadence_days = 999999999999
    company.letter_delivery_days = 31
    with pytest.raises(ValidationError) as refused:
        company.full_clean()
    assert set(refused.value.message_dict) == {"cadence_days", "letter_delivery_days"}


def test_the_company_command_refuses_a_statement_interval_beyond_a_year(company: Any) -> None:
    from mahnwerk.ledger.setup import SetupError, update_company

    with pytest.raises(SetupError):
        update_company(company, statement_interval_months="13")
    company.refresh_from_db()
    assert company.statement_interval_months == 1


# -- country codes -------------------------------------------------------------------------------------------


def _details(debtor: Any, **changes: str) -> dict[str, str]:
    fields = {
        "name": debtor.name,
        "kind": debtor.kind,
        "language": debtor.language,
        "country": debtor.country,
        "jurisdiction": debtor.jurisdiction,
        "street": debtor.street,
        "postcode": debtor.postcode,
        "city": debtor.city,
    }
    return {f"details-{k}": v for k, v in (fields | changes).items()}


def test_the_case_file_refuses_a_country_no_country_has(
    collector: Client, make_debtor: Callable[..., Any]
) -> None:
    debtor = make_debtor(name="Anna Schulz", kind="consumer", country="DE")
    url = f"/debtors/{debtor.pk}/details"
    response = collector.post(url, _details(debtor, country="XX"))
    assert response.status_code == 422
    assert response.context["details_form"].errors["country"] == [COUNTRY_REFUSED]
    debtor.refresh_from_db()
    assert debtor.country == "DE"
    # a code in lower case is the country's, as in a file
    assert collector.post(url, _details(debtor, country="lv")).status_code == 302
    debtor.refresh_from_db()
    assert debtor.country == "LV"
    # no country at all stays allowed
    assert collector.post(url, _details(debtor, country="")).status_code == 302
    debtor.refresh_from_db()
    assert debtor.country == ""


def test_the_settings_refuse_a_country_no_country_has(admin: Client, company: Any) -> None:
    response = admin.post("/settings/", _settings(admin, country="XX"))
    assert response.status_code == 200
    assert response.context["form"].errors["country"] == [COUNTRY_REFUSED]
    company.refresh_from_db()
    assert company.country == "DE"
    assert admin.post("/settings/", _settings(admin, country="lv")).status_code == 302
    company.refresh_from_db()
    assert company.country == "LV"


def test_the_forms_refuse_what_the_import_refuses(company: Any) -> None:
    from mahnwerk.ledger.imports import ImportFailed, import_debtors
    from mahnwerk.web.forms import CompanyForm, DebtorDetailsForm

    with pytest.raises(ImportFailed) as refused:
        import_debtors(company, [(2, {"number": "K1", "name": "X GmbH", "country": "XX"})], dry_run=True)
    assert COUNTRY_REFUSED in str(refused.value)
    details = DebtorDetailsForm({"country": "XX"})
    settings = CompanyForm({"country": "xx"}, instance=company)
    assert details.errors["country"] == settings.errors["country"] == [COUNTRY_REFUSED]
