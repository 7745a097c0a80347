"""Pretrained image features for the dust detector: EfficientNet-Lite0 (ImageNet) run by OpenCV's DNN module.

The network ships as `backbone.onnx` beside this module (exported once by tools/dust_backbone_export.py; int8 weights,
about 3.5 MB; no torch and no download at run time). One pass over a frame resized to (cols·32, rows·32) gives a
1280-dimensional embedding per cell of the detector's grid (the network's stride is 32): what the cell looks like,
learnt on millions of photos. Against the camera's own background, kept as a running average of these embeddings,
the change of a cell is measured in the same space (`EmbeddingBackground`).
"""
from __future__ import annotations

import hashlib
import json
import math
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from tichwatch.detectors.dust.jpeg import decode_reduced

BACKBONE_PATH = Path(__file__).with_name("backbone.onnx")
"""The shipped feature extractor (input N×3×H×W RGB scaled to −1..1; output N×1280×H/32×W/32)."""
EMBED_DIM = 1280
"""Channels of the backbone's head: the length of a cell embedding."""
STRIDE = 32
"""Pixels of input per cell of the output map."""


class Backbone:
    """The feature extractor; one OpenCV network per thread (a cv2.dnn.Net must not be shared between threads)."""

    def __init__(self, path: Path = BACKBONE_PATH) -> None:
        """Read the network file (raise FileNotFoundError when it is missing)."""
        self.path = path
        self.data = path.read_bytes()
        self.sha256 = hashlib.sha256(self.data).hexdigest()
        self._local = threading.local()

    def _net(self) -> cv2.dnn.Net:
        net = getattr(self._local, "net", None)
        if net is None:
            net = cv2.dnn.readNetFromONNX(np.frombuffer(self.data, np.uint8))
            net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
            net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
            self._local.net = net
        return net

    def cell_embeddings(self, bgr: np.ndarray, rows: int, cols: int) -> np.ndarray:
        """Embeddings (rows·cols, EMBED_DIM) float32 of a BGR image (uint8 or float 0..255), cells in row-major order.

        The image is resized to (cols·32, rows·32): the output map then has exactly one position per cell.
        """
        image = cv2.resize(bgr, (cols * STRIDE, rows * STRIDE), interpolation=cv2.INTER_AREA)
        blob = cv2.dnn.blobFromImage(image.astype(np.float32), 1.0 / 127.5, mean=(127.5, 127.5, 127.5), swapRB=True)
        net = self._net()
        net.setInput(blob)
        out = np.asarray(net.forward(), np.float32)  # (1, EMBED_DIM, rows, cols)
        result: np.ndarray = out[0].reshape(EMBED_DIM, rows * cols).T.copy()
        return result


def cosine_change(emb: np.ndarray, bg: np.ndarray) -> np.ndarray:
    """1 − cosine similarity per row of two (cells, EMBED_DIM) arrays: 0 unchanged, up to 1 (features are ≥ 0)."""
    num = (emb * bg).sum(axis=1)
    den = np.linalg.norm(emb, axis=1) * np.linalg.norm(bg, axis=1) + 1e-6
    result: np.ndarray = (1.0 - num / den).astype(np.float32)
    return result


def blend_background(mean: np.ndarray | None, emb: np.ndarray, held: np.ndarray, dt_s: float, time_constant_s: float,
                     held_time_constant_s: float) -> np.ndarray:
    """A camera's background in embedding space after one more frame: the running average of its cells' embeddings.

    `held` (cells,) bool marks cells that changed: they blend in at the slow rate, as in the scene model, so a plume
    does not become background while it is judged. The first frame (mean None) starts it. A new array is returned;
    the old one is never edited (the detector's checkpoints share it).
    """
    if mean is None or mean.shape != emb.shape:
        return emb.copy()
    alpha = 1.0 - math.exp(-max(dt_s, 0.0) / time_constant_s)
    slow = min(1.0 - math.exp(-max(dt_s, 0.0) / held_time_constant_s), alpha)
    rates = np.where(held, slow, alpha).astype(np.float32)[:, None]
    result: np.ndarray = mean + rates * (emb - mean)
    return result


HEAD_PATH = Path(__file__).with_name("backbone_head.npz")
"""The shipped cell head over backbone features (trained by `python -m tichwatch.tools.dust_train --head`)."""
HEAD_COLUMNS = ("bb_p", "bb_change")
"""Columns the backbone adds to a cell's row after the hand-made features: the head's probability and the cosine
change of the cell's embedding against the camera's background embedding."""


