"""Per-cell image measures and the features that describe what a plume does to a fixed scene.

A plume in front of a scene is a semi-transparent veil: out = (1 - a)·scene + a·dust. Against the camera's own
background it lowers contrast and edge energy while keeping the scene's structure (correlation stays positive), it
brightens dark ground, lowers saturation, lifts the dark channel (haze), shifts colour towards grey-brown, and it
persists where it was a minute ago. Lighting changes act on the whole frame, so every difference feature is taken
relative to the frame-wide median; cloud shadows darken without hazing; vehicles replace structure with sharp edges.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

FEATURE_NAMES: tuple[str, ...] = (
    "d_luma", "d_contrast", "d_edge", "d_sat", "d_dark", "d_warm", "structure_ncc", "change_rel", "change_abs",
    "change_peak", "peak_luma", "peak_edge", "peak_sat", "peak_diff_sharpness", "diff_sharpness", "motion_rel",
    "peak_nb_max", "prev_change_nb", "prev_peak_nb", "change_below", "bg_luma", "bg_texture", "bg_edge", "bg_sat",
    "global_change", "global_gain", "changed_fraction",
)
"""Column order of the feature matrix the classifier is trained on and applied to."""

_EPS_LUMA = 8.0  # grey levels: keeps ratios of dark cells from exploding on noise
_EPS_CONTRAST = 2.0
_CHANGED_REL = 0.08  # relative change above which a cell counts as changed for the frame-wide fraction
SUB = 4
"""Sub-blocks per cell side: the sub-block that changed most tells a small plume (soft, bright, grey) from a vehicle."""
_L, _L2, _E, _S, _D = 3, 4, 5, 6, 7  # channels of Measures.sub after B, G, R: luma, luma², edge, saturation, dark


@dataclass(frozen=True)
class Measures:
    """Per-cell and per-sub-block statistics of one analysis image plus the maps later comparisons need."""

    sub: np.ndarray  # (rows·SUB, cols·SUB, 8) means of B, G, R, luma, luma², edge, saturation, dark channel
    bgr: np.ndarray  # (rows, cols, 3) mean B, G, R
    luma: np.ndarray  # (rows, cols) mean luma
    contrast: np.ndarray  # (rows, cols) luma standard deviation
    edge: np.ndarray  # (rows, cols) mean gradient magnitude
    sat: np.ndarray  # (rows, cols) mean saturation 0..1
    dark: np.ndarray  # (rows, cols) mean dark channel (min of B, G, R)
    luma_map: np.ndarray  # (h, w) luma image
    edge_small: np.ndarray  # (2·rows, 2·cols) edge energy, for matching the view
    luma_small: np.ndarray  # (2·rows, 2·cols) luma, for the low-frequency contrast


@dataclass(frozen=True)
class Features:
    """The classifier's input for one frame and the change maps kept for the next frame."""

    matrix: np.ndarray  # (rows·cols, len(FEATURE_NAMES)) float32
    change_rel: np.ndarray  # (rows, cols) relative change against the background
    peak: np.ndarray  # (rows, cols) largest sub-block change, 0..1


