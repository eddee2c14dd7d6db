"""The company settings page sets how often business customers get a statement of account (0: none)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_the_settings_page_sets_the_statement_interval(alice: Client, company: Any) -> None:
    response = alice.get("/settings/")
    form = response.context["form"]
    assert "statement_interval_months" in form.fields and form.initial["statement_interval_months"] == 1
    assert 'name="statement_interval_months"' in response.content.decode()
    data = {k: ("" if v is None else v) for k, v in form.initial.items() if k in form.fields}
    refused = alice.post("/settings/", data | {"statement_interval_months": "13"})
    assert refused.status_code == 200 and set(refused.context["form"].errors) == {"statement_interval_months"}
    assert alice.post("/settings/", data | {"statement_interval_months": "0"}).status_code == 302
    company.refresh_from_db()
    assert company.statement_interval_months == 0
