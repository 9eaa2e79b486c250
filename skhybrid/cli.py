"""The ``skhybrid`` command line."""

from __future__ import annotations

import argparse
import sys
import time

NO_PROGRESS_HELP = ("no progress bars (shown by default on stderr: models and folds, featurization, graph "
                    "building, epochs, internal cross-validation)")


def _default_data_dir():
    """``SKHYBRID_DATA_DIR``, else a ``shared/data`` folder beside this checkout (as ``make`` finds it), else None."""
    import os
    from pathlib import Path

    if os.environ.get("SKHYBRID_DATA_DIR"):
        return None  # the loaders read it themselves
    beside = Path(__file__).resolve().parents[2] / "shared" / "data"
    return str(beside) if beside.is_dir() else None


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


def _benchmark(args) -> int:
    from .benchmark import run_benchmark

    if args.task is not None and args.data is not None:
        raise ValueError("Give a Matbench task or --data, not both.")
    task = args.task if args.task is not None or args.data is not None else "matbench_phonons"
    settings = dict(data=args.data, target=args.target, cv=args.cv, models=args.models, folds=args.folds,
                    out=args.out, data_dir=args.data_dir, tune=args.tune, device=args.device, seed=args.seed,
                    quick=args.quick, force=args.force, progress=not args.no_progress, threads=args.threads,
                    intervals=args.intervals, task_type=args.task_type, classify_above=args.classify_above,
                    n_jobs=args.n_jobs, store=args.store, aux_targets=args.aux_targets, checkpoints=args.checkpoints)
    if args.dask is None:
        results = run_benchmark(task, **settings)
    else:
        with _dask_cluster(args.dask, args.n_jobs):
            results = run_benchmark(task, **settings)
    from .benchmark import summarize

    table = summarize(results)
    metric, label = ("roc_auc", "ROC-AUC") if "roc_auc_mean" in table else ("mae", "MAE")
    print(f"\nResults in {args.out}/ (report.md, report.html, plots/, predictions/):")
    for model, row in table.iterrows():
        print(f"  {model:<24} {label} {row[f'{metric}_mean']:10.4g} +/- {row[f'{metric}_std']:<8.3g} "
              f"fit {row['fit_s_mean']:8.1f} s  (folds {row['folds']})")
    return 0


class _dask_cluster:
    """Fits on a Dask cluster through joblib's backend: a scheduler's address, or ``local`` (a LocalCluster)."""

    def __init__(self, address, n_jobs):
        self.address, self.n_jobs = address, n_jobs

    def __enter__(self):
        try:
            import joblib
            from distributed import Client, LocalCluster
        except ImportError as error:
            raise ValueError('--dask needs dask.distributed: pip install "skhybrid[distributed]" (or '
                             '"dask[distributed]").') from error
        self.cluster = None
        if self.address == "local":
            if not self.n_jobs or self.n_jobs < 1:
                raise ValueError("--dask local starts one worker per fit at a time: give --n-jobs N.")
            self.cluster = LocalCluster(n_workers=self.n_jobs, threads_per_worker=1, dashboard_address=None)
            self.client = Client(self.cluster)
        else:
            try:
                self.client = Client(self.address, timeout="20s")
            except OSError as error:
                raise ValueError(f"--dask {self.address}: no Dask scheduler answers there ({error}); start one "
                                 "(`dask scheduler`, then `dask worker ADDRESS` on each machine) or use --dask "
                                 "local.") from error
        self.config = joblib.parallel_config(backend="dask")
        self.config.__enter__()
        return self

    def __exit__(self, *exc):
        self.config.__exit__(*exc)
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()
        return False


