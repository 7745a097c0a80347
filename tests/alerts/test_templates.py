"""Messages: Vietnamese by default, English on request; what an officer needs at 2 a.m. is in them."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from jinja2.exceptions import SecurityError

from tests.support import make_settings
from tichwatch.alerts import model
from tichwatch.alerts.channels.sms import fold
from tichwatch.alerts.model import AlertState, HoldPolicy
from tichwatch.alerts.stages import Candidate
from tichwatch.alerts.templates import Composer, make_environment
from tichwatch.config.alerts import EscalationTier, ReceiverConfig
from tichwatch.core.detection import Detection, Severity
from tichwatch.core.i18n import text

AT_0710 = datetime(2026, 9, 20, 7, 10, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh")).timestamp()
POLICY = HoldPolicy(0, 0, 3)
BD2 = Detection("flood.level", "st1", AT_0710, True, Severity.CRITICAL, 7.42, "m", "BD2", "crossed BD2 upward",
                {"level_m": 7.42, "threshold_m": 7.3, "next_level": "BD3", "next_threshold_m": 8.0,
                 "distance_m": 0.58, "rate_m_per_h": 0.12})


def _compose(tmp_path: Path, detection: Detection = BD2, notice: str = "firing", **receiver: object):
    settings = make_settings(tmp_path, http={"port": 0, "public_url": "https://canhbao.kieuphu.vn"})
    alert = model.on_detection(None, detection, AT_0710 + 30, POLICY, 0).alert
    assert alert is not None
    r = ReceiverConfig.model_validate({"name": "duty", "channel": {"type": "log"}, **receiver})
    composer = Composer(settings, lambda a, rc, now: f"https://canhbao.kieuphu.vn/api/v1/ack/TOKEN-{a}")
    return alert, composer, Candidate(alert, alert.labels(), r, notice, None)  # type: ignore[arg-type]


def test_vietnamese_flood_message_has_what_an_officer_needs(tmp_path: Path) -> None:
    alert, composer, c = _compose(tmp_path)
    m = composer.compose(c, AT_0710 + 30)
    assert m.title == "[BÁO ĐỘNG II] Trạm thử: mực nước 7,42 m lúc 07:10 ngày 20/09/2026, vượt báo động II"
    assert "Trạm thử, sông Tích" in m.text  # the station's name (its river after a comma: names hold brackets)
    assert "mực nước 7,42 m" in m.text and "lúc 07:10 ngày 20/09/2026" in m.text
    assert "Ngưỡng báo động II: 7,30 m" in m.text
    assert "Xu thế: đang lên 0,12 m/giờ" in m.text
    assert ("Dự kiến đạt báo động III (8,00 m) vào khoảng 12:00 ngày 20/09/2026, theo số liệu lúc 07:10 ngày "
            "20/09/2026.") in m.text
    assert "Việc cần làm: Huy động lực lượng xung kích" in m.text
    assert f"https://canhbao.kieuphu.vn/alerts/{alert.id}" in m.text
    assert f"https://canhbao.kieuphu.vn/api/v1/ack/TOKEN-{alert.id}" in m.text and "ack/TOKEN" in m.html
    assert "<p" in m.html and "7,42 m" in m.html


def test_english_message(tmp_path: Path) -> None:
    _, composer, c = _compose(tmp_path, language="en")
    m = composer.compose(c, AT_0710 + 30)
    assert m.title == "[ALARM LEVEL II] Trạm thử: water level 7.42 m at 07:10 on 20/09/2026, above alarm level II"
    assert "Trend: rising 0.12 m/h" in m.text
    assert ("Expected to reach alarm level III (8.00 m) around 12:00 on 20/09/2026, as of the reading at 07:10 on "
            "20/09/2026.") in m.text


def test_sms_variant_fits_one_gsm_segment(tmp_path: Path) -> None:
    alert, composer, c = _compose(tmp_path)
    short = composer.compose(c, AT_0710 + 30).short
    text = fold(short, ascii_only=True, max_chars=160)
    assert text.startswith("BAO DONG II Tram thu: muc nuoc 7,42 m luc 07:10 20/09, vuot bao dong II, dang len 0,12 "
                           "m/gio.")
    assert len(text) <= 160 and text.isascii() and alert.id in text
    assert fold("x" * 200, True, 160).endswith("...") and len(fold("x" * 200, True, 160)) == 160


def test_public_audience_gets_advice_and_no_acknowledge_link(tmp_path: Path) -> None:
    _, composer, c = _compose(tmp_path, audience="public")
    m = composer.compose(c, AT_0710 + 30)
    assert "/ack/" not in m.text and "Người dân vùng trũng" in m.text


def test_escalation_resolution_and_forecast_wording(tmp_path: Path) -> None:
    alert, composer, c = _compose(tmp_path)
    tier = EscalationTier(name="Phó Chủ tịch UBND xã", after_s=900, receivers=["duty"])
    escalated = composer.compose(replace(c, tier=tier), alert.firing_since_ts + 900)
    assert escalated.title.startswith("[CHUYỂN CẤP]")
    assert "Chưa ai xác nhận từ 07:10 ngày 20/09/2026: chuyển đến Phó Chủ tịch UBND xã." in escalated.text
    done = replace(alert, state=AlertState.RESOLVED, resolved_by="truc.ban", resolve_reason="nước rút")
    resolved = composer.compose(replace(c, alert=done, notice="resolved"), AT_0710 + 3600)
    assert resolved.title.startswith("[ĐÃ KẾT THÚC]") and "(nước rút, truc.ban)" in resolved.text
    assert "/ack/" not in resolved.text
    forecast = Detection("flood.forecast", "st1", AT_0710, True, Severity.CRITICAL, 3.5, "h", "BD3", "eta",
                         {"next_level": "BD3", "threshold_m": 8.0, "eta_s": 12600, "eta_low_s": 9000,
                          "eta_high_s": 18000, "rate_m_per_h": 0.17})
    _, composer, fc = _compose(tmp_path, forecast)
    text = composer.compose(fc, AT_0710).text
    assert "dự báo đạt báo động III lúc 10:40 ngày 20/09/2026 (theo số liệu 07:10)" in text
    assert "vào khoảng 10:40 ngày 20/09/2026 (sớm nhất 09:40, muộn nhất 12:10)" in text
    assert "sau khoảng" not in text


@pytest.mark.parametrize("kind", ["sensor.offline", "sensor.stuck", "sensor.spike", "sensor.range", "sensor.battery",
                                  "sensor.clock", "dust.plume", "camera.offline", "camera.frozen", "camera.dark",
                                  "camera.blur", "camera.obstructed", "camera.moved", "delivery.failed",
                                  "something.new"])
def test_every_kind_renders_in_both_languages(tmp_path: Path, kind: str) -> None:
    d = Detection(kind, "cam1" if kind.startswith(("camera", "dust")) else "st1", AT_0710, True, Severity.WARNING,
                  0.62, "index", reason="why", evidence={"error": "HTTP 500", "silence_s": 3600})
    for lang in ("vi", "en"):
        _, composer, c = _compose(tmp_path, d, language=lang)
        m = composer.compose(c, AT_0710)
        assert m.title and m.text and m.short and "{{" not in m.text
    if kind.startswith(("camera", "dust")):
        assert "Công trường thử" in composer.compose(c, AT_0710).text


def test_templates_are_sandboxed() -> None:
    with pytest.raises(SecurityError):
        make_environment().from_string("{{ text.__class__.__mro__[1].__subclasses__() }}").render(text="x")


FORECAST = Detection("flood.forecast", "st1", AT_0710, True, Severity.CRITICAL, 2.25, "h", "BD3",
                     "BD3 predicted within the horizon",
                     {"next_level": "BD3", "threshold_m": 8.0, "eta_s": 8100, "eta_low_s": 6300, "eta_high_s": 11700,
                      "eta_ts": AT_0710 + 8100, "eta_low_ts": AT_0710 + 6300, "eta_high_ts": AT_0710 + 11700,
                      "forecast_ts": AT_0710, "rate_m_per_h": 0.2})


@pytest.mark.parametrize(("lang", "title"), [
    ("vi", "[NGUY HIỂM] Trạm thử: dự báo đạt báo động III lúc 09:25 ngày 20/09/2026 (theo số liệu 07:10)"),
    ("en", "[CRITICAL] Trạm thử: alarm level III expected at 09:25 on 20/09/2026 (as of the 07:10 reading)")])
def test_titles_state_the_stage_and_cite_the_figure_with_its_time_so_they_never_go_stale(
        tmp_path: Path, lang: str, title: str) -> None:
    alert, composer, c = _compose(tmp_path, FORECAST, language=lang)
    at_once, hours_later = composer.compose(c, AT_0710), composer.compose(c, AT_0710 + 3 * 3600)
    assert at_once.title == hours_later.title == title == composer.title_of(alert, AT_0710 + 86400, lang)
    assert at_once.text == hours_later.text  # a message delivered late says the same, and it is still true
    for stale in ("sau khoảng", "in about", "giờ ", " h "):
        assert stale not in at_once.title + at_once.short
    level = model.on_detection(None, replace(BD2, ts=AT_0710 - 3600), AT_0710, POLICY, 0).alert
    assert level is not None
    below = model.on_detection(level, replace(BD2, ts=AT_0710 + 1800, active=False, value=6.1, level=None),
                               AT_0710 + 1800, HoldPolicy(600, 600, 3), 0).alert
    assert below is not None
    assert composer.title_of(below, AT_0710 + 1800, lang) == {  # cleared, waiting out the hold: it says so
        "vi": "[BÁO ĐỘNG II] Trạm thử: mực nước 6,10 m lúc 07:40 ngày 20/09/2026, đã xuống dưới báo động II",
        "en": "[ALARM LEVEL II] Trạm thử: water level 6.10 m at 07:40 on 20/09/2026, back below alarm level II"}[lang]


def test_an_offline_station_says_since_when(tmp_path: Path) -> None:
    offline = Detection("sensor.offline", "st1", AT_0710, True, Severity.WARNING, 1.5, "h", reason="no reading",
                        evidence={"last_seen_ts": AT_0710 - 5400, "silence_s": 5400})
    alert, composer, _ = _compose(tmp_path, offline)
    assert composer.title_of(alert, AT_0710 + 7200) == (
        "[CẢNH BÁO] Trạm thử: trạm không gửi số liệu từ 05:40 ngày 20/09/2026")
    assert composer.title_of(alert, AT_0710, "en") == "[WARNING] Trạm thử: no readings since 05:40 on 20/09/2026"


def test_a_resolution_by_hand_keeps_the_figure_true_and_the_officers_words_private(tmp_path: Path) -> None:
    alert, composer, _ = _compose(tmp_path)
    done = model.resolve(alert, AT_0710 + 600, "truc.ban", "Anh Bình 0912345678 báo nước đã rút").alert
    assert done is not None
    officers = composer.compose(Candidate(done, done.labels(), ReceiverConfig.model_validate(
        {"name": "duty", "channel": {"type": "log"}}), "resolved", None), AT_0710 + 600)
    # the last figure was above BĐ II when the officer resolved: never "đã xuống dưới" (it did not, as far as we know)
    assert "7,42 m lúc 07:10 ngày 20/09/2026, vượt báo động II" in officers.text
    assert "đã xuống dưới" not in officers.text
    assert "[phone]" in officers.text and "0912345678" not in officers.text  # redacted even for officers' channels
    public = composer.compose(Candidate(done, done.labels(), ReceiverConfig.model_validate(
        {"name": "fb", "channel": {"type": "log"}, "audience": "public"}), "resolved", None), AT_0710 + 600)
    assert "Anh Bình" not in public.text and "truc.ban" not in public.text


def test_severity_words_in_messages_are_the_catalogues(tmp_path: Path) -> None:
    for lang in ("vi", "en"):
        for severity in (Severity.WARNING, Severity.CRITICAL):
            plume = Detection("dust.plume", "cam1", AT_0710, True, severity, 0.8, "", None, "plume", {})
            _, composer, c = _compose(tmp_path, plume, language=lang)
            word = text(lang, severity.name.lower()).upper()
            assert composer.compose(c, AT_0710 + 30).title.startswith(f"[{word}]"), (lang, severity)
