"""Fault injection: damaged files in a run folder, kills at random moments, and the report at every stop.

The data is a folder of small synthetic crystals written by the test, so nothing here needs ../shared.
"""

import gzip
import json
import os
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from skhybrid.benchmark import load_records, run_benchmark
from skhybrid.models._checkpoint import TrainingCheckpoint
from skhybrid.benchmark._runner import COMPONENT_PREFIX
from skhybrid.utils._testing import write_crystal_folder

MODELS = ["dummy", "rf-magpie", "gbm-descriptors"]


@pytest.fixture(scope="module")
def crystal_folder(tmp_path_factory):
    return write_crystal_folder(tmp_path_factory.mktemp("crystals"), n=36, seed=2)


def _run(folder, out, models=MODELS, **kwargs):
    return run_benchmark(data=folder, target="y", cv=3, models=models, folds=[0, 1, 2], out=out, quick=True,
                         progress=False, **kwargs)


@pytest.fixture(scope="module")
def clean_run(crystal_folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("clean")
    _run(crystal_folder, out)
    return out


def _predictions(out):
    return {p.name: pd.read_csv(p) for p in sorted((out / "predictions").glob("*.csv"))}


def _assert_same_results(out, reference):
    ours, theirs = _predictions(out), _predictions(reference)
    assert ours.keys() == theirs.keys()
    for name in ours:
        pd.testing.assert_frame_equal(ours[name], theirs[name], check_exact=False, rtol=1e-12)


@pytest.mark.parametrize("damage", ["truncate_record", "empty_record", "record_without_metrics",
                                    "truncate_predictions", "delete_predictions"])
def test_a_damaged_file_is_moved_aside_and_recomputed(crystal_folder, clean_run, tmp_path, damage):
    import shutil

    out = tmp_path / "run"
    shutil.copytree(clean_run, out)
    record = out / "records" / "rf-magpie__fold1.json"
    predictions = out / "predictions" / "rf-magpie__fold1.csv"
    if damage == "truncate_record":
        record.write_text(record.read_text()[:40])
    elif damage == "empty_record":
        record.write_text("")
    elif damage == "record_without_metrics":
        record.write_text(json.dumps({"model": "rf-magpie", "fold": 1}))
    elif damage == "truncate_predictions":
        predictions.write_text("\n".join(predictions.read_text().splitlines()[:4]))
    else:
        predictions.unlink()
    with pytest.warns(UserWarning, match=r"rf-magpie__fold1\.json was damaged .* computed again"):
        _run(crystal_folder, out)
    assert (out / "records" / "rf-magpie__fold1.json.corrupt").exists()
    _assert_same_results(out, clean_run)


def test_a_damaged_config_names_the_file(crystal_folder, clean_run, tmp_path):
    import shutil

    out = tmp_path / "run"
    shutil.copytree(clean_run, out)
    (out / "config.json").write_text('{"data": ')
    with pytest.raises(ValueError, match=r"config\.json is damaged .* pass force=True \(--force\)"):
        _run(crystal_folder, out)


def test_the_output_folder_is_checked_before_any_work(crystal_folder, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ValueError, match="is a file, not a folder"):
        _run(crystal_folder, blocker)
    with pytest.raises(ValueError, match="cannot create the output folder"):
        _run(crystal_folder, blocker / "below")


def test_kill_at_random_moments_then_rerun_equals_an_uninterrupted_run(crystal_folder, clean_run, tmp_path):
    rng = np.random.default_rng(0)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "skhybrid", "benchmark", "--data", str(crystal_folder), "--target", "y",
               "--cv", "3", "--folds", "0", "1", "2", "--quick", "--no-progress", "--models", *MODELS]
    out = tmp_path / "killed"
    for delay in sorted(rng.uniform(4.0, 25.0, size=3)):
        process = subprocess.Popen([*command, "--out", str(out)], env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        try:  # a run that finishes before its moment has nothing left to interrupt: go on at once
            process.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            process.kill()  # SIGKILL: no handler runs
            process.wait()
    final = subprocess.run([*command, "--out", str(out)], env=env, capture_output=True, text=True, timeout=600)
    assert final.returncode == 0, final.stderr
    _assert_same_results(out, clean_run)
    assert not list(out.rglob("*.tmp"))


def test_sigterm_stops_a_parallel_run_like_ctrl_c_and_ends_its_workers(crystal_folder, tmp_path):
    """``kill PID`` (or a batch scheduler's time limit) must not leave worker processes training on."""
    psutil = pytest.importorskip("psutil")
    command = [sys.executable, "-m", "skhybrid", "benchmark", "--data", str(crystal_folder), "--target", "y",
               "--cv", "3", "--folds", "0", "1", "2", "--no-progress", "--models", "cgcnn", "--n-jobs", "2",
               "--out", str(tmp_path / "run")]  # full training: the fits outlast the signal
    process = subprocess.Popen(command, env={**os.environ, "OMP_NUM_THREADS": "1"}, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)

    def workers():
        found = []
        for child in psutil.Process(process.pid).children(recursive=True):
            try:
                if "loky" in " ".join(child.cmdline()):
                    found.append(child)
            except psutil.Error:
                pass
        return found

    deadline, running = time.time() + 120, []
    while time.time() < deadline and len(running) < 2 and process.poll() is None:
        running = workers()
        time.sleep(0.2)
    assert len(running) >= 2, "the run ended before its parallel fits started"
    time.sleep(2.0)  # inside the fits
    process.terminate()
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr and "resume" in stderr
    _, alive = psutil.wait_procs(running, timeout=30)
    assert not alive, f"worker processes left running: {[p.pid for p in alive]}"


def test_report_is_rewritten_after_each_fold_and_marks_missing_and_quick_runs(crystal_folder, tmp_path):
    out = tmp_path / "partial"
    _run(crystal_folder, out, models=["dummy", "rf-magpie"], )
    report = (out / "report.md").read_text()
    assert "Quick run" in report and "Incomplete" not in report
    run_benchmark(data=crystal_folder, target="y", cv=3, models=["dummy", "rf-magpie"], folds=[0], out=out,
                  quick=True, progress=False)
    for record in (out / "records").glob("rf-magpie__fold2.json"):
        record.unlink()
    results = load_records(out)
    from skhybrid.benchmark import write_report
    from skhybrid.benchmark._runner import load_benchmark_data

    bench = load_benchmark_data(data=crystal_folder, target="y", cv=3)
    write_report(out, results, bench, expected=(["dummy", "rf-magpie"], [0, 1, 2]), quick=True)
    assert "Incomplete**: 1 of 6 (model, fold) fits are missing (rf-magpie fold 2)" in (out / "report.md").read_text()
    # a run of chosen pairs (benchmarks/bench_gpu.py --fits) lists only those it asked for
    write_report(out, results, bench, expected=[("dummy", 0), ("rf-magpie", 1), ("rf-magpie", 2)], quick=True)
    assert "Incomplete**: 1 of 3 (model, fold) fits are missing (rf-magpie fold 2)" in (out / "report.md").read_text()


def test_checkpoints_change_no_result_and_are_gone_when_the_fits_end(crystal_folder, tmp_path, monkeypatch):
    # a network's fit that saves its state (--checkpoints) computes what one that does not computes
    from skhybrid.models import _base

    monkeypatch.setattr(_base, "CHECKPOINT_INTERVAL_S", 0.0)  # a save at every epoch
    saves = []
    monkeypatch.setattr(TrainingCheckpoint, "save", lambda self, net, _save=TrainingCheckpoint.save: (
        saves.append(len(net.history)), _save(self, net)))
    out = tmp_path / "checkpointed"
    models = ["cgcnn"]
    _run(crystal_folder, tmp_path / "plain", models=models)
    _run(crystal_folder, out, models=models, checkpoints=tmp_path / "states")
    for name, frame in _predictions(tmp_path / "plain").items():
        pd.testing.assert_frame_equal(_predictions(out)[name], frame)
    assert not list((tmp_path / "states").glob("*.pt"))
    assert saves == [1, 2, 3, 4, 5] * 3  # three folds of five epochs (--quick)
    assert all("resumed_from_epoch" not in json.loads(p.read_text()) for p in (out / "records").glob("*.json"))


def test_a_killed_fit_goes_on_from_its_checkpoint_and_its_record_says_so(crystal_folder, tmp_path, monkeypatch):
    from skhybrid.models import _base

    monkeypatch.setattr(_base, "CHECKPOINT_INTERVAL_S", 0.0)
    original = TrainingCheckpoint.save

    def save_then_die_at_epoch_3(self, net):
        original(self, net)
        if len(net.history) == 3:
            raise SystemExit("killed")  # as a kill between epochs would stop the process

    monkeypatch.setattr(TrainingCheckpoint, "save", save_then_die_at_epoch_3)
    with pytest.raises(SystemExit):
        _run(crystal_folder, tmp_path / "run", models=["cgcnn"], checkpoints=tmp_path / "states")
    monkeypatch.setattr(TrainingCheckpoint, "save", original)
    _run(crystal_folder, tmp_path / "run", models=["cgcnn"], checkpoints=tmp_path / "states")
    _run(crystal_folder, tmp_path / "plain", models=["cgcnn"])
    pd.testing.assert_frame_equal(_predictions(tmp_path / "run")["cgcnn__fold0.csv"],
                                  _predictions(tmp_path / "plain")["cgcnn__fold0.csv"])
    record = json.loads((tmp_path / "run" / "records" / "cgcnn__fold0.json").read_text())
    assert record["resumed_from_epoch"] == 3 and record["epochs"] == 5
    plain = json.loads((tmp_path / "plain" / "records" / "cgcnn__fold0.json").read_text())
    # epochs are part of a fit; epochs_s is rounded to 0.1 s, which a fit of under 0.1 s can fall below
    assert "resumed_from_epoch" not in plain and 0 < plain["epochs_s"] <= plain["fit_s"] + 0.05


def test_fusion_models_save_their_parts_predictions(crystal_folder, tmp_path):
    out = tmp_path / "hybrid"
    _run(crystal_folder, out, models=["hybrid-light"])
    frame = pd.read_csv(out / "predictions" / "hybrid-light__fold0.csv")
    parts = [c[len(COMPONENT_PREFIX):] for c in frame.columns if c.startswith(COMPONENT_PREFIX)]
    assert parts == ["descriptors", "graph", "graph/0", "graph/1"]  # the descriptor model is refit, not a committee
    np.testing.assert_allclose(frame[f"{COMPONENT_PREFIX}graph"],
                               frame[[f"{COMPONENT_PREFIX}graph/0", f"{COMPONENT_PREFIX}graph/1"]].mean(axis=1))
    record = json.loads((out / "records" / "hybrid-light__fold0.json").read_text())
    assert set(record["components"]) == set(parts)
    assert "Inside the fusion models" in (out / "report.md").read_text()


def test_matbench_results_files_are_gzipped(tmp_path):
    from skhybrid.benchmark._report import _write_gzipped

    class Fake:
        def to_file(self, name):
            with open(name, "w") as f:
                json.dump({"ok": 1}, f)

    path = tmp_path / "m.json.gz"
    _write_gzipped(Fake(), path)
    assert json.loads(gzip.decompress(path.read_bytes())) == {"ok": 1}


def test_a_matbench_file_with_the_same_results_is_not_rewritten(tmp_path):
    """Rebuilding a report must not touch the results file of a model whose folds did not change: matbench
    stamps the time on every file it writes, so a rewrite would show every committed file as modified."""
    from skhybrid.benchmark._report import _write_gzipped

    class Stamped:
        def __init__(self, results, when):
            self.results, self.when = results, when

        def to_file(self, name):
            with open(name, "w") as f:
                json.dump({"results": self.results, "datestamp": self.when, "hash": f"h{self.when}"}, f)

    path = tmp_path / "m.json.gz"
    _write_gzipped(Stamped([1.0, 2.0], "2026.12.01"), path)
    before = path.read_bytes()
    _write_gzipped(Stamped([1.0, 2.0], "2026.12.03"), path)
    assert path.read_bytes() == before  # same results: the first datestamp stays
    _write_gzipped(Stamped([1.0, 2.5], "2026.12.04"), path)
    assert json.loads(gzip.decompress(path.read_bytes())) == {"results": [1.0, 2.5], "datestamp": "2026.12.04",
                                                             "hash": "h2026.12.04"}
    path.write_bytes(b"damaged")  # a file that cannot be read is written anew, not kept
    _write_gzipped(Stamped([1.0, 2.5], "2026.12.05"), path)
    assert json.loads(gzip.decompress(path.read_bytes()))["datestamp"] == "2026.12.05"


@pytest.mark.parametrize("content", [b"", b"not a model at all", None])
def test_predict_on_a_damaged_or_foreign_model_file_is_one_line(tmp_path, crystal_folder, capsys, content):
    from skhybrid.cli import main

    path = tmp_path / "model.joblib"
    if content is None:  # a real model file, cut in half
        assert main(["fit", "dummy", "--data", str(crystal_folder), "--target", "y", "--out", str(path),
                     "--no-progress"]) == 0
        path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    else:
        path.write_bytes(content)
    capsys.readouterr()
    assert main(["predict", str(path), str(crystal_folder), "--out", str(tmp_path / "p.csv"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "model.joblib cannot be read as a model" in err and "Traceback" not in err


def test_cli_refuses_a_missing_output_folder_before_any_work(tmp_path, crystal_folder, capsys):
    from skhybrid.cli import main

    out = tmp_path / "missing" / "p.csv"
    assert main(["fit", "rf-magpie", "--data", str(crystal_folder), "--target", "y", "--out", str(out),
                 "--no-progress"]) == 2
    assert "the folder of --out" in capsys.readouterr().err and not out.parent.exists()
    with pytest.raises(ValueError, match="the folder of --out"):
        main(["--debug", "predict", "x.joblib", str(crystal_folder), "--out", str(out)])


def test_a_configuration_outside_the_catalogue_runs_resumes_and_cannot_take_a_catalogue_name(crystal_folder,
                                                                                          tmp_path):
    """A benchmark script's variant is a CatalogueEntry of its own: recorded and resumed like a catalogue model."""
    from sklearn.dummy import DummyRegressor
    from sklearn.pipeline import make_pipeline

    from skhybrid import MagpieFeaturizer
    from skhybrid.catalogue import CatalogueEntry

    median = CatalogueEntry("magpie-median", "the training median, behind Magpie features",
                            lambda seed, quick: make_pipeline(MagpieFeaturizer(), DummyRegressor(strategy="median")))
    first = _run(crystal_folder, tmp_path, models=["dummy", median])
    assert list(first["model"].unique()) == ["dummy", "magpie-median"]
    records = load_records(tmp_path).set_index(["model", "fold"])
    targets = pd.read_csv(crystal_folder / "targets.csv").set_index("file")["y"]
    for fold in range(3):
        frame = pd.read_csv(tmp_path / "predictions" / f"magpie-median__fold{fold}.csv")
        assert records.loc[("magpie-median", fold), "mae"] == pytest.approx(np.abs(frame.y_true - frame.y_pred).mean())
        training_median = targets.drop(frame["id"]).median()
        np.testing.assert_allclose(frame.y_pred, training_median)
    stamps = {p: p.stat().st_mtime_ns for p in (tmp_path / "records").glob("magpie-median__*.json")}
    again = _run(crystal_folder, tmp_path, models=[median])  # resumed: nothing left to fit
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps and len(stamps) == 3
    assert again.set_index(["model", "fold"])["mae"].equals(records.loc[["magpie-median"], "mae"])
    clash = CatalogueEntry("dummy", "not the catalogue's dummy", median.build)
    with pytest.raises(ValueError, match="'dummy' uses a catalogue model's name"):
        _run(crystal_folder, tmp_path / "other", models=[clash])
