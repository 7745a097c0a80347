"""The per-cell plume classifier: gradient-boosted trees (scikit-learn) over the features, stored with joblib."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from scipy.special import expit
from sklearn.ensemble import HistGradientBoostingClassifier

from tichwatch.detectors.dust.features import FEATURE_NAMES

MODEL_PATH = Path(__file__).with_name("model.joblib")
"""The committed model, trained by `python -m tichwatch.tools.dust_train` and shipped inside the package."""


@dataclass(frozen=True)
class DustModel:
    """A trained classifier that turns per-cell features into the probability that the cell shows dust."""

    estimator: HistGradientBoostingClassifier
    info: dict[str, Any] = field(default_factory=dict)  # provenance: data, seeds, row counts, library versions

    def predict(self, matrix: np.ndarray) -> np.ndarray:
        """Dust probability (0..1) per row of a (cells, features) matrix."""
        # predict_proba starts an OpenMP team for every tree: for a few hundred rows that costs ten times the
        # arithmetic and competes with the pipeline's worker threads, so the trees run on the calling thread.
        result: np.ndarray = expit(self.estimator._raw_predict(matrix, n_threads=1).ravel())
        return result

    def save(self, path: Path) -> None:
        """Write the model as a compressed joblib file (a plain dict, so moving this module keeps it loadable)."""
        joblib.dump({"estimator": self.estimator, "feature_names": FEATURE_NAMES, "info": self.info}, path, compress=3)

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> DustModel:
        """Read a model written by `save`; raise ValueError when it was trained on other features."""
        data = joblib.load(path)
        if tuple(data.get("feature_names", ())) != FEATURE_NAMES:
            raise ValueError(f"{path}: the model was trained on different features; retrain it")
        model = cls(data["estimator"], data.get("info", {}))
        probe = np.zeros((2, len(FEATURE_NAMES)), np.float32)
        if not np.allclose(model.predict(probe), model.estimator.predict_proba(probe)[:, 1], atol=1e-6):
            raise ValueError(f"{path}: fast prediction disagrees with scikit-learn; check the scikit-learn version")
        return model


POSITIVE_SHARE = 0.15
"""Total weight of dust rows relative to clear rows: sets where probability 0.5 falls (false alarms cost more)."""
HARD_NEGATIVE_P = 0.3
"""Clear rows the first fit scores above this are the hard ones (shadow edges, trucks, glare) ..."""
HARD_NEGATIVE_BOOST = 5.0
"""... and weigh this much more in the second, final fit."""


def fit_model(x: np.ndarray, y: np.ndarray, weight: np.ndarray, seed: int, info: dict[str, Any]) -> DustModel:
    """Fit the classifier reproducibly in two rounds, the second with the first round's false alarms weighted up.

    `weight` is each row's source weight (synthetic, composite, real); classes are balanced here.
    """
    first = DustModel(_fit(x, y, _balanced(weight, y), seed))
    hard = (y == 0) & (first.predict(x) > HARD_NEGATIVE_P)
    boosted = np.where(hard, weight * HARD_NEGATIVE_BOOST, weight)
    return DustModel(_fit(x, y, _balanced(boosted, y), seed), {**info, "hard_negatives": int(hard.sum())})


def _balanced(weight: np.ndarray, y: np.ndarray) -> np.ndarray:
    pos, neg = float(weight[y == 1].sum()), float(weight[y == 0].sum())
    w = np.where(y == 1, weight * neg / max(pos, 1e-9) * POSITIVE_SHARE, weight)
    result: np.ndarray = w / w.mean()
    return result


def _fit(x: np.ndarray, y: np.ndarray, weight: np.ndarray, seed: int) -> HistGradientBoostingClassifier:
    estimator = HistGradientBoostingClassifier(max_iter=80, max_leaf_nodes=31, learning_rate=0.15,
                                               l2_regularization=1.0, early_stopping=False, random_state=seed)
    return estimator.fit(x, y, sample_weight=weight)
