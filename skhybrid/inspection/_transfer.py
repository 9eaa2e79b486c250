"""Negative transfer: does training targets together hurt any of them?"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from sklearn.base import clone

__all__ = ["negative_transfer"]


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
    X_train, X_test : samples
    y_train, y_test : array-like of shape (n_samples, n_targets)
    target_names : sequence of str, default=None
    verbose : int, default=0

    Returns
    -------
    DataFrame
        Indexed by target: ``single_task_mae``, ``multi_task_mae``,
        ``change`` (relative, multi vs single; positive = worse) and
        ``negative_transfer`` (bool), plus the fit times.
    """
    y_train = np.asarray(y_train, dtype=float)
    y_test = np.asarray(y_test, dtype=float)
    if y_train.ndim != 2 or y_train.shape[1] < 2:
        raise ValueError(f"negative_transfer needs y with at least two target columns, got shape {y_train.shape}.")
    k = y_train.shape[1]
    names = list(target_names) if target_names is not None else [f"target_{j}" for j in range(k)]
    if len(names) != k:
        raise ValueError(f"target_names has {len(names)} names for {k} targets.")
    X_train, X_test = list(X_train), list(X_test)

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
            print(f"[negative_transfer] {name}: single {single_mae:.4g}, multi {multi_mae:.4g}", flush=True)
    return pd.DataFrame(rows).set_index("target")
