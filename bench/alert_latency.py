"""Reading-to-notification latency: from a gateway's publish to the webhook receiving the alert, p50 and p99, while
readings arrive at 10 % and 50 % of the ingest throughput measured in the same run (a quick drain as
bench/ingest_throughput.py does).

Within that load, probe readings (`--probes-per-s`, spread evenly) each raise an alert of their own (a bench detector
emits `bench.echo`, left open), so each measured message crosses the whole path: MQTT → decode →
commit with the detection, the alert change and its outbox row → delivery worker → HTTP webhook on localhost.

    .venv/bin/python bench/alert_latency.py [--seconds 10] [--probes-per-s 20] [--drain-n 5000] [--ingest-rate N]
        [--with-readers]

Fails (exit 1) when a probe's notification is missing or p99 at 50 % exceeds 100 ms.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest_throughput import queue_readings, service_drain
from public_reads import WRK_SCRIPT, serve

from tests.alerts.servers import HttpRecorder, Recorded, Reply
from tests.support import make_settings
from tichwatch.api.app import create_app
from tichwatch.app.service import Service
from tichwatch.config.schema import MqttSettings
from tichwatch.core.detection import Detection, Severity
from tichwatch.core.samples import Reading
from tichwatch.ingest.contract import Topics, encode_reading
from tichwatch.tools.broker import MosquittoProcess, free_port
from tichwatch.tools.publisher import GatewayPublisher

TOPICS = Topics()


class EchoDetector:
    """Raises one alert per probe reading (every `every`-th; subject `<station>-<seq>`), left open."""

    def __init__(self, every: int) -> None:
        self.every = every
        self._previous: str | None = None

    def warm(self, history: Sequence[Reading]) -> None:
        """Nothing to learn."""

    def holds(self, kind: str, subject: str, now: float) -> bool | None:
        """A probe's alert is left open: it cannot tell."""
        return None

    def checkpoint(self, station_ids: object = None) -> object:
        """The only state: the alert raised last."""
        return self._previous

    def restore(self, checkpoint: object) -> None:
        """Put back the alert raised last."""
        self._previous = checkpoint  # type: ignore[assignment]

    def update(self, r: Reading) -> list[Detection]:
        """One alert per probe reading."""
        if r.seq is None or r.seq % self.every:
            return []
        subject = f"{r.station_id}-{r.seq}"
        # Each probe's alert stays open: one cleared by the next probe in the same batch would be recorded without
        # paging anybody (an alert opened and resolved within one batch is not notified), which is no latency.
        self._previous = subject
        return [Detection("bench.echo", subject, r.ts, True, Severity.WARNING, r.level_m, "m",
                          evidence={"seq": r.seq})]

    def tick(self, now: float) -> list[Detection]:
        """Nothing time-driven."""
        return []


def publish_load(mqtt: MqttSettings, rate: float, seconds: float, every: int, client_id: str,
                 out: multiprocessing.Queue[tuple[dict[int, float], float]]) -> None:
    """Publish `rate` readings per second for `seconds` (in a process of its own); report the probes' send times and
    the rate achieved."""
    pub = GatewayPublisher(mqtt, client_id).connect()
    sent: dict[int, float] = {}
    n = int(rate * seconds)
    start = time.time()
    for i in range(n):
        delay = start + i / rate - time.time()
        if delay > 0:
            time.sleep(delay)
        now = time.time()
        if i % every == 0:
            sent[i] = now
        pub.publish(TOPICS.reading("st1"), encode_reading(now, 5.0, seq=i))
    achieved = n / max(1e-9, time.time() - start)
    pub.close()
    out.put((sent, achieved))


