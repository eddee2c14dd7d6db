"""The run page per debtor: step, channel, amount, deadline and why not; leaving a debtor or an invoice out;
approving all or the selected debtors — and the same rules through the service, the API and the command line."""

from __future__ import annotations

import ast
import io
import json
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from mahnwerk.collection import runs
from mahnwerk.collection.models import Action, ActionItem
from mahnwerk.collection.services import CollectionError, run_collection
from mahnwerk.comms.models import OutboundMessage
from mahnwerk.core.money import format_money
from mahnwerk.ledger.models import TimelineEvent

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]

TODAY = date(2026, 11, 20)  # the web tests' Friday


@pytest.fixture
def story(make_debtor: Callable[..., Any], make_invoice: Callable[..., Any]) -> dict[str, Any]:
    """Müller owes R-100 (1,000.00, due 1 Oct) and R-102 (300.00, due 5 Oct), Ozols R-200 (400.00, due 10 Nov),
    Weber R-300 (600.00, due 15 Oct); Neu R-400 (500.00) is due only on 15 Dec."""
    mueller = make_debtor(name="Bäckerei Müller", number="K0001")
    ozols = make_debtor(name='SIA "Ozols"', number="K0002")
    weber = make_debtor(name="Weber KG", number="K0003")
    neu = make_debtor(name="Neu GmbH", number="K0004")
    return {
        "mueller": mueller,
        "ozols": ozols,
        "weber": weber,
        "neu": neu,
        "r100": make_invoice(mueller, "R-100", "1000.00", "2026-10-01"),
        "r102": make_invoice(mueller, "R-102", "300.00", "2026-10-05"),
        "r200": make_invoice(ozols, "R-200", "400.00", "2026-11-10"),
        "r300": make_invoice(weber, "R-300", "600.00", "2026-10-15"),
        "r400": make_invoice(neu, "R-400", "500.00", "2026-12-15"),
    }


def _rows(client: Client, query: str = "") -> dict[str, dict[str, Any]]:
    response = client.get("/run/" + query)
    assert response.status_code == 200
    return {row["debtor"].number: row for row in response.context["rows"]}


def _invoices(debtor: Any) -> list[str]:
    return sorted(ActionItem.objects.filter(action__debtor=debtor).values_list("invoice__number", flat=True))


def test_the_preview_shows_each_debtor_with_step_channel_amount_deadline_and_why_not(
    bob: Client, story: dict[str, Any]
) -> None:
    rows = _rows(bob)
    assert sorted(rows) == ["K0001", "K0002", "K0003"]  # Neu's invoice is not due yet
    mueller = rows["K0001"]
    assert mueller["kind"] == "due"
    assert [i["number"] for i in mueller["items"]] == ["R-100", "R-102"]
    assert mueller["totals"] == [("EUR", 130_000)]  # 1,000.00 + 300.00
    assert mueller["channel_label"] == "Email"
    assert mueller["deadline"] is not None
    page = bob.get("/run/").content.decode()
    assert "€1,300.00" in page and "R-102" in page
    held = _rows(bob, "?show=held")
    assert sorted(held) == ["K0004"]
    assert "15 Dec 2026" in held["K0004"]["reason"] or "2026" in held["K0004"]["reason"]
    assert "not due yet" in held["K0004"]["reason"]
    assert Action.objects.count() == 0  # a preview writes nothing
    # filters: by name or number, by step, by channel
    assert sorted(_rows(bob, "?q=Weber")) == ["K0003"]
    assert sorted(_rows(bob, "?q=K0002")) == ["K0002"]
    assert _rows(bob, "?channel=letter") == {}
    level = mueller["level"]
    assert "K0001" in _rows(bob, f"?level={level}")


def test_the_preview_pages(
    bob: Client, make_debtor: Callable[..., Any], make_invoice: Callable[..., Any]
) -> None:
    from mahnwerk.web.services import RUN_PAGE_SIZE

    for n in range(RUN_PAGE_SIZE + 3):
        make_invoice(make_debtor(name=f"Kunde {n:03d}"), f"P-{n:03d}", "100.00", "2026-10-01")
    first = bob.get("/run/")
    assert len(first.context["rows"]) == RUN_PAGE_SIZE and first.context["found"] == RUN_PAGE_SIZE + 3
    second = bob.get("/run/?page=2")
    assert len(second.context["rows"]) == 3


