"""Several communes in one process (README: Several communes): each at the host of its `http.public_url`, with its
own stations, store (or PostgreSQL schema), broker topics and officers; one listener, one lifespan for all."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from tests.accounts_support import CHEAP_HASHER, cheap_service
from tests.conftest import TEST_DATABASE_ENV
from tests.nginx import nginx_in_front
from tests.support import STATION, make_settings, mosquitto_pub, secret, wait_for, write_config
from tichwatch.api.accounts import Accounts, Role
from tichwatch.api.communes import communes_app
from tichwatch.app.cli import build_parser
from tichwatch.app.cli import main as cli_main
from tichwatch.app.schema import open_store
from tichwatch.app.service import Service
from tichwatch.config.communes import sharing_problems
from tichwatch.config.loader import load_settings
from tichwatch.config.schema import Settings
from tichwatch.tools.broker import MosquittoProcess, free_port

PASSWORD = secret("officer-password-communes-1")
POSTGRESQL = os.environ.get(TEST_DATABASE_ENV) == "postgresql"


def _commune(tmp: Path, name: str, station: str, broker_port: int, port: int, extra_station: str | None = None,
             **extra: Any) -> Settings:
    store: dict[str, Any] = {"data_dir": str(tmp / name)}
    if POSTGRESQL:
        store["database_schema"] = f"{name}_{uuid.uuid4().hex[:8]}"
    store.update(extra.pop("store", {}))
    ids = [station] + ([extra_station] if extra_station else [])
    return make_settings(tmp / name, broker_port, commune=f"Xã {name}",
                         stations=[{**STATION, "id": sid, "name": f"Trạm {sid}"} for sid in ids],
                         subscriptions={"link_secret_env": f"TICHWATCH_UNSUBSCRIBE_SECRET_{name.upper()}"},
                         mqtt={"topic_prefix": f"{name}/v1", "client_id": f"tw-{name}-{broker_port}"},
                         http={"host": "127.0.0.1", "port": port, "public_url": f"http://{name}.localhost:{port}"},
                         store=store, **extra)


@pytest.fixture
def two(tmp_path: Path, broker: MosquittoProcess) -> Iterator[tuple[str, Service, Service]]:
    port = free_port()
    services = [Service(_commune(tmp_path, "kieuphu", "kp1", broker.port, port, extra_station="st1")),
                Service(_commune(tmp_path, "phuongtrung", "pt1", broker.port, port, extra_station="st1"))]
    for svc in services:
        svc.accounts.passwords.hasher = CHEAP_HASHER
    app = communes_app(services)  # as `tichwatch run` makes it
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, timeout_s=30)
    assert all(s.mqtt.connected.wait(10) for s in services)
    yield f"http://127.0.0.1:{port}", services[0], services[1]
    server.should_exit = True
    thread.join(timeout=30)
    assert not thread.is_alive()


def _get(base: str, host: str, path: str, **kw: Any) -> httpx.Response:
    return httpx.get(base + path, headers={"Host": f"{host}.localhost", **kw.pop("headers", {})}, timeout=10, **kw)


def test_each_commune_answers_at_its_own_host(two: tuple[str, Service, Service]) -> None:
    base, _, _ = two
    assert [s["id"] for s in _get(base, "kieuphu", "/api/v1/stations").json()["stations"]] == ["kp1", "st1"]
    assert [s["id"] for s in _get(base, "phuongtrung", "/api/v1/stations").json()["stations"]] == ["pt1", "st1"]
    port = base.rsplit(":", 1)[1]
    for spelled in (f"KieuPhu.localhost:{port}", "kieuphu.localhost.", "kieuphu.localhost"):  # as browsers send it
        answer = httpx.get(base + "/api/v1/stations", headers={"Host": spelled}, timeout=10)
        assert [s["id"] for s in answer.json()["stations"]] == ["kp1", "st1"], spelled
    assert httpx.get(base + "/api/v1/stations", headers={"Host": "[zz"}, timeout=10).status_code == 400
    alive = httpx.get(base + "/healthz", headers={"Host": "127.0.0.1"}, timeout=10)  # a probe without a commune
    assert alive.status_code == 200 and alive.json()["communes"] == ["kieuphu.localhost", "phuongtrung.localhost"]
    assert "Xã kieuphu" in _get(base, "kieuphu", "/widget").text  # the portal's widget names its commune
    assert "Xã phuongtrung" in _get(base, "phuongtrung", "/widget").text
    nowhere = _get(base, "elsewhere", "/api/v1/stations")
    assert nowhere.status_code == 404
    assert nowhere.json()["communes"] == ["kieuphu.localhost", "phuongtrung.localhost"]


def test_readings_reach_only_their_communes_store(two: tuple[str, Service, Service], broker: MosquittoProcess) -> None:
    _, kieuphu, phuongtrung = two
    mosquitto_pub(broker.port, "kieuphu/v1/water/st1/reading", f'{{"ts": {time.time() - 5}, "level_m": 6.9}}')
    wait_for(lambda: kieuphu.store.count_readings("st1") == 1)  # st1: a station of both communes
    assert kieuphu.store.query_all("SELECT kind FROM alerts") != []  # above BĐ I: that commune's alert
    time.sleep(0.5)
    assert phuongtrung.store.count_readings("st1") == 0 and phuongtrung.store.query_all("SELECT id FROM alerts") == []


def test_an_officer_is_an_officer_of_their_commune_only(two: tuple[str, Service, Service]) -> None:
    base, kieuphu, _ = two
    kieuphu.accounts.add_user("truc.ban", PASSWORD, Role.OFFICER, time.time())
    signed = httpx.post(f"{base}/api/v1/auth/login", json={"username": "truc.ban", "password": PASSWORD},
                        headers={"Host": "kieuphu.localhost"}, timeout=10)
    assert signed.status_code == 200, signed.text
    token = {"Authorization": f"Bearer {secret(signed.json()['access_token'])}"}
    assert _get(base, "kieuphu", "/api/v1/auth/me", headers=token).status_code == 200
    assert _get(base, "phuongtrung", "/api/v1/auth/me", headers=token).status_code == 401  # unknown there
    elsewhere = httpx.post(f"{base}/api/v1/auth/login", json={"username": "truc.ban", "password": PASSWORD},
                           headers={"Host": "phuongtrung.localhost"}, timeout=10)
    assert elsewhere.status_code == 401


def test_what_communes_may_not_share_is_refused_before_anything_starts(tmp_path: Path) -> None:
    pg = "postgresql://tichwatch@db/tichwatch"
    a = _commune(tmp_path, "kieuphu", "kp1", 1883, 8080, store={"data_dir": str(tmp_path / "a"),
                                                                 "database_schema": "kieuphu"})
    b = _commune(tmp_path, "phuongtrung", "pt1", 1883, 8080, store={"data_dir": str(tmp_path / "b"),
                                                                     "database_schema": "phuongtrung"})
    assert sharing_problems([a, b], None) == [] and sharing_problems([a, b], pg) == []
    clash = _commune(tmp_path, "kieuphu", "kp9", 1883, 8081, store={"data_dir": str(tmp_path / "a"),
                                                                     "database_schema": "kieuphu"})
    problems = sharing_problems([a, clash], None)  # same data dir, host, prefix, link key; another port
    for what in ("same http.host and http.port", "store.data_dir", "topic_prefix", "public_url host",
                 "link_secret_env"):
        assert any(what in p for p in problems), (what, problems)
    assert any("database_schema must differ" in p for p in sharing_problems([a, clash], pg))
    no_schema = b.model_copy(update={"store": b.store.model_copy(update={"database_schema": None})})
    assert any("needs store.database_schema" in p for p in sharing_problems([a, no_schema], pg))
    assert any("one SQLite file" in p for p in sharing_problems([a, b], "sqlite:////var/lib/tw.sqlite3"))
    same_id = b.model_copy(update={"mqtt": b.mqtt.model_copy(update={"client_id": a.mqtt.client_id})})
    assert any("mqtt.client_id" in p for p in sharing_problems([a, same_id], None))


@pytest.mark.slow
def test_tichwatch_run_serves_several_communes_and_stops_them_all(tmp_path: Path, broker: MosquittoProcess) -> None:
    port = free_port()
    configs = [write_config(tmp_path / f"{n}.yaml", _commune(tmp_path, n, s, broker.port, port))
               for n, s in (("kieuphu", "kp1"), ("phuongtrung", "pt1"))]
    log = tmp_path / "service.log"
    proc = subprocess.Popen([sys.executable, "-m", "tichwatch.app.cli", "run", "--config", str(configs[0]),
                             "--config", str(configs[1])], stdout=log.open("wb"), stderr=subprocess.STDOUT,
                            cwd=Path(__file__).resolve().parents[2])
    try:
        def answers(host: str) -> bool:
            try:
                return _get(f"http://127.0.0.1:{port}", host, "/readyz").status_code == 200
            except httpx.HTTPError:
                return False
        wait_for(lambda: answers("kieuphu") and answers("phuongtrung"), timeout_s=60,
                 message=lambda: log.read_text()[-2000:])
        for _ in range(2):  # the public edge keeps each commune's answers apart, and its live stream
            for name, station in (("kieuphu", "kp1"), ("phuongtrung", "pt1")):
                listed = _get(f"http://127.0.0.1:{port}", name, "/api/v1/stations").json()
                assert [s["id"] for s in listed["stations"]] == [station], name
        with httpx.stream("GET", f"http://127.0.0.1:{port}/api/v1/stream", headers={"Host": "kieuphu.localhost"},
                          timeout=10) as watching:
            assert watching.status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()  # not left behind by a failing test
            proc.wait()
            raise
    text = log.read_text()
    assert text.count("TichWatch stopped") == 2, text[-3000:]
    assert proc.returncode in (0, -signal.SIGTERM)


def test_an_officer_of_several_communes_is_added_to_each(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """The wider role: a district officer gets an account in each commune named (one command), and only there."""
    configs = [write_config(tmp_path / f"{n}.yaml", _commune(tmp_path, n, s, 1883, 8080))
               for n, s in (("kieuphu", "kp1"), ("phuongtrung", "pt1"), ("dongquang", "dq1"))]
    monkeypatch.setenv("TICHWATCH_NEW_PASSWORD", PASSWORD)
    args = build_parser().parse_args(["user-add", "can.bo.huyen", "--role", "officer", "--config", str(configs[0]),
                                      "--config", str(configs[1])])
    assert args.func(args) == 0
    assert capsys.readouterr().out.count("user can.bo.huyen (officer) created") == 2
    for config, member in zip(configs, (True, True, False)):
        settings = load_settings(config)
        store = open_store(settings.store.data_dir, schema=settings.store.database_schema)
        try:
            assert [u.username for u in Accounts(store, settings.accounts).users()] == (
                ["can.bo.huyen"] if member else [])
        finally:
            store.close()


def test_the_proxy_keeps_each_communes_answers_apart(two: tuple[str, Service, Service], tmp_path: Path) -> None:
    """The documented nginx micro-cache in front of one listener for two communes: within its second, each host
    still gets its own commune's status (the cache key holds the host)."""
    base, _, _ = two
    with nginx_in_front(tmp_path / "nginx", [base.removeprefix("http://")]) as front:
        for _ in range(3):
            for name, station in (("kieuphu", "kp1"), ("phuongtrung", "pt1")):
                body = httpx.get(f"{front}/api/v1/stations", headers={"Host": f"{name}.localhost"}, timeout=10)
                assert body.status_code == 200 and station in {s["id"] for s in body.json()["stations"]}, name


