"""The real sequence (FIgLib smoke onset standing in for a dust plume): detection delay and no false alarm."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tichwatch.tools.dust_evaluation import evaluate_dust, main_eval


def test_real_sequence_targets(real_folder: Path) -> None:
    # In-sample: the committed model was trained with this sequence (see detectors/dust/train.py); the report gives
    # the leave-out figures.
    report = evaluate_dust(real_folder)
    (seq,) = report.sequences
    assert seq.false_detections_before_onset == 0
    assert seq.delay_s is not None and 0 <= seq.delay_s <= 6 * 60, seq.delay_s
    assert seq.frame.precision == 1.0


def test_main_eval_prints_json(real_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main_eval(real_folder, json_out=True) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["sequences"][0]["frames"] == 81 and "fps" in data["sequences"][0]
