"""The benchmark runner: every (model, fold) fitted, scored and saved at once; reruns resume."""

from __future__ import annotations

import functools
import json
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .._config import config_context
from ..catalogue import CATALOGUE, DEFAULT_BENCHMARK, build, check_task_type, resolve_models
from ..utils import write_atomically
from ._metrics import classification_scores, task_metrics

__all__ = ["BenchmarkData", "load_benchmark_data", "run_benchmark", "user_targets"]

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
    task_type: str = "regression"
    #: auxiliary targets, shape (n_samples, n_auxiliary), NaN where unknown; None without any
    auxiliary: np.ndarray | None = None


def load_benchmark_data(task=None, *, data=None, target=None, cv=5, seed=0, data_dir=None, task_type="auto",
                        classify_above=None, aux_targets=None) -> BenchmarkData:
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
    task_type : {"auto", "regression", "classification"}, default="auto"
        For ``data``: what the target is. ``"auto"`` is classification for a column of booleans or
        strings, regression for numbers. A Matbench task has its own (three are classification).
    classify_above : float, optional
        For ``data``: turn a numeric target into two classes, ``target > classify_above`` (``True``)
        or not, e.g. band gap above 2 eV; implies classification.
    aux_targets : sequence of str, optional
        For ``data``: other numeric columns that models with an
        :class:`~skhybrid.models.AuxiliaryTargetRegressor` learn beside ``target`` (multi-task); the
        runner gives them each fold's training samples only. A missing value is NaN (left out of the
        loss).

    Returns
    -------
    BenchmarkData
        ``name``, ``X`` (Structures or compositions), ``y``, ``ids``, ``folds``
        (``(train, test)`` index pairs), ``unit``, ``target``, ``matbench_task``, ``task_type``.
        The folds of ``data`` are stratified by class for classification.

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

        if aux_targets:
            raise ValueError(f"{task} has one target; aux_targets (--aux-targets) are for your own data, whose "
                             "other columns a multi-task model can learn beside the target.")

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            bunch = load_matbench(task, data_home=data_dir)
        if task_type not in ("auto", bunch.task_type) or classify_above is not None:
            raise ValueError(f"{bunch.task} is a {bunch.task_type} task with its own targets; task_type "
                             "(--task-type) and classify_above (--classify-above) are for your own data.")
        X = bunch.structures if bunch.structures is not None else bunch.compositions
        y = bunch.targets.iloc[:, 0].to_numpy()
        if bunch.task_type == "classification":
            y = y.astype(bool)
        return BenchmarkData(name=bunch.task, X=X, y=y, ids=list(bunch.ids), folds=list(bunch.folds),
                             unit=bunch.unit or "", target=bunch.target_names[0], matbench_task=bunch.task,
                             config={"task": bunch.task}, task_type=bunch.task_type)
    from sklearn.model_selection import KFold, StratifiedKFold

    from ..datasets import load_structures

    if target is None:
        raise ValueError("data needs target (--target on the command line): the column of the targets file to "
                         "predict.")
    aux_targets = list(aux_targets or ())
    bunch = load_structures(data, target=target_columns(target, aux_targets), class_labels=True)
    y, task_type = user_targets(bunch.targets[target], bunch.ids, target, task_type, classify_above)
    auxiliary = _auxiliary_targets(bunch, aux_targets, task_type) if aux_targets else None
    if cv < 2 or cv > len(y):
        raise ValueError(f"cv={cv} (--cv) must be between 2 and {len(y)} folds for {len(y)} samples.")
    if task_type == "classification":
        labels, counts = np.unique(y, return_counts=True)
        if counts.min() < cv:
            raise ValueError(f"Class {labels[counts.argmin()].tolist()!r} has {counts.min()} sample(s), fewer than "
                             f"cv={cv} folds (--cv); use fewer folds.")
        folds = list(StratifiedKFold(cv, shuffle=True, random_state=seed).split(np.zeros(len(y)), y))
    else:
        folds = list(KFold(cv, shuffle=True, random_state=seed).split(np.zeros(len(y))))
    name = Path(data).stem.removesuffix(".json")
    config = {"data": str(Path(data).resolve()), "target": target, "cv": cv}
    if task_type == "classification":
        config["task_type"] = task_type
    if classify_above is not None:
        config["classify_above"] = float(classify_above)
    if aux_targets:
        config["aux_targets"] = aux_targets
    return BenchmarkData(name=name, X=bunch.structures, y=y, ids=list(bunch.ids), folds=folds, target=target,
                         config=config, task_type=task_type, auxiliary=auxiliary)


