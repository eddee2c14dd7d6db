"""Every form and query parameter of the web application at its edges: empty, blank, negative, zero, huge,
exponents, lists, impossible and far dates, long text, NUL bytes, emoji, markup, other companies' and unknown
ids, repeated submissions. The answer is a page with the field's error, a redirect, 400, 403, 404, 410 or
422 — never a server error — and nothing is written for input that is refused."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from mahnwerk.ledger.models import Debtor, Invoice, Payment, TimelineEvent

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]

HUGE = "99999999999999999999"
TWO_63 = str(2**63)
LONG = "x" * 5000
SCRIPT = "<script>alert('x')</script>"
EDGE_TEXTS = ["", "   ", "-1", "0", "1e9", TWO_63, HUGE, "1e3", "12,3,4", "²", LONG, "a\x00b", "💶", SCRIPT]
# for a number field: text that is no number at all stands for the rest (long text, emoji)
EDGE_NUMBERS = ["", "   ", "-1", "0", "1e9", TWO_63, "1e3", "12,3,4", "²", "a\x00b", SCRIPT]
EDGE_DATES = ["", "1900-01-01", "0001-01-01", "9999-12-31", "2026-02-30", "a\x00b"]
EDGE_IDS = ["", "0", "-1", HUGE, TWO_63, "1e3", "²", "a\x00b"]
FINE = {200, 302, 400, 403, 404, 405, 410, 422}


def _sweep(
    client: Client,
    method: str,
    url: str,
    cases: list[dict[str, Any]],
    allowed: set[int],
    *,
    same: bool = True,
) -> list[Any]:
    """Each case posted (or asked for) in turn; the cases whose answer is not among ``allowed`` or (``same``)
    that wrote something, with what came back."""
    wrong = []
    for data in cases:
        before = _rows()
        response = getattr(client, method)(url, data)
        text = response.content.decode(errors="replace") if not response.streaming else ""
        if response.status_code not in allowed:
            wrong.append((data, response.status_code))
            print(
                "WRONG",
                {k: v[:30] if isinstance(v, str) else v for k, v in data.items()},
                response.status_code,
            )
        elif SCRIPT in text:
            wrong.append((data, "markup not escaped"))
        elif same and _rows() != before:
            wrong.append((data, "written"))
    return wrong


def _cases(field: str, values: list[Any], **base: Any) -> list[dict[str, Any]]:
    return [base | {field: v} for v in values]


@pytest.fixture
def acme(make_debtor: Callable[..., Any], make_invoice: Callable[..., Any]) -> Any:
    debtor = make_debtor(name="Müller & Söhne GmbH", number="K-1")
    make_invoice(debtor, "R-100", "400.00", "2026-10-01")
    make_invoice(debtor, "R-101", "250.00", "2026-11-01")
    return debtor


@pytest.fixture
def baltic(other_company: Any, make_debtor: Callable[..., Any], make_invoice: Callable[..., Any]) -> Any:
    debtor = make_debtor(
        name="SIA Svešais", number="LV-9", company=other_company, jurisdiction="LV", time_zone="Europe/Riga"
    )
    make_invoice(debtor, "LV-R-1", "900.00", "2026-10-01")
    return debtor


def _rows() -> dict[str, int]:
    """What the forms could write, counted."""
    from mahnwerk.collection.agreements_models import Dispute, InstalmentPlan, Promise, Settlement

    return {
        "payments": Payment.objects.count(),
        "promises": Promise.objects.count(),
        "plans": InstalmentPlan.objects.count(),
        "settlements": Settlement.objects.count(),
        "disputes": Dispute.objects.count(),
        "events": TimelineEvent.objects.count(),
        "debtors": Debtor.objects.count(),
        "invoices": Invoice.objects.count(),
    }


# -- GET filters and paging ---------------------------------------------------------------------------------

FILTERS = {
    "/debtors/": ["page", "sort", "q", "bucket", "step", "segment", "rating", "dispute", "agreement", "hold"],
    "/work/": ["page", "kind", "assignee", "sort"],
    "/templates/": ["kind", "language"],
    "/kpi/": ["month", "part"],
}


@pytest.mark.parametrize("url", list(FILTERS))
def test_list_filters(alice: Client, acme: Any, baltic: Any, url: str) -> None:
    numbers = [*EDGE_TEXTS, "2026-02-30", "0001-01-01", "9999-12", "2026-13"]
    texts = ["", "   ", "bogus", "-name", "²", LONG, "a\x00b", "💶", SCRIPT]
    cases = [{name: v} for name in FILTERS[url] for v in (numbers if name in ("page", "month") else texts)]
    assert _sweep(alice, "get", url, cases, {200}) == []
    assert "SIA Svešais" not in alice.get(url).content.decode()


def test_run_page_filters(bob: Client, acme: Any, baltic: Any) -> None:
    cases = [{name: v} for name in ["page", "level", "channel", "show", "q", "day"] for v in EDGE_TEXTS]
    cases.append({"page": "-1", "level": "1", "q": "Müller"})
    assert _sweep(bob, "get", "/run/", cases, {200}) == []
    assert "SIA Svešais" not in bob.get("/run/?show=all").content.decode()


def test_case_file_tab_and_outbox_states(bob: Client, acme: Any) -> None:
    assert _sweep(bob, "get", f"/debtors/{acme.pk}/", _cases("tab", EDGE_TEXTS), {200}) == []
    for state in ["failed", "bogus", "²", "x" * 300]:
        assert bob.get(f"/messages/{state}/").status_code in {200, 404}


# -- ids in the address -------------------------------------------------------------------------------------


def test_another_companys_debtor_is_not_found(bob: Client, acme: Any, baltic: Any) -> None:
    before = _rows()
    assert bob.get(f"/debtors/{baltic.pk}/").status_code == 404
    assert bob.get(f"/debtors/{baltic.pk}/?as=customer").status_code == 404
    inv = baltic.invoices.get()
    for path, data in [
        ("payment", {"amount": "10", "value_date": "2026-11-20"}),
        ("hold", {"on_hold": "1", "reason": "x"}),
        ("details", {"details-name": "Taken"}),
        ("notes", {"note-text": "hello"}),
        ("promise", {"promise-invoices": [inv.pk], "promise-promised_date": "2026-11-25"}),
        ("plan", {"plan-invoices": [inv.pk], "plan-count": "3"}),
        ("settlement", {"settlement-invoices": [inv.pk], "settlement-amount": "100"}),
        ("dispute", {"dispute-invoice": inv.pk, "dispute-reason": "other"}),
        ("send-now", {}),
        ("escalate", {"option": "write_off"}),
        ("playbook", {}),
        ("invoice-copy", {}),
    ]:
        assert bob.post(f"/debtors/{baltic.pk}/{path}", data).status_code == 404, path
    assert _rows() == before
    assert Debtor.objects.get(pk=baltic.pk).name == "SIA Svešais"


ID_PATHS = [
    "/debtors/{other}/",
    "/debtors/{huge}/",
    "/debtors/{pk}/plans/{huge}/confirm",
    "/debtors/{pk}/plans/{huge}/approve",
    "/debtors/{pk}/disputes/{huge}/resolve",
    "/debtors/{pk}/tasks/{huge}/outcome",
    "/debtors/{pk}/agreements/promise/{huge}/cancel",
    "/debtors/{pk}/agreements/bogus/1/cancel",
    "/debtors/{pk}/messages/{huge}/",
    "/debtors/{pk}/messages/{huge}/email.eml",
    "/debtors/{pk}/documents/invoice/{huge}",
    "/debtors/{pk}/documents/bogus/1",
    "/playbooks/{huge}/",
    "/playbooks/1/steps/{huge}/preview",
    "/partners/{huge}/edit",
    "/partners/{huge}/token",
    "/partners/handovers/{huge}/recall",
    "/partners/handovers/{huge}/dossier",
    "/users/{huge}/remove",
]


@pytest.mark.parametrize("huge", [HUGE, "9223372036854775807"])
def test_unknown_and_foreign_ids_in_the_address(alice: Client, acme: Any, baltic: Any, huge: str) -> None:
    """Ids beyond what the database holds are unknown ids like any other: 404, not a server error."""
    before = _rows()
    wrong = []
    for path in ID_PATHS:
        url = path.format(pk=acme.pk, other=baltic.pk, huge=huge)
        for method in ("get", "post"):
            status = getattr(alice, method)(url, {"reason": "because"}).status_code
            if status not in {404, 405}:
                wrong.append((method, url, status))
    assert wrong == []
    assert _rows() == before


# -- POST forms of the case file ----------------------------------------------------------------------------


def test_payment_form(bob: Client, acme: Any, baltic: Any) -> None:
    url = f"/debtors/{acme.pk}/payment"
    base = {"amount": "10", "value_date": "2026-11-19"}
    other = baltic.invoices.get().pk
    cases = [
        *_cases("amount", [v for v in EDGE_NUMBERS if v != "1e9"], **base),
        *_cases("value_date", EDGE_DATES, **base),
        *_cases("invoice", [v for v in EDGE_IDS if v] + [str(other)], **base),
        *_cases("reference", [LONG, "a\x00b"], **base),
    ]
    assert _sweep(bob, "post", url, cases, {422}) == []
    assert Invoice.objects.get(pk=other).open_minor == 90000
    # a reference with markup is kept as text and shown escaped
    assert bob.post(url, base | {"reference": SCRIPT}).status_code == 302
    assert SCRIPT not in bob.get(f"/debtors/{acme.pk}/?tab=items").content.decode()


def test_promise_form(bob: Client, acme: Any, baltic: Any) -> None:
    inv = acme.invoices.first()
    base = {"promise-invoices": [inv.pk], "promise-promised_date": "2026-11-25"}
    bad_amounts = [v for v in EDGE_NUMBERS if v.strip()]
    cases = [
        *_cases("promise-promised_date", EDGE_DATES, **base),
        *_cases("promise-amount", bad_amounts, **base),
        *_cases("promise-invoices", [[v] for v in EDGE_IDS] + [[baltic.invoices.get().pk]], **base),
        *_cases("promise-note", [LONG, "a\x00b"], **base),
    ]
    assert _sweep(bob, "post", f"/debtors/{acme.pk}/promise", cases, {422, 302}) == []


def test_plan_form(bob: Client, acme: Any, baltic: Any) -> None:
    base = {"plan-invoices": [acme.invoices.first().pk], "plan-count": "3"}
    cases = [
        *_cases("plan-count", EDGE_NUMBERS, **base),
        *_cases("plan-down_payment", [v for v in EDGE_NUMBERS if v.strip() and v != "0"], **base),
        *_cases("plan-first_due", [v for v in EDGE_DATES if v.strip()], **base),
        *_cases("plan-note", [LONG, "a\x00b"], **base),
        *_cases("plan-invoices", [[v] for v in EDGE_IDS] + [[baltic.invoices.get().pk]], **base),
    ]
    assert _sweep(bob, "post", f"/debtors/{acme.pk}/plan", cases, {422, 302}) == []


def test_settlement_form(bob: Client, acme: Any, baltic: Any) -> None:
    base = {
        "settlement-invoices": [acme.invoices.first().pk],
        "settlement-amount": "300",
        "settlement-deadline": "2026-12-01",
        "settlement-reason": "goodwill",
    }
    cases = [
        *_cases("settlement-amount", EDGE_NUMBERS, **base),
        *_cases("settlement-deadline", EDGE_DATES, **base),
        *_cases("settlement-reason", ["", "  ", "ab", LONG, "a\x00b"], **base),
        *_cases("settlement-invoices", [[v] for v in EDGE_IDS] + [[baltic.invoices.get().pk]], **base),
    ]
    assert _sweep(bob, "post", f"/debtors/{acme.pk}/settlement", cases, {422, 302}) == []


def test_dispute_form(bob: Client, acme: Any, baltic: Any) -> None:
    base = {"dispute-invoice": acme.invoices.first().pk, "dispute-reason": "other"}
    cases = [
        *_cases("dispute-invoice", [*EDGE_IDS, str(baltic.invoices.get().pk)], **base),
        *_cases("dispute-reason", ["", "bogus", "a\x00b", LONG], **base),
        *_cases("dispute-notes", [LONG, "a\x00b"], **base),
    ]
    assert _sweep(bob, "post", f"/debtors/{acme.pk}/dispute", cases, {422}) == []


def test_details_form(bob: Client, acme: Any) -> None:
    from mahnwerk.web.forms import DebtorDetailsForm

    form = DebtorDetailsForm(instance=acme, prefix="details")
    base = {
        f"details-{k}": v
        for k, v in form.initial.items()
        if v is not None and not isinstance(v, (list, tuple, bool))
    }
    cases = [
        *_cases("details-name", ["", "   ", LONG, "a\x00b"], **base),
        *_cases("details-email", ["no", LONG + "@x.example", "a\x00b@x.example"], **base),
        *_cases("details-phone", ["abc", "1", LONG, "+49\x0030 1234567"], **base),
        *_cases("details-language", ["xx", ""], **base),
        *_cases("details-jurisdiction", ["XX"], **base),
    ]
    assert _sweep(bob, "post", f"/debtors/{acme.pk}/details", cases, {422}) == []
    assert Debtor.objects.get(pk=acme.pk).name == "Müller & Söhne GmbH"


def test_note_form(bob: Client, acme: Any) -> None:
    cases = _cases("note-text", ["", "   ", LONG, "a\x00b"])
    assert _sweep(bob, "post", f"/debtors/{acme.pk}/notes", cases, {302, 422}) == []
    bob.post(f"/debtors/{acme.pk}/notes", {"note-text": SCRIPT})
    text = bob.get(f"/debtors/{acme.pk}/?tab=conversation").content.decode()
    assert SCRIPT not in text and "&lt;script&gt;" in text


def test_hold_reason_and_escalation(bob: Client, acme: Any) -> None:
    cases = _cases("reason", ["", LONG, "a\x00b", SCRIPT], on_hold="1")
    assert _sweep(bob, "post", f"/debtors/{acme.pk}/hold", cases, {302}, same=False) == []
    assert SCRIPT not in bob.get(f"/debtors/{acme.pk}/?tab=details").content.decode()
    cases = _cases("option", ["", "bogus", LONG, "a\x00b"], note=LONG)
    assert _sweep(bob, "post", f"/debtors/{acme.pk}/escalate", cases, {302}) == []


def test_playbook_choice(bob: Client, acme: Any, other_company: Any) -> None:
    from mahnwerk.collection.models import Playbook

    theirs = Playbook.objects.filter(company=other_company).values_list("pk", flat=True).first()
    cases = _cases("playbook", [v for v in EDGE_IDS if v] + [str(theirs)])
    assert _sweep(bob, "post", f"/debtors/{acme.pk}/playbook", cases, {422}) == []


# -- run page, work queue, payments review -----------------------------------------------------------------


def test_run_leave_out_and_approve(bob: Client, acme: Any, baltic: Any) -> None:
    from mahnwerk.collection.models import Action

    cases = [{name: v} for name in ("debtor", "item") for v in EDGE_IDS]
    assert _sweep(bob, "post", "/run/leave-out", cases, {302, 404}) == []
    assert bob.post("/run/leave-out", {"debtor": baltic.pk}).status_code == 404
    assert bob.post("/run/leave-out", {"item": baltic.invoices.get().pk}).status_code == 404
    cases = [{"mode": "selected", "debtor": [v]} for v in EDGE_IDS]
    assert _sweep(bob, "post", "/run/approve", cases, {302}, same=False) == []
    assert Action.objects.count() == 0


def test_work_bulk(bob: Client, acme: Any, baltic: Any) -> None:
    base = {"action": "postpone", "debtor": [acme.pk], "days": "3"}
    cases = [base | {name: v} for name in ("debtor", "user", "days", "action") for v in EDGE_IDS]
    cases.append(base | {"debtor": [baltic.pk]})
    assert _sweep(bob, "post", "/work/bulk", cases, {302}, same=False) == []


def test_payments_review(bob: Client, acme: Any) -> None:
    cases = [
        {"action": action, "entry": v, "invoices": "R-100", "shares": "R-100=1e3"}
        for action in ("confirm", "split", "park", "ignore", "bogus", "")
        for v in EDGE_IDS
    ]
    assert _sweep(bob, "post", "/payments/review/", cases, {302}) == []


# -- settings ------------------------------------------------------------------------------------------------


def test_company_settings(alice: Client, company: Any) -> None:
    from mahnwerk.ledger.models import Company
    from mahnwerk.web.forms import CompanyForm

    base = {k: v for k, v in CompanyForm(instance=company).initial.items() if v is not None}
    numbers = ["-1", "1e3", TWO_63, HUGE, "²", "12,3,4"]
    cases = [
        *_cases("name", ["", "   ", LONG, "a\x00b"], **base),
        *(
            base | {f: v}
            for f in ("cadence_days", "letter_delivery_days", "statement_interval_months")
            for v in numbers
        ),
        *(base | {f: v} for f in ("min_reminder_amount", "letter_cost") for v in numbers),
        *_cases("iban", ["bogus", LONG], **base),
        *_cases("time_zone", ["Mars/Olympus", ""], **base),
    ]
    assert _sweep(alice, "post", "/settings/", cases, {200, 422}) == []
    assert Company.objects.get(pk=company.pk).name == "Acme Werkzeug GmbH"


def test_segment_terms(alice: Client, company: Any) -> None:
    from mahnwerk.insights.services import segment_rules

    rule = segment_rules(company)[0]
    before = rule.policy
    prefix = f"segment-{rule.key}-"
    base = {
        prefix + "max_instalments": "6",
        prefix + "min_down_payment_percent": "10",
        prefix + "max_plan_days": "180",
        prefix + "playbook": "Standard",
    }
    cases = [
        base | {prefix + name: v}
        for name in ("max_instalments", "min_down_payment_percent", "deadline_days", "playbook")
        for v in (EDGE_NUMBERS if name != "playbook" else ["", "bogus", LONG, "a\x00b", SCRIPT])
        if (v != "0" or name == "deadline_days") and (v.strip() or name != "deadline_days")
    ]
    assert _sweep(alice, "post", f"/settings/segments/{rule.key}", cases, {422}) == []
    assert segment_rules(company)[0].policy == before
    for key in ("bogus", "x" * 300, "-"):
        assert alice.post(f"/settings/segments/{key}", base).status_code == 404


def test_partner_add(alice: Client, company: Any) -> None:
    base = {"name": "Inkasso Nord", "kind": "agency", "fee_percent": "15", "exchange_format": "csv"}
    cases = [
        *_cases("name", ["", "   ", LONG, "a\x00b"], **base),
        *_cases("fee_percent", [v for v in EDGE_NUMBERS if v != "0"], **base),
        *_cases("kind", ["", "bogus"], **base),
        *_cases("email", ["no", "a\x00b@x.example"], **base),
    ]
    assert _sweep(alice, "post", "/partners/", cases, {200, 422}) == []


def test_users_add(alice: Client) -> None:
    from django.contrib.auth import get_user_model

    users = get_user_model().objects.count()
    base = {"username": "erik", "password": "long-enough-password", "role": "collector"}
    cases = [
        *_cases("username", ["", "   ", LONG, "a\x00b", SCRIPT], **base),
        *_cases("password", ["", "short", "a\x00bcdefghij"], **base),
        *_cases("role", ["", "owner"], **base),
    ]
    assert _sweep(alice, "post", "/users/", cases, {200, 422}) == []
    assert get_user_model().objects.count() == users


def test_switch_company(bob: Client, other_company: Any) -> None:
    cases = _cases("company", [*EDGE_IDS, str(other_company.pk)])
    assert _sweep(bob, "post", "/company/switch", cases, {302}) == []
    assert "Baltic" not in bob.get("/").content.decode()


# -- the debtor's page ---------------------------------------------------------------------------------------


def test_portal_forged_and_expired_links(client: Client, acme: Any) -> None:
    import time_machine

    from mahnwerk.web.portal import links

    for token in ["x", "a" * 5000, "..", "💶", "a:b:c", links.make_token(acme)[:-2] + "xx"]:
        assert client.get(f"/portal/{token}/").status_code in {404, 410}, token
        assert client.post(f"/portal/{token}/", {"action": "paid"}).status_code in {404, 410}, token
    path = links.portal_path(acme)
    before = _rows()
    with time_machine.travel("2028-01-01 10:00 +0000", tick=False):
        response = client.post(path, {"action": "paid", "paid-paid_on": "2027-12-30", "paid-amount": "10"})
    assert response.status_code == 410
    assert _rows() == before


def test_portal_forms(client: Client, acme: Any, baltic: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from mahnwerk.web.portal import links, ratelimit

    monkeypatch.setattr(ratelimit, "allow", lambda request: True)  # many posts from one client here

    inv = acme.invoices.first()
    theirs = str(baltic.invoices.get().pk)
    base: dict[str, Any] = {
        "paid-paid_on": "2026-11-19",
        "paid-amount": "10",
        "promise-invoices": [inv.pk],
        "promise-promised_date": "2026-11-25",
        "plan-invoices": [inv.pk],
        "plan-count": "3",
        "dispute-invoice": inv.pk,
        "dispute-reason": "other",
    }
    cases = [
        *_cases("paid-paid_on", EDGE_DATES, action="paid", **base),
        *_cases("paid-amount", EDGE_NUMBERS, action="paid", **base),
        *_cases("paid-invoices", [v for v in EDGE_IDS if v] + [theirs], action="paid", **base),
        *_cases("promise-promised_date", EDGE_DATES, action="promise", **base),
        *_cases("promise-invoices", [*EDGE_IDS, theirs], action="promise", **base),
        *_cases("plan-count", EDGE_NUMBERS, action="plan", **base),
        *_cases("dispute-invoice", [*EDGE_IDS, theirs], action="dispute", **base),
        *_cases("plan", EDGE_IDS, action="confirm"),
        *_cases("email", ["no", "a\x00b@x.example", LONG], action="contact"),
        *_cases("phone", ["abc", "a\x00b", LONG], action="contact"),
    ]
    assert _sweep(client, "post", links.portal_path(acme), cases, {200, 302, 422}) == []
    # a document of another company's debtor, or an id too large, is not found
    for doc in (HUGE, "1"):
        assert client.get(links.portal_path(acme) + f"documents/invoice/{doc}").status_code == 404


# -- repeated submissions (a double click) ---------------------------------------------------------------


def test_agreements_posted_twice_are_made_once(bob: Client, acme: Any) -> None:
    from mahnwerk.collection.agreements_models import Dispute, InstalmentPlan, Promise

    first, second = acme.invoices.order_by("number")
    posts = [
        ("promise", {"promise-invoices": [first.pk], "promise-promised_date": "2026-11-25"}, Promise),
        ("plan", {"plan-invoices": [second.pk], "plan-count": "3"}, InstalmentPlan),
        ("dispute", {"dispute-invoice": first.pk, "dispute-reason": "other"}, Dispute),
    ]
    for path, data, model in posts:
        for _ in range(2):
            assert bob.post(f"/debtors/{acme.pk}/{path}", data).status_code in {302, 422}
        assert model.objects.count() == 1, path


def test_settlement_posted_twice_is_offered_once(bob: Client, acme: Any) -> None:
    from mahnwerk.collection.agreements_models import Settlement

    data = {
        "settlement-invoices": [acme.invoices.order_by("number").first().pk],
        "settlement-amount": "350",
        "settlement-deadline": "2026-12-01",
        "settlement-reason": "goodwill",
    }
    for _ in range(2):
        assert bob.post(f"/debtors/{acme.pk}/settlement", data).status_code in {302, 422}
    assert Settlement.objects.count() == 1


def test_portal_posted_twice_is_noted_once(client: Client, acme: Any) -> None:
    from mahnwerk.collection.agreements_models import Promise
    from mahnwerk.web.portal import links

    path = links.portal_path(acme)
    first = acme.invoices.order_by("number").first()
    data = {"action": "promise", "promise-invoices": [first.pk], "promise-promised_date": "2026-11-25"}
    for _ in range(2):
        assert client.post(path, data).status_code in {302, 422}
    assert Promise.objects.count() == 1
    paid = {"action": "paid", "paid-paid_on": "2026-11-19", "paid-amount": "10"}
    for _ in range(2):
        assert client.post(path, paid).status_code in {302, 422}
    assert TimelineEvent.objects.filter(debtor=acme, kind__contains="paid").count() <= 1


# -- first start, playbooks, templates, partners -----------------------------------------------------------


def test_first_start(client: Client) -> None:
    from django.contrib.auth import get_user_model

    from mahnwerk.ledger.models import Company
    from tests.web.test_first_start import setup_data

    base = setup_data()
    cases = [
        *_cases("username", ["", "   ", LONG, "a\x00b", SCRIPT], **base),
        *_cases("password2", ["", "other-password-123"], **base),
        *_cases("name", ["", "   ", LONG, "a\x00b"], **base),
        *_cases("country", ["", "XX", "a\x00b"], **base),
        *_cases("currency", ["", "€", "a\x00b", "EURO", "eu"], **base),
        *_cases("default_language", ["xx", "a\x00b"], **base),
        # (an empty IBAN is allowed: a company that takes no transfers, test_first_start.py)
        *_cases("iban", ["bogus", LONG, "DE89370400440532013001", "a\x00b"], **base),
        *_cases("bic", ["bogus", "a\x00b"], **base),
        *_cases("email", ["no", "a\x00b@x.example"], **base),
        *_cases("postcode", [LONG], **base),
        *_cases("preset", ["", "bogus"], **base),
    ]
    assert _sweep(client, "post", "/setup/", cases, {200, 422}) == []
    assert Company.objects.count() == 0 and get_user_model().objects.count() == 0
    # the form posted twice (a double click): one company; the second post finds the page gone
    assert client.post("/setup/", base).status_code == 302
    assert client.post("/setup/", base).status_code in {302, 404}
    assert Company.objects.count() == 1


def test_playbook_forms(alice: Client, company: Any) -> None:
    from mahnwerk.collection.models import Playbook, Step

    playbook = Playbook.objects.get(company=company, is_default=True)
    cases = [
        {"new-name": v, "new-min_days_between": n}
        for v, n in [
            ("", "7"),
            ("   ", "7"),
            (LONG, "7"),
            ("a\x00b", "7"),
            ("X", "-1"),
            ("X", HUGE),
            ("X", "1e3"),
        ]
    ]
    assert _sweep(alice, "post", "/playbooks/", cases, {200, 422}) == []
    steps = list(Step.objects.filter(playbook=playbook).order_by("level"))
    base: dict[str, Any] = {
        "pb-name": playbook.name,
        "pb-min_days_between": str(playbook.min_days_between),
        "steps-TOTAL_FORMS": str(len(steps)),
        "steps-INITIAL_FORMS": str(len(steps)),
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "1000",
    }
    for i, step in enumerate(steps):
        for name in ("name", "offset_days", "anchor", "channel", "tone", "deadline_days", "template"):
            base[f"steps-{i}-{name}"] = str(getattr(step, name))
        base[f"steps-{i}-min_amount"] = str(step.min_amount) if step.min_amount is not None else ""
        base[f"steps-{i}-id"] = str(step.pk)
    cases = [
        *(base | {"steps-0-offset_days": v} for v in ("", TWO_63, HUGE, "1e3", "²")),
        *(base | {"steps-0-deadline_days": v} for v in ("-1", TWO_63, "²")),
        *(base | {"steps-0-template": v} for v in ("", "bogus", "a\x00b")),
        *(base | {"steps-0-min_amount": v} for v in ("-1", TWO_63, "1e3")),
        *(base | {"steps-0-id": v} for v in (HUGE, "abc")),
        *(base | {"steps-TOTAL_FORMS": v} for v in ("-1", HUGE, "abc", "100000")),
        base | {"pb-name": ""},
    ]
    assert _sweep(alice, "post", f"/playbooks/{playbook.pk}/", cases, {200, 400, 422}) == []
    assert Step.objects.filter(playbook=playbook).count() == len(steps)
    # a form claiming thousands of steps is refused without building them
    from mahnwerk.web.forms import MAX_STEPS

    response = alice.post(f"/playbooks/{playbook.pk}/", base | {"steps-TOTAL_FORMS": "100000"})
    formset = response.context["formset"]
    assert len(formset.forms) <= MAX_STEPS and not formset.is_valid()


EMAIL = "/templates/email/reminder/friendly/de/"
LETTER = "/templates/letter/reminder/friendly/de/"


def test_template_editor(alice: Client, acme: Any) -> None:
    from mahnwerk.comms.template_models import MessageTemplate

    cases = [
        *_cases("body", ["", "   ", "a\x00b", "{{ debtor.name ", "{% if %}", LONG], subject="Hallo"),
        *_cases("subject", ["a\x00b", LONG], body="Hallo"),
        *_cases("debtor", ["a\x00b", LONG, "K-404", SCRIPT], subject="Hallo", body="Hallo"),
    ]
    saved = MessageTemplate.objects.count()
    for url in (EMAIL, EMAIL + "preview", LETTER + "pdf"):
        assert _sweep(alice, "post", url, cases, {200, 302, 400, 422}, same=False) == [], url
    assert MessageTemplate.objects.count() <= saved + 1  # at most the long text, which is a fine template
    for url in ("/templates/bogus/reminder/friendly/de/", "/templates/email/reminder/bogus/de/"):
        assert alice.get(url).status_code == 404
    assert _sweep(alice, "get", EMAIL, _cases("debtor", ["a\x00b", LONG, SCRIPT, "K-404"]), {200}) == []


def test_partner_edit_and_recall(alice: Client, company: Any) -> None:
    from mahnwerk.partners.models import Partner

    alice.post("/partners/", {"name": "Inkasso Nord", "kind": "agency", "fee_percent": "15"})
    partner = Partner.objects.get(company=company)
    base = {"kind": "agency", "fee_percent": "15", "exchange_format": "csv", "active": "on"}
    cases = [
        *_cases("fee_percent", EDGE_NUMBERS, **base),
        *_cases("kind", ["", "bogus"], **base),
        *_cases("exchange_format", ["", "bogus"], **base),
    ]
    assert _sweep(alice, "post", f"/partners/{partner.pk}/edit", cases, {200, 302, 422}, same=False) == []
    assert Partner.objects.get(pk=partner.pk).fee_percent <= 100


# -- tasks, disputes and agreements already there ----------------------------------------------------------


def test_call_and_address_research_outcomes(bob: Client, acme: Any, baltic: Any) -> None:
    from datetime import date

    from mahnwerk.collection.models import Task

    for kind in ("address_research", "call"):
        task = Task.objects.create(company=acme.company, debtor=acme, kind=kind, due_on=date(2026, 11, 20))
        p = f"call-{task.pk}-"
        base = {p + "outcome": "promised", p + "promised_on": "2026-11-27"}
        cases = [
            *_cases(p + "outcome", ["", "bogus", "a\x00b"], **base),
            *_cases(p + "promised_on", [v for v in EDGE_DATES if v.strip()], **base),
            *_cases(p + "amount", [v for v in EDGE_NUMBERS if v.strip()], **base),
            *_cases(p + "notes", [LONG, "a\x00b"], **base),
            *_cases(p + "dispute_reason", ["bogus"], **base),
        ]
        url = f"/debtors/{acme.pk}/tasks/{task.pk}/outcome"
        if kind == "call":  # the same form: its outcome is enough here
            cases = cases[:3]
        assert _sweep(bob, "post", url, cases, {422}) == [], kind
        assert Task.objects.get(pk=task.pk).status == "open"
    theirs = Task.objects.create(
        company=baltic.company, debtor=baltic, kind="call", due_on=date(2026, 11, 20)
    )
    url = f"/debtors/{acme.pk}/tasks/{theirs.pk}/outcome"
    assert bob.post(url, {f"call-{theirs.pk}-outcome": "no_answer"}).status_code == 404
    assert Task.objects.get(pk=theirs.pk).status == "open"


def test_resolve_dispute_and_cancel_agreement(bob: Client, acme: Any) -> None:
    from mahnwerk.collection.agreements_models import Dispute, Promise

    first, second = acme.invoices.order_by("number")
    bob.post(f"/debtors/{acme.pk}/dispute", {"dispute-invoice": first.pk, "dispute-reason": "other"})
    dispute = Dispute.objects.get()
    base = {"resolve-outcome": "partly", "resolve-resolution": "fixed", "resolve-credit": "10"}
    cases = [
        *_cases("resolve-outcome", ["", "bogus"], **base),
        *_cases("resolve-resolution", ["", "   ", LONG, "a\x00b"], **base),
        *_cases("resolve-credit", [v for v in EDGE_NUMBERS if v.strip() and v != "1e9"], **base),
    ]
    url = f"/debtors/{acme.pk}/disputes/{dispute.pk}/resolve"
    assert _sweep(bob, "post", url, cases, {302, 422}, same=False) == []
    assert Dispute.objects.get().status == "open"
    bob.post(
        f"/debtors/{acme.pk}/promise",
        {"promise-invoices": [second.pk], "promise-promised_date": "2026-11-25"},
    )
    promise = Promise.objects.get()
    url = f"/debtors/{acme.pk}/agreements/promise/{promise.pk}/cancel"
    cases = _cases("reason", ["", "  ", "ab", LONG, "a\x00b"])
    assert _sweep(bob, "post", url, cases, {302}) == []
    assert Promise.objects.get().status == "pending"


def test_invoice_copy_upload(bob: Client, acme: Any, baltic: Any, file_storage: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    url = f"/debtors/{acme.pk}/invoice-copy"
    pdf = b"%PDF-1.4\n%%EOF\n"
    theirs = baltic.invoices.get().pk
    cases = [
        {"copy-invoice": v, "copy-file": SimpleUploadedFile("r.pdf", pdf, "application/pdf")}
        for v in [*EDGE_IDS, str(theirs)]
    ]
    cases += [
        {"copy-invoice": acme.invoices.first().pk, "copy-file": SimpleUploadedFile(n, c, "application/pdf")}
        for n, c in [("r.pdf", b""), ("r.pdf", b"not a pdf"), ("a\x00b.pdf", pdf), ("x" * 300 + ".pdf", b"x")]
    ]
    assert _sweep(bob, "post", url, cases, {302}, same=False) == []


def test_another_companys_member_and_playbook_are_not_found(
    alice: Client, dave: Client, other_company: Any
) -> None:
    from mahnwerk.collection.models import Playbook
    from mahnwerk.web.models import Membership

    member = Membership.objects.get(company=other_company)
    assert alice.post(f"/users/{member.pk}/remove").status_code == 404
    assert Membership.objects.filter(pk=member.pk).exists()
    playbook = Playbook.objects.filter(company=other_company).first()
    assert alice.get(f"/playbooks/{playbook.pk}/").status_code == 404
    assert alice.post(f"/playbooks/{playbook.pk}/", {"pb-name": "Taken"}).status_code == 404
    assert Playbook.objects.get(pk=playbook.pk).name != "Taken"
