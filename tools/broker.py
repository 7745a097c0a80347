"""A local Mosquitto broker as a child process: for the demo (when none listens) and for tests (on a free port)."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path


def is_listening(host: str, port: int, timeout_s: float = 0.5) -> bool:
    """True when something accepts TCP connections at host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class MosquittoProcess:
    """A Mosquitto broker run from a config file of our own, with persistence in `workdir`; restartable."""

    def __init__(self, workdir: Path, port: int | None = None, extra_conf: str = "", host: str = "127.0.0.1"):
        exe = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)
        if exe is None:
            raise RuntimeError("mosquitto is not installed (Debian package 'mosquitto')")
        self.exe = exe
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.host = host
        self.port = port or free_port()
        self.conf = self.workdir / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} {host}\n"
            f"persistence true\npersistence_location {self.workdir}/\n"
            f"log_dest file {self.workdir}/mosquitto.log\n"
            "max_queued_messages 100000\n"
            "max_inflight_messages 1000\n"
            # Started as root, Mosquitto would switch to the `mosquitto` user, which cannot write a persistence
            # directory under a private (0700) parent: sessions and queued messages would silently not survive a
            # broker restart. Keep the identity of the process that started it, as it does for non-root users.
            + ("user root\n" if os.geteuid() == 0 else "")
            + (extra_conf if extra_conf else "allow_anonymous true\n"))
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 10.0) -> MosquittoProcess:
        """Start the broker and wait until it accepts connections."""
        self.proc = subprocess.Popen([self.exe, "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                log = (self.workdir / "mosquitto.log")
                raise RuntimeError(f"mosquitto exited: {log.read_text()[-2000:] if log.exists() else ''}")
            if is_listening(self.host, self.port):
                return self
            time.sleep(0.05)
        raise RuntimeError(f"mosquitto did not listen on {self.host}:{self.port} within {timeout_s} s")

    def stop(self) -> None:
        """Stop the broker gracefully (it saves its persistent sessions)."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
