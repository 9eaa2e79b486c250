"""The `skhybrid benchmark | fit | predict` commands end to end, on real data."""

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest

import skhybrid
from skhybrid.benchmark import DEFAULT_MODELS, MODELS, load_records
from skhybrid.cli import main


def _cli(*args, data_home, **kwargs):
    env = {**os.environ, "SKHYBRID_DATA_DIR": str(data_home)}
    return subprocess.Popen([sys.executable, "-m", "skhybrid", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)


def test_quick_benchmark_writes_a_report_that_matches_the_predictions(tmp_path, data_home, capsys):
    """The CI smoke test: the README's quick command, default models, fold 0."""
    out = tmp_path / "run"
    assert main(["benchmark", "matbench_phonons", "--quick", "--out", str(out), "--data-dir", str(data_home)]) == 0
    for name in ("report.md", "report.html", "config.json", "plots/mae_per_model.png", "plots/time_vs_mae.png",
                 "plots/parity.png"):
        assert (out / name).stat().st_size > 0, name
    records = load_records(out).set_index("model")
    assert set(records.index) == set(DEFAULT_MODELS) and set(records["fold"]) == {0}
    report = (out / "report.md").read_text()
    for model in DEFAULT_MODELS:
        frame = pd.read_csv(out / "predictions" / f"{model}__fold0.csv")
        assert len(frame) == 253
        mae = np.abs(frame["y_true"] - frame["y_pred"]).mean()
        assert records.loc[model, "mae"] == pytest.approx(mae)
        row = re.search(rf"^\| {re.escape(model)} \| 0 \| ([\d.]+) \+/-", report, re.M)
        assert float(row.group(1)) == pytest.approx(mae, rel=1e-3)  # the table holds what the predictions give
        assert (out / "matbench" / f"{model}.json.gz").exists()
    assert "MEGNet (kgcnn) | 28.76" in report  # leaderboard beside the results
    html = (out / "report.html").read_text()
    assert "data:image/png;base64," in html and "<table" in html
    assert records.loc["rf-magpie", "mae"] < records.loc["dummy", "mae"]
    printed = capsys.readouterr()
    assert "Results in" in printed.out and "rf-magpie" in printed.out
    # progress: the (model, fold) bar, and beneath it the internal folds of the hybrid (its networks train in
    # worker processes, whose epoch bars tests/test_progress.py checks)
    for bar in ("matbench_phonons:", "LateFusionRegressor out-of-fold"):
        assert bar in printed.err, bar
    assert not skhybrid.get_config()["show_progress"]  # the runner restores the setting


JDFT2D_QUICK_MODELS = ["rf-magpie", "dummy", "cgcnn"]  # two finish within seconds, the network later


@pytest.fixture(scope="module")
def jdft2d_quick_run(tmp_path_factory, data_home):
    """An uninterrupted quick jdft2d run, seed 0: the resume test's reference, a seed ensemble's member 0."""
    out = tmp_path_factory.mktemp("jdft2d-quick")
    assert main(["benchmark", "matbench_jdft2d", "--quick", "--models", *JDFT2D_QUICK_MODELS, "--out", str(out),
                 "--data-dir", str(data_home), "--no-progress"]) == 0
    return out


def test_interrupted_run_resumes_and_equals_an_uninterrupted_one(tmp_path, data_home, jdft2d_quick_run):
    models = JDFT2D_QUICK_MODELS  # killed between the quick two and the network
    out = tmp_path / "interrupted"
    process = _cli("benchmark", "matbench_jdft2d", "--quick", "--models", *models, "--out", str(out),
                   "--no-progress", data_home=data_home)
    deadline = time.time() + 240
    while time.time() < deadline and len(list((out / "records").glob("*.json"))) < 2:
        time.sleep(0.2)
    process.kill()
    process.communicate()
    finished = {p.name: p.read_text() for p in (out / "records").glob("*.json")}
    assert 2 <= len(finished) < len(models), "the run was not killed mid-way"
    rerun = _cli("benchmark", "matbench_jdft2d", "--quick", "--models", *models, "--out", str(out), "--no-progress",
                 data_home=data_home)
    stdout, stderr = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, stderr
    for name, text in finished.items():  # finished work was neither redone nor lost
        assert (out / "records" / name).read_text() == text
        assert f"{name.split('__')[0]} fold 0: MAE" not in stdout
    resumed, straight = load_records(out).set_index("model"), load_records(jdft2d_quick_run).set_index("model")
    np.testing.assert_allclose(resumed.loc[models, "mae"], straight.loc[models, "mae"])


def _seed_ensemble_script():
    path = Path(__file__).parents[1] / "benchmarks" / "seed_ensemble_from_runs.py"
    spec = importlib.util.spec_from_file_location("seed_ensemble_from_runs", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def seed_member_runs(jdft2d_quick_run, tmp_path_factory, data_home):
    """benchmarks/seed_ensemble_from_runs.py's inputs: rf-magpie run with seeds 0 and 1 on jdft2d's fold 0
    (a Matbench task: its folds are official, so the seed changes the model only)."""
    member0 = tmp_path_factory.mktemp("members") / "seed0"
    shutil.copytree(jdft2d_quick_run, member0)
    member1 = member0.parent / "seed1"
    assert main(["benchmark", "matbench_jdft2d", "--models", "rf-magpie", "--quick", "--seed", "1",
                 "--data-dir", str(data_home), "--out", str(member1), "--no-progress"]) == 0
    return [member0, member1]


def test_a_seed_ensemble_from_one_seed_runs_is_the_mean_of_its_members(seed_member_runs):
    script = _seed_ensemble_script()
    assert script.assemble(seed_member_runs, "rf-magpie", "rf-magpie-x2") == [0]
    record = load_records(seed_member_runs[0]).set_index("model").loc["rf-magpie-x2"]
    members = [pd.read_csv(run / "predictions" / "rf-magpie__fold0.csv") for run in seed_member_runs]
    # the seeds gave different forests, so the mean is not either member
    assert not np.allclose(members[0]["y_pred"], members[1]["y_pred"])
    ensemble = pd.read_csv(seed_member_runs[0] / "predictions" / "rf-magpie-x2__fold0.csv")
    expected = (members[0]["y_pred"] + members[1]["y_pred"]) / 2
    np.testing.assert_allclose(ensemble["y_pred"], expected)
    assert record["mae"] == pytest.approx(np.abs(expected - members[0]["y_true"]).mean())
    for i, run in enumerate(seed_member_runs):  # each member's score inside it is its own run's
        own = json.loads((run / "records" / "rf-magpie__fold0.json").read_text())
        assert record["components"][f"member/{i}"] == pytest.approx(own["mae"])
    assert [entry["seed"] for entry in record["assembled_from"]] == [0, 1]
    # the spread interval at 90%: the mean +/- 1.645 standard deviations of the members
    std = np.std(np.column_stack([m["y_pred"] for m in members]), axis=1)
    np.testing.assert_allclose(ensemble["upper@0.9"] - ensemble["y_pred"], 1.6448536 * std, rtol=1e-6)


def test_a_seed_ensemble_refuses_runs_of_another_configuration_or_seed_order(seed_member_runs, tmp_path):
    script = _seed_ensemble_script()
    with pytest.raises(SystemExit, match="consecutive seeds"):
        script.assemble(seed_member_runs[::-1], "rf-magpie", "x")
    other = tmp_path / "other"
    other.mkdir()
    config = json.loads((seed_member_runs[1] / "config.json").read_text())
    (other / "config.json").write_text(json.dumps({**config, "quick": False}))
    with pytest.raises(SystemExit, match="another configuration"):
        script.assemble([seed_member_runs[0], other], "rf-magpie", "x")
    with pytest.raises(SystemExit, match="no config.json"):
        script.assemble([seed_member_runs[0], tmp_path / "missing"], "rf-magpie", "x")


@pytest.fixture(scope="module")
def cif_folder(tmp_path_factory, phonons):
    folder = tmp_path_factory.mktemp("cifs")
    rows = []
    for i in range(30):
        name = f"s{i:02d}.cif"
        phonons.structures[i].to(filename=str(folder / name))
        rows.append({"file": name, "peak": float(phonons.targets.iloc[i, 0])})
    pd.DataFrame(rows).to_csv(folder / "targets.csv", index=False)
    return folder


def test_user_data_benchmark_fit_and_predict(tmp_path, cif_folder, capsys):
    out = tmp_path / "user"
    assert main(["benchmark", "--data", str(cif_folder), "--target", "peak", "--cv", "3", "--models", "dummy",
                 "rf-magpie", "--out", str(out), "--no-progress"]) == 0
    records = load_records(out)
    assert len(records) == 6 and sorted(records["fold"].unique()) == [0, 1, 2]
    assert sum(records.loc[records["model"] == "dummy", "n_test"]) == 30
    assert "3-fold shuffled CV" in (out / "report.md").read_text()

    model_file = tmp_path / "model.skh"
    assert main(["fit", "rf-magpie", "--data", str(cif_folder), "--target", "peak", "--quick",
                 "--out", str(model_file)]) == 0
    predictions = tmp_path / "pred.csv"
    assert main(["predict", str(model_file), str(cif_folder), "--out", str(predictions)]) == 0
    frame = pd.read_csv(predictions)
    assert list(frame.columns) == ["id", "peak"] and len(frame) == 30
    model, info = skhybrid.load_model(model_file, return_metadata=True)
    assert info["catalogue_name"] == "rf-magpie" and info["metadata"]["target"] == "peak"
    from skhybrid.datasets import load_structures

    data = load_structures(cif_folder, target="peak")
    np.testing.assert_allclose(frame["peak"], model.predict(data.structures))
    # a model saved by skhybrid 0.1 (a joblib bundle) still predicts
    legacy = tmp_path / "legacy.joblib"
    joblib.dump({"model": model, "name": "rf-magpie", "target": "peak"}, legacy)
    assert main(["predict", str(legacy), str(cif_folder), "--out", str(tmp_path / "legacy.csv")]) == 0
    assert main(["predict", str(model_file), str(cif_folder / "s03.cif"), "--out", "-"]) == 0
    assert "s03.cif" in capsys.readouterr().out


def test_fit_with_checkpoints_trains_the_networks_through_them(tmp_path, cif_folder):
    states = tmp_path / "states"
    assert main(["fit", "cgcnn", "--data", str(cif_folder), "--target", "peak", "--quick", "--checkpoints",
                 str(states), "--out", str(tmp_path / "model.skh"), "--no-progress"]) == 0
    model = skhybrid.load_model(tmp_path / "model.skh")
    assert model.get_params()["gnn__checkpoint_dir"] == str(states)
    assert not list(states.glob("*.pt"))  # the finished fit left nothing to resume


def test_an_interrupted_run_with_checkpoints_says_where_the_epochs_are(tmp_path, monkeypatch, capsys):
    import skhybrid.benchmark

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(skhybrid.benchmark, "run_benchmark", interrupted)
    assert main(["benchmark", "matbench_phonons", "--checkpoints", str(tmp_path), "--no-progress"]) == 130
    assert "last saved epoch in --checkpoints: run the same command again" in capsys.readouterr().err


def test_tuning_inside_each_training_fold(tmp_path, cif_folder):
    out = tmp_path / "tuned"
    assert main(["benchmark", "--data", str(cif_folder), "--target", "peak", "--cv", "2", "--tune", "2",
                 "--quick", "--folds", "0", "1", "--models", "dummy", "rf-magpie", "--out", str(out),
                 "--no-progress"]) == 0
    records = load_records(out).set_index(["model", "fold"])
    assert "rf__n_estimators" in records.loc[("rf-magpie", 0), "best_params"]
    assert not isinstance(records.loc[("dummy", 0)].get("best_params"), dict)  # nothing to tune: run as is
    assert json.loads((out / "config.json").read_text())["tune"] == 2


def test_bad_input_is_named(tmp_path, data_home, cif_folder, capsys):
    args = ["--out", str(tmp_path / "x"), "--data-dir", str(data_home), "--no-progress"]
    assert main(["benchmark", "matbench_phonon", *args]) == 2
    assert "Valid names" in capsys.readouterr().err
    assert main(["benchmark", "matbench_phonons", "--models", "cgcnn", "painn", *args]) == 2
    err = capsys.readouterr().err
    assert "'painn'" in err and all(name in err for name in MODELS)
    assert main(["benchmark", "--data", str(cif_folder), "--target", "band_gap", "--models", "dummy",
                 "--out", str(tmp_path / "y")]) == 2
    assert "peak" in capsys.readouterr().err  # names the columns the file has
    assert main(["benchmark", "matbench_phonons", "--folds", "7", *args]) == 2
    assert "valid folds are 0-4" in capsys.readouterr().err
    # an output folder of another configuration is not overwritten silently
    out = tmp_path / "z"
    assert main(["benchmark", "--data", str(cif_folder), "--target", "peak", "--cv", "3", "--models", "dummy",
                 "--out", str(out), "--no-progress"]) == 0
    saved = json.loads((out / "config.json").read_text())
    assert main(["benchmark", "--data", str(cif_folder), "--target", "peak", "--cv", "3", "--seed", "1",
                 "--models", "dummy", "--out", str(out), "--no-progress"]) == 2
    assert "different configuration" in capsys.readouterr().err
    assert json.loads((out / "config.json").read_text()) == saved
    assert main(["predict", str(tmp_path / "missing.skh"), str(cif_folder)]) == 2


def test_every_subcommand_explains_itself():
    for command in ([], ["benchmark"], ["fit"], ["predict"]):
        result = subprocess.run([sys.executable, "-m", "skhybrid", *command, "--help"], capture_output=True,
                                text=True)
        assert result.returncode == 0 and ("Example" in result.stdout or command == [])
    result = subprocess.run([sys.executable, "-m", "skhybrid", "benchmark", "--help"], capture_output=True, text=True)
    assert all(name in result.stdout for name in MODELS)
