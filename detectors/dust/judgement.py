"""What the dust detector decided about one frame, cell by cell, and the shape of a model that can score the cells.

The learning loop (tichwatch.learning) stores labels with these rows and trains a per-camera model on them; the
detector keeps a bounded ring of recent judgements per camera and scores with a camera's own model when one is set.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class Judgement:
    """One judged frame: the per-cell rows the model scored, its per-cell output and the frame as received."""

    ts: float  # capture time, UTC epoch seconds
    rows: np.ndarray  # (cells, n_features) float32, as fed to the model (cells in row-major grid order)
    probs: np.ndarray  # (cells,) model output 0..1 (before the ROI, ignore mask and persistence)
    candidate: np.ndarray  # (cells,) bool: cells with visible change against the background
    feature_set: str  # name/hash of the feature set the rows belong to
    jpeg: bytes = b""  # the frame as received (for labels kept with their picture)
    grid: tuple[int, int] = (0, 0)  # (rows, cols) of the cell grid


class CellModel(Protocol):
    """A model that scores a frame's per-cell rows (the shipped one or a camera's own)."""

    @property
    def feature_set(self) -> str:
        """Name/hash of the feature set the model scores."""
        ...

    def predict(self, rows: np.ndarray) -> np.ndarray:
        """Dust probability (0..1) per row of a (cells, n_features) matrix."""
        ...
