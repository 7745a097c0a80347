"""A camera's scene model: its background without dust, the previous frame, and how a new frame compares with them."""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from detectors.dust.features import Features, Measures, cell_features, measure
from detectors.dust.settings import DustSettings


@dataclass(frozen=True)
class Comparison:
    """One frame measured against the scene model: features for the classifier and figures for camera health."""

    measures: Measures
    features: Features | None  # None while the background is still being learned
    luma_median: float  # median cell luma 0..255
    frame_diff: float | None  # mean absolute luma difference to the previous frame, None for the first frame
    sharpness_ratio: float | None  # edge energy per unit of low-frequency contrast, relative to the background
    featureless_fraction: float | None  # share of textured background cells that turned featureless
    view_match: float | None  # correlation of the edge layout with the background's, -1..1


class SceneModel:
    """Background (exponential average of cells not flagged as dust) and previous frame of one camera."""

    def __init__(self, settings: DustSettings, roi_cells: np.ndarray) -> None:
        """`roi_cells` (rows, cols) bool: the cells inside the region of interest (at least one)."""
        self.settings = settings
        self.roi_cells = roi_cells
        self.image: np.ndarray | None = None
        self.bg: Measures | None = None
        self.frames_learned = 0
        self.prev_luma: np.ndarray | None = None
        self.prev_features: Features | None = None

    @property
    def ready(self) -> bool:
        """Whether enough frames were learned to judge dust against the background."""
        return self.frames_learned >= self.settings.background_warmup_frames

    def reset(self) -> None:
        """Forget the background (new view, after darkness or a long gap); the previous frame is kept."""
        self.image, self.bg, self.frames_learned, self.prev_features = None, None, 0, None

    def compare(self, img: np.ndarray) -> Comparison:
        """Measure a float32 BGR analysis image against the background and the previous frame."""
        s = self.settings
        if self.image is not None and self.image.shape != img.shape:
            self.reset()
            self.prev_luma = None
        cur = measure(img, s.grid_rows, s.grid_cols)
        frame_diff = None if self.prev_luma is None else float(cv2.mean(cv2.absdiff(cur.luma_map, self.prev_luma))[0])
        luma_median = float(np.median(cur.luma))
        if self.bg is None or self.image is None:
            return Comparison(cur, None, luma_median, frame_diff, None, None, None)
        bg = self.bg
        features = None
        if self.ready:
            features = cell_features(img, cur, self.image, bg, self.prev_luma, self.prev_features, self.roi_cells)
        textured = bg.contrast > 2 * s.obstructed_contrast_max
        featureless = float(np.mean(cur.contrast[textured] <= s.obstructed_contrast_max)) if textured.any() else 0.0
        return Comparison(cur, features, luma_median, frame_diff, _sharpness(cur) / max(_sharpness(bg), 1e-6),
                          featureless, _correlation(cur.edge_small, bg.edge_small))

    def advance(self, comparison: Comparison) -> None:
        """Remember this frame as the previous one (whether or not it is learned)."""
        self.prev_luma = comparison.measures.luma_map
        if comparison.features is not None:
            self.prev_features = comparison.features

    def learn(self, img: np.ndarray, dt_s: float, flagged: np.ndarray | None = None) -> None:
        """Blend a frame into the background; `flagged` (rows, cols) cells (dust) blend in far more slowly."""
        s = self.settings
        if self.image is None:
            self.image = img.copy()
            self.frames_learned = 1
        elif self.frames_learned < s.background_warmup_frames:
            self.frames_learned += 1
            cv2.accumulateWeighted(img, self.image, 1.0 / self.frames_learned)
        else:
            self.frames_learned += 1
            alpha = 1.0 - math.exp(-max(dt_s, 0.0) / s.background_time_constant_s)
            if flagged is None or not flagged.any():
                cv2.accumulateWeighted(img, self.image, alpha)
            else:
                slow = min(1.0 - math.exp(-max(dt_s, 0.0) / s.background_flagged_time_constant_s), alpha)
                cv2.accumulateWeighted(img, self.image, slow)
                rest = 1.0 - (1.0 - alpha) / (1.0 - slow)  # so that clear cells get `alpha` in total
                h, w = img.shape[:2]
                mask = cv2.resize((~flagged).astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST)
                cv2.accumulateWeighted(img, self.image, rest, mask=mask)
        self.bg = measure(self.image, s.grid_rows, s.grid_cols)


def _sharpness(m: Measures) -> float:
    """Edge energy per unit of low-frequency contrast: blur lowers it, haze and lighting (affine changes) do not."""
    return float(np.mean(m.edge)) / (float(np.std(m.luma_small)) + 1.0)


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two maps; 0 when either is flat."""
    a = a - a.mean()
    b = b - b.mean()
    den = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / den) if den > 1e-9 else 0.0