def test_an_excluded_item_is_neither_named_nor_in_the_total_and_the_other_items_go(
    bob: Client, story: dict[str, Any], outbox: Any
) -> None:
    r102 = story["r102"]
    assert bob.post("/run/leave-out", {"item": r102.pk}).status_code == 302
    preview = _rows(bob)["K0001"]
    assert [i["number"] for i in preview["items"]] == ["R-100"]
    assert preview["totals"] == [("EUR", 100_000)]
    assert [i["number"] for i in preview["left_out"]] == ["R-102"]
    assert bob.post("/run/approve", {"mode": "all"}).status_code == 302
    assert _invoices(story["mueller"]) == ["R-100"]
    assert _invoices(story["ozols"]) == ["R-200"] and _invoices(story["weber"]) == ["R-300"]
    message = OutboundMessage.objects.get(debtor=story["mueller"])
    assert "R-100" in message.body_text and "R-102" not in message.body_text
    assert [row["number"] for row in message.payload["items"]] == ["R-100"]
    # the total is R-100's line alone (its principal 1,000.00 with its own interest and fees), not R-102's 300.00
    (line,) = message.payload["items"]
    assert line["open_minor"] == 100_000
    total = line["open_minor"] + line["interest_minor"] + line["fees_minor"]
    total_line = next(text for text in message.body_text.splitlines() if "Gesamtbetrag:" in text)
    assert format_money(total, "EUR", "de") in total_line
    event = TimelineEvent.objects.get(debtor=story["mueller"], kind="run_items_excluded")
    assert event.actor == "user:bob" and event.data["numbers"] == "R-102"


def test_a_debtor_whose_items_are_all_left_out_stays_in_view_to_take_them_back(
    bob: Client, story: dict[str, Any]
) -> None:
    bob.post("/run/leave-out", {"item": story["r100"].pk})
    bob.post("/run/leave-out", {"item": story["r102"].pk})
    row = _rows(bob)["K0001"]
    assert row["kind"] == "held" and row["items"] == [] and row["totals"] == []
    assert [i["number"] for i in row["left_out"]] == ["R-100", "R-102"]
    assert row["reason"] == "Every invoice that could go is left out of today's run."
    bob.post("/run/leave-out", {"item": story["r100"].pk, "undo": "1"})
    row = _rows(bob)["K0001"]
    assert row["kind"] == "due" and [i["number"] for i in row["items"]] == ["R-100"]


def test_an_excluded_debtor_gets_nothing_this_run_and_is_decided_again_tomorrow(
    bob: Client, company: Any, story: dict[str, Any]
) -> None:
    ozols = story["ozols"]
    bob.post("/run/leave-out", {"debtor": ozols.pk})
    rows = _rows(bob)
    assert rows["K0002"]["kind"] == "excluded"
    # taken back and left out again: the last word counts
    bob.post("/run/leave-out", {"debtor": ozols.pk, "undo": "1"})
    assert _rows(bob)["K0002"]["kind"] == "due"
    bob.post("/run/leave-out", {"debtor": ozols.pk})
    bob.post("/run/approve", {"mode": "all"})
    assert not Action.objects.filter(debtor=ozols).exists()
    assert not OutboundMessage.objects.filter(debtor=ozols).exists()
    assert Action.objects.filter(debtor__in=[story["mueller"], story["weber"]]).count() == 2
    event = TimelineEvent.objects.get(debtor=ozols, kind="run_excluded")
    assert event.actor == "user:bob" and event.business_date == TODAY
    # the exclusion was for that run: the page starts afresh, and the next day's run decides Ozols again
    assert "K0002" in _rows(bob) and _rows(bob)["K0002"]["kind"] == "due"
    tomorrow = run_collection(company, date(2026, 11, 21), dry_run=True)
    assert ozols.pk in {p["debtor_id"] for p in tomorrow.plan}


def test_approve_the_selected_writes_only_those(bob: Client, story: dict[str, Any]) -> None:
    response = bob.post("/run/approve", {"mode": "selected", "debtor": [story["weber"].pk]})
    assert response.status_code == 302
    assert list(Action.objects.values_list("debtor__number", flat=True)) == ["K0003"]
    # nothing selected: nothing written, a message says why
    again = bob.post("/run/approve", {"mode": "selected"}, follow=True)
    assert "Select at least one debtor" in again.content.decode()
    assert Action.objects.count() == 1


