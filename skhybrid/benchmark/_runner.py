"""The benchmark runner: every (model, fold) fitted, scored and saved at once; reruns resume."""

from __future__ import annotations

import functools
import json
import signal
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .._config import config_context
from ..catalogue import DEFAULT_BENCHMARK, build, resolve_models
from ..utils import write_atomically

__all__ = ["BenchmarkData", "load_benchmark_data", "run_benchmark"]

CONFIG_FILE = "config.json"


@dataclass
class BenchmarkData:
    """What the runner needs: samples, one target, folds, ids and a name."""

    name: str
    X: list
    y: np.ndarray
    ids: list
    folds: list
    unit: str = ""
    target: str = ""
    matbench_task: str | None = None
    config: dict = field(default_factory=dict)


def load_benchmark_data(task=None, *, data=None, target=None, cv=5, seed=0, data_dir=None) -> BenchmarkData:
    """A Matbench task with its official folds, or a user file/folder with ``KFold(cv, shuffle, seed)``.

    Parameters
    ----------
    task : str, optional
        A Matbench task name (e.g. ``"matbench_phonons"``); its official v0.1 folds.
    data : str or Path, optional
        Instead of ``task``: a folder of CIF/POSCAR files with ``targets.csv``,
        or a pandas "split" JSON (see :func:`~skhybrid.datasets.load_structures`).
    target : str, optional
        The column of ``data`` to predict (required with ``data``).
    cv : int, default=5
        Folds for ``data``.
    seed : int, default=0
        Shuffling seed of the ``data`` folds.
    data_dir : str or Path, optional
        Data directory for Matbench files (default: ``SKHYBRID_DATA_DIR`` or ``~/.cache/skhybrid``).

    Returns
    -------
    BenchmarkData
        ``name``, ``X`` (Structures or compositions), ``y``, ``ids``, ``folds``
        (``(train, test)`` index pairs), ``unit``, ``target``, ``matbench_task``.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from pymatgen.core import Lattice, Structure
    >>> folder = Path(tempfile.mkdtemp())
    >>> rocksalts = [("Na", "Cl", 5.64), ("K", "Cl", 6.29), ("Li", "F", 4.03), ("Mg", "O", 4.21),
    ...              ("Na", "F", 4.63), ("K", "Br", 6.60), ("Ca", "O", 4.81), ("Li", "Cl", 5.13)]
    >>> for c, x, a in rocksalts:
    ...     structure = Structure.from_spacegroup("Fm-3m", Lattice.cubic(a), [c, x], [[0, 0, 0], [0.5, 0.5, 0.5]])
    ...     _ = structure.to(filename=str(folder / f"{c}{x}.cif"))
    >>> _ = (folder / "targets.csv").write_text("file,a\\n" + "".join(f"{c}{x}.cif,{a}\\n" for c, x, a in rocksalts))
    >>> from skhybrid.benchmark import load_benchmark_data
    >>> bench = load_benchmark_data(data=folder, target="a", cv=4)
    >>> len(bench.y), len(bench.folds), [len(test) for _, test in bench.folds]
    (8, 4, [2, 2, 2, 2])
    """
    if (task is None) == (data is None):
        raise ValueError("Give either a Matbench task or data (with target; --data and --target on the command "
                         "line), not both.")
    if task is not None:
        from ..datasets import load_matbench

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            bunch = load_matbench(task, data_home=data_dir)
        X = bunch.structures if bunch.structures is not None else bunch.compositions
        return BenchmarkData(name=bunch.task, X=X, y=bunch.targets.iloc[:, 0].to_numpy(), ids=list(bunch.ids),
                             folds=list(bunch.folds), unit=bunch.unit, target=bunch.target_names[0],
                             matbench_task=bunch.task, config={"task": bunch.task})
    from sklearn.model_selection import KFold

    from ..datasets import load_structures

    if target is None:
        raise ValueError("data needs target (--target on the command line): the column of the targets file to "
                         "predict.")
    bunch = load_structures(data, target=target)
    y = bunch.targets[target].to_numpy(dtype=float)
    missing = np.flatnonzero(~np.isfinite(y))
    if len(missing):
        raise ValueError(f"{len(missing)} sample(s) have no value of {target!r} (first: {bunch.ids[missing[0]]}); "
                         "drop them from the targets file to benchmark on the rest.")
    if cv < 2 or cv > len(y):
        raise ValueError(f"cv={cv} (--cv) must be between 2 and {len(y)} folds for {len(y)} samples.")
    folds = list(KFold(cv, shuffle=True, random_state=seed).split(np.zeros(len(y))))
    name = Path(data).stem.removesuffix(".json")
    return BenchmarkData(name=name, X=bunch.structures, y=y, ids=list(bunch.ids), folds=folds, target=target,
                         config={"data": str(Path(data).resolve()), "target": target, "cv": cv})


