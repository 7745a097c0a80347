"""Schema-driven fuzzing of the HTTP API: schemathesis derives requests from the app's own OpenAPI document and sends
them to the real app on a real SQLite store, anonymously and as an admin; no request may get a server error, and every
answer must be one the document describes (status, content type, body)."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support import jpeg, make_settings, secret
from tichwatch.alerts import actions
from tichwatch.api.accounts import Role
from tichwatch.api.app import create_app
from tichwatch.api.pagination import encode_cursor
from tichwatch.app.service import Service
from tichwatch.config.alerts import Matchers
from tichwatch.config.schema import Settings
from tichwatch.core.detection import Detection, Severity
from tichwatch.core.samples import Frame, Reading
from tichwatch.core.timefmt import iso_utc
from tichwatch.store.store import Store

NOW = 1_790_000_000.0
"""The service's fixed clock (2026-09-21 21:13 in Hanoi): the same data, and so the same run, every time."""
ADMIN = "quan.tri"
ADMIN_PASSWORD = secret("fuzz-admin-password-1")
SEED = 20260921
MAX_EXAMPLES = 15
"""Generated requests per operation in the fuzzing phase (the examples and coverage phases add their own)."""
STREAM = "/api/v1/stream"
"""Not fuzzed: the live SSE stream never ends, so every request to it would only wait for the stream's event limit."""
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
TRICKY_TIMES = ["-99999999999", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "9999-12-31T20:00:00Z",
                "1e11", "NaN", "-0", "1899-12-31T23:59:59Z", "1900-01-01T00:00:00Z", "4999-12-31T23:59:59Z",
                "2026-09-21T21:00:00", "2026-02-30T00:00:00Z"]
"""Times at and past the edges of what can be parsed and shown, beside the real reading times."""

Dictionaries = dict[str, list[str | float]]
"""Values for the fuzzer to try, by dictionary name."""


def fuzz_settings(data_dir: Path) -> Settings:
    """Test settings with a rate limit no fuzzer reaches (its 429s would hide every other answer) and a receiver on
    the log for alerts."""
    return make_settings(data_dir, http={"port": 0, "rate_limit_per_min": 1_000_000, "rate_limit_burst": 1_000_000},
                         alerts={"receivers": [{"name": "duty", "channel": {"type": "log"}}],
                                 "routes": [{"receivers": ["duty"]}]})


def fill_store(service: Service) -> Dictionaries:
    """Twelve hours of readings for each station (st1 rising through báo động I and II, so the flood detector opens
    alerts), a dust plume with its evidence snapshot at cam1, a silence, a published bulletin and a draft; returns the
    ids of what was stored, by kind, for the fuzzer's dictionaries."""
    readings = [Reading("st1", NOW - 600 * i, round(7.5 - 0.02 * i, 3)) for i in range(72, -1, -1)]
    readings += [Reading("st2", NOW - 600 * i, 5.0) for i in range(72, -1, -1)]
    detections = [d for r in readings for d in service.flood.update(r)]
    frame = jpeg()
    detections.append(Detection("dust.plume", "cam1", NOW - 300, True, Severity.WARNING, 0.72, "index",
                                reason="plume", snapshot_jpeg=frame))
    with service.store.transaction() as conn:
        Store.insert_readings(conn, readings)
        evidence = [service.store.save_evidence(conn, d, NOW) for d in detections]
        for d, evidence_id in zip(detections, evidence):
            service.store.insert_detection(conn, d, evidence_id)
        service.alerts.engine.apply(conn, detections, NOW)
        silence = actions.create_silence(conn, Matchers.model_validate({"subjects": ["st2"]}), NOW, NOW + 3600,
                                         "thay cảm biến", ADMIN, NOW)
    service.store.save_latest_frame(Frame("cam1", NOW - 30, frame, 64, 48, NOW - 29))
    service.store.record_dust_index("cam1", NOW - 30, 0.72, "dust")
    alerts = [row["id"] for row in service.store.query_all("SELECT id FROM alerts ORDER BY id")]
    assert len(alerts) >= 3, "the readings and the plume should have opened flood and dust alerts"
    published = service.bulletins.publish(service.bulletins.create(ADMIN).id, ADMIN, officer=True)
    draft = service.bulletins.create(ADMIN)
    return {
        "station_ids": ["st1", "st2"],
        "camera_ids": ["cam1"],
        "times": [iso_utc(r.ts) for r in readings[::24]] + [str(int(readings[-1].ts)), iso_utc(NOW + 3600),
                                                             iso_utc(NOW + 40 * 86400)] + TRICKY_TIMES,
        "alert_ids": alerts,
        "ack_tokens": [service.alerts.ack_links.issue(a, "duty", NOW) for a in alerts],
        "silence_ids": [silence.id],
        "bulletin_ids": [published.id, draft.id],
        "figure_keys": [f.key for f in published.figures],
        "cap_message_ids": [f"{a}-{n}" for a in alerts for n in ("1", "2", "²", "99999999999999999999")],
        "evidence_ids": [e for e in evidence if e is not None],
        "durations": [3600, 31 * 86400],
        "bd1_m": [6.0, 6.5], "bd2_m": [7.0, 7.3], "bd3_m": [7.9, 8.0], "record_m": [8.45, 13.0],
        "usernames": [ADMIN],
        "passwords": [ADMIN_PASSWORD],
    }


