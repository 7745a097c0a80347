"""The learning loop's reference set: rows the product computes itself, from seeded synthetic scenes through the
dust detector, with the scenes' known cell labels; cached per feature set in the data directory (never in the repo).

Each camera's model is trained with part of it (even sequences) so it does not forget what the shipped model knows,
and must stay no worse on the other part (odd sequences) to go into service.
"""
from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np

from tichwatch.config.dust import DustSettings
from tichwatch.config.schema import CameraConfig
from tichwatch.core.samples import Frame
from tichwatch.detectors.dust.detector import DustDetector
from tichwatch.learning.runtime import ReferenceRows
from tichwatch.tools.dust_synthetic import cell_labels, generate, random_spec

log = logging.getLogger(__name__)

FIRST_SEED = 910_000
"""Seeds of the reference scenes (apart from the training and evaluation seeds of tools/dust_train)."""
NEGATIVES_PER_FRAME = 24
"""Clear cells kept per frame (all dust cells are kept): the set stays small and not all sky."""
SIZE_PX = (320, 240)
N_FRAMES = 24


def build(settings: DustSettings, seeds: int) -> ReferenceRows:
    """Render `seeds` synthetic sequences through a fresh detector and keep their labelled cell rows."""
    rows, ys, seq = [], [], []
    rng = np.random.default_rng(FIRST_SEED)
    for i in range(seeds):
        spec = random_spec(FIRST_SEED + i, n_frames=N_FRAMES, size_px=SIZE_PX)
        cam = CameraConfig(id="ref", site="reference", lat=0.0, lon=0.0)
        det = DustDetector([cam], settings)
        truth: dict[float, np.ndarray] = {}
        for f in generate(spec):
            det.update(Frame("ref", f.ts, f.jpeg, *SIZE_PX))
            truth[f.ts] = cell_labels(f.plume_change, settings.grid_rows, settings.grid_cols).ravel()
        for j in det.recent_judgements("ref"):
            labels = truth[j.ts]
            pos = np.flatnonzero(labels == 1)
            neg = np.flatnonzero(labels == 0)
            neg = rng.choice(neg, min(NEGATIVES_PER_FRAME, neg.size), replace=False) if neg.size else neg
            keep = np.concatenate([pos, neg])
            rows.append(j.rows[keep])
            ys.append(labels[keep])
            seq.append(np.full(keep.size, i))
    return ReferenceRows(np.concatenate(rows).astype(np.float32), np.concatenate(ys).astype(np.int8),
                         np.concatenate(seq))


def cached(settings: DustSettings, seeds: int, feature_set: str, cache_dir: Path) -> ReferenceRows:
    """The reference rows from `cache_dir`, built and written there the first time for these settings."""
    key = hashlib.sha256(f"{feature_set}|{seeds}|{settings.model_dump_json()}".encode()).hexdigest()[:16]
    path = cache_dir / f"dust-reference-{key}.npz"
    if path.exists():
        try:
            with np.load(path, allow_pickle=False) as z:
                return ReferenceRows(z["rows"], z["y"], z["sequence"])
        except (OSError, ValueError, KeyError):
            log.warning("reference set cache %s unreadable: building it again", path)
    ref = build(settings, seeds)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, rows=ref.rows, y=ref.y, sequence=ref.sequence)
    tmp.replace(path)
    return ref