def target_columns(target: str, aux_targets) -> list:
    """``[target, *aux_targets]``, the columns to load; an auxiliary column repeating the target raises."""
    if target in aux_targets:
        raise ValueError(f"aux_targets (--aux-targets) repeats the target {target!r}; list only the other "
                         "columns to learn beside it.")
    return [target, *aux_targets]


def _auxiliary_targets(bunch, columns: list, task_type: str) -> np.ndarray:
    """The auxiliary columns as floats (NaN where missing); labels or a regression-less task raise."""
    if task_type != "regression":
        raise ValueError("aux_targets (--aux-targets) are learned beside a regression target by a multi-task "
                         "regressor; this target is a classification.")
    values = []
    for column in columns:
        numeric = pd.to_numeric(bunch.targets[column], errors="coerce")
        bad = np.flatnonzero(numeric.isna().to_numpy() & bunch.targets[column].notna().to_numpy())
        if len(bad):
            raise ValueError(f"Sample {bunch.ids[bad[0]]}: auxiliary target {column!r} is not a number "
                             f"({bunch.targets[column].iloc[bad[0]]!r}); fix it or leave it empty (unknown).")
        values.append(numeric.to_numpy(dtype=float))
    return np.column_stack(values)


def user_targets(raw: pd.Series, ids, target: str, task_type="auto", classify_above=None):
    """The target column of one's own data as ``(y, task_type)``: numbers, or class labels.

    A missing value, a label in a regression or a single class raises naming the sample and the fix.

    Parameters
    ----------
    raw : Series
        The column as read (``load_structures(..., class_labels=True)``).
    ids : sequence of str
        The samples' ids, for messages.
    target : str
        The column's name, for messages.
    task_type : {"auto", "regression", "classification"}, default="auto"
        ``"auto"`` is classification for booleans or strings, regression for numbers.
    classify_above : float, optional
        Make two classes, ``value > classify_above``.

    Returns
    -------
    y : ndarray
    task_type : {"regression", "classification"}

    Examples
    --------
    >>> import pandas as pd
    >>> from skhybrid.benchmark import user_targets
    >>> user_targets(pd.Series([0.5, 2.5, 3.1]), ["a", "b", "c"], "band_gap", classify_above=2.0)
    (array([False,  True,  True]), 'classification')
    """
    if task_type not in ("auto", "regression", "classification"):
        raise ValueError(f"task_type (--task-type) must be 'auto', 'regression' or 'classification', got "
                         f"{task_type!r}.")
    if classify_above is not None and task_type == "regression":
        raise ValueError("classify_above (--classify-above) makes two classes; it cannot go with "
                         "task_type='regression'.")
    missing = np.flatnonzero(raw.isna().to_numpy())
    if len(missing):
        raise ValueError(f"{len(missing)} sample(s) have no value of {target!r} (first: {ids[missing[0]]}); "
                         "drop them from the targets file to benchmark on the rest.")
    numeric = pd.to_numeric(raw, errors="coerce")
    is_number = bool(numeric.notna().all()) and raw.dtype != bool
    if task_type == "auto" and raw.dtype != bool and 0 < numeric.notna().sum() < len(raw):
        # numbers with a few words among them are a typo, not class labels
        bad = int(np.flatnonzero(numeric.isna().to_numpy())[0])
        raise ValueError(f"Sample {ids[bad]}: target {target!r} is not a number ({raw.iloc[bad]!r}) while others "
                         "are; fix it, or pass task_type='classification' (--task-type classification) if the "
                         "column holds class labels.")
    if classify_above is not None:
        if not is_number:
            raise ValueError(f"classify_above (--classify-above) needs a numeric target; {target!r} holds labels "
                             f"such as {raw.iloc[0]!r}.")
        y = numeric.to_numpy(dtype=float) > float(classify_above)
        task_type = "classification"
    elif task_type == "regression" or (task_type == "auto" and is_number):
        if not is_number:
            bad = int(np.flatnonzero(numeric.isna().to_numpy())[0])
            raise ValueError(f"Sample {ids[bad]}: target {target!r} is not a number ({raw.iloc[bad]!r}); "
                             "for class labels use task_type='classification' (--task-type classification).")
        y = numeric.to_numpy(dtype=float)
        bad = np.flatnonzero(~np.isfinite(y))
        if len(bad):
            raise ValueError(f"{len(bad)} sample(s) have no finite value of {target!r} (first: {ids[bad[0]]}); "
                             "drop them from the targets file.")
        task_type = "regression"
    else:
        y = raw.to_numpy()
        task_type = "classification"
    if task_type == "classification" and len(np.unique(y)) < 2:
        raise ValueError(f"Every sample of {target!r} is in class {np.asarray(y)[0].tolist()!r}; a classification "
                         "needs two classes" + (" (choose another --classify-above)." if classify_above is not None
                                                else "."))
    return y, task_type


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
                 "pymatgen", "pymatgen-core", "spglib"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            pass
    return found


