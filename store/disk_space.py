"""Free space in the data directory's file system: a pure verdict for readiness, and gauges read at scrape time."""
from __future__ import annotations

import enum
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from tichwatch.config.schema import StoreSettings
    from tichwatch.core.metrics import Metrics

MIB = 1024 * 1024


class DiskLevel(str, enum.Enum):  # noqa: UP042 (StrEnum would change str() of the members)
    """How worrying the free space is."""

    OK = "ok"
    WARNING = "warning"
    """The service works, but the disk needs attention soon (retention cannot keep up, or something else fills it)."""
    CRITICAL = "critical"
    """Writes are about to fail: readings would be refused by the store."""


@dataclass(frozen=True)
class DiskThresholds:
    """Free space below which the check warns or is critical, in bytes and as a fraction of the file system."""

    warning_free_bytes: int
    warning_free_ratio: float
    critical_free_bytes: int
    critical_free_ratio: float

    @classmethod
    def from_settings(cls, s: StoreSettings) -> DiskThresholds:
        """The thresholds of the `store` settings block."""
        return cls(s.disk_warning_free_mib * MIB, s.disk_warning_free_percent / 100,
                   s.disk_critical_free_mib * MIB, s.disk_critical_free_percent / 100)


@dataclass(frozen=True)
class DiskStatus:
    """The verdict on the data directory's free space, with the figures behind it."""

    level: DiskLevel
    free_bytes: int
    total_bytes: int
    detail: str

    @property
    def free_ratio(self) -> float:
        """Free space as a fraction of the file system's size."""
        return self.free_bytes / self.total_bytes if self.total_bytes > 0 else 0.0


def judge(free_bytes: int, total_bytes: int, t: DiskThresholds) -> DiskStatus:
    """Critical or warning when free space is below either threshold of that level (bytes or fraction), else ok."""
    ratio = free_bytes / total_bytes if total_bytes > 0 else 0.0
    figures = f"{free_bytes / MIB:,.0f} MiB free ({ratio:.1%})"
    if free_bytes < t.critical_free_bytes or ratio < t.critical_free_ratio:
        return DiskStatus(DiskLevel.CRITICAL, free_bytes, total_bytes, f"disk: critical, {figures}, below "
                          f"{t.critical_free_bytes / MIB:,.0f} MiB or {t.critical_free_ratio:.0%}")
    if free_bytes < t.warning_free_bytes or ratio < t.warning_free_ratio:
        return DiskStatus(DiskLevel.WARNING, free_bytes, total_bytes, f"disk: low, {figures}, below "
                          f"{t.warning_free_bytes / MIB:,.0f} MiB or {t.warning_free_ratio:.0%}")
    return DiskStatus(DiskLevel.OK, free_bytes, total_bytes, f"disk: {figures}")


class Usage(Protocol):
    """What shutil.disk_usage returns (the fields used here)."""

    @property
    def total(self) -> int:
        """Size of the file system, bytes."""

    @property
    def free(self) -> int:
        """Space an unprivileged process may still use, bytes."""


class DiskSpace:
    """The data directory's free space: `check()` for readiness, `export(metrics)` for the gauges."""

    def __init__(self, data_dir: Path, thresholds: DiskThresholds,
                 usage: Callable[[Path], Usage] = shutil.disk_usage):
        self.data_dir = Path(data_dir)
        self.thresholds = thresholds
        self._usage = usage

    def check(self) -> DiskStatus:
        """The verdict now (a statvfs call: cheap enough for every /readyz); unreadable counts as critical."""
        try:
            u = self._usage(self.data_dir)
        except OSError as exc:
            return DiskStatus(DiskLevel.CRITICAL, 0, 0, f"disk: cannot read free space ({type(exc).__name__})")
        return judge(u.free, u.total, self.thresholds)

    def export(self, metrics: Metrics) -> None:
        """Make the free-space gauges read the file system at each scrape (so they are never stale)."""
        metrics.data_dir_free_bytes.set_function(lambda: self._figure(lambda u: float(u.free)))
        metrics.data_dir_free_ratio.set_function(lambda: self._figure(lambda u: u.free / u.total if u.total else 0.0))

    def _figure(self, pick: Callable[[Usage], float]) -> float:
        """One figure of the usage now, NaN when it cannot be read (a scrape must not fail)."""
        try:
            return pick(self._usage(self.data_dir))
        except OSError:
            return float("nan")
