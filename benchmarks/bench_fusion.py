"""Fusion against its parts on the official Matbench folds (issue #6), as configurations of the runner.

    .venv/bin/python benchmarks/bench_fusion.py run [--tasks matbench_phonons matbench_jdft2d] [--folds 0 1 2 3 4]
    .venv/bin/python benchmarks/bench_fusion.py contribution     # early fusion's branches, phonons fold 0
    .venv/bin/python benchmarks/bench_fusion.py report           # the issue #6 tables (first run's records)

Models, all trained on the fold's training data only (settings fixed before looking at any test fold), all
catalogue entries but one:

- ``rf`` = ``rf-magpie``: Magpie (145) + random forest (500 trees), the composition part;
- ``cgcnn``: StructureGraphizer + CGCNNRegressor (300 epochs, patience 40), the graph part;
- ``early-concat`` / ``early-attention`` = ``early-fusion`` / ``early-fusion-attention``: EarlyFusionRegressor
  on a CGCNN backbone with the Magpie vector as the composition branch, same training settings;
- ``late`` = ``late-fusion``: LateFusionRegressor([rf, cgcnn], weights="oof", cv=3);
- ``stacking`` = ``stacking-forest``, a configuration of this script (the catalogue's ``stacking`` ends in a
  ridge): StackingFusionRegressor with a 500-tree forest on [out-of-fold rf and cgcnn predictions, Magpie];
- ``late-all`` = ``late-fusion-all``: LateFusionRegressor over the four single models above, weights="oof",
  cv=3. Added after the first run had scored the others (disclosed in docs/benchmarks.md).

``run`` goes through :func:`skhybrid.benchmark.run_benchmark` into ``benchmarks/results/runs/<task>``
(one record and one predictions file per (model, fold), resumed on a rerun, a report after each fold;
``benchmarks/summarize_runs.py`` prints the tables). The first run of issue #6, made before the runner
existed by this script's own loop, is kept in ``benchmarks/results/fusion_<task>.json``; ``report`` prints
it. The catalogue models reproduce it fold by fold (docs/benchmarks.md, issue #19). In that first run the
stacking was built from the late-fusion fit (``StackingFusionRegressor.from_late_fusion``), which equals a
direct fit with the same cv and seeds (a test checks it); the runner fits it directly.
"""

from __future__ import annotations

import argparse
import json
import os
import warnings
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results"
IMAGES = Path(__file__).parent.parent / "docs" / "img"
TASKS = {"matbench_phonons": "cm^-1", "matbench_jdft2d": "meV/atom"}
MODELS = ["rf", "cgcnn", "early-concat", "early-attention", "late", "stacking", "late-all"]
RUNS = RESULTS / "runs"
LATE_CV = 3


def _load(path):
    return json.loads(path.read_text()) if path.exists() else []


def _contribution(task, fold, name, pipe, X_test, y_test, unit, seed):
    """Branch permutation importance and attention weights on the held-out fold, with plots."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from skhybrid.inspection import (
        branch_importance,
        fusion_weights,
        plot_branch_importance,
        plot_fusion_weights,
    )

    result = branch_importance(pipe, X_test, y_test, n_repeats=10, random_state=seed)
    out = {"baseline_mae": result.baseline_mae,
           "importance_mean": dict(zip(result.branches, result.importances_mean.tolist())),
           "importance_std": dict(zip(result.branches, result.importances_std.tolist()))}
    IMAGES.mkdir(parents=True, exist_ok=True)
    stem = f"{task.replace('matbench_', '')}_fold{fold}_{name}"
    if name == "early-attention":
        weights = fusion_weights(pipe, X_test)
        out["attention_weights"] = weights.describe().loc[["mean", "std", "min", "25%", "50%", "75%", "max"]].to_dict()
        fig, axes = plt.subplots(1, 2, figsize=(8.5, 3.2))
        plot_branch_importance(result, axes[0], unit=unit)
        plot_fusion_weights(weights, axes[1])
        axes[1].set_title("Attention weights, test fold")
    else:
        fig, ax = plt.subplots(figsize=(4.2, 3.2))
        plot_branch_importance(result, ax, unit=unit)
    fig.tight_layout()
    fig.savefig(IMAGES / f"{stem}_contribution.png", dpi=120)
    plt.close(fig)
    return out


def stacking_forest(seed, quick):
    """The stacking of issue #6: a 500-tree forest on [out-of-fold rf and cgcnn predictions, Magpie]."""
    from sklearn.ensemble import RandomForestRegressor

    from skhybrid import MagpieFeaturizer, StackingFusionRegressor
    from skhybrid.catalogue import build

    bases = [("rf", build("rf-magpie", seed=seed, quick=quick)), ("cgcnn", build("cgcnn", seed=seed, quick=quick))]
    return StackingFusionRegressor(bases, RandomForestRegressor(n_estimators=50 if quick else 500, random_state=seed),
                                   passthrough_features=MagpieFeaturizer(), cv=2 if quick else LATE_CV,
                                   random_state=seed)


