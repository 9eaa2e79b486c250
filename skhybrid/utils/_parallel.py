"""Fitting several clones at once: joblib processes with one torch thread each."""

from __future__ import annotations

from joblib import Parallel, delayed, effective_n_jobs

from ._progress import progress_bar
from ._threads import torch_threads

__all__ = ["fit_all"]


def _fit(fit, threads):
    from joblib import parallel_config

    # no parallel work inside a parallel fit: under joblib's Dask backend a nested Parallel(n_jobs=None)
    # would spread over the whole cluster and sum in arrival order, so results would depend on the backend
    with torch_threads(threads), parallel_config(backend="sequential"):
        return fit()


def fit_all(fits, *, n_jobs=None, desc=None, unit="fit"):
    """Run zero-argument fit callables, in parallel processes when ``n_jobs`` > 1; results in order.

    Each parallel worker trains with one torch thread: workers that each take
    every core oversubscribe the machine (measured: a busy neighbour slows
    two-thread training about 6x, one-thread training not at all). With one
    job the calls run here, under the caller's own thread setting. The calls go
    to joblib's active backend: local processes by default, a Dask cluster's
    workers under ``joblib.parallel_config(backend="dask")``, with the same
    results (nothing inside a parallel call runs in parallel again).

    Parameters
    ----------
    fits : list of callable
        Each returns a fitted estimator (and raises with a message naming what failed).
    n_jobs : int, default=None
        joblib semantics; ``None`` means 1.
    desc : str, optional
        Label of the progress bar (shown when ``skhybrid`` progress is on).
    unit : str, default="fit"

    Returns
    -------
    list
        What each callable returned, in the order given.

    Examples
    --------
    >>> from functools import partial
    >>> from sklearn.linear_model import Ridge
    >>> X, y = [[0.0], [1.0], [2.0]], [0.0, 1.0, 2.0]
    >>> models = fit_all([partial(Ridge(alpha=a).fit, X, y) for a in (0.1, 10.0)])
    >>> [round(float(m.coef_[0]), 2) for m in models]
    [0.95, 0.17]
    """
    n_jobs = min(effective_n_jobs(n_jobs), max(1, len(fits)))
    results = []
    with progress_bar(total=len(fits), desc=desc, unit=unit) as bar:
        if n_jobs == 1:
            for fit in fits:
                results.append(fit())
                bar.update(1)
            return results
        for result in Parallel(n_jobs=n_jobs, return_as="generator")(delayed(_fit)(fit, 1) for fit in fits):
            results.append(result)
            bar.update(1)
    return results
