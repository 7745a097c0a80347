"""A camera's own dust model: a small regularised correction stacked on the shipped model's logit (pure, no I/O).

p = sigmoid(logit(p_shipped) + w · z + b), z = the cell's rows standardised, plus the shipped logit itself (so the
correction may also sharpen or soften the shipped model's confidence). With a strong L2 penalty on w and b the camera's
model stays the shipped one; its own labelled rows pull it where the officers said, and a reference set of rows the
product computes itself (synthetic scenes through the detector) keeps it from forgetting what the shipped model knows.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit

_P_CLIP = 1e-4


def logit(p: np.ndarray) -> np.ndarray:
    """Log-odds of probabilities, clipped away from 0 and 1."""
    q = np.clip(np.asarray(p, np.float64), _P_CLIP, 1 - _P_CLIP)
    result: np.ndarray = np.log(q / (1 - q))
    return result


@dataclass(frozen=True)
class Correction:
    """The learnt part of a camera's model: standardisation and weights (what a version's file holds)."""

    feature_set: str
    mean: np.ndarray  # (n_features,)
    scale: np.ndarray  # (n_features,)
    weights: np.ndarray  # (n_features + 1,): the standardised rows, then the shipped logit
    bias: float

    def to_bytes(self) -> bytes:
        """The correction as an .npz file's bytes."""
        buf = io.BytesIO()
        np.savez(buf, mean=self.mean, scale=self.scale, weights=self.weights, bias=np.array([self.bias]),
                 feature_set=np.array([self.feature_set]))
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Correction:
        """Read a correction written by `to_bytes`."""
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            return cls(str(z["feature_set"][0]), z["mean"], z["scale"], z["weights"], float(z["bias"][0]))


class Scorer(Protocol):
    """What the correction is stacked on: the shipped model's per-row probabilities."""

    def predict(self, matrix: np.ndarray) -> np.ndarray:
        """Dust probability per row."""
        ...


@dataclass(frozen=True)
class AdaptedModel:
    """A camera's model: the shipped model with its correction (a CellModel the detector can score with)."""

    base: Scorer
    correction: Correction
    version: int = 0

    @property
    def feature_set(self) -> str:
        """The feature set both the shipped model and the correction were made for."""
        return self.correction.feature_set

    def predict(self, rows: np.ndarray) -> np.ndarray:
        """Dust probability per row."""
        return predict(self.correction, rows, logit(self.base.predict(rows)))


def predict(c: Correction, rows: np.ndarray, base_logit: np.ndarray) -> np.ndarray:
    """Dust probability per row, given the shipped model's logits of the same rows."""
    result: np.ndarray = expit(base_logit + _design(c.mean, c.scale, rows, base_logit) @ c.weights + c.bias)
    return result.astype(np.float32)


def _design(mean: np.ndarray, scale: np.ndarray, rows: np.ndarray, base_logit: np.ndarray) -> np.ndarray:
    z = (np.asarray(rows, np.float64) - mean) / scale
    return np.column_stack([np.nan_to_num(z, nan=0.0, posinf=0.0, neginf=0.0), base_logit])


@dataclass(frozen=True)
class TrainingSet:
    """Cell rows with labels (1 dust, 0 clear), the shipped model's logits, weights and the frame each came from."""

    rows: np.ndarray  # (n, n_features)
    y: np.ndarray  # (n,) targets: 1 dust, 0 clear (a probability for distilled reference rows)
    base_logit: np.ndarray  # (n,)
    weight: np.ndarray  # (n,)
    group: np.ndarray  # (n,) frame number (for cross-validation by frame); -1 for reference rows

    @staticmethod
    def concat(parts: list[TrainingSet]) -> TrainingSet:
        """One set of several."""
        return TrainingSet(*(np.concatenate([getattr(p, f) for p in parts]) for f in
                             ("rows", "y", "base_logit", "weight", "group")))

    def subset(self, keep: np.ndarray) -> TrainingSet:
        """The rows where `keep` is true."""
        return TrainingSet(self.rows[keep], self.y[keep], self.base_logit[keep], self.weight[keep], self.group[keep])


