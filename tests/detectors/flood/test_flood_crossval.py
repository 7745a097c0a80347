"""Training is reproducible and the leave-one-basin-out evaluation never scores a basin with a model that saw it."""
from __future__ import annotations

import json

import numpy as np

from tests.detectors.flood.learnt_support import write_folder
from tichwatch.config.flood import FloodSettings
from tichwatch.detectors.flood.learnt import LearntModel
from tichwatch.tools import flood_train
from tichwatch.tools.flood_corpus import irregular, thin
from tichwatch.tools.flood_crossval import VARIANTS, Crossval, main_crossval, replay_station


def test_training_is_reproducible_on_a_tiny_slice(tmp_path):
    folder = write_folder(tmp_path / "waterlevel-tiny")
    outs = []
    for k in range(2):
        out = tmp_path / f"model{k}.json"
        assert flood_train.main([str(folder), "--out", str(out), "--seed", "3"]) == 0
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    model = LearntModel.from_json(outs[0].decode())
    assert model.info["seed"] == 3 and model.info["stations"] == ["a1", "a2", "b1", "b2"]


def test_a_basin_is_scored_only_by_a_model_that_never_saw_it(tmp_path):
    folder = write_folder(tmp_path / "waterlevel-tiny")
    cv = Crossval.build(folder, train_folders=[folder])
    for st in cv.stations:
        model = cv.model_for(st)
        same_basin = {s.id for s in cv.stations if s.basin == st.basin}
        assert same_basin.isdisjoint(model.info["stations"]), (st.id, model.info)
        assert model.info["stations"]  # it did learn from the other basin
    a1 = next(s for s in cv.stations if s.id == "a1")
    x = cv.cache.rows([a1.basin])[0]
    others = [s for s, smp in cv.cache.entries if s.basin != a1.basin]
    assert len(x) == sum(len(smp.x) for s, smp in cv.cache.entries if s in others)
    series, rep = replay_station(a1, cv.by_id, FloodSettings(forecast_learnt=True), cv.model_for(a1))
    assert len(rep.alarm) == len(series.ts) and rep.alarm.max() >= 3  # the waves crossed BD3 and were alerted


def test_the_sampling_variants_thin_and_resample_irregularly(tmp_path):
    folder = write_folder(tmp_path / "waterlevel-tiny")
    s = Crossval.build(folder, train_folders=[folder]).stations[0].series
    th = thin(s, 3 * 3600.0)
    assert np.all(np.diff(th.ts) >= 3 * 3600.0 - 1) and th.config.expected_interval_s == 3 * 3600
    irr = irregular(s, 7)
    steps = np.diff(irr.ts)
    assert steps.min() >= 3600.0 and steps.max() <= 6 * 3600.0 + 3600.0 and len(set(steps.tolist())) > 1
    assert np.array_equal(irregular(s, 7).ts, irr.ts)


def test_the_cli_report_gives_every_variant_skill_and_reliability(tmp_path, capsys):
    folder = write_folder(tmp_path / "waterlevel-tiny")
    (tmp_path / "waterlevel-tiny2").mkdir()
    main_crossval(folder, FloodSettings(forecast_learnt=True), json_out=True)
    doc = json.loads(capsys.readouterr().out)
    assert doc["method"] == "leave-one-basin-out" and set(doc["variants"]) == set(VARIANTS)
    rec = doc["variants"]["recorded"]
    assert {"pod_bd2_bd3", "false_warning_share", "lead_2h_share_bd2_bd3"} <= rec["report"]["targets"].keys()
    skills = rec["scores"]["skill_all"]
    assert [s["horizon_s"] for s in skills] == [3600.0, 7200.0, 10800.0, 21600.0]
    assert all(s["n"] > 0 and s["mae_model_m"] is not None for s in skills)
    assert sum(b["n"] for b in rec["scores"]["reliability"]) > 0
    assert rec["report"]["models"]["A"]["excluded_basins"] == ["A"]
