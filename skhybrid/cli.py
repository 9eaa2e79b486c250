"""The ``skhybrid`` command line."""

from __future__ import annotations

import argparse
import sys
import time


def _baseline(args) -> int:
    from sklearn.dummy import DummyRegressor
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.metrics import mean_absolute_error
    from sklearn.pipeline import make_pipeline

    from .datasets import load_matbench
    from .featurizers import MagpieFeaturizer

    data = load_matbench(args.task, data_home=args.data_dir)
    y = data.targets.iloc[:, 0].to_numpy()
    train, test = data.folds[args.fold]
    X = data.structures if data.structures is not None else data.compositions
    X_train = [X[i] for i in train]
    X_test = [X[i] for i in test]
    models = {
        "dummy (mean)": DummyRegressor(),
        "rf-magpie": make_pipeline(
            MagpieFeaturizer(),
            RandomForestRegressor(n_estimators=500, n_jobs=args.n_jobs, random_state=args.seed),
        ),
    }
    print(f"{data.task}: {len(X)} samples, official fold {args.fold} "
          f"({len(train)} train / {len(test)} test), target {data.target_names[0]} [{data.unit}]")
    for name, model in models.items():
        start = time.perf_counter()
        model.fit(X_train, y[train])
        mae = mean_absolute_error(y[test], model.predict(X_test))
        print(f"  {name:<14} MAE {mae:8.2f} {data.unit}   ({time.perf_counter() - start:.1f} s)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="skhybrid",
        description="Predict materials properties from crystal structures with hybrid "
        "composition + graph models.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    base = sub.add_parser(
        "baseline",
        help="fit baselines on one official Matbench fold and print their MAE",
        description="Fit a mean predictor and a random forest on Magpie features on one official "
        "Matbench v0.1 fold and print the test MAE. Example: skhybrid baseline matbench_jdft2d --fold 2",
    )
    base.add_argument("task", nargs="?", default="matbench_phonons", help="Matbench task (default: %(default)s)")
    base.add_argument("--fold", type=int, default=0, choices=range(5), help="official fold, 0-4 (default: %(default)s)")
    base.add_argument("--data-dir", default=None,
                      help="data directory (default: $SKHYBRID_DATA_DIR, else ~/.cache/skhybrid)")
    base.add_argument("--seed", type=int, default=0, help="random_state of the forest (default: %(default)s)")
    base.add_argument("--n-jobs", type=int, default=None, help="cores for the forest (default: 1)")
    base.set_defaults(func=_baseline)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError, ImportError) as exc:
        # bad input: the message names what is wrong and the fix; a traceback adds nothing
        print(f"skhybrid {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
