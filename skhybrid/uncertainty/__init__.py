"""Prediction intervals: conformal intervals with a guaranteed coverage, and a model's own spread.

:class:`ConformalRegressor` wraps any regressor (a Pipeline from Structures, a seed ensemble, a fusion
model) in split, CV+ or jackknife+ conformal prediction (MAPIE underneath) with constant-width or
adaptive scores; :func:`spread_interval` gives the Gaussian interval of an ensemble's spread, which holds
no guarantee; :func:`interval_coverage` and :func:`interval_width` judge both.
"""

from ._conformal import ConformalRegressor
from ._spread import check_confidence_levels, has_spread, interval_coverage, interval_width, spread_interval

__all__ = ["ConformalRegressor", "check_confidence_levels", "has_spread", "interval_coverage", "interval_width",
           "spread_interval"]
