"""The REST API fuzzed against its own OpenAPI document (schemathesis): for every operation, requests that fit
the document and requests that do not, sent in-process through the whole Django stack as one company's user.
Never a 5xx; every answer has a documented status code, content type and body; a refusal (422) says where the
problem is, and a refused request writes nothing."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig

pytestmark = pytest.mark.django_db

OPENAPI = "/api/openapi.json"
# the same seed every run: CI fuzzes what a developer fuzzed
SEED = 20260301
# the keys the fixture gives the company user's token and the partner: schemathesis sends them itself, so it
# knows which header is the authentication (and checks that requests without it are refused)
COMPANY_KEY = "fuzz-" + secrets.token_urlsafe(24)
PARTNER_KEY = "mwp_fuzz-" + secrets.token_urlsafe(24)

# Operations that answer 422 to some requests the document allows, because the rule is one JSON Schema cannot
# state (it needs the ledger, or the import's spelling rules). For them a 422 is an accepted answer to a
# schema-valid request; every other status the positive-data check refuses (400, 405, ...) still fails, and
# the 422 must still name the field (``_refusals_say_where``).
RULES_BEYOND_THE_SCHEMA = {
    "POST /api/debtors": "number unused, kind/language/channel/salutation/time zone spelled as the import takes them",
    "POST /api/invoices": "the debtor exists, the number is unused, the due date is not before the issue date",
    "POST /api/payments": "the debtor exists; the invoice named is the debtor's",
    "POST /api/runs": "the ids to leave out or to approve are the company's",
    "POST /api/debtors/{debtor_id}/send-now": "the debtor has a next step and has not had one today",
    "POST /api/debtors/{debtor_id}/promises": "the date is not past, the items are not covered by a promise",
    "POST /api/debtors/{debtor_id}/disputes": "the reason is one the ledger knows, the amount not above the item",
    "POST /api/debtors/{debtor_id}/agreements/{kind}/{agreement_id}/cancel": "the agreement can be cancelled",
    "GET /api/kpi": "the period does not end before it starts",
    "GET /api/work/queue": "kind is a kind of work",
    "POST /api/work/assign": "the user is a collector or administrator of the company",
    "POST /api/partners/status": "amounts fit the status (e.g. the fee not above the amount collected)",
}
# schemathesis's default for the positive-data check, and 422
ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"]

# Bugs the fuzzing found outside the API, left to their owners; strict, so the test says when one is fixed.
KNOWN_BUGS: dict[str, str] = {}  # operation -> the bug it meets (a strict xfail until fixed)


@pytest.fixture
def _requests_inside_the_test_transaction() -> Iterator[None]:
    """The WSGI handler closes "old" connections when a request starts and ends; inside the test's transaction
    that would close it. Django's own test client disconnects the same handler around each request."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def _known_bug(request: pytest.FixtureRequest) -> None:
    for label, bug in KNOWN_BUGS.items():
        if request.node.name.endswith(f"[{label}]"):
            request.node.add_marker(pytest.mark.xfail(reason=bug, strict=True))