def _machine(device="cpu") -> dict:
    """The processor and the SIMD extensions numpy uses: equal versions on another processor can round
    differently, and a boosted model's tie-breaking splits can then differ. A fit on a GPU adds the GPU's
    name (``gpu``): its epoch rate and its rounding are the GPU's."""
    import platform

    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as handle:
            cpu = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), cpu)
    except OSError:
        pass
    try:
        simd = list(np.__config__.CONFIG["SIMD Extensions"]["found"])
    except (AttributeError, KeyError, TypeError):
        simd = []
    found = {"cpu": cpu, "numpy_simd": simd}
    if device != "cpu" and "torch" in sys.modules:  # a fit that imported no torch used no GPU
        import torch

        if torch.cuda.is_available() and (device == "auto" or str(device).startswith("cuda")):
            found["gpu"] = torch.cuda.get_device_name(torch.device("cuda" if device == "auto" else device))
    return found


def _training_summary(model) -> dict:
    """Epochs run, the epoch kept and the seconds spent in epochs, for a graph network (alone or at the end
    of a Pipeline); for a fit that went on from a checkpoint, the epoch it went on from (``fit_s`` then
    counts only this piece, ``epochs_s`` every piece)."""
    final = model.steps[-1][1] if hasattr(model, "steps") else model
    if not (hasattr(final, "best_epoch_") and hasattr(final, "net_")):
        return {}
    history = final.net_.history
    summary = {"epochs": len(history), "best_epoch": int(final.best_epoch_),
               "epochs_s": round(float(sum(row.get("dur", 0.0) for row in history)), 1)}
    checkpoint = dict(final.net_.callbacks_).get("training_checkpoint")
    if getattr(checkpoint, "resumed_from_", 0):
        summary["resumed_from_epoch"] = int(checkpoint.resumed_from_)
    return summary


def _metrics(y_true, y_pred) -> dict:
    from ._metrics import regression_scores

    return regression_scores(y_true, y_pred)


def _predict_classes(model, X, classes):
    """Labels, and probabilities with a column per entry of ``classes``, of a fitted classifier."""
    from ..fusion._bases import aligned_proba

    return np.asarray(model.predict(X)), aligned_proba(model, X, classes)


def _probability_columns(proba, classes) -> dict:
    """``proba`` (of ``classes[1]``) for two classes, ``proba:<class>`` for each of more."""
    if len(classes) == 2:
        return {"proba": proba[:, 1]}
    return {f"proba:{label}": proba[:, k] for k, label in enumerate(classes)}


