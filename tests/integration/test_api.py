"""The REST API under /api/: tokens, roles, company scoping, and that each endpoint does what its service does."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest

D = date.fromisoformat


def _member(company: Any, username: str, role: str) -> str:
    from django.contrib.auth import get_user_model

    from mahnwerk.api.models import ApiToken
    from mahnwerk.web.models import Membership

    user = get_user_model().objects.create_user(username=username, password="x")
    Membership.objects.create(user=user, company=company, role=role)
    _token, key = ApiToken.issue(user, company, f"{username} token")
    return key


@pytest.fixture
def other_company(db: None) -> Any:
    from mahnwerk.collection.services import ensure_default_playbook
    from mahnwerk.ledger.models import Company

    c = Company.objects.create(
        slug="baltic",
        name="Baltic Trade SIA",
        street="Brīvības iela 1",
        postcode="LV-1010",
        city="Rīga",
        country="LV",
        iban="LV80BANK0000435195001",
        bic="BANKLV2X",
        jurisdiction="LV",
        time_zone="Europe/Riga",
        default_language="lv",
        currency="EUR",
        email="gramatvediba@baltic.example",
    )
    ensure_default_playbook(c)
    return c


class Api:
    """The Django test client speaking JSON with a bearer token."""

    def __init__(self, client: Any, key: str | None) -> None:
        self.client = client
        self.key = key

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"} if self.key is not None else {}

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(f"/api/{path}", params, headers=self._headers())

    def post(self, path: str, body: Any) -> Any:
        return self.client.post(
            f"/api/{path}", json.dumps(body), content_type="application/json", headers=self._headers()
        )


@pytest.fixture
def admin(client: Any, company: Any) -> Api:
    return Api(client, _member(company, "anna", "admin"))


@pytest.fixture
def viewer(client: Any, company: Any) -> Api:
    return Api(client, _member(company, "viktor", "viewer"))


# --- authentication and roles -------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_token_is_required(client: Any, company: Any, admin: Api) -> None:
    for path in ("debtors", "kpi", "worklist"):
        assert Api(client, None).get(path).status_code == 401
        assert Api(client, "mw_not-a-real-token").get(path).status_code == 401
        assert Api(client, f"{admin.key}x").get(path).status_code == 401
    assert Api(client, None).post("invoices", []).status_code == 401
    assert admin.get("debtors").status_code == 200


@pytest.mark.django_db
def test_only_the_hash_is_stored_and_use_is_noted(admin: Api) -> None:
    from mahnwerk.api.models import ApiToken

    token = ApiToken.objects.get()
    assert admin.key is not None and admin.key not in token.key_hash
    assert token.last_used_at is None
    admin.get("debtors")
    token.refresh_from_db()
    assert token.last_used_at is not None


@pytest.mark.django_db
def test_a_token_dies_with_the_membership(admin: Api) -> None:
    from mahnwerk.web.models import Membership

    Membership.objects.all().delete()
    assert admin.get("debtors").status_code == 401


@pytest.mark.django_db
def test_a_viewer_reads_but_cannot_write(
    viewer: Api, make_debtor: Callable[..., Any], make_invoice: Callable[..., Any]
) -> None:
    from mahnwerk.ledger.models import Invoice, Payment

    debtor = make_debtor(number="K1")
    inv = make_invoice(debtor, "R-1", "100.00", "2030-01-31", issue="2030-01-01")
    assert viewer.get("debtors").status_code == 200
    assert viewer.get(f"debtors/{debtor.pk}").status_code == 200
    invoice = {"number": "R-2", "debtor": "K1", "issue_date": "2030-01-01", "due_date": "2030-01-31"}
    writes = [
        ("invoices", [invoice | {"amount_minor": 100}]),
        ("payments", [{"debtor": "K1", "amount_minor": 100, "value_date": "2030-01-02"}]),
        ("runs", {"as_of": "2030-03-01"}),
        (f"debtors/{debtor.pk}/promises", {"promised_date": "2030-02-15"}),
        (f"debtors/{debtor.pk}/disputes", {"invoice_id": inv.pk, "reason": "wrong_invoice"}),
    ]
    for path, body in writes:
        assert viewer.post(path, body).status_code == 403, path
    assert Invoice.objects.count() == 1
    assert Payment.objects.count() == 0


# --- one company never sees another's -----------------------------------------------------------------


@pytest.mark.django_db
def test_every_object_of_another_company_is_404(
    admin: Api,
    other_company: Any,
    make_debtor: Callable[..., Any],
    make_invoice: Callable[..., Any],
) -> None:
    from mahnwerk.collection.agreements_models import Dispute, Promise

    mine = make_debtor(number="K1", name="Eigene GmbH")
    theirs = make_debtor(number="K1", name="Svešs SIA", company=other_company, jurisdiction="LV")
    their_invoice = make_invoice(theirs, "LV-1", "300.00", "2026-01-31", issue="2026-01-01")
    my_invoice = make_invoice(mine, "R-1", "300.00", "2026-01-31", issue="2026-01-01")

    assert admin.get(f"debtors/{theirs.pk}").status_code == 404
    assert admin.get(f"debtors/{theirs.pk}/statement", date="2026-02-01").status_code == 404
    soon = (date.today() + timedelta(days=14)).isoformat()
    assert admin.post(f"debtors/{theirs.pk}/promises", {"promised_date": soon}).status_code == 404
    dispute = {"invoice_id": their_invoice.pk, "reason": "wrong_invoice"}
    assert admin.post(f"debtors/{theirs.pk}/disputes", dispute).status_code == 404
    # the other company's invoice under one's own debtor is not found either
    assert admin.post(f"debtors/{mine.pk}/disputes", dispute).status_code == 404
    promise = {"promised_date": soon, "invoice_ids": [their_invoice.pk]}
    assert admin.post(f"debtors/{mine.pk}/promises", promise).status_code == 422
    assert not Promise.objects.exists() and not Dispute.objects.exists()
    # a payment by debtor number reaches only one's own debtor K1
    paid = admin.post("payments", [{"debtor": "K1", "amount_minor": 100_00, "value_date": "2026-01-10"}])
    assert paid.status_code == 201
    their_invoice.refresh_from_db()
    my_invoice.refresh_from_db()
    assert (their_invoice.open_minor, my_invoice.open_minor) == (300_00, 200_00)

    listed = admin.get("debtors").json()
    assert [d["id"] for d in listed["items"]] == [mine.pk]
    assert listed["count"] == 1


# --- reads --------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_debtor_list_searches_and_pages(admin: Api, make_debtor: Callable[..., Any]) -> None:
    for n, name in enumerate(["Müller GmbH", "Schmidt AG", "Müllerei KG"], start=1):
        make_debtor(number=f"K{n}", name=name)
    found = admin.get("debtors", search="müller").json()
    assert found["count"] == 2
    assert [d["name"] for d in found["items"]] == ["Müller GmbH", "Müllerei KG"]
    page = admin.get("debtors", limit=1, offset=1).json()
    assert page["count"] == 3 and [d["number"] for d in page["items"]] == ["K2"]
    assert admin.get("debtors", limit=0).status_code == 422
    # a NUL character in the search (PostgreSQL refuses it in a query) is no part of what is looked for
    assert admin.get("debtors", search="mül\x00ler").json()["count"] == 2
    assert admin.get("debtors", search="\x00").json()["count"] == 3
    # nor is it part of any text stored: a 422 naming the field, not a server error on PostgreSQL
    refused = admin.post("debtors", [{"number": "K9", "name": "A\x00B"}])
    assert refused.status_code == 422
    assert [(e["loc"][-2:], "NUL" in e["msg"]) for e in refused.json()["detail"]] == [([0, "name"], True)]


@pytest.mark.django_db
def test_overview_and_statement_come_from_the_ledger_services(
    admin: Api, company: Any, make_debtor: Callable[..., Any], make_invoice: Callable[..., Any]
) -> None:
    from mahnwerk.ledger.claims import statement
    from mahnwerk.ledger.queries import debtor_overview

    debtor = make_debtor(number="K1")
    make_invoice(debtor, "R-1", "250.00", "2026-01-31", issue="2026-01-01")
    overview = admin.get(f"debtors/{debtor.pk}").json()
    assert overview["open_items"][0]["open_minor"] == 250_00
    assert overview == json.loads(json.dumps(debtor_overview(debtor), default=str))
    got = admin.get(f"debtors/{debtor.pk}/statement", date="2026-03-02").json()
    expected = statement(company, debtor.pk, debtor.kind, D("2026-03-02"))
    assert got == json.loads(json.dumps(expected, default=str))


# --- bulk invoices ------------------------------------------------------------------------------------


def _invoice(number: str, debtor: str = "K1", amount_minor: int = 119_00, **fields: Any) -> dict[str, Any]:
    return {
        "number": number,
        "debtor": debtor,
        "issue_date": "2026-03-01",
        "due_date": "2026-03-31",
        "amount_minor": amount_minor,
    } | fields


@pytest.mark.django_db
def test_bulk_invoices_are_created(admin: Api, make_debtor: Callable[..., Any]) -> None:
    from mahnwerk.ledger.models import Invoice

    make_debtor(number="K1")
    make_debtor(number="K2")
    response = admin.post(
        "invoices", [_invoice("R-1", currency="eur"), _invoice("R-2", "K2", 50_05, reference="RF18 1")]
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["created"] == 2
    rows = {i.number: i for i in Invoice.objects.all()}
    assert body["ids"] == [rows["R-1"].pk, rows["R-2"].pk]
    assert (rows["R-2"].amount_minor, rows["R-2"].open_minor, rows["R-2"].reference) == (
        50_05,
        50_05,
        "RF18 1",
    )
    assert rows["R-1"].debtor.number == "K1" and rows["R-1"].currency == "EUR"


@pytest.mark.django_db
def test_one_bad_invoice_and_nothing_is_created(admin: Api, make_debtor: Callable[..., Any]) -> None:
    from mahnwerk.ledger.models import Invoice

    make_debtor(number="K1")
    # row 1 falls due before it is issued, row 2 names an unknown debtor, row 3 repeats row 0's number
    rows = [
        _invoice("R-1"),
        _invoice("R-2", due_date="2026-02-01"),
        _invoice("R-3", "K9"),
        _invoice("R-1"),
    ]
    response = admin.post("invoices", rows)
    assert response.status_code == 422
    errors = {(e["loc"][1], e["loc"][2]) for e in response.json()["detail"]}
    assert errors == {(1, "due_date"), (2, "debtor"), (3, "number")}
    assert Invoice.objects.count() == 0

    # the schema itself: a missing amount and a negative one name their row too
    bad = [_invoice("R-1"), {k: v for k, v in _invoice("R-2").items() if k != "amount_minor"}]
    bad.append(_invoice("R-3", amount_minor=-5))
    bad.append(_invoice("R-4", currency="E1R"))
    response = admin.post("invoices", bad)
    assert response.status_code == 422
    locs = [e["loc"] for e in response.json()["detail"]]
    assert [loc[-2:] for loc in locs] == [[1, "amount_minor"], [2, "amount_minor"], [3, "currency"]]
    assert Invoice.objects.count() == 0


# --- payments, run, agreements --------------------------------------------------------------------------


@pytest.mark.django_db
def test_payments_are_applied(
    admin: Api, make_debtor: Callable[..., Any], make_invoice: Callable[..., Any]
) -> None:
    from mahnwerk.ledger.models import Payment

    debtor = make_debtor(number="K1")
    older = make_invoice(debtor, "R-1", "1000.00", "2026-02-28", issue="2026-02-01")
    newer = make_invoice(debtor, "R-2", "500.00", "2026-03-31", issue="2026-03-01")
    receipts = [
        # 400.00 named to the newer invoice: 500.00 - 400.00 = 100.00 left on R-2
        {"debtor": "K1", "amount_minor": 400_00, "value_date": "2026-02-10", "invoice": "R-2"},
        # 300.00 unnamed goes to the oldest due: 1000.00 - 300.00 = 700.00 left on R-1
        {"debtor": "K1", "amount_minor": 300_00, "value_date": "2026-02-11", "reference": "R-1"},
    ]
    response = admin.post("payments", receipts)
    assert response.status_code == 201, response.content
    assert [p["amount_minor"] for p in response.json()] == [400_00, 300_00]
    older.refresh_from_db()
    newer.refresh_from_db()
    assert (older.open_minor, newer.open_minor) == (700_00, 100_00)
    overview = admin.get(f"debtors/{debtor.pk}").json()
    assert [(i["number"], i["open_minor"]) for i in overview["open_items"]] == [
        ("R-1", 700_00),
        ("R-2", 100_00),
    ]

    unknown = admin.post("payments", [{"debtor": "K9", "amount_minor": 1, "value_date": "2026-02-12"}])
    assert unknown.status_code == 422
    assert unknown.json()["detail"][0]["loc"] == ["body", 0, "debtor"]
    wrong_invoice = [{"debtor": "K1", "amount_minor": 1, "value_date": "2026-02-12", "invoice": "R-9"}]
    assert admin.post("payments", wrong_invoice).json()["detail"][0]["loc"] == ["body", 0, "invoice"]
    assert Payment.objects.count() == 2


@pytest.mark.django_db
def test_the_run_endpoint_creates_actions(
    admin: Api, company: Any, make_debtor: Callable[..., Any], make_invoice: Callable[..., Any]
) -> None:
    from mahnwerk.collection.models import Action

    for n in (1, 2):
        make_invoice(make_debtor(number=f"K{n}"), f"R-{n}", "400.00", "2026-01-20", issue="2025-12-21")
    dry = admin.post("runs", {"as_of": "2026-03-02", "dry_run": True})
    assert dry.status_code == 200
    assert dry.json()["dry_run"] is True and dry.json()["debtors_due"] == 2
    assert not Action.objects.exists()

    response = admin.post("runs", {"as_of": "2026-03-02"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["as_of"] == "2026-03-02" and body["dry_run"] is False
    assert body["actions_created"] == 2
    assert Action.objects.filter(company=company, as_of=D("2026-03-02"), run_id=body["run_id"]).count() == 2
    # the same date again does nothing twice
    assert admin.post("runs", {"as_of": "2026-03-02"}).json()["actions_created"] == 0


@pytest.mark.django_db
def test_promise_and_dispute(
    admin: Api, make_debtor: Callable[..., Any], make_invoice: Callable[..., Any]
) -> None:
    from mahnwerk.collection.agreements_models import Dispute, Promise

    debtor = make_debtor(number="K1")
    first = make_invoice(debtor, "R-1", "600.00", "2026-01-31", issue="2026-01-01")
    second = make_invoice(debtor, "R-2", "150.00", "2026-02-28", issue="2026-02-01")
    soon = date.today() + timedelta(days=10)

    response = admin.post(f"debtors/{debtor.pk}/promises", {"promised_date": soon.isoformat()})
    assert response.status_code == 201, response.content
    body = response.json()
    # the whole claim: 600.00 + 150.00 = 750.00 and the default interest to date (both are in default)
    from mahnwerk.ledger.claims import statement

    totals = statement(debtor.company, debtor.pk, "business", date.today())["totals"]["EUR"]
    assert totals["principal_open_minor"] == 750_00 and totals["interest_open_minor"] > 0
    assert body["amount_minor"] == totals["total_open_minor"]
    assert sorted(body["invoice_ids"]) == sorted([first.pk, second.pk])
    promise = Promise.objects.get()
    assert promise.actor == "api:anna" and promise.promised_date == soon

    past = admin.post(f"debtors/{debtor.pk}/promises", {"promised_date": "2020-01-01"})
    assert past.status_code == 422

    dispute = {"invoice_id": second.pk, "reason": "wrong_invoice", "notes": "Falsche Menge"}
    response = admin.post(f"debtors/{debtor.pk}/disputes", dispute)
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "open"
    assert Dispute.objects.get().invoice_id == second.pk
    # twice is refused by the service
    assert admin.post(f"debtors/{debtor.pk}/disputes", dispute).status_code == 422
    unknown = admin.post(f"debtors/{debtor.pk}/disputes", dispute | {"invoice_id": first.pk, "reason": "x"})
    assert unknown.status_code == 422

    # a NUL character in any text of a request body is a 422 naming the field (PostgreSQL refuses to store
    # one: a server error before), and nothing is written
    from mahnwerk.ledger.models import TimelineEvent

    events = TimelineEvent.objects.count()
    refused = [
        (
            f"debtors/{debtor.pk}/promises",
            {"promised_date": soon.isoformat(), "note": "bis\x00Freitag"},
            "note",
        ),
        (f"debtors/{debtor.pk}/disputes", {"invoice_id": first.pk, "reason": "x\x00", "notes": ""}, "reason"),
        (
            f"debtors/{debtor.pk}/disputes",
            {"invoice_id": first.pk, "reason": "other", "notes": "\x00"},
            "notes",
        ),
        ("work/assign", {"debtor_ids": [debtor.pk], "user": "an\x00na"}, "user"),
    ]
    for path, body, field in refused:
        response = admin.post(path, body)
        assert response.status_code == 422, (path, response.content)
        detail = response.json()["detail"]
        assert detail[0]["loc"][-1] == field and "NUL" in detail[0]["msg"], detail
    assert (Promise.objects.count(), Dispute.objects.count()) == (1, 1)
    assert TimelineEvent.objects.count() == events


# --- insights -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_kpi_endpoint_returns_the_service_figures(
    admin: Api,
    company: Any,
    make_debtor: Callable[..., Any],
    make_invoice: Callable[..., Any],
    pay: Callable[..., Any],
) -> None:
    from mahnwerk.core.kpi import Period
    from mahnwerk.insights.services import company_kpis
    from mahnwerk.ledger.management.commands.kpi import as_dict

    debtor = make_debtor(number="K1")
    make_invoice(debtor, "R-1", "1000.00", "2026-02-04", issue="2026-01-05")
    short = make_invoice(debtor, "R-2", "500.00", "2026-01-20", issue="2026-01-10")
    pay(debtor, "200.00", "2026-01-15", invoice=short)
    make_invoice(debtor, "US-1", "70.00", "2026-01-30", issue="2026-01-12", currency="USD")

    response = admin.get("kpi", **{"from": "2026-01-01", "to": "2026-01-31"})
    assert response.status_code == 200, response.content
    kpi = response.json()
    # credit sales in January: 1000.00 + 500.00 = 1500.00
    assert kpi["credit_sales_minor"] == 1500_00
    # open on 31 January: 1000.00 + (500.00 - 200.00) = 1300.00, of which R-1 (due 4 February) is not yet due
    assert kpi["receivables_minor"] == 1300_00
    assert kpi["current_receivables_minor"] == 1000_00
    # DSO = 1300 / 1500 x 31 days = 26.8667; best possible = 1000 / 1500 x 31 = 20.6667
    assert kpi["dso"] == pytest.approx(26.8667, abs=1e-4)
    assert kpi["best_possible_dso"] == pytest.approx(20.6667, abs=1e-4)
    assert kpi["currency"] == "EUR"
    report = company_kpis(company, Period(D("2026-01-01"), D("2026-01-31")), forecast=False)
    # the dollar invoice is not in these figures, and named with its own sums
    others = {"USD": {"invoices": 1, "credit_sales_minor": 70_00, "receivables_minor": 70_00}}
    assert kpi == json.loads(json.dumps(as_dict(report) | {"currency": "EUR", "other_currencies": others}))

    assert admin.get("kpi", **{"from": "2026-02-01", "to": "2026-01-31"}).status_code == 422
    assert admin.get("kpi", **{"from": "not-a-date"}).status_code == 422


@pytest.mark.django_db
def test_worklist_endpoint(admin: Api, company: Any, make_debtor: Callable[..., Any]) -> None:
    from mahnwerk.insights.services import worklist

    response = admin.get("worklist", as_of="2026-03-02")
    assert response.status_code == 200
    assert response.json() == worklist(company, D("2026-03-02")).as_dict()


# --- the document -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_openapi_document_lists_the_endpoints(client: Any) -> None:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    paths = doc["paths"]
    expected = {
        "/api/debtors": {"get", "post"},
        "/api/debtors/{debtor_id}": {"get"},
        "/api/debtors/{debtor_id}/statement": {"get"},
        "/api/debtors/{debtor_id}/promises": {"post"},
        "/api/debtors/{debtor_id}/disputes": {"post"},
        "/api/debtors/{debtor_id}/documents": {"get"},
        "/api/debtors/{debtor_id}/documents/{kind}/{doc_id}": {"get"},
        "/api/debtors/{debtor_id}/agreements/{kind}/{agreement_id}/cancel": {"post"},
        "/api/invoices": {"post"},
        "/api/payments": {"post"},
        "/api/runs": {"post"},
        "/api/debtors/{debtor_id}/send-now": {"post"},
        "/api/kpi": {"get"},
        "/api/worklist": {"get"},
        "/api/work": {"get"},
        "/api/work/queue": {"get"},
        "/api/work/assign": {"post"},
        "/api/partners/status": {"post"},
        "/api/partners/payments": {"get"},
    }
    assert {path: set(ops) for path, ops in paths.items()} == expected
    schemes = doc["components"]["securitySchemes"]
    # the users' tokens and the partners' own tokens: both bearer tokens
    assert {(v["type"], v["scheme"]) for v in schemes.values()} == {("http", "bearer")}
    assert all(op.get("security") for ops in paths.values() for op in ops.values())


# --- the token command --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_apitoken_command_prints_the_key_once_and_stores_its_hash(client: Any, company: Any) -> None:
    import hashlib
    from io import StringIO

    from django.contrib.auth import get_user_model
    from django.core.management import CommandError, call_command

    from mahnwerk.api.models import ApiToken
    from mahnwerk.web.models import Membership

    user = get_user_model().objects.create_user(username="carla", password="x")
    with pytest.raises(CommandError):  # not a member of the company yet
        call_command("apitoken", "create", "--user", "carla", "--company", "acme")
    Membership.objects.create(user=user, company=company, role="collector")
    out = StringIO()
    call_command("apitoken", "create", "--user", "carla", "--company", "acme", stdout=out, stderr=StringIO())
    key = out.getvalue().strip()
    token = ApiToken.objects.get()
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert (token.user_id, token.company_id) == (user.pk, company.pk)
    assert Api(client, key).get("debtors").status_code == 200

    listing = StringIO()
    call_command("apitoken", "list", "--json", stdout=listing)
    assert key not in listing.getvalue()
    assert json.loads(listing.getvalue())[0]["user"] == "carla"

    call_command("apitoken", "revoke", str(token.pk), stdout=StringIO())
    assert Api(client, key).get("debtors").status_code == 401


# --- documents, work waiting for a person, cancellations -------------------------------------------------


@pytest.mark.django_db
def test_documents_are_listed_and_fetched_for_the_own_company_only(
    admin: Api,
    client: Any,
    company: Any,
    other_company: Any,
    make_debtor: Callable[..., Any],
    make_invoice: Callable[..., Any],
) -> None:
    import io

    from pypdf import PdfReader

    from mahnwerk.collection.services import run_collection

    debtor = make_debtor(
        number="K1", name="Druckerei Lange KG", email=None, street="Lindenallee 5", postcode="04109",
        city="Leipzig", country="DE",
    )  # fmt: skip
    make_invoice(debtor, "R-300", "300.00", "2026-01-10", issue="2025-12-10")
    run_collection(company, D("2026-02-20"), send=False)  # a reminder letter
    listed = admin.get(f"debtors/{debtor.pk}/documents").json()
    assert [d["kind"] for d in listed] == ["letter"]
    response = client.get(listed[0]["url"], headers={"Authorization": f"Bearer {admin.key}"})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert "Druckerei Lange KG" in text and "R-300" in text
    stranger = Api(client, _member(other_company, "svens", "admin"))
    assert stranger.get(f"debtors/{debtor.pk}/documents").status_code == 404
    assert stranger.get(listed[0]["url"].removeprefix("/api/")).status_code == 404


@pytest.mark.django_db
def test_work_waiting_for_a_person_most_valuable_first(
    admin: Api, company: Any, make_debtor: Callable[..., Any], make_invoice: Callable[..., Any]
) -> None:
    from mahnwerk.collection.models import Task
    from mahnwerk.ledger.services import company_today

    today = company_today(company)
    small, large = make_debtor(number="K1"), make_debtor(number="K2")
    make_invoice(small, "R-1", "100.00", (today - timedelta(days=20)).isoformat())
    make_invoice(large, "R-2", "900.00", (today - timedelta(days=20)).isoformat())
    for debtor in (small, large):
        Task.objects.create(company=company, debtor=debtor, kind="call", due_on=today)
    work = admin.get("work").json()
    assert [(w["kind"], w["debtor"], w["amount_minor"]) for w in work] == [
        ("call", "K2", 90_000),
        ("call", "K1", 10_000),
    ]
    assert work[0]["chance_unpaid"] == 1.0 and work[0]["value_minor"] == 90_000


@pytest.mark.django_db
def test_cancel_an_agreement(
    admin: Api,
    viewer: Api,
    client: Any,
    company: Any,
    other_company: Any,
    make_debtor: Callable[..., Any],
    make_invoice: Callable[..., Any],
) -> None:
    from mahnwerk.collection.agreements import record_promise
    from mahnwerk.ledger.services import company_today

    debtor = make_debtor(number="K1")
    invoice = make_invoice(debtor, "R-1", "100.00", (company_today(company) - timedelta(days=20)).isoformat())
    promise = record_promise(company, debtor, [invoice], company_today(company) + timedelta(days=7), None)
    path = f"debtors/{debtor.pk}/agreements/promise/{promise.pk}/cancel"
    assert viewer.post(path, {"reason": "paid elsewhere"}).status_code == 403
    stranger = Api(client, _member(other_company, "svens", "admin"))
    assert stranger.post(path, {"reason": "paid elsewhere"}).status_code == 404
    assert admin.post(path, {"reason": ""}).status_code == 422
    assert (
        admin.post(
            f"debtors/{debtor.pk}/agreements/dispute/{promise.pk}/cancel", {"reason": "x" * 5}
        ).status_code
        == 404
    )
    done = admin.post(path, {"reason": "paid elsewhere"})
    assert done.status_code == 200 and done.json() == {
        "kind": "promise",
        "id": promise.pk,
        "status": "cancelled",
    }
    again = admin.post(path, {"reason": "paid elsewhere"})
    assert again.status_code == 422  # nothing left to cancel: the service says so
