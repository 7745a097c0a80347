"""Latency of a 30-day chart at one-minute resolution downsampled to 500 points, through the HTTP API (real uvicorn),
as a ratio to a bare SQLite query that fetches the same rows in the same run.

    .venv/bin/python bench/chart_query.py [--repeat 30]
"""
from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support import make_settings, wait_for
from tichwatch.api.app import create_app
from tichwatch.app.service import Service
from tichwatch.core.samples import Reading
from tichwatch.store.store import DB_NAME
from tichwatch.tools.broker import free_port

DAYS = 30


def timed(fn, repeat: int) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=30)
    args = ap.parse_args()
    end = time.time()
    start = end - DAYS * 86400
    with tempfile.TemporaryDirectory() as tmp:
        svc = Service(make_settings(Path(tmp) / "data"))
        svc.store.append_readings([Reading("st1", start + 60 * i, 5 + (i % 1440) / 1440) for i in range(DAYS * 1440)])
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(create_app(svc, manage_lifecycle=False), host="127.0.0.1", port=port,
                                               log_config=None))
        threading.Thread(target=server.run, daemon=True).start()
        wait_for(lambda: server.started, timeout_s=15)
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}")
        params = {"start": start, "end": end, "points": 500}

        def api() -> None:
            r = client.get("/api/v1/stations/st1/readings", params=params)
            assert r.status_code == 200 and 490 <= len(r.json()["buckets"]) <= 501

        conn = sqlite3.connect(Path(tmp) / "data" / DB_NAME)

        def bare() -> None:
            rows = conn.execute("SELECT ts, level_m FROM readings WHERE station_id = ? AND ts >= ? AND ts < ?",
                                ("st1", start, end)).fetchall()
            assert len(rows) >= DAYS * 1440 - 1

        api(), bare()  # warm caches
        api_t = statistics.median(timed(api, args.repeat))
        bare_t = statistics.median(timed(bare, args.repeat))
        server.should_exit = True
    print(f"rows in range: {DAYS * 1440}")
    print(f"bare SQLite fetch of the rows: {bare_t * 1000:.1f} ms (median of {args.repeat})")
    print(f"API chart query, 500 min/mean/max points over HTTP: {api_t * 1000:.1f} ms (median of {args.repeat})")
    print(f"ratio API / bare: {api_t / bare_t:.2f}")


if __name__ == "__main__":
    main()
