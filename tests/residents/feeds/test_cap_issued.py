"""Issued CAP messages are immutable and state the facts of their own change.

A flood runs through the real flood detector and alert engine of a service; each public alert change issues its CAP
message in the change's transaction. The message's figures are those of that change (its level, threshold, value and
sample time), whatever the alert, the station's alarm levels, the templates or the settings say later — and its
bytes, served by /feeds/cap/{id}.xml, never change: not after new alarm levels, edited templates, later changes of
the alert, nor a restart with other settings. Every message issued here is also checked against the OASIS CAP 1.2
schema by the suite-wide fixture (`cap_checked`, tests/residents/feeds/cap_schema.py).
"""
from __future__ import annotations

import secrets
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from jinja2 import FileSystemLoader

from tests.residents.conftest import NOW, bulletin_settings
from tests.residents.feeds.cap_schema import Checked, all_problems
from tichwatch.alerts import storage as alert_storage
from tichwatch.alerts.model import Alert, AlertState, AuditEntry, alert_id, resolve
from tichwatch.alerts.templates import TEMPLATES
from tichwatch.api import routes_feeds
from tichwatch.api.accounts import Role
from tichwatch.api.app import create_app
from tichwatch.app.service import Service
from tichwatch.config.schema import AlarmLevels
from tichwatch.core.detection import Detection, Severity
from tichwatch.core.samples import Reading
from tichwatch.residents.feeds import cap as cap_module
from tichwatch.residents.feeds.cap import CAP_NS
from tichwatch.residents.feeds.issued import issued_of
from tichwatch.store.database import IntegrityError

NS = {"cap": CAP_NS}
THRESHOLDS = {"BD1": 6.5, "BD2": 7.3, "BD3": 8.0}  # Vĩnh Phúc (st1) in tests/residents/conftest.py


@dataclass
class App:
    """A service on a data directory, its HTTP client, an admin key and the clock it runs on."""

    service: Service
    client: TestClient
    clock: list[float]
    admin: dict[str, str]

    def detect(self, *detections: Detection, advance_s: float = 0.0) -> None:
        """Apply detections through the alert engine in one transaction, as the pipeline does."""
        self.clock[0] += advance_s
        with self.service.store.transaction() as conn:
            self.service.alerts.engine.apply(conn, list(detections), self.clock[0])

    def read(self, station: str, ts: float, level_m: float) -> None:
        """A reading through the store, the flood detector and the alert engine (the pipeline's steps)."""
        self.clock[0] = ts + 30
        self.service.store.append_readings([Reading(station, ts, level_m)])
        self.detect(*self.service.flood.update(Reading(station, ts, level_m)))

    def cap(self, message_id: str, **headers: str) -> Any:
        """GET a CAP message."""
        return self.client.get(f"/feeds/cap/{message_id}.xml", headers=headers)


def start_app(data_dir: Path, st1: dict[str, Any] | None = None, **overrides: Any) -> Iterator[App]:
    """A service (not started: the test drives it) and its HTTP app on `data_dir` (`st1`: changes to Vĩnh Phúc's
    configuration); yields it, then closes."""
    clock = [NOW]
    settings = bulletin_settings(data_dir, **overrides)
    if st1:
        settings = settings.model_copy(update={"stations": [settings.stations[0].model_copy(update=st1),
                                                            *settings.stations[1:]]})
    service = Service(settings, clock=lambda: clock[0])
    app = create_app(service, manage_lifecycle=False)
    if not any(getattr(r, "path", "") == "/feeds/cap/{message_id}.xml" for r in app.routes):
        app.include_router(routes_feeds.router)
    key = service.accounts.add_api_key(f"admin-{secrets.token_hex(4)}", Role.ADMIN, NOW)
    with TestClient(app) as client:
        yield App(service, client, clock, {"X-API-Key": key})
    service.store.close()


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    """The service on a fresh data directory."""
    yield from start_app(tmp_path / "data")


def level_detection(level: str | None, ts: float, value: float, *, previous: str | None = None) -> Detection:
    """A flood.level detection at st1 with the evidence the flood detector gives (threshold of the level, next)."""
    names = ["BD1", "BD2", "BD3"]
    nxt = names[names.index(level) + 1] if level in names[:2] else None
    evidence = {"station_name": "Vĩnh Phúc", "level_m": value, "level": level,
                "threshold_m": THRESHOLDS.get(level or ""), "next_level": nxt,
                "next_threshold_m": THRESHOLDS.get(nxt or ""), "rate_m_per_h": 0.1, "previous_level": previous}
    severity = {"BD1": Severity.WARNING, "BD2": Severity.CRITICAL, "BD3": Severity.EMERGENCY}.get(level or "",
                                                                                               Severity.INFO)
    return Detection("flood.level", "st1", ts, level is not None, severity, value, "m", level,
                     f"crossed {level}" if level else "below BD1", evidence)


