"""EPC069-12 payloads, checked element by element, and the rendered QR code decoded back."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import pytest
import zxingcpp
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from mahnwerk.core.epc_qr import (
    EpcError,
    EpcPayment,
    build_epc_payload,
    epc_qr_for,
    format_amount,
    is_valid_rf_reference,
    make_epc_qr,
    make_rf_reference,
    render_epc_qr,
)

# A valid German IBAN (the commonly published example account) and a Latvian one (check digits by hand:
# LV80BANK0000435195001 is the example IBAN of the Latvian registry entry).
DE_IBAN = "DE89 3704 0044 0532 0130 00"
LV_IBAN = "LV80BANK0000435195001"


def decode(png: bytes) -> zxingcpp.Result:
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert len(results) == 1
    return results[0]


def test_full_payload_line_by_line() -> None:
    payment = EpcPayment(
        name="Muster GmbH",
        iban=DE_IBAN,
        bic="COBADEFFXXX",
        amount_minor=1234,
        purpose="GDDS",
        reference="RF18 5390 0754 7034",
        information="Danke!",
    )
    lines = build_epc_payload(payment).split("\n")
    assert lines == [
        "BCD",  # 1 service tag
        "002",  # 2 version
        "1",  # 3 character set: UTF-8
        "SCT",  # 4 identification: SEPA credit transfer
        "COBADEFFXXX",  # 5 BIC
        "Muster GmbH",  # 6 beneficiary
        "DE89370400440532013000",  # 7 IBAN without spaces
        "EUR12.34",  # 8 amount
        "GDDS",  # 9 purpose code
        "RF18539007547034",  # 10 structured reference, spaces removed
        "",  # 11 unstructured remittance: empty when a reference is given
        "Danke!",  # 12 beneficiary to originator information
    ]


def test_no_trailing_separator_and_empty_optional_elements_keep_their_place() -> None:
    payload = build_epc_payload(
        EpcPayment(name="SIA Paraugs", iban=LV_IBAN, amount_minor=5, text="Rēķins 17, 18")
    )
    assert payload == "BCD\n002\n1\nSCT\n\nSIA Paraugs\nLV80BANK0000435195001\nEUR0.05\n\n\nRēķins 17, 18"
    assert not payload.endswith("\n")
    # Only the mandatory elements: the payload ends with the IBAN.
    assert build_epc_payload(EpcPayment(name="A", iban=LV_IBAN)).split("\n")[-1] == LV_IBAN


@pytest.mark.parametrize(
    ("minor", "text"),
    [
        (1, "EUR0.01"),
        (10, "EUR0.10"),
        (100, "EUR1.00"),
        (14990, "EUR149.90"),
        (99999999999, "EUR999999999.99"),
    ],
)
def test_amount_format(minor: int, text: str) -> None:
    assert format_amount(minor) == text


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 71}, "name"),
        ({"name": "two\nlines"}, "name"),
        ({"iban": "DE89370400440532013001"}, "iban"),  # one digit off: check digits fail
        ({"bic": "COBA"}, "bic"),
        ({"amount_minor": 0}, "amount"),
        ({"amount_minor": 100_000_000_000}, "amount"),
        ({"currency": "USD"}, "amount"),
        ({"purpose": "gdds"}, "purpose"),
        ({"reference": "RF19539007547034"}, "reference"),  # wrong check digits
        ({"reference": "RF18539007547034", "text": "both"}, "reference"),
        ({"text": "x" * 141}, "text"),
        ({"information": "x" * 71}, "information"),
    ],
)
def test_validation_names_the_field(changes: dict[str, object], field: str) -> None:
    base: dict[str, object] = {"name": "Muster GmbH", "iban": DE_IBAN, "amount_minor": 100}
    base.update(changes)
    with pytest.raises(EpcError) as caught:
        build_epc_payload(EpcPayment(**base))  # type: ignore[arg-type]
    assert caught.value.field == field
    assert str(caught.value).startswith(field + ":")


def test_limits_are_inclusive() -> None:
    payload = build_epc_payload(
        EpcPayment(name="n" * 70, iban=DE_IBAN, text="t" * 140, information="i" * 70, amount_minor=1)
    )
    assert payload.split("\n")[5] == "n" * 70
    assert payload.split("\n")[10] == "t" * 140


def test_payload_over_331_bytes_is_refused() -> None:
    # 70 + 140 + 70 two-byte characters = 560 bytes of text alone.
    with pytest.raises(EpcError) as caught:
        build_epc_payload(EpcPayment(name="ā" * 70, iban=DE_IBAN, text="ā" * 140, information="ā" * 70))
    assert caught.value.field == "payload"


def test_rf_reference_published_example() -> None:
    # ISO 11649's example: creditor reference 539007547034 -> RF18 5390 0754 7034.
    assert make_rf_reference("5390 0754 7034") == "RF18539007547034"
    assert is_valid_rf_reference("RF18 5390 0754 7034")
    assert not is_valid_rf_reference("RF17 5390 0754 7034")
    assert not is_valid_rf_reference("XX18539007547034")


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=21))
def test_made_rf_references_validate(base: str) -> None:
    reference = make_rf_reference(base)
    assert is_valid_rf_reference(reference)
    assert reference.endswith(base)


def test_qr_decodes_back_to_the_payload_with_level_m() -> None:
    payload = build_epc_payload(
        EpcPayment(
            name="Müller & Söhne GmbH",
            iban=DE_IBAN,
            amount_minor=40_00,
            text="Rechnungen 2026-041, 2026-057 – Kundennr. 10023",
        )
    )
    image = render_epc_qr(payload)
    result = decode(image.png)
    assert result.text == payload
    assert result.format == zxingcpp.BarcodeFormat.QRCode
    assert result.ec_level == "M"
    assert image.version <= 13
    svg = ET.fromstring(image.svg)
    assert svg.tag.endswith("svg")


def largest(text_length: int) -> EpcPayment:
    return EpcPayment(
        name="N" * 70,
        iban=DE_IBAN,
        bic="COBADEFFXXX",
        amount_minor=99999999999,
        purpose="SUPP",
        text="T" * text_length,
        information="I" * 70,
    )


def test_qr_of_largest_payload_stays_within_version_13() -> None:
    # Bytes: BCD 3 + 002 3 + 1 1 + SCT 3 + BIC 11 + name 70 + IBAN 22 + EUR999999999.99 15 + SUPP 4
    # + reference 0 + text + information 70 + 11 line feeds = 213 + text; 118 characters of text give 331.
    payload = build_epc_payload(largest(118))
    assert len(payload.encode()) == 331
    with pytest.raises(EpcError):
        build_epc_payload(largest(119))
    qr = make_epc_qr(payload)
    assert qr.version is not None and int(qr.version) <= 13
    assert qr.error == "M"
    assert decode(render_epc_qr(payload, scale=3).png).text == payload


def test_latvian_payload_round_trip() -> None:
    image = epc_qr_for(
        EpcPayment(
            name="SIA Ķekava Būve", iban=LV_IBAN, amount_minor=17_00, text="Rēķins Nr. 5 — ļoti steidzami"
        )
    )
    assert decode(image.png).text.split("\n")[5] == "SIA Ķekava Būve"


def test_a_creditor_reference_goes_in_the_structured_field_anything_else_in_the_text() -> None:
    from mahnwerk.core.epc_qr import creditor_payment, make_rf_reference

    rf = make_rf_reference("RE202601452")
    structured = [
        *build_epc_payload(creditor_payment("Acme GmbH", DE_IBAN, None, 12_345, rf)).split("\n"),
        "",
        "",
    ]
    # lines 10 and 11 of the EPC069-12 payload: structured reference, unstructured text (trailing empty lines
    # are left off the payload)
    assert structured[9] == rf and structured[10] == ""
    plain = [
        *build_epc_payload(creditor_payment("Acme GmbH", DE_IBAN, None, 12_345, "K10001 RE-1")).split("\n"),
        "",
    ]
    assert plain[9] == "" and plain[10] == "K10001 RE-1"
    long_name = creditor_payment("A" * 100, DE_IBAN, "", 1, "x")
    assert long_name.name == "A" * 70 and long_name.bic is None
