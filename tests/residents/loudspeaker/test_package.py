"""The package document, pure: priority by Thông tư 39/2020's three kinds, the text naming the hamlets, the area,
validity and play schedule, the same on every attempt."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.residents.loudspeaker.support import T0, alert_doc, kieuphu_settings, notification
from tichwatch.alerts.channels.base import Message
from tichwatch.config.schema import Settings
from tichwatch.residents.loudspeaker.package import (
    AudioInfo,
    PackageError,
    draft_of,
    package_document,
    programme_plays,
)
from tichwatch.residents.speech import spoken

AUDIO = AudioInfo(41.5, "ab" * 32, 332_000, 44100, 64)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return kieuphu_settings(tmp_path)


def test_a_bd2_opening_is_an_emergency_package_naming_the_hamlets_played_at_once_and_repeated(
        settings: Settings) -> None:
    doc = package_document(draft_of(notification("firing"), settings), AUDIO, settings)
    assert doc["id"] == "pkgKEY123abc" and doc["kind"] == "alert" and doc["language"] == "vi"
    assert (doc["priority"], doc["priority_vi"], doc["priority_rank"]) == ("emergency", "khẩn cấp", 3)
    assert doc["source"]["commune"] == "Kiều Phú" and doc["source"]["name"] == "Ủy ban nhân dân xã Kiều Phú"
    text = doc["text"]
    assert text.startswith("Thông báo khẩn cấp của Ủy ban nhân dân xã Kiều Phú.")
    assert "Lúc 21:13 ngày 21/09/2026, mực nước Sông Tích tại Cầu Kiều Phú là 7,25 m, ở mức Báo động II." in text
    assert "Báo động II: Thôn 1 và Thôn 2 — ngập " in text and "Trường mầm non thôn 2" in text
    assert "Thôn 3" not in text and "chuẩn bị di dời người già" in text
    assert doc["title"] == "Khẩn cấp: Báo động II tại Cầu Kiều Phú"
    assert [h["id"] for h in doc["area"]["hamlets"]] == ["thon-1", "thon-2"] and not doc["area"]["whole_commune"]
    # read aloud: the level in words, the time and date, the rescue number digit by digit
    spoken = doc["spoken_text"]
    assert "bảy mét hai mươi lăm" in spoken and "Báo động hai" in spoken and "hai mươi mốt giờ mười ba phút" in spoken
    assert "một một hai" in spoken and "7,25" not in spoken
    # valid six hours; played now and twice more, 15 minutes apart
    assert doc["valid_from"] == "2026-09-21T14:13:20Z" and doc["valid_from_local"].endswith("+07:00")
    assert doc["valid_until"] == "2026-09-21T20:13:20Z"
    sched = doc["schedule"]
    assert sched["mode"] == "immediate" and sched["repeat"] == 3 and sched["interval_min"] == 15
    assert [p["at"] for p in sched["plays"]] == ["2026-09-21T14:13:20Z", "2026-09-21T14:28:20Z",
                                                 "2026-09-21T14:43:20Z"]
    assert doc["audio"] == {"file_name": "audio.mp3", "media_type": "audio/mpeg", "duration_s": 41.5,
                            "sha256": "ab" * 32, "bytes": 332_000, "sample_rate_hz": 44100, "bitrate_kbps": 64,
                            "channels": 1}
    assert doc["about"]["alert_id"] == "a1b2c3d4e5f6" and doc["about"]["notice"] == "firing"


def test_the_package_is_the_same_on_every_attempt_whenever_it_is_sent(settings: Settings) -> None:
    first = package_document(draft_of(notification("firing"), settings), AUDIO, settings)
    again = package_document(draft_of(notification("firing", attempt=7), settings), AUDIO, settings)
    assert first == again


@pytest.mark.parametrize(("notice", "level", "priority", "hamlets"), [
    ("firing", "BD1", "priority", ["thon-1"]),
    ("raised", "BD3", "emergency", ["thon-1", "thon-2", "thon-3"]),
    ("repeat", "BD2", "emergency", ["thon-1", "thon-2"]),
    ("lowered", "BD2", "priority", ["thon-1", "thon-2"]),
    ("raised", "RECORD", "emergency", ["thon-1", "thon-2", "thon-3"]),
])
def test_priority_follows_the_level_and_the_notice(settings: Settings, notice: str, level: str, priority: str,
                                                   hamlets: list[str]) -> None:
    draft = draft_of(notification(notice, alert_doc(level)), settings)
    assert draft.priority == priority
    assert [h.id for h in draft.hamlets] == hamlets


def test_the_emergency_level_is_configurable(tmp_path: Path) -> None:
    settings = kieuphu_settings(tmp_path, loudspeaker={"emergency_from_level": "BD3"})
    assert draft_of(notification("firing", alert_doc("BD2")), settings).priority == "priority"
    assert draft_of(notification("raised", alert_doc("BD3")), settings).priority == "emergency"


def test_the_all_clear_is_a_normal_package_for_the_whole_commune_in_the_programme(settings: Settings) -> None:
    doc = package_document(draft_of(notification("resolved", alert_doc(
        "BD2", resolved_at="2026-09-21T16:00:00Z")), settings), AUDIO, settings)
    assert (doc["priority"], doc["priority_vi"]) == ("normal", "thông thường")
    assert doc["title"] == "Hết cảnh báo lũ tại Cầu Kiều Phú"
    assert "Lúc 23:00 ngày 21/09/2026, mực nước Sông Tích tại Cầu Kiều Phú đã xuống dưới mức báo động" in doc["text"]
    assert doc["area"]["whole_commune"] and len(doc["area"]["hamlets"]) == 6
    # valid 12 hours from 21:13 local: the programme's 06:00 the next morning
    assert doc["schedule"]["mode"] == "programme" and doc["schedule"]["programme_times_local"] == [
        "06:00", "11:00", "17:00"]
    assert [p["at_local"] for p in doc["schedule"]["plays"]] == ["2026-09-22T06:00:00+07:00"]


def test_other_alert_kinds_read_the_title_without_brackets(settings: Settings) -> None:
    n = notification("firing", alert_doc(None, kind="flood.rapid_rise"),
                     message=Message("[NƯỚC LÊN NHANH] Cầu Kiều Phú: 20 cm/h", "t", "h", "s"))
    draft = draft_of(n, settings)
    assert draft.priority == "priority" and draft.whole_commune
    assert draft.text == ("Thông báo của Ủy ban nhân dân xã Kiều Phú. NƯỚC LÊN NHANH Cầu Kiều Phú: 20 cm/h. "
                          "Bà con theo dõi loa truyền thanh và thông báo của xã.")


def bulletin(kind: str) -> dict[str, object]:
    return {"id": "b-1", "kind": kind, "links": {"self": "https://tichwatch.example/bulletins/b-1"}}


@pytest.mark.parametrize(("kind", "priority"), [("routine", "normal"), ("emergency", "priority")])
def test_a_bulletin_reads_its_radio_script_in_the_programme(settings: Settings, kind: str, priority: str) -> None:
    script = "Bản tin thủy văn xã Kiều Phú lúc 07:00. Mực nước 6,10 m."
    n = notification("bulletin", bulletin(kind), created_ts=T0 - 14 * 3600,  # 07:13 local
                     message=Message("Bản tin", script, "<p></p>", "quote"))
    doc = package_document(draft_of(n, settings), AUDIO, settings)
    assert doc["kind"] == "bulletin" and doc["priority"] == priority and doc["text"] == script
    assert "bảy giờ" in doc["spoken_text"] and "sáu mét mười" in doc["spoken_text"]
    assert doc["about"] == {"bulletin_id": "b-1", "bulletin_kind": kind,
                            "url": "https://tichwatch.example/bulletins/b-1"}
    assert doc["area"]["whole_commune"]
    assert [p["at_local"][11:16] for p in doc["schedule"]["plays"]] == ["11:00", "17:00", "06:00"]


def test_a_package_with_nothing_to_read_or_too_much_fails(tmp_path: Path) -> None:
    settings = kieuphu_settings(tmp_path, loudspeaker={"max_text_chars": 200})
    empty = notification("bulletin", bulletin("routine"), message=Message("t", "  ", "", ""))
    with pytest.raises(PackageError, match="empty"):
        draft_of(empty, settings)
    long = notification("bulletin", bulletin("routine"), message=Message("t", "chữ " * 100, "", ""))
    with pytest.raises(PackageError, match="max_text_chars"):
        draft_of(long, settings)


def test_programme_plays_cross_midnight_in_local_time() -> None:
    start = T0  # 21:13 local
    plays = programme_plays(start, start + 86400, ["06:00", "22:00"], "Asia/Ho_Chi_Minh")
    # 22:00 tonight and 06:00 tomorrow; 22:00 tomorrow is past the day
    assert [round((p - start) / 60) for p in plays] == [47, 527]


def test_emergency_numbers_are_read_digit_by_digit_and_other_numbers_as_numbers() -> None:
    assert spoken("gọi 112 hoặc 114; 120 hộ") == "gọi một một hai hoặc một một bốn; một trăm hai mươi hộ"