def _check_config(out: Path, config: dict, force: bool) -> None:
    path = out / CONFIG_FILE
    if out.exists() and not out.is_dir():
        raise ValueError(f"out={str(out)!r} (--out) is a file, not a folder; choose a folder for the results.")
    if path.exists():
        try:
            previous = json.loads(path.read_text())
        except ValueError as error:
            if not force:
                raise ValueError(f"{path} is damaged ({error}); delete it if the folder holds this configuration's "
                                 "results, or pass force=True (--force) to discard them.") from error
            previous = {}
        if previous != config and not force:
            differences = {k: (previous.get(k), config.get(k)) for k in sorted(set(previous) | set(config))
                           if previous.get(k) != config.get(k)}
            raise ValueError(
                f"{out} holds results of a different configuration ({differences}, as (saved, now)); "
                "choose another out (--out), or pass force=True (--force) to discard them."
            )
        if previous != config:  # --force: start afresh
            for folder in ("records", "predictions"):
                for file in (out / folder).glob("*"):
                    file.unlink()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ValueError(f"cannot create the output folder {out} ({error.strerror}); choose another out (--out).") \
            from error
    write_atomically(out / CONFIG_FILE, json.dumps(config, indent=1, sort_keys=True))


def _record_path(out: Path, model: str, fold: int) -> Path:
    return out / "records" / f"{model}__fold{fold}.json"


class _Interrupt:
    """Remembers a Ctrl-C even when a training loop swallows it (skorch stops training and returns)."""

    def __init__(self):
        self.requested = False

    def __enter__(self):
        self.previous = signal.getsignal(signal.SIGINT)

        def handler(signum, frame):
            self.requested = True
            raise KeyboardInterrupt

        try:
            signal.signal(signal.SIGINT, handler)
        except ValueError:  # not the main thread: leave signals alone
            self.previous = None
        return self

    def __exit__(self, *exc):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
        return False


def _tuned(entry, model, n_trials: int, seed: int):
    from ..tuning import HybridSearchCV, default_search_space

    space = entry.search_space(model) if entry.search_space else default_search_space(model)
    if not space:
        return model
    return HybridSearchCV(model, space, n_trials=n_trials, cv=3, random_state=seed)


