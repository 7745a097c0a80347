"""Dust labels: an officer's answer about one frame, stored with the frame's feature rows and (bounded) JPEG.

A "dust" label names the cells with dust (or, without cells, the cells that visibly changed); those are the positive
rows, the cells away from them (not next to one) the negative ones. A "clear" label makes every judged cell a negative.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from tichwatch.detectors.dust.judgement import Judgement
from tichwatch.store.database import Connection, Row
from tichwatch.store.rows import Query

LABELS = ("dust", "clear")
"""What a frame can be labelled."""
SOURCES = ("officer", "alert.confirmed", "alert.false_alarm")
"""Where a label came from: an officer's label of a frame, or an answer to a dust alert."""


@dataclass(frozen=True)
class Label:
    """One labelled frame (without its arrays: see `training_rows`)."""

    id: int
    camera_id: str
    frame_ts: float
    label: str
    cells: list[tuple[int, int]] | None
    source: str
    alert_id: str | None
    feature_set: str
    created_ts: float
    created_by: str
    has_jpeg: bool


def _blob(a: np.ndarray) -> bytes:
    return np.ascontiguousarray(a).tobytes()


def save(conn: Connection, camera_id: str, j: Judgement, label: str, cells: Sequence[tuple[int, int]] | None,
         source: str, alert_id: str | None, actor: str, now: float, keep: int, jpeg_max_bytes: int) -> int:
    """Store (or replace) the label of a judged frame; keep only the camera's newest `keep` labels. Its id."""
    if label not in LABELS or source not in SOURCES:
        raise ValueError(f"label {label!r} from {source!r}")
    rows, cols = j.grid
    jpeg = j.jpeg if j.jpeg and len(j.jpeg) <= jpeg_max_bytes else None
    conn.execute("DELETE FROM dust_labels WHERE camera_id = ? AND frame_ts = ?", (camera_id, j.ts))
    cur = conn.execute(
        "INSERT INTO dust_labels (camera_id, frame_ts, label, cells, source, alert_id, feature_set, grid_rows, "
        "grid_cols, rows, probs, candidate, jpeg, created_ts, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
        "?, ?, ?) RETURNING id",
        (camera_id, j.ts, label, None if cells is None else json.dumps([list(c) for c in cells]), source, alert_id,
         j.feature_set, rows, cols, _blob(j.rows.astype(np.float32)), _blob(j.probs.astype(np.float32)),
         _blob(j.candidate.astype(np.bool_)), jpeg, now, actor))
    label_id = int(cur.fetchone()[0])
    conn.execute("DELETE FROM dust_labels WHERE camera_id = ? AND id NOT IN (SELECT id FROM dust_labels WHERE "
                 "camera_id = ? ORDER BY id DESC LIMIT ?)", (camera_id, camera_id, keep))
    return label_id


def _label(r: Row) -> Label:
    cells = None if r["cells"] is None else [(int(a), int(b)) for a, b in json.loads(r["cells"])]
    return Label(r["id"], r["camera_id"], r["frame_ts"], r["label"], cells, r["source"], r["alert_id"],
                 r["feature_set"], r["created_ts"], r["created_by"], bool(r["has_jpeg"]))


_COLUMNS = ("id, camera_id, frame_ts, label, cells, source, alert_id, feature_set, created_ts, created_by, "
            "jpeg IS NOT NULL AS has_jpeg")


def listed(query: Query, camera_id: str, limit: int) -> list[Label]:
    """The camera's labels, newest first."""
    return [_label(r) for r in query(f"SELECT {_COLUMNS} FROM dust_labels WHERE camera_id = ? ORDER BY id DESC "
                                     "LIMIT ?", (camera_id, limit))]


def count_since(query: Query, camera_id: str, since_ts: float) -> int:
    """Labels of the camera created after `since_ts`."""
    row = query("SELECT COUNT(*) FROM dust_labels WHERE camera_id = ? AND created_ts > ?", (camera_id, since_ts))
    return int(row[0][0])


def jpeg_of(query: Query, label_id: int) -> bytes | None:
    """The JPEG kept with a label (None when it was too large or the label is gone)."""
    rows = query("SELECT jpeg FROM dust_labels WHERE id = ?", (label_id,))
    return bytes(rows[0][0]) if rows and rows[0][0] is not None else None


@dataclass(frozen=True)
class LabelledRows:
    """The training rows of one labelled frame: per-cell rows, 1/0 labels, and which cells count at all."""

    frame_ts: float
    rows: np.ndarray
    y: np.ndarray
    use: np.ndarray  # (cells,) bool


def training_rows(query: Query, camera_id: str, feature_set: str, judged: np.ndarray) -> list[LabelledRows]:
    """Rows of every label of the camera made on `feature_set` (older feature sets cannot train this model).

    `judged` (rows, cols) bool: the cells the detector judges on this camera (ROI without ignored cells).
    """
    out = []
    for r in query("SELECT frame_ts, label, cells, grid_rows, grid_cols, rows, candidate FROM dust_labels "
                   "WHERE camera_id = ? AND feature_set = ? ORDER BY frame_ts", (camera_id, feature_set)):
        shape = (int(r["grid_rows"]), int(r["grid_cols"]))
        if shape != judged.shape:
            continue
        n = shape[0] * shape[1]
        rows = np.frombuffer(r["rows"], np.float32).reshape(n, -1)
        candidate = np.frombuffer(r["candidate"], np.bool_).reshape(shape)
        cells = None if r["cells"] is None else [(int(a), int(b)) for a, b in json.loads(r["cells"])]
        y, use = cell_targets(r["label"], cells, candidate, judged)
        if use.any():
            out.append(LabelledRows(r["frame_ts"], rows, y.ravel(), use.ravel()))
    return out


def cell_targets(label: str, cells: Sequence[tuple[int, int]] | None, candidate: np.ndarray,
                 judged: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-cell targets (rows, cols) of a label and which cells to use: see the module's docstring."""
    shape = judged.shape
    if label == "clear":
        return np.zeros(shape, np.int8), judged.copy()
    positive = np.zeros(shape, bool)
    if cells:
        for r, c in cells:
            if 0 <= r < shape[0] and 0 <= c < shape[1]:
                positive[r, c] = True
    else:
        positive = candidate.copy()
    positive &= judged
    near = cv2.dilate(positive.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    use = judged & (positive | ~near)
    return positive.astype(np.int8), use


def check_cells(cells: Sequence[Sequence[int]], rows: int, cols: int) -> list[tuple[int, int]]:
    """Cells as (row, col) pairs inside the grid; ValueError naming the first outside it."""
    out = []
    for cell in cells:
        if len(cell) != 2 or not (0 <= cell[0] < rows and 0 <= cell[1] < cols):
            raise ValueError(f"cell {list(cell)} is outside the {rows}x{cols} grid")
        out.append((int(cell[0]), int(cell[1])))
    return sorted(set(out))
