"""The public edge in front of a real service: public answers kept and revalidated, everything else passed through
(officers' writes, the live stream, client addresses), and what it does when the service does not answer."""
from __future__ import annotations

import asyncio
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from tests.support import make_settings, wait_for
from tichwatch.api import edge as edge_module
from tichwatch.api.accounts import Role
from tichwatch.api.app import create_app
from tichwatch.api.edge import Edge, max_age_of, upstream_client
from tichwatch.api.live import EventHub
from tichwatch.app.service import Service
from tichwatch.ingest.contract import Topics, encode_reading
from tichwatch.tools.broker import MosquittoProcess, free_port
from tichwatch.tools.publisher import GatewayPublisher


@dataclass
class Fronted:
    service: Service
    edge: Edge
    url: str
    service_server: uvicorn.Server


def _serve(config: uvicorn.Config) -> tuple[uvicorn.Server, threading.Thread]:
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, timeout_s=15)
    return server, thread


@pytest.fixture
def fronted(tmp_path: Path, broker: MosquittoProcess) -> Iterator[Fronted]:
    """The service's app on a Unix socket and the edge in front of it on a free port (both in this process: the
    edge's behaviour is under test here; its process is in test_edge_process.py)."""
    settings = make_settings(tmp_path / "data", broker.port,
                             http={"port": 0, "snapshot_refresh_s": 0, "rate_limit_per_min": 1,
                                   "rate_limit_burst": 3})
    service = Service(settings)
    sock_dir = tempfile.mkdtemp(prefix="tw-edge-")
    uds = f"{sock_dir}/http.sock"
    inner, inner_thread = _serve(uvicorn.Config(create_app(service), uds=uds, log_config=None))
    assert service.mqtt.connected.wait(10)
    edge = Edge(upstream_client(uds), frozenset(["127.0.0.1"]), refresh_s=30.0)
    port = free_port()
    outer, outer_thread = _serve(uvicorn.Config(edge, host="127.0.0.1", port=port, log_config=None))
    yield Fronted(service, edge, f"http://127.0.0.1:{port}", inner)
    outer.should_exit = True
    outer_thread.join(15)
    inner.should_exit = True
    inner_thread.join(15)
    shutil.rmtree(sock_dir, ignore_errors=True)


def _publish(settings_mqtt: object, station: str, level: float) -> None:
    pub = GatewayPublisher(settings_mqtt, "edge-test-gw").connect()  # type: ignore[arg-type]
    try:
        pub.publish(Topics().reading(station), encode_reading(time.time(), level))
    finally:
        pub.close()


def test_public_answers_are_kept_and_served_without_asking_the_service(fronted: Fronted) -> None:
    with httpx.Client(base_url=fronted.url) as client:
        first = client.get("/api/v1/status", headers={"Accept-Encoding": "identity"})
        assert first.status_code == 200 and first.json()["stations"]
        fetches = fronted.edge.fetches
        for _ in range(20):
            again = client.get("/api/v1/status", headers={"Accept-Encoding": "identity"})
            assert again.content == first.content
        assert fronted.edge.fetches == fetches, "kept answers must not be asked for again before they are due"
        etag = first.headers["etag"]
        assert client.get("/api/v1/status", headers={"If-None-Match": etag}).status_code == 304
        zipped = client.get("/api/v1/status", headers={"Accept-Encoding": "gzip"})
        assert zipped.headers["content-encoding"] == "gzip" and zipped.json() == first.json()
        head = client.head("/api/v1/status")
        assert head.status_code == 200 and head.content == b"" and head.headers["etag"] == etag
        assert "public" in first.headers["cache-control"] and first.headers["x-frame-options"] == "DENY"
        # The dashboard page is public too: kept for its max-age.
        page = client.get("/")
        assert page.status_code == 200 and b"<html" in page.content.lower()
        fetches = fronted.edge.fetches
        client.get("/")
        assert fronted.edge.fetches == fetches


def test_a_write_through_the_edge_makes_the_next_read_ask_again(fronted: Fronted) -> None:
    with httpx.Client(base_url=fronted.url) as client:
        before = client.get("/api/v1/status").json()
        _publish(fronted.service.settings.mqtt, "st1", 7.25)
        wait_for(lambda: "st1" in fronted.service.store.latest_readings(), timeout_s=10)
        assert client.get("/api/v1/status").json() == before, "within refresh_s the kept answer is served"
        client.post("/api/v1/auth/login", json={"username": "nobody", "password": "wrong-password"})
        assert client.get("/api/v1/status").json() == before, "a refused write changed nothing: still kept"
        fronted.service.accounts.add_user("truc.ban", "a-long-enough-password-1", Role.OFFICER, time.time())
        signed = client.post("/api/v1/auth/login", json={"username": "truc.ban",
                                                         "password": "a-long-enough-password-1"})
        assert signed.status_code == 200
        after = client.get("/api/v1/status").json()
        assert after["stations"]["st1"]["level_m"] == pytest.approx(7.25)
        fetches = fronted.edge.fetches
        client.get("/api/v1/status")
        assert fronted.edge.fetches == fetches, "revalidated once, then kept again"


