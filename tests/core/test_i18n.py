"""The one text catalogue: every key in both languages, no key defined twice, served to the pages."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tichwatch.core import i18n


def test_every_key_has_both_languages_and_texts_are_not_empty() -> None:
    cat = i18n.catalogue()
    assert set(cat["vi"]) == set(cat["en"])
    assert all(v.strip() for lang in i18n.LANGUAGES for v in cat[lang].values())
    assert i18n.text("vi", "BD3") == "Báo động III" and i18n.text("en", "BD3") == "Alarm level III"
    assert i18n.text("xx", "BD3") == "Báo động III"  # unknown language: the default one
    assert i18n.text("en", "no.such.key") == "no.such.key"


@pytest.mark.parametrize(("files", "refusal"), [
    ({"a": {"vi": {"x": "một", "y": "hai"}, "en": {"x": "one"}}}, "y"),  # a key missing in English
    ({"a": {"vi": {"x": "một"}, "en": {"x": "one"}}, "b": {"vi": {"x": "một"}, "en": {"x": "one"}}}, "both"),  # twice
])
def test_an_inconsistent_catalogue_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              files: dict[str, dict[str, dict[str, str]]], refusal: str) -> None:
    for name, doc in files.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(doc))
    monkeypatch.setattr(i18n, "CATALOGUE_DIR", tmp_path)
    i18n.catalogue.cache_clear()
    try:
        with pytest.raises(i18n.CatalogueError, match=refusal):
            i18n.catalogue()
    finally:
        i18n.catalogue.cache_clear()
