"""Prediction intervals where users meet predictions: the benchmark runner, its report, fit and predict."""

import json

import numpy as np
import pandas as pd
import pytest

from skhybrid.benchmark import run_benchmark
from skhybrid.utils._testing import synthetic_crystals, write_crystal_folder


@pytest.fixture(scope="module")
def crystal_folder(tmp_path_factory):
    return write_crystal_folder(tmp_path_factory.mktemp("crystals"), n=45, seed=4)


def test_benchmark_scores_conformal_intervals_per_model_and_fold(crystal_folder, tmp_path):
    out = tmp_path / "run"
    run_benchmark(data=crystal_folder, target="y", cv=3, models=["dummy", "rf-magpie"], folds=[0, 1, 2], out=out,
                  quick=True, progress=False, intervals="cv+")
    record = json.loads((out / "records" / "rf-magpie__fold1.json").read_text())
    summary = record["intervals"]
    assert summary["kind"] == "conformal" and list(summary["coverage"]) == ["0.5", "0.6", "0.7", "0.8", "0.9", "0.95"]
    frame = pd.read_csv(out / "predictions" / "rf-magpie__fold1.csv")
    inside = (frame["lower@0.9"] <= frame["y_true"]) & (frame["y_true"] <= frame["upper@0.9"])
    assert summary["coverage"]["0.9"] == pytest.approx(inside.mean())
    assert summary["width"]["0.9"] == pytest.approx((frame["upper@0.9"] - frame["lower@0.9"]).mean())
    assert (frame["upper@0.95"] - frame["lower@0.95"] >= frame["upper@0.5"] - frame["lower@0.5"]).all()
    report = (out / "report.md").read_text()
    assert "Prediction intervals at 90%" in report and "| rf-magpie | conformal | 0,1,2 |" in report
    assert (out / "plots" / "interval_calibration.png").stat().st_size > 1000
    assert (out / "plots" / "interval_width_vs_error.png").stat().st_size > 1000
    assert "interval_calibration" in (out / "report.html").read_text()
    # the setting is part of the configuration: the same folder without it is another run
    with pytest.raises(ValueError, match="different configuration"):
        run_benchmark(data=crystal_folder, target="y", cv=3, models=["dummy"], folds=[0], out=out, quick=True,
                      progress=False)


@pytest.mark.parametrize("intervals, match", [
    ("cv", r"intervals \(--intervals\)='cv' is not METHOD or METHOD:SCORE"),
    ("cv+:gauss", "SCORE one of absolute, relative, residual, std"),
    ("split", r"6 sample\(s\) to calibrate on cannot give a 95% interval \(at least 21 are needed\)"),
])
def test_benchmark_interval_settings_that_cannot_work_are_refused(crystal_folder, tmp_path, intervals, match):
    with pytest.raises(ValueError, match=match):
        run_benchmark(data=crystal_folder, target="y", cv=3, models=["dummy"], folds=[0], out=tmp_path / "r",
                      quick=True, progress=False, intervals=intervals)


def test_fit_and_predict_with_an_interval(crystal_folder, tmp_path, capsys):
    from skhybrid.cli import main

    model = tmp_path / "rf.skh"
    assert main(["fit", "rf-magpie", "--data", str(crystal_folder), "--target", "y", "--out", str(model), "--quick",
                 "--interval", "0.8", "0.9", "--no-progress"]) == 0
    out = tmp_path / "p.csv"
    assert main(["predict", str(model), str(crystal_folder), "--out", str(out), "--interval", "0.9",
                 "--no-progress"]) == 0
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["id", "y", "lower@0.9", "upper@0.9", "interval"]
    assert (frame["lower@0.9"] < frame["y"]).all() and (frame["y"] < frame["upper@0.9"]).all()
    assert set(frame["interval"]) == {"conformal"}
    capsys.readouterr()
    assert main(["predict", str(model), str(crystal_folder), "--out", str(out), "--interval", "0.95"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "calibrated for confidence levels [0.8, 0.9], not [0.95]" in err

    plain = tmp_path / "plain.skh"
    assert main(["fit", "rf-magpie", "--data", str(crystal_folder), "--target", "y", "--out", str(plain), "--quick",
                 "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["predict", str(plain), str(crystal_folder), "--out", str(out), "--interval", "0.9"]) == 2
    assert "rf-magpie gives no intervals: refit it with `skhybrid fit ... --interval 0.9`" in capsys.readouterr().err
    assert main(["predict", str(plain), str(crystal_folder), "--out", str(out), "--interval", "1.5"]) == 2
    assert "strictly between 0 and 1" in capsys.readouterr().err


def test_predict_interval_of_an_ensemble_is_its_spread_and_says_so(capsys):
    from sklearn.pipeline import make_pipeline
    from sklearn.tree import ExtraTreeRegressor

    from skhybrid import MagpieFeaturizer
    from skhybrid.cli import _prediction_intervals
    from skhybrid.models import SeedEnsembleRegressor

    structures, y = synthetic_crystals(30, seed=1)
    model = make_pipeline(MagpieFeaturizer(), SeedEnsembleRegressor(ExtraTreeRegressor(max_depth=3), 4,
                                                                    random_state=0)).fit(structures, y)
    columns = _prediction_intervals(model, structures, 0.9, {"name": "ensemble", "target": "y"})
    assert columns["interval"] == "spread"
    half = (columns["upper@0.9"] - columns["lower@0.9"]) / 2
    std = model.predict(structures, return_std=True)[1]
    np.testing.assert_allclose(half, 1.6448536 * std, rtol=1e-6)
    assert "without a coverage guarantee" in capsys.readouterr().err


def test_a_conformal_graph_network_saves_and_loads_with_identical_intervals(tmp_path):
    from skhybrid import load_model, save_model
    from skhybrid.catalogue import build
    from skhybrid.uncertainty import ConformalRegressor

    structures, y = synthetic_crystals(40, seed=3)
    model = ConformalRegressor(build("cgcnn", seed=0, quick=True), method="cv+", cv=2, confidence_level=[0.5, 0.9],
                               random_state=0).fit(structures[:30], y[:30])
    path = save_model(model, tmp_path / "conformal.skh", name="cgcnn")
    loaded = load_model(path)
    np.testing.assert_array_equal(loaded.predict_interval(structures[30:]), model.predict_interval(structures[30:]))
    np.testing.assert_array_equal(loaded.predict(structures[30:]), model.predict(structures[30:]))


def test_a_model_without_spread_gets_no_spread_interval():
    from sklearn.dummy import DummyRegressor
    from sklearn.linear_model import Ridge

    from skhybrid.benchmark._runner import model_intervals
    from skhybrid.fusion import LateFusionRegressor

    X, y = np.random.default_rng(0).normal(size=(30, 2)), np.arange(30.0)
    # DummyRegressor.predict takes return_std but its std is 0: not an interval
    assert model_intervals(DummyRegressor().fit(X, y), X) == (None, {})
    one_base = LateFusionRegressor([("a", Ridge()), ("b", DummyRegressor())], weights=[1.0, 0.0]).fit(X, y)
    assert model_intervals(one_base, X) == (None, {})
    kind, intervals = model_intervals(LateFusionRegressor([("a", Ridge()), ("b", DummyRegressor())]).fit(X, y), X)
    assert kind == "spread" and sorted(intervals) == [0.5, 0.6, 0.7, 0.8, 0.9, 0.95]
