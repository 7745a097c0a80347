"""The one catalogue of people-facing texts: core/catalogue/<area>.json, each holding {"vi": {key: text}, "en": {…}}.

The dashboard's pages fetch it merged per language (GET /i18n/<lang>.json) and Python renders from it with `text`, so
a word is translated once for the screens, the messages and the documents. Areas (common, dashboard, alerts, …) are
files only to keep them short; keys are unique across all of them (checked on load).
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from types import MappingProxyType

CATALOGUE_DIR = Path(__file__).with_name("catalogue")
"""Where the catalogue's files are."""
LANGUAGES = ("vi", "en")
"""The languages every key must have, the default first."""


class CatalogueError(ValueError):
    """The catalogue's files disagree: a key missing in one language, or defined twice."""


@cache
def catalogue() -> Mapping[str, Mapping[str, str]]:
    """Every language's texts, merged over the areas (read once; raises CatalogueError when inconsistent)."""
    merged: dict[str, dict[str, str]] = {lang: {} for lang in LANGUAGES}
    origin: dict[str, str] = {}
    for path in sorted(CATALOGUE_DIR.glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        keys = set(doc.get(LANGUAGES[0], {}))
        for lang in LANGUAGES:
            texts = doc.get(lang, {})
            if set(texts) != keys:
                missing = sorted(keys ^ set(texts))
                raise CatalogueError(f"{path.name}: {lang} and {LANGUAGES[0]} differ in keys {missing[:10]}")
            merged[lang].update(texts)
        for key in keys:
            if key in origin:
                raise CatalogueError(f"key {key!r} is in both {origin[key]} and {path.name}")
            origin[key] = path.name
    return MappingProxyType({lang: MappingProxyType(texts) for lang, texts in merged.items()})


def texts(lang: str) -> Mapping[str, str]:
    """One language's texts (the default language's for an unknown one)."""
    cat = catalogue()
    return cat.get(lang, cat[LANGUAGES[0]])


def text(lang: str, key: str) -> str:
    """One text in a language; the key itself when the catalogue lacks it (visible, never a crash)."""
    return texts(lang).get(key, key)
