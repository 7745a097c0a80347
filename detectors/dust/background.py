"""A camera's scene model: its background without dust, the previous frame, and how a new frame compares with them."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tichwatch.config.dust import DustSettings
from tichwatch.detectors.dust.features import SUB, Features, Measures, cell_features, from_parts, measure


@dataclass(frozen=True)
class Comparison:
    """One frame measured against the scene model: features for the classifier and figures for camera health."""

    measures: Measures
    features: Features | None  # None while the background is still being learned
    luma_median: float  # median cell luma 0..255
    frame_diff: float | None  # mean absolute sub-block luma difference to the previous frame; None for the first
    sharpness_ratio: float | None  # edge energy per unit of low-frequency contrast, relative to the background
    featureless_fraction: float | None  # share of textured background cells that turned featureless
    view_match: float | None  # correlation of the edge layout with the background's, -1..1


class SceneModel:
    """Background (running averages of the measures of frames, cells that changed held back) and the previous frame.

    The background is not an image but the running averages of what is measured on frames: sub-block means and cell
    contrast. It is never measured itself, which halves the work per frame.
    """

    def __init__(self, settings: DustSettings, roi_cells: np.ndarray) -> None:
        """`roi_cells` (rows, cols) bool: the cells inside the region of interest (at least one)."""
        self.settings = settings
        self.roi_cells = roi_cells
        self.bg: Measures | None = None
        self.shape: tuple[int, ...] | None = None  # analysis image shape: a new frame size means a new background
        self.frames_learned = 0
        self.warmup: list[Measures] = []
        self.prev: Measures | None = None
        self.prev_features: Features | None = None

    @property
    def ready(self) -> bool:
        """Whether enough frames were learned to judge dust against the background."""
        return self.frames_learned >= self.settings.background_warmup_frames

    def reset(self) -> None:
        """Forget the background (new view, after darkness or a long gap); the previous frame is kept."""
        self.bg, self.frames_learned, self.warmup, self.prev_features = None, 0, [], None

    def compare(self, img: np.ndarray) -> Comparison:
        """Measure a float32 BGR analysis image against the background and the previous frame."""
        s = self.settings
        if self.shape is not None and self.shape != img.shape:
            self.reset()
            self.prev = None
        self.shape = img.shape
        cur = measure(img, s.grid_rows, s.grid_cols)
        frame_diff = None if self.prev is None else float(np.mean(np.abs(cur.sub[:, :, 3] - self.prev.sub[:, :, 3])))
        luma_median = float(np.median(cur.luma))
        bg = self.bg
        if bg is None:
            return Comparison(cur, None, luma_median, frame_diff, None, None, None)
        features = None
        if self.ready:
            features = cell_features(cur, bg, self.prev, self.prev_features, self.roi_cells)
        textured = bg.contrast > 2 * s.obstructed_contrast_max
        featureless = float(np.mean(cur.contrast[textured] <= s.obstructed_contrast_max)) if textured.any() else 0.0
        return Comparison(cur, features, luma_median, frame_diff, _sharpness(cur) / max(_sharpness(bg), 1e-6),
                          featureless, _correlation(cur.edge_small, bg.edge_small))

    def advance(self, comparison: Comparison) -> None:
        """Remember this frame as the previous one (whether or not it is learned)."""
        self.prev = comparison.measures
        if comparison.features is not None:
            self.prev_features = comparison.features

    def learn(self, comparison: Comparison, dt_s: float) -> None:
        """Blend a frame into the background; cells that changed a lot (plume, vehicle, shadow) blend in slowly.

        Which cells are held back depends on the change alone, never on the classifier, so training (which runs this
        same code) sees exactly the background dynamics of operation.
        """
        s, m = self.settings, comparison.measures
        if self.bg is None or self.frames_learned < s.background_warmup_frames:
            self.warmup.append(m)
            self.frames_learned += 1
            # the median of the first frames leaves out what only passed through (a truck in one of three frames)
            self.bg = from_parts(*(np.median(np.stack(parts), axis=0).astype(np.float32) for parts in
                                   zip(*((w.sub, w.contrast) for w in self.warmup))))
            if self.ready:
                self.warmup = []
            return
        self.frames_learned += 1
        alpha = 1.0 - math.exp(-max(dt_s, 0.0) / s.background_time_constant_s)
        slow = min(1.0 - math.exp(-max(dt_s, 0.0) / s.background_held_time_constant_s), alpha)
        rates = np.full(m.contrast.shape, alpha, np.float32)
        if comparison.features is not None:
            rates[comparison.features.peak >= s.background_hold_change] = slow
        bg = self.bg
        sub = bg.sub + np.repeat(np.repeat(rates, SUB, 0), SUB, 1)[:, :, None] * (m.sub - bg.sub)
        self.bg = from_parts(sub, bg.contrast + rates * (m.contrast - bg.contrast))


def _sharpness(m: Measures) -> float:
    """Edge energy per unit of low-frequency contrast: blur lowers it, haze and lighting (affine changes) do not."""
    return float(np.mean(m.edge)) / (float(np.std(m.luma_small)) + 1.0)


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two maps; 0 when either is flat."""
    a = a - a.mean()
    b = b - b.mean()
    den = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / den) if den > 1e-9 else 0.0
