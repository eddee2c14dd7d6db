"""Customer insights from the database: records, segments and their timeline, playbooks by segment,
KPIs, predictions and the worklist, each against figures worked out by hand."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from mahnwerk.core.behaviour import InvoiceRecord, MessageRecord, SegmentPolicy, SegmentRule
from mahnwerk.core.kpi import Period

D = date.fromisoformat
E = 100  # cents per euro
JUNE = Period.month(2026, 6)


@pytest.fixture(autouse=True)
def data_dir(settings: Any, tmp_path: Path) -> Path:
    """No saved model from elsewhere: every test starts without one."""
    settings.DATA_DIR = tmp_path / "data"
    return settings.DATA_DIR


@pytest.fixture
def acme(company: Any) -> Any:
    """Without default interest and fees, payments go to the invoice amount alone (hand arithmetic)."""
    company.claim_interest = False
    company.charge_fees = False
    company.save()
    return company


def send(debtor: Any, on: str, template: str, channel: str = "email") -> Any:
    """A message of the default playbook's step ``template``, sent at noon (UTC) on ``on``."""
    from mahnwerk.collection.models import Action, Playbook
    from mahnwerk.comms.models import OutboundMessage

    playbook = Playbook.objects.get(company=debtor.company, is_default=True)
    step = playbook.steps.get(template=template)
    action = Action.objects.create(
        company=debtor.company,
        debtor=debtor,
        as_of=D(on),
        key=Action.make_key(debtor.pk, on),
        playbook=playbook,
        step=step,
        level=step.level,
        channel=channel,
        tone=step.tone,
    )
    return OutboundMessage.objects.create(
        company=debtor.company,
        debtor=debtor,
        action=action,
        channel=channel,
        recipient="ap@example.com",
        language="de",
        subject="Zahlungserinnerung",
        body_text="...",
        message_id=f"<{debtor.pk}.{on}@acme.example>",
        status="sent",
        sent_at=datetime.fromisoformat(on).replace(hour=12, tzinfo=UTC),
    )


# --------------------------------------------------------------------------------------------------
# Records from the database


@pytest.fixture
def small_ledger(
    acme: Any, make_debtor: Callable[..., Any], make_invoice: Callable[..., Any], pay: Any
) -> Any:
    from mahnwerk.ledger.services import record_credit_note

    k = make_debtor(name="Kunde Eins GmbH")
    a = make_invoice(k, "A-1", "1000.00", "2026-05-31", issue="2026-05-01")
    b = make_invoice(k, "B-1", "500.00", "2026-06-09", issue="2026-05-10")
    c = make_invoice(k, "C-1", "300.00", "2026-07-01", issue="2026-06-01")
    pay(k, "400.00", "2026-05-20", invoice=a)  # part payment
    pay(k, "600.00", "2026-06-05", invoice=a)  # settles A, 5 days late
    record_credit_note(
        acme,
        debtor=k,
        number="G-1",
        issue_date=D("2026-05-15"),
        amount_minor=200 * E,
        currency="EUR",
        invoice=b,
    )
    pay(k, "300.00", "2026-06-20", invoice=b)  # settles B, 11 days late
    pay(k, "100.00", "2026-06-10", invoice=c)  # part payment, C stays open
    pay(k, "50.00", "2026-07-05", invoice=c)  # after the as_of date used below
    make_invoice(k, "D-1", "700.00", "2026-08-01", issue="2026-07-02")  # issued after as_of
    send(k, "2026-06-03", "reminder")
    send(k, "2026-07-03", "firm_reminder")  # after as_of
    return k, a, b, c


def test_records_from_the_database_equal_the_hand_written_ones(small_ledger: Any, acme: Any) -> None:
    from mahnwerk.insights.services import records_for

    k, a, b, c = small_ledger
    records = records_for(acme, D("2026-06-30"))
    kid = str(k.pk)
    assert sorted(records.invoices, key=lambda r: r.issue_date) == [
        InvoiceRecord(
            str(a.pk),
            kid,
            D("2026-05-01"),
            D("2026-05-31"),
            1000 * E,
            D("2026-06-05"),
            ((D("2026-05-20"), 400 * E),),
        ),
        # the credit note of 05-15 counts like a payment
        InvoiceRecord(
            str(b.pk),
            kid,
            D("2026-05-10"),
            D("2026-06-09"),
            500 * E,
            D("2026-06-20"),
            ((D("2026-05-15"), 200 * E),),
        ),
        # open; the 50.00 of 07-05 is not known on 06-30; D-1 (issued 07-02) is not there at all
        InvoiceRecord(
            str(c.pk), kid, D("2026-06-01"), D("2026-07-01"), 300 * E, None, ((D("2026-06-10"), 100 * E),)
        ),
    ]
    assert records.messages == [MessageRecord(kid, D("2026-06-03"), "email", "reminder")]
    assert records.promises == [] and records.disputes == []


