"""Classification tasks end to end: Matbench's three, one's own data, the catalogue's classifiers, the CLI."""

import gzip
import json

import numpy as np
import pandas as pd
import pytest
from sklearn.base import is_classifier
from sklearn.metrics import log_loss, roc_auc_score

from skhybrid.benchmark import load_records, run_benchmark
from skhybrid.catalogue import CATALOGUE, build
from skhybrid.cli import main
from skhybrid.utils._testing import miniature_matbench, write_crystal_folder


@pytest.fixture(scope="module")
def crystal_folder(tmp_path_factory):
    return write_crystal_folder(tmp_path_factory.mktemp("crystals"), n=40, seed=5)


def test_every_classifier_entry_builds_a_classifier():
    for name, entry in CATALOGUE.items():
        if entry.classifier is not None:
            assert is_classifier(build(name, quick=True, task_type="classification")), name
    with pytest.raises(ValueError, match="no classifier.*choose among dummy"):
        build("early-fusion", task_type="classification")


def test_matbench_classification_task_scores_roc_auc_and_writes_matbench_files(tmp_path, monkeypatch):
    miniature_matbench("matbench_mp_is_metal", tmp_path, monkeypatch, n=30)
    out = tmp_path / "run"
    results = run_benchmark("matbench_mp_is_metal", models=["dummy", "rf-magpie", "hybrid-light"], folds=[0, 1],
                            out=out, data_dir=tmp_path / "home", quick=True, progress=False)
    assert {"roc_auc", "accuracy", "balanced_accuracy", "f1", "log_loss"} <= set(results.columns)
    assert "mae" not in results.columns
    frame = pd.read_csv(out / "predictions" / "rf-magpie__fold1.csv")
    record = json.loads((out / "records" / "rf-magpie__fold1.json").read_text())
    assert record["roc_auc"] == pytest.approx(roc_auc_score(frame["y_true"], frame["proba"]))
    # what produced it: package versions and the processor (rounding can differ between processors)
    assert {"lightgbm", "spglib"} <= set(record["versions"]) and {"cpu", "numpy_simd"} <= set(record["machine"])
    assert results.set_index(["model", "fold"]).loc[("dummy", 0), "roc_auc"] == pytest.approx(0.5)
    hybrid = json.loads((out / "records" / "hybrid-light__fold0.json").read_text())
    assert set(hybrid["components"]) >= {"descriptors", "graph"} and "fusion_weights" in hybrid
    report = (out / "report.md").read_text()
    assert "ROC-AUC" in report and "CGCNN | 0.952" in report  # the leaderboard row of the task
    # each part of the hybrid is scored by log loss too, from its saved probabilities
    parts = pd.read_csv(out / "predictions" / "hybrid-light__fold0.csv")
    positive = parts["y_true"] == parts["y_true"].max()
    descriptors_loss = log_loss(positive, parts["pred:descriptors"], labels=[False, True])
    row = next(line for line in report.splitlines() if line.startswith("| hybrid-light | descriptors | 0,1 |"))
    assert f"{descriptors_loss:.4g}" in row.split("|")[7]
    assert any(line.startswith("| hybrid-light | (the model) | 0,1 |") for line in report.splitlines())
    assert (out / "plots" / "roc.png").stat().st_size > 0

    # the Matbench file holds the probabilities; matbench 0.6 turns them into labels at 0.5 before its
    # "rocauc", which is then our balanced accuracy (its leaderboard lists the two as equal)
    path = out / "matbench" / "rf-magpie.json.gz"
    content = json.loads(gzip.decompress(path.read_bytes()))
    fold = content["tasks"]["matbench_mp_is_metal"]["results"]["fold_1"]
    assert np.allclose(list(fold["data"].values()), frame["proba"])
    assert fold["scores"]["rocauc"] == pytest.approx(record["balanced_accuracy"])
    assert fold["scores"]["balanced_accuracy"] == pytest.approx(record["balanced_accuracy"])


def test_composition_classification_task_runs_from_formulas(tmp_path, monkeypatch):
    miniature_matbench("matbench_expt_is_metal", tmp_path, monkeypatch, n=30)
    results = run_benchmark("matbench_expt_is_metal", models=["rf-magpie"], folds=[0], out=tmp_path / "run",
                            data_dir=tmp_path / "home", quick=True, progress=False)
    assert 0 <= results["roc_auc"].iloc[0] <= 1


