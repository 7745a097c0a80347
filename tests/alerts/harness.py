"""Helpers of the alert tests: settings with people receivers, a clock the test moves, a runtime on a real store."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support import make_settings
from tichwatch.alerts import storage
from tichwatch.alerts.model import Alert
from tichwatch.alerts.runtime import AlertRuntime
from tichwatch.app.schema import open_store
from tichwatch.config.schema import Settings
from tichwatch.core.detection import Detection, Severity
from tichwatch.core.metrics import Metrics
from tichwatch.store.database import Row

T0 = 1_790_000_000.0
"""A fixed start time (2026-09-21 21:13 in Hanoi)."""

LEVEL_SEVERITY = {"BD1": Severity.WARNING, "BD2": Severity.CRITICAL, "BD3": Severity.EMERGENCY}


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = T0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        """Move on and return the new time."""
        self.now += seconds
        return self.now


def log_receiver(name: str, **extra: Any) -> dict[str, Any]:
    """A receiver on the log channel (always accepts)."""
    return {"name": name, "channel": {"type": "log"}, **extra}


def people_settings(data_dir: Path, port: int = 1883, **alerts: Any) -> Settings:
    """Settings whose alerts go to a duty officer (all alerts) and admin (delivery failures), both on the log."""
    block: dict[str, Any] = {
        "receivers": [log_receiver("duty"), log_receiver("vicechair"), log_receiver("chair"), log_receiver("admin")],
        "routes": [{"match": {"kinds": ["flood.", "sensor.", "camera.", "dust."]}, "receivers": ["duty"]},
                   {"match": {"kinds": ["delivery."]}, "receivers": ["admin"]}],
        "resolve_hold_s": 0,
    }
    block.update(alerts)
    return make_settings(data_dir, port, alerts=block)


def flood_level(subject: str, level: str | None, ts: float, value: float = 7.5) -> Detection:
    """A flood.level detection (None clears)."""
    return Detection("flood.level", subject, ts, level is not None, LEVEL_SEVERITY.get(level or "", Severity.INFO),
                     value, "m", level, f"at {level}", {"level_m": value, "rate_m_per_h": 0.1})


def detection(kind: str, subject: str, ts: float, active: bool = True,
              severity: Severity = Severity.WARNING) -> Detection:
    """Any detection."""
    return Detection(kind, subject, ts, active, severity if active else Severity.INFO, 1.0, "", reason=kind)


class Harness:
    """A store and an alert runtime driven by the test's clock (no threads)."""

    def __init__(self, settings: Settings, clock: Clock | None = None, env: dict[str, str] | None = None,
                 **runtime: Any):
        self.settings = settings
        self.clock = clock or Clock()
        self.store = open_store(settings.store.data_dir)
        self.metrics = Metrics()
        self.runtime = AlertRuntime(settings, self.store, self.metrics, clock=self.clock, env=env or {}, **runtime)

    def metric(self, name: str, **labels: str) -> float | None:
        """A sample of the runtime's metrics."""
        return self.metrics.registry.get_sample_value(name, labels)

    def detect(self, *detections: Detection) -> None:
        """Apply detections at the clock's time, as the pipeline would."""
        with self.store.transaction() as conn:
            self.runtime.engine.apply(conn, detections, self.clock())

    def tick(self, advance_s: float = 0.0) -> None:
        """Move the clock and tick."""
        self.runtime.tick(self.clock.advance(advance_s))

    def act(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run an action in a transaction."""
        with self.store.transaction() as conn:
            return fn(conn, *args)

    def rows(self, receiver: str | None = None) -> list[Row]:
        """Outbox rows, oldest first."""
        if receiver is None:
            return self.store.query_all("SELECT * FROM notifications ORDER BY id")
        return self.store.query_all("SELECT * FROM notifications WHERE receiver = ? ORDER BY id", (receiver,))

    def notices(self, receiver: str) -> list[str]:
        """What a receiver was sent, in order."""
        return [r["notice"] for r in self.rows(receiver)]

    def open_alert(self, kind: str, subject: str) -> Alert | None:
        """The open alert of a key."""
        return storage.open_alert(self.store.query_all, kind, subject)

    def all_alerts(self) -> list[Alert]:
        """Every alert, newest first."""
        return storage.find_alerts(self.store.query_all, storage.AlertFilter(limit=1000))

    def log(self, alert_id: str) -> list[str]:
        """Audit actions of an alert."""
        return [e.action for e in storage.audit_of(self.store.query_all, alert_id)]

    def close(self) -> None:
        """Stop delivery threads a test started (none leaks into the next test), then close the store."""
        self.runtime.delivery.stop(5)
        self.store.close()
