"""Descriptor models on the official Matbench folds: which boosting library, which structure features,
which target transform, and whether relevance-redundancy feature selection helps.

    .venv/bin/python benchmarks/bench_descriptors.py run [--tasks phonons jdft2d] [--configs ...] [--folds ...]
    .venv/bin/python benchmarks/bench_descriptors.py report

Every configuration is fitted on each official training fold only. Its record holds two kinds of score:
``inner``, the MAE of a 5-fold cross-validation *inside the training fold* for each target transform
(the choice of library, feature level and transform is made on these, never on a test fold), and
``test``, the MAE on the fold's test structures (reported, not used to choose). One record per
(task, config, fold) goes to ``benchmarks/results/descriptors_<task>.json`` as soon as it is done; a
rerun skips finished ones. Descriptors are computed once per task (they learn nothing).
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import time
import warnings
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results"
TASKS = {"phonons": "matbench_phonons", "jdft2d": "matbench_jdft2d"}

# The boosting settings the issue fixed in advance (LightGBM: 1000 trees, learning rate 0.03, 15 leaves,
# min child 5, subsample 0.8, column sample 0.5, L2 1); scikit-learn's HistGradientBoosting with the
# nearest equivalents (it has no row subsampling).
CONFIGS = {
    f"{library}-{features}": dict(library=library, features=features)
    for library in ("lgbm", "hgb") for features in ("magpie", "basic", "local")
}
# structure descriptors v2: v1 plus the slab's area per atom and four surface-atom descriptors, added
# after the v1 runs above; adopted only if the training-fold (inner) CV says so
CONFIGS.update({f"{name}-v2": dict(config, version=2) for name, config in list(CONFIGS.items())
                if config["library"] == "lgbm" and config["features"] != "magpie"})
CONFIGS.update({
    # relevance-redundancy selection (MODNet's NMI criterion, 80 of the 224 descriptors) inside each training
    # fold, on the v2 local set; and a small MLP (MODNet's model family) with and without it
    "lgbm-local-v2-rr": dict(library="lgbm", features="local", version=2, selector=True),
    "mlp-local-v2": dict(library="mlp", features="local", version=2),
    "mlp-local-v2-rr": dict(library="mlp", features="local", version=2, selector=True),
    # the training objective: an absolute-error (median) or Huber objective for an MAE metric on
    # heavy-tailed targets, tried after the runs above; adopted only on the inner CV
    "lgbm-local-v2-l1": dict(library="lgbm", features="local", version=2, objective="l1"),
    "lgbm-local-v2-huber": dict(library="lgbm", features="local", version=2, objective="huber"),
})


def _descriptors(task, data_dir):
    """Magpie (145) + basic (34) + local (40) descriptors of every structure of the task, cached."""
    import pandas as pd

    from skhybrid.datasets import load_matbench
    from skhybrid.featurizers import MagpieFeaturizer, StructureFeaturizer

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = load_matbench(TASKS[task], data_home=data_dir)
    magpie = MagpieFeaturizer().set_output(transform="pandas").fit_transform(data.structures)
    structure = StructureFeaturizer(level="local").set_output(transform="pandas").fit_transform(data.structures)
    X = pd.concat([magpie, structure], axis=1)
    return data, X


#: the v1 basic descriptors (the first runs); v2 added these
V2_ONLY = ("slab_area_per_atom", "surface_atom_fraction", "surface_coordination_mean", "surface_coordination_deficit",
           "surface_electronegativity_mean")


def _columns(X, config):
    from skhybrid.featurizers._structure import BASIC_FEATURES

    features = config["features"]
    magpie = list(X.columns[:145])
    if features == "magpie":
        return magpie
    columns = magpie + list(BASIC_FEATURES) if features == "basic" else list(X.columns)
    if config.get("version", 1) == 1:
        columns = [c for c in columns if c not in V2_ONLY]
    return columns


def make_regressor(config, seed):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    library = config["library"]
    if library == "lgbm":
        from lightgbm import LGBMRegressor

        model = LGBMRegressor(n_estimators=1000, learning_rate=0.03, num_leaves=15, min_child_samples=5,
                              subsample=0.8, subsample_freq=1, colsample_bytree=0.5, reg_lambda=1.0, n_jobs=1,
                              random_state=seed, verbose=-1, objective=config.get("objective", "regression"))
    elif library == "hgb":
        from sklearn.ensemble import HistGradientBoostingRegressor

        model = HistGradientBoostingRegressor(max_iter=1000, learning_rate=0.03, max_leaf_nodes=15,
                                              min_samples_leaf=5, l2_regularization=1.0, max_features=0.5,
                                              early_stopping=False, random_state=seed)
    else:
        from sklearn.impute import SimpleImputer
        from sklearn.neural_network import MLPRegressor

        # a small MLP as MODNet uses (its ensembles are of such nets), on standardised descriptors
        model = make_pipeline(SimpleImputer(), StandardScaler(),
                              MLPRegressor(hidden_layer_sizes=(128, 64, 32), alpha=1e-3, learning_rate_init=1e-3,
                                           max_iter=600, early_stopping=True, n_iter_no_change=40,
                                           random_state=seed))
    if config.get("selector"):
        from skhybrid.feature_selection import RelevanceRedundancySelector

        model = make_pipeline(RelevanceRedundancySelector(n_features_to_select=80, random_state=seed), model)
    return model


def _load(path):
    return json.loads(path.read_text()) if path.exists() else []


def _save(path, record):
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        records = [r for r in _load(path) if (r["config"], r["fold"]) != (record["config"], record["fold"])]
        records.append(record)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(records, indent=1))
        tmp.replace(path)


def run(args):
    from threadpoolctl import threadpool_limits

    from skhybrid.models import AutoTargetTransformRegressor

    for task in args.tasks:
        path = RESULTS / f"descriptors_{task}.json"
        data, X = _descriptors(task, args.data_dir)
        y = data.targets.iloc[:, 0].to_numpy()
        for name in args.configs:
            config = CONFIGS[name]
            columns = _columns(X, config)
            for fold in args.folds:
                if any(r["config"] == name and r["fold"] == fold for r in _load(path)) and not args.force:
                    continue
                train, test = data.folds[fold]
                model = AutoTargetTransformRegressor(make_regressor(config, args.seed), cv=5, random_state=args.seed)
                start = time.perf_counter()
                with threadpool_limits(1), warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    model.fit(X.iloc[train][columns], y[train])
                    pred = model.predict(X.iloc[test][columns])
                fit_s = time.perf_counter() - start
                record = dict(config=name, fold=fold, n_features=len(columns), inner=model.cv_scores_,
                              transform=model.transform_, test=float(np.mean(np.abs(pred - y[test]))),
                              fit_s=fit_s, seed=args.seed, pred=[float(p) for p in pred])
                record["inner"] = {k: -v for k, v in record["inner"].items()}  # as MAE
                _save(path, record)
                print(f"{task} {name} fold {fold}: inner {record['inner']}, chose {record['transform']}, "
                      f"test MAE {record['test']:.2f} ({fit_s:.0f} s)", flush=True)
    report(args)


def report(args):
    for task in args.tasks:
        records = _load(RESULTS / f"descriptors_{task}.json")
        if not records:
            continue
        print(f"\n{task}: inner = training-fold 5-fold CV MAE of the chosen transform (mean over folds); "
              "test = official test folds")
        print("| config | features | inner identity | inner log | chosen (folds) | inner, chosen | test MAE | "
              "test per fold | fit s |")
        print("|---|---:|---:|---:|---|---:|---:|---|---:|")
        for name in CONFIGS:
            rows = sorted((r for r in records if r["config"] == name), key=lambda r: r["fold"])
            if not rows:
                continue
            inner_id = np.mean([r["inner"].get("identity", np.nan) for r in rows])
            inner_log = np.mean([r["inner"].get("log", np.nan) for r in rows])
            inner_best = np.mean([r["inner"][r["transform"]] for r in rows])
            chosen = ",".join(r["transform"][:3] for r in rows)
            tests = [r["test"] for r in rows]
            print(f"| {name} | {rows[0]['n_features']} | {inner_id:.2f} | {inner_log:.2f} | {chosen} | "
                  f"{inner_best:.2f} | **{np.mean(tests):.2f}** | {', '.join(f'{t:.1f}' for t in tests)} | "
                  f"{np.mean([r['fit_s'] for r in rows]):.0f} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["run", "report"])
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--configs", nargs="+", default=[c for c in CONFIGS if not c.startswith("mlp")
                                                          and not c.endswith(("-rr", "-v2"))], choices=list(CONFIGS))
    parser.add_argument("--folds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", default=os.environ.get("SKHYBRID_DATA_DIR", "../shared/data"))
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args()
    {"run": run, "report": report}[args.what](args)


if __name__ == "__main__":
    main()