def _fit(args) -> int:
    from ._persistence import save_model
    from .catalogue import build
    from .datasets import load_structures

    from .benchmark import user_targets

    _check_output_file(args.out)
    from .benchmark._runner import _auxiliary_targets, set_auxiliary_targets, target_columns

    aux_targets = list(args.aux_targets or ())
    data = load_structures(args.data, target=target_columns(args.target, aux_targets), class_labels=True)
    raw = data.targets[args.target]
    keep = [i for i, known in enumerate(raw.notna()) if known]
    if len(keep) < len(raw):
        print(f"skhybrid fit: {len(raw) - len(keep)} sample(s) without {args.target!r} are left out of training",
              file=sys.stderr)
    y, task_type = user_targets(raw.iloc[keep], [data.ids[i] for i in keep], args.target, args.task_type,
                                args.classify_above)
    if task_type == "classification" and args.interval is not None:
        raise ValueError("--interval gives prediction intervals of a regression; a classifier gives "
                         "probabilities instead (skhybrid predict writes them).")
    model = build(args.model, seed=args.seed, quick=args.quick, device=args.device, task_type=task_type,
                  checkpoint_dir=args.checkpoints)
    if aux_targets:
        auxiliary = _auxiliary_targets(data, aux_targets, task_type)[keep]
        if not set_auxiliary_targets(model, [data.structures[i] for i in keep], auxiliary):
            raise ValueError(f"{args.model} learns no auxiliary targets; fit it without --aux-targets, or choose "
                             "a model that takes them (e.g. hybrid-large-cells-multitask).")
    if args.interval is not None:
        from .uncertainty import ConformalRegressor, check_confidence_levels
        from .uncertainty._conformal import conformal_settings

        levels = check_confidence_levels(args.interval, "--interval")
        model = ConformalRegressor(model, **conformal_settings(args.interval_method, "--interval-method"),
                                   confidence_level=list(levels),
                                   random_state=args.seed)
    start = time.perf_counter()
    model.fit([data.structures[i] for i in keep], y)
    metadata = {"target": args.target, "n_train": len(keep), "data": str(args.data), "seed": args.seed,
                "task_type": task_type}
    if args.classify_above is not None:
        metadata["classify_above"] = args.classify_above
    if aux_targets:
        metadata["aux_targets"] = aux_targets
    save_model(model, args.out, name=args.model, metadata=metadata)
    print(f"Trained {args.model} on {len(keep)} structures in {time.perf_counter() - start:.1f} s; saved {args.out}")
    return 0


def _read_inputs(paths):
    """Structures and ids from CIF/POSCAR files, folders of them, or a data file (.json/.json.gz)."""
    from pathlib import Path

    from .datasets import load_structures
    from .datasets._user import read_structure_files, structure_files

    structures, ids = [], []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise FileNotFoundError(f"{path} does not exist.")
        if path.is_dir():
            files = structure_files(path)
            if not files:
                raise ValueError(f"{path} holds no structure files (*.cif, *.vasp, *.poscar, POSCAR*, CONTCAR*).")
        elif path.name.endswith((".json", ".json.gz")):
            data = load_structures(path, target=[])
            structures += data.structures
            ids += [str(i) for i in data.ids]
            continue
        else:
            files = [path]
        structures += read_structure_files(files)
        ids += [f.name for f in files]
    return structures, ids


def _check_output_file(out) -> None:
    """Refuse an output path whose folder is missing before any work is done."""
    from pathlib import Path

    if out == "-":
        return
    folder = Path(out).expanduser().resolve().parent
    if not folder.is_dir():
        raise ValueError(f"the folder of --out {out} does not exist; create {folder} or choose another path.")
    if Path(out).is_dir():
        raise ValueError(f"--out {out} is a folder; give a file name, e.g. {Path(out) / 'out'}.")


def _load_bundle(path):
    """The model, its catalogue name and target: from a save_model file, or a joblib bundle of skhybrid 0.1."""
    import zipfile

    from ._persistence import load_model

    if not __import__("os").path.exists(path):
        raise FileNotFoundError(f"{path} does not exist.")
    if zipfile.is_zipfile(path):
        model, info = load_model(path, return_metadata=True)
        return {"model": model, "name": info.get("catalogue_name") or info["class"],
                "target": info["metadata"].get("target", "prediction")}
    import joblib

    try:
        bundle = joblib.load(path)  # the former format: a pickle, so only for files you trust
    except Exception as error:  # a truncated or foreign file fails in many ways inside pickle
        raise ValueError(f"{path} cannot be read as a model ({type(error).__name__}: {error}); it is truncated or "
                         "not a file written by `skhybrid fit`.") from error
    if not isinstance(bundle, dict) or "model" not in bundle:
        raise ValueError(f"{path} is not a model saved by `skhybrid fit`.")
    return bundle