def test_another_companys_debtor_or_invoice_is_refused(
    bob: Client,
    dave: Client,
    story: dict[str, Any],
    other_company: Any,
    make_debtor: Callable[..., Any],
    make_invoice: Callable[..., Any],
) -> None:
    foreign = make_debtor(name="Fremd SIA", company=other_company)
    foreign_invoice = make_invoice(foreign, "X-1", "100.00", "2026-10-01")
    assert bob.post("/run/leave-out", {"debtor": foreign.pk}).status_code == 404
    assert bob.post("/run/leave-out", {"item": foreign_invoice.pk}).status_code == 404
    # Dave (Baltic) cannot leave Acme's debtors out either
    assert dave.post("/run/leave-out", {"debtor": story["ozols"].pk}).status_code == 404
    # approving "the selected" with another company's id writes nothing at all
    page = bob.post("/run/approve", {"mode": "selected", "debtor": [foreign.pk]}, follow=True)
    assert "No debtor of this company has the id(s)" in page.content.decode()
    assert Action.objects.count() == 0
    clerk = runs.Clerk(story["ozols"].company, "collector", "user:bob")
    with pytest.raises(CollectionError, match="No debtor of this company"):
        runs.approve_run(clerk, exclude_debtors=[foreign.pk])
    with pytest.raises(CollectionError, match="No invoice of this company"):
        runs.approve_run(clerk, exclude_items=[foreign_invoice.pk])
    assert Action.objects.count() == 0 and not TimelineEvent.objects.filter(kind__startswith="run_").exists()


def test_a_viewer_sees_the_preview_but_cannot_leave_out_or_approve(
    carol: Client, company: Any, story: dict[str, Any]
) -> None:
    page = carol.get("/run/")
    assert page.status_code == 200 and "Leave out" not in page.content.decode()
    assert carol.post("/run/leave-out", {"debtor": story["ozols"].pk}).status_code == 403
    assert carol.post("/run/approve", {"mode": "all"}).status_code == 403
    viewer = runs.Clerk(company, "viewer", "user:carol")
    with pytest.raises(runs.NotAllowed):
        runs.approve_run(viewer)
    with pytest.raises(runs.NotAllowed):
        runs.send_now(viewer, story["ozols"])
    assert Action.objects.count() == 0


def test_send_now_is_refused_for_another_companys_debtor(story: dict[str, Any], other_company: Any) -> None:
    baltic = runs.Clerk(other_company, "admin", "user:dave")
    with pytest.raises(CollectionError, match="No debtor of this company"):
        runs.send_now(baltic, story["ozols"])
    assert Action.objects.count() == 0


def test_send_now_to_a_debtor_nobody_can_reach_says_so_and_writes_nothing(
    company: Any, make_debtor: Callable[..., Any], make_invoice: Callable[..., Any]
) -> None:
    from mahnwerk.collection.models import Task, TaskKind

    ghost = make_debtor(name="Ohne Adresse GmbH", number="K0009", email=None)
    make_invoice(ghost, "R-900", "250.00", "2026-10-01")
    with pytest.raises(runs.SendNowError, match="no usable email address, phone number or postal address"):
        runs.send_now(runs.command_line(company), ghost)
    # refused before anything is written (the daily run asks a person to find an address)
    assert not Action.objects.filter(debtor=ghost).exists()
    assert not OutboundMessage.objects.filter(debtor=ghost).exists()
    assert not Task.objects.filter(debtor=ghost, kind=TaskKind.ADDRESS_RESEARCH).exists()


# -- the command line and the API take the same exclusions through the same service --------------------


def test_the_command_line_leaves_debtors_and_invoices_out(company: Any, story: dict[str, Any]) -> None:
    out = io.StringIO()
    call_command(
        "run",
        company="acme",
        approve=True,
        no_send=True,
        exclude_debtor=["K0002"],
        exclude_item=["R-102"],
        stdout=out,
    )
    assert re.search(r"left out of this run +1 debtor\(s\), 1 invoice\(s\)", out.getvalue())
    assert _invoices(story["mueller"]) == ["R-100"] and _invoices(story["ozols"]) == []
    assert TimelineEvent.objects.get(debtor=story["ozols"], kind="run_excluded").actor == "system"
    with pytest.raises(Exception, match="No invoice R-999"):
        call_command("run", company="acme", exclude_item=["R-999"], dry_run=True)


