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
