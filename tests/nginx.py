"""The documented nginx setup (docs/nginx/tichwatch.conf) run for real in front of one or several TichWatch nodes:
only the listen port, the upstream servers and the cache folder are replaced."""
from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.support import wait_for
from tichwatch.tools.broker import free_port

CONF = Path(__file__).resolve().parents[1] / "docs" / "nginx" / "tichwatch.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


@contextmanager
def nginx_in_front(tmp_path: Path, upstreams: Sequence[str]) -> Iterator[str]:
    """nginx with the documented site, proxying to `upstreams` (host:port each); yields its base URL. Skips the test
    when nginx is not installed."""
    if not Path(NGINX).exists():
        pytest.skip("nginx is not installed (.ci/setup installs nginx-light)")
    tmp_path.mkdir(parents=True, exist_ok=True)
    port = free_port()
    site = CONF.read_text(encoding="utf-8")
    servers = "\n    ".join(f"server {u};" for u in upstreams)
    for old, new in (("listen 80;", f"listen 127.0.0.1:{port};"), ("server 127.0.0.1:8080;", servers),
                     ("/var/cache/nginx/tichwatch", str(tmp_path / "cache"))):
        assert old in site, f"{CONF} no longer holds {old!r}: update tests/nginx.py with it"
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
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def _up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