def fit(data: TrainingSet, feature_set: str, l2: float) -> Correction:
    """Fit the correction by weighted, L2-penalised logistic regression (L-BFGS, deterministic)."""
    rows = np.asarray(data.rows, np.float64)
    mean = rows.mean(axis=0)
    scale = rows.std(axis=0)
    scale = np.where(scale > 1e-6, scale, 1.0)
    x = _design(mean, scale, rows, data.base_logit)
    y = data.y.astype(np.float64)
    w = data.weight / max(float(data.weight.sum()), 1e-12)  # the penalty means the same for any number of rows
    n = x.shape[1]

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        coef, bias = theta[:n], theta[n]
        z = data.base_logit + x @ coef + bias
        p = expit(z)
        nll = float(np.sum(w * (np.logaddexp(0.0, z) - y * z)))
        g = w * (p - y)
        grad = np.concatenate([x.T @ g + l2 * coef, [g.sum() + l2 * bias]])
        return nll + 0.5 * l2 * float(coef @ coef + bias * bias), grad

    result = minimize(loss, np.zeros(n + 1), jac=True, method="L-BFGS-B", options={"maxiter": 500})
    return Correction(feature_set, mean, scale, result.x[:n].copy(), float(result.x[n]))


@dataclass(frozen=True)
class Figures:
    """How a model did on a camera's labelled frames and on the reference set."""

    camera_frames: int
    camera_correct: int  # frames judged right (dust frames: a labelled cell over the threshold; clear: none)
    camera_dust_frames: int
    camera_dust_found: int
    camera_clear_frames: int
    camera_clear_quiet: int
    reference_f1: float | None  # cell-level F1 on the held-out reference rows
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def camera_accuracy(self) -> float | None:
        """Share of the camera's labelled frames judged right."""
        return None if not self.camera_frames else self.camera_correct / self.camera_frames

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        acc = self.camera_accuracy
        return {"camera_frames": self.camera_frames, "camera_correct": self.camera_correct,
                "camera_accuracy": None if acc is None else round(acc, 3),
                "camera_dust_frames": self.camera_dust_frames, "camera_dust_found": self.camera_dust_found,
                "camera_clear_frames": self.camera_clear_frames, "camera_clear_quiet": self.camera_clear_quiet,
                "reference_f1": None if self.reference_f1 is None else round(self.reference_f1, 3), **self.extra}


def frame_verdicts(data: TrainingSet, probs: np.ndarray, threshold: float) -> dict[int, tuple[bool, bool]]:
    """Per labelled frame: (labelled dust?, judged right?) with per-cell probabilities `probs` of its rows."""
    out: dict[int, tuple[bool, bool]] = {}
    for g in np.unique(data.group[data.group >= 0]):
        at = data.group == g
        pos = at & (data.y == 1)
        if pos.any():
            out[int(g)] = (True, bool((probs[pos] >= threshold).any()))
        else:
            out[int(g)] = (False, bool((probs[at] < threshold).all()))
    return out


def camera_figures(verdicts: dict[int, tuple[bool, bool]], reference_f1: float | None) -> Figures:
    """Figures from per-frame verdicts."""
    dust = [ok for is_dust, ok in verdicts.values() if is_dust]
    clear = [ok for is_dust, ok in verdicts.values() if not is_dust]
    return Figures(len(verdicts), sum(dust) + sum(clear), len(dust), sum(dust), len(clear), sum(clear), reference_f1)


def f1(y: np.ndarray, probs: np.ndarray, threshold: float) -> float:
    """Cell-level F1 at a threshold (1.0 when there is nothing to find and nothing was found)."""
    hit = probs >= threshold
    tp = float(np.sum(hit & (y == 1)))
    fp = float(np.sum(hit & (y == 0)))
    fn = float(np.sum(~hit & (y == 1)))
    return 1.0 if tp + fp + fn == 0 else 2 * tp / (2 * tp + fp + fn)


def cross_validated(camera: TrainingSet, reference: TrainingSet, feature_set: str, l2: float, threshold: float,
                    folds: int = 5) -> dict[int, tuple[bool, bool]]:
    """Frame verdicts of models that never saw the frame they judge: k-fold by labelled frame."""
    groups = np.unique(camera.group)
    k = min(folds, len(groups))
    out: dict[int, tuple[bool, bool]] = {}
    for i in range(k):
        held = np.isin(camera.group, groups[i::k])
        model = fit(TrainingSet.concat([camera.subset(~held), reference]), feature_set, l2)
        test = camera.subset(held)
        out.update(frame_verdicts(test, predict(model, test.rows, test.base_logit), threshold))
    return out
