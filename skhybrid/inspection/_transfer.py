"""Negative transfer: does training targets together hurt any of them?"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import check_cv

__all__ = ["negative_transfer", "negative_transfer_cv"]


def negative_transfer(estimator, X_train, y_train, X_test, y_test, *, target_names=None,
                      verbose: int = 0) -> pd.DataFrame:
    """Fit one multi-task model and one single-task model per target; compare test MAEs per target.

    The same (cloned) ``estimator`` is trained on all columns of ``y_train``
    and on each column alone (rows without that label dropped). A target whose
    multi-task MAE is above its single-task MAE suffers negative transfer: it
    is better trained alone (or with other ``task_weights``).

    Parameters
    ----------
    estimator : estimator or Pipeline accepting 2-D ``y`` (NaN = missing label)
        Cloned for every fit; the original is left untouched.
    X_train, X_test : samples
        What the estimator takes (e.g. Structures).
    y_train, y_test : array-like of shape (n_samples, n_targets)
        At least two targets; NaN marks a missing label.
    target_names : sequence of str, default=None
        Names for the rows; ``target_0``, ``target_1``, ... by default.
    verbose : int, default=0
        1 prints each fit as it finishes.

    Returns
    -------
    DataFrame
        Indexed by target: ``single_task_mae``, ``multi_task_mae``,
        ``change`` (relative, multi vs single; positive = worse) and
        ``negative_transfer`` (bool), plus the fit times.

    Examples
    --------
    >>> import numpy as np
    >>> from pymatgen.core import Lattice, Structure
    >>> from sklearn.pipeline import make_pipeline
    >>> from skhybrid import MagpieFeaturizer, StructureGraphizer
    >>> from skhybrid.inspection import negative_transfer
    >>> from skhybrid.models import MEGNetRegressor
    >>> rocksalts = [("Na", "Cl", 5.64), ("K", "Cl", 6.29), ("Li", "F", 4.03), ("Mg", "O", 4.21),
    ...              ("Na", "F", 4.63), ("K", "Br", 6.60), ("Ca", "O", 4.81), ("Li", "Cl", 5.13)]
    >>> structures = [Structure.from_spacegroup("Fm-3m", Lattice.cubic(a), [c, x], [[0, 0, 0], [0.5, 0.5, 0.5]])
    ...               for c, x, a in rocksalts]
    >>> Y = np.array([[a, a ** 3 / 4] for *_, a in rocksalts])   # lattice constant, volume per formula unit
    >>> model = make_pipeline(StructureGraphizer(global_features=MagpieFeaturizer()),
    ...                       MEGNetRegressor(max_epochs=5, validation_fraction=0, random_state=0))
    >>> table = negative_transfer(model, structures[:6], Y[:6], structures[6:], Y[6:],
    ...                           target_names=["a", "volume"])
    >>> list(table.index), "negative_transfer" in table.columns
    (['a', 'volume'], True)
    """
    y_train = np.asarray(y_train, dtype=float)
    names = _check_targets(y_train, target_names)
    rows = _compare_on_split(estimator, list(X_train), y_train, list(X_test), np.asarray(y_test, dtype=float),
                             names, verbose, prefix="[negative_transfer]")
    return pd.DataFrame(rows).set_index("target")


def negative_transfer_cv(estimator, X, y, *, cv=5, target_names=None, return_folds: bool = False,
                         verbose: int = 0):
    """:func:`negative_transfer` on every split of a cross-validation, summarised per target.

    One split's difference between multi-task and single-task MAE is often
    within the spread between splits (on NOMAD 2018 the band gap was 7.6%
    worse multi-task on one fold and 0.7% worse over five). This runs the
    comparison on each split of ``cv`` and flags a target only when training
    it together with the others is worse on average *and* on most splits.

    Parameters
    ----------
    estimator : estimator or Pipeline accepting 2-D ``y`` (NaN = missing label)
        Cloned for every fit; ``k + 1`` fits per split for ``k`` targets.
    X : samples
        What the estimator takes (e.g. Structures).
    y : array-like of shape (n_samples, n_targets)
        At least two targets; NaN marks a missing label.
    cv : int, cross-validation generator or iterable, default=5
        As in :func:`sklearn.model_selection.cross_validate`; an int means
        ``KFold(cv)`` without shuffling, so pass ``KFold(cv, shuffle=True,
        random_state=...)`` for data stored in a meaningful order.
    target_names : sequence of str, default=None
        Names for the rows; ``target_0``, ``target_1``, ... by default.
    return_folds : bool, default=False
        Also return the per-split table.
    verbose : int, default=0
        1 prints each fit as it finishes.

    Returns
    -------
    summary : DataFrame
        Indexed by target: ``single_task_mae`` and ``multi_task_mae`` (means
        over the splits) with their standard deviations (``*_std``),
        ``change`` (relative, multi vs single; positive = worse),
        ``splits_worse`` (splits on which multi-task was worse), ``n_splits``
        and ``negative_transfer`` (worse on average and on more than half of
        the splits).
    folds : DataFrame, only with ``return_folds=True``
        One row per split and target, the columns of :func:`negative_transfer`
        plus ``split``.

    Notes
    -----
    A ``KeyboardInterrupt`` (Ctrl-C) that reaches this function returns the
    splits finished so far, with a warning; ``n_splits`` says how many. The
    graph networks catch Ctrl-C themselves, as skorch does: it ends the
    training under way (keeping its best weights) and the comparison goes on.

    Examples
    --------
    >>> from sklearn.model_selection import KFold
    >>> summary = negative_transfer_cv(model, structures, Y,  # doctest: +SKIP
    ...                                cv=KFold(5, shuffle=True, random_state=0))
    >>> summary[["single_task_mae", "multi_task_mae", "change", "splits_worse", "negative_transfer"]]  # doctest: +SKIP
    """
    y = np.asarray(y, dtype=float)
    names = _check_targets(y, target_names)
    X = list(X)
    splitter = check_cv(cv)
    rows = []
    try:
        for split, (train, test) in enumerate(splitter.split(X, y)):
            split_rows = _compare_on_split(
                estimator, [X[i] for i in train], y[train], [X[i] for i in test], y[test], names, verbose,
                prefix=f"[negative_transfer_cv] split {split}:")
            rows.extend(dict(row, split=split) for row in split_rows)
    except KeyboardInterrupt:
        if not rows:
            raise
        warnings.warn(f"Interrupted after {rows[-1]['split'] + 1} of {splitter.get_n_splits(X, y)} splits; "
                      "returning the finished ones.", stacklevel=2)
    folds = pd.DataFrame(rows)
    grouped = folds.groupby("target", sort=False)
    single, multi = grouped["single_task_mae"].mean(), grouped["multi_task_mae"].mean()
    worse, n_splits = grouped["negative_transfer"].sum().astype(int), grouped.size()
    summary = pd.DataFrame({
        "single_task_mae": single, "single_task_mae_std": grouped["single_task_mae"].std(ddof=1),
        "multi_task_mae": multi, "multi_task_mae_std": grouped["multi_task_mae"].std(ddof=1),
        "change": multi / single - 1, "splits_worse": worse, "n_splits": n_splits,
        "negative_transfer": (multi > single) & (worse > n_splits / 2),
    })
    return (summary, folds) if return_folds else summary


def _check_targets(y, target_names):
    if y.ndim != 2 or y.shape[1] < 2:
        raise ValueError(f"negative_transfer needs y with at least two target columns, got shape {y.shape}.")
    k = y.shape[1]
    names = list(target_names) if target_names is not None else [f"target_{j}" for j in range(k)]
    if len(names) != k:
        raise ValueError(f"target_names has {len(names)} names for {k} targets.")
    return names


def _compare_on_split(estimator, X_train, y_train, X_test, y_test, names, verbose, prefix):
    """Test MAE per target of one multi-task fit against one single-task fit per target."""
    k = len(names)
    start = time.perf_counter()
    multi = clone(estimator).fit(X_train, y_train)
    multi_seconds = time.perf_counter() - start
    multi_pred = np.asarray(multi.predict(X_test)).reshape(len(X_test), k)
    rows = []
    for j, name in enumerate(names):
        labelled = np.flatnonzero(np.isfinite(y_train[:, j]))
        start = time.perf_counter()
        single = clone(estimator).fit([X_train[i] for i in labelled], y_train[labelled, j])
        seconds = time.perf_counter() - start
        keep = np.isfinite(y_test[:, j])
        single_mae = float(np.mean(np.abs(np.asarray(single.predict(X_test)).ravel()[keep] - y_test[keep, j])))
        multi_mae = float(np.mean(np.abs(multi_pred[keep, j] - y_test[keep, j])))
        rows.append({"target": name, "single_task_mae": single_mae, "multi_task_mae": multi_mae,
                     "change": multi_mae / single_mae - 1, "negative_transfer": multi_mae > single_mae,
                     "single_task_fit_s": seconds, "multi_task_fit_s": multi_seconds})
        if verbose:
            print(f"{prefix} {name}: single {single_mae:.4g}, multi {multi_mae:.4g}", flush=True)
    return rows
