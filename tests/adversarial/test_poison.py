"""Poison from gateways against a real Mosquitto and `tichwatch run` in its own process.

Every good reading interleaved with poison is stored exactly once; every poison message is dead-lettered with a
documented reason; the service never halts, and a restart does not bring the poison back."""
from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.adversarial.running import ServiceProcess, stored_seqs
from tests.support import Recorder, jpeg, make_settings, wait_for
from tichwatch.ingest.contract import Topics, encode_reading
from tichwatch.tools.broker import MosquittoProcess, free_port
from tichwatch.tools.publisher import GatewayPublisher

pytestmark = pytest.mark.slow
TOPICS = Topics()
BIG = "7" * 400  # a JSON number of 400 digits
INTERNAL_REASONS = {"undecodable", "unprocessable"}  # the pipeline's safety net: a decoder gap, not a contract reason
MEMORY_BOUND_MB = 700
"""The service's stated peak memory under this attack (README, Operations): about 250 MB idle, plus at most 160 MiB
per frame worker (two) for the largest progressive frame the limits admit."""


def poison_readings(now: float) -> list[tuple[str, bytes]]:
    """(name, payload) of reading payloads that must each be dead-lettered, never stored, never block."""
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 60))
    return [
        ("year 1 at +14:00", b'{"ts":"0001-01-01T00:00:00+14:00","level_m":6}'),
        ("year 9999 at -14:00", b'{"ts":"9999-12-31T23:59:59-14:00","level_m":6}'),
        ("400-digit ts", f'{{"ts":{BIG},"level_m":6}}'.encode()),
        ("400-digit level", f'{{"ts":"{iso}","level_m":{BIG}}}'.encode()),
        ("400-digit battery", f'{{"ts":"{iso}","level_m":6,"battery_v":{BIG}}}'.encode()),
        ("seq 2^64", f'{{"ts":"{iso}","level_m":6,"seq":{2**64}}}'.encode()),
        ("1e400 level", f'{{"ts":"{iso}","level_m":1e400}}'.encode()),
        ("1e300 ts", b'{"ts":1e300,"level_m":6}'),
        ("SenML 400-digit v", f'[{{"n":"level","u":"m","t":{now - 60},"v":{BIG}}}]'.encode()),
        ("SenML 400-digit bt", f'[{{"bt":{BIG},"n":"level","u":"m","v":6}}]'.encode()),
        ("NaN", f'{{"ts":"{iso}","level_m":NaN}}'.encode()),
        ("deep nesting", b"[" * 100_000 + b"]" * 100_000),
        ("not UTF-8", b"\xff\xfe\x00garbage"),
        ("too large", b'{"pad":"' + b"x" * 300_000 + b'"}'),
        ("too many items", json.dumps([{"ts": now - 60, "level_m": 6}] * 6000).encode()),
    ]


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[tuple[ServiceProcess, MosquittoProcess, Path]]:
    broker = MosquittoProcess(tmp_path / "broker").start()
    data = tmp_path / "data"
    svc = ServiceProcess(tmp_path, make_settings(data, broker.port, http={"port": free_port()})).start()
    yield svc, broker, data
    code = svc.stop()
    broker.stop()
    assert code in (0, -15), svc.tail()


