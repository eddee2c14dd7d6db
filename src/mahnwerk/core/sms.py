"""SMS length: GSM 7-bit default alphabet or UCS-2, and how many segments a text takes.

The GSM 7-bit default alphabet and its extension table are those of 3GPP TS 23.038 (formerly GSM 03.38),
section 6.2.1. A character of the extension table is sent as ESC + code and so takes two septets. A text
with any character outside both tables is sent as UCS-2, two bytes (one UTF-16 code unit) per character;
a character outside the Basic Multilingual Plane (most emoji) needs a surrogate pair, two units.

One SMS carries 140 bytes: 160 septets or 70 UCS-2 units. A longer text is split into parts that each
lose 6 bytes to the concatenation header (UDH), leaving 153 septets or 67 units per part. An escape
sequence or a surrogate pair is never split across two parts, so a part may carry one unit less.

German umlauts and ß (ä ö ü Ä Ö Ü ß) are in the default alphabet; so are é è ù ì ò à Ç Ñ ñ Å å Ø ø Æ æ É.
Latvian letters with diacritics (ā č ē ģ ī ķ ļ ņ š ū ž) are not: a Latvian text with them goes as UCS-2.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

# 3GPP TS 23.038, 6.2.1 "GSM 7 bit Default Alphabet", code points 0x00..0x7F in order.
# 0x1B is the escape to the extension table and is not a character of its own (kept as a placeholder).
GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
# 6.2.1.1 "GSM 7 bit default alphabet extension table": form feed, ^ { } \ [ ~ ] | and the euro sign.
GSM7_EXTENSION = "\f^{}\\[~]|€"

_BASIC = frozenset(GSM7_BASIC) - {"\x1b"}
_EXTENSION = frozenset(GSM7_EXTENSION)

SINGLE_SEPTETS = 160
PART_SEPTETS = 153
SINGLE_UCS2 = 70
PART_UCS2 = 67

Encoding = Literal["GSM-7", "UCS-2"]


class SmsBudgetError(ValueError):
    """A rendered SMS template is longer than its segment budget."""

    def __init__(self, template: str, info: SmsInfo, max_segments: int, overflow: int) -> None:
        unit = "septets" if info.encoding == "GSM-7" else "characters"
        forced = ""
        if info.non_gsm_characters:
            forced = " (sent as UCS-2 because of " + " ".join(info.non_gsm_characters) + ")"
        super().__init__(
            f"SMS template {template!r} needs {info.segments} segment(s), the budget is {max_segments}: "
            f"{overflow} {unit} too long{forced}"
        )
        self.template = template
        self.info = info
        self.max_segments = max_segments
        self.overflow = overflow


@dataclass(frozen=True, slots=True)
class SmsInfo:
    encoding: Encoding
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    segments: int
    non_gsm_characters: tuple[str, ...]  # the distinct characters that forced UCS-2, in order of appearance

    @property
    def single_limit(self) -> int:
        return SINGLE_SEPTETS if self.encoding == "GSM-7" else SINGLE_UCS2

    @property
    def part_limit(self) -> int:
        return PART_SEPTETS if self.encoding == "GSM-7" else PART_UCS2


def gsm7_septets(char: str) -> int | None:
    """Septets one character takes in the GSM 7-bit alphabet: 1, 2 (extension table), or None (not there)."""
    if char in _BASIC:
        return 1
    if char in _EXTENSION:
        return 2
    return None


def non_gsm_characters(text: str) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for char in text:
        if gsm7_septets(char) is None:
            seen.setdefault(char, None)
    return tuple(seen)


def is_gsm7(text: str) -> bool:
    return all(gsm7_septets(char) is not None for char in text)


def _unit_sizes(text: str, encoding: Encoding) -> list[int]:
    if encoding == "GSM-7":
        return [gsm7_septets(char) or 0 for char in text]
    return [2 if ord(char) > 0xFFFF else 1 for char in text]


def _count_parts(sizes: list[int], part_limit: int) -> int:
    """Fill parts greedily; a character (escape pair, surrogate pair) never straddles two parts."""
    parts, used = 1, 0
    for size in sizes:
        if used + size > part_limit:
            parts += 1
            used = 0
        used += size
    return parts


def analyse_sms(text: str) -> SmsInfo:
    """Encoding, length in units and number of segments of ``text`` as an SMS."""
    forced = non_gsm_characters(text)
    encoding: Encoding = "UCS-2" if forced else "GSM-7"
    sizes = _unit_sizes(text, encoding)
    units = sum(sizes)
    single, part = (SINGLE_SEPTETS, PART_SEPTETS) if encoding == "GSM-7" else (SINGLE_UCS2, PART_UCS2)
    segments = 1 if units <= single else _count_parts(sizes, part)
    return SmsInfo(encoding=encoding, units=units, segments=segments, non_gsm_characters=forced)


def check_sms_budget(template: str, text: str, max_segments: int = 1) -> SmsInfo:
    """Analyse a rendered template and refuse it when it needs more than ``max_segments`` segments.

    The error names the template and the overflow: how many units would have to go for the text to fit.
    """
    if max_segments < 1:
        raise ValueError("max_segments must be at least 1")
    info = analyse_sms(text)
    if info.segments <= max_segments:
        return info
    if max_segments == 1:
        overflow = info.units - info.single_limit
    else:
        sizes = _unit_sizes(text, info.encoding)
        # Drop characters from the end until the text fits: that many units are too many.
        overflow = 0
        while sizes and (
            sum(sizes) > info.single_limit and _count_parts(sizes, info.part_limit) > max_segments
        ):
            overflow += sizes.pop()
    raise SmsBudgetError(template, info, max_segments, overflow)


_PHONE = re.compile(r"\+?[0-9 ()/-]{5,30}")


def is_phone_number(text: str) -> bool:
    """A phone number as people write it (``+49 30 1234567``, ``030/1234567``): digits with spaces, brackets,
    slashes and dashes, an optional leading ``+``, 5 to 15 digits (E.164's longest), not all of them zero."""
    if not _PHONE.fullmatch(text):
        return False
    digits = re.sub(r"\D", "", text)
    return 5 <= len(digits) <= 15 and digits.strip("0") != ""