def test_own_data_with_a_threshold_and_stratified_folds(crystal_folder, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["benchmark", "--data", str(crystal_folder), "--target", "y", "--classify-above", "17",
                 "--cv", "3", "--models", "dummy", "gbm-descriptors", "--folds", "0", "1", "2", "--quick",
                 "--out", str(out), "--no-progress"]) == 0
    assert "ROC-AUC" in capsys.readouterr().out
    config = json.loads((out / "config.json").read_text())
    assert config["classify_above"] == 17.0 and config["task_type"] == "classification"
    records = load_records(out)
    truth = pd.concat(pd.read_csv(out / "predictions" / f"dummy__fold{k}.csv") for k in range(3))["y_true"]
    positive = truth.mean()
    for k in range(3):  # stratified: every test fold holds about the overall share of each class
        fold = pd.read_csv(out / "predictions" / f"dummy__fold{k}.csv")["y_true"]
        assert abs(fold.mean() - positive) < 0.1
    assert records.loc[records["model"] == "gbm-descriptors", "roc_auc"].mean() > 0.6


@pytest.mark.parametrize("args, match", [
    (["--classify-above", "17", "--intervals", "split"], "classification task"),
    (["--classify-above", "17", "--models", "early-fusion"], "no classifier"),
    (["--classify-above", "17", "--task-type", "regression"], "two classes"),
    (["--classify-above", "1000"], "two classes"),
])
def test_classification_settings_that_cannot_work_are_refused(crystal_folder, tmp_path, args, match, capsys):
    argv = ["benchmark", "--data", str(crystal_folder), "--target", "y", "--cv", "3", "--quick",
            "--out", str(tmp_path / "run"), "--no-progress", *args]
    if "--models" not in args:
        argv += ["--models", "dummy"]
    assert main(argv) != 0
    assert match in capsys.readouterr().err


def test_text_labels_are_classes_and_fit_predict_write_probabilities(tmp_path, capsys):
    folder = write_crystal_folder(tmp_path / "data", n=30, seed=6) if (tmp_path / "data").mkdir() is None else None
    table = pd.read_csv(folder / "targets.csv")
    table["kind"] = np.where(table["y"] > table["y"].median(), "dense", "open")
    table.to_csv(folder / "targets.csv", index=False)
    model_file = tmp_path / "model.skh"
    assert main(["fit", "rf-magpie", "--data", str(folder), "--target", "kind", "--out", str(model_file),
                 "--quick", "--no-progress"]) == 0
    out = tmp_path / "predictions.csv"
    assert main(["predict", str(model_file), str(folder), "--out", str(out), "--no-progress"]) == 0
    frame = pd.read_csv(out)
    assert set(frame["kind"]) <= {"dense", "open"}
    assert np.allclose(frame["proba:dense"] + frame["proba:open"], 1)


def test_a_word_among_numbers_is_a_typo_not_a_class(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    write_crystal_folder(folder, n=12, seed=1)
    table = pd.read_csv(folder / "targets.csv")
    table["y"] = table["y"].astype(object)
    table.loc[4, "y"] = "1.2x"
    table.to_csv(folder / "targets.csv", index=False)
    with pytest.raises(ValueError, match=r"c04.cif.*not a number \('1.2x'\)"):
        run_benchmark(data=folder, target="y", cv=3, models=["dummy"], out=tmp_path / "run", quick=True,
                      progress=False)


def test_a_run_resumed_with_other_folds_writes_matbench_files_over_every_finished_fold(tmp_path, monkeypatch):
    """A run continued with ``--folds 1`` keeps fold 0 of an earlier call in the model's Matbench file."""
    miniature_matbench("matbench_expt_is_metal", tmp_path, monkeypatch, n=30)
    out = tmp_path / "run"
    for fold in (0, 1):
        results = run_benchmark("matbench_expt_is_metal", models=["dummy"], folds=[fold], out=out,
                                data_dir=tmp_path / "home", quick=True, progress=False)
        assert list(results["fold"]) == [fold]  # what this call ran, as before
    content = json.loads(gzip.decompress((out / "matbench" / "dummy.json.gz").read_bytes()))
    folds = content["tasks"]["matbench_expt_is_metal"]["results"]
    for fold in (0, 1):
        predictions = pd.read_csv(out / "predictions" / f"dummy__fold{fold}.csv")
        assert np.allclose(list(folds[f"fold_{fold}"]["data"].values()), predictions["proba"])
    assert not folds["fold_2"]["data"]  # never run: empty, as matbench writes it
    assert "| dummy | 1 |" in (out / "report.md").read_text()  # the report says what the last call ran
