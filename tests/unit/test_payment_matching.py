"""The rules that decide which open invoices a payment from a bank statement pays."""

from __future__ import annotations

from datetime import date

from mahnwerk.core.money import Money
from mahnwerk.core.payment_matching import (
    SURE_SCORE,
    Incoming,
    Matcher,
    MatchReason,
    OpenItem,
    Part,
    creditor_references,
    decide,
    invoices_in_text,
    name_similarity,
    reason_text,
    rf_is_valid,
    split_over,
)

DUE = date(2026, 3, 1)
SCHULZ, BERZINS, MUELLER, PUTZ, OTHER = 1, 2, 3, 4, 5
ITEMS = [
    OpenItem(11, SCHULZ, "RE-2026-01452", "RE-2026-01452", 10000, "EUR", DUE),
    OpenItem(12, SCHULZ, "RE-2026-01453", "RE-2026-01453", 5000, "EUR", DUE),
    OpenItem(21, BERZINS, "2026/17", "2026/17", 20000, "EUR", DUE),
    OpenItem(31, MUELLER, "R-300", "RF18539007547034", 77700, "EUR", DUE),
    OpenItem(41, PUTZ, "INV-00002", "INV-00002", 9595, "EUR", DUE),
    OpenItem(42, PUTZ, "INV-00009", "INV-00009", 7500, "EUR", date(2026, 2, 1)),
    OpenItem(51, OTHER, "77", "", 7500, "EUR", DUE),
]
NAMES = {
    SCHULZ: "Bäckerei Schulz GmbH",
    BERZINS: "Jānis Bērziņš",
    PUTZ: "DM Putz + Stuck UG (haftungsbeschränkt)",
}


def named(text: str) -> list[tuple[str, bool]]:
    return [(item.number, full) for item, full in invoices_in_text(text, ITEMS)]


def test_numbers_in_text_tolerate_prefixes_zeros_spaces_and_case() -> None:
    assert named("RE-2026-01452") == [("RE-2026-01452", True)]
    assert named("re 2026 01452") == [("RE-2026-01452", True)]
    assert named("Rechnung 2026-1452") == [("RE-2026-01452", True)]
    assert named("INV 202601452") == [("RE-2026-01452", True)]
    assert named("rēķins Nr. 2026/17") == [("2026/17", True)]
    assert named("Rechnung-Nr.: INV-00002 v. 13.02.21") == [("INV-00002", True)]
    assert named("Zahlung Rg 2") == [("INV-00002", True)]  # short, but after an invoice keyword


def test_a_number_written_in_short_after_a_full_one() -> None:
    assert named("RE-2026-01452 u. 01453") == [("RE-2026-01452", True), ("RE-2026-01453", True)]


def test_only_the_last_group_counts_when_one_invoice_ends_so() -> None:
    assert named("Rechnung Nr 1452") == [("RE-2026-01452", False)]


def test_no_number_no_match() -> None:
    assert named("1 x ATM Gebuehr 2,38") == []
    assert named("Danke") == []


def test_several_invoices_split_in_the_order_written() -> None:
    d = decide(Incoming(15000, "EUR", "RE-2026-01452 u. 01453"), ITEMS)
    assert d.sure
    assert d.best is not None and d.best.parts == (Part(SCHULZ, 11, 10000), Part(SCHULZ, 12, 5000))
    assert d.best.score == 98 and d.best.rules == ["invoice_in_text"]


def test_partial_payment_is_sure_and_said() -> None:
    d = decide(Incoming(4000, "EUR", "RE-2026-01452 u. 01453"), ITEMS)
    assert d.sure and d.best is not None
    assert d.best.parts == (Part(SCHULZ, 11, 4000),)
    assert any("partial payment" in str(r) for r in d.reasons)


def test_overpayment_goes_with_the_last_invoice_named() -> None:
    assert split_over(16000, [ITEMS[0], ITEMS[1]]) == (Part(SCHULZ, 11, 10000), Part(SCHULZ, 12, 6000))


def test_short_number_alone_waits_for_review() -> None:
    d = decide(Incoming(9000, "EUR", "Rechnung Nr 1452"), ITEMS)
    assert not d.sure
    assert d.best is not None and d.best.parts == (Part(SCHULZ, 11, 9000),) and d.best.score == 70
    # with the exact open amount it is sure (70 + 10)
    assert decide(Incoming(10000, "EUR", "Rechnung Nr 1452"), ITEMS).sure