@pytest.fixture
def ledger(
    settings: Any, tmp_path: Path, company: Any, make_debtor: Any, make_invoice: Any, pay: Any
) -> dict[str, Any]:
    """One company with a few debtors, open and paid invoices, a promise and a partner handover; the company
    administrator's token and the partner's token."""
    from django.contrib.auth import get_user_model

    from mahnwerk.api.models import ApiToken, hash_key
    from mahnwerk.collection import agreements
    from mahnwerk.ledger.services import company_today
    from mahnwerk.partners import services as partners
    from mahnwerk.web.models import Membership

    settings.STORAGES = settings.STORAGES | {
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "files"},
        }
    }
    today = company_today(company)

    def ago(days: int) -> str:
        return (today - timedelta(days=days)).isoformat()

    debtors = [make_debtor(), make_debtor(kind="consumer"), make_debtor(email=None), make_debtor()]
    invoices = []
    for n, debtor in enumerate(debtors):
        invoices.append(make_invoice(debtor, f"RE-{n}-1", "1200.00", ago(70), issue=ago(100)))
        invoices.append(make_invoice(debtor, f"RE-{n}-2", "80.50", ago(20), issue=ago(50)))
    pay(debtors[0], "80.50", ago(10), invoice=invoices[1])
    agreements.record_promise(company, debtors[1], [invoices[2].pk], today + timedelta(days=14), actor="test")
    partner, _key = partners.add_partner(company, "Inkasso Nord", "agency", Decimal("20"))
    partner.api_token_hash = hash_key(PARTNER_KEY)
    partner.save(update_fields=["api_token_hash"])
    partners.hand_over(company, debtors[3], partner, today - timedelta(days=5))

    user = get_user_model().objects.create_user(username="fuzzer", password="x")
    Membership.objects.create(user=user, company=company, role="admin")
    ApiToken.objects.create(user=user, company=company, name="schemathesis", key_hash=hash_key(COMPANY_KEY))
    return {"debtor_ids": [d.pk for d in debtors]}


def _load_schema() -> Any:
    """The OpenAPI document as the application serves it (nothing in it comes from the database), with the
    application to send the requests to: every request goes through the whole Django stack, in-process."""
    from django.core.handlers.wsgi import WSGIHandler
    from django.utils import translation

    operations = [
        {
            "include-name": name,
            "checks": {"positive_data_acceptance": {"expected-statuses": ACCEPTED}},
        }
        for name in RULES_BEYOND_THE_SCHEMA
    ]
    auth = {"openapi": {"TokenAuth": {"bearer": COMPANY_KEY}, "PartnerAuth": {"bearer": PARTNER_KEY}}}
    config = SchemathesisConfig.from_dict({"seed": SEED, "auth": auth, "operations": operations})
    loaded = schemathesis.openapi.from_wsgi(OPENAPI, WSGIHandler(), config=config)
    translation.deactivate()  # the request left its language active: no test starts in it
    return loaded


# Loaded while the tests are collected, one test per operation. (``schemathesis.pytest.from_fixture`` would
# load it per test, but it sets ``request.node._nodeid``, which pytest 9 no longer has.)
schema = _load_schema()


def _refusals_say_where(ctx: Any, response: Any, case: Any) -> None:
    """A 422 lists its problems, each with where it is (``loc``) and what is wrong (``msg``)."""
    if response.status_code != 422:
        return
    detail = response.json()["detail"]
    assert isinstance(detail, list) and detail, f"a 422 without a list of problems: {detail!r}"
    for problem in detail:
        assert problem.get("loc") and problem.get("msg"), (
            f"a problem without its place or message: {problem!r}"
        )


def _rows() -> dict[str, int]:
    from mahnwerk.collection.agreements_models import Dispute, Promise
    from mahnwerk.collection.models import Action
    from mahnwerk.ledger.models import Debtor, Invoice, Payment
    from mahnwerk.partners.models import StatusReport

    models = (Debtor, Invoice, Payment, Promise, Dispute, Action, StatusReport)
    return {m.__name__: m.objects.count() for m in models}


@schema.parametrize()
@schema.given(pick=st.integers(min_value=0, max_value=4))
@settings(
    max_examples=20,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_api_answers_as_its_openapi_document_says(
    _requests_inside_the_test_transaction: None,
    _known_bug: None,
    ledger: dict[str, Any],
    case: Any,
    pick: int,
) -> None:
    # a random id is almost never the company's: most of the time, ask about one of its debtors instead
    path = case.path_parameters
    if path and isinstance(path.get("debtor_id"), int) and pick:
        path["debtor_id"] = ledger["debtor_ids"][pick - 1]
    before = _rows()
    response = case.call_and_validate(additional_checks=[_refusals_say_where])
    if response.status_code >= 400:
        assert _rows() == before, f"{response.status_code} but something was written"
