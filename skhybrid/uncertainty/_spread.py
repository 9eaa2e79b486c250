"""Intervals from a model's own spread, and the two numbers every interval is judged by."""

from __future__ import annotations

import inspect

import numpy as np
from scipy.stats import norm

__all__ = ["check_confidence_levels", "has_spread", "interval_coverage", "interval_width", "spread_interval"]


def check_confidence_levels(confidence_level, owner="skhybrid") -> tuple[float, ...]:
    """The confidence level(s) as a tuple of floats, each strictly between 0 and 1, or a clear ``ValueError``.

    Parameters
    ----------
    confidence_level : float or sequence of float
    owner : str, default="skhybrid"
        Who asks, named in the error.

    Returns
    -------
    tuple of float

    Examples
    --------
    >>> from skhybrid.uncertainty import check_confidence_levels
    >>> check_confidence_levels([0.5, 0.9])
    (0.5, 0.9)
    >>> check_confidence_levels(90)
    Traceback (most recent call last):
    ...
    ValueError: skhybrid: confidence levels must lie strictly between 0 and 1 (0.9 asks for a 90% interval), got [90.0].
    """
    levels = np.atleast_1d(np.asarray(confidence_level, dtype=float)).ravel()
    bad = [float(v) for v in levels if not 0 < v < 1]
    if len(levels) == 0 or bad:
        raise ValueError(f"{owner}: confidence levels must lie strictly between 0 and 1 (0.9 asks for a 90% "
                         f"interval), got {bad or list(levels)}.")
    return tuple(float(v) for v in levels)


def _final_step(estimator):
    from sklearn.pipeline import Pipeline

    while isinstance(estimator, Pipeline):
        estimator = estimator.steps[-1][1]
    return estimator


def has_spread(estimator) -> bool:
    """Whether ``estimator.predict(X, return_std=True)`` works (directly or as a Pipeline's last step).

    Parameters
    ----------
    estimator : estimator

    Returns
    -------
    bool

    Examples
    --------
    >>> from sklearn.linear_model import Ridge
    >>> from sklearn.pipeline import make_pipeline
    >>> from skhybrid.models import SeedEnsembleRegressor
    >>> from skhybrid.uncertainty import has_spread
    >>> has_spread(make_pipeline(SeedEnsembleRegressor(Ridge()))), has_spread(Ridge())
    (True, False)
    """
    predict = getattr(_final_step(estimator), "predict", None)
    return predict is not None and "return_std" in inspect.signature(predict).parameters


def spread_interval(estimator, X, confidence_level=0.9):
    """A Gaussian interval from a fitted model's own spread: ``mean +/- z * std``.

    For a seed ensemble or a late fusion, ``std`` is how much the members disagree, not how far the
    truth may lie: these intervals carry no coverage guarantee and are usually too narrow (measured
    in docs/benchmarks.md). :class:`ConformalRegressor` with ``score="std"`` calibrates the same
    spread into intervals that hold.

    Parameters
    ----------
    estimator : fitted estimator whose ``predict`` takes ``return_std``
        e.g. :class:`~skhybrid.models.SeedEnsembleRegressor`, :class:`~skhybrid.fusion.LateFusionRegressor`,
        or a Pipeline ending in one.
    X : what the estimator takes
    confidence_level : float or sequence of float, default=0.9

    Returns
    -------
    y_pred : ndarray of shape (n_samples,)
    intervals : ndarray of shape (n_samples, 2) for one level, (n_samples, 2, n_levels) for several

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.tree import ExtraTreeRegressor
    >>> from skhybrid.models import SeedEnsembleRegressor
    >>> from skhybrid.uncertainty import spread_interval
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(60, 3)), rng.normal(size=60)
    >>> ensemble = SeedEnsembleRegressor(ExtraTreeRegressor(max_depth=3), n_estimators=5, random_state=0).fit(X, y)
    >>> y_pred, intervals = spread_interval(ensemble, X[:4], 0.9)
    >>> intervals.shape, bool((intervals[:, 0] <= y_pred).all())
    ((4, 2), True)
    """
    levels = check_confidence_levels(confidence_level, "spread_interval")
    if not has_spread(estimator):
        raise ValueError(f"{type(_final_step(estimator)).__name__} has no spread (its predict takes no return_std): "
                         "use a SeedEnsembleRegressor or LateFusionRegressor, or wrap the model in "
                         "skhybrid.uncertainty.ConformalRegressor.")
    y_pred, y_std = estimator.predict(X, return_std=True)
    y_pred, y_std = np.asarray(y_pred, dtype=float), np.asarray(y_std, dtype=float)
    z = norm.ppf(0.5 + np.asarray(levels) / 2)
    half = y_std[..., None] * z
    intervals = np.stack([y_pred[..., None] - half, y_pred[..., None] + half], axis=-2)
    return y_pred, (intervals[..., 0] if np.ndim(confidence_level) == 0 else intervals)


def interval_coverage(y_true, intervals) -> np.ndarray | float:
    """Fraction of ``y_true`` inside the intervals, per level (MAPIE's ``regression_coverage_score``).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
    intervals : ndarray of shape (n_samples, 2) or (n_samples, 2, n_levels)

    Returns
    -------
    float, or ndarray of shape (n_levels,)

    Examples
    --------
    >>> import numpy as np
    >>> from skhybrid.uncertainty import interval_coverage
    >>> interval_coverage([1.0, 5.0], np.array([[0.0, 2.0], [0.0, 2.0]]))
    0.5
    """
    from mapie.metrics.regression import regression_coverage_score

    intervals = np.asarray(intervals, dtype=float)
    y_true = np.asarray(y_true, dtype=float).ravel()
    one = intervals.ndim == 2
    coverage = regression_coverage_score(y_true, intervals[..., None] if one else intervals)
    return float(coverage[0]) if one else np.asarray(coverage, dtype=float)


def interval_width(intervals) -> np.ndarray | float:
    """Mean width of the intervals, per level (MAPIE's ``regression_mean_width_score``).

    Parameters
    ----------
    intervals : ndarray of shape (n_samples, 2) or (n_samples, 2, n_levels)

    Returns
    -------
    float, or ndarray of shape (n_levels,)

    Examples
    --------
    >>> import numpy as np
    >>> from skhybrid.uncertainty import interval_width
    >>> interval_width(np.array([[0.0, 2.0], [1.0, 2.0]]))
    1.5
    """
    from mapie.metrics.regression import regression_mean_width_score

    intervals = np.asarray(intervals, dtype=float)
    one = intervals.ndim == 2
    width = regression_mean_width_score(intervals[..., None] if one else intervals)
    return float(width[0]) if one else np.asarray(width, dtype=float)