def test_rf_creditor_reference() -> None:
    assert rf_is_valid("RF18 5390 0754 7034")
    assert not rf_is_valid("RF19 5390 0754 7034")
    assert creditor_references(Incoming(1, "EUR", "Ref RF18 5390 0754 7034 danke")) == ["RF18539007547034"]
    d = decide(Incoming(77700, "EUR", creditor_reference="RF18 5390 0754 7034"), ITEMS)
    assert d.sure and d.best is not None
    assert d.best.parts == (Part(MUELLER, 31, 77700),) and "creditor_reference" in d.best.rules


def test_end_to_end_id_we_issued() -> None:
    d = decide(Incoming(9595, "EUR", end_to_end_id="INV-00002"), ITEMS)
    assert d.sure and d.best is not None and d.best.parts == (Part(PUTZ, 41, 9595),)
    assert d.best.rules == ["end_to_end_id"]


def test_known_iban_and_exact_amount() -> None:
    iban = "DE32334400000003909884"
    d = decide(Incoming(7500, "EUR", "Danke", payer_iban=iban), ITEMS, known_ibans={iban: {PUTZ}})
    assert d.sure and d.best is not None
    assert d.best.parts == (Part(PUTZ, 42, 7500),) and d.best.score == 85
    # all of the debtor's open items
    d = decide(Incoming(9595 + 7500, "EUR", payer_iban=iban), ITEMS, known_ibans={iban: {PUTZ}})
    assert d.sure and d.best is not None and d.best.parts == (Part(PUTZ, 42, 7500), Part(PUTZ, 41, 9595))
    # another amount: the debtor is a candidate, nothing is sure
    d = decide(Incoming(1234, "EUR", payer_iban=iban), ITEMS, known_ibans={iban: {PUTZ}})
    assert not d.sure and d.best is not None and d.best.parts == (Part(PUTZ, None, 1234),)


def test_amount_and_name() -> None:
    d = decide(
        Incoming(9595, "EUR", payer_names=("DM PUTZ + STUCK UG HAFTUNGSBESCHRANKT",)),
        ITEMS,
        debtor_names=NAMES,
    )
    assert d.sure and d.best is not None and d.best.parts == (Part(PUTZ, 41, 9595),)
    assert d.best.score == SURE_SCORE
    # a similar name only: a candidate to review
    d = decide(Incoming(9595, "EUR", payer_names=("Stuck Meister Putz",)), ITEMS, debtor_names=NAMES)
    assert not d.sure and d.best is not None and d.best.score == 65


def test_two_invoices_with_the_same_amount_and_name_are_not_sure() -> None:
    items = [*ITEMS, OpenItem(43, PUTZ, "INV-00010", "", 9595, "EUR", DUE)]
    d = decide(Incoming(9595, "EUR", payer_names=("DM Putz und Stuck UG",)), items, debtor_names=NAMES)
    assert not d.sure and len(d.candidates) == 2
    assert "another candidate" in str(d.reasons[-1])


def test_rules_agreeing_raise_the_score_and_keep_all_reasons() -> None:
    iban = "DE32334400000003909884"
    d = decide(Incoming(9595, "EUR", "INV-00002", payer_iban=iban), ITEMS, known_ibans={iban: {PUTZ}})
    assert d.best is not None and d.best.rules == ["invoice_in_text", "known_iban"]
    assert d.best.score == 100
    assert len(d.best.reasons) == 4


def test_text_naming_another_debtor_than_the_iban_is_not_sure() -> None:
    iban = "DE02120300000000202051"
    d = decide(Incoming(20000, "EUR", "2026/17", payer_iban=iban), ITEMS, known_ibans={iban: {SCHULZ}})
    assert not d.sure
    assert any("another debtor" in str(r) for c in d.candidates for r in c.reasons)


def test_other_currency_and_closed_items_are_not_candidates() -> None:
    assert decide(Incoming(10000, "SEK", "RE-2026-01452"), ITEMS).candidates == []
    closed = [OpenItem(11, SCHULZ, "RE-2026-01452", "", 0, "EUR", DUE)]
    assert decide(Incoming(10000, "EUR", "RE-2026-01452"), closed).candidates == []


