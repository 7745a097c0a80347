"""The night of the flood, small and bounded (#17): `tichwatch run` as deployed (the public edge in front) while a
crowd reads the status — a third of it from one carrier-grade NAT address — live-stream clients watch and a gateway
drains its backlog. Checked qualitatively, so that a regression fails CI (the figures are in bench/): no cacheable
read refused, the crowded address's included; every reading reaches every stream client; ingest keeps up; the
alert raised in the middle of it reaches its receiver."""
from __future__ import annotations

import asyncio
import random
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from tests.adversarial.running import ServiceProcess
from tests.alerts.servers import HttpRecorder, Recorded, Reply
from tests.support import make_settings, stored_rows, wait_for
from tichwatch.ingest.contract import Topics, encode_reading
from tichwatch.tools.broker import MosquittoProcess, free_port
from tichwatch.tools.publisher import GatewayPublisher

pytestmark = pytest.mark.slow

READINGS = 600
"""Readings the gateway drains (both stations), at RATE a second."""
RATE = 100.0
READERS = 120
"""Connections of the crowd (each reads in a loop, no pause)."""
WATCHERS = 40
"""Live-stream clients."""
CROWDED = "100.64.0.1"


def _drain(settings_mqtt: object, start_ts: float, sent: list[float], crossing: dict[str, float]) -> None:
    """st1 flat, st2 rising through BĐ I (6.5 m) near the end; `sent` gets each publish time."""
    pub = GatewayPublisher(settings_mqtt, "night-gw").connect()  # type: ignore[arg-type]
    topics = Topics()
    began = time.monotonic()
    try:
        for i in range(READINGS):
            while time.monotonic() - began < i / RATE:
                time.sleep(0.002)
            station, k = ("st1", i // 2) if i % 2 == 0 else ("st2", i // 2)
            level = 5.0 if station == "st1" else 5.0 + 1.9 * k / (READINGS // 2 - 1)
            pub.publish(topics.reading(station), encode_reading(start_ts + k * 60.0, round(level, 3)))
            if station == "st2" and level >= 6.5 and "at" not in crossing:
                crossing["at"] = time.time()
            sent.append(time.time())
    finally:
        pub.close()


async def _crowd(url: str, seconds: float) -> Counter[int]:
    codes: Counter[int] = Counter()
    limits = httpx.Limits(max_connections=READERS, max_keepalive_connections=READERS)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        async def resident(n: int) -> None:
            address = CROWDED if n % 3 == 0 else f"10.{n % 250}.{random.randint(0, 255)}.{random.randint(1, 254)}"
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                answer = await client.get("/api/v1/status", headers={"X-Forwarded-For": address,
                                                                      "Accept-Encoding": "gzip"})
                codes[answer.status_code] += 1
        await asyncio.gather(*(resident(n) for n in range(READERS)))
    return codes


async def _watch(port: int, ready: threading.Semaphore, stop: threading.Event) -> list[int]:
    async def one() -> int:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /api/v1/stream?types=reading HTTP/1.1\r\nHost: x\r\n\r\n")
        await writer.drain()
        buf = b""
        while b"retry:" not in buf:
            buf += await reader.read(65536)
        ready.release()
        seen = 0
        while not stop.is_set():
            try:
                chunk = await asyncio.wait_for(reader.read(65536), 0.5)
            except TimeoutError:
                continue
            if not chunk:
                break
            buf += chunk
            cut = buf.rfind(b"\n\n")
            if cut >= 0:
                seen += buf[:cut].count(b"event: reading")
                buf = buf[cut + 2:]
        writer.close()
        return seen
    return list(await asyncio.gather(*(one() for _ in range(WATCHERS))))


def test_a_crowd_watchers_and_a_draining_gateway_at_once(tmp_path: Path) -> None:
    arrivals: list[float] = []

    def on_hook(_request: Recorded) -> Reply:
        arrivals.append(time.time())
        return 200, {}, {}
    hook = HttpRecorder(on_hook).start()
    broker = MosquittoProcess(tmp_path / "broker").start()
    alerts = {"receivers": [{"name": "hook", "channel": {"type": "webhook", "url": f"{hook.url}/hook"},
                             "notify_on": ["firing"]}],
              "routes": [{"match": {"kinds": ["flood.level"]}, "receivers": ["hook"]}]}
    settings = make_settings(tmp_path / "data", broker.port, alerts=alerts, limits={"max_age_s": 10 * 86400},
                             http={"port": free_port(), "snapshot_refresh_s": 1.0})
    svc = ServiceProcess(tmp_path, settings).start()
    try:
        port = settings.http.port
        ready, stop = threading.Semaphore(0), threading.Event()
        watched: list[list[int]] = []
        watchers = threading.Thread(target=lambda: watched.append(asyncio.run(_watch(port, ready, stop))))
        watchers.start()
        for _ in range(WATCHERS):
            assert ready.acquire(timeout=30), "a live-stream client was not served"
        sent: list[float] = []
        crossing: dict[str, float] = {}
        gateway = threading.Thread(target=_drain, args=(settings.mqtt, time.time() - 2 * 86400, sent, crossing))
        gateway.start()
        codes = asyncio.run(_crowd(svc.url, READINGS / RATE + 1))
        gateway.join(30)
        assert len(sent) == READINGS
        wait_for(lambda: stored_rows(tmp_path / "data", "readings") == READINGS, timeout_s=10,
                 message=lambda: f"ingest fell behind: {stored_rows(tmp_path / 'data', 'readings')} of {READINGS}")
        time.sleep(2)  # the stream's last batch
        stop.set()
        watchers.join(30)
        wait_for(lambda: arrivals, timeout_s=10, message=lambda: "the BĐ I alert never reached its receiver")
    finally:
        svc.stop()
        broker.stop()
        hook.stop()
    assert set(codes) <= {200, 304}, f"cacheable reads refused: {codes}"
    assert sum(codes.values()) >= READERS, codes
    assert watched and watched[0] == [READINGS] * WATCHERS, f"events lost: {Counter(watched[0] if watched else [])}"
    assert arrivals[0] - crossing["at"] < 5, "the alert waited behind the crowd"
