"""Cell embeddings of image files, cached on disk by file hash (evaluation and training only; never in the repo).

The cache lives in $TICHWATCH_DUST_CACHE, else ~/.cache/tichwatch/dust-embeddings: one float16 .npy per (file sha256,
backbone sha256, grid). Deleting it only costs time.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import cv2
import numpy as np

from tichwatch.detectors.dust.backbone import DECODE_BOX_PX, Backbone, frame_image


def cache_dir() -> Path:
    """Where cached embeddings are kept."""
    env = os.environ.get("TICHWATCH_DUST_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "tichwatch" / "dust-embeddings"


def decode_any(data: bytes) -> np.ndarray:
    """BGR uint8 image of JPEG bytes fitted in DECODE_BOX_PX (reduced decoding), or of any other format OpenCV reads."""
    try:
        return frame_image(data)
    except ValueError:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if image is None:
            raise
        scale = DECODE_BOX_PX / max(image.shape[:2])
        if scale < 1:
            image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        return image


def file_embeddings(path: Path, backbone: Backbone, rows: int, cols: int) -> np.ndarray:
    """Cell embeddings (rows·cols, 1280) float32 of an image file, from the cache when present."""
    return bytes_embeddings(path.read_bytes(), backbone, rows, cols)


def bytes_embeddings(data: bytes, backbone: Backbone, rows: int, cols: int) -> np.ndarray:
    """Cell embeddings (rows·cols, 1280) float32 of encoded image bytes, from the cache when present."""
    key = hashlib.sha256(data).hexdigest()[:24]
    target = cache_dir() / f"{key}-{backbone.sha256[:12]}-{rows}x{cols}.npy"
    if target.is_file():
        cached: np.ndarray = np.load(target).astype(np.float32)
        return cached
    emb = backbone.cell_embeddings(decode_any(data), rows, cols)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".{os.getpid()}.tmp.npy")
    np.save(tmp, emb.astype(np.float16))
    tmp.replace(target)
    return emb
