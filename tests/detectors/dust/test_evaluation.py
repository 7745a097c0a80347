"""The evaluation harness on a labelled folder written from synthetic frames."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tichwatch.app.cli import main as cli_main
from tichwatch.detectors.dust.classifier import MODEL_PATH
from tichwatch.tools.dust_evaluation import evaluate_dust, format_table, main_eval
from tichwatch.tools.dust_synthetic import SequenceSpec, cell_labels, generate


def write_folder(root: Path) -> Path:
    spec = SequenceSpec(seed=21, n_frames=30, plume=True, plume_start=12, plume_opacity=0.75)
    (root / "images" / "seq").mkdir(parents=True)
    rows = []
    for f in generate(spec):
        path = f"images/seq/{int(f.ts)}.jpg"
        (root / path).write_bytes(f.jpeg)
        label = "smoke" if (cell_labels(f.plume_change, 12, 16) == 1).any() else "clear"
        rows.append({"path": path, "label": label, "sequence": "seq", "camera": "cam", "epoch_s": int(f.ts)})
    with open(root / "frames.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return root


def test_report_and_table(tmp_path: Path) -> None:
    report = evaluate_dust(write_folder(tmp_path))
    (seq,) = report.sequences
    assert seq.frames == 30 and seq.onset_ts is not None and seq.false_detections_before_onset == 0
    assert seq.delay_s is not None and seq.delay_s <= 300 and seq.fps > 0
    assert "seq" in format_table(report)


def test_main_eval_json_and_bad_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main_eval(tmp_path / "missing", json_out=False) == 2
    assert main_eval(write_folder(tmp_path), json_out=True) == 0
    assert json.loads(capsys.readouterr().out)["sequences"][0]["sequence"] == "seq"


def test_cli_eval_dust_takes_a_model_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = write_folder(tmp_path)
    assert cli_main(["eval", "dust", str(folder), "--model", str(tmp_path / "absent.joblib")]) == 2
    assert cli_main(["eval", "dust", str(folder), "--json", "--model", str(MODEL_PATH)]) == 0
    assert json.loads(capsys.readouterr().out)["sequences"][0]["frames"] == 30
    assert cli_main(["eval", "flood", str(folder), "--model", str(MODEL_PATH)]) == 2