def test_the_dry_run_json_says_why_a_debtor_gets_nothing(company: Any, story: dict[str, Any]) -> None:
    out = io.StringIO()
    call_command("run", company="acme", dry_run=True, json=True, exclude_debtor=["K0002"], stdout=out)
    (result,) = json.loads(out.getvalue())
    assert {p["debtor_id"] for p in result["plan"]} == {story["mueller"].pk, story["weber"].pk}
    assert result["excluded_debtors"] == [story["ozols"].pk]
    assert result["held_debtors"] == [
        {"debtor_id": story["neu"].pk, "reason": "not_yet", "next_contact": "2026-12-15"}
    ]
    assert not TimelineEvent.objects.filter(kind="run_excluded").exists()  # a dry run writes nothing


def _api(client: Client, company: Any, username: str, role: str) -> Callable[..., Any]:
    from django.contrib.auth import get_user_model

    from mahnwerk.api.models import ApiToken
    from mahnwerk.web.models import Membership

    user = get_user_model().objects.create_user(username=username, password="x")
    Membership.objects.create(user=user, company=company, role=role)
    _token, key = ApiToken.issue(user, company, f"{username} token")

    def post(path: str, body: Any = None) -> Any:
        return client.post(
            f"/api/{path}",
            json.dumps(body or {}),
            content_type="application/json",
            headers={"Authorization": f"Bearer {key}"},
        )

    return post


def test_the_api_takes_the_same_exclusions(
    client: Client,
    company: Any,
    story: dict[str, Any],
    other_company: Any,
    make_debtor: Callable[..., Any],
) -> None:
    post = _api(client, company, "erin", "collector")
    foreign = make_debtor(name="Fremd SIA", company=other_company)
    refused = post("runs", {"approve": True, "exclude_debtors": [foreign.pk]})
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["body", "exclude_debtors"]
    assert Action.objects.count() == 0
    dry = post("runs", {"dry_run": True, "exclude_items": [story["r102"].pk]}).json()
    mueller = next(p for p in dry["plan"] if p["debtor_id"] == story["mueller"].pk)
    assert [i["invoice_id"] for i in mueller["items"]] == [story["r100"].pk]
    done = post(
        "runs",
        {"approve": True, "exclude_debtors": [story["ozols"].pk], "exclude_items": [story["r102"].pk]},
    )
    assert done.status_code == 200 and done.json()["excluded_debtors"] == [story["ozols"].pk]
    assert _invoices(story["mueller"]) == ["R-100"] and _invoices(story["ozols"]) == []
    assert TimelineEvent.objects.get(debtor=story["ozols"], kind="run_excluded").actor == "api:erin"


def test_send_now_over_the_api(
    client: Client, company: Any, story: dict[str, Any], other_company: Any, make_debtor: Callable[..., Any]
) -> None:
    post = _api(client, company, "erin", "collector")
    viewer = _api(client, company, "fred", "viewer")
    foreign = make_debtor(name="Fremd SIA", company=other_company)
    assert post(f"debtors/{foreign.pk}/send-now").status_code == 404
    assert viewer(f"debtors/{story['weber'].pk}/send-now").status_code == 403
    sent = post(f"debtors/{story['weber'].pk}/send-now")
    assert sent.status_code == 200 and sent.json()["debtor_id"] == story["weber"].pk
    again = post(f"debtors/{story['weber'].pk}/send-now")
    assert again.status_code == 422 and "already received a step today" in again.json()["detail"][0]["msg"]
    assert Action.objects.filter(debtor=story["weber"]).count() == 1


# -- the API does not reach into the web application ---------------------------------------------------


def test_the_api_never_imports_the_web_application() -> None:
    """The API and the web application share the domain services; the API may name the membership model
    (roles live there), nothing else of ``mahnwerk.web``. The run and "send now" services neither."""
    import mahnwerk

    root = Path(mahnwerk.__file__).parent
    files = [*sorted((root / "api").rglob("*.py")), root / "collection" / "runs.py"]
    offenders = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
                if node.module == "mahnwerk.web":
                    names = [f"mahnwerk.web.{alias.name}" for alias in node.names]
            for name in names:
                if name.startswith("mahnwerk.web") and not name.startswith("mahnwerk.web.models"):
                    offenders.append(f"{path.relative_to(root)}: {name}")
    assert offenders == []


