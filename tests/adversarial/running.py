"""`tichwatch run` as its own process, as an operator starts it: for attacks and faults from the outside."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tests.support import stored_query, wait_for, write_config
from tichwatch.config.schema import Settings

REPO = Path(__file__).resolve().parents[2]


class ServiceProcess:
    """The service in a child process with its config file, log file and HTTP address."""

    def __init__(self, tmp: Path, settings: Settings):
        self.settings = settings
        self.config = write_config(tmp / "tichwatch.yaml", settings)
        self.log = tmp / "service.log"
        self.url = f"http://127.0.0.1:{settings.http.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 60) -> ServiceProcess:
        """Start and wait until the broker has granted the subscriptions."""
        before = self.log.read_bytes().count(b"MQTT subscribed") if self.log.exists() else 0
        self.proc = subprocess.Popen([sys.executable, "-m", "tichwatch.app.cli", "run", "--config", str(self.config)],
                                     stdout=self.log.open("ab"), stderr=subprocess.STDOUT, cwd=REPO)
        wait_for(lambda: self.log.read_bytes().count(b"MQTT subscribed") > before or self.proc.poll() is not None,
                 timeout_s=timeout_s)
        assert self.proc.poll() is None, self.tail()
        wait_for(lambda: self.get("/healthz")[0] == 200, timeout_s=timeout_s)
        return self

    def stop(self) -> int:
        """SIGTERM and wait; the exit code (uvicorn re-raises SIGTERM after a clean stop)."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        code = self.proc.returncode
        self.proc = None
        return code

    def get(self, path: str, timeout_s: float = 10) -> tuple[int, Any]:
        """(status, parsed JSON body or None) of a GET; status 0 when nothing answered."""
        try:
            with urllib.request.urlopen(self.url + path, timeout=timeout_s) as resp:
                return resp.status, _json(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, _json(err.read())
        except (urllib.error.URLError, OSError):
            return 0, None

    def readyz(self) -> dict[str, Any]:
        """The /readyz document (a node's membership and subjects too); one that says nothing when unreachable."""
        _, body = self.get("/readyz", timeout_s=5)
        return body if isinstance(body, dict) and "subjects" in body else {"subjects": 0, "member": None,
                                                                              "members": []}

    def metric(self, name: str, labels: str = "") -> float:
        """The value of one Prometheus sample on /metrics (0 when absent), e.g. metric("x_total", 'camera="c"')."""
        with urllib.request.urlopen(self.url + "/metrics", timeout=10) as resp:
            text = resp.read().decode()
        key = f"{name}{{{labels}}}" if labels else name
        for line in text.splitlines():
            if line.startswith(key + " "):
                return float(line.split()[-1])
        return 0.0

    def peak_rss_mb(self) -> float:
        """The process's peak resident memory so far (VmHWM), MiB."""
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        raise AssertionError("no VmHWM in /proc status")

    def tail(self, chars: int = 3000) -> str:
        """The end of the service log."""
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def stored_seqs(data_dir: Path) -> dict[str, list[int]]:
    """Every stored reading's seq per station (duplicates would show twice), read as another process would."""
    rows = stored_query(data_dir, "SELECT station_id, seq FROM readings ORDER BY station_id, seq")
    out: dict[str, list[int]] = {}
    for station, seq in rows:
        out.setdefault(station, []).append(seq)
    return out


def timed_get(service: ServiceProcess, path: str) -> tuple[int, float]:
    """(status, seconds) of one GET."""
    started = time.monotonic()
    status, _ = service.get(path, timeout_s=30)
    return status, time.monotonic() - started