def test_a_client_gets_no_fresh_budget_by_naming_another_commune(tmp_path: Path) -> None:
    """The request limits are the process's: a client that spent its budget at one host is refused at the other."""
    services = [cheap_service(tmp_path / n, commune=f"Xã {n}", stations=[{**STATION, "id": f"{n[:2]}1"}],
                              http={"public_url": f"http://{n}.localhost", "rate_limit_per_min": 1,
                                    "rate_limit_burst": 2})
                for n in ("kieuphu", "phuongtrung")]
    try:
        with TestClient(communes_app(services, manage_lifecycle=False)) as client:
            statuses = [client.get("/api/v1/stations/ki1/readings", headers={"Host": "kieuphu.localhost"}).status_code
                        for _ in range(3)]
            assert statuses == [200, 200, 429]
            other = client.get("/api/v1/stations/ph1/readings", headers={"Host": "phuongtrung.localhost"})
            assert other.status_code == 429
    finally:
        for svc in services:
            svc.store.close()


def test_check_config_names_what_communes_may_not_share(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = [write_config(tmp_path / f"{n}.yaml", _commune(tmp_path, n, f"{n[:2]}1", 1883, 8080))
            for n in ("kieuphu", "phuongtrung")]
    assert cli_main(["check-config", *map(str, good)]) == 0
    clash = write_config(tmp_path / "again.yaml", _commune(tmp_path, "kieuphu", "kp9", 1883, 8080))
    capsys.readouterr()
    assert cli_main(["check-config", str(good[0]), str(clash)]) == 1
    out = capsys.readouterr().out
    assert "several communes:" in out and "store.data_dir" in out and "error(s)" in out
