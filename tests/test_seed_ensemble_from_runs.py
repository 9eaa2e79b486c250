"""benchmarks/seed_ensemble_from_runs.py: a seed ensemble's records from its members' runs, one seed each."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from skhybrid.benchmark import load_records
from skhybrid.cli import main

SCRIPT = Path(__file__).parents[1] / "benchmarks" / "seed_ensemble_from_runs.py"


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("seed_ensemble_from_runs", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def member_runs(tmp_path_factory, data_home):
    # a Matbench task: its folds are official, so the seed changes the model only (with --data it also
    # reshuffles the --cv folds, which the script refuses)
    runs = []
    for seed in (0, 1):
        out = tmp_path_factory.mktemp(f"seed{seed}")
        assert main(["benchmark", "matbench_jdft2d", "--models", "rf-magpie", "--quick", "--seed", str(seed),
                     "--data-dir", str(data_home), "--out", str(out), "--no-progress"]) == 0
        runs.append(out)
    return runs


def test_the_ensemble_is_the_mean_of_its_members_on_every_fold(script, member_runs):
    assert script.assemble(member_runs, "rf-magpie", "rf-magpie-x2") == [0]
    records = load_records(member_runs[0]).set_index(["model", "fold"])
    for fold in (0,):
        members = [pd.read_csv(run / "predictions" / f"rf-magpie__fold{fold}.csv") for run in member_runs]
        # the seeds gave different forests, so the mean is not either member
        assert not np.allclose(members[0]["y_pred"], members[1]["y_pred"])
        ensemble = pd.read_csv(member_runs[0] / "predictions" / f"rf-magpie-x2__fold{fold}.csv")
        expected = (members[0]["y_pred"] + members[1]["y_pred"]) / 2
        np.testing.assert_allclose(ensemble["y_pred"], expected)
        record = records.loc[("rf-magpie-x2", fold)]
        assert record["mae"] == pytest.approx(np.abs(expected - members[0]["y_true"]).mean())
        # each member's score inside the ensemble is the score of its own run
        for i, run in enumerate(member_runs):
            own = json.loads((run / "records" / f"rf-magpie__fold{fold}.json").read_text())
            assert record["components"][f"member/{i}"] == pytest.approx(own["mae"])
        assert [entry["seed"] for entry in record["assembled_from"]] == [0, 1]
        # the spread interval at 90% is the mean +/- 1.645 members' standard deviations
        std = np.std(np.column_stack([m["y_pred"] for m in members]), axis=1)
        np.testing.assert_allclose(ensemble["upper@0.9"] - ensemble["y_pred"], 1.6448536 * std, rtol=1e-6)


def test_runs_of_another_configuration_or_seed_order_are_refused(script, member_runs, tmp_path):
    with pytest.raises(SystemExit, match="consecutive seeds"):
        script.assemble(member_runs[::-1], "rf-magpie", "x")
    other = tmp_path / "other"
    other.mkdir()
    config = json.loads((member_runs[1] / "config.json").read_text())
    (other / "config.json").write_text(json.dumps({**config, "cv": 4}))
    with pytest.raises(SystemExit, match="another configuration"):
        script.assemble([member_runs[0], other], "rf-magpie", "x")
    with pytest.raises(SystemExit, match="no config.json"):
        script.assemble([member_runs[0], tmp_path / "missing"], "rf-magpie", "x")