def configurations():
    """The models of this benchmark, as the runner takes them: catalogue names, plus the one variant the
    catalogue does not hold (its ``stacking`` has a ridge as final estimator)."""
    from skhybrid.catalogue import CatalogueEntry

    forest = CatalogueEntry("stacking-forest", "a 500-tree forest on out-of-fold rf-magpie and cgcnn "
                            "predictions plus the Magpie features (issue #6)", stacking_forest)
    return {"rf": "rf-magpie", "cgcnn": "cgcnn", "early-concat": "early-fusion",
            "early-attention": "early-fusion-attention", "late": "late-fusion", "stacking": forest,
            "late-all": "late-fusion-all"}


def run(args):
    """Every (task, model, fold) through the benchmark runner: records, predictions, resume, report."""
    from skhybrid.benchmark import run_benchmark

    chosen = [configurations()[name] for name in args.models]
    for task in args.tasks:
        out = RUNS / task
        run_benchmark(task, models=chosen, folds=args.folds, out=out, data_dir=args.data_dir, seed=args.seed,
                      quick=args.smoke, threads=args.threads)
        print(f"{task}: records, predictions and report in {out}", flush=True)


def contribution(args):
    """Branch importance and attention weights of the early-fusion models, phonons fold 0 (docs/img/)."""
    from skhybrid.catalogue import build
    from skhybrid.datasets import load_matbench

    task, fold = "matbench_phonons", 0
    data = load_matbench(task, data_home=args.data_dir)
    y = data.targets.iloc[:, 0].to_numpy()
    train, test = data.folds[fold]
    X_train, X_test = [data.structures[i] for i in train], [data.structures[i] for i in test]
    results = {}
    for name, catalogue_name in (("early-concat", "early-fusion"), ("early-attention", "early-fusion-attention")):
        model = build(catalogue_name, seed=args.seed, quick=args.smoke)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            model.fit(X_train, y[train])
        results[name] = _contribution(task, fold, name, model, X_test, y[test], TASKS[task], args.seed)
        print(f"{name}: {json.dumps(results[name])}", flush=True)
    (RESULTS / "fusion_contribution.json").write_text(json.dumps(results, indent=1))


def report(path):
    records = _load(path)
    if not records:
        return
    folds = sorted({r["fold"] for r in records})
    print(f"\n{path.name}\n| model | " + " | ".join(f"fold {f}" for f in folds) + " | mean MAE | fit min/fold |")
    print("|---" * (len(folds) + 3) + "|")
    for model in MODELS:
        rows = {r["fold"]: r for r in records if r["model"] == model}
        if not rows:
            continue
        maes = [f"{rows[f]['mae']:.2f}" if f in rows else "" for f in folds]
        mean = f"{np.mean([r['mae'] for r in rows.values()]):.2f}" + ("" if len(rows) == len(folds) else "*")
        fit = np.mean([r["fit_s"] for r in rows.values()]) / 60
        print(f"| {model} | " + " | ".join(maes) + f" | {mean} | {fit:.1f} |")
    for model in ("late", "late-all"):
        late = sorted((r for r in records if r["model"] == model), key=lambda r: r["fold"])
        if late:
            print(f"{model} weights ({', '.join(late[0]['weights'])}) per fold: " + "; ".join(
                f"{r['fold']}: " + ", ".join(f"{w:.2f}" for w in r["weights"].values()) for r in late))
    for r in records:
        if "contribution" in r:
            print(f"{r['model']} fold {r['fold']} contribution: {json.dumps(r['contribution'])}")


def main():
    global RUNS, IMAGES
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["run", "contribution", "report"])
    parser.add_argument("--data-dir", default=os.environ.get("SKHYBRID_DATA_DIR"))
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--models", nargs="+", default=MODELS, choices=MODELS)
    parser.add_argument("--folds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads per fit (default: torch's own, as in the first run)")
    parser.add_argument("--smoke", action="store_true",
                        help="check the script end to end: the runner's quick settings, results under /tmp")
    args = parser.parse_args()
    if args.smoke:
        RUNS = IMAGES = Path("/tmp/bench_fusion_smoke")
        RUNS.mkdir(exist_ok=True)
    if args.what == "report":
        for task in TASKS:
            report(RESULTS / f"fusion_{task.replace('matbench_', '')}.json")
    elif args.what == "contribution":
        contribution(args)
    else:
        run(args)


if __name__ == "__main__":
    main()
