"""The documented nginx setup (docs/nginx/tichwatch.conf), run for real in front of the app: public answers are
micro-cached and revalidated with their ETag, officers' requests bypass the cache, the live stream passes unbuffered."""
from __future__ import annotations

import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import wait_for
from tichwatch.app.service import Service
from tichwatch.tools.broker import free_port

CONF = Path(__file__).resolve().parents[2] / "docs" / "nginx" / "tichwatch.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


@pytest.fixture
def proxy(live_app: tuple[Service, str], tmp_path: Path) -> Iterator[tuple[Service, str]]:
    if not Path(NGINX).exists():
        pytest.skip("nginx is not installed (.ci/setup installs nginx-light)")
    svc, base = live_app
    port = free_port()
    site = CONF.read_text(encoding="utf-8")
    for old, new in (("listen 80;", f"listen 127.0.0.1:{port};"), ("127.0.0.1:8080", base.removeprefix("http://")),
                     ("/var/cache/nginx/tichwatch", str(tmp_path / "cache"))):
        assert old in site, f"{CONF} no longer holds {old!r}: update this test with it"
        site = site.replace(old, new)
    (tmp_path / "site.conf").write_text(site, encoding="utf-8")
    temp = {name: tmp_path / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    (tmp_path / "nginx.conf").write_text(
        f"user root; daemon off; master_process off; pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log;\n"
        "events { worker_connections 256; }\n"
        f"http {{ access_log off; client_body_temp_path {temp['body']}; proxy_temp_path {temp['proxy']};\n"
        f"  fastcgi_temp_path {temp['fastcgi']}; uwsgi_temp_path {temp['uwsgi']}; scgi_temp_path {temp['scgi']};\n"
        f"  gzip on; include {tmp_path}/site.conf; }}\n", encoding="utf-8")
    proc = subprocess.Popen([NGINX, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                            stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _up(url), timeout_s=10)
        yield svc, url
    finally:
        proc.terminate()
        proc.wait(10)


def _up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_public_answers_are_micro_cached_and_revalidated(proxy: tuple[Service, str]) -> None:
    _, url = proxy
    first = httpx.get(f"{url}/api/v1/status")
    assert first.status_code == 200 and first.headers["etag"]
    assert first.headers["cache-control"].startswith("public, max-age=")
    statuses = [httpx.get(f"{url}/api/v1/status").headers["x-cache-status"] for _ in range(5)]
    assert "HIT" in statuses  # within the second, nginx answers without asking the app
    again = httpx.get(f"{url}/api/v1/status", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    zipped = httpx.get(f"{url}/api/v1/stations", headers={"Accept-Encoding": "gzip"})
    assert zipped.status_code == 200 and zipped.json()["stations"]


def test_officers_bypass_the_cache(proxy: tuple[Service, str]) -> None:
    _, url = proxy
    httpx.get(f"{url}/api/v1/alerts")
    private = httpx.get(f"{url}/api/v1/alerts", headers={"Authorization": "Bearer not-a-token"})
    assert private.headers["x-cache-status"] == "BYPASS"


def test_the_live_stream_passes_unbuffered(proxy: tuple[Service, str]) -> None:
    svc, url = proxy
    got: list[str] = []

    def listen() -> None:
        with httpx.stream("GET", f"{url}/api/v1/stream", params={"types": "alert"}, timeout=10) as r:
            for line in r.iter_lines():
                if line.startswith("data: "):
                    got.append(line)
                    return

    t = threading.Thread(target=listen)
    t.start()
    time.sleep(0.5)
    svc.hub.publish("alert", {"id": "through-the-proxy"})
    t.join(10)
    assert got == ['data: {"id":"through-the-proxy"}']
