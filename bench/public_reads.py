"""Public reads on the night of the flood: `wrk` with 1,000 connections on /api/v1/status — most from many client
addresses, a third from one crowded (carrier-grade NAT) address — while gateways drain their backlogs at 200
readings/s over MQTT (each station's readings 10 minutes apart in sample time).

Two phases: the crowd (each connection pauses between requests so that together they offer `--rate` requests/s, as
residents opening the page do) for latency and ingest; then as fast as wrk can go, against a baseline in the same
run: the same load on a bare ASGI handler (same uvicorn settings) returning the same bytes. (With 1,000 connections
that never pause, the mean latency is 1,000 / throughput whatever the server: p99 ≤ 200 ms would need 5,000 answers a
second, so latency is judged at the offered rate.) Reports requests/s, p50/p99, the ratio to the baseline and the
ingest lag (readings published but not yet stored when the crowd phase ends). Fails (exit 1) when wrk saw errors or
refusals (it measured less than asked), when fewer than 95 % of the offered requests were served, when readings were
lost, or when a target is missed: p99 ≤ 200 ms at 1,000 requests/s, ≥ 0.7 of the bare handler's rate, ingest not
delayed (≤ 2 s behind at the end).

    .venv/bin/python bench/public_reads.py [--connections 1000] [--seconds 15] [--readings-per-s 200]
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support import make_settings, wait_for
from tichwatch.tools.broker import MosquittoProcess, free_port

# Each request comes from a random address in 10.0.0.0/8, one in three from the one crowded address 100.64.0.1
# (X-Forwarded-For, believed from the loopback proxy as configured by default).
WRK_SCRIPT = """
math.randomseed(os.time())
local pause = tonumber(os.getenv("TW_PAUSE_MS") or "0")
delay = function()
  if pause > 0 then return math.random(math.floor(pause * 0.5), math.floor(pause * 1.5)) end
  return 0
end
request = function()
  local addr = "100.64.0.1"
  if math.random(3) > 1 then
    addr = "10." .. math.random(0, 255) .. "." .. math.random(0, 255) .. "." .. math.random(1, 254)
  end
  return wrk.format("GET", nil, {["X-Forwarded-For"] = addr, ["Accept-Encoding"] = "gzip"})
