"""EPC QR code ("GiroCode", "Scan to pay") for a SEPA credit transfer, per EPC069-12.

The payload is plain text of up to twelve elements separated by a line feed, in this order:

====  ==========================  =====================================================================
line  element                     what Mahnwerk writes
====  ==========================  =====================================================================
1     Service Tag                 ``BCD``
2     Version                     ``002`` (the BIC may be left empty within the EEA)
3     Character set               ``1`` (UTF-8)
4     Identification              ``SCT`` (SEPA credit transfer)
5     BIC of the beneficiary      8 or 11 characters, or empty
6     Name of the beneficiary     1..70 characters
7     IBAN of the beneficiary     checked with its ISO 13616 check digits
8     Amount                      ``EUR`` + 0.01..999999999.99 with a decimal point, or empty
9     Purpose (AT-44)             four letters (ISO 20022 purpose code), or empty
10    Structured remittance       ISO 11649 creditor reference ``RF..`` (<= 35), or empty
11    Unstructured remittance     free text (<= 140), or empty; never together with line 10
12    Beneficiary to originator   a hint shown to the payer (<= 70), or empty
====  ==========================  =====================================================================

Nothing follows the last element that is given (no trailing separator). The whole payload is at most
331 bytes, which fits a QR code of version 13 at error correction level M, the level the guidelines fix.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

import segno
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException

SERVICE_TAG = "BCD"
VERSION = "002"
CHARACTER_SET_UTF8 = "1"
IDENTIFICATION = "SCT"
MAX_PAYLOAD_BYTES = 331
MAX_QR_VERSION = 13
MAX_AMOUNT_MINOR = 999_999_999_99

_PURPOSE = re.compile(r"[A-Z]{4}")
_RF = re.compile(r"RF[0-9]{2}[A-Z0-9]{1,21}")


class EpcError(ValueError):
    """A payment that cannot be put into an EPC QR code; ``field`` names the element at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class EpcPayment:
    """What the payer's banking app fills in. ``amount_minor`` is in euro cents."""

    name: str
    iban: str
    amount_minor: int | None = None
    bic: str | None = None
    reference: str | None = None
    text: str | None = None
    purpose: str | None = None
    information: str | None = None
    currency: str = "EUR"


@dataclass(frozen=True, slots=True)
class EpcQrImage:
    payload: str
    png: bytes
    svg: bytes
    version: int


def _alnum_value(text: str) -> int:
    """ISO 7064 MOD 97-10 digits as used by IBAN and ISO 11649: A=10 .. Z=35."""
    return int("".join(str(int(ch, 36)) for ch in text))


def is_valid_rf_reference(reference: str) -> bool:
    """True for a well-formed ISO 11649 creditor reference ("RF18 5390 0754 7034", spaces allowed)."""
    compact = reference.replace(" ", "").upper()
    if not _RF.fullmatch(compact):
        return False
    return _alnum_value(compact[4:] + compact[:4]) % 97 == 1


def creditor_payment(
    name: str, iban: str, bic: str | None, amount_minor: int, reference: str, purpose: str | None = None
) -> EpcPayment:
    """A transfer of ``amount_minor`` euro cents to the creditor: an ISO 11649 reference goes into the
    structured field (banks match it), any other reference into the text; the name cut to the 70 characters
    the standard allows."""
    structured = reference if is_valid_rf_reference(reference) else None
    return EpcPayment(
        name=name[:70],
        iban=iban,
        bic=bic or None,
        amount_minor=amount_minor,
        reference=structured,
        text=None if structured else (reference[:140] or None),
        purpose=purpose,
    )


def make_rf_reference(base: str) -> str:
    """Turn a creditor's own reference (letters and digits, <= 21) into an ISO 11649 ``RF`` reference."""
    compact = base.replace(" ", "").replace("-", "").upper()
    if not compact or len(compact) > 21 or not compact.isalnum() or not compact.isascii():
        raise EpcError("reference", "the base of a creditor reference must be 1 to 21 letters or digits")
    check = 98 - _alnum_value(compact + "RF00") % 97
    return f"RF{check:02d}{compact}"


