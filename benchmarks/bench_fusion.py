"""Fusion against its parts on the official Matbench folds: matbench_phonons and matbench_jdft2d.

    .venv/bin/python benchmarks/bench_fusion.py run [--tasks matbench_phonons matbench_jdft2d] [--folds 0 1 2 3 4]
    .venv/bin/python benchmarks/bench_fusion.py report

Models, all trained on the fold's training data only (settings fixed before looking at any test fold):

- ``rf``: Magpie (145) + random forest (500 trees) -- the composition part;
- ``cgcnn``: StructureGraphizer + CGCNNRegressor -- the graph part;
- ``early-concat`` / ``early-attention``: EarlyFusionRegressor on a CGCNN backbone with the Magpie vector
  as the composition branch, same training settings as ``cgcnn``;
- ``late``: LateFusionRegressor([rf, cgcnn], weights="oof", cv=3): weights chosen on out-of-fold predictions
  of the training fold, bases refit on all of it;
- ``stacking``: StackingFusionRegressor with a random forest (500 trees) as the final estimator on
  [out-of-fold predictions of rf and cgcnn, Magpie features]; built with ``from_late_fusion`` on the
  ``late`` model (identical to a direct fit with the same cv and seeds, tested), so its fit time is
  ``late``'s plus the final estimator's;
- ``late-all``: LateFusionRegressor over all four single models above (rf, cgcnn, early-concat,
  early-attention), weights="oof", cv=3. Added after the first run had scored the others (disclosed in
  docs/benchmarks.md); its weights, like every weight here, come from the training fold alone.

Each (task, model, fold) is written to ``benchmarks/results/fusion_<task>.json`` as soon as it is done; a
rerun skips finished ones unless the settings changed. On phonons fold 0 the early-fusion models also get
the contribution analysis (branch permutation on the test fold, 10 repeats; attention weights), plotted
to ``docs/img/``. Torch uses both cores: run nothing else beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
import warnings
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results"
IMAGES = Path(__file__).parent.parent / "docs" / "img"
TASKS = {"matbench_phonons": "cm^-1", "matbench_jdft2d": "meV/atom"}
MODELS = ["rf", "cgcnn", "early-concat", "early-attention", "late", "stacking", "late-all"]
ALL_BASES = ["rf", "cgcnn", "early-concat", "early-attention"]
GNN_PARAMS = dict(max_epochs=300, patience=40, batch_size=64, lr=1e-3)
RF_PARAMS = dict(n_estimators=500)
LATE_CV = 3
SETTINGS = dict(gnn=GNN_PARAMS, rf=RF_PARAMS, late_cv=LATE_CV, early_backbone="cgcnn",
                stacking_final="RandomForestRegressor(500) on [oof predictions, Magpie]")


def rf_pipeline(seed):
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.pipeline import make_pipeline

    from skhybrid import MagpieFeaturizer

    return make_pipeline(MagpieFeaturizer(), RandomForestRegressor(**RF_PARAMS, random_state=seed, n_jobs=1))


def cgcnn_pipeline(seed):
    from sklearn.pipeline import make_pipeline

    from skhybrid import CGCNNRegressor, StructureGraphizer

    return make_pipeline(StructureGraphizer(), CGCNNRegressor(**GNN_PARAMS, random_state=seed))


def early_pipeline(fusion, seed):
    from sklearn.pipeline import Pipeline

    from skhybrid import EarlyFusionRegressor, MagpieFeaturizer, StructureGraphizer

    return Pipeline([("graph", StructureGraphizer(global_features=MagpieFeaturizer())),
                     ("fusion", EarlyFusionRegressor("cgcnn", fusion, **GNN_PARAMS, random_state=seed))])


def _load(path):
    return json.loads(path.read_text()) if path.exists() else []


def _save(path, record):
    records = [r for r in _load(path) if (r["model"], r["fold"]) != (record["model"], record["fold"])]
    records.append(record)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(records, indent=1))
    tmp.replace(path)


def _done(path, model, fold):
    return any(r["model"] == model and r["fold"] == fold and r["settings"] == SETTINGS for r in _load(path))


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
    out = dict(baseline_mae=result.baseline_mae,
               importance_mean=dict(zip(result.branches, result.importances_mean.tolist())),
               importance_std=dict(zip(result.branches, result.importances_std.tolist())))
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


def run(args):
    from skhybrid import StackingFusionRegressor
    from skhybrid.datasets import load_matbench
    from skhybrid.fusion import LateFusionRegressor

    for task in args.tasks:
        data = load_matbench(task, data_home=args.data_dir)
        y = data.targets.iloc[:, 0].to_numpy()
        path = RESULTS / f"fusion_{task.replace('matbench_', '')}.json"
        unit = TASKS[task]
        for fold in args.folds:
            train, test = data.folds[fold]
            X_train = [data.structures[i] for i in train]
            X_test = [data.structures[i] for i in test]
            wanted = [m for m in args.models if not _done(path, m, fold) or args.force]
            if "stacking" in wanted and "late" not in wanted:
                wanted.append("late")  # stacking is built on the late-fusion fit
            for name in [m for m in MODELS if m in wanted]:
                if name == "stacking":
                    continue
                if name == "rf":
                    model = rf_pipeline(args.seed)
                elif name == "cgcnn":
                    model = cgcnn_pipeline(args.seed)
                elif name.startswith("early"):
                    model = early_pipeline(name.split("-")[1], args.seed)
                elif name == "late":
                    model = LateFusionRegressor([("rf", rf_pipeline(args.seed)), ("cgcnn", cgcnn_pipeline(args.seed))],
                                                weights="oof", cv=LATE_CV, random_state=args.seed,
                                                verbose=args.verbose)
                else:
                    bases = [("rf", rf_pipeline(args.seed)), ("cgcnn", cgcnn_pipeline(args.seed)),
                             ("early-concat", early_pipeline("concat", args.seed)),
                             ("early-attention", early_pipeline("attention", args.seed))]
                    model = LateFusionRegressor(bases, weights="oof", cv=LATE_CV, random_state=args.seed,
                                                verbose=args.verbose)
                start = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", UserWarning)
                    model.fit(X_train, y[train])
                fit_s = time.perf_counter() - start
                start = time.perf_counter()
                pred = model.predict(X_test)
                predict_s = time.perf_counter() - start
                record = dict(task=task, model=name, fold=fold, mae=float(np.mean(np.abs(pred - y[test]))),
                              fit_s=fit_s, predict_s=predict_s, settings=SETTINGS, seed=args.seed, machine=_machine())
                if name.startswith("early"):
                    net = model[-1]
                    record.update(epochs=len(net.net_.history), best_epoch=net.best_epoch_)
                    if task == "matbench_phonons" and fold == 0:
                        record["contribution"] = _contribution(task, fold, name, model, X_test, y[test], unit,
                                                               args.seed)
                if name.startswith("late"):
                    record.update(weights=dict(zip([n for n, _ in model.estimators], model.weights_.tolist())),
                                  oof_mae=model.oof_scores_)
                    if "stacking" in wanted:
                        from sklearn.ensemble import RandomForestRegressor

                        from skhybrid import MagpieFeaturizer

                        start = time.perf_counter()
                        stack = StackingFusionRegressor.from_late_fusion(
                            model, X_train, y[train], RandomForestRegressor(**RF_PARAMS, random_state=args.seed),
                            passthrough_features=MagpieFeaturizer())
                        stack_s = fit_s + time.perf_counter() - start
                        start = time.perf_counter()
                        stack_pred = stack.predict(X_test)
                        stack_record = dict(record, model="stacking", mae=float(np.mean(np.abs(stack_pred - y[test]))),
                                            fit_s=stack_s, predict_s=time.perf_counter() - start)
                        for key in ("weights", "oof_mae"):
                            stack_record.pop(key)
                        _save(path, stack_record)
                        print(f"{task} fold {fold} stacking: MAE {stack_record['mae']:.2f} {unit}, "
                              f"fit {stack_s / 60:.1f} min", flush=True)
                _save(path, record)
                extra = f", weights {record['weights']}" if name.startswith("late") else ""
                print(f"{task} fold {fold} {name}: MAE {record['mae']:.2f} {unit}, fit {fit_s / 60:.1f} min{extra}",
                      flush=True)
        report(path)


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


def _machine():
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cpus"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["run", "report"])
    parser.add_argument("--data-dir", default=os.environ.get("SKHYBRID_DATA_DIR"))
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--models", nargs="+", default=MODELS, choices=MODELS)
    parser.add_argument("--folds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verbose", type=int, default=0)
    parser.add_argument("--force", action="store_true", help="rerun (task, model, fold) already done")
    parser.add_argument("--smoke", action="store_true",
                        help="check the script end to end: 2 epochs, 20 trees, results under /tmp")
    args = parser.parse_args()
    if args.smoke:
        global RESULTS, IMAGES
        GNN_PARAMS.update(max_epochs=2)
        RF_PARAMS.update(n_estimators=20)
        RESULTS = IMAGES = Path("/tmp/bench_fusion_smoke")
        RESULTS.mkdir(exist_ok=True)
    if args.what == "report":
        for task in TASKS:
            report(RESULTS / f"fusion_{task.replace('matbench_', '')}.json")
        return
    run(args)


if __name__ == "__main__":
    main()
