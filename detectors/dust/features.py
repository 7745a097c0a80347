"""Per-cell image measures and the features that describe what a plume does to a fixed scene.

A plume in front of a scene is a semi-transparent veil: out = (1 - a)·scene + a·dust. Against the camera's own
background it lowers contrast and edge energy while keeping the scene's structure (correlation stays positive), it
brightens dark ground, lowers saturation, lifts the dark channel (haze), shifts colour towards grey-brown, and it
persists where it was a minute ago. Sunlight scales the whole frame and rain or fog add a uniform veil, so brightness is
compared after a frame-wide fit of both; cloud shadows darken without hazing; vehicles replace structure with sharp
edges. Everything is measured on sub-blocks of a few pixels, which a camera shaking by a pixel barely changes.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

FEATURE_NAMES: tuple[str, ...] = (
    "d_luma", "d_contrast", "d_cv", "d_edge", "d_sat", "d_dark", "d_warm", "structure_ncc", "change_rel", "change_abs",
    "change_peak", "peak_luma", "peak_edge", "peak_sat", "peak_diff_sharpness", "diff_sharpness", "motion_rel",
    "peak_nb_max", "prev_change_nb", "prev_peak_nb", "change_below", "bg_luma", "bg_texture", "bg_edge", "bg_sat",
    "row_fraction", "global_change", "global_slope", "global_offset", "changed_fraction",
)
"""Column order of the feature matrix the classifier is trained on and applied to."""

SUB = 4
"""Sub-blocks per cell side: the sub-block that changed most tells a small plume (soft, bright, grey) from a vehicle."""
_EPS_LUMA = 8.0  # grey levels: keeps ratios of dark cells from exploding on noise
_EPS_CONTRAST = 2.0
_CHANGED_REL = 0.08  # relative change above which a cell counts as changed for the frame-wide fraction
_B, _G, _R, _L, _L2, _E = range(6)  # channels of Measures.sub: B, G, R, luma, luma², edge


@dataclass(frozen=True)
class Measures:
    """Sub-block and cell statistics of one analysis image (or of a background: running averages of them)."""

    sub: np.ndarray  # (rows·SUB, cols·SUB, 6) sub-block means of B, G, R, luma, luma², edge
    sub_sat: np.ndarray  # (rows·SUB, cols·SUB) saturation 0..1 of the sub-block mean colour
    bgr: np.ndarray  # (rows, cols, 3) mean B, G, R
    luma: np.ndarray  # (rows, cols) mean luma
    contrast: np.ndarray  # (rows, cols) luma standard deviation
    edge: np.ndarray  # (rows, cols) mean gradient magnitude
    sat: np.ndarray  # (rows, cols) mean saturation 0..1
    dark: np.ndarray  # (rows, cols) mean dark channel (min of B, G, R of the sub-blocks)
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
    size = (cols * SUB, rows * SUB)  # OpenCV's area resize takes at most 4 channels at non-integer scales
    sub = np.concatenate([cv2.resize(img, size, interpolation=cv2.INTER_AREA),
                          cv2.resize(cv2.merge([luma, cv2.multiply(luma, luma), _gradient(luma)]), size,
                                     interpolation=cv2.INTER_AREA)], axis=2)
    cells = _cell_mean(sub[:, :, _L:_E], rows, cols)
    contrast = np.sqrt(np.maximum(cells[:, :, 1] - cells[:, :, 0] ** 2, 0.0))
    return from_parts(sub, contrast)


def from_parts(sub: np.ndarray, contrast: np.ndarray) -> Measures:
    """Measures from sub-block means and cell contrast (all else derives from them).

    A background is kept as running averages of exactly these two parts, so it never has to be measured again.
    """
    rows, cols = contrast.shape
    hi = np.maximum(np.maximum(sub[:, :, _B], sub[:, :, _G]), sub[:, :, _R])
    lo = np.minimum(np.minimum(sub[:, :, _B], sub[:, :, _G]), sub[:, :, _R])
    sub_sat = (hi - lo) / (hi + _EPS_LUMA)
    cells = _cell_mean(np.dstack([sub, sub_sat, lo]), rows, cols)
    small = cv2.resize(np.ascontiguousarray(sub[:, :, [_E, _L]]), (2 * cols, 2 * rows), interpolation=cv2.INTER_AREA)
    return Measures(sub=sub, sub_sat=sub_sat, bgr=cells[:, :, :3], luma=cells[:, :, _L], contrast=contrast,
                    edge=cells[:, :, _E], sat=cells[:, :, 6], dark=cells[:, :, 7], edge_small=small[:, :, 0],
                    luma_small=small[:, :, 1])


def cell_features(cur: Measures, bg: Measures, prev: Measures | None, previous: Features | None,
                  roi_cells: np.ndarray) -> Features:
    """Compare a frame with its background (and the previous frame), cell by cell.

    `roi_cells` (rows, cols) bool selects the cells the frame-wide fit and medians are taken over.
    """
    rows, cols = cur.luma.shape
    gain, offset = _global_light(bg.luma, cur.luma, roi_cells)
    slope = float(np.mean(gain))
    sub_gain = np.repeat(np.repeat(gain, SUB, 0), SUB, 1)
    lum = cur.sub[:, :, _L]
    lum_bg = np.maximum(bg.sub[:, :, _L] * sub_gain + offset, 0.0)
    signed = lum - lum_bg
    sub_diff = np.abs(signed)
    sub_grad = _gradient(sub_diff)
    blocks = _blocks(sub_diff, rows, cols)
    at_peak = blocks.argmax(axis=2)
    peak_y = np.arange(rows)[:, None] * SUB + at_peak // SUB  # sub-grid position of each cell's most changed block
    peak_x = np.arange(cols)[None, :] * SUB + at_peak % SUB

    def peak_of(sub_map: np.ndarray) -> np.ndarray:
        result: np.ndarray = sub_map[peak_y, peak_x]
        return result

    peak = peak_of(sub_diff)
    means = _cell_mean(np.dstack([sub_diff, sub_grad, np.abs(lum - (lum if prev is None else prev.sub[:, :, _L]))]),
                       rows, cols)
    diff = means[:, :, 0]
    bg_luma = np.maximum(bg.luma * gain + offset, 0.0) + _EPS_LUMA
    ncc = _block_correlation(_blocks(lum, rows, cols), _blocks(bg.sub[:, :, _L], rows, cols))
    change_rel = diff / bg_luma
    motion = diff if prev is None else means[:, :, 2]
    if previous is not None and previous.peak.shape == peak.shape:
        prev_change, prev_peak = previous.change_rel, previous.peak
    else:
        prev_change, prev_peak = change_rel, peak / 255.0
    cur_l = cur.luma + _EPS_LUMA

    def rel(x: np.ndarray) -> np.ndarray:
        result: np.ndarray = x - np.median(x[roi_cells])
        return result

    below = np.zeros_like(change_rel)
    below[:-1] = change_rel[1:]
    columns = [
        rel(np.log(cur_l / bg_luma)),
        rel(np.log((cur.contrast + _EPS_CONTRAST) / (bg.contrast * gain + _EPS_CONTRAST))),
        rel(np.log((cur.contrast + _EPS_CONTRAST) / cur_l) - np.log((bg.contrast * gain + _EPS_CONTRAST) / bg_luma)),
        rel(np.log((cur.edge + _EPS_CONTRAST) / (bg.edge * gain + _EPS_CONTRAST))),
        rel(cur.sat - bg.sat),
        rel(cur.dark / cur_l - bg.dark / (bg.luma + _EPS_LUMA)),
        rel((cur.bgr[:, :, _R] - cur.bgr[:, :, _B]) / cur_l
            - (bg.bgr[:, :, _R] - bg.bgr[:, :, _B]) / (bg.luma + _EPS_LUMA)),
        ncc,
        change_rel,
        diff / 255.0,
        peak / 255.0,
        peak_of(signed) / (peak_of(lum_bg) + _EPS_LUMA),
        np.log((peak_of(cur.sub[:, :, _E]) + _EPS_CONTRAST) / (peak_of(bg.sub[:, :, _E] * sub_gain) + _EPS_CONTRAST)),
        peak_of(cur.sub_sat) - peak_of(bg.sub_sat),
        peak_of(sub_grad) / (peak + _EPS_CONTRAST),
        means[:, :, 1] / (diff + _EPS_CONTRAST),
        motion / bg_luma,
        _neighbourhood_max(peak / 255.0),
        _neighbourhood_max(prev_change),
        _neighbourhood_max(prev_peak),
        below,
        bg.luma / 255.0,
        bg.contrast / (bg.luma + _EPS_LUMA),
        bg.edge / (bg.luma + _EPS_LUMA),
        bg.sat,
        np.repeat((np.arange(rows, dtype=np.float32)[:, None] + 0.5) / rows, cols, axis=1),
    ]
    global_change = float(np.median(change_rel[roi_cells]))
    changed = float(np.mean(change_rel[roi_cells] > _CHANGED_REL))
    matrix = np.empty((rows * cols, len(FEATURE_NAMES)), np.float32)
    for i, col in enumerate(columns):
        matrix[:, i] = col.ravel()
    matrix[:, len(columns)] = global_change
    matrix[:, len(columns) + 1] = np.log(slope)
    matrix[:, len(columns) + 2] = offset / 255.0
    matrix[:, len(columns) + 3] = changed
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


def _global_light(bg: np.ndarray, cur: np.ndarray, roi_cells: np.ndarray) -> tuple[np.ndarray, float]:
    """Fit cur ≈ gain(x, y)·bg + offset over cell luma means; return the gain per cell (rows, cols) and the offset.

    Sunlight scales the scene, by a gain that may vary smoothly across the view (a low sun), and rain or fog add a
    uniform veil (the offset). The fit is refined on the half of the cells that fit best, twice, so a local plume or a
    large cloud shadow does not bend it: what remains after it is local, which is what a plume is.
    """
    rows, cols = bg.shape
    ys, xs = np.mgrid[-1:1:rows * 1j, -1:1:cols * 1j]
    x, y = bg[roi_cells], cur[roi_cells]
    if x.size < 8 or float(np.std(x)) < 4.0:  # too few or too uniform cells to separate gain and offset
        gain = float(np.clip((np.median(y) + _EPS_LUMA) / (np.median(x) + _EPS_LUMA), 0.2, 5.0))
        return np.full(bg.shape, gain, np.float32), 0.0
    design = np.stack([x, x * xs[roi_cells], x * ys[roi_cells], np.ones_like(x)], axis=1)
    keep = np.ones(x.size, bool)
    coef = np.array([1.0, 0.0, 0.0, 0.0])
    for _ in range(3):
        coef = np.linalg.lstsq(design[keep], y[keep], rcond=None)[0]
        residual = np.abs(y - design @ coef)
        keep = residual <= np.quantile(residual, 0.5)
    gain = np.clip(coef[0] + coef[1] * xs + coef[2] * ys, 0.2, 5.0).astype(np.float32)
    return gain, float(np.clip(coef[3], -128.0, 128.0))


def _gradient(luma: np.ndarray) -> np.ndarray:
    """Gradient magnitude (|dx| + |dy| of a 3×3 Sobel), in grey levels per pixel."""
    gx = cv2.Sobel(luma, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(luma, cv2.CV_32F, 0, 1, ksize=3)
    return (np.abs(gx) + np.abs(gy)) * np.float32(0.125)


def _cell_mean(sub_maps: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Mean over each cell's SUB × SUB sub-blocks of a (rows·SUB, cols·SUB, k) array → (rows, cols, k)."""
    result: np.ndarray = sub_maps.reshape(rows, SUB, cols, SUB, -1).sum(axis=(1, 3)) * np.float32(1.0 / (SUB * SUB))
    return result


def _blocks(sub_map: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """(rows·SUB, cols·SUB) → (rows, cols, SUB²): the sub-blocks of each cell side by side."""
    return sub_map.reshape(rows, SUB, cols, SUB).transpose(0, 2, 1, 3).reshape(rows, cols, SUB * SUB)


def _block_correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Correlation (rows, cols) of the sub-block layouts of two (rows, cols, SUB²) arrays; 0 where either is flat."""
    a = a - a.mean(axis=2, keepdims=True)
    b = b - b.mean(axis=2, keepdims=True)
    result: np.ndarray = (a * b).sum(axis=2) / (np.sqrt((a * a).sum(axis=2) * (b * b).sum(axis=2)) + 1.0)
    return result


def _neighbourhood_max(x: np.ndarray) -> np.ndarray:
    """Maximum over each cell's 3×3 neighbourhood."""
    return cv2.dilate(x.astype(np.float32), np.ones((3, 3), np.uint8), borderType=cv2.BORDER_REPLICATE)