def test_names() -> None:
    assert name_similarity("Bäckerei Schulz GmbH", "BAECKEREI SCHULZ") == 1.0
    assert name_similarity("Müller Bau GmbH", "MULLER BAU") == 1.0
    assert name_similarity("Bäckerei Schulz GmbH", "Schulz") == 0.9  # not the same name
    assert name_similarity("Bäckerei Schulz GmbH", "Bäckerei Meier") == 0.5
    assert name_similarity("Jānis Bērziņš", "BERZINS JANIS") == 1.0
    assert name_similarity("Schulz", "") == 0.0


def test_matcher_sees_what_earlier_payments_of_the_import_paid() -> None:
    matcher = Matcher(ITEMS)
    first = matcher.decide(Incoming(4000, "EUR", "RE-2026-01452"))
    assert first.best is not None
    matcher.consume(first.best.parts)
    # 60.00 still open on RE-2026-01452: now the exact amount
    second = matcher.decide(Incoming(6000, "EUR", "RE-2026-01452"))
    assert second.best is not None and second.best.score == 98
    matcher.consume(second.best.parts)
    assert matcher.decide(Incoming(6000, "EUR", "RE-2026-01452")).candidates == []
    # by amount: the 75.00 of INV-00009, paid, is found no more; the invoice "77" of 75.00 still is
    names = {PUTZ: "DM Putz", OTHER: "DM Putz"}
    both = matcher.decide(Incoming(7500, "EUR", payer_names=("DM Putz",)), debtor_names=names)
    assert {c.parts[0].invoice_id for c in both.candidates} == {42, 51}
    matcher.consume([Part(PUTZ, 42, 7500)])
    one = matcher.decide(Incoming(7500, "EUR", payer_names=("DM Putz",)), debtor_names=names)
    assert [c.parts[0].invoice_id for c in one.candidates] == [51] and one.sure


def test_reasons_are_message_ids_with_parameters_worded_by_the_reader() -> None:
    d = decide(Incoming(4000, "EUR", "RE-2026-01452"), ITEMS)
    partial = next(r for r in d.reasons if "partial" in r.message)
    assert partial.message == "a partial payment: {open} is open on them"
    assert partial.params == {"open": Money(10000, "EUR")}
    stored = partial.as_json()
    assert MatchReason.from_json(stored) == partial
    german = {"a partial payment: {open} is open on them": "eine Teilzahlung: offen sind {open}"}
    assert reason_text(stored, lambda m: german.get(m, m), "de") == "eine Teilzahlung: offen sind 100,00\xa0€"
    assert reason_text(stored) == "a partial payment: €100.00 is open on them"
    # a reason stored as English text by an earlier version is shown as it is
    assert reason_text("the transfer text names invoice(s) RE-1", lambda m: german.get(m, m)) == (
        "the transfer text names invoice(s) RE-1"
    )


def test_the_amount_alone_gives_candidates_to_review_never_a_sure_match() -> None:
    # an unknown payer, no number: the two invoices with exactly 75.00 open are shown to the person deciding
    d = decide(Incoming(7500, "EUR", "Kautkas", payer_names=("Kautkas SIA",)), ITEMS, debtor_names=NAMES)
    assert not d.sure
    assert [c.parts for c in d.candidates] == [(Part(OTHER, 51, 7500),), (Part(PUTZ, 42, 7500),)]
    assert all(c.rules == ["amount_only"] and c.score < SURE_SCORE for c in d.candidates)
    assert "nothing else in the payment points to it" in [str(r) for r in d.candidates[0].reasons]
    # an amount no invoice has open: nothing to suggest
    assert decide(Incoming(7501, "EUR", "Kautkas"), ITEMS).candidates == []
    # more invoices with that amount than are worth showing: none
    many = [*ITEMS, *(OpenItem(60 + n, OTHER, f"X-{n}", "", 7500, "EUR", DUE) for n in range(5))]
    assert decide(Incoming(7500, "EUR", "Kautkas"), many).candidates == []
    # a rule that found something keeps the amount alone out
    d = decide(Incoming(7500, "EUR", "INV-00009"), ITEMS)
    assert [c.rules for c in d.candidates] == [["invoice_in_text"]]
