"""Escalation advice in the core: fee tables, recoverable costs and every option of a worked example, by hand.

The worked example: a business claim of 1,234.56 EUR principal, 54.86 interest and the 40.00 flat rate
(§ 288 (5) BGB), 1,329.42 in all, as of 2025-08-15, German law, no rating, no history of the company's own.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from mahnwerk.core.escalation import (
    DEFAULT_SUCCESS,
    ClaimFigures,
    FeeTableError,
    InterestPiece,
    ItemLimitation,
    Option,
    Situation,
    advise,
    agency_cost_cap,
    credit_flat_rate,
    deadlines,
    fee_table,
    fee_tables,
    mahnverfahren_fee,
    rvg_business_fee,
    split_interest,
)

D = date.fromisoformat
ON = D("2025-08-15")
CLAIM = ClaimFigures(
    "EUR", principal_minor=123456, interest_minor=5486, costs_minor=4000, flat_rate_minor=4000
)
SITUATION = Situation(
    as_of=ON,
    jurisdiction="DE",
    debtor_kind="business",
    debtor_country="DE",
    creditor_country="DE",
    # one invoice, due 2025-03-03: enforceable until 2028-12-31 (§§ 195, 199 BGB)
    items=(ItemLimitation("RE-100", D("2028-12-31"), 123456, 132942),),
)


# --- fee tables --------------------------------------------------------------------------------------------


def test_every_fee_table_version_names_its_sources_and_its_first_day() -> None:
    for name in ("gkg", "rvg"):
        versions = fee_tables(name)
        assert [v.valid_from for v in versions] == sorted(v.valid_from for v in versions)
        assert all(v.sources for v in versions)
    assert fee_table("gkg", ON).valid_from == D("2025-06-01")  # KostBRÄG 2025
    assert fee_table("gkg", D("2025-05-31")).valid_from == D("2021-01-01")
    with pytest.raises(FeeTableError):
        fee_table("gkg", D("2020-12-31"))


def test_the_court_fee_of_the_worked_example() -> None:
    # GKG 1.0 fee for 1,234.56 (from 2025-06-01): 40.00 up to 500, + 21.00 for each started 500 up to 2,000:
    # 500.01-1,000 and 1,000.01-1,234.56 are two started steps -> 40 + 2 * 21 = 82.00
    assert fee_table("gkg", ON).fee(123456) == 8200
    # Mahnverfahren, KV GKG 1100: 0.5 of 82.00 = 41.00, above the minimum of 38.00
    assert mahnverfahren_fee(123456, ON) == 4100
    # before 2025-06-01: 38 + 2 * 20 = 78.00, half = 39.00 (minimum then 36.00)
    assert mahnverfahren_fee(123456, D("2025-05-31")) == 3900


@pytest.mark.parametrize(
    ("value", "fee"),
    [  # the 0.5 fee table for the Mahnverfahren from 2025-06-01, as published (see gkg.toml)
        ("300.00", "38.00"),  # 0.5 * 40.00 = 20.00, the minimum 38.00 applies
        ("1000.00", "38.00"),  # 0.5 * 61.00 = 30.50 -> 38.00
        ("1500.00", "41.00"),
        ("2000.00", "51.50"),
        ("3000.00", "62.75"),
        ("4000.00", "74.00"),
        ("5000.00", "85.25"),
        ("10000.00", "141.50"),
        ("13000.00", "156.75"),
        ("25000.00", "217.75"),
        ("30000.00", "238.00"),
        ("50000.00", "319.00"),
        ("65000.00", "389.00"),
        ("95000.00", "529.00"),
    ],
)
def test_mahnverfahren_fees_match_the_published_table(value: str, fee: str) -> None:
    assert mahnverfahren_fee(int(Decimal(value) * 100), ON) == int(Decimal(fee) * 100)


@pytest.mark.parametrize(
    ("value", "fee"),
    [  # until 2025-05-31: § 34 GKG as of 2021 (38 / 58 / 78 / 98 / 119 / 161 / 266 / 295 EUR), half, at least 36
        ("300.00", "36.00"),  # 0.5 * 38.00 = 19.00, the minimum 36.00 applies
        ("1000.00", "36.00"),  # 0.5 * 58.00 = 29.00 -> 36.00
        ("1500.00", "39.00"),
        ("2000.00", "49.00"),
        ("3000.00", "59.50"),
        ("5000.00", "80.50"),
        ("10000.00", "133.00"),
        ("13000.00", "147.50"),
    ],
)
def test_mahnverfahren_fees_before_the_2025_reform(value: str, fee: str) -> None:
    assert mahnverfahren_fee(int(Decimal(value) * 100), D("2025-05-31")) == int(Decimal(fee) * 100)


def test_the_minimum_court_fee_changes_on_the_day_the_kostbraeg_2025_took_effect() -> None:
    # KV GKG 1100: at least 36.00 EUR for an application filed up to 2025-05-31, 38.00 EUR from 2025-06-01
    assert mahnverfahren_fee(30000, D("2025-05-31")) == 3600
    assert mahnverfahren_fee(30000, D("2025-06-01")) == 3800
    assert fee_table("gkg", D("2025-05-31")).minor("mahnverfahren_minimum") == 3600
    assert fee_table("gkg", D("2025-06-01")).minor("mahnverfahren_minimum") == 3800


def test_a_claim_beyond_the_confirmed_table_is_refused_not_guessed() -> None:
    with pytest.raises(FeeTableError, match="200000"):
        mahnverfahren_fee(20_000_001, ON)


@pytest.mark.parametrize(
    ("value", "fee"),
    [  # Anlage 2 zu § 13 RVG from 2025-06-01 (see rvg.toml)
        ("500", "51.50"),
        ("1000", "93.00"),
        ("1500", "134.50"),
        ("2000", "176.00"),
        ("3000", "235.50"),
        ("5000", "354.50"),
        ("10000", "652.00"),
        ("13000", "707.00"),
        ("25000", "927.00"),
        ("30000", "1013.00"),
        ("50000", "1357.00"),
        ("65000", "1456.50"),
        ("200000", "2352.00"),
        ("230000", "2492.00"),
    ],
)
def test_rvg_fees_match_anlage_2(value: str, fee: str) -> None:
    assert fee_table("rvg", ON).fee(int(value) * 100) == int(Decimal(fee) * 100)


def test_the_lawyer_fee_of_the_worked_example() -> None:
    # RVG 1.0 fee up to 1,500: 134.50; Geschäftsgebühr 1.3: 174.85; expenses 20 % = 34.97, at most 20.00
    fee = rvg_business_fee(123456, ON)
    assert (fee.fee_minor, fee.expenses_minor, fee.total_minor) == (17485, 2000, 19485)
    # before 2025-06-01: 1.0 fee 127.00, 1.3 = 165.10, + 20.00 = 185.10
    assert rvg_business_fee(123456, D("2025-05-31")).total_minor == 18510
    # the minimum fee: 15.00 (§ 13 (2) RVG) before the factor is applied; 0.5 of 51.50 = 25.75
    assert rvg_business_fee(1000, ON, Decimal("0.5")).fee_minor == 2575


def test_agency_costs_are_reimbursable_up_to_a_lawyers_fee_with_the_flat_rate_credited() -> None:
    # § 13e RDG: an undisputed claim 0.9 * 134.50 = 121.05 + expenses 20.00 (20 % = 24.21, capped) = 141.05
    assert agency_cost_cap(123456, ON) == 14105
    # disputed: 1.3 -> 174.85 + 20.00 = 194.85
    assert agency_cost_cap(123456, ON, disputed=True) == 19485
    # § 288 (5) s. 3 BGB: the 40.00 flat rate already claimed is credited: 194.85 - 40.00 = 154.85
    assert credit_flat_rate(19485, 4000) == 15485
    assert credit_flat_rate(3000, 4000) == 0


# --- the options of the worked example ----------------------------------------------------------------------


def test_every_option_of_the_worked_example_by_hand() -> None:
    advice = advise(CLAIM, SITUATION)
    got = {
        o.option: (o.available, o.expected_net_minor, o.costs_minor, o.recoverable_costs_minor, o.days)
        for o in advice.options
    }
    assert CLAIM.total_minor == 132942
    # keep chasing: 20 % of 1,329.42 = 265.884 -> 265.88, less two letters at 1.50 -> 262.88
    assert got[Option.KEEP_CHASING] == (True, 26288, 300, 0, 30)
    # settlement: 85 % of 1,329.42 = 1,130.007 -> 1,130.01; 45 % of it = 508.5045 -> 508.50
    assert got[Option.SETTLEMENT] == (True, 50850, 0, 0, 21)
    # agency: keeps 25 % of 1,329.42 = 332.355 -> 332.36; the debtor reimburses up to 141.05 (§ 13e RDG) less the
    # 40.00 flat rate = 101.05; 50 % of (1,329.42 + 101.05 - 332.36 = 1,098.11) = 549.055 -> 549.06
    assert got[Option.AGENCY] == (True, 54906, 33236, 10105, 90)
    # court payment order: fee 41.00, borne by the debtor; 70 % of (1,329.42 + 41.00) = 959.294 -> 959.29,
    # less the fee paid in advance -> 918.29
    assert got[Option.COURT_PAYMENT_ORDER] == (True, 91829, 4100, 4100, 60)
    # lawyer: 194.85, reimbursed 154.85 (flat rate credited); 60 % of (1,329.42 + 154.85) = 890.562 -> 890.56,
    # less 194.85 -> 695.71
    assert got[Option.LAWYER] == (True, 69571, 19485, 15485, 45)
    assert got[Option.WRITE_OFF] == (True, 0, 0, 0, 0)
    # a German debtor: neither the Latvian procedure nor (not cross-border) European small claims
    assert got[Option.LV_PAYMENT_ORDER][0] is False
    assert got[Option.SMALL_CLAIMS][0] is False
    assert advice.recommended is Option.COURT_PAYMENT_ORDER
    assert [o.option for o in advice.options][:3] == [
        Option.COURT_PAYMENT_ORDER,
        Option.LAWYER,
        Option.AGENCY,
    ]
    court = advice.option(Option.COURT_PAYMENT_ORDER)
    assert court.probability == DEFAULT_SUCCESS[Option.COURT_PAYMENT_ORDER]
    assert court.probability_source == "default"
    assert "limitation_paused" in [r.code for r in court.reasons]
    # an option that is not possible says why, not how likely it would have been
    assert [r.code for r in advice.option(Option.SMALL_CLAIMS).reasons] == ["small_claims_cross_border"]


def test_the_agencys_share_can_be_given() -> None:
    situation = replace(SITUATION, agency_fee_percent=Decimal("10"))
    agency = advise(CLAIM, situation).option(Option.AGENCY)
    # 10 % of 1,329.42 = 132.942 -> 132.94; reimbursed min(132.94, 141.05) - 40.00 = 92.94;
    # 50 % of (1,329.42 + 92.94 - 132.94 = 1,289.42) = 644.71
    assert (agency.costs_minor, agency.recoverable_costs_minor, agency.expected_net_minor) == (
        13294,
        9294,
        64471,
    )
    assert "agency_fee" in [r.code for r in agency.reasons]


def test_history_and_rating_change_the_probabilities() -> None:
    situation = replace(SITUATION, rating="D", probabilities={Option.KEEP_CHASING: 0.5})
    keep = advise(CLAIM, situation).option(Option.KEEP_CHASING)
    # 50 % from history, rating D: * 0.7 = 35 %
    assert keep.probability == 0.35 and keep.probability_source == "history"
    assert keep.expected_net_minor == round(0.35 * 132942) - 300


def test_a_valued_customer_gets_the_gentler_option_when_it_brings_almost_as_much() -> None:
    situation = replace(SITUATION, rating="A", valued_customer=True, probabilities={Option.SETTLEMENT: 0.8})
    advice = advise(CLAIM, situation)
    # settlement: 0.8 * 1.1 = 88 % of 1,130.01 = 994.41; court: 77 % of 1,370.42 = 1,055.22 - 41.00 = 1,014.22
    assert advice.option(Option.SETTLEMENT).expected_net_minor == 99441
    assert advice.option(Option.COURT_PAYMENT_ORDER).expected_net_minor == 101422
    assert advice.recommended is Option.SETTLEMENT  # 994.41 >= 90 % of 1,014.22
    assert advice.why[0].code == "valued_customer_soft"
    assert "relationship" in [r.code for r in advice.option(Option.COURT_PAYMENT_ORDER).reasons]


def test_a_time_barred_claim_is_worth_little_and_nothing_pays_means_write_off() -> None:
    barred = replace(SITUATION, items=(ItemLimitation("RE-100", D("2025-08-01"), 123456, 132942),))
    agency = advise(CLAIM, barred).option(Option.AGENCY)
    assert agency.probability == pytest.approx(0.05)  # 50 % * 0.1
    assert "time_barred" in [r.code for r in agency.reasons]
    # a court application would leave the only item out: nothing to apply for
    court = advise(CLAIM, barred).option(Option.COURT_PAYMENT_ORDER)
    assert not court.available
    assert [(r.code, r.params["items"]) for r in court.reasons] == [
        ("all_time_barred", [["RE-100", "2025-08-01"]])
    ]
    tiny = ClaimFigures("EUR", principal_minor=1000, interest_minor=0, costs_minor=0)
    # 10.00 owed, below the escalation minimum of 50.00: no agency, court or lawyer; no settlement either
    nothing = replace(barred, escalation_min_minor=5000, probabilities={Option.SETTLEMENT: 0.0})
    advice = advise(tiny, nothing)
    assert not advice.option(Option.AGENCY).available
    assert [r.code for r in advice.option(Option.AGENCY).reasons][-1] == "below_minimum"
    assert advice.recommended is Option.WRITE_OFF
    assert advice.why[0].code == "nothing_pays"


def test_limitation_is_judged_item_by_item() -> None:
    # the worked example's RE-100 (enforceable until 2028-12-31) and RE-90, 500.00 open, time-barred after
    # 2024-12-31: 1,829.42 owed in all
    claim = ClaimFigures(
        "EUR", principal_minor=173456, interest_minor=5486, costs_minor=4000, flat_rate_minor=4000
    )
    items = (
        ItemLimitation("RE-90", D("2024-12-31"), 50000, 50000),
        ItemLimitation("RE-100", D("2028-12-31"), 123456, 132942),
    )
    situation = replace(SITUATION, items=items)
    assert situation.limitation_date == D("2028-12-31")  # the next one: RE-90's has passed
    advice = advise(claim, situation)
    # keep chasing: RE-100 in full, RE-90 at a tenth: 20 % of (1,329.42 + 50.00) = 275.884 -> 275.88, less two
    # letters at 1.50 -> 272.88 (the whole account at a tenth would have been 36.59 - 3.00)
    keep = advice.option(Option.KEEP_CHASING)
    assert keep.expected_net_minor == 27288
    assert keep.probability == pytest.approx(0.2 * 137942 / 182942, abs=1e-4)
    [why] = [r for r in keep.reasons if r.code == "time_barred"]
    assert why.params == {"items": [["RE-90", "2024-12-31"]], "amount_minor": 50000, "statute": "§ 214 BGB"}
    # the court payment order leaves RE-90 out: exactly the worked example's figures for RE-100 alone
    # (fee 41.00 on 1,234.56; 70 % of (1,329.42 + 41.00) = 959.29, less 41.00 -> 918.29)
    court = advice.option(Option.COURT_PAYMENT_ORDER)
    assert (court.expected_net_minor, court.costs_minor, court.probability) == (91829, 4100, 0.7)
    codes = {r.code: r.params for r in court.reasons}
    assert codes["time_barred_left_out"] == {"items": [["RE-90", "2024-12-31"]], "amount_minor": 50000}
    assert codes["limitation_paused"] == {"date": D("2028-12-31"), "statute": "§ 204 BGB"}
    # an item that runs out before the agency's 90 days have passed counts at half
    soon = replace(situation, items=(items[1], ItemLimitation("RE-95", D("2025-10-31"), 50000, 50000)))
    agency = advise(claim, soon).option(Option.AGENCY)
    assert agency.probability == pytest.approx(0.5 * (132942 + 0.5 * 50000) / 182942, abs=1e-4)
    assert [r.params for r in agency.reasons if r.code == "limitation_first"] == [
        {"items": [["RE-95", "2025-10-31"]]}
    ]


def test_the_limitation_reasons_cite_the_debtors_law_only() -> None:
    claim = ClaimFigures("EUR", principal_minor=80000, interest_minor=1000, costs_minor=0)
    item = ItemLimitation("RE-200", D("2035-03-03"), 80000, 81000)
    old = ItemLimitation("RE-199", D("2025-03-01"), 10000, 10000)
    for kind, statute in (("consumer", "Civillikums § 1895"), ("business", "Komerclikums § 406")):
        lv = replace(SITUATION, jurisdiction="LV", debtor_kind=kind, debtor_country="LV", items=(old, item))
        advice = advise(claim, lv)
        order = {r.code: r.params for r in advice.option(Option.LV_PAYMENT_ORDER).reasons}
        # Latvian law as the design notes give it: the period's statute; no suspension rule is named there
        assert "limitation_paused" not in order
        assert order["limitation_ends"] == {"date": D("2035-03-03"), "statute": statute}
        keep = {r.code: r.params for r in advice.option(Option.KEEP_CHASING).reasons}
        assert keep["time_barred"]["statute"] == ""  # no defence statute named: none cited
    eu = replace(SITUATION, jurisdiction="EU", debtor_country="AT", items=(item,))
    small = {r.code: r.params for r in advise(claim, eu).option(Option.SMALL_CLAIMS).reasons}
    assert small["limitation_ends"] == {"date": D("2035-03-03"), "statute": ""}


def test_a_disputed_claim_makes_the_payment_order_unlikely() -> None:
    disputed = replace(SITUATION, disputed=True)
    court = advise(CLAIM, disputed).option(Option.COURT_PAYMENT_ORDER)
    assert court.probability == pytest.approx(0.21)  # 70 % * 0.3
    # the agency's reimbursable costs rise to a 1.3 fee: 194.85 - 40.00 = 154.85
    assert advise(CLAIM, disputed).option(Option.AGENCY).recoverable_costs_minor == 15485


def test_a_latvian_consumer_abroad_gets_capped_costs_and_the_latvian_and_european_procedures() -> None:
    claim = ClaimFigures("EUR", principal_minor=80000, interest_minor=1000, costs_minor=1700)
    lv = Situation(
        as_of=ON,
        jurisdiction="LV",
        debtor_kind="consumer",
        debtor_country="LV",
        creditor_country="DE",
        costs_cap_left_minor=0,  # the 17.00 EUR of Cabinet Regulation 61/2013 used up by the reminders
    )
    advice = advise(claim, lv)
    for option in (Option.AGENCY, Option.LAWYER):
        o = advice.option(option)
        assert o.costs_minor > 0 and o.recoverable_costs_minor == 0
    assert "costs_cap" in [r.code for r in advice.option(Option.LAWYER).reasons]
    assert not advice.option(Option.COURT_PAYMENT_ORDER).available
    # the Latvian procedure: a state fee of 2 % of 800.00 = 16.00 (an unconfirmed assumption, said so)
    order = advice.option(Option.LV_PAYMENT_ORDER)
    assert order.available and order.costs_minor == 1600
    assert "unconfirmed_assumption" in [r.code for r in order.reasons]
    # European small claims: cross-border, 800.00 <= 5,000; the court fee an assumption of 100.00
    small = advice.option(Option.SMALL_CLAIMS)
    assert small.available and small.costs_minor == 10000
    above = ClaimFigures("EUR", principal_minor=500001, interest_minor=0, costs_minor=0)
    assert not advise(above, lv).option(Option.SMALL_CLAIMS).available


# --- the payment order's interest claims and deadlines ------------------------------------------------------


def _piece(start: str, end: str, principal: int, amount: int, base: str | None = "2.27") -> InterestPiece:
    rate = Decimal(base) + 9 if base is not None else Decimal("6")
    return InterestPiece(
        D(start), D(end), principal, Decimal("9"), None if base is None else Decimal(base), rate, amount
    )


def test_interest_on_a_principal_reduced_by_a_payment_is_claimed_as_an_amount_then_running() -> None:
    pieces = [
        _piece("2025-03-21", "2025-04-30", 100000, 1266),
        _piece("2025-05-01", "2025-06-30", 60000, 1130),  # 40,000 paid on 2025-04-30
        _piece("2025-07-01", "2025-08-15", 60000, 777, base="1.27"),
    ]
    claims = split_interest(pieces, principal_open_minor=60000, interest_paid_minor=0)
    assert (claims.calculated_minor, claims.calculated_until) == (1266, D("2025-04-30"))
    assert (claims.running_from, claims.running_principal_minor, claims.margin) == (D("2025-05-01"), 60000, 9)
    # interest paid beyond the past period: the running claim starts after the days the payment covered
    paid = split_interest(pieces, principal_open_minor=60000, interest_paid_minor=1266 + 100)
    assert (paid.calculated_minor, paid.calculated_until, paid.running_from) == (
        1030,
        D("2025-06-30"),
        D("2025-07-01"),
    )
    # nothing paid in between: all of it runs from the first day
    whole = split_interest(pieces[1:], principal_open_minor=60000, interest_paid_minor=0)
    assert (whole.calculated_minor, whole.running_from) == (0, D("2025-05-01"))


def test_a_fixed_rate_is_claimed_as_a_rate_not_as_points() -> None:
    claims = split_interest([_piece("2025-03-21", "2025-08-15", 80000, 2000, base=None)], 80000, 0)
    assert claims.fixed_rate == Decimal("6") and claims.margin is None


def test_deadlines_after_service() -> None:
    # objection: two weeks after service; enforcement order: within six months (the month's last day if shorter)
    # served Friday 2025-08-22: two weeks end Friday 2025-09-05; six months end on Sunday 2026-02-22, so on
    # Monday 2026-02-23 (§ 222 (2) ZPO)
    assert deadlines(D("2025-08-22")) == {
        "objection_until": D("2025-09-05"),
        "enforcement_order_by": D("2026-02-23"),
    }
    # served 2025-08-31: February has no 31st, so 2026-02-28 — a Saturday: Monday 2026-03-02
    assert deadlines(D("2025-08-31"))["enforcement_order_by"] == D("2026-03-02")
    # served 2025-09-19: two weeks end on 2025-10-03, German Unity Day (a Friday): Monday 2025-10-06
    assert deadlines(D("2025-09-19"))["objection_until"] == D("2025-10-06")
    # served 2025-05-15: 2025-11-15 is a Saturday, so Monday 2025-11-17; 2025-05-29 is Ascension Day
    assert deadlines(D("2025-05-15"))["enforcement_order_by"] == D("2025-11-17")
    assert deadlines(D("2025-05-15"))["objection_until"] == D("2025-05-30")


def test_the_european_small_claims_procedure_covers_the_eu_but_denmark() -> None:
    from mahnwerk.core.escalation import SMALL_CLAIMS_COUNTRIES

    # Regulation (EC) 861/2007 art. 2(3): not Denmark; an EU instrument: not Norway, Iceland, Liechtenstein
    assert {"DE", "LV", "FR", "EL"} <= SMALL_CLAIMS_COUNTRIES
    assert not {"DK", "NO", "IS", "LI", "CH", "US"} & SMALL_CLAIMS_COUNTRIES


def test_latvian_deadlines_after_the_warning_letter() -> None:
    from mahnwerk.core.escalation import lv_deadlines

    # letter 2025-06-02, 10 days to pay: 2025-06-12; application from 2025-06-13; served 14 days later on
    # 2025-06-27; 14 days to object: 2025-07-11
    assert lv_deadlines(D("2025-06-02"), 10, 14, 14) == {
        "pay_by": D("2025-06-12"),
        "file_application_from": D("2025-06-13"),
        "assumed_service_on": D("2025-06-27"),
        "objection_until": D("2025-07-11"),
    }
    # across a year end: ten days end on Sunday 2026-01-04, so the letter's deadline is Monday 2026-01-05;
    # application from 2026-01-06, served 2026-01-20, 14 days to object: Tuesday 2026-02-03
    assert lv_deadlines(D("2025-12-25"), 10, 14, 14) == {
        "pay_by": D("2026-01-05"),
        "file_application_from": D("2026-01-06"),
        "assumed_service_on": D("2026-01-20"),
        "objection_until": D("2026-02-03"),
    }
    # 2025-11-08 + 10 days = 2025-11-18, Latvia's Proclamation Day (a Tuesday): 2025-11-19
    assert lv_deadlines(D("2025-11-08"), 10, 14, 14)["pay_by"] == D("2025-11-19")