def test_no_payment_after_the_as_of_date_is_read(small_ledger: Any, acme: Any) -> None:
    """Leakage: a back-dated view sees A and B open, only what was paid by then, and no later message."""
    from mahnwerk.insights.services import records_for

    _k, a, b, c = small_ledger
    records = {r.invoice_id: r for r in records_for(acme, D("2026-06-04")).invoices}
    assert set(records) == {str(a.pk), str(b.pk), str(c.pk)}
    assert records[str(a.pk)].paid_date is None  # settled on 06-05, the day after
    assert records[str(a.pk)].partial_payments == ((D("2026-05-20"), 400 * E),)
    assert records[str(a.pk)].open_at(D("2026-06-04")) == 600 * E
    assert records[str(c.pk)].partial_payments == ()  # its 100.00 came on 06-10
    assert records_for(acme, D("2026-06-02")).messages == []
    # every payment date in any record lies on or before the as_of date
    for as_of in (D("2026-05-19"), D("2026-06-09"), D("2026-06-30")):
        for r in records_for(acme, as_of).invoices:
            assert all(when <= as_of for when, _ in r.payment_events())
            assert r.issue_date <= as_of


def test_records_take_a_fixed_number_of_queries(
    acme: Any, make_debtor: Callable[..., Any], make_invoice: Callable[..., Any], pay: Any
) -> None:
    from mahnwerk.insights.services import records_for

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            records_for(acme, D("2026-06-30"))
        return len(ctx.captured_queries)

    k = make_debtor()
    inv = make_invoice(k, "Q-1", "10.00", "2026-05-31")
    pay(k, "10.00", "2026-05-30", invoice=inv)
    few = count()
    for n in range(5):
        other = make_debtor()
        inv = make_invoice(other, f"Q-{n + 2}", "10.00", "2026-05-31")
        pay(other, "5.00", "2026-05-30", invoice=inv)
        send(other, "2026-06-01", "reminder")
    assert count() == few


# --------------------------------------------------------------------------------------------------
# Segments, their timeline and the playbook they choose


def test_a_late_payer_moves_from_normal_to_watch_once_with_the_reason(
    acme: Any, make_debtor: Callable[..., Any], make_invoice: Callable[..., Any], pay: Any
) -> None:
    from mahnwerk.insights.models import DebtorInsight
    from mahnwerk.insights.services import refresh_insights
    from mahnwerk.ledger.models import TimelineEvent

    k = make_debtor()
    for n, (due, paid) in enumerate([("2026-03-31", "2026-03-30"), ("2026-04-30", "2026-04-28")], start=1):
        inv = make_invoice(k, f"R-{n}", "1000.00", due)
        pay(k, "1000.00", paid, invoice=inv)
    make_invoice(k, "R-3", "1000.00", "2026-05-31")  # never paid

    # 06-01: R-3 is 1 day overdue. Rating basis (1000 x 0 + 1000 x 0 + 1000 x 1) / 3000 = 0.33 -> A;
    # only 2 invoices paid, so not "best": normal
    first = refresh_insights(acme, D("2026-06-01"))
    assert first.segments == {"normal": 1} and first.changed == 0
    insight = DebtorInsight.objects.get(debtor=k)
    assert (insight.segment, insight.rating, insight.overdue_minor) == ("normal", "A", 1000 * E)
    assert insight.on_time_share == 1.0 and insight.weighted_days_late == 0.0

    # 07-15: 45 days overdue -> oldest_overdue_days > 30: watch; basis 1000 x 45 / 3000 = 15 -> B (<= 15)
    second = refresh_insights(acme, D("2026-07-15"))
    assert second.changed == 1 and second.segments == {"watch": 1}
    insight.refresh_from_db()
    assert (insight.segment, insight.rating, insight.oldest_overdue_days) == ("watch", "B", 45)
    with translation.override("en"):
        assert insight.reason_text() == "Segment Watch: oldest_overdue_days = 45 (> 30)"

    # again on the same day and the next: still watch, no second event
    refresh_insights(acme, D("2026-07-15"))
    refresh_insights(acme, D("2026-07-16"))
    events = list(TimelineEvent.objects.filter(debtor=k, kind="segment_changed"))
    assert len(events) == 1
    event = events[0]
    assert event.business_date == D("2026-07-15")
    assert (event.data["old_key"], event.data["new_key"]) == ("normal", "watch")
    assert "oldest_overdue_days = 45 (> 30)" in event.data["reason"]
    assert "oldest_overdue_days = 45 (> 30)" in str(event)


