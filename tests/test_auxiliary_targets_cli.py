"""Auxiliary targets through the runner and the command line: training folds only, one target scored."""

import json
import re

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, RegressorMixin

from skhybrid.benchmark import load_benchmark_data, run_benchmark
from skhybrid.catalogue import CatalogueEntry
from skhybrid.cli import main
from skhybrid.models import AuxiliaryTargetRegressor
from skhybrid.utils._testing import write_crystal_folder

SEEN = []


class RecordsAuxiliary(RegressorMixin, BaseEstimator):
    """Predicts the training mean of the target; remembers the auxiliary column it was given."""

    def fit(self, X, y):
        SEEN.append(np.asarray(y, dtype=float)[:, 1].copy())
        self.mean_ = float(np.mean(np.asarray(y)[:, 0]))
        return self

    def predict(self, X):
        return np.column_stack([np.full(len(X), self.mean_), np.zeros(len(X))])


@pytest.fixture(scope="module")
def crystal_folder(tmp_path_factory):
    folder = write_crystal_folder(tmp_path_factory.mktemp("crystals"), n=36, seed=6)
    targets = pd.read_csv(folder / "targets.csv")
    targets["row"] = np.arange(len(targets), dtype=float)  # an auxiliary column that tells which row it is
    targets["gap"] = np.where(np.arange(len(targets)) == 3, np.nan, targets["y"] ** 2)
    targets.to_csv(folder / "targets.csv", index=False)
    return folder


def test_each_fit_gets_the_auxiliary_values_of_its_training_fold_only(crystal_folder, tmp_path):
    SEEN.clear()
    entry = CatalogueEntry("records-auxiliary", "remembers its auxiliary targets",
                           lambda seed, quick: AuxiliaryTargetRegressor(RecordsAuxiliary()))
    results = run_benchmark(data=crystal_folder, target="y", aux_targets=["row"], cv=3, models=[entry],
                            folds=[0, 1, 2], out=tmp_path / "run", progress=False)
    bench = load_benchmark_data(data=crystal_folder, target="y", cv=3)
    assert len(SEEN) == 3 and len(results) == 3
    for seen, (train, _) in zip(SEEN, bench.folds):
        np.testing.assert_array_equal(seen, train)  # the rows of the training fold, each with its own value
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["aux_targets"] == ["row"] and config["target"] == "y"


def _fit_and_predict_from_the_command_line(model_name, crystal_folder, tmp_path, column="gap"):
    """``skhybrid fit MODEL --aux-targets COLUMN`` then ``predict``: the model learns the auxiliary column, is
    saved without its table (the training structures) and, loaded, predicts the target alone."""
    from skhybrid import load_model
    from skhybrid._persistence import _reachable

    model_file = tmp_path / "model.skh"
    assert main(["fit", model_name, "--data", str(crystal_folder), "--target", "y", "--aux-targets", column,
                 "--quick", "--out", str(model_file), "--no-progress"]) == 0
    model, info = load_model(model_file, return_metadata=True)
    assert info["metadata"]["aux_targets"] == [column]
    wrappers = _reachable(model, AuxiliaryTargetRegressor)
    assert wrappers and all(w.auxiliary_X is None and w.auxiliary_y is None for w in wrappers)
    fitted = [w for w in wrappers if hasattr(w, "estimator_")]
    assert fitted and all(w.n_auxiliary_ == 1 and w.auxiliary_found_ == 1.0 for w in fitted)
    predictions = tmp_path / "predictions.csv"
    assert main(["predict", str(model_file), str(crystal_folder), "--out", str(predictions), "--no-progress"]) == 0
    frame = pd.read_csv(predictions)
    assert list(frame.columns) == ["id", "y"] and len(frame) == 36 and frame["y"].notna().all()


def test_fit_and_predict_with_auxiliary_targets_from_the_command_line(crystal_folder, tmp_path, monkeypatch):
    from sklearn.neighbors import KNeighborsRegressor
    from sklearn.pipeline import make_pipeline

    from skhybrid import StructureFeaturizer
    from skhybrid.catalogue import CATALOGUE

    # a cheap multi-task model in the catalogue's place: the command line's path is what is tested here
    entry = CatalogueEntry("knn-multitask", "k nearest neighbours on structure descriptors, two targets",
                           lambda seed, quick: AuxiliaryTargetRegressor(
                               make_pipeline(StructureFeaturizer(), KNeighborsRegressor())))
    monkeypatch.setitem(CATALOGUE, entry.name, entry)
    # k-NN takes no NaN target: the column without gaps (the masked loss of the networks is tested elsewhere)
    _fit_and_predict_from_the_command_line(entry.name, crystal_folder, tmp_path, column="row")


@pytest.mark.slow
def test_fit_and_predict_the_multitask_hybrid_from_the_command_line(crystal_folder, tmp_path):
    """The catalogue's hybrid-large-cells-multitask end to end (about 30 s; its multi-task MEGNet inside
    late fusion is tested quickly in skhybrid/models/tests/test_auxiliary.py)."""
    _fit_and_predict_from_the_command_line("hybrid-large-cells-multitask", crystal_folder, tmp_path)


@pytest.mark.parametrize("args, message", [
    (["--models", "rf-magpie", "--aux-targets", "gap"], r"Model\(s\) \['rf-magpie'\] learn no auxiliary targets"),
    (["--models", "hybrid-large-cells-multitask", "--aux-targets", "y"], "repeats the target 'y'"),
    (["--models", "hybrid-large-cells-multitask", "--aux-targets", "nope"], "nope"),
])
def test_bad_auxiliary_targets_are_one_line_errors(crystal_folder, tmp_path, capsys, args, message):
    assert main(["benchmark", "--data", str(crystal_folder), "--target", "y", "--cv", "3", "--quick",
                 "--out", str(tmp_path / "run"), "--no-progress", *args]) != 0
    assert re.search(message, capsys.readouterr().err)


def test_auxiliary_targets_are_refused_for_a_matbench_task(tmp_path, capsys):
    with pytest.raises(ValueError, match=r"matbench_phonons has one target; aux_targets \(--aux-targets\)"):
        load_benchmark_data("matbench_phonons", aux_targets=["x"], data_dir=tmp_path)


def test_fit_refuses_auxiliary_targets_for_a_model_without_them(crystal_folder, tmp_path, capsys):
    assert main(["fit", "rf-magpie", "--data", str(crystal_folder), "--target", "y", "--aux-targets", "gap",
                 "--quick", "--out", str(tmp_path / "m.skh"), "--no-progress"]) != 0
    assert "rf-magpie learns no auxiliary targets" in capsys.readouterr().err
