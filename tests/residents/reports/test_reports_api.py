"""Reports over HTTP and the report desk: not public (401 without credentials, 403 for a viewer); an officer asks
for a report of some days, the desk's own thread makes it, and it appears in the list with its PDF and DOCX; the
request is in the officer audit log; periods too long or in the future are refused; the schedule queues each weekly
and monthly report once; a report that cannot be made is marked failed; old reports go with their files."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import docx
import pytest
from fastapi.testclient import TestClient

from tests.residents.reports.fixtures import MON, fill, settings_for
from tests.support import wait_for
from tichwatch.api.accounts import Role
from tichwatch.api.app import create_app
from tichwatch.app.service import Service
from tichwatch.residents.reports import storage

NOW = MON + 8 * 86400 + 9 * 3600  # Tuesday 1 December 2026, 09:00 local: both 07:00 slots have passed


@dataclass
class World:
    """A service on the known week, its HTTP client, a movable clock."""

    service: Service
    client: TestClient
    clock: list[float]

    def person(self, name: str, role: Role) -> dict[str, str]:
        """The bearer header of a new signed-in account."""
        password = f"{name}-password-for-tests"
        self.service.accounts.add_user(name, password, role, self.clock[0])
        session = self.service.accounts.login(name, password, "testclient", self.clock[0])
        assert session is not None
        return {"Authorization": f"Bearer {session.token}"}


@contextmanager
def _world(tmp_path: Path, **reports: Any) -> Iterator[World]:
    clock = [NOW]
    service = Service(settings_for(tmp_path / "data", **reports), clock=lambda: clock[0])
    fill(service.store)
    with TestClient(create_app(service, manage_lifecycle=False)) as client:
        yield World(service, client, clock)
    service.reports.stop()
    service.store.close()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """The world without the schedule (only reports asked for are made), checked every hour."""
    with _world(tmp_path, enabled=False, tick_interval_s=3600) as w:
        yield w


@pytest.fixture
def make_world(tmp_path: Path) -> Iterator[Callable[..., World]]:
    """Worlds with the given `reports:` settings, closed after the test."""
    made = iter(range(100))
    with ExitStack() as stack:
        yield lambda **reports: stack.enter_context(_world(tmp_path / f"w{next(made)}", **reports))


def test_reports_are_not_public(world: World) -> None:
    for method, path in (("GET", "/api/v1/reports"), ("POST", "/api/v1/reports"), ("GET", "/api/v1/reports/x"),
                         ("GET", "/api/v1/reports/x/report.pdf")):
        assert world.client.request(method, path, json={}).status_code == 401, path
    viewer = world.person("xem", Role.VIEWER)
    assert world.client.get("/api/v1/reports", headers=viewer).status_code == 403
    assert world.client.post("/api/v1/reports", json={"first_day": "2026-11-23", "last_day": "2026-11-29"},
                             headers=viewer).status_code == 403


def test_an_officer_asks_for_a_report_and_it_appears_when_the_desk_has_made_it(world: World) -> None:
    officer = world.person("truc.ban", Role.OFFICER)
    world.service.reports.start()  # its thread makes the report: the request only queues it
    asked = world.client.post("/api/v1/reports", json={"first_day": "2026-11-23", "last_day": "2026-11-29"},
                              headers=officer)
    assert asked.status_code == 202, asked.text
    queued = asked.json()
    assert queued["state"] == "queued" and queued["kind"] == "custom" and queued["files"] == {}
    assert (queued["first_day"], queued["last_day"], queued["requested_by"]) == ("2026-11-23", "2026-11-29",
                                                                                 "truc.ban")

    def made() -> dict[str, Any] | None:
        doc = world.client.get(f"/api/v1/reports/{queued['id']}", headers=officer).json()
        return doc if doc["state"] != "queued" else None
    done = wait_for(made, timeout_s=30)
    assert done["state"] == "done" and done["error"] is None and done["pages"] >= 2
    assert done["summary"]["alerts"] == 6 and done["summary"]["bulletins"] == 2
    listed = world.client.get("/api/v1/reports", headers=officer).json()["reports"]
    assert [r["id"] for r in listed] == [queued["id"]]
    pdf = world.client.get(done["files"]["pdf"], headers=officer)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert pdf.headers["content-type"] == "application/pdf" and "no-store" in pdf.headers["cache-control"]
    assert 'filename="bao-cao-20261123-20261129.pdf"' in pdf.headers["content-disposition"]
    word = world.client.get(done["files"]["docx"], headers=officer)
    assert word.status_code == 200 and word.content.startswith(b"PK")
    audit = world.service.store.query_all("SELECT actor, action, target, detail FROM officer_audit "
                                          "WHERE action = 'report.request'")
    assert [(r["actor"], r["target"]) for r in audit] == [("truc.ban", queued["id"])]
    assert world.client.get("/api/v1/reports/x/report.pdf", headers=officer).status_code == 404


def test_periods_too_long_reversed_or_in_the_future_are_refused_and_the_queue_is_bounded(world: World) -> None:
    officer = world.person("truc.ban", Role.OFFICER)
    for first, last in (("2025-11-01", "2026-11-30"), ("2026-11-29", "2026-11-23"), ("2026-11-23", "2026-12-02")):
        r = world.client.post("/api/v1/reports", json={"first_day": first, "last_day": last}, headers=officer)
        assert r.status_code == 422 and r.json()["code"] == "refused", (first, last)
    assert world.client.post("/api/v1/reports", json={"first_day": "2026-13-01", "last_day": "2026-11-02"},
                             headers=officer).status_code == 422
    for _ in range(world.service.settings.reports.max_queued):
        assert world.client.post("/api/v1/reports", json={"first_day": "2025-12-01", "last_day": "2026-11-30"},
                                 headers=officer).status_code == 202  # a year (366 days at most) is fine
    full = world.client.post("/api/v1/reports", json={"first_day": "2026-11-01", "last_day": "2026-11-30"},
                             headers=officer)
    assert full.status_code == 422 and "already waiting" in full.json()["detail"]


def test_the_schedule_queues_each_weekly_and_monthly_report_once(make_world: Callable[..., World]) -> None:
    world = make_world(tick_interval_s=3600, assign_numbers=True)
    desk = world.service.reports
    queued = desk.schedule()
    assert sorted((r.kind, r.origin) for r in queued) == [("monthly", "schedule"), ("weekly", "schedule")]
    assert desk.schedule() == []  # once per period, whatever the ticks
    made = desk.tick()
    assert [(r.kind, r.state, r.number) for r in made] == [("monthly", "done", 1), ("weekly", "done", 2)]
    monthly, weekly = made
    tz = world.service.settings.timezone
    assert (weekly.period.first_day(tz).isoformat(), weekly.period.last_day(tz).isoformat()) == (
        "2026-11-23", "2026-11-29")
    assert (monthly.period.first_day(tz).isoformat(), monthly.period.last_day(tz).isoformat()) == (
        "2026-11-01", "2026-11-30")
    assert desk.files.path(weekly.id, "pdf").exists()
    tables = docx.Document(str(desk.files.path(weekly.id, "docx"))).tables
    assert any(row.cells[0].text == "Cầu Kiều Phú" for t in tables for row in t.rows)
    world.clock[0] += 7 * 86400  # the next Monday: one more weekly report, no new monthly one
    assert [r.kind for r in desk.schedule()] == ["weekly"]


def test_a_report_that_cannot_be_made_is_marked_failed_and_old_reports_are_deleted(
        make_world: Callable[..., World]) -> None:
    world = make_world(enabled=False, retention_days=30)
    desk = world.service.reports
    officer = "truc.ban"
    record = desk.request(date(2026, 11, 23), date(2026, 11, 29), officer)
    desk.stations = lambda: (_ for _ in ()).throw(RuntimeError("registry gone"))  # type: ignore[method-assign]
    (failed,) = desk.tick()
    assert failed.state == "failed" and failed.error == "RuntimeError: registry gone"
    assert storage.get(world.service.store.query_all, record.id) == failed
    world.clock[0] += 31 * 86400
    assert desk.prune() == 1 and desk.get(record.id) is None
