"""Ingest during a large first prune: the longest wait of a reading's commit while retention deletes `--n` old
readings, chunked (store.retention_chunk_rows, the worker's pause between chunks) against the same delete in one
transaction (`DELETE FROM readings WHERE ts < ?`, as Store.prune did before), in the same run on the same machine.

A writer thread commits one reading every 10 ms (the pipeline's pace at a few stations) and records how long each
commit took, lock wait included.

    .venv/bin/python bench/retention_prune.py [--n 1000000] [--keep 1000000] [--chunk 5000] [--pause-s 0.05]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tichwatch.app.schema import open_store
from tichwatch.config.schema import StoreSettings
from tichwatch.config.subscriptions import SubscriptionSettings
from tichwatch.core.samples import Reading
from tichwatch.store.retention_policy import DAY_S, Tally, retention_plan
from tichwatch.store.store import Store

NOW = time.time()
STATIONS = ("st1", "st2", "st3", "st4")


def _fill(store: Store, n: int, keep: int) -> None:
    """`n` readings older than the retention and `keep` younger ones, spread over the stations."""
    old, young = NOW - 400 * DAY_S, NOW - 300 * DAY_S
    with store.transaction() as conn:
        conn.executemany("INSERT INTO readings (station_id, ts, level_m) VALUES (?, ?, 1.0)",
                         ((STATIONS[i % len(STATIONS)], old + i) for i in range(n)))
        conn.executemany("INSERT INTO readings (station_id, ts, level_m) VALUES (?, ?, 1.0)",
                         ((STATIONS[i % len(STATIONS)], young + i) for i in range(keep)))


def _one_transaction(store: Store, before_ts: float) -> None:
    """The baseline: every old reading in one DELETE."""
    with store.transaction() as conn:
        conn.execute("DELETE FROM readings WHERE ts < ?", (before_ts,))


def _measure(n: int, keep: int, chunk_rows: int | None, pause_s: float) -> tuple[float, list[float]]:
    """Prune time and the commit times of the concurrent writer, seconds (chunk_rows None: the baseline)."""
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(Path(tmp))
        _fill(store, n, keep)
        plan = retention_plan(StoreSettings(readings_retention_days=365), SubscriptionSettings(), NOW, ())
        waits: list[float] = []
        done = threading.Event()

        def writer() -> None:
            i = 0
            while not done.is_set():
                t0 = time.perf_counter()
                store.append_readings([Reading("live", NOW + i, 1.0)])
                waits.append(time.perf_counter() - t0)
                i += 1
                time.sleep(0.01)

        w = threading.Thread(target=writer)
        w.start()
        time.sleep(0.2)
        t0 = time.perf_counter()
        if chunk_rows is None:
            _one_transaction(store, plan.readings_before_ts)
        else:
            store.prune("readings", plan, Tally(), chunk_rows, lambda: time.sleep(pause_s))
        took = time.perf_counter() - t0
        done.set()
        w.join()
        assert store.count_readings() == keep + len(waits)  # every old reading gone, every other one kept
        store.close()
        return took, waits


def _p99(values: list[float]) -> float:
    """The 99th percentile."""
    return sorted(values)[min(len(values) - 1, int(len(values) * 0.99))]


MAX_WAIT_RATIO = 0.5
"""The chunked prune's longest commit wait of a reading, as a share of one transaction's (measured about 0.13)."""


def main() -> int:
    """Run both and print the ratios; 1 when chunking did not cut the longest wait to MAX_WAIT_RATIO."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--keep", type=int, default=1_000_000, help="younger readings that stay")
    ap.add_argument("--chunk", type=int, default=5000)
    ap.add_argument("--pause-s", type=float, default=0.05)
    args = ap.parse_args()
    one_took, one_waits = _measure(args.n, args.keep, None, 0.0)
    chunk_took, chunk_waits = _measure(args.n, args.keep, args.chunk, args.pause_s)
    for name, took, waits in (("one transaction", one_took, one_waits), ("chunked", chunk_took, chunk_waits)):
        print(f"{name:16} prune {took:6.2f} s   writer commits {len(waits):5}   "
              f"max wait {max(waits) * 1000:7.1f} ms   p99 {_p99(waits) * 1000:7.1f} ms   "
              f"median {statistics.median(waits) * 1000:5.2f} ms")
    ratio = max(chunk_waits) / max(one_waits)
    print(f"ratio chunked / one transaction: longest commit wait {ratio:.3f} (target ≤ {MAX_WAIT_RATIO}), "
          f"prune time {chunk_took / one_took:.2f}")
    if ratio > MAX_WAIT_RATIO:
        print(f"FAIL: the chunked prune held a reading's commit {ratio:.2f} as long as one transaction did")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