def test_the_service_sees_each_client_by_the_address_the_edge_names(fronted: Fronted) -> None:
    """The per-address request limit applies per resident behind the edge, not to the edge as one client."""
    with httpx.Client(base_url=fronted.url) as client:
        def login(address: str) -> int:
            return client.post("/api/v1/auth/login", json={"username": "x", "password": "wrong-password"},
                               headers={"X-Forwarded-For": address}).status_code
        codes = [login("10.1.1.1") for _ in range(5)]
        assert codes[-1] == 429, codes
        assert login("10.2.2.2") == 401, "another address has its own budget"


def test_uncacheable_answers_pass_through_each_time(fronted: Fronted) -> None:
    with httpx.Client(base_url=fronted.url) as client:
        fetches_before = fronted.edge.fetches
        for _ in range(3):
            ready = client.get("/readyz")
            assert ready.status_code == 200 and max_age_of(ready.headers.get("cache-control", "")) is None
        assert fronted.edge.fetches - fetches_before <= 1, "a known uncacheable answer goes straight through"
        assert client.get("/api/v1/auth/me", headers={"Authorization": "Bearer not-a-token"}).status_code == 401


def _read_until(stream: httpx.Response, marker: str) -> str:
    seen = ""
    for chunk in stream.iter_text():
        seen += chunk
        if marker in seen:
            return seen
    return seen


def test_the_live_stream_is_fanned_out_by_the_edge(fronted: Fronted) -> None:
    """However many residents watch, the service serves one stream: the edge's."""
    relay = fronted.edge.relays[""]
    wait_for(lambda: relay.connected and fronted.service.hub.clients == 1, timeout_s=10)
    with httpx.Client(base_url=fronted.url, timeout=10) as client:
        with client.stream("GET", "/api/v1/stream?types=reading") as one, \
                client.stream("GET", "/api/v1/stream") as two:
            assert one.status_code == 200 and one.headers["content-type"].startswith("text/event-stream")
            wait_for(lambda: relay.hub.clients == 2, timeout_s=5)
            _publish(fronted.service.settings.mqtt, "st2", 6.1)
            first = _read_until(one, "event: reading")
            assert '"station_id":"st2"' in first
            assert "event: reading" in _read_until(two, "event: reading")
            assert fronted.service.hub.clients == 1
            last_id = [line for line in first.splitlines() if line.startswith("id: ")][-1][4:]
        bad = client.get("/api/v1/stream?types=weather")
        assert bad.status_code == 400 and "weather" in bad.json()["detail"]
    wait_for(lambda: relay.hub.clients == 0, timeout_s=10, message=lambda: "a gone client's stream went on")
    # The service restarted (the edge missed events): the edge's clients are told to reload.
    with httpx.Client(base_url=fronted.url, timeout=10) as client:
        with client.stream("GET", "/api/v1/stream") as watching:
            wait_for(lambda: relay.hub.clients == 1, timeout_s=5)
            relay._take(edge_module.SseMessage(None, "reset", "{}"))
            assert watching.read() is not None  # the stream ends
        with client.stream("GET", "/api/v1/stream", headers={"Last-Event-ID": last_id}) as resumed:
            assert "event: reset" in _read_until(resumed, "event: reset")


async def _chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def test_event_stream_parsing() -> None:
    async def parse(*parts: bytes) -> list[edge_module.SseMessage]:
        return [m async for m in edge_module.sse_messages(_chunks(*parts))]
    got = asyncio.run(parse(b"retry: 3000\n\n: keep-alive\n\nid: 1-1\nevent: rea", b"ding\ndata: {\"a\":1}\n\n",
                            b"event: reset\ndata: {}\n\nid: 1-2\ndata: x\ndata: y\n\n"))
    assert got == [edge_module.SseMessage("1-1", "reading", '{"a":1}'), edge_module.SseMessage(None, "reset", "{}"),
                   edge_module.SseMessage("1-2", "message", "x\ny")]
    with pytest.raises(ValueError):
        asyncio.run(parse(b"data: " + b"x" * 2_000_000))


def test_when_the_service_does_not_answer(fronted: Fronted) -> None:
    with httpx.Client(base_url=fronted.url) as client:
        kept = client.get("/api/v1/status")
        fronted.service_server.should_exit = True
        wait_for(lambda: client.get("/readyz").status_code == 503, timeout_s=20)
        gone = client.get("/readyz")
        assert gone.headers["retry-after"] and gone.json()["status"] == 503
        fronted.edge.writes += 1  # due: revalidation fails, the kept answer is better than none
        assert client.get("/api/v1/status").content == kept.content


