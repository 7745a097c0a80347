"""The documented nginx setup (docs/nginx/tichwatch.conf), run for real in front of the app: public answers are
micro-cached and revalidated with their ETag, officers' requests bypass the cache, the live stream passes unbuffered."""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.nginx import nginx_in_front
from tichwatch.app.service import Service


@pytest.fixture
def proxy(live_app: tuple[Service, str], tmp_path: Path) -> Iterator[tuple[Service, str]]:
    svc, base = live_app
    with nginx_in_front(tmp_path, [base.removeprefix("http://")]) as url:
        yield svc, url


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
