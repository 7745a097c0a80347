"""SSE fan-out: 2,000 clients on /api/v1/stream (real uvicorn), events published by the service; latency from publish
to receipt at every client (p50, p99), against a baseline in the same run: the same clients on a bare asyncio server
that writes the same SSE lines to every connection (the least any fan-out can cost here).

Fails (exit 1) when any client was refused or any event did not reach every client (it measured less than asked),
or when the targets are missed: p99 lag ≤ 1 s and ≤ 1.5× the bare fan-out's p99.

    .venv/bin/python bench/sse_fanout.py [--clients 2000] [--events 50]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

CLIENT = r'''
import asyncio, json, os, re, sys, time
host, port, n_clients, n_events = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
SENT = re.compile(rb'"sent":\s*([0-9.]+)')
lat = []
async def one(ready):
    r, w = await asyncio.open_connection(host, port)
    w.write(f"GET /api/v1/stream?types=reading HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n\r\n".encode())
    await w.drain()
    buf = b""
    while b"retry:" not in buf:  # subscribed: the stream's first lines arrived
        chunk = await r.read(65536)
        if not chunk:
            ready.release()
            return
        buf += chunk
    buf = buf[buf.index(b"retry:"):]
    ready.release()
    seen = 0
    while seen < n_events:
        chunk = await r.read(65536)
        if not chunk:
            return
        now = time.time()
        buf += chunk
        cut = buf.rfind(b"\n\n")
        if cut < 0:
            continue
        done, buf = buf[:cut], buf[cut + 2:]
        for m in SENT.finditer(done):  # only the publish time is read: the client must cost less than the server
            lat.append(now - float(m.group(1)))
            seen += 1
    w.close()
async def main():
    ready = asyncio.Semaphore(0)
    tasks = [asyncio.create_task(one(ready)) for _ in range(n_clients)]
    for _ in range(n_clients):
        await ready.acquire()
    print("READY", flush=True)
    await asyncio.wait(tasks, timeout=120)  # a client that missed events is counted short, not waited for forever
    print(json.dumps(lat), flush=True)
    os._exit(0)
asyncio.run(main())
'''


def percentile(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))]


class BareFanout:
    """A minimal SSE server: accepts connections, then writes each published event to all of them."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.writers: list[asyncio.StreamWriter] = []
        self.port = 0
        started = threading.Event()

        async def serve() -> None:
            server = await asyncio.start_server(self._client, "127.0.0.1", 0, backlog=4096)
            self.port = server.sockets[0].getsockname()[1]
            started.set()
            await server.serve_forever()

        threading.Thread(target=lambda: self.loop.run_until_complete(serve()), daemon=True).start()
        started.wait(10)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (await reader.readline()) not in (b"\r\n", b""):
            pass
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\nretry: 3000\n\n")
        self.writers.append(writer)

    def publish(self, data: dict[str, object]) -> None:
        line = f"event: reading\ndata: {json.dumps(data)}\n\n".encode()

        def write_all() -> None:
            for w in self.writers:
                w.write(line)

        self.loop.call_soon_threadsafe(write_all)


def run_clients(port: int, clients: int, events: int, publish) -> list[float]:  # type: ignore[no-untyped-def]
    """Start the client process, publish the events at 10 per second, return every delivery's latency."""
    proc = subprocess.Popen([sys.executable, "-c", CLIENT, "127.0.0.1", str(port), str(clients), str(events)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "READY"
    time.sleep(1.0)
    for i in range(events):
        publish({"station_id": "st1", "level_m": 5.0, "sent": time.time(), "n": i})
        time.sleep(0.1)
    lat = json.loads(proc.stdout.readline())
    proc.wait(timeout=60)
    return lat


def main() -> None:
    from public_reads import serve

    from tests.support import make_settings, wait_for
    from tichwatch.api.app import create_app
    from tichwatch.app.service import Service
    from tichwatch.tools.broker import free_port

    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=2000)
    ap.add_argument("--events", type=int, default=50)
    ap.add_argument("--no-edge", action="store_true", help="the service's own process serves the clients (no public "
                    "edge process in front), as with http.edge_process: false")
    ap.add_argument("--edge-nice", type=int, default=0, help="the edge process's niceness (default 0: the bare "
                    "fan-out's; the service's default is 5)")
    args = ap.parse_args()
    print("served " + ("by the service's own process (--no-edge)" if args.no_edge else
                       "through the public edge process (its own hub, one stream from the service)"))
    with tempfile.TemporaryDirectory() as tmp:
        svc = Service(make_settings(Path(tmp) / "data"))
        port = free_port()
        # The edge at the bare fan-out's priority (this process's): the same footing (the service's edge_nice
        # decides who yields on a saturated machine, not what a fan-out costs).
        served = serve(create_app(svc, manage_lifecycle=False), port, args.clients,
                       None if args.no_edge else svc.settings.http.model_copy(update={"edge_nice": args.edge_nice}))
        if not args.no_edge:
            wait_for(lambda: svc.hub.clients == 1, timeout_s=15)  # the edge follows the service's stream
        lat = run_clients(port, args.clients, args.events, lambda d: svc.hub.publish("reading", d))
        served.stop()
    bare = BareFanout()
    base = run_clients(bare.port, args.clients, args.events, bare.publish)
    expected = args.clients * args.events
    print(f"clients: {args.clients}, events: {args.events}, deliveries: {len(lat)} of {expected} (bare {len(base)})")
    for name, xs in (("TichWatch /api/v1/stream", lat), ("bare asyncio fan-out", base)):
        print(f"{name}: p50 {statistics.median(xs) * 1000:.1f} ms, p99 {percentile(xs, 0.99) * 1000:.1f} ms")
    ratio = percentile(lat, 0.99) / percentile(base, 0.99)
    print(f"ratio p50: {statistics.median(lat) / statistics.median(base):.2f}, p99: {ratio:.2f}")
    failures = []
    if len(lat) < expected or len(base) < expected:
        failures.append(f"measured less than asked: {len(lat)} (bare {len(base)}) of {expected} deliveries")
    if percentile(lat, 0.99) > 1.0:
        failures.append(f"p99 lag {percentile(lat, 0.99):.2f} s > 1 s")
    if ratio > 1.5:
        failures.append(f"p99 {ratio:.2f}x the bare fan-out's > 1.5x")
    for failure in failures:
        print("FAIL:", failure)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
