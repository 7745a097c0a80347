"""Camera health: each condition (dark, frozen, blur, obstructed, moved) with its own raise/clear persistence."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from tichwatch.config.dust import DustSettings
from tichwatch.detectors.dust.background import Comparison

HealthKind = Literal["camera.offline", "camera.frozen", "camera.dark", "camera.blur", "camera.obstructed",
                     "camera.moved"]
HEALTH_KINDS: tuple[HealthKind, ...] = ("camera.offline", "camera.frozen", "camera.dark", "camera.blur",
                                        "camera.obstructed", "camera.moved")
"""Every camera-health detection kind, in the order they are checked."""


@dataclass
class Condition:
    """A condition raised after `raise_after` consecutive observations and cleared after `clear_after` without."""

    raise_after: int
    clear_after: int
    active: bool = False
    streak: int = 0  # consecutive observations agreeing with a change of state
    active_frames: int = 0  # frames since it was raised

    def observe(self, present: bool) -> bool | None:
        """Feed one observation; True when the condition is raised now, False when it clears now, else None."""
        if self.active:
            self.active_frames += 1
        if present == self.active:
            self.streak = 0
            return None
        self.streak += 1
        if self.streak < (self.clear_after if self.active else self.raise_after):
            return None
        return self.set(present)

    def set(self, active: bool) -> bool:
        """Force the state (e.g. cleared because the view was re-learned); returns the new state."""
        self.active, self.streak, self.active_frames = active, 0, 0
        return active


@dataclass
class CameraHealth:
    """The health conditions of one camera."""

    settings: DustSettings
    offline: bool = False
    frozen: Condition = field(init=False)
    dark: Condition = field(init=False)
    blur: Condition = field(init=False)
    obstructed: Condition = field(init=False)
    moved: Condition = field(init=False)

    def __post_init__(self) -> None:
        s = self.settings
        self.frozen = Condition(s.frozen_frames - 1, 1)  # n identical frames are n - 1 repeats
        self.dark = Condition(s.health_raise_frames, s.health_clear_frames)
        self.blur = Condition(s.health_raise_frames, s.health_clear_frames)
        self.obstructed = Condition(s.health_raise_frames, s.health_clear_frames)
        self.moved = Condition(s.health_raise_frames, s.health_clear_frames)

    def active(self) -> dict[str, bool]:
        """Each health kind and whether it is raised."""
        return {"camera.offline": self.offline, "camera.frozen": self.frozen.active, "camera.dark": self.dark.active,
                "camera.blur": self.blur.active, "camera.obstructed": self.obstructed.active,
                "camera.moved": self.moved.active}


def is_repeat(c: Comparison, s: DustSettings) -> bool:
    """Whether the frame is (near) identical to the previous one: a stuck camera re-sends the same picture."""
    return c.frame_diff is not None and c.frame_diff <= s.frozen_diff_max


def is_dark(c: Comparison, s: DustSettings, was_dark: bool) -> bool:
    """Whether the frame is too dark to judge dust (night), with hysteresis between the two luma thresholds."""
    return c.luma_median <= (s.dark_clear_luma_min if was_dark else s.dark_luma_max)


def is_blurred(c: Comparison, s: DustSettings) -> bool:
    """Whether the frame lost sharpness against the background (focus, water or dirt on the lens)."""
    return c.sharpness_ratio is not None and c.sharpness_ratio < s.blur_sharpness_ratio_max


def is_obstructed(c: Comparison, s: DustSettings) -> bool:
    """Whether much of the textured scene turned featureless (something on or in front of the lens)."""
    return c.featureless_fraction is not None and c.featureless_fraction >= s.obstructed_fraction_min


def is_moved(c: Comparison, s: DustSettings) -> bool:
    """Whether the layout of edges no longer matches the background (camera turned, zoomed or tampered with)."""
    return c.view_match is not None and c.view_match < s.moved_match_min