def run_benchmark(task=None, *, data=None, target=None, cv=5, models=DEFAULT_BENCHMARK, folds=None,
                  out="benchmark-results", data_dir=None, tune=0, device="auto", seed=0, quick=False, force=False,
                  progress=True, threads=1, intervals=None, task_type="auto", classify_above=None,
                  n_jobs=None, store=None, aux_targets=None, checkpoints=None) -> pd.DataFrame:
    """Run (or resume) a benchmark; return one row per (model, fold) with its metrics.

    For each model and fold: fit on the fold's training samples, predict its
    test samples, score (regression: MAE, RMSE, R^2, max error; classification:
    ROC-AUC of the predicted probabilities, as Matbench scores it, accuracy,
    balanced accuracy, F1 and log loss; fit and predict seconds), and save at once ``records/<model>__fold<k>.json`` and
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
        spread (seed ensembles, late fusion) are scored on their Gaussian spread intervals. Regression only.
    checkpoints : str or Path, optional
        A folder where every graph network saves its training state about once a minute
        (``checkpoint_dir``): a fit stopped by a kill, a time limit or a Ctrl-C goes on from its last
        saved epoch when the benchmark is run again, and ends as it would have unstopped. Finer than
        the (model, fold) resumption, for fits longer than a session.
    task_type : {"auto", "regression", "classification"}, default="auto"
        For ``data``: what the target is (see :func:`load_benchmark_data`). Matbench tasks have their own;
        for classification every model is built as its catalogue entry's classifier.
    classify_above : float, optional
        For ``data``: classify ``target > classify_above`` (e.g. band gap above 2 eV).
    n_jobs : int, default=None
        (model, fold) fits run at once, through joblib (``None``: one at a time, here). Under
        ``joblib.parallel_config(backend="dask")`` they run on a Dask cluster's workers; each finished
        fit is saved on arrival, so an interruption loses only the fits in progress. Each fit uses
        ``threads`` torch threads: set ``n_jobs * threads`` to the cores (or workers) available.
    store : str or path-like, optional
        A folder for on-disk stores of structure descriptors and crystal graphs
        (:func:`skhybrid.featurizers.use_stores`): every fold, model and later run that uses the same
        settings computes each structure's descriptors and graph once, and graphs are streamed from
        disk to training batches, so memory stays flat in the size of the set. Results are unchanged.
    aux_targets : sequence of str, optional
        For ``data``: columns that the models' :class:`~skhybrid.models.AuxiliaryTargetRegressor` parts
        learn beside ``target`` (e.g. the band gap beside the formation energy); each fit gets the
        auxiliary values of its training fold only, and only ``target`` is predicted and scored. Every
        model run must take them.

    Returns
    -------
    DataFrame
        One row per (model, fold) of this call: ``model``, ``fold``, ``n_train``, ``n_test``, ``fit_s``,
        ``predict_s`` and the metrics (``mae``, ``rmse``, ``r2``, ``max_error``; or ``roc_auc``,
        ``accuracy``, ``balanced_accuracy``, ``f1``, ``log_loss``).

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
    bench = load_benchmark_data(task, data=data, target=target, cv=cv, seed=seed, data_dir=data_dir,
                                task_type=task_type, classify_above=classify_above, aux_targets=aux_targets)
    classify = bench.task_type == "classification"
    check_task_type(entries.values(), bench.task_type)
    if bench.auxiliary is not None:
        _check_takes_auxiliary(entries, bench.task_type)
    if classify and intervals:
        raise ValueError("intervals (--intervals) are prediction intervals of a regression; this is a "
                         "classification task, whose models give probabilities instead.")
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
    settings = dict(seed=seed, quick=quick, device=device, task_type=bench.task_type, tune=tune,
                    conformal=conformal, threads=threads, store=None if store is None else str(Path(store).resolve()),
                    checkpoints=None if checkpoints is None else str(Path(checkpoints).resolve()))

    def job(name, fold):
        train, test = bench.folds[fold]
        # a catalogue model travels by name (another process rebuilds its entry); a configuration as itself
        entry = name if CATALOGUE.get(name) is entries[name] else entries[name]
        return (entry, name, fold, [bench.X[i] for i in train], bench.y[train],
                [bench.X[i] for i in test], bench.y[test], [bench.ids[i] for i in test],
                None if bench.auxiliary is None else bench.auxiliary[train])

    def save(record, frame):
        name, fold = record["model"], record["fold"]
        write_atomically(out / "predictions" / f"{name}__fold{fold}.csv", frame.to_csv(index=False))
        write_atomically(_record_path(out, name, fold), json.dumps(record, indent=1))
        bar.update(1)
        metric = task_metrics(bench.task_type)
        unit = f" {bench.unit}" if bench.unit and metric.primary == "mae" else ""
        bar.write(f"{name} fold {fold}: {metric.label} {record[metric.primary]:.4g}{unit} "
                  f"({record['fit_s']:.1f} s)")
        _report(out, models, folds, bench, quick)

    from joblib import Parallel, delayed, effective_n_jobs

    from ..utils import torch_threads
    from ..utils._signals import interrupt_on_signals

    parallel = effective_n_jobs(n_jobs) > 1 and len(todo) > 1
    with interrupt_on_signals() as interrupt, config_context(show_progress=progress and not parallel), \
            torch_threads(threads), _report_on_interrupt(out, models, folds, bench, quick):
        if parallel:
            # (model, fold) fits at once, in joblib's backend: local processes, or a Dask cluster under
            # joblib.parallel_config(backend="dask"); each result is saved as soon as it arrives
            bar.set_postfix_str(f"{min(effective_n_jobs(n_jobs), len(todo))} fits at a time")
            for record, frame in Parallel(n_jobs=n_jobs, return_as="generator_unordered")(
                    delayed(_fit_and_score_alone)(*job(name, fold), **settings) for name, fold in todo):
                save(record, frame)
        else:
            for name, fold in todo:
                bar.set_postfix_str(f"{name}, fold {fold}")
                record, frame = fit_and_score(*job(name, fold), **settings)
                if interrupt.requested:  # training was cut short: do not save it as finished
                    raise KeyboardInterrupt
                save(record, frame)
    bar.close()
    return _report(out, models, folds, bench, quick)


def set_auxiliary_targets(model, X, auxiliary) -> int:
    """Give every :class:`~skhybrid.models.AuxiliaryTargetRegressor` inside ``model`` the table ``(X, auxiliary)``.

    Parameters
    ----------
    model : estimator
    X : sequence of samples
        The training samples.
    auxiliary : ndarray of shape (n_samples, n_auxiliary)
        Their auxiliary targets.

    Returns
    -------
    int
        How many were given the table (0: the model takes no auxiliary targets).
    """
    table = {"auxiliary_X": list(X), "auxiliary_y": np.asarray(auxiliary, dtype=float)}
    owners = _auxiliary_owners(model)
    model.set_params(**{f"{path}{key}": value for path in owners for key, value in table.items()})
    return len(owners)


def _auxiliary_owners(model) -> list[str]:
    """The parameter prefixes (``"graph__"``; ``""`` for the model itself) of its AuxiliaryTargetRegressors."""
    from ..models import AuxiliaryTargetRegressor

    owners = [f"{path}__" for path, value in model.get_params(deep=True).items()
              if isinstance(value, AuxiliaryTargetRegressor)]
    return [""] + owners if isinstance(model, AuxiliaryTargetRegressor) else owners


def _check_takes_auxiliary(entries: dict, task_type: str) -> None:
    """Auxiliary targets would be ignored by a model without an AuxiliaryTargetRegressor: refuse it."""
    ignoring = [name for name, entry in entries.items()
                if not _auxiliary_owners(build(entry, seed=0, quick=True, task_type=task_type))]
    if ignoring:
        raise ValueError(f"Model(s) {ignoring} learn no auxiliary targets; run them without --aux-targets "
                         "(aux_targets), or choose models that take them (e.g. hybrid-large-cells-multitask).")


def _fit_and_score_alone(*args, **kwargs):
    """:func:`fit_and_score` with no parallelism inside: the (model, fold) fits are the parallel level.

    Inside a job of joblib's Dask backend, a nested ``Parallel(n_jobs=None)`` (a forest's prediction,
    a featurizer's chunks) would fan out to the whole cluster and sum in arrival order; sequential
    inner work keeps every fit identical to a local run, digit for digit.
    """
    from joblib import parallel_config

    with parallel_config(backend="sequential"):
        return fit_and_score(*args, **kwargs)


def fit_and_score(entry, name, fold, X_train, y_train, X_test, y_test, test_ids, auxiliary_train=None, *,
                  seed=0, quick=False, device="auto", task_type="regression", tune=0, conformal=None, threads=1,
                  store=None, checkpoints=None):
    """Fit one catalogue entry (or its name) on a fold's training samples, predict and score its test samples.

    What the runner does for each (model, fold), as a function of its inputs alone, so that it can run
    in another process or on a Dask worker. Returns ``(record, predictions)``: the metrics and what the
    model chose (a dict, saved as JSON) and the test predictions (a DataFrame, saved as CSV).
    ``auxiliary_train`` (the training samples' auxiliary targets) goes to every
    :class:`~skhybrid.models.AuxiliaryTargetRegressor` inside the model.
    """
    from ..utils import torch_threads

    classify = task_type == "classification"
    if isinstance(entry, str):
        entry = CATALOGUE[entry]
    with torch_threads(threads):
        model = build(entry, seed=seed, quick=quick, device=device, task_type=task_type, checkpoint_dir=checkpoints)
        if auxiliary_train is not None:
            set_auxiliary_targets(model, X_train, auxiliary_train)
        if store is not None:
            from ..featurizers import use_stores

            use_stores(model, store)
        if tune:
            model = _tuned(entry, model, tune, seed)
        if conformal:
            from ..uncertainty import ConformalRegressor

            model = ConformalRegressor(model, **conformal, confidence_level=INTERVAL_LEVELS, random_state=seed)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            model.fit(X_train, y_train)
        fit_s = time.perf_counter() - start
        start = time.perf_counter()
        classes = np.unique(y_train) if classify else None
        if classify:
            pred, proba = _predict_classes(model, X_test, classes)
            scores = classification_scores(y_test, pred, proba, classes)
            outputs = _probability_columns(proba, classes)
        else:
            pred = np.asarray(model.predict(X_test), dtype=float).ravel()
            scores = _metrics(y_test, pred)
            outputs = {}
        predict_s = time.perf_counter() - start
        components = component_predictions(model, X_test, classes)
        interval_kind, bounds = (None, {}) if classify else model_intervals(model, X_test)
    record = dict(model=name, fold=fold, n_train=len(X_train), n_test=len(X_test), fit_s=fit_s,
                  predict_s=predict_s, torch_threads=threads, **scores, versions=_versions(),
                  machine=_machine(device))
    record.update(_training_summary(model))
    if tune and hasattr(model, "best_params_"):
        record["best_params"] = {k: (v if isinstance(v, (int, float, str, bool, list)) else str(v))
                                 for k, v in model.best_params_.items()}
    if components:
        record["components"] = {key: _component_score(y_test, value, classes) for key, value in components.items()}
    if bounds:
        record["intervals"] = interval_summary(interval_kind, y_test, bounds)
    if hasattr(model, "weights_") and hasattr(model, "named_estimators_"):
        # what a fusion model chose on its training data, for the report to show beside the test errors
        record["fusion_weights"] = dict(zip(model.named_estimators_, map(float, np.ravel(model.weights_))))
        if hasattr(model, "oof_scores_"):
            record["held_out_scores"] = {k: float(v) for k, v in model.oof_scores_.items()}
        if hasattr(model, "weight_choice_"):
            record["weight_choice"] = {"chosen": model.weight_choice_,
                                       **{k: float(v) for k, v in model.weight_choice_scores_.items()}}
    frame = pd.DataFrame({"id": test_ids, "y_true": y_test, "y_pred": pred, **outputs,
                          **{f"{COMPONENT_PREFIX}{key}": value for key, value in components.items()},
                          **interval_columns(bounds)})
    return record, frame


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

    everything = load_records(out)
    if everything.empty:
        return everything
    of_models = everything[everything["model"].isin(models)]
    # the report says what this call asked for; each Matbench file covers every finished fold of its model
    results = of_models[of_models["fold"].isin(folds)]
    write_report(out, results, bench, expected=(list(models), list(folds)), quick=quick,
                 matbench_results=of_models)
    return results


#: column prefix of a component's predictions in ``predictions/<model>__fold<k>.csv``
COMPONENT_PREFIX = "pred:"


def _component_score(y_true, values, classes) -> float:
    """The task's primary metric of one part's predictions (MAE; ROC-AUC of its probabilities)."""
    if classes is None:
        return _metrics(y_true, values)["mae"]
    from sklearn.metrics import roc_auc_score

    if len(np.unique(y_true)) < 2:
        return float("nan")
    return float(roc_auc_score(np.asarray(y_true) == classes[1], values))


def component_predictions(model, X, classes=None) -> dict:
    """Test predictions of the parts of a fitted fusion model or ensemble, by name.

    ``{"megnet": ..., "megnet/0": ..., "megnet/1": ..., "descriptors": ...}`` for a late fusion of a
    descriptor model and a two-model committee: each base, and each member of a base (or of the
    model) that keeps members (``estimators_`` with a ``transform`` giving their predictions). Empty
    for a plain model. They let a report score every part of a hybrid on the same folds.
    For a classifier (``classes``: its two labels) each part's probability of ``classes[1]``, for its
    bases only; none for more than two classes.
    """
    parts = {}
    if classes is not None:
        from ..fusion._bases import aligned_proba

        named = getattr(model, "named_estimators_", None)
        if named is None or len(classes) != 2:
            return parts
        for name, base in named.items():
            parts[name] = aligned_proba(base, X, classes)[:, 1]
            for k, member in enumerate(getattr(base, "estimators_", None) or []):
                if isinstance(base.estimators_, list) and hasattr(member, "predict_proba") and \
                        not hasattr(base, "named_estimators_"):
                    parts[f"{name}/{k}"] = aligned_proba(member, X, classes)[:, 1]
        return parts

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
        if not isinstance(record, dict) or not {"model", "fold", "fit_s"} <= set(record) or \
                not {"mae", "roc_auc"} & set(record):
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
