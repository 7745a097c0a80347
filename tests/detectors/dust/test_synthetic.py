"""Synthetic scenes never used in training: per-frame F1, and nuisances that must not raise dust."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.detectors.dust.conftest import feed
from tichwatch.detectors.dust.detector import DUST_KIND, DustDetector
from tichwatch.tools.dust_evaluation import EVAL_SEEDS, evaluate_synthetic
from tichwatch.tools.dust_synthetic import SequenceSpec, generate
from tichwatch.tools.dust_train import COMPOSITE_SEEDS, TRAIN_SEEDS

TEST_SEEDS = range(EVAL_SEEDS.start, EVAL_SEEDS.start + 16)
NUISANCE_SEEDS = range(200_000, 200_004)


def test_evaluation_seeds_were_never_trained_on() -> None:
    assert not set(EVAL_SEEDS) & (set(TRAIN_SEEDS) | set(COMPOSITE_SEEDS))
    assert not set(NUISANCE_SEEDS) & (set(TRAIN_SEEDS) | set(COMPOSITE_SEEDS) | set(EVAL_SEEDS))


def test_per_frame_f1_on_unseen_seeds() -> None:
    frame, alarm = evaluate_synthetic(TEST_SEEDS).pooled()
    assert frame.f1 >= 0.9, frame.as_dict()
    assert alarm.f1 >= 0.85, alarm.as_dict()


NUISANCES: dict[str, dict[str, Any]] = {
    "sky-clouds": {"sky_clouds": True},
    "cloud-shadows": {"cloud_shadows": True},
    "vehicles": {"vehicles": 4},
    "rain": {"rain": True},
    "sunlight": {"lighting_drift": 0.3, "lighting_steps": True},
    "shaking-mount": {"jitter": True, "noise_sigma": 4.0},
}
KNOWN_MISSES = {
    ("cloud-shadows", 200_003): "a shadow edge cut straight along the horizon brightens a cell as a veil would",
    ("sunlight", 200_000): "sand brightened 30 % clips at 255 and loses its texture as if veiled",
}


@pytest.mark.parametrize("name, seed", [
    pytest.param(name, seed, id=f"{name}-{seed}", marks=[pytest.mark.xfail(reason=KNOWN_MISSES[(name, seed)],
                                                                          strict=True)]
                 if (name, seed) in KNOWN_MISSES else [])
    for name in NUISANCES for seed in NUISANCE_SEEDS])
def test_nuisances_raise_no_dust(detector: Callable[..., DustDetector], name: str, seed: int) -> None:
    events = feed(detector(), generate(SequenceSpec(seed=seed, n_frames=36, **NUISANCES[name])))
    assert [i for i, d in events if d.kind == DUST_KIND] == []
