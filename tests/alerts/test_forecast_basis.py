"""An early warning says what it rests on (rate, rain upstream, an upstream station over BD2) and its probability
within its window, in Vietnamese and English; facts the detector did not know are left out."""
from __future__ import annotations

from pathlib import Path

from tests.alerts.test_templates import AT_0710, _compose
from tichwatch.core.detection import Detection, Severity

EVIDENCE = {"next_level": "BD3", "threshold_m": 8.0, "eta_s": 12600, "eta_low_s": 9000, "eta_high_s": 18000,
            "rate_m_per_h": 0.35, "rain_mm_3h": 60.0, "rain_window_s": 10800.0, "p_window": 0.7, "window_s": 10800.0,
            "upstream_over": [{"station_id": "kq", "station_name": "Kim Quan", "level": "BD2"}]}


def _text(tmp_path: Path, evidence: dict[str, object], language: str = "vi") -> str:
    det = Detection("flood.forecast", "st1", AT_0710, True, Severity.CRITICAL, 3.5, "h", "BD3", "eta", evidence)
    _, composer, c = _compose(tmp_path, det, language=language)
    return composer.compose(c, AT_0710).text


def test_the_vietnamese_warning_explains_itself(tmp_path: Path) -> None:
    assert ("Căn cứ: đang lên 0,35 m/giờ, mưa 60 mm trong 3 giờ qua ở thượng nguồn, trạm Kim Quan đã vượt báo động II; "
            "khả năng đạt báo động III trong 3 giờ: 70 %.") in _text(tmp_path, EVIDENCE)


def test_the_english_warning_explains_itself(tmp_path: Path) -> None:
    assert ("Based on: rising 0.35 m/h, 60 mm of rain in the last 3 hours upstream, Kim Quan station already above "
            "alarm level II; chance of reaching alarm level III within 3 hours: 70 %.") in _text(
        tmp_path, EVIDENCE, language="en")


def test_unknown_facts_are_left_out(tmp_path: Path) -> None:
    text = _text(tmp_path, {**EVIDENCE, "rain_mm_3h": None, "upstream_over": [], "p_window": 0.82,
                            "window_s": 21600.0})
    assert "Căn cứ: đang lên 0,35 m/giờ; khả năng đạt báo động III trong 6 giờ: 82 %." in text
    assert "mưa" not in text and "thượng nguồn" not in text
