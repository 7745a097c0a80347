"""Sustained QoS 1 readings per second through the whole pipeline on PostgreSQL, as a ratio to the same pipeline on the
embedded SQLite store: same broker, same publisher, same readings, same run (#18).

PostgreSQL is a private server started here (Debian's `postgresql`, fsync off as in the tests: this measures the
round trips and the SQL, not the disk). The figure that matters for a province (the issue's 1,000 gauges at one
reading a minute: about 17 readings/s) is the headroom, printed too.

    .venv/bin/python bench/postgres_ingest.py [--n 10000]
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ingest_throughput import queue_readings, service_drain
from tests.support import make_settings, new_schema_url
from tichwatch.app.service import Service
from tichwatch.store.database import URL_ENV
from tichwatch.tools.broker import MosquittoProcess
from tichwatch.tools.postgres import PostgresProcess

PROVINCE_READINGS_PER_S = 1000 / 60  # 1,000 gauges, one reading a minute each
MIN_HEADROOM = 10  # what the benchmark asks: ten times a province's load on one node


def drain_on(tmp: Path, name: str, broker: MosquittoProcess, url: str | None, n: int) -> float:
    """Readings per second the service drains from its queued session with the store at `url` (None: SQLite)."""
    if url is None:
        os.environ.pop(URL_ENV, None)
    else:
        os.environ[URL_ENV] = url
    settings = make_settings(tmp / name, broker.port, limits={"max_age_s": 10 * 86400},
                             store={"batch_wait_s": 0.02})
    svc = Service(settings)  # register the persistent session, then queue the readings for it
    svc.start()
    svc.mqtt.connected.wait(10)
    svc.stop()
    svc.store.close()
    queue_readings(settings, n, time.time() - n - 10)
    return service_drain(settings, n)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10000)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-pg-"))
    broker = MosquittoProcess(tmp / "broker").start()
    server = PostgresProcess(tmp / "pg").start()
    try:
        sqlite = drain_on(tmp, "sqlite", broker, None, args.n)
        postgresql = drain_on(tmp, "postgresql", broker, new_schema_url(server.url), args.n)
    finally:
        server.stop()
        broker.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"readings: {args.n} per engine")
    print(f"SQLite (embedded): {sqlite:,.0f} readings/s")
    print(f"PostgreSQL (local server): {postgresql:,.0f} readings/s")
    print(f"ratio PostgreSQL / SQLite: {postgresql / sqlite:.2f}")
    headroom = postgresql / PROVINCE_READINGS_PER_S
    print(f"headroom over a province's {PROVINCE_READINGS_PER_S:.0f} readings/s on PostgreSQL: {headroom:,.0f}x")
    if headroom < MIN_HEADROOM:
        print(f"FAIL: PostgreSQL drained less than {MIN_HEADROOM}x a province's load")
        sys.exit(1)


if __name__ == "__main__":
    main()