FORGED_CURSORS: dict[str, list[object]] = {"/api/v1/alerts": [10**30, "x"], "/api/v1/bulletins": [10**30, "x"],
                                           "/api/v1/audit": [10**30], "/api/v1/stations/st1/readings": [10**309]}
"""Cursors shaped like real ones (the fuzzer cannot make them up: a cursor is opaque base64) with numbers no store
column holds."""
PAGINATED = ("/api/v1/alerts", "/api/v1/stations/st1/readings", "/api/v1/audit")
"""Lists with more than one page in the filled store (whose second-page cursors the fuzzer gets)."""


def next_cursor(client: TestClient, path: str, key: str) -> str:
    """The cursor of a list's second page, as the first page's `next` link gives it."""
    page = client.get(path, params={"limit": 1}, headers={"X-API-Key": key}).json()
    return parse_qs(urlsplit(page["next"]).query)["cursor"][0]


BINDINGS = {
    "path.station_id": "station_ids", "query.subject": "station_ids", "path.camera_id": "camera_ids",
    "path.ts": "times", "query.start": "times", "query.end": "times", "query.since": "times", "query.until": "times",
    "body.starts_at": "times", "body.ends_at": "times", "body.duration_s": "durations", "path.alert_id": "alert_ids",
    "path.token": "ack_tokens", "path.silence_id": "silence_ids", "path.bulletin_id": "bulletin_ids",
    "path.key": "figure_keys", "path.message_id": "cap_message_ids", "path.evidence_id": "evidence_ids",
    "query.cursor": "cursors", "body.bd1_m": "bd1_m", "body.bd2_m": "bd2_m", "body.bd3_m": "bd3_m",
    "body.record_m": "record_m", "body.username": "usernames", "body.password": "passwords",
}
"""Parameters the fuzzer fills half of the time from the store's real ids (and values at the edges), so it gets past
the 404s and 400s to the code behind them."""


@dataclass(frozen=True)
class Deployment:
    """The app on a service with known data, an admin's API key, and the ids of the stored data."""

    app: FastAPI
    admin_key: str
    known: Dictionaries

    def schema(self, headers: dict[str, str]) -> schemathesis.BaseSchema:
        """The app's OpenAPI document, loaded for deterministic fuzzing with these headers on every request."""
        config = schemathesis.Config.from_dict({
            "seed": SEED,
            "suppress-health-check": ["too_slow"],  # a slow machine must not fail the run
            "headers": headers,
            "dictionaries": {name: {"values": values} for name, values in self.known.items()},
            "parameters": {key: {"dictionary": name, "probability": 0.5} for key, name in BINDINGS.items()},
            # every operation is also tried with two methods it does not have (405), not with all of them
            "phases": {"coverage": {"unexpected-methods": ["OPTIONS", "PATCH"]}},
            "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none",
                           # made-up credentials only for anonymous callers: beside the admin's key they would win
                           "with-security-parameters": not headers},
        })
        return schemathesis.openapi.from_asgi("/openapi.json", self.app, config=config)


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    """A service with a filled store behind the real app (no broker: the HTTP API does not need one)."""
    service = Service(fuzz_settings(tmp_path / "data"), clock=lambda: NOW)
    service.accounts.add_user(ADMIN, ADMIN_PASSWORD, Role.ADMIN, NOW)
    key = secret(service.accounts.add_api_key("fuzz-admin", Role.ADMIN, NOW))
    app = create_app(service, manage_lifecycle=False)
    known = fill_store(service)
    service.store_monitor.probe()  # the store is checked (writable); only the broker is missing here
    with TestClient(app) as client:
        known["cursors"] = [next_cursor(client, path, key) for path in PAGINATED]
    known["cursors"] += [encode_cursor(k) for k in FORGED_CURSORS.values()]
    yield Deployment(app, key, known)
    service.store.close()


