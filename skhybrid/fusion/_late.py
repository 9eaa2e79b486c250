"""LateFusionRegressor: a weighted average of models that each take raw Structures."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from ._bases import (
    BaseFusion,
    check_internal_cv,
    out_of_fold_predictions,
)
from ._weights import blend, simplex_weights

__all__ = ["LateFusionRegressor"]


def _score(metric, y, pred) -> float:
    keep = np.isfinite(y)
    y, pred = y[keep], pred[keep]
    if metric == "mae":
        return float(np.mean(np.abs(y - pred)))
    if metric == "mse":
        return float(np.mean((y - pred) ** 2))
    return float(metric(y, pred))


def _prepare_targets(y, n_samples: int, owner: str) -> np.ndarray:
    y = np.asarray(y, dtype=float)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim not in (1, 2) or len(y) != n_samples:
        raise ValueError(f"{owner}: y must have one row per sample ({n_samples}), got shape {y.shape}.")
    return y


class LateFusionRegressor(BaseFusion):
    """Late fusion: a convex combination of models that each take raw Structures.

    Each base is a ``(name, estimator)`` pair, typically a Pipeline from
    Structures to a prediction (``MagpieFeaturizer`` + random forest,
    ``StructureGraphizer`` + CGCNN). The prediction is
    ``sum_j weights_[j] * base_j.predict(X)``, with weights that are either

    - fixed (``weights=[0.3, 0.7]``, normalised to sum to one): a plain
      parameter, so ``GridSearchCV`` or Optuna can tune it; or
    - ``"oof"``: chosen on out-of-fold predictions of an internal ``cv``:
      non-negative, summing to one and minimising ``metric`` (the MAE by
      default, solved exactly as a linear programme). The bases are then refit
      on all the data. Weights chosen on the bases' own training-set
      predictions would favour whichever model overfits most; out-of-fold
      predictions are what each base does on data it has not seen.

    Parameters
    ----------
    estimators : list of (str, estimator)
        The bases; names must be unique and contain no ``"__"``. Their
        parameters are reachable as ``<name>__<param>``.
    weights : array-like of shape (n_estimators,), "oof" or None, default=None
        ``None`` averages the bases with equal weights.
    metric : {"mae", "mse"} or callable, default="mae"
        What ``"oof"`` weights minimise; a callable is ``metric(y_true, y_pred)``,
        lower is better. Also used for ``oof_scores_``.
    cv : int or cross-validation splitter, default=5
        Internal cross-validation for ``weights="oof"``; an int is a shuffled
        ``KFold`` seeded by ``random_state``. It must partition the samples.
    random_state : int, RandomState or None, default=None
        Seeds the internal folds (the bases keep their own ``random_state``).
    verbose : int, default=0
        1 prints a line per base and fold.

    Attributes
    ----------
    weights_ : ndarray of shape (n_estimators,)
    estimators_ : list of estimators
        The bases refit on all the training data.
    named_estimators_ : Bunch
    oof_predictions_ : ndarray of shape (n_samples, n_estimators[, n_targets])
        Out-of-fold predictions (``weights="oof"`` only).
    oof_scores_ : dict
        ``metric`` of each base's out-of-fold predictions, and of the blend
        under ``"fusion"`` (``weights="oof"`` only).

    Examples
    --------
    >>> from sklearn.ensemble import RandomForestRegressor
    >>> from sklearn.pipeline import make_pipeline
    >>> from skhybrid import MagpieFeaturizer
    >>> from skhybrid.featurizers import StructureGraphizer
    >>> from skhybrid.models import CGCNNRegressor
    >>> model = LateFusionRegressor([
    ...     ("rf", make_pipeline(MagpieFeaturizer(), RandomForestRegressor(random_state=0))),
    ...     ("cgcnn", make_pipeline(StructureGraphizer(), CGCNNRegressor(random_state=0))),
    ... ], weights="oof", random_state=0)
    """

    _parameter_constraints: dict = {
        "estimators": [list],
        "weights": ["array-like", StrOptions({"oof"}), None],
        "metric": [StrOptions({"mae", "mse"}), callable],
        "cv": [Interval(Integral, 2, None, closed="left"), "cv_object"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(self, estimators, *, weights=None, metric="mae", cv=5, random_state=None, verbose=0):
        self.estimators = estimators
        self.weights = weights
        self.metric = metric
        self.cv = cv
        self.random_state = random_state
        self.verbose = verbose

    def _check_weights(self, n_bases: int):
        if self.weights is None:
            return np.full(n_bases, 1 / n_bases)
        weights = np.asarray(self.weights, dtype=float).ravel()
        if len(weights) != n_bases:
            raise ValueError(f"{type(self).__name__}: weights has {len(weights)} entries but there are "
                             f"{n_bases} estimators.")
        if not np.isfinite(weights).all() or (weights < 0).any() or weights.sum() == 0:
            raise ValueError(f"{type(self).__name__}: weights must be finite, non-negative and not all zero, "
                             f"got {weights.tolist()}.")
        return weights / weights.sum()

    def fit(self, X, y):
        """Choose the weights (for ``"oof"``), then fit every base on all of ``X``.

        Parameters
        ----------
        X : list, array or Series of samples (e.g. Structures)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)

        Returns
        -------
        self
        """
        owner = type(self).__name__
        names, bases, X, y = self._check_fit_input(X, y)
        if isinstance(self.weights, str):
            cv = check_internal_cv(self.cv, len(X), self.random_state, owner)
            oof = out_of_fold_predictions(names, bases, X, y, cv, owner, self.verbose)
            self.weights_ = simplex_weights(oof, y, self.metric)
            self.oof_predictions_ = oof
            self.oof_scores_ = {name: _score(self.metric, y, oof[:, j]) for j, name in enumerate(names)}
            self.oof_scores_["fusion"] = _score(self.metric, y, blend(oof, self.weights_))
        else:
            self.weights_ = self._check_weights(len(bases))
        self._refit_bases(names, bases, X, y)
        return self

    def transform(self, X) -> np.ndarray:
        """Each base's predictions.

        Parameters
        ----------
        X : list, array or Series of samples (e.g. Structures)
            What the bases' pipelines take.

        Returns
        -------
        predictions : ndarray of shape (n_samples, n_estimators) or (n_samples, n_estimators, n_targets)
        """
        return self._base_predictions(X)

    def predict(self, X) -> np.ndarray:
        """The weighted average of the bases' predictions.

        Parameters
        ----------
        X : list, array or Series of samples (e.g. Structures)
            What the bases' pipelines take.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_targets)
        """
        return blend(self.transform(X), self.weights_)
