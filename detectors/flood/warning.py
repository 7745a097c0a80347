"""The early-warning decision: when a forecast raises, re-announces or withdraws `flood.forecast` (pure)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from tichwatch.config.flood import FloodSettings
from tichwatch.detectors.flood.forecast import Forecast
from tichwatch.detectors.flood.levels import LEVEL_NAMES

Action = Literal["raise", "update", "clear"]
"""What a warning step did to `flood.forecast`."""


@dataclass(frozen=True, slots=True)
class WarningState:
    """An active early warning (the level it warns of, since when) or none."""

    level: str | None = None  # the alarm level warned of; None = no warning
    since_ts: float | None = None  # when the warning for this level began
    announced_ts: float | None = None  # when it was last announced (raise or update)
    announced_eta_s: float | None = None  # the ETA then

    @property
    def active(self) -> bool:
        """Is a warning out?"""
        return self.level is not None


@dataclass(frozen=True, slots=True)
class WarningStep:
    """What the decision did and why."""

    state: WarningState
    action: Action | None
    reason: str


def qualifies(fc: Forecast | None, settings: FloodSettings) -> bool:
    """Is this forecast confident enough to warn (the level is predicted within the horizon)?"""
    return fc is not None and fc.eta_s is not None and fc.p_reach >= settings.forecast_min_confidence


def still_holds(fc: Forecast | None, settings: FloodSettings) -> bool:
    """Does an active warning's forecast still hold (the river still rises and reaching the level is still likely)?"""
    return fc is not None and fc.rate_m_per_h > 0 and fc.p_reach >= settings.forecast_clear_confidence


def step_warning(state: WarningState, fc: Forecast | None, ts: float, settings: FloodSettings) -> WarningStep:
    """Advance the warning by one forecast (None: no forecast possible, e.g. at the top level or without a rate)."""
    if not state.active:
        if fc is not None and qualifies(fc, settings):
            return WarningStep(_announce(fc, ts, ts), "raise", f"{fc.next_level} predicted within the horizon")
        return WarningStep(state, None, "")
    if fc is None or fc.next_level != state.level:
        # The warned level was reached (the level alert takes over) or the target changed: warn of the new one only
        # if it qualifies on its own.
        reached = fc is not None and LEVEL_NAMES.index(fc.next_level) > LEVEL_NAMES.index(state.level)
        before = f"{state.level} reached; " if reached else ""
        if fc is not None and qualifies(fc, settings):
            return WarningStep(_announce(fc, ts, ts), "update", f"{before}{fc.next_level} predicted within the horizon")
        return WarningStep(WarningState(), "clear", f"{state.level} reached" if reached else
                           f"{state.level} no longer the next level")
    if not still_holds(fc, settings):
        why = "river no longer rising" if fc.rate_m_per_h <= 0 else "reaching the level no longer likely"
        return WarningStep(WarningState(), "clear", why)
    if _material_change(state, fc, ts, settings):
        return WarningStep(_announce(fc, ts, state.since_ts or ts), "update", "predicted time changed")
    return WarningStep(state, None, "")


def _announce(fc: Forecast, ts: float, since_ts: float) -> WarningState:
    return WarningState(fc.next_level, since_ts, ts, fc.eta_s)


def _material_change(state: WarningState, fc: Forecast, ts: float, settings: FloodSettings) -> bool:
    if state.announced_ts is not None and ts - state.announced_ts < settings.forecast_update_interval_s:
        return False
    if (fc.eta_s is None) != (state.announced_eta_s is None):
        return True
    if fc.eta_s is None or state.announced_eta_s is None:
        return False
    # Compare with what the ETA should be by now, so a forecast that is simply coming true is not re-announced.
    expected = state.announced_eta_s - (ts - (state.announced_ts or ts))
    return abs(fc.eta_s - expected) >= settings.forecast_eta_change_s
