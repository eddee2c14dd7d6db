"""Payment prediction: hand-checked features, no leakage, fallback, forward test, persistence, worklist."""

from __future__ import annotations

import math
import random
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mahnwerk.core import prediction
from mahnwerk.core.behaviour import ChannelResponse, InvoiceRecord
from mahnwerk.core.prediction import (
    FEATURES,
    FallbackModel,
    InsufficientHistory,
    PaymentModel,
    WorklistItem,
    evaluate,
    invoice_features,
    load_model,
    outcome_as_of,
    predict,
    save_model,
    train,
    worklist_order,
)

D = date.fromisoformat

# ---------------------------------------------------------------------------------------------
# Features of one invoice, worked out by hand

TARGET = InvoiceRecord("T", "X", D("2026-03-10"), D("2026-04-09"), 400_00)
HISTORY = [
    # paid 10 days late, 40 days after issue (01-05 -> 02-14)
    InvoiceRecord("P1", "X", D("2026-01-05"), D("2026-02-04"), 100_00, D("2026-02-14")),
    # paid 2 days early, 28 days after issue
    InvoiceRecord("P2", "X", D("2026-02-01"), D("2026-03-03"), 300_00, D("2026-03-01")),
    # 50.00 paid 03-01, 150.00 open; overdue 5 days on 03-10
    InvoiceRecord("P3", "X", D("2026-02-20"), D("2026-03-05"), 200_00, None, ((D("2026-03-01"), 50_00),)),
    # paid on the target's own issue day: not yet known, so still open (not overdue)
    InvoiceRecord("P4", "X", D("2026-03-01"), D("2026-03-31"), 100_00, D("2026-03-10")),
    # issued the same day and later: not history
    InvoiceRecord("P5", "X", D("2026-03-10"), D("2026-03-20"), 999_00, D("2026-03-11")),
    InvoiceRecord("P6", "X", D("2026-03-12"), D("2026-03-20"), 999_00, D("2026-03-15")),
    # another customer: counts only in the company-wide share of the 90 days before
    InvoiceRecord("Y1", "Y", D("2025-12-01"), D("2026-01-01"), 50_00, D("2026-01-20")),  # late
    InvoiceRecord("Y2", "Y", D("2026-02-01"), D("2026-03-10"), 50_00, D("2026-03-09")),  # on time
    InvoiceRecord("Y3", "Y", D("2026-02-01"), D("2026-03-01"), 50_00, D("2026-03-10")),  # settled on the day
    TARGET,
]


def test_features_by_hand() -> None:
    f = invoice_features(TARGET, HISTORY)
    assert f["amount_log"] == pytest.approx(math.log1p(40000))
    assert f["terms_days"] == 30
    assert f["issue_month"] == 3
    assert f["issue_weekday"] == 1  # 2026-03-10 is a Tuesday
    assert f["prior_invoices"] == 4  # P1..P4
    assert f["prior_paid"] == 2  # P1, P2 (P4's payment is dated on the invoice day)
    assert f["prior_late_share"] == pytest.approx(2 / 3)  # P1 late, P3 overdue, P2 on time
    assert f["prior_avg_days_late"] == pytest.approx((10 - 2) / 2)
    assert f["prior_weighted_days_late"] == pytest.approx((100 * 10 + 300 * 0) / 400)  # 2.5
    assert f["last_days_late"] == -2  # P2, paid 03-01, after P1's 02-14
    assert f["prior_avg_days_to_pay"] == pytest.approx((40 + 28) / 2)
    assert f["days_since_last_invoice"] == 9  # P4 on 03-01
    assert f["customer_age_days"] == 64  # 01-05 -> 03-10: 26 + 28 + 10
    assert f["open_count"] == 2  # P3, P4
    assert f["overdue_count"] == 1
    assert f["overdue_amount_log"] == pytest.approx(math.log1p(15000))  # 200.00 - 50.00
    assert f["max_days_overdue"] == 5
    assert f["amount_vs_usual"] == pytest.approx(40000 / 15000)  # median of 100, 300, 200, 100 = 150
    # settled 12-10 .. 03-09: P1 late, P2 on time, Y1 late, Y2 on time (Y3 is on the day itself)
    assert f["company_late_share_90d"] == pytest.approx(0.5)
    assert list(f) == list(FEATURES)


def test_first_invoice_has_no_history_features() -> None:
    f = invoice_features(HISTORY[0], HISTORY)
    assert f["prior_invoices"] == 0
    assert math.isnan(f["prior_late_share"])
    assert math.isnan(f["amount_vs_usual"])


