"""A seed ensemble's benchmark records from runs of its members made one seed at a time.

    .venv/bin/python benchmarks/seed_ensemble_from_runs.py --model megnet-kgcnn --name megnet-kgcnn-x2 \\
        --runs benchmarks/results/runs/matbench_phonons benchmarks/results/runs/matbench_phonons-seed1

``SeedEnsembleRegressor(model, n_estimators=k, random_state=s)`` fits member ``i`` exactly as ``model`` with
``random_state=s + i`` and predicts their mean (the spread is their standard deviation). Its members are
independent, so a run of ``model`` with ``--seed s``, one with ``--seed s+1``, ... on the same folds hold every
prediction the ensemble would make; this averages them instead of training the members again. It is how
``megnet-kgcnn-x2`` was scored on phonons: its member 0 is the ``megnet-kgcnn`` run, member 1 a run with
``--seed 1``, trained in different sessions (two fits side by side did not fit in one).

The ensemble's records (one per fold every run finished) are written into the first run's folder, with
``components`` for each member, the Gaussian spread intervals the runner scores for ensembles, and
``assembled_from`` naming the runs; its report (and Matbench results files, the members' included) are
rebuilt with every model of that folder. ``fit_s`` is the members' fit times added up (the time on one core;
side by side on two cores the wall time is about the longest of them).
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd


def _config(run: Path) -> dict:
    path = run / "config.json"
    if not path.exists():
        raise SystemExit(f"{run} holds no config.json: is it an output folder of `skhybrid benchmark`?")
    return json.loads(path.read_text())


def _check_runs(runs: list[Path]) -> list[dict]:
    configs = [_config(run) for run in runs]
    first = {k: v for k, v in configs[0].items() if k != "seed"}
    for run, config in zip(runs[1:], configs[1:]):
        other = {k: v for k, v in config.items() if k != "seed"}
        if other != first:
            raise SystemExit(f"{run} ran another configuration ({other}) than {runs[0]} ({first}): only the seed "
                             "may differ between an ensemble's members.")
    seeds = [config["seed"] for config in configs]
    if seeds != list(range(seeds[0], seeds[0] + len(seeds))):
        raise SystemExit(f"the runs' seeds are {seeds}: a seed ensemble's members have consecutive seeds "
                         f"(random_state + i), listed in that order.")
    return configs


def _member_predictions(runs: list[Path], model: str, fold: int) -> list[pd.DataFrame] | None:
    paths = [run / "predictions" / f"{model}__fold{fold}.csv" for run in runs]
    if not all(path.exists() and (run / "records" / f"{model}__fold{fold}.json").exists()
               for run, path in zip(runs, paths)):
        return None
    frames = [pd.read_csv(path) for path in paths]
    for path, frame in zip(paths[1:], frames[1:]):
        if not frame["id"].equals(frames[0]["id"]) or not np.allclose(frame["y_true"], frames[0]["y_true"]):
            raise SystemExit(f"{path} holds other test samples (or targets) than {paths[0]}: not the same folds.")
    return frames


def assemble(runs: list[Path], model: str, name: str) -> list[int]:
    """Write ``name``'s records and predictions into ``runs[0]``; return the folds written."""
    from skhybrid.benchmark._runner import (INTERVAL_LEVELS, _metrics, interval_columns, interval_summary,
                                            _record_path)
    from skhybrid.utils import write_atomically
    from scipy.stats import norm

    configs = _check_runs(runs)
    written = []
    for fold in range(5):
        frames = _member_predictions(runs, model, fold)
        if frames is None:
            continue
        records = [json.loads((run / "records" / f"{model}__fold{fold}.json").read_text()) for run in runs]
        members = np.column_stack([frame["y_pred"].to_numpy(dtype=float) for frame in frames])
        # what SeedEnsembleRegressor.predict(X, return_std=True) returns
        mean, std = members.mean(axis=1), members.std(axis=1)
        y_true = frames[0]["y_true"].to_numpy(dtype=float)
        half = std[:, None] * norm.ppf(0.5 + np.asarray(INTERVAL_LEVELS) / 2)
        intervals = {level: np.column_stack([mean - half[:, k], mean + half[:, k]])
                     for k, level in enumerate(INTERVAL_LEVELS)}
        components = {f"member/{i}": _metrics(y_true, members[:, i])["mae"] for i in range(len(runs))}
        record = {"model": name, "fold": fold, "n_train": records[0]["n_train"], "n_test": records[0]["n_test"],
                  "fit_s": float(sum(r["fit_s"] for r in records)),
                  "predict_s": float(sum(r["predict_s"] for r in records)),
                  "torch_threads": records[0].get("torch_threads"), **_metrics(y_true, mean),
                  "versions": records[-1].get("versions"), "machine": records[-1].get("machine"),
                  "components": components, "intervals": interval_summary("spread", y_true, intervals),
                  "members_fit_s": [r["fit_s"] for r in records],
                  "assembled_from": [{"run": str(run), "model": model, "seed": config["seed"],
                                      "versions": r.get("versions"), "machine": r.get("machine")}
                                     for run, config, r in zip(runs, configs, records)]}
        frame = pd.DataFrame({"id": frames[0]["id"], "y_true": y_true, "y_pred": mean,
                              **{f"pred:member/{i}": members[:, i] for i in range(len(runs))},
                              **interval_columns(intervals)})
        write_atomically(runs[0] / "predictions" / f"{name}__fold{fold}.csv", frame.to_csv(index=False))
        write_atomically(_record_path(runs[0], name, fold), json.dumps(record, indent=1))
        written.append(fold)
        print(f"{name} fold {fold}: MAE {record['mae']:.4g} (members "
              + ", ".join(f"{v:.4g}" for v in components.values()) + ")")
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", nargs="+", required=True, type=Path,
                        help="output folders of the member runs, in seed order (the first gets the records)")
    parser.add_argument("--model", required=True, help="the catalogue model every run trained")
    parser.add_argument("--name", required=True, help="the ensemble's name in the records, e.g. megnet-kgcnn-x2")
    parser.add_argument("--data-dir", default=None, help="Matbench data directory (for the report)")
    parser.add_argument("--no-report", action="store_true", help="write the records only")
    args = parser.parse_args(argv)
    if len(args.runs) < 2:
        parser.error("an ensemble needs two runs or more")
    folds = assemble(args.runs, args.model, args.name)
    if not folds:
        raise SystemExit(f"no fold has {args.model} records in every run: nothing written.")
    if args.no_report:
        return
    from skhybrid.benchmark import load_benchmark_data, load_records, write_report

    config = _config(args.runs[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if "task" in config:
            bench = load_benchmark_data(config["task"], data_dir=args.data_dir)
        else:
            bench = load_benchmark_data(data=config["data"], target=config["target"], cv=config["cv"],
                                        seed=config["seed"])
        frame = load_records(args.runs[0])
        write_report(args.runs[0], frame, bench, expected=(list(dict.fromkeys(frame["model"])), [0, 1, 2, 3, 4]),
                     quick=config.get("quick"))
    print(f"report and Matbench files rebuilt in {args.runs[0]}")


if __name__ == "__main__":
    main()
