"""Flood detector settings (the `flood:` block of the deployment file)."""
from __future__ import annotations

from pydantic import Field, model_validator

from tichwatch.config.base import StrictModel

HOUR_S = 3600


class FloodSettings(StrictModel):
    """Tuning of the flood-risk detectors; the same for every station."""

    # Alarm levels (báo động I/II/III and the record)
    hysteresis_m: float = Field(
        0.05, ge=0, description="How far below an alarm level the water must fall before the level is lowered, metres."
    )
    dwell_s: float = Field(
        2 * HOUR_S, ge=0,
        description="How long the water must stay below (level - hysteresis) before the level is lowered, seconds.",
    )

    # Trend and rapid rise
    trend_window_s: float = Field(3 * HOUR_S, gt=0, description="Window of the robust (Theil-Sen) rate, seconds.")
    trend_min_points: int = Field(
        3, ge=2, description="Fewest readings for a rate; older ones are borrowed when the window holds fewer."
    )
    trend_max_span_s: float = Field(
        12 * HOUR_S, gt=0,
        description="Longest span of readings a rate may use when readings are borrowed from before the window "
        "(stations that report every few hours), seconds.",
    )
    rapid_rise_m_per_h: float = Field(0.4, gt=0, description="Rate that raises `flood.rapid_rise`, metres per hour.")
    rapid_rise_clear_ratio: float = Field(
        0.5, gt=0, lt=1, description="`flood.rapid_rise` clears when the rate falls below this share of the raise rate."
    )
    rapid_rise_max_below_bd1_m: float = Field(
        2.0, ge=0,
        description="`flood.rapid_rise` is raised only when the level is at most this far below BD1 (or above it): "
        "a fast rise far below BD1 (a tide, a dam release) is no flood risk, metres.",
    )

    # Forecast and early warning
    forecast_horizon_s: float = Field(6 * HOUR_S, gt=0, description="How far ahead the early warning looks, seconds.")
    forecast_min_confidence: float = Field(
        0.7, gt=0, le=1,
        description="Probability of reaching the next level within the horizon that raises `flood.forecast` (0..1).",
    )
    forecast_clear_confidence: float = Field(
        0.4, ge=0, le=1, description="Probability below which an active `flood.forecast` is withdrawn (0..1)."
    )
    forecast_band_quantile: float = Field(
        0.9, gt=0.5, lt=1, description="Upper quantile of the ETA band; the lower one is 1 - this (0.9 = 10-90 %)."
    )
    forecast_eta_change_s: float = Field(
        HOUR_S, ge=0, description="Change of the predicted time that re-announces an active warning, seconds."
    )
    forecast_update_interval_s: float = Field(
        HOUR_S, ge=0, description="Shortest time between two re-announcements of one warning, seconds."
    )
    forecast_trend_persistence_s: float = Field(
        4 * HOUR_S, gt=0,
        description="Time constant with which the trend extrapolation lets a rise slow down (rises end; a straight "
        "line overstates the far end), seconds.",
    )
    forecast_learnt: bool = Field(
        False,
        description="Use the forecast learnt across rivers (the model file shipped in the package) for every "
        "station; false (the default) = each station's own model and the robust trend (the settings below), which "
        "still warns earlier on gauges neither was tuned on (README, flood forecast figures).",
    )
    forecast_warning_window_s: float = Field(
        6 * HOUR_S, gt=0,
        description="With the learnt forecast: the window whose probability of reaching the next level is compared "
        "with `forecast_min_confidence` (at most the horizon), seconds.",
    )
    forecast_online_rate: float = Field(
        0.5, ge=0, le=1,
        description="With the learnt forecast: how fast each station's own outcomes correct the model's log-odds "
        "on line (0 = never; the step of the log-loss gradient per resolved forecast, the correction bounded to "
        "+-1.5).",
    )
    forecast_use_model: bool = Field(
        True, description="Use each station's learnt model (below BD1); false = robust trend extrapolation only."
    )
    forecast_step_s: float = Field(
        1800, gt=0, description="Step of the model's forecast grid and of its training samples, seconds."
    )
    forecast_feature_windows_s: tuple[float, ...] = Field(
        (12 * HOUR_S, 24 * HOUR_S),
        description="Windows of the longer robust rates the model learns from besides the trend window (about one "
        "and two tidal cycles: over them a tide cancels out and a flood does not), seconds.",
    )
    forecast_model_trust_quantile: float = Field(
        0.0, ge=0, lt=0.5,
        description="The model is used only while the rates lie within these quantiles of its training data "
        "(q .. 1-q; 0 = the range seen); outside, the robust trend extrapolation is used.",
    )
    forecast_min_train_samples: int = Field(
        96, ge=8, description="Training samples a station's model needs before it replaces trend extrapolation."
    )
    forecast_max_train_samples: int = Field(
        2880, ge=16, description="Most recent training samples kept per station (older ones are forgotten)."
    )
    forecast_ridge_alpha: float = Field(1.0, gt=0, description="Ridge regularisation strength of the forecast model.")
    refit_interval_s: float = Field(
        24 * HOUR_S, gt=0, description="How often each station's model is refitted, seconds of data time."
    )

    # Sensor health
    offline_factor: float = Field(
        3.0, gt=1, description="A station is offline after this many expected intervals without a reading."
    )
    stuck_window_s: float = Field(
        24 * HOUR_S, gt=0,
        description="How long identical readings must last to count as a stuck sensor (calm rivers sit still for "
        "hours at centimetre resolution), seconds.",
    )
    stuck_min_readings: int = Field(6, ge=2, description="Fewest identical readings that can make a sensor stuck.")
    stuck_tolerance_m: float = Field(0.0, ge=0, description="Readings within this spread count as identical, metres.")
    spike_mad_k: float = Field(6.0, gt=0, description="Spike threshold in robust standard deviations (1.4826 x MAD).")
    spike_min_m: float = Field(
        1.0, gt=0, description="Smallest deviation from the robust trend line that can be a spike, metres."
    )
    spike_max_rate_m_per_h: float = Field(
        2.0, ge=0,
        description="Fastest real change allowed for on top of the trend, metres per hour since the last clean "
        "reading (so a real rise after a gap is not a spike).",
    )
    spike_confirm_readings: int = Field(
        2, ge=2, description="Consecutive outliers that, agreeing with each other, are taken as a real level shift."
    )
    battery_low_v: float = Field(11.5, description="Battery voltage below which `sensor.battery` is raised, volts.")
    battery_ok_v: float = Field(11.8, description="Battery voltage at or above which `sensor.battery` clears, volts.")
    clock_skew_max_s: float = Field(
        300, gt=0, description="Largest tolerated offset of a gateway's timestamps from the receive time, seconds."
    )
    clock_skew_readings: int = Field(
        3, ge=1,
        description="Receive batches (a backlog after an outage is one batch, judged by its newest reading) whose "
        "timestamps must all be off by more than the limit.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> FloodSettings:
        if self.forecast_clear_confidence > self.forecast_min_confidence:
            raise ValueError("forecast_clear_confidence must not exceed forecast_min_confidence")
        if self.battery_ok_v < self.battery_low_v:
            raise ValueError("battery_ok_v must be at least battery_low_v")
        if self.forecast_warning_window_s > self.forecast_horizon_s:
            raise ValueError("forecast_warning_window_s must not exceed forecast_horizon_s")
        if self.forecast_step_s > self.forecast_horizon_s:
            raise ValueError("forecast_step_s must not exceed forecast_horizon_s")
        if self.forecast_max_train_samples < self.forecast_min_train_samples:
            raise ValueError("forecast_max_train_samples must be at least forecast_min_train_samples")
        if any(w <= 0 for w in self.forecast_feature_windows_s):
            raise ValueError("forecast_feature_windows_s must be positive")
        return self
