"""SMS keywords: is an inbound text a request to stop? Compared without diacritics, case, punctuation or extra blanks,
so "Huỷ", "HUY", "huy." and "Từ chối" all count."""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

MAX_TEXT_CHARS = 1600
"""Longest inbound text looked at (ten concatenated SMS); the rest is ignored."""
_NOT_WORD = re.compile(r"[^A-Z0-9]+")


def plain(text: str) -> str:
    """Upper-case ASCII words of a text: diacritics dropped (đ → D), punctuation as blanks, single spaces."""
    decomposed = unicodedata.normalize("NFKD", text[:MAX_TEXT_CHARS].replace("đ", "d").replace("Đ", "D"))
    ascii_only = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _NOT_WORD.sub(" ", ascii_only.upper()).strip()


def is_unsubscribe(text: str, keywords: Iterable[str]) -> bool:
    """True when the text is one of the keywords, alone or followed by more words ("HUY DANG KY")."""
    said = plain(text)
    for keyword in keywords:
        k = plain(keyword)
        if k and (said == k or said.startswith(k + " ")):
            return True
    return False