def test_poison_never_blocks_good_readings_and_each_is_dead_lettered(
        rig: tuple[ServiceProcess, MosquittoProcess, Path]) -> None:
    svc, broker, data = rig
    now = time.time()
    letters = Recorder(broker.port, "tich/v1/deadletter/#")
    gateway = GatewayPublisher(svc.settings.mqtt, "poison-gateway").connect()
    try:
        # The case found: 1,000 copies of one poison reading on one station, then 100 good ones on another.
        first = poison_readings(now)[0][1]
        for _ in range(1000):
            gateway.publish(TOPICS.reading("st1"), first)
        for seq in range(100):
            gateway.publish(TOPICS.reading("st2"), encode_reading(now - 3000 + seq, 4.0, seq=seq))
        # Every kind of poison, 10 times each, interleaved with good readings on both stations.
        expected_letters = 1000
        seq = 100
        for _ in range(10):
            for _, payload in poison_readings(now):
                gateway.publish(TOPICS.reading("st1" if seq % 2 else "st2"), payload)
                expected_letters += 1
                gateway.publish(TOPICS.reading("st1" if seq % 2 else "st2"),
                                encode_reading(now - 3000 + seq, 4.0, seq=seq))
                seq += 1
        frame_ts = {"ts": "0001-01-01T00:00:00+14:00"}
        gateway.publish(TOPICS.frame("cam1"), jpeg(64, 48), user_properties=frame_ts)
        gateway.publish(TOPICS.frame("cam1"), b"not a jpeg at all")
        gateway.publish(TOPICS.reading("no-such-station"), encode_reading(now, 4.0))
        expected_letters += 3
        for width, height in ((1, 4096), (4, 4096), (16, 4096), (4096, 1)):  # tall and flat strips: memory bombs once
            gateway.publish(TOPICS.frame("cam1"), jpeg(width, height))
            expected_letters += 1
        ok, big = cv2.imencode(".jpg", np.random.default_rng(1).integers(0, 255, (4096, 4096, 3), np.uint8),
                               [cv2.IMWRITE_JPEG_PROGRESSIVE, 1, cv2.IMWRITE_JPEG_QUALITY, 30])
        assert ok and len(big) < svc.settings.limits.max_frame_bytes
        for _ in range(3):  # the largest frame the limits admit, progressive: the worst legitimate decode
            gateway.publish(TOPICS.frame("cam1"), big.tobytes())
        last = gateway.publish(TOPICS.reading("st2"), encode_reading(now - 1, 4.0, seq=seq), wait=True)
        assert last.is_published()
        good = seq + 1

        wait_for(lambda: sum(len(v) for v in stored_seqs(data).values()) >= good, timeout_s=120,
                 message=lambda: f"stored {sum(len(v) for v in stored_seqs(data).values())} of {good}\n{svc.tail()}")
        seqs = stored_seqs(data)
        assert sorted(seqs.get("st1", []) + seqs.get("st2", [])) == list(range(good))  # all, each once
        wait_for(lambda: len(letters.json()) >= expected_letters, timeout_s=60,
                 message=lambda: f"{len(letters.json())} dead letters of {expected_letters}")
        reasons = {d["reason"] for d in letters.json()}
        assert not reasons & INTERNAL_REASONS, f"decoder gaps: {reasons & INTERNAL_REASONS}"
        by_payload = {d.get("payload"): d["reason"] for d in letters.json() if d.get("payload")}
        assert by_payload[first.decode()] in {"bad_timestamp", "too_old"}
        assert any(d["reason"] == "too_large" for d in letters.json())
        assert any(d["reason"] == "too_many_items" for d in letters.json())
        strips = [d["reason"] for d in letters.json() if d["topic"].endswith("/camera/cam1/frame")]
        assert strips.count("dimensions_too_small") + strips.count("aspect_ratio_too_large") == 4, strips
        assert any(d["reason"] in {"bad_timestamp", "too_old"} and d["topic"].endswith("/camera/cam1/frame")
                   for d in letters.json()), [d for d in letters.json() if "camera" in d["topic"]]
        assert svc.get("/readyz")[0] == 200
        wait_for(lambda: svc.metric("tichwatch_frames_processed_total", 'camera="cam1"') >= 1, timeout_s=120,
                 message=lambda: "the large frames were never judged")
        assert svc.peak_rss_mb() < MEMORY_BOUND_MB

        # A restart finds nothing stuck: nothing is redelivered, nothing new is stored or dead-lettered.
        count = len(letters.json())
        svc.stop()
        svc.start()
        gateway.publish(TOPICS.reading("st1"), encode_reading(now, 4.0, seq=good), wait=True)
        wait_for(lambda: good in stored_seqs(data).get("st1", []), timeout_s=30)
        assert len(letters.json()) == count
        assert svc.get("/readyz")[0] == 200
    finally:
        gateway.close()
        letters.close()
