"""SMS encoding and segments, checked against 3GPP TS 23.038 and the 160/153 and 70/67 limits."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mahnwerk.core.sms import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    SmsBudgetError,
    analyse_sms,
    check_sms_budget,
    gsm7_septets,
    is_gsm7,
)


def test_default_alphabet_positions_from_the_standard() -> None:
    # Code points from TS 23.038 table 6.2.1: the umlauts and ß sit where ASCII has [ \ ] ^ { | } ~.
    assert len(GSM7_BASIC) == 128
    expected = {
        0x00: "@",
        0x02: "$",
        0x05: "é",
        0x09: "Ç",
        0x1E: "ß",
        0x1F: "É",
        0x24: "¤",
        0x40: "¡",
        0x5B: "Ä",
        0x5C: "Ö",
        0x5D: "Ñ",
        0x5E: "Ü",
        0x5F: "§",
        0x60: "¿",
        0x7B: "ä",
        0x7C: "ö",
        0x7D: "ñ",
        0x7E: "ü",
        0x7F: "à",
    }
    for code, char in expected.items():
        assert GSM7_BASIC[code] == char, hex(code)
    assert set(GSM7_EXTENSION) == set("\f^{}\\[~]|€")


@pytest.mark.parametrize("char", list("äöüÄÖÜßéèÉñÑàùìòÇÅåØøÆæ§¿¡£¥ΔΦΓΛΩΠΨΣΘΞ"))
def test_german_and_other_latin_letters_in_the_default_alphabet(char: str) -> None:
    assert gsm7_septets(char) == 1


@pytest.mark.parametrize("char", list("€[]{}|^~\\"))
def test_extension_characters_count_double(char: str) -> None:
    assert gsm7_septets(char) == 2


@pytest.mark.parametrize("char", list("āčēģīķļņšūžĀČĒĢĪĶĻŅŠŪŽçõőűáíóúê`"))
def test_characters_outside_gsm7(char: str) -> None:
    # Latvian letters, lowercase ç (only capital Ç is in the table), ô/ő/á/í/ó/ú/ê and the backtick.
    assert gsm7_septets(char) is None


def test_german_reminder_is_gsm7_with_euro_counted_twice() -> None:
    text = "Grüße aus Köln: Ihre Rechnung über 12,50 € ist fällig. Bitte zahlen Sie bis 30.11.2026."
    info = analyse_sms(text)
    assert info.encoding == "GSM-7"
    # 87 characters, of which one (€) is an extension character: 87 + 1 = 88 septets.
    assert len(text) == 87
    assert info.units == 88
    assert info.segments == 1


def test_latvian_reminder_forces_ucs2() -> None:
    text = "Labdien! Rēķins Nr. 2026-17 par 125,00 € nav apmaksāts. Lūdzam samaksāt līdz 30.11.2026."
    info = analyse_sms(text)
    assert info.encoding == "UCS-2"
    assert info.non_gsm_characters == ("ē", "ķ", "ā", "ū", "ī")
    # 9 + 7 + 4 + 8 + 4 + 7 + 2 + 4 + 11 + 7 + 9 + 5 + 11 = 88 characters (words with their spaces);
    # in UCS-2 the euro sign is one unit like any other. 88 > 70, so parts of 67: two parts.
    assert len(text) == 88
    assert (info.units, info.segments) == (88, 2)


def test_latvian_text_without_diacritics_stays_gsm7() -> None:
    assert is_gsm7("Labdien! Lugums samaksat rekinu lidz 30.11.2026.")


@pytest.mark.parametrize(
    ("length", "segments"),
    [(1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4)],
)
def test_gsm7_segment_limits(length: int, segments: int) -> None:
    # One part: 160 septets. More: 153 each (2 x 153 = 306, 3 x 153 = 459).
    assert analyse_sms("a" * length).segments == segments


@pytest.mark.parametrize(
    ("length", "segments"),
    [(1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)],
)
def test_ucs2_segment_limits(length: int, segments: int) -> None:
    # One part: 70 units. More: 67 each (2 x 67 = 134, 3 x 67 = 201).
    assert analyse_sms("ā" * length).segments == segments


def test_extension_character_is_not_split_across_parts() -> None:
    # 152 + 2 + 152 = 306 septets would fill exactly two parts of 153, but € cannot start at septet 153 of
    # the first part: part 1 = 152 septets, part 2 = € + 151 letters = 153, part 3 = 1 letter.
    info = analyse_sms("a" * 152 + "€" + "a" * 152)
    assert (info.units, info.segments) == (306, 3)


def test_surrogate_pairs_count_two_units_and_stay_together() -> None:
    assert analyse_sms("🙂" * 35).units == 70
    assert analyse_sms("🙂" * 35).segments == 1
    # 66 units of text, then an emoji (2 units) that does not fit the 67-unit part: 3 parts for 66+2+66.
    info = analyse_sms("ā" * 66 + "🙂" + "ā" * 66)
    assert (info.units, info.segments) == (134, 3)


def test_budget_error_names_template_and_overflow() -> None:
    with pytest.raises(SmsBudgetError) as caught:
        check_sms_budget("reminder_1_friendly_de", "a" * 165)
    assert caught.value.template == "reminder_1_friendly_de"
    assert caught.value.overflow == 5  # 165 - 160
    assert "reminder_1_friendly_de" in str(caught.value)
    assert "5 septets too long" in str(caught.value)


def test_budget_error_for_latvian_names_the_forcing_characters() -> None:
    text = "Lūdzam " + "x" * 68  # 75 characters, UCS-2 because of ū
    with pytest.raises(SmsBudgetError) as caught:
        check_sms_budget("reminder_1_friendly_lv", text)
    assert caught.value.overflow == 5  # 75 - 70
    assert "ū" in str(caught.value)


def test_budget_of_two_segments() -> None:
    assert check_sms_budget("t", "a" * 306, max_segments=2).segments == 2
    with pytest.raises(SmsBudgetError) as caught:
        check_sms_budget("t", "a" * 310, max_segments=2)
    assert caught.value.overflow == 4  # 310 - 2 x 153


_alphabet = st.sampled_from(list("abcXYZ äöüß€[]ā🙂\n"))


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=_alphabet, max_size=500))
def test_segments_hold_the_text(text: str) -> None:
    info = analyse_sms(text)
    assert info.encoding == ("GSM-7" if is_gsm7(text) else "UCS-2")
    if info.segments == 1:
        assert info.units <= info.single_limit
    else:
        assert info.units > info.single_limit
        # Each part carries at most part_limit units and at least part_limit - 1 (a pair that did not fit).
        assert (info.segments - 1) * (info.part_limit - 1) < info.units <= info.segments * info.part_limit
