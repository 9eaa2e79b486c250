"""The benchmark runner's fits in parallel: local processes and a Dask LocalCluster against one at a time.

    .venv/bin/python benchmarks/bench_distributed.py [--task matbench_jdft2d] [--models rf-magpie gbm-descriptors]

Runs the same (model, fold) fits three ways, side by side in one process tree, each into its own fresh
output folder: one at a time in this process (the default runner), two at a time in local joblib
processes (``n_jobs=2``), and two at a time on a ``distributed.LocalCluster`` of two single-threaded worker
processes through joblib's Dask backend. Prints the wall time of each as a ratio to the sequential run, and
checks that every test prediction of the three runs is identical. The record goes to
``benchmarks/results/distributed.json``. Run it on an otherwise idle machine: the ratios mean nothing
beside another busy process.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import joblib
import pandas as pd

from skhybrid.benchmark import run_benchmark

RESULTS = Path(__file__).parent / "results" / "distributed.json"


def _predictions(out: Path) -> dict:
    return {p.name: pd.read_csv(p)["y_pred"].to_numpy() for p in sorted((out / "predictions").glob("*.csv"))}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", default="matbench_jdft2d")
    parser.add_argument("--models", nargs="+", default=["rf-magpie", "gbm-descriptors"])
    parser.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    args = parser.parse_args(argv)

    from distributed import Client, LocalCluster

    settings = dict(models=args.models, data_dir=args.data_dir, progress=False)
    root = Path(tempfile.mkdtemp(prefix="bench-distributed-"))
    times, outputs = {}, {}
    for mode in ("sequential", "local processes", "dask LocalCluster"):
        out = root / mode.replace(" ", "-")
        start = time.perf_counter()
        if mode == "sequential":
            run_benchmark(args.task, out=out, **settings)
        elif mode == "local processes":
            run_benchmark(args.task, out=out, n_jobs=2, **settings)
        else:
            with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster, \
                    Client(cluster), joblib.parallel_config(backend="dask"):
                run_benchmark(args.task, out=out, n_jobs=2, **settings)
        times[mode] = time.perf_counter() - start
        outputs[mode] = _predictions(out)
    reference = outputs["sequential"]
    identical = {mode: all((values[name] == reference[name]).all() for name in reference) and
                 set(values) == set(reference) for mode, values in outputs.items()}
    record = {"task": args.task, "models": args.models, "fits": len(reference),
              "wall_s": {k: round(v, 1) for k, v in times.items()},
              "ratio_to_sequential": {k: round(v / times["sequential"], 3) for k, v in times.items()},
              "predictions_identical_to_sequential": identical}
    RESULTS.write_text(json.dumps(record, indent=1) + "\n")
    print(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
