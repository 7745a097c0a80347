"""What an open portal widget costs the service: the bytes of its first load, and a poll round (the four public
snapshot answers it asks for with If-None-Match, answered 304 while nothing changed) in time and header bytes, against
the real app under uvicorn on localhost (two stations, deployment snapshot settings).

    .venv/bin/python bench/widget_polling.py [--rounds 500]
"""
from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support import make_settings
from tichwatch.api.app import create_app
from tichwatch.api.routes_dashboard import STATIC_DIR
from tichwatch.app.service import Service
from tichwatch.core.samples import Reading
from tichwatch.tools.broker import free_port

FILES = ["/widget", "/static/widget.js", "/static/widget.css", "/widget.js"]
"""What a portal visitor's browser loads once (then from its cache)."""


def polled_paths() -> list[str]:
    """The endpoints the widget's script polls, read from the script itself."""
    return re.findall(r'getJSON\("(/api/v1/[^"]+)"\)', (STATIC_DIR / "widget.js").read_text(encoding="utf-8"))


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=500)
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp()) / "data"
    svc = Service(make_settings(data, http={"port": 0, "snapshot_refresh_s": 1.0}))
    now = time.time()
    svc.store.append_readings([Reading(s, now - 600 + i * 60, 5.0 + i * 0.01) for s in ("st1", "st2")
                               for i in range(10)])
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(svc, manage_lifecycle=False), host="127.0.0.1", port=port,
                                          log_config=None))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    paths = polled_paths()
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Accept-Encoding": "gzip"}) as c:
        print("first load: path, status, bytes of body on the wire, encoding")
        for p in FILES + paths:
            r = c.get(p)
            print(f"  {p}  {r.status_code}  {r.headers.get('content-length')}  {r.headers.get('content-encoding', '')}")
        etags = {p: c.get(p).headers["etag"] for p in paths}
        took, header_bytes = [], 0
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            header_bytes = 0
            for p in paths:
                r = c.get(p, headers={"If-None-Match": etags[p]})
                assert r.status_code == 304, (p, r.status_code)
                header_bytes += sum(len(k) + len(v) + 4 for k, v in r.headers.raw) + 30
            took.append(time.perf_counter() - t0)
    took.sort()
    print(f"poll round ({len(paths)} × 304), {args.rounds} rounds: median {statistics.median(took) * 1000:.2f} ms, "
          f"p99 {took[int(len(took) * 0.99)] * 1000:.2f} ms, ≈ {header_bytes} bytes of response headers")
    server.should_exit = True


if __name__ == "__main__":
    main()
