"""The run page marks the debtors whose messages wait for a person's approval, with the reason, and still shows
their step and amount (approving is then an informed decision); the API's dry run says the same."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from mahnwerk.collection.models import Action
from mahnwerk.ledger.models import BankAccount, BankStatement

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]  # Friday 20 November 2026


def test_the_run_page_marks_the_debtors_waiting_for_a_current_bank_statement(
    bob: Client, company: Any, make_debtor: Callable[..., Any], make_invoice: Callable[..., Any]
) -> None:
    mueller = make_debtor(name="Bäckerei Müller", number="K0001")
    make_invoice(mueller, "R-100", "1000.00", "2026-10-01")
    account, _ = BankAccount.objects.get_or_create(company=company, iban=company.iban)
    BankStatement.objects.create(  # Tuesday 10 November: more than two business days old
        company=company, account=account, statement_id="S-1", format="camt.053", to_date="2026-11-10"
    )
    response = bob.get("/run/")
    row = next(r for r in response.context["rows"] if r["debtor"].pk == mueller.pk)
    assert row["kind"] == "due" and row["waits_for_approval"] == "bank_not_current"
    assert row["totals"] == [("EUR", 100_000)] and row["level"] >= 1
    page = response.content.decode()
    assert 'data-waits="bank_not_current"' in page and "Waits for approval" in page
    assert "The newest bank statement is more than two business days old" in page
    assert "waiting for approval: 1" in page  # the summary above the rows
    assert f'value="{mueller.pk}" form="approve-form"' in page  # it can be ticked and approved
    assert Action.objects.count() == 0

    # with a current statement the next reason shows: R-100 has been in default since October, and the
    # packaged base-rate table knows no rate from 1 July 2026 (see tests/scenarios/test_missing_rate.py)
    BankStatement.objects.create(
        company=company, account=account, statement_id="S-2", format="camt.053", to_date="2026-11-19"
    )
    page = bob.get("/run/").content.decode()
    assert 'data-waits="bank_not_current"' not in page and 'data-waits="rate_missing"' in page
    assert "claim interest for days without a known rate" in page


def test_the_run_page_reuses_its_dry_run_and_decides_again_only_what_a_change_touched(
    bob: Client,
    company: Any,
    make_debtor: Callable[..., Any],
    make_invoice: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mahnwerk.collection import runs
    from mahnwerk.collection.models import Step

    mueller = make_debtor(name="Bäckerei Müller", number="K0001")
    make_invoice(mueller, "R-100", "1000.00", "2026-11-01")
    calls: list[tuple[Any, ...]] = []
    original = runs.preview_run

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(runs, "preview_run", counted)
    for query in ("", "?show=all", "?q=Müller", "?page=1"):  # paging and filtering: one dry run
        assert bob.get("/run/" + query).status_code == 200
    assert len(calls) == 1
    # a new invoice (the ledger): only its debtor is decided again, the preview shows it
    weber = make_debtor(name="Weber KG", number="K0003")
    make_invoice(weber, "R-300", "600.00", "2026-10-15")
    rows = bob.get("/run/").context["rows"]
    assert len(calls) == 1 and {r["debtor"].number for r in rows} == {"K0001", "K0003"}
    # a step's deadline (the settings): everything is decided again
    Step.objects.filter(playbook__company=company).update(deadline_days=21)
    bob.get("/run/")
    assert len(calls) == 2
    # a debtor left out: only that debtor
    bob.post("/run/leave-out", {"debtor": weber.pk})
    rows = bob.get("/run/").context["rows"]
    assert len(calls) == 2 and {r["debtor"].number: r["kind"] for r in rows}["K0003"] == "excluded"
    bob.get("/run/?show=held")
    assert len(calls) == 2


def test_the_api_dry_run_says_which_debtors_wait_and_why(
    client: Client, company: Any, make_debtor: Callable[..., Any], make_invoice: Callable[..., Any]
) -> None:
    import json

    from django.contrib.auth import get_user_model

    from mahnwerk.api.models import ApiToken
    from mahnwerk.web.models import Membership

    user = get_user_model().objects.create_user(username="vera", password="x")
    Membership.objects.create(user=user, company=company, role="viewer")
    _token, key = ApiToken.issue(user, company, "vera token")
    mueller = make_debtor(name="Bäckerei Müller", number="K0001")
    make_invoice(mueller, "R-100", "1000.00", "2026-10-01")  # in default since October: no rate from July
    response = client.post(
        "/api/runs",
        json.dumps({"dry_run": True}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 200
    data = response.json()
    (entry,) = data["plan"]
    assert entry["debtor_id"] == mueller.pk and entry["waits_for_approval"] == "rate_missing"
    assert "without a known rate" in entry["waits_reason"]
    assert data["awaiting_approval"] == 1 and data["debtors_due"] == 1
    assert Action.objects.count() == 0