def test_refresh_takes_a_fixed_number_of_queries(
    acme: Any, make_debtor: Callable[..., Any], make_invoice: Callable[..., Any]
) -> None:
    from mahnwerk.insights.services import refresh_insights

    def count(day: str) -> int:
        with CaptureQueriesContext(connection) as ctx:
            refresh_insights(acme, D(day))
        return len(ctx.captured_queries)

    for n in range(2):
        make_invoice(make_debtor(), f"S-{n}", "100.00", "2026-05-31")
    refresh_insights(acme, D("2026-06-01"))
    few = count("2026-07-15")  # both change segment: normal -> watch
    for n in range(2, 8):
        make_invoice(make_debtor(), f"S-{n}", "100.00", "2026-05-31")
    refresh_insights(acme, D("2026-06-01"))
    assert count("2026-07-15") == few


def test_rating_thresholds_and_rules_are_the_company_s(
    acme: Any, make_debtor: Callable[..., Any], make_invoice: Callable[..., Any], pay: Any
) -> None:
    from mahnwerk.insights.models import DebtorInsight, RatingSettings
    from mahnwerk.insights.services import refresh_insights, set_segment_rules

    k = make_debtor()
    inv = make_invoice(k, "T-1", "100.00", "2026-05-31")
    pay(k, "100.00", "2026-06-08", invoice=inv)  # 8 days late: B by default (5 < 8 <= 15)
    refresh_insights(acme, D("2026-06-30"))
    assert DebtorInsight.objects.get(debtor=k).rating == "B"
    RatingSettings.objects.create(company=acme, a_max=10, b_max=20, c_max=40)
    set_segment_rules(
        acme,
        [
            SegmentRule("vip", "VIP", "rating == A", SegmentPolicy("Gentle", 30, None, 12, 0, 365, True)),
            SegmentRule("rest", "Rest", "", SegmentPolicy("Standard", 14, 0, 3, 30, 90, False)),
        ],
    )
    refresh_insights(acme, D("2026-06-30"))
    insight = DebtorInsight.objects.get(debtor=k)
    assert (insight.rating, insight.segment) == ("A", "vip")  # 8 <= 10


def test_a_condition_with_an_error_is_refused_with_its_position(acme: Any) -> None:
    from mahnwerk.insights.models import SegmentRuleRow

    row = SegmentRuleRow(
        company=acme,
        order=1,
        key="bad",
        label="Bad",
        condition="rating == D or oldest_overdue > 60",
        playbook="Standard",
        payment_terms_days=14,
        max_instalments=3,
        min_down_payment_percent=30,
        max_plan_days=90,
    )
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        row.full_clean()
    # "oldest_overdue" starts at character 16
    assert "at character 16" in str(caught.value.message_dict["condition"])
    row.condition = ""
    row.full_clean()  # a lone catch-all is a valid set of rules
    row.save()
    second = SegmentRuleRow(
        company=acme,
        order=2,
        key="late",
        label="Late",
        condition="rating == D",
        playbook="Standard",
        payment_terms_days=14,
        max_instalments=3,
        min_down_payment_percent=30,
        max_plan_days=90,
    )
    with pytest.raises(ValidationError):  # after the catch-all: the last rule must have no condition
        second.full_clean()


