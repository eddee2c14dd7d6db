"""Worked examples of statutory interest, each computed by hand (the arithmetic is in the comment).

Formula per segment: principal x (base + margin) / 100 x days / 365 (act365) or / 366 (actact in a
leap year), rounded to the cent half up. Base rates: Deutsche Bundesbank § 247 BGB table; the
EU/LV reference rate: ECB main refinancing rate on 1 January / 1 July. Days are counted with both
ends included (15 Jan .. 30 Jun 2023 = 17 + 28 + 31 + 30 + 31 + 30 = 167).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pytest

from mahnwerk.core.interest import Payment, statutory_interest
from mahnwerk.core.rates import load_tables, percent_to_units
from mahnwerk.core.rulesets import DayCount, packaged_rulebook


@dataclass(frozen=True)
class Example:
    name: str
    jurisdiction: str
    kind: str
    principal: int  # cents
    first: date
    last: date
    segments: list[int]  # expected cents per segment
    total: int
    arose: date | None = None
    day_count: DayCount | None = None
    payments: list[Payment] = field(default_factory=list)
    costs: int = 0
    contract: str | None = None
    principal_open: int | None = None
    interest_open: int | None = None
    costs_open: int | None = None


D = date
EXAMPLES = [
    # 1. DE B2B across 1 Jul and 1 Jan: base 1.62 / 3.12 / 3.62 + 9 pp.
    #    1000 x 10.62 % x 167/365 = 48.5901 -> 48.59; 1000 x 12.12 % x 184/365 = 61.0981 -> 61.10;
    #    1000 x 12.62 % x 61/365 (1 Jan .. 1 Mar 2024 = 31 + 29 + 1) = 21.0910 -> 21.09. Total 130.78.
    Example(
        "de_b2b_two_changes",
        "DE",
        "business",
        100000,
        D(2023, 1, 15),
        D(2024, 3, 1),
        [4859, 6110, 2109],
        13078,
    ),
    # 2. The same with actual/actual: the 2024 segment over 366 days:
    #    1000 x 12.62 % x 61/366 = 21.0333 -> 21.03.
    #    48.59 + 61.10 + 21.03 = 130.72.
    Example(
        "de_b2b_actact_leap",
        "DE",
        "business",
        100000,
        D(2023, 1, 15),
        D(2024, 3, 1),
        [4859, 6110, 2103],
        13072,
        day_count=DayCount.ACTACT,
    ),
    # 3. DE consumer, same period, + 5 pp: 6.62 / 8.12 / 8.62 %.
    #    1000 x 6.62 % x 167/365 = 30.2888 -> 30.29; x 8.12 % x 184/365 = 40.9337 -> 40.93;
    #    x 8.62 % x 61/365 = 14.4060 -> 14.41. Total 85.63.
    Example("de_consumer", "DE", "consumer", 100000, D(2023, 1, 15), D(2024, 3, 1), [3029, 4093, 1441], 8563),
    # 4. Negative base rate 2016 (-0.83 % H1, -0.88 % H2), B2B + 9 pp = 8.17 / 8.12 %, act365.
    #    5000 x 8.17 % x 91/365 (Apr 30 + May 31 + Jun 30) = 101.8452 -> 101.85;
    #    5000 x 8.12 % x 92/365 (Jul 31 + Aug 31 + Sep 30) = 102.3342 -> 102.33. Total 204.18.
    Example(
        "de_negative_base_act365",
        "DE",
        "business",
        500000,
        D(2016, 4, 1),
        D(2016, 9, 30),
        [10185, 10233],
        20418,
        arose=D(2016, 3, 1),
    ),
    # 5. The same in actual/actual (2016 is a leap year): 5000 x 8.17 % x 91/366 = 101.5669 -> 101.57;
    #    5000 x 8.12 % x 92/366 = 102.0546 -> 102.05. Total 203.62.
    Example(
        "de_negative_base_actact",
        "DE",
        "business",
        500000,
        D(2016, 4, 1),
        D(2016, 9, 30),
        [10157, 10205],
        20362,
        arose=D(2016, 3, 1),
        day_count=DayCount.ACTACT,
    ),
    # 6. Claim arose before 2014-07-29: B2B margin 8 pp; base -0.63 (H1 2014), -0.73 (H2): 7.37 / 7.27 %.
    #    2000 x 7.37 % x 21/365 (10 .. 30 Jun) = 8.4805 -> 8.48; 2000 x 7.27 % x 184/365 = 73.2975 -> 73.30.
    #    Total 81.78.
    Example(
        "de_b2b_margin_8_before_2014_07_29",
        "DE",
        "business",
        200000,
        D(2014, 6, 10),
        D(2014, 12, 31),
        [848, 7330],
        8178,
        arose=D(2014, 5, 10),
    ),
    # 7. Claim arose on 2014-07-29: margin 9 pp; 1 Aug .. 31 Dec 2014 = 153 days at -0.73 + 9 = 8.27 %:
    #    2000 x 8.27 % x 153/365 = 69.3321 -> 69.33.
    Example(
        "de_b2b_margin_9_from_2014_07_29",
        "DE",
        "business",
        200000,
        D(2014, 8, 1),
        D(2014, 12, 31),
        [6933],
        6933,
        arose=D(2014, 7, 29),
    ),
    # 8. Across the turn from negative to positive base: -0.88 (H2 2022) -> 1.62 (H1 2023),
    #    B2B 8.12 / 10.62 %.
    #    3000 x 8.12 % x 17/365 (15 .. 31 Dec) = 11.3458 -> 11.35; 3000 x 10.62 % x 15/365 = 13.0932 -> 13.09.
    Example(
        "de_b2b_negative_to_positive",
        "DE",
        "business",
        300000,
        D(2022, 12, 15),
        D(2023, 1, 15),
        [1135, 1309],
        2444,
        arose=D(2022, 11, 1),
    ),
    # 9. § 367 BGB: 40.00 costs, payment of 300.00 on 1 Jun 2023 (interest runs on the payment day).
    #    15 Jan .. 1 Jun = 138 days: 1000 x 10.62 % x 138/365 = 40.1523 -> 40.15.
    #    300.00 -> costs 40.00, interest 40.15, principal 219.85; principal now 780.15.
    #    2 .. 30 Jun = 29 days: 780.15 x 10.62 % x 29/365 = 6.5828 -> 6.58;
    #    Jul .. Dec: 780.15 x 12.12 % x 184/365 = 47.6657 -> 47.67;
    #    2024: 780.15 x 12.62 % x 61/365 = 16.4541 -> 16.45.
    #    Accrued 40.15 + 6.58 + 47.67 + 16.45 = 110.85, of which 70.70 open.
    Example(
        "de_b2b_partial_payment_367",
        "DE",
        "business",
        100000,
        D(2023, 1, 15),
        D(2024, 3, 1),
        [4015, 658, 4767, 1645],
        11085,
        payments=[Payment(D(2023, 6, 1), 30000)],
        costs=4000,
        principal_open=78015,
        interest_open=7070,
        costs_open=0,
    ),
    # 10. DE consumer, payment larger than the debt on the last day: 200 x 8.12 % x 31/365 = 1.3793 -> 1.38;
    #     205.00 -> interest 1.38, principal 200.00, 3.62 unapplied.
    Example(
        "de_consumer_overpayment",
        "DE",
        "consumer",
        20000,
        D(2023, 7, 1),
        D(2023, 7, 31),
        [138],
        138,
        payments=[Payment(D(2023, 7, 31), 20500)],
        principal_open=0,
        interest_open=0,
    ),
    # 11. LV commercial: reference 2.50 % (H1 2023), 4.00 % (H2) + 8 pp = 10.50 / 12.00 %.
    #     1000 x 10.5 % x 122/365 (Mar 31 + Apr 30 + May 31 + Jun 30) = 35.0959 -> 35.10;
    #     1000 x 12 % x 184/365 = 60.4932 -> 60.49. Total 95.59.
    Example("lv_commercial", "LV", "business", 100000, D(2023, 3, 1), D(2023, 12, 31), [3510, 6049], 9559),
    # 12. LV commercial, payment 100.00 on 31 May, order interest -> principal -> penalty -> costs
    #     (the 40.00 costs stay open). 1 Mar .. 31 May = 92 days: 1000 x 10.5 % x 92/365 = 26.4658 -> 26.47;
    #     principal 1000 - 73.53 = 926.47. June 30 days: 926.47 x 10.5 % x 30/365 = 7.9956 -> 8.00;
    #     H2: 926.47 x 12 % x 184/365 = 56.0451 -> 56.05. Interest open 8.00 + 56.05 = 64.05.
    Example(
        "lv_commercial_partial_payment",
        "LV",
        "business",
        100000,
        D(2023, 3, 1),
        D(2023, 12, 31),
        [2647, 800, 5605],
        9052,
        payments=[Payment(D(2023, 5, 31), 10000)],
        costs=4000,
        principal_open=92647,
        interest_open=6405,
        costs_open=4000,
    ),
    # 13. LV consumer, 6 % fixed, 10 Jan .. 31 Dec 2024 = 357 days: 500 x 6 % x 357/365 = 29.3425 -> 29.34.
    Example("lv_consumer_act365", "LV", "consumer", 50000, D(2024, 1, 10), D(2024, 12, 31), [2934], 2934),
    # 14. The same, actual/actual: 500 x 6 % x 357/366 = 29.2623 -> 29.26.
    Example(
        "lv_consumer_actact",
        "LV",
        "consumer",
        50000,
        D(2024, 1, 10),
        D(2024, 12, 31),
        [2926],
        2926,
        day_count=DayCount.ACTACT,
    ),
    # 15. LV consumer across the year end, actual/actual splits at 1 Jan:
    #     1000 x 6 % x 31/365 = 5.0959 -> 5.10;
    #     1000 x 6 % x 31/366 = 5.0820 -> 5.08. Total 10.18 (act365 would give 62 days: 10.1918 -> 10.19).
    Example(
        "lv_consumer_actact_year_end",
        "LV",
        "consumer",
        100000,
        D(2023, 12, 1),
        D(2024, 1, 31),
        [510, 508],
        1018,
        day_count=DayCount.ACTACT,
    ),
    # 16. LV cap at the principal: 100.00 at 6 % earns 100 x 6 %/365 = 0.016438 a day; 100 / 0.016438 = 6083.3
    #     days, so the cap is reached on day 6084 = 2014-01-01 + 6083 days = 2030-08-28. The period runs
    #     6574 days (18 years incl. 4 leap days); uncapped it would be 108.07. Capped: exactly 100.00.
    Example(
        "lv_cap_at_principal",
        "LV",
        "consumer",
        10000,
        D(2014, 1, 1),
        D(2031, 12, 31),
        [10000, 0],
        10000,
    ),
    # 17. EU default B2B: reference 4.50 % (H1 2024), 4.25 % (H2) + 8 pp = 12.50 / 12.25 %.
    #     10000 x 12.5 % x 151/365 (Feb 29 + Mar 31 + Apr 30 + May 31 + Jun 30) = 517.1233 -> 517.12;
    #     10000 x 12.25 % x 46/365 = 154.3836 -> 154.38. Total 671.50.
    Example(
        "eu_default_b2b", "EU", "business", 1000000, D(2024, 2, 1), D(2024, 8, 15), [51712, 15438], 67150
    ),
    # 18. US consumer, the configurable state rate 9 %:
    #     2500 x 9 % x 91/365 (Mar 31 + Apr 30 + May 30) = 56.0959 -> 56.10.
    Example("us_fixed_rate", "US", "consumer", 250000, D(2024, 3, 1), D(2024, 5, 30), [5610], 5610),
    # 19. A contract rate replaces the statutory one: 1000 x 12 % x 365/365 = 120.00, one segment.
    Example(
        "contract_rate",
        "DE",
        "business",
        100000,
        D(2023, 1, 1),
        D(2023, 12, 31),
        [12000],
        12000,
        contract="12",
    ),
    # 20. Rounding half up: 1050.00 at 3.65 % for one day = 1050 x 0.0365 / 365 = 0.105 -> 0.11.
    Example("half_up", "DE", "business", 105000, D(2023, 3, 1), D(2023, 3, 1), [11], 11, contract="3.65"),
]


@pytest.fixture(scope="module")
def tables():
    return load_tables(None)


@pytest.mark.parametrize("ex", EXAMPLES, ids=[e.name for e in EXAMPLES])
def test_worked_example(ex: Example, tables) -> None:
    result = statutory_interest(
        packaged_rulebook(),
        tables,
        ex.jurisdiction,
        ex.kind,
        ex.principal,
        ex.first,
        ex.last,
        arose=ex.arose,
        payments=ex.payments,
        costs_minor=ex.costs,
        day_count=ex.day_count,
        contract_rate_units=percent_to_units(ex.contract) if ex.contract else None,
    )
    assert [s.amount_minor for s in result.segments] == ex.segments
    assert result.interest_minor == ex.total
    assert sum(s.days for s in result.segments) == (ex.last - ex.first).days + 1
    if ex.principal_open is not None:
        assert result.principal_open_minor == ex.principal_open
    if ex.interest_open is not None:
        assert result.interest_open_minor == ex.interest_open
    if ex.costs_open is not None:
        assert result.costs_open_minor == ex.costs_open


def test_cap_segment_ends_on_the_day_the_cap_is_reached(tables) -> None:
    result = statutory_interest(
        packaged_rulebook(), tables, "LV", "consumer", 10000, date(2014, 1, 1), date(2031, 12, 31)
    )
    first, rest = result.segments
    assert (first.end, first.days, first.capped) == (date(2030, 8, 28), 6084, True)
    assert (rest.start, rest.amount_minor, rest.capped) == (date(2030, 8, 29), 0, True)


def test_payment_split_in_example_9(tables) -> None:
    result = statutory_interest(
        packaged_rulebook(), tables, "DE", "business", 100000, date(2023, 1, 15), date(2024, 3, 1),
        payments=[Payment(date(2023, 6, 1), 30000)], costs_minor=4000,
    )  # fmt: skip
    (p,) = result.payments
    assert (p.to_costs, p.to_interest, p.to_principal, p.unapplied) == (4000, 4015, 21985, 0)


def test_negative_base_shown_in_segments(tables) -> None:
    result = statutory_interest(
        packaged_rulebook(), tables, "DE", "consumer", 100000, date(2020, 1, 1), date(2020, 1, 31)
    )
    (seg,) = result.segments
    assert (seg.base_units, seg.margin_units, seg.rate_units) == (-8800, 50000, 41200)
    assert str(seg.base) == "-0.88" and str(seg.rate) == "4.12"
