"""Several nodes on one PostgreSQL database under a province's load (#18): reading-to-notification latency, readings
per second drained, and failover, with 1, 2 and 3 nodes in the same run (ratios to one node).

Load: `--gauges` gauges reporting once a minute and `--cameras` cameras sending a frame a minute (the issue's
province: 1,000 and 500), from a publisher process of its own. Each node is `tichwatch run` in a process of its own
(as deployed), all on one private PostgreSQL server (fsync off, as in the tests) and one Mosquitto broker, all on
this machine's cores: n nodes share the CPU that one node had.

For each node count:
- latency: for `--seconds` of province load, one probe a second — a probe gauge (its alarm levels just above its
  quiet level) crosses BĐ I; from the publish to the webhook receiving `firing`;
- throughput: a burst of `--burst` readings published as fast as the broker takes them; readings per second until
  the database holds every one;
- failover (2 and 3 nodes): member 0 SIGKILLed under load and at once `--failover-probes` crossings on probe gauges
  (about 1/n of them the dead node's); from the kill to each notification.

    .venv/bin/python bench/cluster_nodes.py [--gauges 1000] [--cameras 500] [--seconds 20] [--burst 5000]

Fails (exit 1) when a probe's notification is missing or readings are missing (it measured less than asked).
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg

from tests.adversarial.running import ServiceProcess
from tests.alerts.servers import HttpRecorder, Recorded, Reply
from tests.support import STATION, jpeg, make_settings, new_schema_url, wait_for
from tichwatch.config.schema import MqttSettings, Settings
from tichwatch.ingest.contract import Topics, encode_reading
from tichwatch.store.database import URL_ENV
from tichwatch.tools.broker import MosquittoProcess, free_port
from tichwatch.tools.postgres import PostgresProcess
from tichwatch.tools.publisher import GatewayPublisher

TOPICS = Topics()
PROBE_ALARM = {"bd1_m": 5.05, "bd2_m": 5.5, "bd3_m": 6.0, "record_m": 6.5}
QUIET_M, CROSSING_M = 5.0, 5.1


def _settings(name: str, tmp: Path, broker_port: int, hook_url: str, gauges: int, cameras: int,
              probes: int) -> Settings:
    stations = [{**STATION, "id": f"g{i:04d}", "name": f"Trạm {i}", "expected_interval_s": 60} for i in range(gauges)]
    stations += [{**STATION, "id": f"p{i:04d}", "name": f"Thăm dò {i}", "alarm": PROBE_ALARM,
                  "expected_interval_s": 3600} for i in range(probes)]
    return make_settings(
        tmp / name / "data", broker_port,  # a client id of its own per run: no session of an earlier run
        mqtt={"client_id": f"bench-node-{name}", "keepalive_s": 5},
        stations=stations,
        cameras=[{"id": f"c{i:04d}", "site": f"Công trường {i}", "lat": 21.0, "lon": 105.6, "expected_interval_s": 60}
                 for i in range(cameras)],
        http={"port": free_port()},
        limits={"max_age_s": 10 * 86400},
        alerts={"receivers": [{"name": "hook", "channel": {"type": "webhook", "url": f"{hook_url}/hook"},
                               "notify_on": ["firing"]}],
                "routes": [{"match": {"kinds": ["flood.level"]}, "receivers": ["hook"]}], "resolve_hold_s": 0,
                "delivery": {"poll_interval_s": 0.2, "rate_limits": {"webhook_per_min": 10_000_000}}},
    )


def publish_load(mqtt: MqttSettings, gauges: int, cameras: int, seconds: float, probes: list[str],
                 out: multiprocessing.Queue[tuple[dict[str, float], int]]) -> None:
    """A province's gateways and cameras for `seconds` (each gauge and camera once a minute, spread evenly) and, at
    the start of each second, the next probe's crossing; report the probes' send times and the readings sent."""
    pub = GatewayPublisher(mqtt, f"bench-load-{os.getpid()}").connect()
    frame = jpeg(320, 180)
    per_s = (gauges + cameras) / 60
    sent: dict[str, float] = {}
    readings = 0
    start = time.time()
    i = 0
    while time.time() - start < seconds:
        due = start + i / per_s
        if len(sent) < len(probes) and time.time() - start >= len(sent):
            now = time.time()
            pub.publish(TOPICS.reading(probes[len(sent)]), encode_reading(now, CROSSING_M))
            sent[probes[len(sent)]] = now
            readings += 1
        delay = due - time.time()
        if delay > 0:
            time.sleep(delay)
        k = i % (gauges + cameras)
        now = time.time()
        if k < gauges:
            pub.publish(TOPICS.reading(f"g{k:04d}"), encode_reading(now, QUIET_M + (i % 7) / 1000))
            readings += 1
        else:
            pub.publish(TOPICS.frame(f"c{k - gauges:04d}"), frame, user_properties={"ts": f"{now:.3f}"})
        i += 1
    pub.close()
    out.put((sent, readings))


def _stored(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT COUNT(*) FROM readings").fetchone()
    return int(row[0]) if row else 0



def _quantiles(values: list[float]) -> tuple[float, float, float]:
    if len(values) < 2:
        return (values[0], values[0], values[0]) if values else (float("nan"),) * 3
    q = statistics.quantiles(values, n=100, method="inclusive")
    return q[49], q[98], max(values)


def measure(n: int, tmp: Path, broker: MosquittoProcess, server: PostgresProcess,
            args: argparse.Namespace) -> dict[str, Any]:
    """One node count: start n nodes on a fresh schema, measure, stop them."""
    url = new_schema_url(server.url)
    os.environ[URL_ENV] = url
    received: dict[str, float] = {}
    lock = threading.Lock()

    def on_hook(req: Recorded) -> Reply:
        now = time.time()
        with lock:
            received.setdefault(str(req.json()["alert"]["subject"]), now)
        return 200, {}, {}

    hook = HttpRecorder(on_hook).start()
    probes_needed = int(args.seconds) + args.failover_probes + 2
    run = tmp / f"n{n}"
    nodes = []
    for k in range(n):
        (run / str(k)).mkdir(parents=True)
        nodes.append(ServiceProcess(run / str(k), _settings(f"n{n}-{k}", run, broker.port, hook.url, args.gauges,
                                                             args.cameras, probes_needed)))
    probe_ids = [f"p{i:04d}" for i in range(probes_needed)]
    result: dict[str, Any] = {"nodes": n}
    ctx = multiprocessing.get_context("spawn")
    try:
        starting = [threading.Thread(target=node.start, kwargs={"timeout_s": 180}) for node in nodes]
        for t in starting:
            t.start()
        for t in starting:
            t.join()
        wait_for(lambda: all(len(node.readyz()["members"]) == n for node in nodes), timeout_s=60, interval_s=0.2)
        mqtt = nodes[0].settings.mqtt.model_copy(update={"client_id": "bench-quiet"})
        before = _stored(url)
        quiet = GatewayPublisher(mqtt, "bench-quiet").connect()  # every probe gauge reports its quiet level first
        infos = [quiet.publish(TOPICS.reading(p), encode_reading(time.time() - 30, QUIET_M)) for p in probe_ids]
        for info in infos:
            info.wait_for_publish(timeout=60)
        quiet.close()
        wait_for(lambda: _stored(url) >= before + len(probe_ids), timeout_s=60)

        # latency under a province's load
        out: multiprocessing.Queue = ctx.Queue()
        load = ctx.Process(target=publish_load, args=(mqtt, args.gauges, args.cameras, args.seconds,
                                                      probe_ids[:int(args.seconds)], out))
        load.start()
        sent, _ = out.get(timeout=args.seconds + 120)
        load.join()
        wait_for(lambda: len(received) >= len(sent), timeout_s=60, interval_s=0.1)
        lat = [received[p] - t for p, t in sent.items() if p in received]
        result.update(probes=len(sent), received=sum(p in received for p in sent), latency=_quantiles(lat))

        # throughput: a burst as fast as the broker takes it
        before = _stored(url)
        burst = GatewayPublisher(mqtt.model_copy(update={"client_id": "bench-burst"}), "bench-burst").connect()
        base = time.time() - 86400
        began = time.perf_counter()
        infos = [burst.publish(TOPICS.reading(f"g{i % args.gauges:04d}"),
                               encode_reading(base + i // args.gauges, QUIET_M)) for i in range(args.burst)]
        for info in infos:
            info.wait_for_publish(timeout=120)
        burst.close()
        wait_for(lambda: _stored(url) >= before + args.burst, timeout_s=300, interval_s=0.05,
                 message=lambda: f"{_stored(url) - before} of {args.burst} stored")
        result["readings_per_s"] = args.burst / (time.perf_counter() - began)

        # failover: member 0 killed under load, crossings at once
        if n > 1:
            victim = next(node for node in nodes if node.readyz()["member"] == 0)
            out = ctx.Queue()
            load = ctx.Process(target=publish_load, args=(mqtt, args.gauges, args.cameras, 10.0, [], out))
            load.start()
            time.sleep(3)
            assert victim.proc is not None
            victim.proc.send_signal(signal.SIGKILL)
            killed = time.time()
            pub = GatewayPublisher(mqtt.model_copy(update={"client_id": "bench-failover"}), "bench-failover").connect()
            crossings = probe_ids[int(args.seconds):int(args.seconds) + args.failover_probes]
            for p in crossings:
                pub.publish(TOPICS.reading(p), encode_reading(time.time(), CROSSING_M)).wait_for_publish(10)
            pub.close()
            out.get(timeout=60)
            load.join()
            wait_for(lambda: all(p in received for p in crossings), timeout_s=60, interval_s=0.1,
                     message=lambda: f"{sum(p in received for p in crossings)} of {len(crossings)} notified")
            victim.proc.wait()
            result["failover"] = _quantiles([received[p] - killed for p in crossings])
    finally:
        for node in nodes:
            node.stop()
        hook.stop()
    return result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gauges", type=int, default=1000)
    ap.add_argument("--cameras", type=int, default=500)
    ap.add_argument("--seconds", type=float, default=20.0, help="province load per node count (one probe a second)")
    ap.add_argument("--burst", type=int, default=5000, help="readings of the throughput burst")
    ap.add_argument("--failover-probes", type=int, default=12)
    ap.add_argument("--nodes", type=int, nargs="+", default=[1, 2, 3])
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    broker = MosquittoProcess(tmp / "broker").start()
    server = PostgresProcess(tmp / "pg").start()
    try:
        results = [measure(n, tmp, broker, server, args) for n in args.nodes]
    finally:
        server.stop()
        broker.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"load: {args.gauges} gauges and {args.cameras} cameras once a minute "
          f"({(args.gauges + args.cameras) / 60:.1f} messages/s), one probe crossing a second")
    base = results[0]
    failures = []
    for r in results:
        p50, p99, worst = r["latency"]
        line = (f"{r['nodes']} node(s): alert latency p50 {p50 * 1000:,.0f} ms, p99 {p99 * 1000:,.0f} ms, max "
                f"{worst * 1000:,.0f} ms ({r['received']}/{r['probes']} probes); burst {r['readings_per_s']:,.0f} "
                f"readings/s (x{r['readings_per_s'] / base['readings_per_s']:.2f} of {base['nodes']} node)")
        if "failover" in r:
            f50, _, fmax = r["failover"]
            line += f"; owner killed: crossings notified {f50:.1f} s (p50), {fmax:.1f} s (max) after the kill"
        print(line)
        if r["received"] < r["probes"]:
            failures.append(f"{r['nodes']} node(s): {r['probes'] - r['received']} probe notifications missing")
    for f in failures:
        print("FAIL:", f)
    if failures:
        sys.exit(1)


if __name__ == "__main__":
    main()