def _prediction_intervals(model, structures, level, bundle) -> dict:
    """Prediction and interval columns: conformal when the model was fitted with --interval, else its spread."""
    import numpy as np

    from .uncertainty import check_confidence_levels, has_spread, spread_interval

    (level,) = check_confidence_levels(level, "--interval")
    target = bundle["target"]
    if hasattr(model, "predict_interval"):
        y_pred, bounds, kind = model.predict(structures), model.predict_interval(structures, level), "conformal"
    elif has_spread(model):
        (y_pred, bounds), kind = spread_interval(model, structures, level), "spread"
        print(f"skhybrid predict: {bundle['name']} was fitted without --interval; the interval is the Gaussian "
              "spread of its members, without a coverage guarantee (refit with `skhybrid fit ... --interval "
              f"{level:g}` for conformal intervals)", file=sys.stderr)
    else:
        raise ValueError(f"{bundle['name']} gives no intervals: refit it with `skhybrid fit ... --interval {level:g}` "
                         "(conformal intervals), or predict without --interval.")
    return {target: np.asarray(y_pred, dtype=float), f"lower@{level:g}": bounds[:, 0],
            f"upper@{level:g}": bounds[:, 1], "interval": kind}


def _predict(args) -> int:
    import pandas as pd

    from .utils import write_atomically

    _check_output_file(args.out)
    bundle = _load_bundle(args.model_file)
    structures, ids = _read_inputs(args.inputs)
    model = bundle["model"]
    if args.interval is not None:
        frame = pd.DataFrame({"id": ids, **_prediction_intervals(model, structures, args.interval, bundle)})
    elif hasattr(model, "predict_proba") and hasattr(model, "classes_"):
        # a classifier: the label and the probability of every class
        proba = model.predict_proba(structures)
        frame = pd.DataFrame({"id": ids, bundle["target"]: model.classes_[proba.argmax(axis=1)],
                              **{f"proba:{label}": proba[:, k] for k, label in enumerate(model.classes_)}})
    else:
        frame = pd.DataFrame({"id": ids, bundle["target"]: model.predict(structures)})
    if args.out == "-":
        print(frame.to_csv(index=False), end="")
    else:
        write_atomically(args.out, frame.to_csv(index=False))
        print(f"Predicted {bundle['target']} of {len(ids)} structures with {bundle['name']}; wrote {args.out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="skhybrid",
        description="Predict materials properties from crystal structures with hybrid "
        "composition + graph models.",
    )
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback of an error (by default a one-line message)")
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

    from .catalogue import CATALOGUE, DEFAULT_BENCHMARK

    model_list = "\n".join(f"  {name:<24} {spec.description}" for name, spec in CATALOGUE.items())
    bench = sub.add_parser(
        "benchmark",
        help="run the Matbench protocol (or k-fold CV on your data) for several models and write a report",
        description="For each model and fold: fit on the training part, predict the test part, score. Every "
        "finished (model, fold) is saved at once, so rerunning the same command resumes. Writes report.md, "
        "report.html, plots/, predictions/ and Matbench results files to --out.\n\nExamples:\n"
        "  skhybrid benchmark matbench_phonons\n"
        "  skhybrid benchmark matbench_jdft2d --models rf-magpie cgcnn late-fusion --folds 0 1\n"
        "  skhybrid benchmark --quick                      # fold 0, short training: a 3-minute smoke test\n"
        "  skhybrid benchmark --data my_cifs/ --target band_gap --cv 5 --models rf-magpie cgcnn\n\n"
        f"Models (--models):\n{model_list}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    bench.add_argument("task", nargs="?", default=None,
                       help="Matbench task, e.g. matbench_phonons (default without --data: matbench_phonons)")
    bench.add_argument("--models", nargs="+", default=list(DEFAULT_BENCHMARK), metavar="MODEL",
                       help=f"models to run, listed below (default: {' '.join(DEFAULT_BENCHMARK)})")
    bench.add_argument("--folds", nargs="+", type=int, default=None,
                       help="folds to run (default: all; fold 0 with --quick)")
    bench.add_argument("--data", default=None,
                       help="your data instead of a task: a folder of CIF/POSCAR files with targets.csv, or a "
                       "pandas 'split' .json(.gz) with a structure column")
    bench.add_argument("--target", default=None, help="with --data: the column to predict")
    bench.add_argument("--aux-targets", nargs="+", default=None, metavar="COLUMN",
                       help="with --data: other columns that multi-task models (e.g. "
                            "hybrid-large-cells-multitask) learn beside --target; only --target is scored")
    bench.add_argument("--cv", type=int, default=5, help="with --data: number of shuffled folds (default: 5)")
    bench.add_argument("--data-dir", default=None,
                       help="data directory for Matbench files (default: $SKHYBRID_DATA_DIR, else ~/.cache/skhybrid)")
    bench.add_argument("--out", default="benchmark-results", help="output folder (default: %(default)s)")
    bench.add_argument("--tune", type=int, default=0, metavar="N",
                       help="Optuna trials inside each training fold (3-fold CV; default: 0, no tuning)")
    bench.add_argument("--device", default="auto",
                       help="torch device for graph networks (default: auto = CUDA if present)")
    bench.add_argument("--seed", type=int, default=0, help="random_state of every model and of --cv folds (default: 0)")
    bench.add_argument("--threads", type=int, default=1,
                       help="torch threads per fit (default: 1, steady on a busy machine; models that train "
                       "members in parallel give each worker one)")
    bench.add_argument("--quick", action="store_true",
                       help="fold 0 only, 5 epochs, 50 trees, 2-fold internal CV: checks the setup in minutes")
    bench.add_argument("--force", action="store_true",
                       help="reuse an --out folder that holds another configuration, discarding its results")
    bench.add_argument("--intervals", default=None, metavar="METHOD[:SCORE]",
                       help="wrap every model in conformal prediction intervals and report their coverage and "
                       "width: cv+, split or jackknife+, optionally :absolute, :std, :residual or :relative (e.g. "
                       "cv+, split:residual); costs cv+1 fits per fold for cv+. Without it, ensembles and fusion "
                       "models are scored on their spread")
    bench.add_argument("--n-jobs", type=int, default=None, metavar="N",
                       help="(model, fold) fits at once, each with --threads torch threads (default: 1)")
    bench.add_argument("--dask", default=None, metavar="SCHEDULER",
                       help="run the fits on a Dask cluster: its scheduler's address (tcp://host:8786), or "
                            "'local' for a LocalCluster of --n-jobs workers")
    bench.add_argument("--checkpoints", default=None, metavar="FOLDER",
                       help="save every graph network's training state in FOLDER about once a minute, so that a "
                       "fit stopped mid-way (a kill, a time limit, Ctrl-C) goes on from its last saved epoch when "
                       "the same command runs again")
    bench.add_argument("--store", default=None, metavar="FOLDER",
                       help="keep structure descriptors and crystal graphs in on-disk stores in FOLDER: each "
                            "structure is featurized once for every fold, model and later run, and graphs are "
                            "streamed from disk (memory flat in the set's size); results are unchanged")
    bench.add_argument("--task-type", default="auto", choices=["auto", "regression", "classification"],
                       help="with --data: what the target is (default: auto, classification for booleans or "
                            "text labels); Matbench tasks have their own")
    bench.add_argument("--classify-above", type=float, default=None, metavar="T",
                       help="with --data: classify target > T, e.g. band gap above 2 eV (--classify-above 2)")
    bench.add_argument("--no-progress", action="store_true", help=NO_PROGRESS_HELP)
    bench.set_defaults(func=_benchmark)

    fit = sub.add_parser(
        "fit", help="train a named model on your data and save it",
        description="Train a catalogue model on a data file or folder and save it (skhybrid.save_model: a versioned "
        "file that loads without running code from it).\n\nExample:\n"
        "  skhybrid fit hybrid-light --data my_cifs/ --target band_gap --out band_gap.skh",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    fit.add_argument("model", choices=list(CATALOGUE), metavar="MODEL", help=f"one of: {', '.join(CATALOGUE)}")
    fit.add_argument("--data", required=True, help="folder of CIF/POSCAR files with targets.csv, or a .json(.gz)")
    fit.add_argument("--target", required=True, help="the column to learn")
    fit.add_argument("--aux-targets", nargs="+", default=None, metavar="COLUMN",
                     help="other columns that a multi-task model (e.g. hybrid-large-cells-multitask) learns "
                          "beside --target; it predicts --target only")
    fit.add_argument("--out", default="model.skh", help="where to save the model (default: %(default)s)")
    fit.add_argument("--seed", type=int, default=0, help="random_state (default: 0)")
    fit.add_argument("--device", default="auto", help="torch device (default: auto)")
    fit.add_argument("--quick", action="store_true", help="short training, to check a setup")
    fit.add_argument("--checkpoints", default=None, metavar="FOLDER",
                     help="save the graph networks' training state in FOLDER about once a minute: the same command "
                     "run again after a stop goes on from the last saved epoch")
    fit.add_argument("--interval", type=float, nargs="+", default=None, metavar="LEVEL",
                     help="also calibrate conformal prediction intervals at these confidence levels (e.g. 0.9), "
                     "for `skhybrid predict --interval`")
    fit.add_argument("--interval-method", default="cv+", metavar="METHOD[:SCORE]",
                     help="with --interval: cv+ (default; cv+1 fits), split (one fit, 20%% held out to "
                     "calibrate), jackknife+ or jackknife+-ab (30 bootstrap fits; holds the level for unstable models "
                     "such as trees), optionally :std, :residual or :relative (proportional to the "
                     "prediction, for a positive target) for intervals that adapt")
    fit.add_argument("--task-type", default="auto", choices=["auto", "regression", "classification"],
                     help="what the target is (default: auto, classification for booleans or text labels)")
    fit.add_argument("--classify-above", type=float, default=None, metavar="T",
                     help="learn the class target > T instead of the value")
    fit.add_argument("--no-progress", action="store_true", help=NO_PROGRESS_HELP)
    fit.set_defaults(func=_fit)

    predict = sub.add_parser(
        "predict", help="predict structure files with a model saved by `skhybrid fit`",
        description="Load a model saved by `skhybrid fit` and predict CIF/POSCAR files, folders of them, or a "
        "data file; write a CSV of id and prediction.\n\nExample:\n"
        "  skhybrid predict band_gap.skh new/*.cif --out predictions.csv",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    predict.add_argument("model_file", help="a file written by `skhybrid fit`")
    predict.add_argument("inputs", nargs="+", help="structure files, folders of them, or .json(.gz) data files")
    predict.add_argument("--out", default="predictions.csv", help="CSV to write, '-' for stdout (default: %(default)s)")
    predict.add_argument("--interval", type=float, default=None, metavar="LEVEL",
                         help="also write lower@LEVEL and upper@LEVEL columns (e.g. 0.9 for 90%%): conformal "
                         "intervals of a model fitted with --interval, else the spread of an ensemble")
    predict.add_argument("--no-progress", action="store_true", help=NO_PROGRESS_HELP)
    predict.set_defaults(func=_predict)
    return parser


def main(argv=None) -> int:
    from ._config import config_context
    from .utils._signals import interrupt_on_signals

    args = build_parser().parse_args(argv)
    if hasattr(args, "data_dir") and args.data_dir is None:
        args.data_dir = _default_data_dir()
    try:
        with config_context(show_progress=not getattr(args, "no_progress", True)), interrupt_on_signals():
            return args.func(args)
    except (ValueError, OSError, ImportError) as exc:
        # bad input: the message names what is wrong and the fix; a traceback adds nothing
        if args.debug:
            raise
        print(f"skhybrid {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        hint = ""
        if args.command == "benchmark":
            hint = ("; every finished (model, fold) is saved and the report is up to date"
                    + (", and each network in training has its last saved epoch in --checkpoints"
                       if args.checkpoints else "") + ": run the same command again to resume")
        elif args.command == "fit" and args.checkpoints:
            hint = "; the networks' last saved epochs are in --checkpoints: run the same command again to go on"
        print(f"\nskhybrid {args.command}: interrupted{hint}.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
