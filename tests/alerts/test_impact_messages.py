"""Flood alerts name the hamlets that must prepare or move (impact by hamlet), in Vietnamese and English: the text and
HTML carry the impact line, the SMS variant names the hamlets when they fit one segment, the title stays short, and
the alert document carries the impact; forecasts say "sắp tới"."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from tests.alerts.test_templates import AT_0710, BD2, POLICY
from tests.residents.impact_fixtures import IMPACT
from tests.support import make_settings
from tichwatch.alerts import model
from tichwatch.alerts.channels.base import Message
from tichwatch.alerts.channels.sms import fold
from tichwatch.alerts.model import Alert
from tichwatch.alerts.stages import Candidate
from tichwatch.alerts.templates import ADVICE_APART, SHORT_MAX_CHARS, Composer
from tichwatch.alerts.views import alert_document
from tichwatch.config.alerts import ReceiverConfig
from tichwatch.config.schema import Settings
from tichwatch.core.detection import Detection

LINE_VI = ("Báo động II: Thôn 1 và Thôn 2 — ngập Đường ven sông; Đường liên thôn 1 – 2; Trường mầm non thôn 2 — "
           "chuẩn bị di dời người già, trẻ em.")
LINE_EN = ("Alarm level II: Thôn 1 and Thôn 2 — flooding Đường ven sông; Đường liên thôn 1 – 2; Trường mầm non "
           "thôn 2 — get ready to move the elderly and children.")


def _settings(tmp_path: Path, impact: dict[str, Any] | None = IMPACT) -> Settings:
    extra: dict[str, Any] = {"impact": impact} if impact is not None else {}
    return make_settings(tmp_path, http={"port": 0, "public_url": "https://canhbao.kieuphu.vn"}, **extra)


def _alert(detection: Detection = BD2) -> Alert:
    alert = model.on_detection(None, detection, AT_0710 + 30, POLICY, 0).alert
    assert alert is not None
    return alert


def _message(settings: Settings, alert: Alert, lang: str = "vi", notice: str = "firing", name: str = "duty",
             audience: str = "public") -> Message:
    receiver = ReceiverConfig.model_validate({"name": name, "channel": {"type": "log"}, "language": lang,
                                              "audience": audience})
    return Composer(settings).compose(Candidate(alert, alert.labels(), receiver, notice, None),  # type: ignore[arg-type]
                                      AT_0710 + 30)


def test_a_bd2_message_names_the_hamlets_and_what_to_do_in_both_languages(tmp_path: Path) -> None:
    settings, alert = _settings(tmp_path), _alert()
    vi, en = _message(settings, alert), _message(settings, alert, "en", audience="officers")
    assert LINE_VI in vi.text.splitlines() and f">{LINE_VI}</p>" in vi.html
    assert LINE_EN in en.text.splitlines() and f">{LINE_EN}</p>" in en.html
    assert "Thôn" not in vi.title and "Thôn" not in en.title  # the title stays short
    lines = vi.text.splitlines()
    assert lines.index(LINE_VI) == lines.index(next(x for x in lines if x.startswith("Việc cần làm:"))) - 1


def test_the_sms_variant_names_the_hamlets_within_one_segment(tmp_path: Path) -> None:
    settings, alert = _settings(tmp_path), _alert()
    vi, en = _message(settings, alert).short, _message(settings, alert, "en").short
    assert "Ảnh hưởng: Thôn 1, Thôn 2." in vi and "Affected: Thôn 1, Thôn 2." in en
    for short in (vi, en):
        assert len(short) <= SHORT_MAX_CHARS and short.endswith(f"/alerts/{alert.id}")
        assert fold(short, True, 160) == fold(short, True, 10_000)  # nothing clipped: the link survives
    plain = _message(_settings(tmp_path, None), alert).short  # without impact: as it always was
    assert "đang lên 0,12 m/giờ" in plain and "Ảnh hưởng" not in plain


def test_hamlets_that_do_not_fit_one_segment_are_left_to_the_full_text(tmp_path: Path) -> None:
    many = {**IMPACT, "hamlets": [*IMPACT["hamlets"], *({"id": f"x{i}", "name": f"Thôn Phú Mỹ Hạ {i}"}  # type: ignore[misc]
                                                         for i in range(6))]}
    many["stations"] = [{"station_id": "st1", "bd2": {"hamlets": [f"x{i}" for i in range(6)]}}]
    short = _message(_settings(tmp_path, many), _alert()).short
    assert "Thôn Phú Mỹ" not in short and "đang lên 0,12 m/giờ" in short


def test_a_forecast_says_which_hamlets_must_prepare_for_the_level_to_come(tmp_path: Path) -> None:
    forecast = replace(BD2, kind="flood.forecast", level="BD3", reason="forecast BD3")
    settings, alert = _settings(tmp_path), _alert(forecast)
    vi, en = _message(settings, alert), _message(settings, alert, "en")
    assert "Sắp tới báo động III: Thôn 1, Thôn 2 và Thôn 3 — " in vi.text and "di dời ngay người già" in vi.text
    assert "Alarm level III expected: Thôn 1, Thôn 2 and Thôn 3 — " in en.text
    assert len(vi.short) <= SHORT_MAX_CHARS and "Thôn 3" not in vi.short  # three names do not fit beside a forecast
    soon = _message(settings, _alert(replace(forecast, level="BD1"))).short
    assert "Sắp ảnh hưởng: Thôn 1." in soon and len(soon) <= SHORT_MAX_CHARS


def test_no_impact_line_when_resolved_for_other_kinds_or_in_cap_descriptions(tmp_path: Path) -> None:
    settings, alert = _settings(tmp_path), _alert()
    resolved = _message(settings, model.resolve(alert, AT_0710 + 600, "detector", "fell").alert,  # type: ignore[arg-type]
                        notice="resolved")
    assert "Thôn" not in resolved.text and "Thôn" not in resolved.short
    rise = _alert(replace(BD2, kind="flood.rapid_rise", level=None))
    assert "Thôn" not in _message(settings, rise).text
    cap = _message(settings, alert, name=ADVICE_APART)  # CAP says it once, in <instruction>
    assert LINE_VI not in cap.text


def test_the_alert_document_carries_the_impact_while_open(tmp_path: Path) -> None:
    settings, alert = _settings(tmp_path), _alert()
    doc = alert_document(alert, settings)
    assert doc["impact"]["level"] == "BD2" and [h["id"] for h in doc["impact"]["hamlets"]] == ["thon-1", "thon-2"]
    assert doc["impact"]["action"]["en"] == "get ready to move the elderly and children"
    resolved = model.resolve(alert, AT_0710 + 600, "detector", "fell").alert
    assert resolved is not None and "impact" not in alert_document(resolved, settings)
    assert "impact" not in alert_document(alert, _settings(tmp_path, None))
