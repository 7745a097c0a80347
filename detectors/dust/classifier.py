"""The per-cell plume classifier: a small scikit-learn network over the features, stored with joblib."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from detectors.dust.features import FEATURE_NAMES

MODEL_PATH = Path(__file__).with_name("model.joblib")
"""The committed model, trained by `python -m detectors.dust.train` and shipped inside the package."""


@dataclass(frozen=True)
class DustModel:
    """A trained classifier that turns per-cell features into the probability that the cell shows dust."""

    estimator: Pipeline
    info: dict[str, Any] = field(default_factory=dict)  # provenance: data, seeds, row counts, library versions

    def predict(self, matrix: np.ndarray) -> np.ndarray:
        """Dust probability (0..1) per row of a (cells, features) matrix."""
        return self.estimator.predict_proba(matrix)[:, 1]

    def save(self, path: Path) -> None:
        """Write the model as a compressed joblib file (a plain dict, so moving this module keeps it loadable)."""
        joblib.dump({"estimator": self.estimator, "feature_names": FEATURE_NAMES, "info": self.info}, path, compress=3)

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> "DustModel":
        """Read a model written by `save`; raise ValueError when it was trained on other features."""
        data = joblib.load(path)
        if tuple(data.get("feature_names", ())) != FEATURE_NAMES:
            raise ValueError(f"{path}: the model was trained on different features; retrain it")
        return cls(data["estimator"], data.get("info", {}))


def fit_model(x: np.ndarray, y: np.ndarray, weight: np.ndarray, seed: int, info: dict[str, Any]) -> DustModel:
    """Fit the classifier reproducibly; `weight` balances sources (synthetic, composites, real) and classes."""
    estimator = make_pipeline(
        StandardScaler(),
        MLPClassifier(hidden_layer_sizes=(32, 16), alpha=1e-3, batch_size=512, learning_rate_init=2e-3,
                      max_iter=60, early_stopping=True, validation_fraction=0.1, n_iter_no_change=8,
                      random_state=seed),
    )
    estimator.fit(x, y, mlpclassifier__sample_weight=weight)
    return DustModel(estimator, info)