def format_amount(amount_minor: int) -> str:
    """``EUR`` followed by the amount with a decimal point and two decimals: 1234 -> ``EUR12.34``."""
    return f"EUR{amount_minor // 100}.{amount_minor % 100:02d}"


def _single_line(field: str, value: str, limit: int) -> str:
    value = value.strip()
    if "\n" in value or "\r" in value:
        raise EpcError(field, "must be a single line")
    if len(value) > limit:
        raise EpcError(field, f"is {len(value)} characters long, at most {limit} are allowed")
    return value


def build_epc_payload(payment: EpcPayment) -> str:
    """The EPC069-12 payload text (version 002, UTF-8) for ``payment``; raises :class:`EpcError`."""
    name = _single_line("name", payment.name, 70)
    if not name:
        raise EpcError("name", "the beneficiary's name is required")

    try:
        iban = IBAN(payment.iban).compact
    except (SchwiftyException, ValueError) as exc:
        raise EpcError("iban", f"not a valid IBAN ({exc})") from None

    bic = ""
    if payment.bic:
        try:
            bic = BIC(payment.bic).compact
        except (SchwiftyException, ValueError) as exc:
            raise EpcError("bic", f"not a valid BIC ({exc})") from None
        if len(bic) not in (8, 11):
            raise EpcError("bic", "must have 8 or 11 characters")

    if payment.currency != "EUR":
        raise EpcError("amount", f"an EPC QR code pays euros only, not {payment.currency}")
    amount = ""
    if payment.amount_minor is not None:
        if not 1 <= payment.amount_minor <= MAX_AMOUNT_MINOR:
            raise EpcError("amount", "must be from 0.01 to 999999999.99 EUR")
        amount = format_amount(payment.amount_minor)

    purpose = (payment.purpose or "").strip()
    if purpose and not _PURPOSE.fullmatch(purpose):
        raise EpcError("purpose", "must be a purpose code of four capital letters")

    reference = (payment.reference or "").replace(" ", "").upper()
    text = _single_line("text", payment.text or "", 140)
    if reference and text:
        raise EpcError("reference", "give either a structured reference or a remittance text, not both")
    if reference and not is_valid_rf_reference(reference):
        raise EpcError("reference", "not a valid ISO 11649 creditor reference (RF + check digits)")

    information = _single_line("information", payment.information or "", 70)

    elements = [
        SERVICE_TAG,
        VERSION,
        CHARACTER_SET_UTF8,
        IDENTIFICATION,
        bic,
        name,
        iban,
        amount,
        purpose,
        reference,
        text,
        information,
    ]
    while elements and not elements[-1]:
        elements.pop()
    payload = "\n".join(elements)
    size = len(payload.encode("utf-8"))
    if size > MAX_PAYLOAD_BYTES:
        raise EpcError("payload", f"is {size} bytes long, at most {MAX_PAYLOAD_BYTES} fit the QR code")
    return payload


def make_epc_qr(payload: str) -> segno.QRCode:
    """The QR code symbol for a payload: byte mode, UTF-8, error correction M, version <= 13."""
    qr = segno.make_qr(payload, error="m", mode="byte", encoding="utf-8", boost_error=False)
    if not isinstance(qr.version, int) or qr.version > MAX_QR_VERSION:
        raise EpcError("payload", f"needs QR version {qr.version}, the guidelines allow at most 13")
    return qr


def render_epc_qr(payload: str, *, scale: int = 4, border: int = 4) -> EpcQrImage:
    """PNG and SVG images of the EPC QR code (``border`` is the quiet zone in modules, 4 per ISO 18004)."""
    qr = make_epc_qr(payload)
    png = io.BytesIO()
    qr.save(png, kind="png", scale=scale, border=border)
    svg = io.BytesIO()
    qr.save(svg, kind="svg", scale=scale, border=border, xmldecl=False, svgns=True)
    assert isinstance(qr.version, int)
    return EpcQrImage(payload=payload, png=png.getvalue(), svg=svg.getvalue(), version=qr.version)


def epc_qr_for(payment: EpcPayment, *, scale: int = 4) -> EpcQrImage:
    """Build the payload and render it in one call."""
    return render_epc_qr(build_epc_payload(payment), scale=scale)