@functools.lru_cache(maxsize=1)
def _versions() -> dict:
    """The packages whose versions change trained weights: a record says what produced it."""
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in ("skhybrid", "torch", "torch-geometric", "skorch", "scikit-learn", "lightgbm", "numpy", "scipy",
                 "pymatgen"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            pass
    return found


def _training_summary(model) -> dict:
    """Epochs run and the epoch kept, for a graph network (alone or at the end of a Pipeline)."""
    final = model.steps[-1][1] if hasattr(model, "steps") else model
    if hasattr(final, "best_epoch_") and hasattr(final, "net_"):
        return {"epochs": len(final.net_.history), "best_epoch": int(final.best_epoch_)}
    return {}


def _metrics(y_true, y_pred) -> dict:
    from sklearn.metrics import (
        max_error,
        mean_absolute_error,
        mean_squared_error,
        r2_score,
    )

    return dict(mae=float(mean_absolute_error(y_true, y_pred)),
                rmse=float(np.sqrt(mean_squared_error(y_true, y_pred))),
                r2=float(r2_score(y_true, y_pred)), max_error=float(max_error(y_true, y_pred)))


def run_benchmark(task=None, *, data=None, target=None, cv=5, models=DEFAULT_BENCHMARK, folds=None,
                  out="benchmark-results", data_dir=None, tune=0, device="auto", seed=0, quick=False, force=False,
                  progress=True, threads=1, intervals=None) -> pd.DataFrame:
    """Run (or resume) a benchmark; return one row per (model, fold) with its metrics.

    For each model and fold: fit on the fold's training samples, predict its
    test samples, score (MAE, RMSE, R^2, max error, fit and predict seconds),
    and save at once ``records/<model>__fold<k>.json`` and
    ``predictions/<model>__fold<k>.csv`` under ``out``. A rerun with the same
    configuration skips every saved (model, fold); a Ctrl-C loses only the
    (model, fold) in progress. ``out`` also gets ``config.json``; an ``out``
    holding another configuration (task or data, target, cv, tuning, seed,
    quick) is refused unless ``force=True``, which discards its results.

    Parameters
    ----------
    task : str, optional
        A Matbench task (official folds). Or ``data`` + ``target`` (+ ``cv``).
    models : sequence of str or CatalogueEntry
        Catalogue names (see :data:`skhybrid.catalogue.CATALOGUE`), or entries of one's own: a benchmark
        script's variants, recorded and resumed like catalogue models (see
        :func:`skhybrid.catalogue.resolve_models`).
    folds : sequence of int, optional
        Folds to run; all by default, fold 0 alone with ``quick``.
    tune : int, default=0
        Optuna trials inside each training fold (:class:`~skhybrid.tuning.HybridSearchCV`, 3-fold CV).
    device : str, default="auto"
    seed : int, default=0
    quick : bool, default=False
        Fold 0 only, 5 epochs, 50 trees, 2-fold internal CV: a smoke test.
    data : str or Path, optional
        Instead of ``task``: your data (see :func:`load_benchmark_data`).
    target : str, optional
        The column of ``data`` to predict.
    cv : int, default=5
        Folds for ``data`` (shuffled with ``seed``).
    out : str or Path, default="benchmark-results"
        Output folder: ``records/``, ``predictions/``, ``config.json``, the reports and plots.
    data_dir : str or Path, optional
        Data directory for Matbench files.
    force : bool, default=False
        Reuse an ``out`` that holds another configuration, discarding its results.
    progress : bool, default=True
        Progress bars on stderr (see :func:`skhybrid.config_context`).
    threads : int or None, default=1
        torch threads for the fits (:func:`skhybrid.utils.torch_threads`); one is steady on a busy
        machine and, on these small graphs, about as fast as two. ``None`` leaves torch's default.
    intervals : str, optional
        Wrap every model in :class:`~skhybrid.uncertainty.ConformalRegressor` and score its intervals:
        ``"cv+"``, ``"split"`` or ``"jackknife+"``, optionally with a score after a colon (``"cv+:std"``,
        ``"split:residual"``; ``"absolute"`` by default). Coverage and width at each of
        :data:`INTERVAL_LEVELS` go into the records and the report. Without it, models that give a
        spread (seed ensembles, late fusion) are scored on their Gaussian spread intervals.

    Returns
    -------
    DataFrame
        One row per (model, fold) of this call: ``model``, ``fold``, ``n_train``, ``n_test``, ``fit_s``,
        ``predict_s``, ``mae``, ``rmse``, ``r2``, ``max_error``.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from pymatgen.core import Lattice, Structure
    >>> folder = Path(tempfile.mkdtemp())
    >>> rocksalts = [("Na", "Cl", 5.64), ("K", "Cl", 6.29), ("Li", "F", 4.03), ("Mg", "O", 4.21),
    ...              ("Na", "F", 4.63), ("K", "Br", 6.60), ("Ca", "O", 4.81), ("Li", "Cl", 5.13)]
    >>> for c, x, a in rocksalts:
    ...     structure = Structure.from_spacegroup("Fm-3m", Lattice.cubic(a), [c, x], [[0, 0, 0], [0.5, 0.5, 0.5]])
    ...     _ = structure.to(filename=str(folder / f"{c}{x}.cif"))
    >>> _ = (folder / "targets.csv").write_text("file,a\\n" + "".join(f"{c}{x}.cif,{a}\\n" for c, x, a in rocksalts))
    >>> from skhybrid.benchmark import run_benchmark
    >>> results = run_benchmark(data=folder, target="a", cv=4, models=["dummy", "rf-magpie"], quick=True,
    ...                         folds=[0, 1, 2, 3], out=folder / "run", progress=False)
    dummy fold 0: MAE ...
    ...
    rf-magpie fold 3: MAE ...
    >>> len(results), sorted(p.name for p in (folder / "run").glob("report.*"))
    (8, ['report.html', 'report.md'])
    """
    from tqdm.auto import tqdm

    entries = resolve_models(models)
    models = list(entries)
    bench = load_benchmark_data(task, data=data, target=target, cv=cv, seed=seed, data_dir=data_dir)
    n_folds = len(bench.folds)
    if folds is None:
        folds = [0] if quick else list(range(n_folds))
    bad = [f for f in folds if not 0 <= int(f) < n_folds]
    if bad:
        raise ValueError(f"Fold(s) {bad} do not exist; valid folds are 0-{n_folds - 1}.")
    out = Path(out)
    from ..uncertainty._conformal import conformal_settings

    conformal = conformal_settings(intervals, "intervals (--intervals)")
    config = {**bench.config, "tune": int(tune), "seed": int(seed), "quick": bool(quick)}
    if conformal:
        config["intervals"] = intervals
    _check_config(out, config, force)

    pairs = [(m, int(f)) for m in models for f in folds]
    todo = [(m, f) for m, f in pairs if not _finished(out, m, f)]
    # no remaining-time estimate: fits differ by three orders of magnitude (a mean predictor, a hybrid),
    # so a rate over finished fits says nothing about the next ones
    bar = tqdm(total=len(pairs), initial=len(pairs) - len(todo), desc=f"{bench.name}", unit="fit",
               disable=not progress, bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} fits "
                                                "[{elapsed} so far{postfix}]")
    # the runner's bar stays; the steps inside a fit (features, graphs, epochs, internal folds) show
    # their own bars beneath it while they run
    from ..utils import torch_threads

    with _Interrupt() as interrupt, config_context(show_progress=progress), torch_threads(threads), \
            _report_on_interrupt(out, models, folds, bench, quick):
        for name, fold in todo:
            bar.set_postfix_str(f"{name}, fold {fold}")
            train, test = bench.folds[fold]
            X_train, X_test = [bench.X[i] for i in train], [bench.X[i] for i in test]
            model = build(entries[name], seed=seed, quick=quick, device=device)
            if tune:
                model = _tuned(entries[name], model, tune, seed)
            if conformal:
                from ..uncertainty import ConformalRegressor

                model = ConformalRegressor(model, **conformal, confidence_level=INTERVAL_LEVELS, random_state=seed)
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                model.fit(X_train, bench.y[train])
            fit_s = time.perf_counter() - start
            if interrupt.requested:  # training was cut short: do not save it as finished
                raise KeyboardInterrupt
            start = time.perf_counter()
            pred = np.asarray(model.predict(X_test), dtype=float).ravel()
            predict_s = time.perf_counter() - start
            components = component_predictions(model, X_test)
            interval_kind, bounds = model_intervals(model, X_test)
            record = dict(model=name, fold=fold, n_train=len(train), n_test=len(test), fit_s=fit_s,
                          predict_s=predict_s, torch_threads=threads, **_metrics(bench.y[test], pred),
                          versions=_versions())
            record.update(_training_summary(model))
            if tune and hasattr(model, "best_params_"):
                record["best_params"] = {k: (v if isinstance(v, (int, float, str, bool, list)) else str(v))
                                         for k, v in model.best_params_.items()}
            if components:
                record["components"] = {key: _metrics(bench.y[test], value)["mae"] for key, value in components.items()}
            if bounds:
                record["intervals"] = interval_summary(interval_kind, bench.y[test], bounds)
            if hasattr(model, "weights_") and hasattr(model, "named_estimators_"):
                # what a fusion model chose on its training data, for the report to show beside the test errors
                record["fusion_weights"] = dict(zip(model.named_estimators_, map(float, np.ravel(model.weights_))))
                if hasattr(model, "oof_scores_"):
                    record["held_out_scores"] = {k: float(v) for k, v in model.oof_scores_.items()}
            frame = pd.DataFrame({"id": [bench.ids[i] for i in test], "y_true": bench.y[test], "y_pred": pred,
                                  **{f"{COMPONENT_PREFIX}{key}": value for key, value in components.items()},
                                  **interval_columns(bounds)})
            write_atomically(out / "predictions" / f"{name}__fold{fold}.csv", frame.to_csv(index=False))
            write_atomically(_record_path(out, name, fold), json.dumps(record, indent=1))
            bar.update(1)
            unit = f" {bench.unit}" if bench.unit else ""
            bar.write(f"{name} fold {fold}: MAE {record['mae']:.4g}{unit} ({fit_s:.1f} s)")
            _report(out, models, folds, bench, quick)
    bar.close()
    return _report(out, models, folds, bench, quick)