@pytest.fixture
def anonymous_api(deployment: Deployment) -> schemathesis.BaseSchema:
    """The API as anyone on the internet calls it."""
    return deployment.schema({})


@pytest.fixture
def admin_api(deployment: Deployment) -> schemathesis.BaseSchema:
    """The API as an admin's machine calls it (its API key on every request)."""
    return deployment.schema({"X-API-Key": deployment.admin_key})


@pytest.fixture(autouse=True)
def schemathesis_node_id(request: pytest.FixtureRequest) -> None:
    """Compatibility: schemathesis 4.32's fixture-loaded schemas read and relabel `request.node._nodeid`, which pytest
    9.2 replaced by a structured node id; give the node that attribute back (it only labels reports)."""
    request.node._nodeid = request.node.nodeid


def needs_credentials(operation: schemathesis.APIOperation) -> bool:
    """True for operations that declare a security requirement (the officers' endpoints)."""
    return bool(operation.definition.raw.get("security"))


anonymous = schemathesis.pytest.from_fixture("anonymous_api").exclude(path=STREAM)
# The public operations answer an admin exactly as anyone (the same generated requests would only run twice), so the
# admin's run covers the operations that need credentials.
admin = schemathesis.pytest.from_fixture("admin_api").include(lambda ctx: needs_credentials(ctx.operation))


def call_and_validate(case: schemathesis.Case) -> schemathesis.Response:
    """Send the case and run the checks; /readyz is the one operation that answers 5xx by design (503: no broker
    here), so there the answer is checked to say exactly that."""
    excluded = [not_a_server_error] if case.path == "/readyz" else []
    response = case.call_and_validate(checks=CHECKS, excluded_checks=excluded)  # type: ignore[arg-type]
    if response.status_code >= 500:
        assert response.status_code == 503 and response.json()["detail"] == "MQTT: not connected"
    return response


@anonymous.parametrize()
def test_anonymous_requests_get_no_server_error(case: schemathesis.Case) -> None:
    """Anyone's requests: never a 5xx, answers as documented, and the officers' endpoints refuse them (signing out
    aside, which is a no-op without a session)."""
    response = call_and_validate(case)
    if needs_credentials(case.operation) and case.path != "/api/v1/auth/logout":
        assert response.status_code not in range(200, 300), f"anonymous {case.method} {case.formatted_path} succeeded"


@admin.parametrize()
def test_admin_requests_get_no_server_error(case: schemathesis.Case) -> None:
    """An admin's requests reach past authentication into the officers' endpoints: never a 5xx, answers as
    documented, and the key is never refused."""
    response = call_and_validate(case)
    # separation of duties: nobody approves a bulletin they drafted (the fuzzer's admin drafts them), and approval is
    # a signed-in person's (the fuzzer uses a key): those are rules of the workflow, not refusals of the key
    duty_rule = response.status_code == 403 and response.json().get("code") in ("own_bulletin", "person_required")
    assert response.status_code not in (401, 403) or duty_rule, f"the admin's key was refused: {response.text}"


def test_forged_cursors_are_refused(deployment: Deployment) -> None:
    """Cursors of the right shape whose numbers SQLite (64-bit integers) or a float cannot hold are refused with a
    400, not a failed query (found by this fuzzer)."""
    with TestClient(deployment.app, raise_server_exceptions=False) as client:
        statuses = {path: client.get(path, params={"cursor": encode_cursor(key)},
                                     headers={"X-API-Key": deployment.admin_key}).status_code
                    for path, key in FORGED_CURSORS.items()}
    assert statuses == dict.fromkeys(FORGED_CURSORS, 400)
