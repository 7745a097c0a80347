"""A private PostgreSQL server as a child process (Debian's `postgresql` package): for tests, on a free port.

`initdb` refuses to run as root; started by root, the server runs as the `postgres` system user that the Debian package
creates, in a directory handed to that user."""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from tichwatch.tools.broker import free_port, is_listening


def postgres_bin() -> Path | None:
    """Debian's PostgreSQL server binaries (the newest installed version), or None when none is installed."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    exe = shutil.which("postgres")
    return Path(exe).parent if exe else None


class PostgresProcess:
    """A throw-away PostgreSQL cluster in `workdir` listening on 127.0.0.1 (trust authentication, no fsync)."""

    def __init__(self, workdir: Path, port: int | None = None):
        bindir = postgres_bin()
        if bindir is None:
            raise RuntimeError("PostgreSQL is not installed (Debian package 'postgresql')")
        self.bindir = bindir
        self.workdir = Path(workdir)
        self.port = port or free_port()
        self.datadir = self.workdir / "pgdata"
        self.proc: subprocess.Popen[bytes] | None = None
        self._as: dict[str, Any] = {}  # as root: run as `postgres` (the server refuses root), no wrapper process
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            self.workdir.mkdir(parents=True, exist_ok=True)
            os.chown(self.workdir, user.pw_uid, user.pw_gid)
            for parent in self.workdir.parents:  # the server must be able to reach its directory
                if parent.stat().st_mode & 0o001 == 0:
                    os.chmod(parent, parent.stat().st_mode | 0o001)
            self._as = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}

    @property
    def url(self) -> str:
        """The URL of the cluster's `postgres` database as its superuser."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self, timeout_s: float = 30.0) -> PostgresProcess:
        """Create the cluster (first time) and start the server; wait until it accepts connections."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        if not (self.datadir / "PG_VERSION").exists():
            subprocess.run([str(self.bindir / "initdb"), "-D", str(self.datadir), "-U", "postgres",
                            "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=self.workdir, **self._as)
        with open(self.workdir / "postgres.log", "ab") as log:
            self.proc = subprocess.Popen(
                [str(self.bindir / "postgres"), "-D", str(self.datadir), "-p", str(self.port),
                 "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.workdir}",
                 "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                 "-c", "max_connections=400", "-c", "shared_buffers=64MB"],
                stdout=log, stderr=log, cwd=self.workdir, **self._as)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                text = (self.workdir / "postgres.log").read_text(errors="replace")
                raise RuntimeError(f"postgres exited: {text[-2000:]}")
            if is_listening("127.0.0.1", self.port) and self._ready():
                return self
            time.sleep(0.1)
        raise RuntimeError(f"postgres did not accept connections on 127.0.0.1:{self.port} within {timeout_s} s")

    def _ready(self) -> bool:
        """True when the server answers a query (it listens a moment before it accepts sessions)."""
        done = subprocess.run([str(self.bindir / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return done.returncode == 0

    def stop(self) -> None:
        """Stop the server (fast shutdown: SIGINT to the postmaster, whose sessions end at once)."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