def info(xml: bytes, lang: str = "vi-VN") -> ET.Element:
    """The info block of a message in a language."""
    root = ET.fromstring(xml)
    found = [i for i in root.findall("cap:info", NS) if i.findtext("cap:language", namespaces=NS) == lang]
    assert found, lang
    return found[0]


def parameters(xml: bytes) -> dict[str, str]:
    """The vi info block's parameters."""
    return {p.findtext("cap:valueName", default="", namespaces=NS): p.findtext("cap:value", default="",
                                                                                namespaces=NS)
            for p in info(xml).findall("cap:parameter", NS)}


def messages_of(app: App, aid: str) -> list[bytes]:
    """Every message of an alert, fetched over HTTP by number until the first 404."""
    out: list[bytes] = []
    while (r := app.cap(f"{aid}-{len(out) + 1}")).status_code == 200:
        out.append(r.content)
    assert r.status_code == 404
    return out


# -- the facts of the change ----------------------------------------------------------------------------------------

def test_each_message_states_the_level_threshold_and_figure_of_its_own_change(app: App) -> None:
    """The tester's case: BĐ I issued at 6,54 m, then the alert rose to BĐ III. The first message still reads 6,54 m
    and BĐ I's 6,50 m threshold, never BĐ III's 8,00 m."""
    app.detect(level_detection("BD1", NOW, 6.54))
    app.detect(level_detection("BD2", NOW + 3600, 7.35, previous="BD1"), advance_s=3600)
    app.detect(level_detection("BD3", NOW + 7200, 8.02, previous="BD2"), advance_s=3600)
    alert = alert_storage.open_alert(app.service.store.query_all, "flood.level", "st1")
    assert alert is not None and alert.evidence["threshold_m"] == 8.0  # the alert now reads BĐ III's threshold
    first, second, third = messages_of(app, alert.id)
    for xml, level, value, hhmm in ((first, "BD1", "6.54 m", "07:00"), (second, "BD2", "7.35 m", "08:00"),
                                    (third, "BD3", "8.02 m", "09:00")):
        params = parameters(xml)
        assert (params["alarm_level"], params["value"], params["threshold"]) == (
            level, value, f"{THRESHOLDS[level]:g} m")
        assert params["observed_at"] == f"2026-09-20T{hhmm}:00+07:00"
        assert value.replace(".", ",").removesuffix(" m") in (info(xml).findtext("cap:headline", namespaces=NS)
                                                               or "")
    description = info(first).findtext("cap:description", namespaces=NS) or ""
    assert "6,54 m" in description and "6,50 m" in description and "8,00" not in description
    assert "vượt báo động I" in description and "báo động III" not in description


def test_a_whole_flood_through_the_detector_issues_one_valid_message_per_public_change(app: App,
                                                                                        cap_checked: Checked) -> None:
    """Readings every 10 minutes rise from 5,0 m past BĐ III and fall back: the real flood detector and alert engine
    issue Alert, Updates and a Cancel; every message (the Atom feed's too) is valid CAP 1.2 and cites its own
    threshold."""
    rise = [5.0 + 0.12 * i for i in range(28)]  # to 8,24 m
    levels = rise + rise[::-1] + [5.0] * 12
    for i, level_m in enumerate(levels):
        app.read("st1", NOW + 600 * i, round(level_m, 2))
    app.service.alerts.tick(app.clock[0] + 7200)  # holds run out: the level alert resolves
    alerts = alert_storage.find_alerts(app.service.store.query_all, alert_storage.AlertFilter(kind="flood.level"))
    assert len(alerts) == 1 and alerts[0].state is AlertState.RESOLVED
    messages = messages_of(app, alerts[0].id)
    types = [ET.fromstring(m).findtext("cap:msgType", namespaces=NS) for m in messages]
    assert types[0] == "Alert" and types[-1] == "Cancel" and set(types[1:-1]) == {"Update"}
    levels_said = [parameters(m)["alarm_level"] for m in messages[:-1]]
    assert {"BD1", "BD2", "BD3"} <= set(levels_said)
    for m in messages[:-1]:
        params = parameters(m)
        assert params["threshold"] == f"{THRESHOLDS[params['alarm_level']]:g} m"
        assert (info(m).findtext("cap:expires", namespaces=NS) or "") > (
            info(m).findtext("cap:effective", namespaces=NS) or "")
    every = [m for a in alert_storage.find_alerts(app.service.store.query_all, alert_storage.AlertFilter())
             for m in issued_of(app.service.store.query_all, a.id)]
    assert sorted(m.xml for m in every) == sorted(cap_checked.messages)  # all checked as they were made
    assert all(all_problems(m.xml) == [] for m in every)
    feed = app.client.get("/feeds/alerts.atom")
    assert feed.status_code == 200
    for href in ET.fromstring(feed.content).iter("{http://www.w3.org/2005/Atom}link"):
        if href.get("type") == "application/cap+xml":
            body = app.client.get(href.get("href", "").split("8080", 1)[-1]).content
            assert all_problems(body) == []


