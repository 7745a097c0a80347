"""Training is reproducible and works from synthetic scenes alone; the committed model is small; settings validate."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from tichwatch.config.dust import DustSettings
from tichwatch.detectors.dust.classifier import MODEL_PATH, DustModel
from tichwatch.detectors.dust.features import FEATURE_NAMES
from tichwatch.tools.dust_train import train


def test_synthetic_only_training_is_reproducible(tmp_path: Path) -> None:
    a = train(None, tmp_path / "a.joblib", synthetic_seeds=range(3), jobs=1)
    b = train(None, tmp_path / "b.joblib", synthetic_seeds=range(3), jobs=1)
    probe = np.random.default_rng(0).normal(size=(50, len(FEATURE_NAMES))).astype(np.float32)
    assert np.array_equal(a.predict(probe), DustModel.load(tmp_path / "b.joblib").predict(probe))
    assert a.info["real"] == "none" and b.info["rows"]["synthetic"]["dust"] > 0


def test_committed_model_is_small_and_trained_with_the_real_sequence() -> None:
    assert MODEL_PATH.stat().st_size < 1_000_000
    info = DustModel.load().info
    assert info["real"] == "all" and info["data"] == "smoke-figlib-hpwren-sequences"


def test_settings_validate_and_describe_every_field() -> None:
    for name, field in DustSettings.model_fields.items():
        assert field.description, name
    with pytest.raises(ValidationError, match="off_threshold"):
        DustSettings(on_threshold=0.4, off_threshold=0.5)
    with pytest.raises(ValidationError, match="persistence_k"):
        DustSettings(persistence_k=4, persistence_n=3)
    with pytest.raises(ValidationError):
        DustSettings(grid_cols=16, unknown_key=1)  # type: ignore[call-arg]