@dataclass(frozen=True)
class BackboneHead:
    """PCA of the embedding and of its difference from the background, then a logistic regression: numpy only."""

    emb_mean: np.ndarray  # (EMBED_DIM,)
    emb_axes: np.ndarray  # (k, EMBED_DIM)
    diff_mean: np.ndarray
    diff_axes: np.ndarray
    coef: np.ndarray  # (2k + 1,)
    intercept: float
    info: dict[str, str] = field(default_factory=dict)

    def inputs(self, emb: np.ndarray, diff: np.ndarray, change: np.ndarray) -> np.ndarray:
        """The logistic regression's input rows (cells, 2k + 1)."""
        return np.hstack([(emb - self.emb_mean) @ self.emb_axes.T, (diff - self.diff_mean) @ self.diff_axes.T,
                          change[:, None] * CHANGE_SCALE]).astype(np.float32)

    def predict(self, emb: np.ndarray, diff: np.ndarray, change: np.ndarray) -> np.ndarray:
        """Dust probability per cell (cells,) float32."""
        z = self.inputs(emb, diff, change) @ self.coef + self.intercept
        result: np.ndarray = (1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))).astype(np.float32)
        return result

    def save(self, path: Path) -> None:
        """Write as a compressed .npz (float32 arrays and the info as JSON)."""
        np.savez_compressed(path, emb_mean=self.emb_mean, emb_axes=self.emb_axes, diff_mean=self.diff_mean,
                            diff_axes=self.diff_axes, coef=self.coef, intercept=np.float32(self.intercept),
                            info=np.array(json.dumps(self.info, sort_keys=True)))

    @classmethod
    def load(cls, path: Path = HEAD_PATH) -> BackboneHead:
        """Read a head written by `save`."""
        with np.load(path, allow_pickle=False) as z:
            f32 = np.float32
            return cls(z["emb_mean"].astype(f32), z["emb_axes"].astype(f32), z["diff_mean"].astype(f32),
                       z["diff_axes"].astype(f32), z["coef"].astype(f32), float(z["intercept"]),
                       json.loads(str(z["info"])))


CHANGE_SCALE = 10.0
"""The cosine change is multiplied by this in the head's input (its range is a tenth of the PCA scores')."""


HOLD_CHANGE = 0.12
"""Cosine change above which a cell is held back from the embedding background (a plume, a truck, a shadow)."""
DECODE_BOX_PX = 640
"""Frames are decoded fitted in this square (reduced JPEG decoding) before being resized for the backbone."""


def frame_image(jpeg: bytes) -> np.ndarray:
    """BGR uint8 image of a JPEG fitted in DECODE_BOX_PX (raises JpegError like the detector's own decoding)."""
    image, _ = decode_reduced(jpeg, DECODE_BOX_PX)
    return image


@dataclass(frozen=True)
class BackboneCells:
    """What the backbone says about one frame's cells."""

    columns: np.ndarray  # (cells, 2k + 2) float32: the head's inputs and its probability (last column)
    prob: np.ndarray  # (cells,) the head's dust probability
    change: np.ndarray  # (cells,) cosine change against the background
    background: np.ndarray  # (cells, EMBED_DIM) the background after this frame


class BackboneScorer:
    """The backbone and its head: per-cell columns appended to the hand-made features, and the camera's background."""

    def __init__(self, backbone_path: Path = BACKBONE_PATH, head_path: Path = HEAD_PATH) -> None:
        """Load the network and the head (both ship with the package)."""
        self.backbone = Backbone(backbone_path)
        self.head = BackboneHead.load(head_path)
        self.name = f"bb-{self.backbone.sha256[:8]}-{hashlib.sha256(head_path.read_bytes()).hexdigest()[:8]}"

    def cells(self, image: np.ndarray, rows: int, cols: int, background: np.ndarray | None, held: np.ndarray,
              dt_s: float, time_constant_s: float, held_time_constant_s: float) -> BackboneCells:
        """Score a frame's cells against the camera's embedding background and return the updated background."""
        emb = self.backbone.cell_embeddings(image, rows, cols)
        if background is None or background.shape != emb.shape:
            diff, change = np.zeros_like(emb), np.zeros(len(emb), np.float32)
        else:
            diff, change = emb - background, cosine_change(emb, background)
        inputs = self.head.inputs(emb, diff, change)
        prob = self.head.predict(emb, diff, change)
        bg = blend_background(background, emb, held | (change > HOLD_CHANGE), dt_s, time_constant_s,
                              held_time_constant_s)
        return BackboneCells(np.hstack([inputs, prob[:, None]]).astype(np.float32), prob, change, bg)


class StackedModel:
    """The shipped cell model with the backbone: the larger of the hand-made classifier's probability (on the first
    columns of a row) and the backbone head's (the last column). A CellModel (tichwatch.detectors.dust.judgement)."""

    def __init__(self, hand: Any, hand_columns: int, backbone_name: str) -> None:
        """`hand` is a DustModel scoring the first `hand_columns` columns."""
        self.hand, self.hand_columns = hand, hand_columns
        self.info: dict[str, Any] = {**hand.info, "backbone": backbone_name}
        self.feature_set = f"hand{hand_columns}+{backbone_name}"

    def predict(self, rows: np.ndarray) -> np.ndarray:
        """Dust probability per row (cells,)."""
        hand = np.asarray(self.hand.predict(rows[:, :self.hand_columns]), np.float32).ravel()
        result: np.ndarray = np.maximum(hand, rows[:, -1])
        return result

    def parts(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The two probabilities per row: hand-made classifier, backbone head."""
        return np.asarray(self.hand.predict(rows[:, :self.hand_columns]), np.float32).ravel(), rows[:, -1]