def measure(img: np.ndarray, rows: int, cols: int) -> Measures:
    """Per-cell statistics of a float32 BGR analysis image."""
    luma = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    edge = _gradient(luma)
    b, g, r = cv2.split(img)
    hi = cv2.max(cv2.max(b, g), r)
    lo = cv2.min(cv2.min(b, g), r)
    sat = (hi - lo) / (hi + np.float32(_EPS_LUMA))
    size = (cols * SUB, rows * SUB)  # OpenCV's area resize takes at most 4 channels at non-integer scales
    sub = np.concatenate([cv2.resize(cv2.merge([b, g, r, luma]), size, interpolation=cv2.INTER_AREA),
                          cv2.resize(cv2.merge([cv2.multiply(luma, luma), edge, sat, lo]), size,
                                     interpolation=cv2.INTER_AREA)], axis=2)
    cells = sub.reshape(rows, SUB, cols, SUB, 8).mean(axis=(1, 3))
    mean_l = cells[:, :, _L]
    var = np.maximum(cells[:, :, _L2] - mean_l * mean_l, 0.0)
    small = sub[:, :, [_E, _L]].reshape(2 * rows, SUB // 2, 2 * cols, SUB // 2, 2).mean(axis=(1, 3))
    return Measures(sub=sub, bgr=cells[:, :, :3], luma=mean_l, contrast=np.sqrt(var), edge=cells[:, :, _E],
                    sat=cells[:, :, _S], dark=cells[:, :, _D], luma_map=luma, edge_small=small[:, :, 0],
                    luma_small=small[:, :, 1])


def cell_features(img: np.ndarray, cur: Measures, bg_img: np.ndarray, bg: Measures, prev_luma: np.ndarray | None,
                  previous: Features | None, roi_cells: np.ndarray) -> Features:
    """Compare a frame with its background, cell by cell; `roi_cells` (rows, cols) bool selects the frame-wide medians."""
    rows, cols = cur.luma.shape
    gain = _channel_gain(cur.bgr, bg.bgr, roi_cells)
    luma_gain = np.float32(np.dot(gain, (0.114, 0.587, 0.299)))
    sub_diff = cv2.resize(cv2.absdiff(img, bg_img * gain), (cols * SUB, rows * SUB),
                          interpolation=cv2.INTER_AREA).mean(axis=2)
    signed = cur.luma_map - bg.luma_map * luma_gain
    sub_grad = cv2.resize(_gradient(signed), (cols * SUB, rows * SUB), interpolation=cv2.INTER_AREA)
    diff = _blocks(sub_diff, rows, cols).mean(axis=2)
    grad = _blocks(sub_grad, rows, cols).mean(axis=2)
    at_peak = _blocks(sub_diff, rows, cols).argmax(axis=2)[..., None]

    def peak_of(sub_map: np.ndarray) -> np.ndarray:
        return np.take_along_axis(_blocks(sub_map, rows, cols), at_peak, axis=2)[..., 0]

    peak = peak_of(sub_diff)
    bg_luma = bg.luma * luma_gain + _EPS_LUMA
    peak_bg_luma = peak_of(bg.sub[:, :, _L]) * luma_gain + _EPS_LUMA
    cross = cv2.resize(cv2.multiply(cur.luma_map, bg.luma_map), (cols, rows), interpolation=cv2.INTER_AREA)
    ncc = (cross - cur.luma * bg.luma) / (cur.contrast * bg.contrast + 1.0)
    change_rel = diff / bg_luma
    if prev_luma is not None and prev_luma.shape == cur.luma_map.shape:
        motion = cv2.resize(cv2.absdiff(cur.luma_map, prev_luma), (cols, rows), interpolation=cv2.INTER_AREA)
    else:
        motion = np.zeros_like(diff)
    same_grid = previous is not None and previous.peak.shape == peak.shape
    prev_change = previous.change_rel if same_grid else change_rel
    prev_peak = previous.peak if same_grid else peak / 255.0
    cur_l = cur.luma + _EPS_LUMA

    def rel(x: np.ndarray) -> np.ndarray:
        return x - np.median(x[roi_cells])

    below = np.zeros_like(change_rel)
    below[:-1] = change_rel[1:]
    columns = [
        rel(np.log(cur_l / bg_luma)),
        rel(np.log((cur.contrast + _EPS_CONTRAST) / (bg.contrast * luma_gain + _EPS_CONTRAST))),
        rel(np.log((cur.edge + _EPS_CONTRAST) / (bg.edge * luma_gain + _EPS_CONTRAST))),
        rel(cur.sat - bg.sat),
        rel(cur.dark / cur_l - bg.dark / (bg.luma + _EPS_LUMA)),
        rel((cur.bgr[:, :, 2] - cur.bgr[:, :, 0]) / cur_l - (bg.bgr[:, :, 2] - bg.bgr[:, :, 0]) / (bg.luma + _EPS_LUMA)),
        np.clip(ncc, -1.0, 1.0),
        change_rel,
        diff / 255.0,
        peak / 255.0,
        (peak_of(cur.sub[:, :, _L]) + _EPS_LUMA) / peak_bg_luma - 1.0,
        np.log((peak_of(cur.sub[:, :, _E]) + _EPS_CONTRAST) / (peak_of(bg.sub[:, :, _E]) * luma_gain + _EPS_CONTRAST)),
        peak_of(cur.sub[:, :, _S]) - peak_of(bg.sub[:, :, _S]),
        peak_of(sub_grad) / (peak + _EPS_CONTRAST),
        grad / (diff + _EPS_CONTRAST),
        motion / bg_luma,
        _neighbourhood_max(peak / 255.0),
        _neighbourhood_max(prev_change),
        _neighbourhood_max(prev_peak),
        below,
        bg.luma / 255.0,
        bg.contrast / (bg.luma + _EPS_LUMA),
        bg.edge / (bg.luma + _EPS_LUMA),
        bg.sat,
    ]
    global_change = float(np.median(change_rel[roi_cells]))
    changed = float(np.mean(change_rel[roi_cells] > _CHANGED_REL))
    matrix = np.empty((rows * cols, len(FEATURE_NAMES)), np.float32)
    for i, col in enumerate(columns):
        matrix[:, i] = col.ravel()
    matrix[:, len(columns)] = global_change
    matrix[:, len(columns) + 1] = np.log(luma_gain)
    matrix[:, len(columns) + 2] = changed
    return Features(matrix=matrix, change_rel=change_rel, peak=peak / 255.0)


def roi_cell_fraction(polygon: list[tuple[float, float]] | None, rows: int, cols: int) -> np.ndarray:
    """Fraction (rows, cols) of each cell inside a region of interest given in image fractions; all ones without one."""
    if polygon is None:
        return np.ones((rows, cols), np.float32)
    scale = 16  # rasterise at 16 × 16 samples per cell
    mask = np.zeros((rows * scale, cols * scale), np.uint8)
    pts = np.array([(x * cols * scale, y * rows * scale) for x, y in polygon], np.float32)
    cv2.fillPoly(mask, [np.round(pts).astype(np.int32)], 1)
    return cv2.resize(mask.astype(np.float32), (cols, rows), interpolation=cv2.INTER_AREA)


def _channel_gain(cur_bgr: np.ndarray, bg_bgr: np.ndarray, roi_cells: np.ndarray) -> np.ndarray:
    """Per-channel brightness change of the whole frame: the median ratio of cell means (robust to a local plume)."""
    ratio = (cur_bgr[roi_cells] + _EPS_LUMA) / (bg_bgr[roi_cells] + _EPS_LUMA)
    return np.clip(np.median(ratio, axis=0), 0.2, 5.0).astype(np.float32)


def _gradient(luma: np.ndarray) -> np.ndarray:
    """Gradient magnitude (|dx| + |dy| of a 3×3 Sobel), in grey levels per pixel."""
    gx = cv2.Sobel(luma, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(luma, cv2.CV_32F, 0, 1, ksize=3)
    return (np.abs(gx) + np.abs(gy)) * np.float32(0.125)


def _blocks(sub_map: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """(rows·SUB, cols·SUB) → (rows, cols, SUB²): the sub-blocks of each cell side by side."""
    return sub_map.reshape(rows, SUB, cols, SUB).transpose(0, 2, 1, 3).reshape(rows, cols, SUB * SUB)


def _neighbourhood_max(x: np.ndarray) -> np.ndarray:
    """Maximum over each cell's 3×3 neighbourhood."""
    return cv2.dilate(x.astype(np.float32), np.ones((3, 3), np.uint8), borderType=cv2.BORDER_REPLICATE)