class _report_on_interrupt:
    """On Ctrl-C: write the report of what finished, then let the interrupt through."""

    def __init__(self, *args):
        self.args = args

    def __enter__(self):
        return self

    def __exit__(self, kind, value, traceback):
        if kind is KeyboardInterrupt:
            _report(*self.args)
        return False


def _report(out, models, folds, bench, quick):
    from ._report import write_report

    results = load_records(out)
    if results.empty:
        return results
    results = results[results["model"].isin(models) & results["fold"].isin(folds)]
    write_report(out, results, bench, expected=(list(models), list(folds)), quick=quick)
    return results


#: column prefix of a component's predictions in ``predictions/<model>__fold<k>.csv``
COMPONENT_PREFIX = "pred:"


def component_predictions(model, X) -> dict:
    """Test predictions of the parts of a fitted fusion model or ensemble, by name.

    ``{"megnet": ..., "megnet/0": ..., "megnet/1": ..., "descriptors": ...}`` for a late fusion of a
    descriptor model and a two-model committee: each base, and each member of a base (or of the
    model) that keeps members (``estimators_`` with a ``transform`` giving their predictions). Empty
    for a plain model. They let a report score every part of a hybrid on the same folds.
    """
    parts = {}

    def members(prefix, estimator):
        inner = getattr(estimator, "estimators_", None)
        if isinstance(inner, list) and hasattr(estimator, "transform") and not hasattr(estimator, "named_estimators_"):
            values = np.asarray(estimator.transform(X), dtype=float)
            if values.ndim == 2 and values.shape[1] == len(inner):
                for k in range(len(inner)):
                    parts[f"{prefix}{k}"] = values[:, k]

    named = getattr(model, "named_estimators_", None)
    if named is not None:
        for name, base in named.items():
            parts[name] = np.asarray(base.predict(X), dtype=float).ravel()
            members(f"{name}/", base)
    else:
        members("member/", model)
    return parts