# ---------------------------------------------------------------------------------------------
# Leakage: features must be the same whether or not the future is in the history


def known_at(records: list[InvoiceRecord], day: date) -> list[InvoiceRecord]:
    """What a clerk could have seen at the start of ``day``: later invoices gone, later payments unmade."""
    cut = day - timedelta(days=1)
    out = []
    for r in records:
        if r.issue_date >= day:
            continue
        paid = r.paid_date if r.paid_date is not None and r.paid_date <= cut else None
        partial = tuple(p for p in r.partial_payments if p[0] <= cut)
        out.append(replace(r, paid_date=paid, partial_payments=partial))
    return out


def same(a: dict[str, float], b: dict[str, float]) -> bool:
    return all((math.isnan(a[k]) and math.isnan(b[k])) or a[k] == b[k] for k in a)


def leak_free(target: InvoiceRecord, records: list[InvoiceRecord]) -> bool:
    full = invoice_features(target, records)
    blind_target = replace(target, paid_date=None, partial_payments=())
    blind = invoice_features(blind_target, [*known_at(records, target.issue_date), blind_target])
    return same(full, blind)


def test_appending_future_history_does_not_change_the_features() -> None:
    before = invoice_features(TARGET, HISTORY)
    future = [
        *HISTORY,
        InvoiceRecord("F1", "X", D("2026-03-11"), D("2026-03-12"), 1, D("2026-06-01")),
        InvoiceRecord("F2", "Y", D("2026-01-01"), D("2026-01-02"), 1, D("2026-03-20")),  # settled later, late
    ]
    future[2] = replace(HISTORY[2], paid_date=D("2026-03-15"))  # P3 settled after the invoice date
    assert same(invoice_features(TARGET, future), before)
    assert leak_free(TARGET, HISTORY)


def test_the_leak_check_catches_a_leaky_feature(monkeypatch: pytest.MonkeyPatch) -> None:
    real = prediction._features

    def leaky(target, prior, company):  # counts payments made at any time, also after the invoice date
        row = real(target, prior, company)
        row[FEATURES.index("prior_paid")] = float(sum(p.paid_date is not None for p in prior))
        return row

    monkeypatch.setattr(prediction, "_features", leaky)
    assert not leak_free(TARGET, HISTORY)


DAYS = st.integers(min_value=0, max_value=120)


