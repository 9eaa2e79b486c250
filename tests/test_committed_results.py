"""The committed Matbench results files are what the docs report: complete, gzipped, and equal to the runs.

`docs/benchmarks.md` promises that anyone can re-score each reported model from
`benchmarks/results/matbench/<task>/<model>.json.gz`. A copy left over from a partial run (it happened:
an ensemble's file with three of five folds stayed committed after its run was finished) would re-score to
another figure than the docs give; these tests re-score every file with matbench itself and compare it
with the run's own records.
"""
import gzip
import json
import logging
from pathlib import Path

import numpy as np
import pytest

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
FILES = sorted((RESULTS / "matbench").glob("*/*.json.gz"))


def _run_records(task: str, model: str):
    """The five fold records of ``model`` on ``task``: from the task's own run folder, or else from the one
    other run folder of that task (e.g. ``matbench_jdft2d-descriptor-state``) that holds all five.

    A folder run with another seed than the runner's default 0 (``matbench_phonons-keras-seed1``) holds a
    seed ensemble's further member, never the model's reported figure, so it is not a candidate.
    """
    configs = {folder: json.loads((folder / "config.json").read_text())
               for folder in (RESULTS / "runs").glob(f"{task}-*")}
    folders = [RESULTS / "runs" / task] + sorted(
        folder for folder, config in configs.items() if config.get("task") == task and config.get("seed", 0) == 0)
    found = [[folder / "records" / f"{model}__fold{fold}.json" for fold in range(5)] for folder in folders]
    found = [records for records in found if all(path.exists() for path in records)]
    if found and found[0][0].parent.parent.name == task:
        return found[0]
    assert len(found) <= 1, (f"{model} on {task}: five records in several run folders "
                             f"({[records[0].parent.parent.name for records in found]}); "
                             "the file's source is ambiguous")
    return found[0] if found else None


def _expected_from_records(task: str, name: str):
    """The mean test MAE of the run's records for this file's model (or part), or None without a run."""
    model, _, part = name.partition(".")
    if part.startswith("env-"):
        return None  # an environment's copy kept for comparison
    records = _run_records(task, model)
    if records is None:
        return None  # a run folder not committed
    scores = []
    for path in records:
        record = json.loads(path.read_text())
        if not part:
            scores.append(record["mae"])
        else:
            components = {key.replace("/", "-"): value for key, value in record["components"].items()}
            scores.append(components[part])
    return float(np.mean(scores))


def test_there_are_committed_results():
    assert len(FILES) >= 10, "benchmarks/results/matbench/ lost its files"


@pytest.mark.parametrize("path", FILES, ids=[f"{p.parent.name}/{p.name}" for p in FILES])
def test_committed_matbench_file_is_complete_and_matches_its_run(path):
    pytest.importorskip("matbench")
    from matbench.bench import MatbenchBenchmark

    assert path.read_bytes()[:2] == b"\x1f\x8b", f"{path} is not gzipped"
    logging.disable(logging.INFO)  # matbench logs every load
    try:
        benchmark = MatbenchBenchmark.from_dict(json.loads(gzip.decompress(path.read_bytes())))
    finally:
        logging.disable(logging.NOTSET)
    (task,) = benchmark.tasks
    assert task.dataset_name == path.parent.name
    assert task.all_folds_recorded, f"{path}: not every fold is recorded"
    expected = _expected_from_records(task.dataset_name, path.name[: -len(".json.gz")])
    if expected is not None:
        assert task.scores["mae"]["mean"] == pytest.approx(expected, rel=1e-9)