def test_bodies_beyond_the_limit_are_refused(fronted: Fronted, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(edge_module, "MAX_REQUEST_BYTES", 1000)
    with httpx.Client(base_url=fronted.url) as client:
        big = client.post("/api/v1/auth/login", content=b"x" * 5000, headers={"Content-Type": "application/json"})
        assert big.status_code == 413
        assert client.get("/api/v1/status").status_code == 200


def test_max_age_of() -> None:
    assert max_age_of("public, max-age=10") == 10
    assert max_age_of("public, max-age=5, stale-while-revalidate=30") == 5
    assert max_age_of("private, max-age=10") is None
    assert max_age_of("no-store") is None
    assert max_age_of("public") is None
    assert max_age_of("max-age=60") is None


def test_renewals_are_the_edges_own_and_a_refused_one_keeps_the_kept_answer(fronted: Fronted) -> None:
    """A client that spent its request budget cannot empty the cache for everyone by being the one whose read renews
    an answer; a browser's cookie does not make a read private."""
    edge = fronted.edge
    real = edge.clock
    with httpx.Client(base_url=fronted.url) as client:
        first = client.get("/static/common.js", headers={"X-Forwarded-For": "10.9.9.9"})
        assert first.status_code == 200 and "max-age=300" in first.headers["cache-control"]
        while client.post("/api/v1/auth/login", json={"username": "x", "password": "wrong-password"},
                          headers={"X-Forwarded-For": "10.9.9.9"}).status_code != 429:
            pass
        edge.clock = lambda: real() + 100
        aged = client.get("/static/common.js")
        assert aged.content == first.content and 100 <= int(aged.headers["age"]) <= 102
        edge.clock = lambda: real() + 301  # the kept file is due
        fetches = edge.fetches
        renewed = client.get("/static/common.js", headers={"X-Forwarded-For": "10.9.9.9"})
        assert renewed.status_code == 200 and renewed.content == first.content and "age" not in renewed.headers
        assert edge.fetches == fetches + 1
        with_cookie = client.get("/static/common.js", headers={"Cookie": "_ga=GA1.1.1"})
        assert with_cookie.content == first.content and edge.fetches == fetches + 1, "served as kept, not asked"
        ranged = client.get("/static/common.js", headers={"Range": "bytes=0-9"})
        assert ranged.content == first.content, "a kept answer is the whole file whatever Range the reader sent"
    edge.clock = real


def test_a_crowd_on_a_cold_answer_asks_the_service_once(fronted: Fronted) -> None:
    async def crowd() -> list[int]:
        async with httpx.AsyncClient(base_url=fronted.url) as client:
            answers = await asyncio.gather(*(client.get("/api/v1/stations.geojson") for _ in range(30)))
        return [a.status_code for a in answers]
    fetches = fronted.edge.fetches
    assert asyncio.run(crowd()) == [200] * 30
    assert fronted.edge.fetches == fetches + 1


def test_a_slow_upload_crowd_cannot_take_the_edges_memory(fronted: Fronted, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(edge_module, "MAX_BUFFERED_BYTES", 3000)
    host, port = fronted.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as raw:  # declared, never sent: refused at once
        raw.sendall(f"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {edge_module.MAX_REQUEST_BYTES + 1}\r\n\r\n".encode())
        assert raw.recv(4096).startswith(b"HTTP/1.1 413")
    with httpx.Client(base_url=fronted.url) as client:
        assert client.post("/api/v1/auth/login", content=b"x" * 5000).status_code == 503
        assert fronted.edge._buffered == 0


def test_the_relay_skips_what_is_not_json_and_forgets_the_id_a_reset_voided() -> None:
    relay = edge_module.StreamRelay(httpx.AsyncClient(), EventHub)
    relay._take(edge_module.SseMessage("b1-1", "reading", '{"station_id": "st1"}'))
    relay._take(edge_module.SseMessage("b1-2", "reading", "not json"))
    assert relay.hub.last_seq == 1 and relay._last_id == "b1-2", "skipped, and not asked for again"
    before = relay.hub
    relay._take(edge_module.SseMessage(None, "reset", "{}"))
    assert relay.hub is not before and relay._last_id is None


def test_no_silent_stream_while_the_edge_cannot_follow_the_service(fronted: Fronted) -> None:
    relay = fronted.edge.relays[""]
    wait_for(lambda: relay.connected, timeout_s=10)
    relay.connected = False  # as while the service's stream is down
    try:
        with httpx.Client(base_url=fronted.url) as client:
            refused = client.get("/api/v1/stream")
            assert refused.status_code == 503 and refused.headers["retry-after"]
    finally:
        relay.connected = True
