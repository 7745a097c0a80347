"""Vietnamese mobile numbers: what people type ("0912 345 678", "+84 91 234 5678", "84912345678", the pre-2018
11-digit "0162…") to E.164 (+84 and nine digits), only on the networks' mobile prefixes; and the masked form officers
see.

Mobile prefixes after the 2018 renumbering (Bộ TT&TT, Thông tư 22/2014 and Quyết định 798/QĐ-BTTTT): Viettel 032-039,
086, 096-098; Vinaphone 081-085, 088, 091, 094; MobiFone 070, 076-079, 089, 090, 093; Vietnamobile 052, 056, 058, 092;
Gmobile 059, 099; Reddi 055; iTel 087. Landlines (02x) and service numbers are refused: they take no SMS or Zalo.
"""
from __future__ import annotations

import re

MOBILE_PREFIXES = frozenset({
    "32", "33", "34", "35", "36", "37", "38", "39", "86", "96", "97", "98",  # Viettel
    "81", "82", "83", "84", "85", "88", "91", "94",  # Vinaphone
    "70", "76", "77", "78", "79", "89", "90", "93",  # MobiFone
    "52", "56", "58", "92",  # Vietnamobile
    "59", "99",  # Gmobile
    "55",  # Reddi
    "87",  # iTel
})
"""The two digits after +84 (or after the leading 0) of a Vietnamese mobile number."""

OLD_PREFIXES = {
    "120": "70", "121": "79", "122": "77", "126": "76", "128": "78",
    "123": "83", "124": "84", "125": "85", "127": "81", "129": "82",
    "162": "32", "163": "33", "164": "34", "165": "35", "166": "36", "167": "37", "168": "38", "169": "39",
    "186": "56", "188": "58", "199": "59",
}
"""11-digit prefixes (after 0) renumbered in 2018 to the 10-digit ones: people still write some of them down."""

MAX_INPUT_CHARS = 32
"""Longest phone input looked at (anything longer is not a phone number)."""
_SEPARATORS = re.compile(r"[\s.\-()/]")


class InvalidPhone(ValueError):
    """Not a Vietnamese mobile number; the message says what is wrong."""


def normalise(text: str) -> str:
    """The E.164 form (+84xxxxxxxxx) of a Vietnamese mobile number; InvalidPhone otherwise."""
    if len(text) > MAX_INPUT_CHARS:
        raise InvalidPhone("too long for a phone number")
    raw = _SEPARATORS.sub("", text)
    if raw.startswith("+"):
        raw = "00" + raw[1:]
    if not raw.isascii() or not raw.isdigit():
        raise InvalidPhone("a phone number has only digits, spaces and + - . ( )")
    if raw.startswith("0084"):
        national = raw[4:]
    elif raw.startswith("84") and len(raw) in (11, 12):
        national = raw[2:]
    elif raw.startswith("0") and not raw.startswith("00"):
        national = raw[1:]
    else:
        raise InvalidPhone("not a Vietnamese number: write it as 09xx xxx xxx or +84 9xx xxx xxx")
    if len(national) == 10 and national.startswith("0"):  # "+84 0912 …": the trunk 0 written after the country code
        national = national[1:]
    elif len(national) == 10 and national[:3] in OLD_PREFIXES:
        national = OLD_PREFIXES[national[:3]] + national[3:]
    if len(national) != 9:
        raise InvalidPhone("a Vietnamese mobile number has 10 digits (09xx xxx xxx)")
    if national[:2] not in MOBILE_PREFIXES:
        raise InvalidPhone("not a mobile number (landlines and service numbers take no SMS or Zalo)")
    return "+84" + national


def is_mobile(text: str) -> bool:
    """True when `text` is a Vietnamese mobile number in any accepted form."""
    try:
        normalise(text)
    except InvalidPhone:
        return False
    return True


def masked(e164: str) -> str:
    """What officers see of a number: the network's first digit and the last three ("+84 9x xxx x678")."""
    if not e164.startswith("+84") or len(e164) != 12:
        return "+84 xx xxx xxxx"
    return f"+84 {e164[3]}x xxx x{e164[-3:]}"


def national(e164: str) -> str:
    """The number as people write it in Vietnam ("0912 345 678")."""
    n = "0" + e164[3:]
    return f"{n[:4]} {n[4:7]} {n[7:]}"


_NUMBER_LIKE = re.compile(r"\+?\d[\d .\-()]{6,}\d")


def scrub(text: str) -> str:
    """A free text with anything like a phone number replaced by "[…]" (for the audit log, which holds no number)."""
    return _NUMBER_LIKE.sub("[…]", text)
