"""A bulletin composed from a known store state says the right figures, with permalinks, in both languages."""
from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.residents.conftest import NOW, World
from tichwatch.api.routes_stations import permalink
from tichwatch.config.bulletins import BulletinSettings
from tichwatch.residents.bulletins.compose import compose_bulletin, compose_radio_script
from tichwatch.residents.bulletins.facts import derive
from tichwatch.residents.bulletins.gather import despike, gather_snapshot
from tichwatch.residents.bulletins.snapshot import Snapshot

QUOTE_VI = ("Theo hệ thống TichWatch của xã Kiều Phú, lúc 07:00 ngày 20/09/2026 mực nước sông Tích tại trạm Vĩnh Phúc "
            "là 7,42 m, trên báo động II 0,12 m và đang lên 5 cm/giờ. Dự báo đạt báo động III vào khoảng 18:36 ngày "
            "20/09/2026 (sớm nhất 17:00, muộn nhất 21:00).")
QUOTE_EN = ("According to the TichWatch system of Kiều Phú commune, at 07:00 on 20/09/2026 (UTC+7) the water level of "
            "the Tích river at Vĩnh Phúc station was 7.42 m, 0.12 m above alarm level II and rising 5 cm/h. Forecast "
            "to reach alarm level III at about 18:36 on 20/09/2026 (between 17:00 and 21:00).")


def _snapshot(world: World) -> Snapshot:
    service = world.service
    return gather_snapshot(service.settings, BulletinSettings(), service.store, NOW,
                           lambda r: permalink(service, r), world.flood, stations=service.stations.stations())


def test_quote_and_figures_in_both_languages(world: World) -> None:
    snap = _snapshot(world)
    assert snap.kind == "emergency"  # a flood.level alert at BD2 is open
    vi, en = compose_bulletin(snap, "vi"), compose_bulletin(snap, "en")
    assert vi.quote == QUOTE_VI and en.quote == QUOTE_EN
    assert vi.title == "Bản tin khẩn về lũ – xã Kiều Phú"
    figures = {f.key: f for f in vi.figures}
    level = figures["st1.level"]
    assert (level.value, level.ts) == (7.42, NOW)
    assert level.permalink == "http://127.0.0.1:8080/api/v1/stations/st1/readings/2026-09-20T00:00:00Z"
    assert figures["st1.position"].value == 0.12 and figures["st1.position"].detail["relative_to"] == "BD2"
    assert figures["st1.next_level"].value == 0.58 and figures["st1.next_level"].detail["level"] == "BD3"
    assert figures["st1.trend"].value == 5
    assert figures["st1.eta"].detail["eta_ts"] == NOW + 41_760
    assert figures["st2.next_level"].value == 3.0  # 5.00 m is 3.00 m below Kim Quan's BD1
    assert figures["alerts.active"].value == 1
    assert figures["dust.cam1.incidents"].value == 2 and figures["dust.cam1.incidents"].detail["max_index"] == 0.72
    assert (figures["stations.online"].value, figures["stations.online"].detail["offline"]) == (1, ["st2"])
    assert figures["cameras.online"].value == 1
    for f in vi.figures:  # every figure is cited in the text by its number and listed with its permalink
        n = vi.figures.index(f) + 1
        assert f"[{n}]" in vi.text and f"[{n}] " in vi.text and f.permalink in vi.text
        assert f.permalink in en.text


