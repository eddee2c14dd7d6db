"""Each KPI against one small ledger worked out by hand (amounts in EUR; records hold cents)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mahnwerk.core.behaviour import InvoiceRecord, MessageRecord, PromiseRecord
from mahnwerk.core.kpi import (
    CashForecast,
    Period,
    aging,
    average_days_delinquent,
    best_possible_dso,
    cash_forecast,
    cei,
    collected_per_step,
    credit_sales,
    current_receivables_at,
    dso_count_back,
    dso_simple,
    kpi_report,
    promises_kept_rate,
    receivables_at,
)
from mahnwerk.core.prediction import Prediction

D = date.fromisoformat
JUNE = Period.month(2026, 6)  # 06-01 .. 06-30, 30 days
E = 100  # cents per euro

LEDGER = [
    # A 1000 issued in May, paid 06-05
    InvoiceRecord("A", "K1", D("2026-05-10"), D("2026-06-09"), 1000 * E, D("2026-06-05")),
    # B 2000 issued in May, open; 11 days past due on 06-30
    InvoiceRecord("B", "K1", D("2026-05-20"), D("2026-06-19"), 2000 * E),
    # C 3000 issued in June, 1000 paid 06-15, 2000 open and current (due 07-01)
    InvoiceRecord(
        "C", "K2", D("2026-06-01"), D("2026-07-01"), 3000 * E, None, ((D("2026-06-15"), 1000 * E),)
    ),
    # D 1500 issued in June, paid 06-25
    InvoiceRecord("D", "K2", D("2026-06-10"), D("2026-06-20"), 1500 * E, D("2026-06-25")),
    # E 500 issued in March, open; 77 days past due on 06-30 (04-14 -> 06-30: 16 + 31 + 30)
    InvoiceRecord("E", "K3", D("2026-03-15"), D("2026-04-14"), 500 * E),
    # F 800 issued in February, open; 119 days past due (03-03 -> 06-30: 28 + 30 + 31 + 30)
    InvoiceRecord("F", "K3", D("2026-02-01"), D("2026-03-03"), 800 * E),
    # G 700 issued in June, open, current
    InvoiceRecord("G", "K4", D("2026-06-20"), D("2026-07-20"), 700 * E),
    # H 400 issued in April, open; 41 days past due (05-20 -> 06-30: 11 + 30)
    InvoiceRecord("H", "K4", D("2026-04-20"), D("2026-05-20"), 400 * E),
]


def test_building_blocks() -> None:
    # sales in June: C 3000 + D 1500 + G 700
    assert credit_sales(LEDGER, JUNE.start, JUNE.end) == 5200 * E
    # AR(06-30): B 2000 + C 2000 + E 500 + F 800 + G 700 + H 400
    assert receivables_at(LEDGER, JUNE.end) == 6400 * E
    # current (due on or after 06-30): C 2000 + G 700
    assert current_receivables_at(LEDGER, JUNE.end) == 2700 * E
    # AR(05-31): A 1000 + B 2000 + E 500 + F 800 + H 400
    assert receivables_at(LEDGER, D("2026-05-31")) == 4700 * E


def test_dso_simple() -> None:
    # 6400 / 5200 x 30 = 36.923
    assert dso_simple(LEDGER, JUNE) == pytest.approx(6400 / 5200 * 30)
    assert dso_simple(LEDGER, JUNE) == pytest.approx(36.923, abs=1e-3)


def test_best_possible_dso_and_average_days_delinquent() -> None:
    # 2700 / 5200 x 30 = 15.577; ADD = 36.923 - 15.577 = 3700 / 5200 x 30 = 21.346
    assert best_possible_dso(LEDGER, JUNE) == pytest.approx(15.577, abs=1e-3)
    assert average_days_delinquent(LEDGER, JUNE) == pytest.approx(21.346, abs=1e-3)


def test_dso_count_back() -> None:
    # AR 6400; June sales 5200 < 6400 -> 30 days, 1200 left; May sales (A 1000 + B 2000) = 3000 > 1200
    # -> 31 x 1200 / 3000 = 12.4 days; total 42.4
    assert dso_count_back(LEDGER, JUNE.end) == pytest.approx(42.4)
    # mid-month: AR(06-15) = B 2000 + C 2000 + D 1500 + E 500 + F 800 + H 400 = 7200;
    # sales 06-01..06-15 = C 3000 + D 1500 = 4500 -> 15 days, 2700 left; May 3000 -> 31 x 2700 / 3000 = 27.9
    assert dso_count_back(LEDGER, D("2026-06-15")) == pytest.approx(15 + 27.9)
    # with only two months to look back, 06-30 still fits; a limit of one month does not
    assert dso_count_back(LEDGER, JUNE.end, max_months=1) is None


def test_cei() -> None:
    # (4700 + 5200 - 6400) / (4700 + 5200 - 2700) x 100 = 3500 / 7200 x 100 = 48.611 %
    assert cei(LEDGER, JUNE) == pytest.approx(48.611, abs=1e-3)
    # cross-check: collected in June = A 1000 + C 1000 + D 1500 = 3500, the numerator
    assert 4700 + 5200 - 6400 == 1000 + 1000 + 1500


def test_aging_buckets() -> None:
    buckets = {b.label: (b.amount_minor // E, b.count) for b in aging(LEDGER, JUNE.end)}
    assert buckets == {
        "current": (2700, 2),  # C, G
        "1-30": (2000, 1),  # B, 11 days
        "31-60": (400, 1),  # H, 41 days
        "61-90": (500, 1),  # E, 77 days
        "90+": (800, 1),  # F, 119 days
    }
    assert sum(b.amount_minor for b in aging(LEDGER, JUNE.end)) == receivables_at(LEDGER, JUNE.end)


def test_aging_bucket_edges() -> None:
    day = D("2026-06-30")
    edges = [
        InvoiceRecord(str(n), "K", D("2026-01-01"), day.fromordinal(day.toordinal() - n), 1)
        for n in (0, 1, 30, 31, 60, 61, 90, 91)
    ]
    assert [b.count for b in aging(edges, day)] == [1, 2, 2, 2, 1]


def test_amount_collected_per_step() -> None:
    messages = [
        MessageRecord("K1", D("2026-06-01"), "email", "reminder", "A"),  # A paid 06-05 -> reminder
        MessageRecord("K1", D("2026-06-01"), "email", "reminder", "B"),  # B not paid
        MessageRecord("K2", D("2026-06-17"), "email", "pre_due", "D"),  # superseded by the later step
        MessageRecord("K2", D("2026-06-22"), "email", "firm", "D"),  # D paid 06-25 -> firm
        MessageRecord("K2", D("2026-05-01"), "letter", "statement"),  # more than 30 days before C's 06-15
    ]
    assert collected_per_step(LEDGER, messages, JUNE) == {
        "": 1000 * E,
        "firm": 1500 * E,
        "reminder": 1000 * E,
    }
    # with a 45-day window, the debtor-level statement of 05-01 is credited with C's partial payment
    assert collected_per_step(LEDGER, messages, JUNE, window_days=45)["statement"] == 1000 * E


def test_promises_kept_rate() -> None:
    promises = [
        PromiseRecord("K1", D("2026-06-01"), D("2026-06-10"), 1, True),
        PromiseRecord("K1", D("2026-06-01"), D("2026-06-20"), 1, False),
        PromiseRecord("K2", D("2026-06-01"), D("2026-06-25"), 1, True),
        PromiseRecord("K2", D("2026-06-01"), D("2026-07-05"), 1, True),  # falls due in July
        PromiseRecord("K3", D("2026-06-01"), D("2026-06-28"), 1, None),  # not resolved
    ]
    assert promises_kept_rate(promises, JUNE) == pytest.approx(2 / 3)
    assert promises_kept_rate([], JUNE) is None


def pred(i: str, due: str, open_minor: int, p: float | None, days: float | None) -> Prediction:
    return Prediction(i, "K", D(due), open_minor, p, days)


def test_cash_forecast() -> None:
    as_of = D("2026-06-30")  # week k covers 06-30 + 7k .. + 6
    forecast = cash_forecast(
        [
            # X: 750 on time on 07-10 (10 days -> week 1); 250 late: E / p = 8 / 0.25 = 32 days after due,
            # 08-11 (42 days -> week 6)
            pred("X", "2026-07-10", 1000 * E, 0.25, 8),
            # Y: overdue, p = 1: all 2000 at 06-19 + 20 = 07-09 (9 days -> week 1)
            pred("Y", "2026-06-19", 2000 * E, 1.0, 20),
            # V: due in the past; on-time part 900 at max(06-25, as_of) = week 0;
            # late 100 at 06-25 + 1 / 0.1 = 07-05 (5 days -> week 0)
            pred("V", "2026-06-25", 1000 * E, 0.1, 1),
            # Z: due 12-01, 154 days away: both halves later than 13 weeks
            pred("Z", "2026-12-01", 500 * E, 0.5, 3),
            # W: no prediction possible
            pred("W", "2026-07-01", 300 * E, None, None),
            # O: 121 days past due (03-01 -> 06-30: 30 + 30 + 31 + 30), more than 90: doubtful
            pred("O", "2026-03-01", 400 * E, 1.0, 121),
            # Q: exactly 90 days past due (04-01 -> 06-30): still forecast, at max(04-01 + 90, as_of) = week 0
            pred("Q", "2026-04-01", 10 * E, 1.0, 90),
        ],
        as_of,
    )
    weeks = [w.expected_minor // E for w in forecast.weeks]
    assert weeks == [1010, 2750, 0, 0, 0, 0, 250, 0, 0, 0, 0, 0, 0]
    assert forecast.weeks[1].start == D("2026-07-07") and forecast.weeks[1].end == D("2026-07-13")
    assert forecast.later_minor == 500 * E
    assert forecast.unpredicted_minor == 300 * E
    assert forecast.doubtful_minor == 400 * E
    assert forecast.total_minor == (1000 + 2000 + 1000 + 500 + 300 + 400 + 10) * E


def test_cash_forecast_loses_no_cent() -> None:
    # 333 cents, p = 0.5: late share rounds half up to 167, the on-time share is the rest, 166
    forecast = cash_forecast([pred("R", "2026-07-01", 333, 0.5, 14)], D("2026-06-30"))
    assert [w.expected_minor for w in forecast.weeks[:5]] == [166, 0, 0, 0, 167]  # 07-01; 07-01 + 28 = 07-29
    assert isinstance(forecast, CashForecast) and forecast.total_minor == 333


def test_report_and_currency_check() -> None:
    report = kpi_report(LEDGER, JUNE)
    assert report.dso == pytest.approx(6400 / 5200 * 30)
    assert report.cei == pytest.approx(3500 / 7200 * 100)
    assert report.forecast is None
    with pytest.raises(ValueError, match="one currency"):
        dso_simple(
            [*LEDGER, InvoiceRecord("Z", "K", D("2026-06-01"), D("2026-06-02"), 1, currency="USD")], JUNE
        )


def test_no_sales_no_dso() -> None:
    assert dso_simple(LEDGER, Period(D("2026-01-01"), D("2026-01-31"))) is None


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=-200, max_value=200),  # due date relative to as_of
            st.integers(min_value=0, max_value=10**9),  # open amount in cents
            st.one_of(st.none(), st.floats(min_value=0, max_value=1)),  # P(late)
            st.floats(min_value=0, max_value=400),  # expected days late
        ),
        max_size=30,
    )
)
def test_cash_forecast_never_loses_or_makes_a_cent(items) -> None:
    as_of = D("2026-06-30")
    preds = [
        Prediction(str(i), "K", date.fromordinal(as_of.toordinal() + due), amount, p, days)
        for i, (due, amount, p, days) in enumerate(items)
    ]
    forecast = cash_forecast(preds, as_of)
    assert forecast.total_minor == sum(amount for _, amount, _, _ in items)
    assert all(w.expected_minor >= 0 for w in forecast.weeks)
