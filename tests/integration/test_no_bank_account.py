"""A company that takes no bank transfers sets up without an IBAN; its messages then carry no bank details and no
payment code — never an empty IBAN line or a crash — and everything else works as before."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from mahnwerk.comms.compose import epc_payload
from mahnwerk.comms.letters import render_letter_html
from mahnwerk.comms.rendering import message_item, reminder_context
from mahnwerk.comms.templates_store import letter_context, render_message, shipped_templates
from mahnwerk.ledger.claims import claim_views
from mahnwerk.ledger.models import Company

pytestmark = pytest.mark.django_db

D = date.fromisoformat
DEADLINE_DAYS = {"pre_due": 0, "reminder": 10, "firm_reminder": 10, "final_notice": 7, "thank_you": 0}


def cli(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_a_company_is_created_without_an_iban() -> None:
    created = json.loads(
        cli("company", "create", "bar", "--name", "Bar Kasse GmbH", "--country", "DE", "--json")
    )
    assert created["iban"] == ""
    company = Company.objects.get(slug="bar")
    assert company.iban == "" and company.playbooks.exists()
    # and an IBAN given later is still checked, and can be taken away again
    cli("company", "update", "bar", "--iban", "DE89 3704 0044 0532 0130 00")
    assert Company.objects.get(slug="bar").iban == "DE89370400440532013000"
    cli("company", "update", "bar", "--iban", "")
    assert Company.objects.get(slug="bar").iban == ""


@pytest.fixture
def no_bank(company: Any) -> Any:
    company.iban = ""
    company.bic = ""
    company.save()
    return company


@pytest.fixture
def debtors(make_debtor: Callable[..., Any], make_invoice: Callable[..., Any]) -> dict[str, Any]:
    made = {}
    for language in ("de", "lv", "en"):
        debtor = make_debtor(name="Bäckerei Schröder KG", language=language)
        make_invoice(debtor, f"RE-{debtor.number}-1", "1200.00", "2026-03-01")
        make_invoice(debtor, f"RE-{debtor.number}-2", "345.67", "2026-03-05")
        made[language] = debtor
    return made


def test_every_shipped_message_goes_without_bank_details(no_bank: Any, debtors: dict[str, Any]) -> None:
    as_of = D("2026-03-20")
    for kind, name, tone, language in shipped_templates():
        debtor = debtors[language]
        invoices = list(debtor.invoices.order_by("due_date"))
        claims = claim_views(no_bank, invoices, {debtor.pk: debtor.kind}, as_of)
        items = [message_item(i, claims.get(i.pk), i.open_minor) for i in invoices]
        days = DEADLINE_DAYS[name]
        deadline = as_of + timedelta(days=days) if days else None
        context = reminder_context(no_bank, debtor, items, deadline, as_of, language)
        rendered = render_message(no_bank, debtor, name, tone, language, kind, context)
        where = f"{kind}/{name}.{tone}.{language}"
        text = rendered.body_text
        assert "IBAN" not in text and "BIC" not in text, (where, text)
        assert "konts" not in text.lower(), (where, text)  # Latvian: "account"
        assert " ," not in text and ", ." not in text and ",." not in text, (where, text)
        if kind == "email" and name != "thank_you":
            assert context["reference"] in text, where  # the reference stays
            assert "Account holder" not in text and "Kontoinhaber" not in text, where
        if kind == "letter":
            ctx = letter_context(no_bank, debtor, rendered, items, deadline, as_of, language)
            assert ctx.qr_payload is None, where
            html = render_letter_html(ctx)
            assert "IBAN" not in html and "EPC QR" not in html, where
    assert epc_payload(no_bank, items, "RE-1") is None


def test_the_bank_block_names_the_reference_alone(no_bank: Any, debtors: dict[str, Any]) -> None:
    debtor = debtors["en"]
    invoices = list(debtor.invoices.order_by("due_date"))
    items = [message_item(i, None, i.open_minor) for i in invoices]
    context = reminder_context(no_bank, debtor, items, None, D("2026-03-20"), "en")
    assert context["bank_block"] == f"Payment reference: {context['reference']}"


def test_the_debtors_page_shows_no_bank_account(client: Any, no_bank: Any, debtors: dict[str, Any]) -> None:
    from mahnwerk.web.portal.links import portal_path

    page = client.get(portal_path(debtors["en"]))
    assert page.status_code == 200
    content = page.content.decode()
    assert "IBAN" not in content and "Account holder" not in content
    assert "Payment reference" in content


def test_the_latvian_warning_letter_names_no_account(
    no_bank: Any, make_debtor: Any, make_invoice: Any
) -> None:
    from mahnwerk.escalation.court import lv_warning

    debtor = make_debtor(
        name="Baltijas Koks SIA", kind="business", country="LV", street="Brīvības iela 100",
        postcode="LV-1011", city="Rīga", time_zone="Europe/Riga", jurisdiction="DE",
    )  # fmt: skip
    make_invoice(debtor, "RE-500", "1234.56", "2025-03-03", issue="2025-02-01")
    text = lv_warning(no_bank, debtor, D("2025-08-15"))["warning_letter"]["text"]
    assert "uz kontu" not in text and "līdz 25.08.2025, norādot rēķinu numurus (RE-500)" in text, text


def test_statements_need_an_account_registered_first(no_bank: Any) -> None:
    from pathlib import Path

    from mahnwerk.ledger.models import BankAccount
    from mahnwerk.ledger.statements import add_bank_account, import_statements

    camt = Path(__file__).parent.parent / "data" / "bank" / "handmade_camt053.001.08.xml"
    result = import_statements(no_bank, [camt])
    assert any("register it with 'mahnwerk accounts add'" in e for e in result.errors), result.errors
    assert not BankAccount.objects.filter(company=no_bank).exists()  # no account made up from an empty IBAN
    add_bank_account(no_bank, iban="DE89370400440532013000")
    assert import_statements(no_bank, [camt]).errors == []