def test_text_lists_stations_alerts_dust_and_availability(world: World) -> None:
    snap = _snapshot(world)
    vi, en = compose_bulletin(snap, "vi").text, compose_bulletin(snap, "en").text
    assert "Trạm Vĩnh Phúc, sông Tích: 7,42 m lúc 07:00 ngày 20/09/2026 [1], trên báo động II 0,12 m [2], còn 0,58 m " \
           "đến báo động III [3]; đang lên 5 cm/giờ [4]" in vi
    assert "Trạm Kim Quan, sông Tích: 5,00 m lúc 04:00 ngày 20/09/2026 [6], dưới báo động I 3,00 m [7]." in vi
    assert "- Vĩnh Phúc: báo động II (cảnh báo từ 02:00 ngày 20/09/2026): http://127.0.0.1:8080/alerts/" in vi
    assert "- Công trường thử: 2 lần, chỉ số bụi cao nhất 0,72, lần gần nhất lúc 04:00 ngày 20/09/2026 [9]." in vi
    assert "Trạm đo hoạt động: 1 trên 2 [10]; Kim Quan mất tín hiệu từ 04:00 ngày 20/09/2026." in vi
    assert "Vĩnh Phúc, the Tích river: 7.42 m at 07:00 on 20/09/2026 [1], 0.12 m above alarm level II [2], 0.58 m " \
           "short of alarm level III [3]; rising 5 cm/h [4]" in en
    assert "- Vĩnh Phúc: alarm level II (alert since 02:00 on 20/09/2026)" in en
    assert "Gauges reporting: 1 of 2 [10]; Kim Quan offline since 04:00 on 20/09/2026." in en
    assert "vùng trũng, ven sông kê cao tài sản" in vi  # advice for báo động II


def test_radio_script_is_plain_spoken_vietnamese(world: World) -> None:
    script = compose_radio_script(_snapshot(world))
    assert not re.search(r"\d", script), script
    assert "lúc bảy giờ ngày hai mươi tháng chín" in script
    assert "mực nước sông Tích là bảy mét bốn mươi hai, vượt mức báo động hai là mười hai xăng-ti-mét, nước đang " \
           "lên năm xăng-ti-mét mỗi giờ" in script
    assert "Dự báo đạt báo động ba vào khoảng mười tám giờ ba mươi sáu phút" in script
    assert "công trường thử có hai lần bụi vượt ngưỡng" in script and script.endswith("Hết thông báo.")


def test_without_detector_or_data(world: World) -> None:
    service = world.service
    snap = gather_snapshot(service.settings, BulletinSettings(quote_station="st2"), service.store, NOW - 30 * 86400,
                           lambda r: permalink(service, r), None, stations=service.stations.stations())
    b = compose_bulletin(snap, "vi")
    assert b.quote == "Theo hệ thống TichWatch của xã Kiều Phú, lúc 07:00 ngày 21/08/2026 chưa có số liệu mực nước."
    assert b.chart is None and "chưa có số liệu" in b.text
    snap = gather_snapshot(service.settings, BulletinSettings(quote_station="st2"), service.store, NOW,
                           lambda r: permalink(service, r), None, stations=service.stations.stations())
    facts = derive(snap)
    assert facts.main is not None and facts.main.id == "st2"  # the configured station, though st1 is higher
    assert "st1.trend" not in {f.key for f in facts.figures}  # no detector: no trend, no forecast


def test_despike_keeps_rises_and_drops_lone_spikes() -> None:
    points = [(float(i), v) for i, v in enumerate([5.0, 5.0, 6.6, 5.0, 5.1, 5.2, 5.3])]
    assert [v for _, v in despike(points)] == [5.0, 5.0, 5.0, 5.1, 5.1, 5.2, 5.2]


def test_station_chart_endpoint(world: World) -> None:
    c: TestClient = world.client
    for span in ("24h", "7d"):
        r = c.get("/api/v1/stations/st1/chart.png", params={"span": span, "lang": "en"})
        assert r.status_code == 200 and r.headers["content-type"] == "image/png" and r.content[:4] == b"\x89PNG"
    assert c.get("/api/v1/stations/nope/chart.png").status_code == 404


def test_quote_of_an_offline_station_says_so(world: World) -> None:
    service = world.service
    snap = gather_snapshot(service.settings, BulletinSettings(quote_station="st2"), service.store, NOW,
                           lambda r: permalink(service, r), world.flood, stations=service.stations.stations())
    assert compose_bulletin(snap, "vi").quote == (
        "Theo hệ thống TichWatch của xã Kiều Phú, lúc 04:00 ngày 20/09/2026 mực nước sông Tích tại trạm Kim Quan là "
        "5,00 m, dưới báo động I 3,00 m. Trạm đang mất tín hiệu; đây là số liệu cuối cùng nhận được.")
    assert compose_bulletin(snap, "en").quote.endswith("3.00 m below alarm level I. The station is offline; this is "
                                                       "its last reading.")
