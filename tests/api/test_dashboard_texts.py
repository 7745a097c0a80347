"""Every text of the dashboard comes from the one catalogue, in both languages: the page's defaults are the catalogue's
Vietnamese, every key the scripts ask for exists, every camera state and rejection reason has its words."""
from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from tichwatch.api.routes_cameras import CAMERA_STATES, status_code
from tichwatch.core import i18n
from tichwatch.detectors.flood.health import HEALTH_KINDS as SENSOR_FAULTS
from tichwatch.detectors.flood.rejections import REJECTING_KINDS

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "api" / "static"
VIETNAMESE = re.compile(r"[àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ]", re.IGNORECASE)


class _Texts(HTMLParser):
    """(key, default text) of each element with data-i18n, (key, default label) of each with data-i18n-label."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[tuple[str, str | None, list[str]]] = []
        self.texts: list[tuple[str, str]] = []
        self.labels: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("data-i18n-label"):
            self.labels.append((str(a["data-i18n-label"]), a.get("aria-label")))
        self.open.append((tag, a.get("data-i18n"), []))

    def handle_endtag(self, tag: str) -> None:
        while self.open:  # void elements (input, meta) never close: close them with their parent
            name, key, text = self.open.pop()
            if key:
                self.texts.append((key, "".join(text).strip()))
            if self.open:
                self.open[-1][2].extend(text)
            if name == tag:
                return

    def handle_data(self, data: str) -> None:
        if self.open:
            self.open[-1][2].append(data)


def test_the_page_defaults_are_the_catalogues_vietnamese() -> None:
    page = _Texts()
    page.feed((STATIC / "index.html").read_text(encoding="utf-8"))
    vi = i18n.texts("vi")
    assert len(page.texts) > 20
    assert [(k, text) for k, text in page.texts if vi.get(k) != text] == []
    assert [(k, label) for k, label in page.labels if label is not None and vi.get(k) != label] == []
    title = re.search(r"<title>(.*)</title>", (STATIC / "index.html").read_text(encoding="utf-8"))
    assert title is not None and title.group(1) == vi["page_title"]


def test_every_key_the_dashboard_scripts_ask_for_exists() -> None:
    catalogue = i18n.catalogue()
    scripts = "".join((STATIC / name).read_text(encoding="utf-8") for name in ("dashboard.js", "chart.js"))
    asked = set(re.findall(r"\btf?\(\"([^\"]+)\"", scripts))
    assert {"page_title", "chart_range", "now"} <= asked  # the scan finds what t() and tf() ask for
    families = {f"camstate.{status_code(s)}" for s in CAMERA_STATES} | {f"rejected.{k}" for k in REJECTING_KINDS} | {
        f"{lvl}.short" for lvl in ("BD1", "BD2", "BD3", "RECORD")} | {f"span.{s}" for s in ("24h", "7d", "30d")} | {
        "BD1", "BD2", "BD3", *SENSOR_FAULTS}
    for lang in i18n.LANGUAGES:
        assert sorted((asked | families) - set(catalogue[lang])) == [], lang


def test_the_scripts_hold_no_words_of_their_own() -> None:
    for name in ("dashboard.js", "chart.js"):
        code = re.sub(r"//[^\n]*|/\*.*?\*/", "", (STATIC / name).read_text(encoding="utf-8"), flags=re.S)
        literals = re.findall(r"\"[^\"\n]*\"|'[^'\n]*'|`[^`]*`", code)
        assert [s for s in literals if VIETNAMESE.search(s)] == [], name


def test_every_camera_state_the_dust_detector_gives_is_listed() -> None:
    source = (ROOT / "detectors" / "dust" / "detector.py").read_text(encoding="utf-8")
    reasons = set(re.findall(r"suspended = \"([^\"]+)\"", source)) | set(re.findall(r"_suspend\(cam, \w+, \"([^\"]+)\"",
                                                                                     source))
    assert reasons and reasons <= set(CAMERA_STATES), reasons - set(CAMERA_STATES)
