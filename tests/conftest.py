"""Shared fixtures: a creditor company, debtors and invoices built through the service functions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

D = date.fromisoformat


@pytest.fixture(scope="session", autouse=True)
def _a_data_directory_of_the_tests_own(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The tests never write into the data directory of the checkout (``./data``, where ``mahnwerk demo`` and a
    user's own company live): outbox, SMS files, letters and documents, rates, mappings and saved models go to a
    temporary one. A test may still point a setting elsewhere with the ``settings`` fixture."""
    from django.conf import settings
    from django.test.utils import override_settings

    root = tmp_path_factory.mktemp("data")
    storages = {
        **settings.STORAGES,
        "default": {**settings.STORAGES["default"], "OPTIONS": {"location": root / "documents"}},
    }
    mailers = {
        name: {**mailer, "OPTIONS": {**mailer.get("OPTIONS", {}), "file_path": str(root / "outbox")}}
        if mailer.get("BACKEND", "").endswith("OutboxFolderBackend")
        else mailer
        for name, mailer in settings.MAILERS.items()
    }
    with override_settings(
        DATA_DIR=root,
        OUTBOX_DIR=root / "outbox",
        DOCUMENTS_DIR=root / "documents",
        STATIC_ROOT=root / "static",
        STORAGES=storages,
        MAILERS=mailers,
    ):
        yield root


@pytest.fixture(autouse=True)
def _language_of_each_test_its_own() -> Any:
    """A request through the test client leaves its language active in the thread: reset it after every test,
    so that no test depends on the language another one left behind."""
    from django.utils import translation

    yield
    translation.deactivate()


@pytest.fixture
def outbox(settings: Any, tmp_path: Path) -> Path:
    """An empty outbox folder for this test; messages land in <outbox>/<company slug>/."""
    settings.MAILERS = {
        "default": {
            "BACKEND": "mahnwerk.comms.backends.OutboxFolderBackend",
            "OPTIONS": {"file_path": str(tmp_path / "outbox")},
        }
    }
    return tmp_path / "outbox"


@pytest.fixture
def company(db: None, outbox: Path) -> Any:
    from django.core.cache import cache

    from mahnwerk.collection.services import ensure_default_playbook
    from mahnwerk.comms.templates_store import forget_cached_templates
    from mahnwerk.ledger.models import Company

    cache.clear()  # ids repeat from test to test: nothing computed for an earlier test's ledger may be reused
    # nor an earlier test's edited templates (a clock frozen by the test gives the new company the same
    # creation time, the guard of the process's template cache)
    forget_cached_templates()

    c = Company.objects.create(
        slug="acme",
        name="Acme Werkzeug GmbH",
        street="Hauptstraße 1",
        postcode="10115",
        city="Berlin",
        country="DE",
        iban="DE89370400440532013000",
        bic="COBADEFFXXX",
        jurisdiction="DE",
        time_zone="Europe/Berlin",
        default_language="de",
        currency="EUR",
        email="buchhaltung@acme.example",
        phone="+49 30 5550100",
        collections_email="forderungen@acme.example",
        collections_phone="+49 30 5550120",
        sms_sender="AcmeWerkzeu",
        legal_form="GmbH",
        register_court="Amtsgericht Charlottenburg",
        register_number="HRB 204711 B",
        managing_directors="Anna Acker",
        vat_id="DE811907980",
    )
    ensure_default_playbook(c)
    return c


@pytest.fixture
def make_debtor(company: Any) -> Callable[..., Any]:
    from mahnwerk.ledger.models import Contact, Debtor

    counter = iter(range(1, 10_000))

    def make(
        name: str = "", language: str = "de", email: str | None = "ap@{n}.example", **fields: Any
    ) -> Any:
        n = next(counter)
        debtor = Debtor.objects.create(
            company=fields.pop("company", company),
            number=fields.pop("number", f"K{n:04d}"),
            name=name or f"Kunde {n} GmbH",
            language=language,
            jurisdiction=fields.pop("jurisdiction", "DE"),
            time_zone=fields.pop("time_zone", "Europe/Berlin"),
            **fields,
        )
        if email:
            Contact.objects.create(debtor=debtor, kind="email", value=email.format(n=n), is_primary=True)
        return debtor

    return make


@pytest.fixture
def make_invoice(company: Any) -> Callable[..., Any]:
    from mahnwerk.ledger.models import Invoice
    from mahnwerk.ledger.services import create_invoices

    def make(debtor: Any, number: str, amount: str, due: str, issue: str | None = None, **fields: Any) -> Any:
        from mahnwerk.core.money import to_minor

        currency = fields.pop("currency", "EUR")
        minor = to_minor(amount, currency)
        due_date = D(due)
        issue_date = D(issue) if issue else date.fromordinal(due_date.toordinal() - 30)
        inv = Invoice(
            company=debtor.company,
            debtor=debtor,
            number=number,
            issue_date=issue_date,
            due_date=due_date,
            amount_minor=minor,
            open_minor=minor,
            currency=currency,
            reference=number,
            **fields,
        )
        return create_invoices(debtor.company, [inv])[0]

    return make


@pytest.fixture
def pay(company: Any) -> Callable[..., Any]:
    from mahnwerk.core.money import to_minor
    from mahnwerk.ledger.services import Receipt, record_payment

    def make(debtor: Any, amount: str, on: str, reference: str = "", invoice: Any = None) -> Any:
        return record_payment(
            debtor.company,
            Receipt(
                debtor.pk,
                to_minor(amount, "EUR"),
                "EUR",
                D(on),
                reference,
                debtor.name,
                invoice.pk if invoice is not None else None,
            ),
        )

    return make


@pytest.fixture
def rated(company: Any) -> Callable[..., Any]:
    """Store a debtor's segment as the insights refresh would: a test about something else then gets the
    terms of that segment, not those its short made-up history would give it (the segment is otherwise
    chosen from the history so far, ``insights.services.provisional_segments``)."""
    from mahnwerk.insights.models import DebtorInsight

    def make(debtor: Any, segment: str = "normal") -> Any:
        return DebtorInsight.objects.update_or_create(
            debtor=debtor,
            defaults={
                "company": debtor.company,
                "as_of": D("2020-01-01"),
                "segment": segment,
                "segment_label": segment.title(),
            },
        )[0]

    return make


@pytest.fixture
def api_post(client: Any, company: Any) -> Callable[[str, Any], Any]:
    """POST JSON to ``/api/<path>`` as an administrator of ``company`` (a bearer token of its own)."""
    import json

    from django.contrib.auth import get_user_model

    from mahnwerk.api.models import ApiToken
    from mahnwerk.web.models import Membership

    user = get_user_model().objects.create_user(username="api-admin", password="x")
    Membership.objects.create(user=user, company=company, role="admin")
    _token, key = ApiToken.issue(user, company, "api-admin token")

    def post(path: str, body: Any) -> Any:
        return client.post(
            f"/api/{path}",
            json.dumps(body),
            content_type="application/json",
            headers={"Authorization": f"Bearer {key}"},
        )

    return post