# -- immutability ---------------------------------------------------------------------------------------------------

def edited_templates(into: Path) -> FileSystemLoader:
    """A copy of the alert templates with the Vietnamese description reworded (a commune editing its templates)."""
    shutil.copytree(TEMPLATES, into)
    body = into / "vi" / "body.j2"
    body.write_text(body.read_text(encoding="utf-8").replace("Ngưỡng", "Mức ngưỡng đã sửa"), encoding="utf-8")
    return FileSystemLoader(into)


def test_an_issued_message_never_changes(tmp_path: Path) -> None:
    """Issue BĐ I; then new alarm levels (admin API), edited templates, later changes (raise, resolve) and a restart
    with other settings (language, expiry, area, sender): the first message's bytes and ETag stay the same."""
    data = tmp_path / "data"
    runs = start_app(data)
    app = next(runs)
    app.detect(level_detection("BD1", NOW, 6.54))
    aid = alert_id("flood.level", "st1", NOW)
    first = app.cap(f"{aid}-1")
    assert first.status_code == 200 and first.headers["etag"]
    original, etag = first.content, first.headers["etag"]
    assert app.cap(f"{aid}-1", **{"If-None-Match": etag}).status_code == 304

    levels = {"bd1_m": 6.0, "bd2_m": 6.8, "bd3_m": 7.6, "reason": "Quyết định điều chỉnh mức báo động (thử)"}
    assert app.client.put("/api/v1/stations/st1/alarm-levels", json=levels, headers=app.admin).status_code == 200
    app.service.feeds.composer.env.loader = edited_templates(tmp_path / "templates")  # type: ignore[attr-defined]
    app.service.feeds.composer.env.cache = None  # type: ignore[attr-defined]
    app.detect(level_detection("BD2", NOW + 3600, 7.4, previous="BD1"), advance_s=3600)
    second = app.cap(f"{aid}-2").content
    assert "Mức ngưỡng đã sửa" in (info(second).findtext("cap:description", namespaces=NS) or "")  # edits apply
    assert app.cap(f"{aid}-1").content == original  # … to new messages only
    with app.service.store.transaction() as conn:
        alert = alert_storage.get_alert(alert_storage.rows_of(conn), aid)
        assert alert is not None
        app.service.alerts.engine.commit(conn, alert, resolve(alert, NOW + 7300, "truc.ban", "nước rút"),
                                         NOW + 7300)
    assert app.cap(f"{aid}-1").content == original
    next(runs, None)  # close the first service

    restarted = start_app(data, language="en", bulletins={"cap_expires_s": 60, "cap_sender": "other@example.org",
                                                          "dust_area_radius_m": 900},
                          st1={"area_radius_m": 5000, "alarm": AlarmLevels(bd1_m=9.0, bd2_m=9.5, bd3_m=10.0)})
    again = next(restarted)
    try:
        served = again.cap(f"{aid}-1")
        assert served.content == original and served.headers["etag"] == etag
        assert again.cap(f"{aid}-1", **{"If-None-Match": etag}).status_code == 304
        cancel = again.cap(f"{aid}-3").content
        refs = ET.fromstring(cancel).findtext("cap:references", namespaces=NS) or ""
        assert refs.split()[0] == f"tichwatch@kieuphu.hanoi.gov.vn,tichwatch-{aid}-1,2026-09-20T07:00:00+07:00"
        with pytest.raises(IntegrityError, match="never changes"), again.service.store.transaction() as conn:
            conn.execute("UPDATE cap_messages SET xml = ? WHERE id = ?", (b"<alert/>", f"{aid}-1"))
    finally:
        next(restarted, None)