@st.composite
def histories(draw: st.DrawFn) -> tuple[InvoiceRecord, list[InvoiceRecord]]:
    start = D("2026-01-01")
    records = []
    for i in range(draw(st.integers(min_value=1, max_value=12))):
        issued = start + timedelta(days=draw(DAYS))
        due = issued + timedelta(days=draw(st.integers(min_value=0, max_value=40)))
        amount = draw(st.integers(min_value=1, max_value=10_000_00))
        paid = None
        if draw(st.booleans()):
            paid = issued + timedelta(days=draw(st.integers(min_value=0, max_value=90)))
        partial: tuple[tuple[date, int], ...] = ()
        if paid is None and amount > 1 and draw(st.booleans()):
            partial = ((issued + timedelta(days=draw(DAYS)), amount // 2),)
        records.append(
            InvoiceRecord(f"I{i}", draw(st.sampled_from(["A", "B"])), issued, due, amount, paid, partial)
        )
    return draw(st.sampled_from(records)), records


@settings(max_examples=150, deadline=None)
@given(histories())
def test_no_feature_reads_anything_dated_on_or_after_the_invoice_date(case) -> None:
    target, records = case
    assert leak_free(target, records)


# ---------------------------------------------------------------------------------------------
# Labels


def test_outcomes_known_on_a_day() -> None:
    paid_late = InvoiceRecord("a", "X", D("2026-01-01"), D("2026-01-31"), 1, D("2026-02-05"))
    assert outcome_as_of(paid_late, D("2026-02-05")) == prediction.Outcome(True, 5)
    assert outcome_as_of(paid_late, D("2026-02-01")) == prediction.Outcome(True, None)  # overdue, open
    assert outcome_as_of(paid_late, D("2026-01-31")) is None  # due today, still open: not known
    on_time = replace(paid_late, paid_date=D("2026-01-31"))
    assert outcome_as_of(on_time, D("2026-03-01")) == prediction.Outcome(False, 0)


# ---------------------------------------------------------------------------------------------
# Fallback with too little history


def inv(i: str, debtor: str, issued: str, days_late: int | None, terms: int = 30) -> InvoiceRecord:
    issue = D(issued)
    due = issue + timedelta(days=terms)
    return InvoiceRecord(
        i, debtor, issue, due, 100_00, None if days_late is None else due + timedelta(days_late)
    )


SMALL = [
    # A: 4 known, 3 late (10, 20, 30 days) and 1 on time -> average 60 / 4 = 15 days late
    inv("A1", "A", "2026-01-01", 10),
    inv("A2", "A", "2026-01-15", 20),
    inv("A3", "A", "2026-02-01", 30),
    inv("A4", "A", "2026-02-15", -1),
    # B: 10 known, 2 late
    *(inv(f"B{k}", "B", "2026-01-01", 5 if k < 2 else 0) for k in range(10)),
]
AS_OF = D("2026-06-30")


def test_too_little_history_falls_back_with_a_notice() -> None:
    model = train(SMALL, AS_OF)
    assert isinstance(model, FallbackModel)
    assert model.late_share == pytest.approx(5 / 14)
    open_ = [
        inv("A9", "A", "2026-06-28", None),
        inv("C9", "C", "2026-06-28", None),
        inv("E9", "E", "2026-06-28", None),
    ]
    a, c, e = predict(model, SMALL, open_, AS_OF, segments={"B": "good", "C": "good"})
    # A: own share shrunk towards the company's with 3 pseudo-invoices: (3 + 3 x 5/14) / (4 + 3) = 57/98
    assert a.p_late == pytest.approx(57 / 98)
    assert a.expected_days_late == pytest.approx(15)
    assert a.notice is not None
    assert "14 invoices with a known outcome" in a.notice.render()
    assert "the customer's own invoices" in a.notice.render()
    # C has no history; its segment "good" (B: 10 known, 2 late) has enough
    assert c.p_late == pytest.approx(0.2)
    assert "same segment" in c.notice.render()
    # E: no segment, no history -> the company share
    assert e.p_late == pytest.approx(5 / 14)
    assert "all invoices of the company" in e.notice.render()


def test_no_history_at_all_gives_no_number() -> None:
    model = train([], AS_OF)
    assert isinstance(model, FallbackModel)
    (p,) = predict(model, [], [inv("N1", "N", "2026-06-28", None)], AS_OF)
    assert p.p_late is None
    assert p.notice is not None
    assert "no payment history" in p.notice.render()


def test_evaluate_refuses_too_small_a_history() -> None:
    with pytest.raises(InsufficientHistory) as info:
        evaluate(SMALL, AS_OF)
    assert "at least 200" in info.value.notice.render()


# ---------------------------------------------------------------------------------------------
# A trained model on a synthetic ledger where customers have habits


def synthetic(seed: int = 7) -> tuple[list[InvoiceRecord], date]:
    rng = random.Random(seed)
    as_of = D("2026-06-30")
    records = []
    for d in range(60):
        habit = (0.1, 0.5, 0.9)[d % 3]  # chance of paying late
        day = D("2024-01-01") + timedelta(days=rng.randrange(30))
        for k in range(22):
            day += timedelta(days=rng.randrange(15, 45))
            if day > as_of:
                break
            due = day + timedelta(days=rng.choice([14, 30]))
            paid = due + timedelta(
                days=rng.randrange(3, 40) if rng.random() < habit else -rng.randrange(0, 5)
            )
            records.append(
                InvoiceRecord(
                    f"{d}-{k}",
                    f"D{d}",
                    day,
                    due,
                    rng.randrange(100_00, 5000_00),
                    None if paid > as_of else paid,
                )
            )
    return records, as_of


@pytest.fixture(scope="module")
def ledger() -> tuple[list[InvoiceRecord], date]:
    return synthetic()


@pytest.fixture(scope="module")
def model(ledger) -> PaymentModel:
    records, as_of = ledger
    trained = train(records, as_of)
    assert isinstance(trained, PaymentModel)
    return trained


def test_forward_test_beats_the_majority_baseline(ledger) -> None:
    records, as_of = ledger
    result = evaluate(records, as_of)
    assert result.auc is not None and result.auc > 0.75
    assert result.accuracy > result.baseline_accuracy
    assert result.brier < result.baseline_brier
    assert result.n_test == pytest.approx(0.3 * (result.n_test + result.n_train), abs=60)
    assert result.as_dict()["split_date"] == result.split_date.isoformat()


def test_predictions_follow_habits_and_give_reasons(ledger, model) -> None:
    records, as_of = ledger
    day = D("2026-06-25")
    new = [
        InvoiceRecord("new-late", "D2", day, day + timedelta(days=30), 1000_00),  # habit 0.9
        InvoiceRecord("new-good", "D0", day, day + timedelta(days=30), 1000_00),  # habit 0.1
    ]
    late, good = predict(model, [*records, *new], new, as_of)
    assert late.p_late is not None and good.p_late is not None
    assert 0 <= good.p_late < late.p_late <= 1
    assert late.expected_days_late is not None and late.expected_days_late > good.expected_days_late
    assert late.notice is None and not late.already_overdue
    assert 1 <= len(late.reasons) <= 3
    history_labels = {prediction.FEATURE_LABELS[f] for f in FEATURES if f.startswith(("prior_", "last_"))}
    assert late.reasons[0].params["label"] in history_labels
    assert "percentage points" in late.reasons[0].render()


def test_an_overdue_invoice_is_late_already(ledger, model) -> None:
    records, as_of = ledger
    overdue = InvoiceRecord("od", "D0", D("2026-05-01"), D("2026-05-31"), 100_00)
    (p,) = predict(model, [*records, overdue], [overdue], as_of)
    assert p.already_overdue and p.p_late == 1.0
    assert p.expected_days_late is not None and p.expected_days_late >= 30  # 05-31 -> 06-30
    assert "Already overdue by 30 days" in p.reasons[0].render()


def test_save_and_load(tmp_path: Path, ledger, model) -> None:
    records, as_of = ledger
    path = save_model(model, tmp_path / "m" / "model.joblib")
    again = load_model(path)
    open_ = [r for r in records if r.paid_date is None][:5]
    assert predict(again, records, open_, as_of) == predict(model, records, open_, as_of)
    import joblib

    joblib.dump({"not": "a model"}, tmp_path / "other.joblib")
    with pytest.raises(ValueError, match="train it again"):
        load_model(tmp_path / "other.joblib")


# ---------------------------------------------------------------------------------------------
# Worklist order


def test_worklist_by_expected_value_of_acting_now() -> None:
    items = [
        # help = (3 + 5 x 0.5) / (4 + 5) = 5.5 / 9; value = 100000 x 0.5 x 5.5 / 9 = 30555.6
        WorklistItem("W1", "A", 1000_00, 0.5, "email", ChannelResponse(4, 3), 0.5),
        # help = (0 + 5 x 0.3) / 5 = 0.3; value = 200000 x 0.2 x 0.3 = 12000
        WorklistItem("W2", "B", 2000_00, 0.2, "sms", None, 0.3),
        # no history anywhere: 0.5 assumed; value = 50000 x 0.9 x 0.5 = 22500
        WorklistItem("W3", "C", 500_00, 0.9, "call"),
    ]
    entries = worklist_order(items)
    assert [e.item.invoice_id for e in entries] == ["W1", "W3", "W2"]
    assert [round(e.value_minor, 1) for e in entries] == [30555.6, 22500.0, 12000.0]
    assert "assumed" in entries[1].reason.render()
    assert "61% of cases" in entries[0].reason.render()


def test_worklist_ties_go_to_the_larger_amount_then_the_older_item() -> None:
    a = WorklistItem("a", "A", 100, 1.0, "email", None, 0.5, due_date=D("2026-02-01"))
    b = WorklistItem("b", "A", 200, 0.5, "email", None, 0.5, due_date=D("2026-03-01"))
    c = WorklistItem("c", "A", 200, 0.5, "email", None, 0.5, due_date=D("2026-01-01"))
    assert [e.item.invoice_id for e in worklist_order([a, b, c])] == ["c", "b", "a"]


def test_bulk_features_equal_one_by_one(ledger) -> None:
    records, _ = ledger
    sample = records[::97]
    bulk = prediction.feature_matrix(sample, records)
    for target, row in zip(sample, bulk, strict=True):
        assert same(dict(zip(FEATURES, row, strict=True)), invoice_features(target, records))


def test_the_fallback_notice_is_translated_as_a_whole() -> None:
    model = train(SMALL, AS_OF)
    (p,) = predict(model, SMALL, [inv("E9", "E", "2026-06-28", None)], AS_OF)
    german = {
        "{shortage} Estimated from {basis}.": "{shortage} Geschätzt aus {basis}.",
        "all invoices of the company": "allen Rechnungen des Unternehmens",
    }

    def translate(message: str) -> str:
        return (
            "Zu wenig Zahlungshistorie." if message.startswith("Too little") else german.get(message, message)
        )

    assert p.notice is not None
    assert (
        p.notice.render(translate)
        == "Zu wenig Zahlungshistorie. Geschätzt aus allen Rechnungen des Unternehmens."
    )
