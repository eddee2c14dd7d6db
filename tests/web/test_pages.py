"""Every clerk page renders for each role; writes are allowed only to the roles that may do them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from mahnwerk.collection.models import Action, Case, Playbook, Run
from mahnwerk.ledger.models import Invoice, TimelineEvent

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]


@pytest.fixture
def story(make_debtor: Callable[..., Any], make_invoice: Callable[..., Any]) -> dict[str, Any]:
    """Two debtors: Müller owes two invoices (one 50 days overdue, one not yet due), Ozols one 10 days overdue."""
    mueller = make_debtor(name="Bäckerei Müller", number="K0001")
    ozols = make_debtor(name='SIA "Ozols"', number="K0002", language="lv", jurisdiction="LV")
    return {
        "mueller": mueller,
        "ozols": ozols,
        "old": make_invoice(mueller, "R-100", "1000.00", "2026-10-01"),
        "new": make_invoice(mueller, "R-101", "250.00", "2026-12-01"),
        "ozols_inv": make_invoice(ozols, "R-200", "400.00", "2026-11-10"),
    }


def test_anonymous_is_sent_to_sign_in(client: Client) -> None:
    response = client.get("/debtors/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_sign_in_and_out(company: Any, make_member: Callable[..., Any], client: Client) -> None:
    make_member("erin", company, "viewer")
    page = client.get("/accounts/login/")
    assert page.status_code == 200 and b'for="id_username"' in page.content
    bad = client.post("/accounts/login/", {"username": "erin", "password": "wrong"})
    assert bad.status_code == 200 and b"wrong" in bad.content
    good = client.post("/accounts/login/", {"username": "erin", "password": "correct-horse-battery"})
    assert good.status_code == 302 and good["Location"] == "/"
    assert client.get("/").status_code == 200
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/").status_code == 302


def test_user_without_company_gets_a_clear_page(db: None, client: Client) -> None:
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.create_user("nobody", password="x" * 12))
    response = client.get("/")
    assert response.status_code == 403
    assert b"not a member of any company" in response.content


def test_home_totals_aging_and_worklist(alice: Client, story: dict[str, Any]) -> None:
    response = alice.get("/")
    assert response.status_code == 200
    main = response.context["main"]
    # open: 1000 + 250 + 400 = 1650.00 EUR; overdue (due before 20 Nov): 1000 + 400 = 1400.00 EUR
    assert main.open_minor == 165_000 and main.overdue_minor == 140_000
    # R-100 due 1 Oct: 50 days overdue -> 31-60; R-200 due 10 Nov: 10 days -> 1-30; R-101 not yet due
    assert main.buckets == {"current": 25_000, "1-30": 40_000, "31-60": 100_000, "61-90": 0, "90+": 0}
    names = [row.debtor.name for row in response.context["worklist"]]
    assert names == ["Bäckerei Müller", 'SIA "Ozols"']  # 1000.00 overdue before 400.00
    assert "€1,650.00" in response.content.decode()
    # the figures are cached per ledger version: a payment shows at once (1650.00 - 400.00 = 1250.00 open)
    alice.post(f"/debtors/{story['ozols'].pk}/payment", {"amount": "400.00", "value_date": "2026-11-20"})
    again = alice.get("/")
    assert again.context["main"].open_minor == 125_000 and again.context["main"].overdue_minor == 100_000
    assert [row.debtor.name for row in again.context["worklist"]] == ["Bäckerei Müller"]


def test_home_shows_last_run_and_tomorrow_on_demand(
    alice: Client, company: Any, story: dict[str, Any]
) -> None:
    from mahnwerk.collection.services import run_collection

    run_collection(company, send=False, approved=True)
    page = alice.get("/")
    assert page.context["run"] is not None
    assert page.context["run"].stats["actions_created"] == 2
    tomorrow = alice.get("/run/?day=tomorrow", headers={"HX-Request": "true"})
    assert tomorrow.status_code == 200
    assert tomorrow.templates[0].name == "web/_plan.html"
    assert tomorrow.context["as_of"].isoformat() == "2026-11-21"


def test_debtor_list_search_filters_sort(alice: Client, story: dict[str, Any]) -> None:
    def names(query: str) -> list[str]:
        response = alice.get("/debtors/" + query)
        assert response.status_code == 200
        return [row.debtor.name for row in response.context["rows"]]

    assert names("") == ["Bäckerei Müller", 'SIA "Ozols"']
    assert names("?q=ozols") == ['SIA "Ozols"']
    assert names("?q=K0001") == ["Bäckerei Müller"]
    assert names("?q=R-200") == ['SIA "Ozols"']  # invoice number
    assert names("?bucket=31-60") == ["Bäckerei Müller"]
    assert names("?bucket=1-30") == ['SIA "Ozols"']
    assert names("?bucket=90%2B") == []
    assert names("?sort=-name") == ['SIA "Ozols"', "Bäckerei Müller"]
    assert names("?sort=-overdue") == ["Bäckerei Müller", 'SIA "Ozols"']
    Case.objects.create(company=story["ozols"].company, debtor=story["ozols"], on_hold=True)
    assert names("?hold=yes") == ['SIA "Ozols"']
    assert names("?hold=no") == ["Bäckerei Müller"]
    # filters and sorts combined; open amounts: Müller 1250.00, Ozols 400.00
    assert names("?sort=-open") == ["Bäckerei Müller", 'SIA "Ozols"']
    assert names("?bucket=current&sort=-overdue") == ["Bäckerei Müller"]
    assert names("?bucket=1-30&q=bäckerei") == []
    assert names("?bucket=1-30&hold=yes&sort=-name") == ['SIA "Ozols"']


def test_debtor_list_follows_payments(alice: Client, story: dict[str, Any]) -> None:
    """The lists by amount and by aging bucket are cached per ledger version: a payment shows at once."""
    assert [r.debtor.number for r in alice.get("/debtors/?bucket=1-30").context["rows"]] == ["K0002"]
    alice.post(f"/debtors/{story['ozols'].pk}/payment", {"amount": "400.00", "value_date": "2026-11-20"})
    assert alice.get("/debtors/?bucket=1-30").context["rows"] == []
    alice.post(f"/debtors/{story['mueller'].pk}/payment", {"amount": "1000.00", "value_date": "2026-11-20"})
    # Müller: 250.00 still open, but nothing overdue; both debtors now have 0.00 overdue: ties in id order
    assert [r.debtor.number for r in alice.get("/debtors/?sort=-overdue").context["rows"]] == [
        "K0001",
        "K0002",
    ]
    assert [r.debtor.number for r in alice.get("/debtors/?sort=-open").context["rows"]] == ["K0001", "K0002"]


def test_debtor_list_htmx_returns_only_the_table(alice: Client, story: dict[str, Any]) -> None:
    response = alice.get("/debtors/?q=ozols", headers={"HX-Request": "true"})
    assert response.templates[0].name == "web/_debtor_table.html"
    assert b"<html" not in response.content


def test_debtor_list_step_filter(alice: Client, company: Any, story: dict[str, Any]) -> None:
    from mahnwerk.collection.services import run_collection

    run_collection(
        company, send=False, approved=True
    )  # both overdue items get step 2 (the pre-due step 1 has lapsed)
    response = alice.get("/debtors/?step=2")
    assert sorted(row.debtor.number for row in response.context["rows"]) == ["K0001", "K0002"]
    assert alice.get("/debtors/?step=3").context["rows"] == []


def test_debtor_page(alice: Client, story: dict[str, Any]) -> None:
    response = alice.get(f"/debtors/{story['mueller'].pk}/")
    assert response.status_code == 200
    text = response.content.decode()
    for expected in ("R-100", "R-101", "ap@1.example", "Prepare the call", "Is the invoice correct?"):
        assert expected in text
    assert "€1,250.00" in text  # 1000.00 + 250.00 open
    assert response.context["portal_path"].startswith("/portal/")


def test_record_payment_settles_the_item(bob: Client, story: dict[str, Any]) -> None:
    url = f"/debtors/{story['mueller'].pk}/payment"
    response = bob.post(url, {"amount": "1000.00", "value_date": "2026-11-20", "invoice": story["old"].pk})
    assert response.status_code == 302
    old = Invoice.objects.get(pk=story["old"].pk)
    assert old.open_minor == 0 and old.settled_on is not None
    page = bob.get(f"/debtors/{story['mueller'].pk}/")
    assert [i["number"] for i in page.context["overview"]["open_items"]] == ["R-101"]
    event = TimelineEvent.objects.filter(debtor=story["mueller"], kind="payment_recorded").get()
    assert event.actor == "user:bob"


def test_record_payment_rejects_bad_amount(bob: Client, story: dict[str, Any]) -> None:
    response = bob.post(
        f"/debtors/{story['mueller'].pk}/payment", {"amount": "-5", "value_date": "2026-11-20"}
    )
    assert response.status_code == 422
    assert Invoice.objects.get(pk=story["old"].pk).open_minor == 100_000


def test_hold_and_release(bob: Client, story: dict[str, Any]) -> None:
    url = f"/debtors/{story['ozols'].pk}/hold"
    bob.post(url, {"on_hold": "1", "reason": "Rückfrage zur Lieferung"})
    case = Case.objects.get(debtor=story["ozols"])
    assert case.on_hold and case.hold_reason == "Rückfrage zur Lieferung"
    plan = bob.get("/run/").context["rows"]
    assert [row["debtor"].number for row in plan] == ["K0001"]  # Ozols is skipped while on hold
    bob.post(url, {"on_hold": "0"})
    assert not Case.objects.get(debtor=story["ozols"]).on_hold


def test_change_playbook(bob: Client, company: Any, story: dict[str, Any]) -> None:
    soft = Playbook.objects.create(company=company, name="Soft")
    response = bob.post(f"/debtors/{story['ozols'].pk}/playbook", {"playbook": soft.pk})
    assert response.status_code == 302
    assert Case.objects.get(debtor=story["ozols"]).playbook == soft


def test_send_now_takes_the_next_step_once(
    bob: Client, outbox: Any, story: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    url = f"/debtors/{story['mueller'].pk}/send-now"
    with django_capture_on_commit_callbacks(execute=True):  # the outbox writes and sends after the commit
        assert bob.post(url).status_code == 302
    action = Action.objects.get(debtor=story["mueller"])
    # R-100 (overdue) gets step 2, the first after the lapsed pre-due step; R-101 (due 1 Dec) is not yet due:
    # it is named apart ("coming due"), never in the reminder or its total
    assert action.level == 2
    assert sorted(action.items.values_list("invoice__number", "level")) == [("R-100", 2)]
    assert action.message.status in ("queued", "sent")
    assert [row["number"] for row in action.message.payload["coming"]] == ["R-101"]
    total_line = next(line for line in action.message.body_text.splitlines() if "Gesamtbetrag:" in line)
    after_total = action.message.body_text.split(total_line, 1)[1]
    assert "R-101" in after_total and "R-101" not in total_line  # the coming-due line after the total
    assert Run.objects.get(pk=action.run_id).stats["manual"] is True
    again = bob.post(url, follow=True)
    assert "already received a step today" in again.content.decode()
    assert Action.objects.filter(debtor=story["mueller"]).count() == 1


def test_run_preview_and_approve(bob: Client, story: dict[str, Any]) -> None:
    preview = bob.get("/run/")
    assert preview.status_code == 200
    assert preview.context["result"].debtors_due == 2
    assert Action.objects.count() == 0  # a preview writes nothing
    assert bob.post("/run/approve").status_code == 302
    assert Action.objects.count() == 2


def test_playbooks_list_and_edit(alice: Client, company: Any) -> None:
    playbook = Playbook.objects.get(company=company, is_default=True)
    assert alice.get("/playbooks/").status_code == 200
    page = alice.get(f"/playbooks/{playbook.pk}/")
    assert page.status_code == 200
    steps = list(playbook.steps.order_by("level"))
    data = {
        "pb-name": "Standard",
        "pb-min_days_between": "7",
        "steps-TOTAL_FORMS": str(len(steps) + 1),
        "steps-INITIAL_FORMS": str(len(steps)),
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "1000",
    }
    for i, s in enumerate(steps):
        data |= {
            f"steps-{i}-id": str(s.pk),
            f"steps-{i}-name": s.name,
            f"steps-{i}-offset_days": str(s.offset_days),
            f"steps-{i}-anchor": s.anchor,
            f"steps-{i}-channel": s.channel,
            f"steps-{i}-tone": s.tone,
            f"steps-{i}-deadline_days": str(s.deadline_days),
            f"steps-{i}-template": s.template,
        }
    n = len(steps)
    data |= {
        f"steps-{n}-name": "Letter",
        f"steps-{n}-offset_days": "10",
        f"steps-{n}-anchor": "previous",
        f"steps-{n}-channel": "letter",
        f"steps-{n}-tone": "formal",
        f"steps-{n}-deadline_days": "7",
        f"steps-{n}-template": "final_notice",
        "steps-1-deadline_days": "14",
    }
    assert alice.post(f"/playbooks/{playbook.pk}/", data).status_code == 302
    assert list(playbook.steps.order_by("level").values_list("level", "deadline_days"))[1] == (2, 14)
    assert playbook.steps.get(level=n + 1).name == "Letter"
    # a step after the previous one needs at least one day: core.playbook.validate_steps refuses 0
    bad = data | {f"steps-{n}-offset_days": "0", f"steps-{n}-id": str(playbook.steps.get(level=n + 1).pk)}
    bad["steps-INITIAL_FORMS"] = str(n + 1)
    bad["steps-TOTAL_FORMS"] = str(n + 1)
    response = alice.post(f"/playbooks/{playbook.pk}/", bad)
    assert response.status_code == 200
    assert "needs an offset of at least 1 day" in response.content.decode()


def test_new_playbook_copies_the_default(alice: Client, company: Any) -> None:
    response = alice.post("/playbooks/", {"new-name": "Gentle", "new-min_days_between": "10"})
    assert response.status_code == 302
    gentle = Playbook.objects.get(company=company, name="Gentle")
    assert gentle.steps.count() == Playbook.objects.get(company=company, is_default=True).steps.count()


def test_template_preview_for_a_real_debtor(alice: Client, company: Any, story: dict[str, Any]) -> None:
    playbook = Playbook.objects.get(company=company, is_default=True)
    step = playbook.steps.get(level=2)
    response = alice.get(f"/playbooks/{playbook.pk}/steps/{step.pk}/preview?debtor=K0002")
    assert response.status_code == 200
    text = response.content.decode()
    assert "R-200" in text and "LV" not in text.split("R-200")[0][:0]
    assert response.context["debtor"].number == "K0002"
    # deadline_days of step 2 is 10: 20 Nov + 10 days = 30.11.2026, written the Latvian way
    assert "30.11.2026." in text
    missing = alice.get(f"/playbooks/{playbook.pk}/steps/{step.pk}/preview?debtor=NOPE")
    assert "No such debtor" in missing.content.decode()


def test_settings_take_the_creditors_legal_details_and_contacts(alice: Client, company: Any) -> None:
    form = alice.get("/settings/").context["form"]
    for field in (
        "legal_form",
        "register_court",
        "register_number",
        "managing_directors",
        "registration_number",
        "collections_email",
        "collections_phone",
        "sms_sender",
    ):
        assert field in form.fields, field
    data = {k: ("" if v is None else v) for k, v in form.initial.items() if k in form.fields}
    bad = alice.post(
        "/settings/", data | {"registration_number": "4000312345", "sms_sender": "Acme-Werkzeug"}
    )
    assert bad.status_code == 200
    assert set(bad.context["form"].errors) == {"registration_number", "sms_sender"}
    good = data | {
        "register_number": "HRB 999 B",
        "managing_directors": "Anna Acker, Bernd Acker",
        "registration_number": "40003123456",
        "collections_email": "mahnwesen@acme.example",
        "sms_sender": "Acme",
    }
    assert alice.post("/settings/", good).status_code == 302
    company.refresh_from_db()
    assert (company.register_number, company.registration_number) == ("HRB 999 B", "40003123456")
    assert (company.collections_email, company.sms_sender) == ("mahnwesen@acme.example", "Acme")


def test_settings_and_users_for_admin(alice: Client, company: Any) -> None:
    assert alice.get("/settings/").status_code == 200
    form = alice.get("/settings/").context["form"]
    data = {k: ("" if v is None else v) for k, v in form.initial.items() if k in form.fields}
    data["name"] = "Acme Werkzeug AG"
    assert alice.post("/settings/", data).status_code == 302
    company.refresh_from_db()
    assert company.name == "Acme Werkzeug AG"
    response = alice.post("/users/", {"username": "frank", "password": "a-long-password", "role": "viewer"})
    assert response.status_code == 302
    from mahnwerk.web.models import Membership

    member = Membership.objects.get(user__username="frank")
    assert member.company == company and member.role == "viewer"
    assert alice.post(f"/users/{member.pk}/remove").status_code == 302
    assert not Membership.objects.filter(pk=member.pk).exists()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/debtors/{d}/payment"),
        ("post", "/debtors/{d}/hold"),
        ("post", "/debtors/{d}/playbook"),
        ("post", "/debtors/{d}/send-now"),
        ("post", "/run/approve"),
        ("get", "/settings/"),
        ("get", "/users/"),
    ],
)
def test_viewer_cannot_write(carol: Client, story: dict[str, Any], method: str, path: str) -> None:
    response = getattr(carol, method)(path.format(d=story["mueller"].pk), {"amount": "1", "on_hold": "1"})
    assert response.status_code == 403
    assert not Action.objects.exists() and not Case.objects.exists()
    assert Invoice.objects.get(pk=story["old"].pk).open_minor == 100_000


def test_collector_cannot_administer(bob: Client, company: Any) -> None:
    assert bob.get("/settings/").status_code == 403
    assert bob.get("/users/").status_code == 403
    playbook = Playbook.objects.get(company=company, is_default=True)
    assert bob.post(f"/playbooks/{playbook.pk}/", {}).status_code == 403
    assert bob.post("/playbooks/", {"new-name": "X", "new-min_days_between": "7"}).status_code == 403


def test_viewer_sees_no_work_buttons(carol: Client, story: dict[str, Any]) -> None:
    text = carol.get(f"/debtors/{story['mueller'].pk}/").content.decode()
    assert "Record a payment" not in text and "Put on hold" not in text
    assert "Approve and run" not in carol.get("/run/").content.decode()


def test_language_switch(alice: Client) -> None:
    response = alice.post("/i18n/setlang/", {"language": "de", "next": "/"})
    assert response.status_code == 302
    assert "Schuldner" in alice.get("/").content.decode()


def test_debtor_list_filters_by_segment_rating_dispute_and_agreement(
    alice: Client, company: Any, story: dict[str, Any]
) -> None:
    from datetime import date

    from mahnwerk.collection.agreements import cancel_agreement, open_dispute, record_promise
    from mahnwerk.insights.services import refresh_insights, segment_rules

    def names(query: str) -> list[str]:
        response = alice.get("/debtors/" + query)
        assert response.status_code == 200
        assert not response.context["form"].errors
        return sorted(row.debtor.name for row in response.context["rows"])

    both = ["Bäckerei Müller", 'SIA "Ozols"']
    assert names("?dispute=yes") == [] and names("?dispute=no") == both
    assert names("?agreement=yes") == [] and names("?agreement=no") == both
    open_dispute(company, story["ozols_inv"], "wrong_invoice", actor="test")
    assert names("?dispute=yes") == ['SIA "Ozols"']
    assert names("?dispute=no") == ["Bäckerei Müller"]
    promise = record_promise(
        company, story["mueller"], [story["old"]], date(2026, 11, 27), None, actor="test"
    )
    assert names("?agreement=yes") == ["Bäckerei Müller"]
    assert names("?agreement=yes&dispute=yes") == []
    cancel_agreement(company, promise, reason="paid elsewhere", actor="test")
    assert names("?agreement=yes") == []
    # segment and rating come from the stored insights: every debtor is in exactly one segment
    refresh_insights(company)
    keys = [rule.key for rule in segment_rules(company)]
    found = {key: names(f"?segment={key}") for key in keys}
    assert sorted(n for members in found.values() for n in members) == both
    from mahnwerk.insights.models import DebtorInsight

    stored = {i.debtor.name: (i.segment, i.rating) for i in DebtorInsight.objects.select_related("debtor")}
    assert {name: seg for seg, members in found.items() for name in members} == {
        name: seg for name, (seg, _r) in stored.items()
    }
    for rating in "ABCD":
        assert names(f"?rating={rating}") == sorted(n for n, (_s, r) in stored.items() if r == rating)
    options = alice.get("/debtors/").content.decode()
    assert all(f'value="{key}"' in options for key in keys)


def _ids_unique_and_controls_labelled(page: str) -> int:
    import re
    from collections import Counter

    ids = Counter(re.findall(r'\sid="([^"]+)"', page))
    assert [i for i, n in ids.items() if n > 1] == []
    labelled = set(re.findall(r'<label[^>]*\sfor="([^"]+)"', page))
    controls = re.findall(r"<(?:input|select|textarea)\b([^>]*)>", page)
    unlabelled = []
    for attrs in controls:
        if 'type="hidden"' in attrs or 'type="checkbox"' in attrs:  # checkboxes sit inside their <label>
            continue
        found = re.search(r'\sid="([^"]+)"', attrs)
        if found is None or found.group(1) not in labelled:
            unlabelled.append(attrs)
    assert unlabelled == []
    return len(controls)


def test_every_id_on_the_case_file_is_unique_and_every_control_labelled(
    bob: Client, company: Any, story: dict[str, Any]
) -> None:
    from mahnwerk.collection.agreements import propose_plan, record_promise
    from mahnwerk.collection.models import Task

    debtor = story["mueller"]
    from datetime import timedelta

    from mahnwerk.ledger.services import company_today

    record_promise(company, debtor, [story["old"]], company_today(company) + timedelta(days=30), None)
    propose_plan(company, debtor, [story["new"]], 12, actor="test")
    Task.objects.create(company=company, debtor=debtor, kind="call", due_on=story["old"].due_date)
    page = bob.get(f"/debtors/{debtor.pk}/").content.decode()
    # payment, hold, playbook, promise, plan, settlement, dispute, call, cancel, invoice copy
    assert _ids_unique_and_controls_labelled(page) > 30


@pytest.mark.parametrize(
    "url",
    ["/", "/debtors/", "/run/", "/kpi/", "/playbooks/", "/templates/", "/templates/email/reminder/friendly/de/",
     "/settings/", "/users/"],
)  # fmt: skip
def test_other_pages_have_unique_ids_and_labelled_controls(
    alice: Client, story: dict[str, Any], url: str
) -> None:
    response = alice.get(url)
    assert response.status_code == 200
    _ids_unique_and_controls_labelled(response.content.decode())


def test_playbook_and_portal_pages_have_unique_ids_and_labelled_controls(
    alice: Client, client: Client, company: Any, story: dict[str, Any]
) -> None:
    from mahnwerk.web.portal.links import portal_path

    playbook = Playbook.objects.get(company=company, is_default=True)
    assert _ids_unique_and_controls_labelled(alice.get(f"/playbooks/{playbook.pk}/").content.decode()) > 10
    portal = client.get(portal_path(story["mueller"]))
    assert portal.status_code == 200
    assert _ids_unique_and_controls_labelled(portal.content.decode()) > 5


def test_settings_take_the_collection_costs_and_the_letter_settings(alice: Client, company: Any) -> None:
    form = alice.get("/settings/").context["form"]
    assert {"costs_claim", "letter_cost", "letter_delivery_days"} <= set(form.fields)
    data = {k: ("" if v is None else v) for k, v in form.initial.items() if k in form.fields}
    assert (data["costs_claim"], str(data["letter_cost"]), data["letter_delivery_days"]) == (
        "flat_rate",
        "1.50",
        3,
    )
    data |= {"costs_claim": "itemised", "letter_cost": "0.95", "letter_delivery_days": "2"}
    assert alice.post("/settings/", data).status_code == 302
    company.refresh_from_db()
    assert (company.costs_claim, str(company.letter_cost), company.letter_delivery_days) == (
        "itemised",
        "0.95",
        2,
    )
    assert alice.post("/settings/", data | {"costs_claim": "both"}).status_code == 200  # not a choice
