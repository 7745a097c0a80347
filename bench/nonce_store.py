"""Cost of keeping gateway nonces on disk, per signed message, as a ratio to the same verifier with its nonces in
memory.

Run: .venv/bin/python bench/nonce_store.py [N]

Both verifiers check N (default 20,000) signed readings exactly as the MQTT network thread does (HMAC, clock checks,
nonce lookup and insert); the file one is the data directory's gateway-nonces.sqlite3 (WAL, synchronous=NORMAL),
first filled with 100,000 older nonces (a week of a busy site). Each figure is the best of a few interleaved rounds.
"""
from __future__ import annotations

import math
import sys
import tempfile
import time
from pathlib import Path

import yaml

from tichwatch.config.loader import DEFAULT_CONFIG, parse_settings
from tichwatch.config.schema import Settings
from tichwatch.ingest.contract import Topics, encode_reading
from tichwatch.ingest.gateway_auth import GatewayVerifier, sign
from tichwatch.ingest.gateway_auth_nonces import NONCE_DB, NonceStore

ROUNDS = 3
STATION = "tich-kimquan"
KEY = b"bench-key-0123456789abcdef0123456789"
PREFILL = 100_000
NOW = 1_790_000_000.0


def _messages(n: int) -> list[tuple[str, bytes, dict[str, str]]]:
    topic = Topics().reading(STATION)
    out = []
    for i in range(n):
        payload = encode_reading(NOW - n + i, 5.0, seq=i)
        out.append((topic, payload, sign(topic, payload, KEY, NOW - n + i)))
    return out


def _settings(data_dir: Path) -> Settings:
    raw = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    raw["store"] = {"data_dir": str(data_dir)}
    raw["gateway_auth"] = {"replay_cache_max": 10 * PREFILL, "gateways": [
        {"username": "gw-a", "stations": [STATION], "key_env": "K"}]}
    return parse_settings(raw, "<bench>", env={})


def _time(verifier: GatewayVerifier, messages: list[tuple[str, bytes, dict[str, str]]]) -> float:
    start = time.perf_counter()
    for topic, payload, props in messages:
        if verifier.verify(topic, payload, props, NOW) is not None:
            raise AssertionError("a bench message was refused")
    return time.perf_counter() - start


def _round(messages: list[tuple[str, bytes, dict[str, str]]]) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = _settings(Path(tmp))
        auth = settings.gateway_auth
        memory = GatewayVerifier(settings, {"gw-a": KEY})
        store = NonceStore(Path(tmp) / NONCE_DB, auth.signature_max_age_s, auth.replay_cache_max)
        for i in range(PREFILL):
            store.check_and_add(f"gw-a/old{i}", NOW - 86400 + i * 0.5, "s", NOW, False)
        disk = GatewayVerifier(settings, {"gw-a": KEY}, store)
        memory_s, disk_s = _time(memory, messages), _time(disk, messages)
        memory.close()
        disk.close()
    return memory_s, disk_s


MAX_RATIO = 6.0
"""Verifying with the nonces on disk, as a multiple of in memory (measured 3.0-3.2)."""


def main() -> int:
    """Measure and print the cost per message and the ratio; 1 when the disk costs more than MAX_RATIO times."""
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    messages = _messages(n)
    memory_s = disk_s = math.inf
    for _ in range(ROUNDS):
        m, d = _round(messages)
        memory_s, disk_s = min(memory_s, m), min(disk_s, d)
    us = 1e6 / n
    print(f"signed messages: {n}; nonces already on disk: {PREFILL}")
    print(f"verify, nonces in memory (:memory:):  {memory_s * us:8.1f} us/message")
    print(f"verify, nonces in the data directory: {disk_s * us:8.1f} us/message")
    ratio = disk_s / memory_s
    print(f"ratio disk / memory:                  {ratio:8.2f} (target ≤ {MAX_RATIO})")
    if ratio > MAX_RATIO:
        print(f"FAIL: persisted nonces cost {ratio:.1f} times the in-memory check")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
