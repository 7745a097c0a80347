"""Reading-to-notification latency: from a gateway's publish to the webhook receiving the alert, p50 and p99, while
readings arrive at 10 % and 50 % of the ingest throughput measured in the same run (a quick drain as
bench/ingest_throughput.py does).

Within that load, probe readings (`--probes-per-s`, spread evenly) each raise an alert of their own (a bench detector
emits `bench.echo` and clears the previous probe's), so each measured message crosses the whole path: MQTT → decode →
commit with the detection, the alert change and its outbox row → delivery worker → HTTP webhook on localhost.

    .venv/bin/python bench/alert_latency.py [--seconds 10] [--probes-per-s 20] [--drain-n 5000] [--ingest-rate N]
"""
from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest_throughput import queue_readings, service_drain

from tests.alerts.servers import HttpRecorder, Recorded, Reply
from tests.support import make_settings
from tichwatch.app.service import Service
from tichwatch.config.schema import MqttSettings
from tichwatch.core.detection import Detection, Severity
from tichwatch.core.samples import Reading
from tichwatch.ingest.contract import Topics, encode_reading
from tichwatch.tools.broker import MosquittoProcess
from tichwatch.tools.publisher import GatewayPublisher

TOPICS = Topics()


class EchoDetector:
    """Raises one alert per probe reading (every `every`-th; subject `<station>-<seq>`) and clears the previous one."""

    def __init__(self, every: int) -> None:
        self.every = every
        self._previous: str | None = None

    def warm(self, history: Sequence[Reading]) -> None:
        """Nothing to learn."""

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
        out = [Detection("bench.echo", subject, r.ts, True, Severity.WARNING, r.level_m, "m", evidence={"seq": r.seq})]
        if self._previous is not None:
            out.append(Detection("bench.echo", self._previous, r.ts, False))
        self._previous = subject
        return out

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
            run: int) -> dict[str, float]:
    """Publish `rate` readings per second for `seconds`; return the probes' latency percentiles and what arrived."""
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
    settings = make_settings(tmp / f"data-{run}", broker.port, alerts=alerts, mqtt={"client_id": f"bench-lat-{run}"})
    svc = Service(settings)
    every = max(1, round(rate / probes_per_s))
    svc.pipeline.reading_detectors.append(EchoDetector(every))
    svc.start()
    svc.mqtt.connected.wait(10)
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
            results = [measure(tmp, broker, rate * share, args.seconds, args.probes_per_s, i)
                       for i, share in enumerate((0.1, 0.5))]
        finally:
            broker.stop()
    print(f"ingest throughput: {rate:,.0f} readings/s" + (" (given)" if args.ingest_rate else " (measured)"))
    for share, r in zip(("10 %", "50 %"), results):
        print(f"{share}: {r['rate']:,.0f} readings/s offered ({r['achieved_rate']:,.0f} published), "
              f"{r['received']}/{r['probes']} probe notifications received; "
              f"latency p50 {r['p50_ms']:,.1f} ms, p99 {r['p99_ms']:,.1f} ms")


if __name__ == "__main__":
    main()