def test_segment_playbooks_maps_each_debtor_to_its_segment_s_playbook(
    acme: Any, make_debtor: Callable[..., Any], make_invoice: Callable[..., Any], pay: Any
) -> None:
    from mahnwerk.collection.models import Playbook
    from mahnwerk.insights.services import refresh_insights, segment_playbooks, segment_policies

    firm = Playbook.objects.create(company=acme, name="Firm")
    standard = Playbook.objects.get(company=acme, is_default=True)  # "Standard"; the rule says "standard"
    risky = make_debtor()
    make_invoice(risky, "P-1", "100.00", "2026-05-15")  # 46 days overdue on 06-30: rating D -> risky
    normal = make_debtor()
    inv = make_invoice(normal, "P-2", "100.00", "2026-06-10")
    pay(normal, "100.00", "2026-06-09", invoice=inv)  # on time, one invoice: rating A, normal
    late = make_debtor()
    inv = make_invoice(late, "P-4", "100.00", "2026-05-31")
    pay(late, "100.00", "2026-06-25", invoice=inv)  # paid 25 days late: rating C (15 < 25 <= 30) -> watch
    refresh_insights(acme, D("2026-06-30"))
    # risky names "strict", which this company does not have: the run keeps its default for that debtor
    assert segment_playbooks(acme) == {normal.pk: standard.pk, late.pk: firm.pk}
    # the shipped policies (docs/insights.md): risky 14 days, no credit; watch 14 days, 5,000.00; normal 30 days
    policies = segment_policies(acme)
    assert (policies[risky.pk].payment_terms_days, policies[risky.pk].credit_limit_minor) == (14, 0)
    assert (policies[late.pk].payment_terms_days, policies[late.pk].credit_limit_minor) == (14, 5000 * E)
    assert (policies[normal.pk].payment_terms_days, policies[normal.pk].max_instalments) == (30, 6)
    assert not any(p.thank_you_messages for p in policies.values())


# --------------------------------------------------------------------------------------------------
# KPIs, predictions and the worklist on the ledger of tests/unit/test_kpi.py, built through the services


@pytest.fixture
def kpi_ledger(
    acme: Any, make_debtor: Callable[..., Any], make_invoice: Callable[..., Any], pay: Any
) -> dict:
    k1, k2, k3, k4 = (make_debtor(name=f"K{n} GmbH") for n in range(1, 5))
    inv = {
        "A": make_invoice(k1, "A", "1000.00", "2026-06-09", issue="2026-05-10"),
        "B": make_invoice(k1, "B", "2000.00", "2026-06-19", issue="2026-05-20"),
        "C": make_invoice(k2, "C", "3000.00", "2026-07-01", issue="2026-06-01"),
        "D": make_invoice(k2, "D", "1500.00", "2026-06-20", issue="2026-06-10"),
        "E": make_invoice(k3, "E", "500.00", "2026-04-14", issue="2026-03-15"),
        "F": make_invoice(k3, "F", "800.00", "2026-03-03", issue="2026-02-01"),
        "G": make_invoice(k4, "G", "700.00", "2026-07-20", issue="2026-06-20"),
        "H": make_invoice(k4, "H", "400.00", "2026-05-20", issue="2026-04-20"),
    }
    pay(k1, "1000.00", "2026-06-05", invoice=inv["A"])
    pay(k2, "1000.00", "2026-06-15", invoice=inv["C"])
    pay(k2, "1500.00", "2026-06-25", invoice=inv["D"])
    send(k1, "2026-06-01", "reminder")
    send(k2, "2026-06-22", "firm_reminder")
    return inv