#: the confidence levels at which the runner scores a model's own spread (the report's calibration curve);
#: a ConformalRegressor is scored at the levels it was calibrated for
INTERVAL_LEVELS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95)


def model_intervals(model, X) -> tuple[str | None, dict]:
    """The prediction intervals a fitted model gives, by confidence level: ``(kind, {level: (n, 2) array})``.

    ``kind`` is ``"conformal"`` for a :class:`~skhybrid.uncertainty.ConformalRegressor` (at its
    calibrated levels), ``"spread"`` for a model whose ``predict`` takes ``return_std`` (the Gaussian
    interval of its members' spread at :data:`INTERVAL_LEVELS`, when the spread is not zero everywhere),
    ``None`` (and no intervals) otherwise.
    """
    from ..uncertainty import has_spread, spread_interval

    if hasattr(model, "predict_interval") and hasattr(model, "confidence_levels_"):
        levels = list(model.confidence_levels_)
        intervals = np.asarray(model.predict_interval(X, confidence_level=levels), dtype=float)
        return "conformal", {level: intervals[:, :, k] for k, level in enumerate(levels)}
    if has_spread(model):
        _, intervals = spread_interval(model, X, list(INTERVAL_LEVELS))
        # no spread at all (a mean predictor, a blend that gave one base all the weight) is no interval
        if intervals.ndim == 3 and np.ptp(intervals, axis=1).any():
            return "spread", {level: intervals[:, :, k] for k, level in enumerate(INTERVAL_LEVELS)}
    return None, {}


