"""The documented three-node example's files are what they claim: the systemd unit passes `systemd-analyze verify`
(no unknown keys, a command that exists) and runs `tichwatch run --config …` as the CLI knows it."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs" / "cluster"
INSTALLED = "/opt/tichwatch/.venv/bin/tichwatch"


def test_the_node_unit_verifies(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (Debian: systemd)")
    unit = (DOCS / "tichwatch.service").read_text(encoding="utf-8")
    assert INSTALLED in unit, "the unit's command moved: update this test"
    here = Path(sys.executable).parent / "tichwatch"
    (tmp_path / "tichwatch.service").write_text(unit.replace(INSTALLED, str(here)), encoding="utf-8")
    done = subprocess.run([analyze, "verify", str(tmp_path / "tichwatch.service")], capture_output=True, text=True,
                          timeout=60)
    problems = [line for line in (done.stdout + done.stderr).splitlines() if "tichwatch.service" in line]
    assert done.returncode == 0 and problems == [], done.stdout + done.stderr
    command = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    args = command.removeprefix(f"ExecStart={INSTALLED} ").split()
    assert args[:2] == ["run", "--config"]
    helped = subprocess.run([str(here), *args[:1], "--help"], capture_output=True, text=True, timeout=60)
    assert helped.returncode == 0 and "--config" in helped.stdout
