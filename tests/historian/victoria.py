"""A VictoriaMetrics server as a child process: a real server speaking InfluxDB's v2 write API, for the historian."""
from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from tichwatch.tools.broker import free_port, is_listening


class VictoriaMetrics:
    """VictoriaMetrics on a free port with its storage in `workdir`; stop()/start() keep the data (an outage)."""

    def __init__(self, workdir: Path):
        exe = shutil.which("victoria-metrics")
        if exe is None:
            raise RuntimeError("victoria-metrics is not installed (Debian package 'victoria-metrics')")
        self.cmd = [exe, f"-storageDataPath={workdir}", "-retentionPeriod=1y", "-loggerLevel=ERROR",
                    "-memory.allowedPercent=10", "-search.latencyOffset=0s"]
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 15.0) -> VictoriaMetrics:
        """Start and wait until it answers on /health."""
        log = (self.workdir.parent / "victoria.log").open("ab")
        self.proc = subprocess.Popen([*self.cmd, f"-httpListenAddr=127.0.0.1:{self.port}"], stdout=log, stderr=log)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"victoria-metrics exited with {self.proc.returncode}")
            if is_listening("127.0.0.1", self.port) and httpx.get(f"{self.url}/health").status_code == 200:
                return self
            time.sleep(0.05)
        raise RuntimeError(f"victoria-metrics did not answer on {self.url} within {timeout_s} s")

    def stop(self) -> None:
        """Stop gracefully (SIGTERM: in-flight requests finish, data is flushed)."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def export(self, match: str = '{__name__=~".+"}') -> list[dict[str, Any]]:
        """Every raw sample of the matching series (duplicates included), after making recent writes searchable."""
        httpx.get(f"{self.url}/internal/force_flush").raise_for_status()
        resp = httpx.get(f"{self.url}/api/v1/export", params={"match[]": match, "start": "0"})
        resp.raise_for_status()
        return [json.loads(line) for line in resp.text.splitlines() if line.strip()]