end
"""


FLAT_OUT_CONNECTIONS = 200
"""Connections of the as-fast-as-it-goes phases: enough to keep both servers busy; with 1,000 connections that never
pause, both lose some to connect timeouts (a SYN retried after 1 s, 3 s), which measures the kernel's queue, not the
handler."""


def run_wrk(url: str, connections: int, seconds: int, script: Path, rate: float | None = None) -> dict[str, float]:
    """Run wrk; requests/s, p50/p99 in seconds, errors (socket errors and non-2xx/3xx answers) and requests.

    Without `rate`, closed loop: every connection sends its next request as soon as the answer arrives (what the
    server can do at most). With `rate`, each connection pauses about connections/rate seconds between requests, so
    the crowd offers `rate` requests/s in all (residents do not hammer; they open the page)."""
    env = {**os.environ, "TW_PAUSE_MS": str(round(950 * connections / rate)) if rate else "0"}  # 5 % for the answers
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s",
                          "-s", str(script), url], capture_output=True, text=True, timeout=seconds + 60,
                         env=env).stdout
    scale = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}
    p = {m.group(1): float(m.group(2)) * scale[m.group(3)]
         for m in re.finditer(r"^\s+(50|99)(?:\.000)?%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M)}
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non_ok = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    requests = re.search(r"(\d+) requests in", out)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not (rate and requests and "50" in p and "99" in p):
        raise SystemExit(f"could not read wrk's output:\n{out}")
    return {"rps": float(rate.group(1)), "p50": p["50"], "p99": p["99"], "requests": float(requests.group(1)),
            "errors": float(errors + (int(non_ok.group(1)) if non_ok else 0))}


class Served:
    """An app served as the service serves it; `stop()` ends it."""

    def __init__(self, server: Any, edge: Any = None):
        self.server = server
        self.edge = edge

    def stop(self) -> None:
        """Stop the server (and the edge process in front of it)."""
        if self.edge is not None:
            self.edge.stop()
        self.server.should_exit = True


def serve(app: Any, port: int, connections: int, http: Any = None) -> Served:
    """uvicorn in a thread, as the service runs it: with `http` (HttpSettings) on a Unix socket behind the public edge
    process on `port`, as `tichwatch run` does with `http.edge_process`; without, on `port` itself."""
    import uvicorn

    from tichwatch.app.edge_process import EdgeProcess
    where: dict[str, Any] = {"host": "127.0.0.1", "port": port}
    edge = None
    if http is not None:
        edge = EdgeProcess(http.model_copy(update={"host": "127.0.0.1", "port": port}))
        where = {"uds": edge.socket}
    server = uvicorn.Server(uvicorn.Config(app, **where, log_config=None, backlog=4096,
                                           limit_concurrency=connections + 200))
    threading.Thread(target=server.run, daemon=True).start()
    wait_for(lambda: server.started, timeout_s=20)
    if edge is not None:
        edge.start_when(lambda: True)
        wait_for(lambda: _answers(port), timeout_s=20)
    return Served(server, edge)


def _answers(port: int) -> bool:
    import socket
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def serve_bare(body: bytes, headers: list[tuple[bytes, bytes]], port: int, connections: int, nice: int) -> Any:
    """The bare handler in a process of its own at `nice` (the edge's priority: the same footing), until stopped."""
    ctx = multiprocessing.get_context("spawn")
    proc = ctx.Process(target=_bare_process, args=(body, headers, port, connections, nice), daemon=True)
    proc.start()
    wait_for(lambda: _answers(port), timeout_s=20)
    return proc


def _bare_process(body: bytes, headers: list[tuple[bytes, bytes]], port: int, connections: int, nice: int) -> None:
    import uvicorn
    os.nice(nice)
    uvicorn.Server(uvicorn.Config(bare_app(body, headers), host="127.0.0.1", port=port, log_config=None,
                                  backlog=4096, limit_concurrency=connections + 200)).run()


def gateways(mqtt: Any, station_ids: list[str], rate: float, published: Any, stop: Any) -> None:
    """Gateways draining their backlogs, in a process of their own (gateways are other machines): each station's
    readings 10 minutes apart in sample time, from 20 days ago, at `rate` readings/s in all."""
    from tichwatch.ingest.contract import Topics, encode_reading
    from tichwatch.tools.publisher import GatewayPublisher

    pub = GatewayPublisher(mqtt, "bench-gw").connect()
    topics = Topics()
    start = time.time()
    first_ts = start - 20 * 86400
    n = 0
    while not stop.is_set():
        due = int((time.time() - start) * rate)
        while n < due:
            sid = station_ids[n % len(station_ids)]
            pub.publish(topics.reading(sid), encode_reading(first_ts + (n // len(station_ids)) * 600,
                                                            5.0 + (n % 7) * 0.01))
            n += 1
            published.value = n
        time.sleep(0.005)
    pub.close()


def bare_app(body: bytes, headers: list[tuple[bytes, bytes]]) -> Any:
    """The least any handler can cost: the same bytes (body and headers, uvicorn adding date and server to both), no
    routing, no middleware."""
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
    return app


def main() -> None:
    import httpx

    from tichwatch.api.app import create_app
    from tichwatch.app.service import Service

    ap = argparse.ArgumentParser()
    ap.add_argument("--connections", type=int, default=1000)
    ap.add_argument("--seconds", type=int, default=15)
    ap.add_argument("--readings-per-s", type=float, default=200.0)
    ap.add_argument("--rate", type=float, default=1000.0, help="requests/s the crowd offers in the first phase")
    ap.add_argument("--no-edge", action="store_true", help="serve HTTP from the service's own process (no public "
                    "edge process in front), as with http.edge_process: false")
    args = ap.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt install wrk; .ci/setup installs it)")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        script = tmp / "crowd.lua"
        script.write_text(WRK_SCRIPT)
        broker = MosquittoProcess(tmp / "broker").start()
        stations = [{"id": f"s{i:02d}", "name": f"Trạm {i}", "lat": 21.0, "lon": 105.6, "expected_interval_s": 600,
                     "alarm": {"bd1_m": 6.0, "bd2_m": 7.0, "bd3_m": 8.0}, "min_level_m": 2.0, "max_level_m": 12.0}
                    for i in range(20)]
        # The deployment's snapshot refresh (1 s), not the tests' 0.
        svc = Service(make_settings(tmp / "data", broker.port, stations=stations, http={"snapshot_refresh_s": 1.0}))
        port = free_port()
        server = serve(create_app(svc), port, args.connections, None if args.no_edge else svc.settings.http)
        assert svc.mqtt.connected.wait(10)
        url = f"http://127.0.0.1:{port}/api/v1/status"
        spawn = multiprocessing.get_context("spawn")  # a fresh process: this one runs threads
        published = spawn.Value("q", 0)
        stop = spawn.Event()
        feeder = spawn.Process(target=gateways, daemon=True, args=(
            svc.settings.mqtt.model_copy(update={"client_id": "bench-gw"}), [st["id"] for st in stations],
            args.readings_per_s, published, stop))

        def stored() -> int:
            return sum(len(svc.store.readings(s["id"], 0, time.time() + 60, 10 ** 6)) for s in stations)

        feeder.start()
        time.sleep(2)
        crowd = run_wrk(url, args.connections, args.seconds, script, rate=args.rate)
        done = stored()
        behind_at_end = published.value - done
        flat_out = min(args.connections, FLAT_OUT_CONNECTIONS)
        ours = run_wrk(url, flat_out, args.seconds, script)
        stop.set()
        feeder.join(10)
        wait_for(lambda: stored() >= published.value, timeout_s=60)
        lost = published.value - stored()
        with httpx.stream("GET", url, headers={"Accept-Encoding": "gzip"}) as answer:  # the bytes wrk received
            body = b"".join(answer.iter_raw())
            kept = [(k.lower(), v) for k, v in answer.headers.raw if k.lower() not in (b"date", b"server")]
        server.stop()
        svc.stop()
        bare_port = free_port()
        if args.no_edge:
            bare = serve(bare_app(body, kept), bare_port, args.connections)
            base = run_wrk(f"http://127.0.0.1:{bare_port}/api/v1/status", flat_out, args.seconds, script)
            bare.stop()
        else:
            bare_proc = serve_bare(body, kept, bare_port, args.connections, svc.settings.http.edge_nice)
            base = run_wrk(f"http://127.0.0.1:{bare_port}/api/v1/status", flat_out, args.seconds, script)
            bare_proc.terminate()
        broker.stop()
    ratio = ours["rps"] / base["rps"]
    print("served " + ("by the service's own process (--no-edge); baseline in this process" if args.no_edge else
                       "through the public edge process; baseline in a process at the edge's priority"))
    print(f"connections: {args.connections}, {args.seconds} s per phase, readings published: {published.value} "
          f"({args.readings_per_s:.0f}/s), behind when the crowd phase ended: {behind_at_end}, lost: {lost}")
    for name, r in ((f"{args.connections} connections offering {args.rate:.0f}/s: TichWatch /api/v1/status", crowd),
                    (f"{flat_out} connections as fast as they go: TichWatch /api/v1/status", ours),
                    (f"{flat_out} connections as fast as they go: bare ASGI handler, same bytes", base)):
        print(f"{name}: {r['rps']:.0f} requests/s, p50 {r['p50'] * 1000:.1f} ms, p99 {r['p99'] * 1000:.1f} ms, "
              f"{r['requests']:.0f} requests, errors {r['errors']:.0f}")
    print(f"ratio requests/s (as fast as it goes): {ratio:.2f}")
    failures = []
    if crowd["errors"] or ours["errors"] or base["errors"]:
        failures.append(f"measured less than asked: errors {crowd['errors']:.0f} / {ours['errors']:.0f} "
                        f"(bare {base['errors']:.0f})")
    if crowd["rps"] < 0.95 * args.rate:
        failures.append(f"the crowd phase served {crowd['rps']:.0f} of the {args.rate:.0f} requests/s offered")
    if lost:
        failures.append(f"{lost} readings lost")
    if behind_at_end > 2 * args.readings_per_s:
        failures.append(f"ingest {behind_at_end} readings (> 2 s) behind under the read load")
    if crowd["p99"] > 0.2:
        failures.append(f"p99 {crowd['p99'] * 1000:.0f} ms > 200 ms at {args.rate:.0f} requests/s")
    if ratio < 0.7:
        failures.append(f"{ratio:.2f} of the bare handler's rate < 0.7")
    for failure in failures:
        print("FAIL:", failure)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