# -- older databases and failures -----------------------------------------------------------------------------------

def _legacy_alert(app: App) -> Alert:
    """An alert recorded before messages were stored, with audit entries as they were then (figures, no evidence,
    no sample time): opened at BĐ I 6,54 m, raised to BĐ III 8,02 m; the alert row reads BĐ III's evidence."""
    aid = alert_id("flood.level", "st1", NOW)
    d = level_detection("BD3", NOW + 7200, 8.02, previous="BD2")
    alert = Alert(aid, "flood.level", "st1", AlertState.FIRING, Severity.EMERGENCY, "BD3", 8.02, "m", d.reason,
                  dict(d.evidence), NOW, NOW + 7200, NOW, NOW + 7200, NOW + 7200)
    entries: Sequence[AuditEntry] = (
        AuditEntry(NOW, "opened", "detector", "crossed BD1", {"severity": "warning", "level": "BD1", "value": 6.54,
                                                                "unit": "m"}, alert_id=aid),
        AuditEntry(NOW + 7200, "raised", "detector", "crossed BD3", {"severity": "emergency", "previous": "warning",
                                                                     "level": "BD3", "value": 8.02}, alert_id=aid))
    with app.service.store.transaction() as conn:
        alert_storage.save_alert(conn, alert)
        alert_storage.add_audit(conn, entries)
    return alert


def test_an_older_databases_alert_gets_its_messages_once_from_its_audit_entries(app: App, tmp_path: Path) -> None:
    alert = _legacy_alert(app)
    assert issued_of(app.service.store.query_all, alert.id) == []
    first, last = messages_of(app, alert.id)
    assert parameters(first)["alarm_level"] == "BD1" and parameters(first)["value"] == "6.54 m"
    assert "threshold" not in parameters(first)  # the old entry did not record it: said nowhere, never borrowed
    assert "8,00" not in (info(first).findtext("cap:description", namespaces=NS) or "")
    assert parameters(last)["threshold"] == "8 m"  # the last change's own detection is the alert's evidence
    assert [m.xml for m in issued_of(app.service.store.query_all, alert.id)] == [first, last]
    app.service.feeds.composer.env.loader = edited_templates(tmp_path / "templates")  # type: ignore[attr-defined]
    app.service.feeds.composer.env.cache = None  # type: ignore[attr-defined]
    assert messages_of(app, alert.id) == [first, last]  # issued once: stored, not rendered again
    app.detect(level_detection(None, NOW + 9000, 6.2), advance_s=9000)
    assert messages_of(app, alert.id)[:2] == [first, last]


def test_a_message_that_fails_to_render_never_blocks_the_alert_and_is_issued_later(
        app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> bytes:
        raise RuntimeError("template broken")
    working = cap_module.cap_xml
    monkeypatch.setattr(cap_module, "cap_xml", broken)
    app.detect(level_detection("BD1", NOW, 6.54))
    alert = alert_storage.open_alert(app.service.store.query_all, "flood.level", "st1")
    assert alert is not None  # the alert change committed without its message
    assert issued_of(app.service.store.query_all, alert.id) == []
    monkeypatch.setattr(cap_module, "cap_xml", working)
    app.detect(level_detection("BD2", NOW + 3600, 7.35, previous="BD1"), advance_s=3600)
    first, second = messages_of(app, alert.id)  # the missed one issued from its audit entry, then the new one
    assert parameters(first)["threshold"] == "6.5 m" and parameters(second)["threshold"] == "7.3 m"
    assert f"tichwatch-{alert.id}-1" in (ET.fromstring(second).findtext("cap:references", namespaces=NS) or "")


def test_only_public_alerts_have_messages(app: App) -> None:
    app.detect(Detection("sensor.offline", "st1", NOW, True, Severity.WARNING, None, "", reason="silent"))
    alert = alert_storage.open_alert(app.service.store.query_all, "sensor.offline", "st1")
    assert alert is not None
    assert issued_of(app.service.store.query_all, alert.id) == []
    assert app.cap(f"{alert.id}-1").status_code == 404
    assert app.cap("nosuchalert-1").status_code == 404
    assert app.cap("x-²").status_code == 404
