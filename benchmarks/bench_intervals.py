"""Prediction intervals on real data: does the coverage hold, and how wide are they?

    .venv/bin/python benchmarks/bench_intervals.py run [--sets phonons jdft2d nomad] [--methods ...] [--folds ...]
    .venv/bin/python benchmarks/bench_intervals.py report

For each data set (matbench_phonons and matbench_jdft2d on their official folds; the NOMAD 2018
training set's formation energy on a shuffled 5-fold CV with seed 0) and each fold, every interval
method is fitted on the training fold only and its intervals at 50-95% are scored on the test fold:
coverage (the share of test targets inside), mean width, the point MAE, and the fit time as a ratio
to one fit of the point model timed just before it in the same process (same load on the machine). One record per (set, method, fold) goes
to ``benchmarks/results/intervals.json`` when done; a rerun skips finished ones.

The point model (fixed before any fold was scored, the same for every set): LightGBM with the
settings of ``gbm-descriptors`` (``skhybrid.catalogue.LGBM_PARAMS``) on a raw target with squared
error, on Magpie + local structure descriptors (computed once per set: they learn nothing from the
targets). The catalogue's target-transform search is left out so that the 30-fit methods stay
affordable on 2 cores; the methods compare intervals around one and the same kind of point model.

Methods:

- ``spread``: a 5-seed ensemble's Gaussian interval, mean +/- z * std (no guarantee);
- ``split``: split conformal, 20% calibration, absolute residuals (constant width);
- ``split-residual``: split conformal normalised by a random forest of the residual size
  (Lei et al. 2018; 30% of the calibration set fits it);
- ``split-std``: split conformal normalised by the 5-seed ensemble's spread;
- ``cv+``: CV+ (Barber et al. 2021), 5 folds, absolute residuals (constant width around each fold model);
- ``cv+-std``: CV+ normalised by the 5-seed ensemble's spread.
- ``cv+10``: CV+ with 10 folds, absolute residuals. Added after the runs above had been scored, to see
  whether CV+'s over-coverage shrinks with more folds (fold models closer to the full model).
- ``split-log``, ``split-relative``, ``cv+-relative``: the point model on a log target (scikit-learn's
  ``TransformedTargetRegressor``, so its predictions stay positive), with absolute residuals (constant
  width around it), and with the relative score ``(y - y_pred) / y_pred`` (intervals proportional to the
  prediction), split and CV+. Added in a later session, after every figure above had been seen, to test
  why the adaptive scores did not help on phonons (errors that grow with the frequency itself); the
  NOMAD set holds two zero formation energies, which neither a log target nor a relative score takes.
  ``cv+-log`` (CV+ around the log-target model, absolute residuals) was added after those three had been
  scored, so that each score has a constant-width reference around the same point model.

- ``j+ab``: jackknife+-after-bootstrap (Kim, Xu & Barber 2020) around the same raw-target point model,
  absolute residuals, MAPIE's defaults (30 bootstrap models, mean aggregation). Added in the fourteenth
  session, after every figure above had been seen, to test whether a cross method that calibrates on
  every sample can hold the level where CV+ over-covers (its fold models disagree); its settings were
  fixed before it ran, and nothing else changed.

``--seed`` reruns methods with another seed (the calibration split, the point model's and the residual
model's seeds, the ensemble members'); records are kept per seed, the tables show seed 0 and ``report``
adds each split method's mean coverage over the seeds run (added after the seed-0 figures had been seen,
to measure how far one calibration split's coverage strays from the level; no method changed).
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

RESULTS = Path(__file__).parent / "results" / "intervals.json"
SETS = ("phonons", "jdft2d", "nomad")
METHODS = ("spread", "split", "split-residual", "split-std", "cv+", "cv+-std", "cv+10", "split-log",
           "split-relative", "cv+-log", "cv+-relative", "j+ab")
LEVELS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95)
MEMBERS = 5


def _data(name, data_dir):
    """Samples, target, folds and unit of a set."""
    from sklearn.model_selection import KFold

    from skhybrid.datasets import load_matbench, load_nomad2018

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if name == "nomad":
            data = load_nomad2018(data_home=data_dir)
            y = data.targets["formation_energy_ev_natom"].to_numpy(dtype=float)
            folds = list(KFold(5, shuffle=True, random_state=0).split(y))
            return data.structures, y, folds, "eV/atom"
        data = load_matbench(f"matbench_{name}", data_home=data_dir)
        return data.structures, data.targets.iloc[:, 0].to_numpy(dtype=float), list(data.folds), data.unit


def _features(structures):
    from skhybrid.catalogue import descriptor_features

    return np.asarray(descriptor_features().fit_transform(structures), dtype=float)


def _point(seed):
    from lightgbm import LGBMRegressor

    from skhybrid.catalogue import LGBM_PARAMS

    return LGBMRegressor(**LGBM_PARAMS, random_state=seed)


def _method(name, seed):
    """The estimator of a method, and whether its intervals come from its spread."""
    from sklearn.ensemble import RandomForestRegressor

    from skhybrid.models import SeedEnsembleRegressor
    from skhybrid.uncertainty import ConformalRegressor

    ensemble = SeedEnsembleRegressor(_point(seed), n_estimators=MEMBERS, random_state=seed)
    if name == "spread":
        return ensemble, True
    common = dict(confidence_level=list(LEVELS), random_state=seed)
    if name == "split":
        return ConformalRegressor(_point(seed), method="split", **common), False
    if name == "split-residual":
        residual = RandomForestRegressor(n_estimators=200, min_samples_leaf=5, n_jobs=1, random_state=seed)
        return ConformalRegressor(_point(seed), method="split", conformity_score="residual",
                                  residual_estimator=residual, **common), False
    if name == "split-std":
        return ConformalRegressor(ensemble, method="split", conformity_score="std", **common), False
    if name == "cv+":
        return ConformalRegressor(_point(seed), method="cv+", **common), False
    if name == "j+ab":
        return ConformalRegressor(_point(seed), method="jackknife+-ab", **common), False
    if name == "cv+10":
        return ConformalRegressor(_point(seed), method="cv+", cv=10, **common), False
    if name in ("split-log", "split-relative", "cv+-log", "cv+-relative"):
        from sklearn.compose import TransformedTargetRegressor

        logged = TransformedTargetRegressor(_point(seed), func=np.log, inverse_func=np.exp)
        method, _, score = name.partition("-")
        return ConformalRegressor(logged, method=method, conformity_score="absolute" if score == "log" else score,
                                  **common), False
    if name == "cv+-std":
        return ConformalRegressor(ensemble, method="cv+", conformity_score="std", **common), False
    raise ValueError(f"unknown method {name!r}; choose among {', '.join(METHODS)}")


def _key(record):
    return record["set"], record["method"], record["fold"], record.get("seed", 0)


def _load():
    return json.loads(RESULTS.read_text()) if RESULTS.exists() else []


def _save(record):
    with open(RESULTS.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        key = _key(record)
        records = [r for r in _load() if _key(r) != key]
        records.append(record)
        tmp = RESULTS.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(records, indent=1))
        tmp.replace(RESULTS)


def run(args):
    from skhybrid.uncertainty import interval_coverage, interval_width, spread_interval

    done = {_key(r) for r in _load()}
    for name in args.sets:
        todo = [(m, f) for f in args.folds for m in args.methods if (name, m, f, args.seed) not in done]
        if not todo:
            continue
        structures, y, folds, unit = _data(name, args.data_dir)
        start = time.perf_counter()
        X = _features(structures)
        print(f"{name}: {X.shape[1]} descriptors of {len(y)} structures in {time.perf_counter() - start:.0f} s",
              flush=True)
        for method, fold in todo:
            train, test = folds[fold]
            # the point model is timed right before each method, so both see the same load on the machine
            start = time.perf_counter()
            _point(args.seed).fit(X[train], y[train])
            point_s = time.perf_counter() - start
            model, from_spread = _method(method, args.seed)
            start = time.perf_counter()
            model.fit(X[train], y[train])
            fit_s = time.perf_counter() - start
            if from_spread:
                y_pred, intervals = spread_interval(model, X[test], list(LEVELS))
            else:
                y_pred, intervals = model.predict(X[test]), model.predict_interval(X[test])
            coverage, width = interval_coverage(y[test], intervals), interval_width(intervals)
            record = dict(set=name, method=method, fold=fold, n_train=len(train), n_test=len(test), unit=unit,
                          levels=list(LEVELS), coverage=coverage.tolist(), width=width.tolist(),
                          mae=float(np.mean(np.abs(y[test] - y_pred))), fit_s=fit_s,
                          point_fit_s=point_s, seed=args.seed)
            _save(record)
            k = LEVELS.index(0.9)
            print(f"{name} {method} fold {fold}: 90% coverage {coverage[k]:.3f}, width {width[k]:.4g} {unit}, "
                  f"fit {fit_s:.1f} s ({fit_s / point_s:.1f}x the point model)", flush=True)


def report(args):
    import pandas as pd

    records = pd.DataFrame(_load())
    if records.empty:
        print("no records yet")
        return
    k = LEVELS.index(0.9)
    _report_seeds(records, k)
    records = records[records["seed"].fillna(0) == 0]  # the tables: seed 0, as first run
    records["cov90"] = records["coverage"].map(lambda c: c[k])
    records["width90"] = records["width"].map(lambda w: w[k])
    records["ratio"] = records["fit_s"] / records["point_fit_s"]
    for name in SETS:
        part = records[records["set"] == name]
        if part.empty:
            continue
        unit = part["unit"].iloc[0]
        print(f"\n{name} ({unit}), 90% intervals, official folds" if name != "nomad" else
              f"\n{name} ({unit}), 90% intervals, 5-fold CV (seed 0)")
        print("| method | folds | coverage (mean) | per fold | mean width | point MAE | fit time / point model |")
        print("|---|---|---:|---|---:|---:|---:|")
        for method in METHODS:
            rows = part[part["method"] == method].sort_values("fold")
            if rows.empty:
                continue
            print(f"| {method} | {','.join(map(str, rows['fold']))} | {rows['cov90'].mean():.1%} | "
                  + ", ".join(f"{v:.1%}" for v in rows["cov90"])
                  + f" | {rows['width90'].mean():.4g} | {rows['mae'].mean():.4g} | {rows['ratio'].mean():.1f}x |")
        # the methods land on different coverages: compare widths where each one's curve (mean coverage
        # against mean width over the levels) reaches 90% observed coverage, by linear interpolation
        print("\nwidth at 90% observed coverage (interpolated over the levels):")
        for method in METHODS[1:]:
            rows = part[part["method"] == method]
            if not rows.empty:
                coverage = np.mean(np.stack(rows["coverage"].to_list()), axis=0)
                width = np.mean(np.stack(rows["width"].to_list()), axis=0)
                print(f"  {method:15s} {np.interp(0.9, coverage, width):.4g}")
        print("\ncoverage at each level (mean over folds): " + ", ".join(f"{lv:g}" for lv in LEVELS))
        for method in METHODS:
            rows = part[part["method"] == method]
            if not rows.empty:
                curve = np.mean(np.stack(rows["coverage"].to_list()), axis=0)
                print(f"  {method:15s} " + ", ".join(f"{c:.3f}" for c in curve))


def _report_seeds(records, k):
    """Coverage at 90% over repeated runs with other seeds (calibration split, residual model, members)."""
    records = records.assign(seed=records["seed"].fillna(0).astype(int))
    if records["seed"].nunique() < 2:
        return
    print("\nrepeated with other seeds (the calibration split and every model's seed), 90% coverage, mean over "
          "the five folds for each seed:")
    print("| set | method | seeds | mean over seeds | per seed | min-max | mean width |")
    print("|---|---|---|---:|---|---|---:|")
    for (name, method), part in records.groupby(["set", "method"], sort=False):
        complete = part.groupby("seed").filter(lambda g: g["fold"].nunique() == 5)
        means = complete.groupby("seed")["coverage"].apply(lambda c: np.mean([v[k] for v in c]))
        if len(means) < 2:
            continue
        width = np.mean([w[k] for w in complete["width"]])
        print(f"| {name} | {method} | {','.join(map(str, means.index))} | {means.mean():.1%} | "
              + ", ".join(f"{v:.1%}" for v in means) + f" | {means.min():.1%}-{means.max():.1%} | {width:.4g} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    go = sub.add_parser("run")
    go.add_argument("--sets", nargs="+", default=list(SETS), choices=SETS)
    go.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    go.add_argument("--folds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    go.add_argument("--seed", type=int, default=0)
    go.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    go.set_defaults(func=run)
    sub.add_parser("report").set_defaults(func=report)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
