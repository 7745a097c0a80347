"""Sustained QoS 1 readings per second through the whole pipeline (decode, validate, commit, acknowledge), as a ratio
to a bare paho-mqtt subscriber that only parses the JSON: same broker, same publisher, same run.

Both consumers drain the same number of readings that the same publisher queued on the broker for their persistent
session, so the figure is the consumer's throughput, not the publisher's. Target (#17): ratio >= 0.7.

    .venv/bin/python bench/ingest_throughput.py [--n 20000]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support import make_settings
from tichwatch.app.service import Service
from tichwatch.ingest.contract import Topics, encode_reading
from tichwatch.tools.broker import MosquittoProcess
from tichwatch.tools.publisher import GatewayPublisher

TOPICS = Topics()


def queue_readings(settings, n: int, base: float) -> None:
    """Publish n readings to st1 and wait until the broker has them all."""
    pub = GatewayPublisher(settings.mqtt, "bench-gateway").connect()
    infos = [pub.publish(TOPICS.reading("st1"), encode_reading(base + i, 5.0 + (i % 100) / 1000, seq=i))
             for i in range(n)]
    for info in infos:
        info.wait_for_publish(timeout=120)
    pub.close()


def bare_subscriber(port: int, n: int, prepare: bool) -> float:
    """Drain n queued readings with a plain paho client (json.loads only); return readings per second."""
    done = threading.Event()
    count = 0
    first = last = 0.0

    def on_message(client, userdata, msg) -> None:
        nonlocal count, first, last
        json.loads(msg.payload)
        count += 1
        if count == 1:
            first = time.perf_counter()
        if count == n:
            last = time.perf_counter()
            done.set()

    client = paho.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="bench-bare",
                         protocol=paho.MQTTv5)
    client.on_message = on_message
    client.on_connect = lambda c, u, f, rc, p: c.subscribe(TOPICS.subscriptions[0], qos=1)
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 3600
    props.ReceiveMaximum = 1000
    client.connect("127.0.0.1", port, clean_start=False, properties=props)
    client.loop_start()
    if prepare:
        time.sleep(0.5)
        client.disconnect()
        client.loop_stop()
        return 0.0
    done.wait(300)
    client.disconnect()
    client.loop_stop()
    return (n - 1) / (last - first)


def service_drain(settings, n: int) -> float:
    """Drain n queued readings through the service; return committed-and-acknowledged readings per second."""
    svc = Service(settings)
    svc.start()
    first = None
    while True:
        c = svc.store.count_readings("st1")
        if c and first is None:
            first = (time.perf_counter(), c)
        if c >= n:
            end = time.perf_counter()
            break
        time.sleep(0.005)
    svc.stop()
    assert first is not None
    return (n - first[1]) / (end - first[0])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        broker = MosquittoProcess(Path(tmp) / "broker").start()
        try:
            settings = make_settings(Path(tmp) / "data", broker.port,
                                     limits={"max_age_s": 10 * 86400}, store={"batch_wait_s": 0.02})
            base = time.time() - args.n - 10
            # register both persistent sessions, then queue the same readings for both
            bare_subscriber(broker.port, args.n, prepare=True)
            svc = Service(settings)
            svc.start()
            svc.mqtt.connected.wait(10)
            svc.stop()
            queue_readings(settings, args.n, base)
            bare = bare_subscriber(broker.port, args.n, prepare=False)
            full = service_drain(settings, args.n)
        finally:
            broker.stop()
    print(f"readings: {args.n}")
    print(f"bare paho subscriber (json.loads only): {bare:,.0f} readings/s")
    print(f"TichWatch pipeline (decode, validate, commit, ack): {full:,.0f} readings/s")
    print(f"ratio: {full / bare:.2f} (target >= 0.7)")


if __name__ == "__main__":
    main()