def measure(tmp: Path, broker: MosquittoProcess, rate: float, seconds: float, probes_per_s: float,
            run: int, readers: bool = False, no_edge: bool = False) -> dict[str, float]:
    """Publish `rate` readings per second for `seconds`; return the probes' latency percentiles and what arrived.
    With `readers`, the service also serves HTTP while wrk's crowd (bench/public_reads.py: 1,000 connections offering
    1,000 requests/s of /api/v1/status) reads it the whole time."""
    received: dict[int, float] = {}
    lock = threading.Lock()

    def on_hook(req: Recorded) -> Reply:
        now = time.time()
        with lock:
            received[int(req.json()["alert"]["evidence"]["seq"])] = now
        return 200, {}, {}

    hook = HttpRecorder(on_hook).start()
    alerts = {"receivers": [{"name": "hook", "channel": {"type": "webhook", "url": f"{hook.url}/hook"},
                             "notify_on": ["firing"]}],
              "routes": [{"match": {"kinds": ["bench."]}, "receivers": ["hook"]}], "resolve_hold_s": 0,
              "delivery": {"rate_limits": {"webhook_per_min": 10_000_000}}}
    settings = make_settings(tmp / f"data-{run}", broker.port, alerts=alerts, mqtt={"client_id": f"bench-lat-{run}"},
                             http={"snapshot_refresh_s": 1.0})  # the deployment's refresh, not the tests' 0
    svc = Service(settings)
    every = max(1, round(rate / probes_per_s))
    svc.pipeline.reading_detectors.append(EchoDetector(every))
    svc.start()
    svc.mqtt.connected.wait(10)
    crowd: subprocess.Popen[bytes] | None = None
    server = None
    if readers:
        port = free_port()
        server = serve(create_app(svc, manage_lifecycle=False), port, 1000, None if no_edge else svc.settings.http)
        script = tmp / "crowd.lua"
        script.write_text(WRK_SCRIPT)
        crowd = subprocess.Popen(["wrk", "-t2", "-c1000", f"-d{int(seconds) + 5}s", "--timeout", "10s", "-s",
                                  str(script), f"http://127.0.0.1:{port}/api/v1/status"],
                                 env={**os.environ, "TW_PAUSE_MS": "950"}, stdout=subprocess.DEVNULL)
        time.sleep(2)
    ctx = multiprocessing.get_context("spawn")
    out: multiprocessing.Queue = ctx.Queue()
    publisher = ctx.Process(target=publish_load, args=(settings.mqtt, rate, seconds, every, f"bench-lat-gw-{run}", out))
    try:
        publisher.start()  # its own process: the publisher must not take the service's CPU (GIL)
        sent, achieved = out.get(timeout=seconds + 120)
        publisher.join()
        deadline = time.time() + 60
        while len(received) < len(sent) and time.time() < deadline:
            time.sleep(0.05)
    finally:
        if crowd is not None:
            crowd.wait(timeout=seconds + 60)
        if server is not None:
            server.stop()
        svc.stop()
        hook.stop()
    latencies = sorted(received[i] - sent[i] for i in received if i in sent)
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [float("nan")] * 99
    return {"rate": rate, "probes": len(sent), "received": len(latencies), "p50_ms": q[49] * 1000,
            "p99_ms": q[98] * 1000, "achieved_rate": achieved}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10.0, help="publishing time per load level")
    ap.add_argument("--probes-per-s", type=float, default=20.0, help="readings per second that raise an alert")
    ap.add_argument("--drain-n", type=int, default=5000, help="readings of the quick throughput drain")
    ap.add_argument("--ingest-rate", type=float, default=None, help="skip the drain and use this readings/s")
    ap.add_argument("--with-readers", action="store_true", help="also measure at 50 %% while wrk's crowd reads the "
                    "public status (bench/public_reads.py's load: 1,000 connections, 1,000 requests/s)")
    ap.add_argument("--no-edge", action="store_true", help="with --with-readers: the crowd reads the service's own "
                    "process (no public edge process in front), as with http.edge_process: false")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        broker = MosquittoProcess(tmp / "broker").start()
        try:
            rate = args.ingest_rate
            if rate is None:
                settings = make_settings(tmp / "drain", broker.port, limits={"max_age_s": 10 * 86400},
                                         store={"batch_wait_s": 0.02})
                svc = Service(settings)  # register the persistent session, then queue readings for it
                svc.start()
                svc.mqtt.connected.wait(10)
                svc.stop()
                queue_readings(settings, args.drain_n, time.time() - args.drain_n - 10)
                rate = service_drain(settings, args.drain_n)
            levels = [("10 %", 0.1, False), ("50 %", 0.5, False)]
            if args.with_readers:
                levels.append(("50 % with the public crowd reading", 0.5, True))
            results = [measure(tmp, broker, rate * share, args.seconds, args.probes_per_s, i, readers, args.no_edge)
                       for i, (_, share, readers) in enumerate(levels)]
        finally:
            broker.stop()
    print(f"ingest throughput: {rate:,.0f} readings/s" + (" (given)" if args.ingest_rate else " (measured)"))
    failures = []
    for (name, share, _), r in zip(levels, results):
        print(f"{name}: {r['rate']:,.0f} readings/s offered ({r['achieved_rate']:,.0f} published), "
              f"{r['received']}/{r['probes']} probe notifications received; "
              f"latency p50 {r['p50_ms']:,.1f} ms, p99 {r['p99_ms']:,.1f} ms")
        if r["received"] < r["probes"]:
            failures.append(f"{name}: {r['probes'] - r['received']} notifications missing (measured less than asked)")
        if share == 0.5 and not r["p99_ms"] <= 100:
            failures.append(f"{name}: p99 {r['p99_ms']:,.1f} ms > 100 ms")
    for failure in failures:
        print("FAIL:", failure)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