def test_the_run_page_reads_a_fixed_number_of_queries(
    bob: Client, story: dict[str, Any], make_debtor: Callable[..., Any], make_invoice: Callable[..., Any]
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count(query: str) -> int:
        bob.get("/run/" + query)  # the first request of a kind warms what is cached
        with CaptureQueriesContext(connection) as queries:
            assert bob.get("/run/" + query).status_code == 200
        return len(queries)

    bob.post("/run/leave-out", {"item": story["r102"].pk})
    before = {query: count(query) for query in ("", "?show=all")}
    for n in range(30):
        debtor = make_debtor(name=f"Mehr {n:02d} GmbH")
        make_invoice(debtor, f"M-{n:02d}-1", "100.00", "2026-10-01")
        make_invoice(debtor, f"M-{n:02d}-2", "200.00", "2026-12-20")
    assert {query: count(query) for query in before} == before


def test_after_a_payment_and_a_debtor_left_out_the_preview_decides_only_those_and_equals_a_whole_dry_run(
    company: Any, story: dict[str, Any], make_invoice: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from mahnwerk.ledger.services import Receipt, record_payments
    from mahnwerk.web import services

    clerk = runs.command_line(company)
    services._PREVIEWS.clear()
    first = services.run_preview(clerk, TODAY)  # the whole dry run, kept
    views = [
        services.RunFilter(),
        services.RunFilter(show="all"),
        services.RunFilter(show="held"),
        services.RunFilter(q="GmbH", show="all"),
        services.RunFilter(level=2),
    ]
    for view in views:  # the page's row lists, kept with it
        services.kept_run_rows(company, first, [], [], view)
    # meanwhile: Müller pays R-100, Neu gets an overdue invoice; the clerk leaves Weber and Ozols' R-200 out
    record_payments(
        company,
        [Receipt(story["mueller"].pk, 100_000, "EUR", TODAY, invoice_id=story["r100"].pk)],
    )
    make_invoice(story["neu"], "R-401", "250.00", "2026-10-20")
    left_out, items_out = [story["weber"].pk], [story["r200"].pk]

    decided: list[set[int]] = []
    real = services.collection.dry_run_for_debtors

    def spy(company_: Any, as_of: date, debtor_ids: Any, **kwargs: Any) -> Any:
        decided.append(set(debtor_ids))
        return real(company_, as_of, debtor_ids, **kwargs)

    def whole_dry_run(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the preview was decided again for every debtor")

    monkeypatch.setattr(services.collection, "dry_run_for_debtors", spy)
    monkeypatch.setattr(runs, "preview_run", whole_dry_run)
    patched = services.run_preview(clerk, TODAY, left_out, items_out)
    touched = {story[k].pk for k in ("mueller", "neu", "weber", "ozols")}
    assert decided == [touched]
    # the row lists came along, brought up to date
    [kept] = [p for p in services._PREVIEWS.values() if p.result is patched]
    assert len(kept.rows) == len(views)
    rows = [services.kept_run_rows(company, patched, left_out, items_out, view) for view in views]
    monkeypatch.undo()

    services._PREVIEWS.clear()
    whole = services.run_preview(clerk, TODAY, left_out, items_out)
    assert patched is not whole
    assert patched.plan == whole.plan
    assert sorted(patched.held_debtors) == sorted(whole.held_debtors)
    for name in (
        "debtors_due",
        "awaiting_approval",
        "already_done",
        "held",
        "steps",
        "excluded_debtors",
        "excluded_items",
    ):
        assert getattr(patched, name) == getattr(whole, name), name
    assert rows == [services.run_rows(company, whole, left_out, items_out, view) for view in views]
    assert whole.held.get("rate_missing") and whole.steps  # the counts compared are not empty ones
    # what changed shows: Müller's step names only R-102 now, Neu's new invoice is due, Weber is left out
    plan = {p["debtor_id"]: p for p in patched.plan}
    assert [i["invoice_id"] for i in plan[story["mueller"].pk]["items"]] == [story["r102"].pk]
    assert story["neu"].pk in plan and story["weber"].pk not in plan


def test_one_kept_preview_serves_every_language_with_the_reasons_in_the_pages_own(
    bob: Client, story: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.conf import settings
    from django.utils import translation

    from mahnwerk.collection.services import WAIT_TEXTS
    from mahnwerk.web import services

    services._PREVIEWS.clear()
    calls = []
    original = runs.preview_run

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(runs, "preview_run", counted)
    pages = {}
    for language in ("de", "lv", "en"):
        bob.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        pages[language] = bob.get("/run/").content.decode()
    assert len(calls) == 1  # one dry run for the three
    for language, page in pages.items():  # Müller's reminder waits for the July rate: said in each language
        with translation.override(language):
            said = str(WAIT_TEXTS["rate_missing"])
        assert said in page.replace("&#x27;", "'"), language