def interval_summary(kind, y_true, intervals: dict) -> dict:
    """Coverage and mean width of each level's intervals on the test samples, for a record."""
    from ..uncertainty import interval_coverage, interval_width

    return {"kind": kind,
            "coverage": {f"{level:g}": interval_coverage(y_true, bounds) for level, bounds in intervals.items()},
            "width": {f"{level:g}": interval_width(bounds) for level, bounds in intervals.items()}}


def interval_columns(intervals: dict) -> dict:
    """``lower@0.9``, ``upper@0.9``, ... columns of a predictions file."""
    columns = {}
    for level, bounds in intervals.items():
        columns[f"lower@{level:g}"] = bounds[:, 0]
        columns[f"upper@{level:g}"] = bounds[:, 1]
    return columns


def _finished(out: Path, model: str, fold: int) -> bool:
    """Whether a (model, fold) has a complete record and predictions; a damaged one is moved aside."""
    record_path = _record_path(out, model, fold)
    predictions = out / "predictions" / f"{model}__fold{fold}.csv"
    if not record_path.exists():
        return False
    problem = None
    try:
        record = json.loads(record_path.read_text())
        if not isinstance(record, dict) or not {"model", "fold", "mae", "fit_s"} <= set(record):
            problem = "it lacks the metrics"
        elif not predictions.exists():
            problem = f"{predictions.name} is missing"
        else:
            n_rows = len(pd.read_csv(predictions))
            if n_rows != record.get("n_test", n_rows):
                problem = f"{predictions.name} has {n_rows} rows, not {record['n_test']}"
    except (ValueError, OSError) as error:  # JSON or CSV truncated by a kill
        problem = f"it cannot be read ({type(error).__name__}: {error})"
    if problem is None:
        return True
    for path in (record_path, predictions):
        if path.exists():
            path.replace(path.with_name(path.name + ".corrupt"))
    warnings.warn(f"{record_path} was damaged ({problem}); moved aside as *.corrupt, {model} fold {fold} is "
                  "computed again.", UserWarning, stacklevel=3)
    return False


def load_records(out) -> pd.DataFrame:
    """Every saved (model, fold) record of an output folder, as a DataFrame.

    Parameters
    ----------
    out : str or Path
        An output folder of :func:`run_benchmark` (or ``skhybrid benchmark --out``).

    Returns
    -------
    DataFrame
        One row per saved (model, fold); empty when nothing was saved yet.

    Examples
    --------
    >>> from skhybrid.benchmark import load_records, summarize
    >>> summarize(load_records("benchmark-results"))            # doctest: +SKIP
    """
    rows = []
    for path in sorted((Path(out) / "records").glob("*.json")):
        try:
            rows.append(json.loads(path.read_text()))
        except ValueError as error:
            raise ValueError(f"{path} is not a valid record ({error}); delete it (or rerun the benchmark, which "
                             "moves damaged records aside and recomputes them).") from error
    return pd.DataFrame(rows)