def test_each_kpi_from_the_database_equals_the_hand_computation(kpi_ledger: dict, acme: Any) -> None:
    """The figures of tests/unit/test_kpi.py (worked out there by hand), now read from the ledger."""
    from mahnwerk.insights.services import company_kpis

    report = company_kpis(acme, JUNE, forecast=False)
    assert report.credit_sales_minor == 5200 * E  # C 3000 + D 1500 + G 700
    assert report.receivables_minor == 6400 * E  # B 2000 + C 2000 + E 500 + F 800 + G 700 + H 400
    assert report.current_receivables_minor == 2700 * E  # C 2000 + G 700
    assert report.dso == pytest.approx(6400 / 5200 * 30)  # 36.923
    assert report.best_possible_dso == pytest.approx(2700 / 5200 * 30)  # 15.577
    assert report.average_days_delinquent == pytest.approx(3700 / 5200 * 30)  # 21.346
    assert report.dso_count_back == pytest.approx(42.4)  # 30 + 31 x 1200 / 3000
    assert report.cei == pytest.approx(3500 / 7200 * 100)  # (4700 + 5200 - 6400) / (4700 + 5200 - 2700)
    assert {b.label: (b.amount_minor // E, b.count) for b in report.aging} == {
        "current": (2700, 2),
        "1-30": (2000, 1),
        "31-60": (400, 1),
        "61-90": (500, 1),
        "90+": (800, 1),
    }
    # messages belong to the debtor: K1's reminder of 06-01 precedes A's payment of 06-05; K2's
    # firm reminder of 06-22 precedes D's payment of 06-25 but not C's part payment of 06-15
    assert report.collected_per_step == {"": 1000 * E, "firm_reminder": 1500 * E, "reminder": 1000 * E}
    assert report.promises_kept_rate is None  # no promises recorded
    assert report.forecast is None


def test_the_cash_forecast_from_fallback_predictions(kpi_ledger: dict, acme: Any) -> None:
    """Known outcomes on 06-30: A on time; D paid 5 days late; B, E, F, H overdue -> 5 late of 6, mean days
    late of the settled ones (0 + 5) / 2 = 2.5. Every debtor has fewer than 3 outcomes, so each open
    invoice gets the company share p = 5/6 (overdue ones p = 1 and their age as days late).
    Week 0 is 06-30..07-06: B late share at 06-19 + 11 = 06-30, C 2000 (on time part at 07-01, late part
    at 07-01 + 2.5 / (5/6) = 3 days), E at 04-14 + 77 = 06-30, H at 05-20 + 41 = 06-30: 4900.00.
    G 700: 1/6 = 116.67 on 07-20 (day 20: week 2), 5/6 = 583.33 on 07-23 or 07-24 (week 3).
    F is 119 days past due: doubtful, not forecast."""
    from mahnwerk.insights.services import company_kpis

    forecast = company_kpis(acme, JUNE).forecast
    assert forecast is not None
    weeks = [w.expected_minor for w in forecast.weeks]
    assert weeks[0] == 4900 * E
    assert weeks[2] == 11667 and weeks[3] == 58333
    assert sum(weeks) == 4900 * E + 700 * E
    assert forecast.doubtful_minor == 800 * E
    assert forecast.later_minor == 0 and forecast.unpredicted_minor == 0
    assert forecast.total_minor == 6400 * E


def test_predictions_with_too_little_history_use_the_fallback_and_say_so(kpi_ledger: dict, acme: Any) -> None:
    from mahnwerk.insights.models import InvoicePrediction
    from mahnwerk.insights.services import predict_open_invoices

    rows = {r.invoice.number: r for r in predict_open_invoices(acme, D("2026-06-30"))}
    assert set(rows) == {"B", "C", "E", "F", "G", "H"}
    assert rows["C"].p_late == pytest.approx(5 / 6) and rows["G"].p_late == pytest.approx(5 / 6)
    assert rows["C"].expected_days_late == pytest.approx(2.5)
    assert rows["B"].p_late == 1.0 and rows["B"].already_overdue and rows["B"].expected_days_late == 11
    assert all(r.model_version.startswith("fallback 2026-06-30 n=6") for r in rows.values())
    with translation.override("en"):
        assert rows["C"].notice_text() == (
            "Too little payment history for a trained model: 6 invoices with a known outcome "
            "(5 late, 1 on time); at least 200 are needed, with 20 of each kind. "
            "Estimated from all invoices of the company."
        )
    assert InvoicePrediction.objects.filter(company=acme).count() == 6
    predict_open_invoices(acme, D("2026-06-30"))  # replaces, does not add
    assert InvoicePrediction.objects.filter(company=acme).count() == 6


def test_no_history_at_all_gives_no_probability(
    acme: Any, make_debtor: Callable[..., Any], make_invoice: Any
) -> None:
    from mahnwerk.insights.services import predict_open_invoices, worklist

    make_invoice(make_debtor(), "N-1", "100.00", "2026-07-31", issue="2026-07-01")
    (row,) = predict_open_invoices(acme, D("2026-07-02"))
    assert row.p_late is None and row.expected_days_late is None
    with translation.override("en"):
        assert row.notice_text().endswith("Estimated from nothing: there is no payment history yet.")
    result = worklist(acme, D("2026-07-02"))
    assert result.rows == [] and result.unpredicted == 1


def test_worklist_order_and_reason(kpi_ledger: dict, acme: Any) -> None:
    """Value = open x P(late) x help share. Both reminders were followed by a payment within 14 days
    (A on 06-05, D on 06-25): email answered 2 of 2, so the help share is (1 + 5 x 1) / (1 + 5) = 1 for
    K1 and K2 and (0 + 5 x 1) / 5 = 1 for the others. Values: B 2000 x 1, C 2000 x 5/6 = 1666.67,
    F 800 x 1, G 700 x 5/6 = 583.33, E 500 x 1, H 400 x 1."""
    from mahnwerk.insights.services import refresh_insights, worklist

    refresh_insights(acme, D("2026-06-30"))
    with translation.override("en"):
        result = worklist(acme, D("2026-06-30"))
    assert [r.invoice_number for r in result.rows] == ["B", "C", "F", "G", "E", "H"]
    assert result.rows[1].value_minor == pytest.approx(200000 * 5 / 6)
    assert result.rows[0].channel == "email"
    assert result.rows[0].reason == "€2,000.00 open, 100% risk of loss, email helped in 100% of cases"
    assert result.rows[1].reason == "€2,000.00 open, 83% risk of loss, email helped in 100% of cases"
    assert result.rows[0].notice.startswith("Too little payment history")
    assert len(worklist(acme, D("2026-06-30"), limit=2).rows) == 2


# --------------------------------------------------------------------------------------------------
# Commands


def call(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_commands_read_the_ledger(kpi_ledger: dict, acme: Any, data_dir: Path) -> None:
    refreshed = json.loads(call("insights", "refresh", "--company", "acme", "--date", "2026-06-30", "--json"))
    assert refreshed["debtors"] == 4 and sum(refreshed["segments"].values()) == 4
    with translation.override("en"):
        assert "4 debtors profiled as of 2026-06-30" in call("insights", "refresh", "--date", "2026-06-30")
    predicted = json.loads(call("insights", "predict", "--company", "acme", "--date", "2026-06-30", "--json"))
    assert len(predicted) == 6 and all(p["notice"] for p in predicted)
    kpis = json.loads(
        call("kpi", "--company", "acme", "--from", "2026-06-01", "--to", "2026-06-30", "--json")
    )
    assert kpis["credit_sales_minor"] == 5200 * E and kpis["receivables_minor"] == 6400 * E
    assert kpis["cei"] == pytest.approx(3500 / 7200 * 100)
    trained = json.loads(call("model", "train", "--company", "acme", "--date", "2026-06-30", "--json"))
    assert trained["kind"] == "fallback" and Path(trained["path"]).exists()
    assert Path(trained["path"]).is_relative_to(data_dir)
    listed = json.loads(call("worklist", "--company", "acme", "--date", "2026-06-30", "--json"))
    assert [r["invoice"] for r in listed["rows"]] == ["B", "C", "F", "G", "E", "H"]
    text = call("worklist", "--company", "acme", "--date", "2026-06-30")
    assert "B" in text and "email" in text
    from django.core.management import CommandError

    with pytest.raises(CommandError):  # 6 known outcomes cannot be split into a forward test
        call("model", "evaluate", "--company", "acme", "--date", "2026-06-30")


def test_enough_history_trains_a_model_whose_reasons_are_stored(
    acme: Any, make_debtor: Callable[..., Any]
) -> None:
    """30 customers with 10 monthly invoices each; the even ones always pay 20 days late, the odd ones 2
    days early. On 2025-10-27 about 260 invoices have a known outcome (enough for a model), and each
    customer's newest invoice is not yet due: the model must tell the two groups apart."""
    from datetime import timedelta

    from mahnwerk.insights.services import predict_open_invoices
    from mahnwerk.ledger.models import Invoice
    from mahnwerk.ledger.services import Receipt, create_invoices, record_payments

    debtors = [make_debtor(email=None) for _ in range(30)]
    rows = []
    for i, debtor in enumerate(debtors):
        for m in range(10):
            issue = date(2025, 1, 1) + timedelta(days=30 * m + i)
            rows.append(
                Invoice(
                    company=acme,
                    debtor=debtor,
                    number=f"M-{i}-{m}",
                    issue_date=issue,
                    due_date=issue + timedelta(days=30),
                    amount_minor=(100 + 50 * (m % 3)) * E,
                    open_minor=(100 + 50 * (m % 3)) * E,
                    currency="EUR",
                )
            )
    created = create_invoices(acme, rows)
    record_payments(
        acme,
        [
            Receipt(
                inv.debtor_id,
                inv.amount_minor,
                "EUR",
                inv.due_date + timedelta(days=20 if debtors.index(inv.debtor) % 2 == 0 else -2),
                invoice_id=inv.pk,
            )
            for inv in created
            if not inv.number.endswith("-9")
        ],
    )
    as_of = D("2025-10-27")
    predictions = {p.invoice.number: p for p in predict_open_invoices(acme, as_of)}
    assert all(p.model_version.startswith("gbm 2025-10-27") for p in predictions.values())
    newest = {n: p for n, p in predictions.items() if n.endswith("-9")}
    assert len(newest) == 30 and not any(p.already_overdue for p in newest.values())
    late = [p.p_late for n, p in newest.items() if int(n.split("-")[1]) % 2 == 0]
    punctual = [p.p_late for n, p in newest.items() if int(n.split("-")[1]) % 2 == 1]
    assert min(late) > 0.7 and max(punctual) < 0.3  # type: ignore[operator]
    with translation.override("en"):
        texts = newest["M-0-9"].reason_texts()
    assert texts and all("percentage points against a typical value" in t for t in texts)
    assert newest["M-0-9"].notice is None


def test_the_retraining_task_saves_the_model_and_refreshes_the_predictions(
    kpi_ledger: dict, acme: Any, data_dir: Path
) -> None:
    from mahnwerk.insights.models import InvoicePrediction
    from mahnwerk.insights.tasks import refresh_company_insights, retrain_model

    assert refresh_company_insights.call(acme.pk, "2026-06-30")["debtors"] == 4
    result = retrain_model.call(acme.pk, "2026-06-30")
    assert result["kind"] == "fallback" and result["predictions"] == 6
    assert (data_dir / "models" / "payment-model-acme.joblib").exists()
    assert set(InvoicePrediction.objects.filter(company=acme).values_list("as_of", flat=True)) == {
        D("2026-06-30")
    }


@pytest.mark.django_db
def test_promises_and_disputes_count_only_as_they_stood_on_the_date(
    company: Any, make_debtor: Any, make_invoice: Any, pay: Any, outbox: Path
) -> None:
    from mahnwerk.collection import agreements
    from mahnwerk.core.behaviour import debtor_profiles
    from mahnwerk.insights.services import records_for

    company.claim_interest = company.charge_fees = False
    company.save()
    debtor = make_debtor()
    first = make_invoice(debtor, "RE-1", "100.00", "2026-03-01", issue="2026-02-01")
    second = make_invoice(debtor, "RE-2", "50.00", "2026-03-01", issue="2026-02-01")
    agreements.record_promise(company, debtor, [first], date(2026, 3, 20), as_of=date(2026, 3, 10))
    agreements.open_dispute(company, second, "wrong_invoice", as_of=date(2026, 3, 12))
    pay(debtor, "100.00", "2026-03-18", invoice=first)
    from mahnwerk.collection.services import run_collection

    run_collection(company, date(2026, 3, 21))  # the promise is found kept on this run
    for as_of, kept, open_disputes in (
        (date(2026, 3, 15), 0, 1),
        (date(2026, 3, 25), 1, 1),
        (date(2026, 3, 11), 0, 0),
    ):
        records = records_for(company, as_of)
        profile = debtor_profiles(records.invoices, as_of, records.promises, records.disputes)[str(debtor.pk)]
        assert (profile.promises_kept, profile.disputes_open) == (kept, open_disputes), as_of


@pytest.mark.django_db
def test_the_run_refreshes_insights_once_a_day_and_after_steps(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mahnwerk.collection.services import run_collection
    from mahnwerk.insights import services as insight_services

    calls: list[date] = []
    real = insight_services.refresh_insights
    monkeypatch.setattr(insight_services, "refresh_insights", lambda c, d: calls.append(d) or real(c, d))
    make_invoice(make_debtor(), "RE-1", "10.00", "2026-03-01")
    run_collection(company, date(2026, 3, 5))  # nothing due, but the first run of the day: refresh
    run_collection(company, date(2026, 3, 5))  # nothing new: no refresh
    run_collection(company, date(2026, 3, 8))  # a reminder: refresh
    assert calls == [date(2026, 3, 5), date(2026, 3, 8)]
