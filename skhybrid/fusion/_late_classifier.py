"""LateFusionClassifier: soft voting of classifiers that each take raw Structures, weights chosen out of fold."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.metrics import log_loss
from sklearn.model_selection import check_cv
from sklearn.utils._param_validation import Interval, StrOptions

from ._bases import (
    BaseFusionClassifier,
    check_internal_cv,
    check_splits,
    out_of_fold_predictions,
    held_out_fold_index,
)
from ._late import WeightedBlend
from ._weights import fitted_or_equal, simplex_log_loss_weights

__all__ = ["LateFusionClassifier"]


def _log_loss(y_index, proba, sample_weight=None) -> float:
    return float(log_loss(y_index, np.clip(proba, 1e-15, 1), labels=np.arange(proba.shape[1]),
                          sample_weight=sample_weight))


class LateFusionClassifier(WeightedBlend, BaseFusionClassifier):
    """Late fusion of classifiers: a weighted average of their class probabilities (soft voting).

    The classifier counterpart of :class:`LateFusionRegressor`: each base is a
    ``(name, estimator)`` pair with ``predict_proba`` (typically a Pipeline from
    Structures, e.g. ``MagpieFeaturizer`` + gradient boosting, or
    ``StructureGraphizer`` + :class:`~skhybrid.models.CGCNNClassifier`); ``X``
    reaches every base untouched and a base may be ``"drop"``.
    ``predict_proba`` is ``sum_j weights_[j] * base_j.predict_proba(X)``, with
    weights fixed, equal, or ``"oof"``: non-negative, summing to one, and
    minimising the log loss of the blended out-of-fold probabilities of an
    internal (stratified) ``cv``. The log loss is a proper scoring rule, so the
    weights reward bases whose probabilities are right, not only ranked right;
    it is convex in the weights, so the optimum is found exactly. Unlike
    scikit-learn's ``VotingClassifier(voting="soft")``, which takes weights as
    given, the weights are learned on data the bases did not see.
    ``weights="oof-or-equal"`` keeps those weights only if fitting them pays
    when cross-validated over the internal folds, and averages the bases
    otherwise, as in :class:`LateFusionRegressor` (with the log loss).

    Parameters
    ----------
    estimators : list of (str, estimator or "drop")
        The bases; each must have ``predict_proba``.
    weights : array-like of shape (n_estimators,), "oof", "oof-or-equal" or None, default=None
        ``None`` averages with equal weights; fixed weights have one entry per
        estimator, dropped ones included. ``"oof-or-equal"`` needs an internal
        ``cv`` of at least two folds (not ``"prefit"``).
    cv : int, cross-validation splitter or "prefit", default=5
        Internal cross-validation for ``weights="oof"``; an int is a shuffled
        ``StratifiedKFold`` seeded by ``random_state``. ``"prefit"``: the bases
        are fitted already; ``fit`` only chooses ``"oof"`` weights on their
        probabilities for ``X`` (data they did not see).
    refit : bool or list of str, default=True
        As in :class:`LateFusionRegressor`: bases not refit on all the data
        predict with the mean probabilities of their internal fold models.
    random_state : int, RandomState or None, default=None
        Seeds the internal folds (and, for bases not refit, their fold models).
    n_jobs : int, default=None
        Base fits run at once (joblib; one torch thread each).
    verbose : int, default=0

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    weights_ : ndarray of shape (n_estimators,)
    estimators_ : list of estimators
    named_estimators_ : Bunch
    oof_predictions_ : ndarray of shape (n_samples, n_estimators, n_classes)
        Out-of-fold probabilities (``weights="oof"`` only); NaN where a sample was in no test fold.
    oof_scores_ : dict
        Log loss of each base's out-of-fold probabilities and of the blend (``"fusion"``).
    weight_choice_, weight_choice_scores_
        What ``weights="oof-or-equal"`` chose and the cross-validated log losses
        that chose it (that setting only).

    Examples
    --------
    >>> from lightgbm import LGBMClassifier
    >>> from sklearn.pipeline import make_pipeline
    >>> from skhybrid import MagpieFeaturizer, StructureGraphizer
    >>> from skhybrid.models import CGCNNClassifier
    >>> model = LateFusionClassifier([
    ...     ("gbm", make_pipeline(MagpieFeaturizer(), LGBMClassifier(verbose=-1, random_state=0))),
    ...     ("cgcnn", make_pipeline(StructureGraphizer(), CGCNNClassifier(random_state=0))),
    ... ], weights="oof", random_state=0)
    """

    _parameter_constraints: dict = {
        "estimators": [list],
        "weights": ["array-like", StrOptions({"oof", "oof-or-equal"}), None],
        "cv": [Interval(Integral, 2, None, closed="left"), "cv_object", StrOptions({"prefit"})],
        "refit": ["boolean", list, tuple],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
        "verbose": ["verbose"],
    }

    def __init__(self, estimators, *, weights=None, cv=5, refit=True, random_state=None, n_jobs=None, verbose=0):
        self.estimators = estimators
        self.weights = weights
        self.cv = cv
        self.refit = refit
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    def fit(self, X, y, sample_weight=None):
        """Choose the weights (for ``"oof"``), then fit every base on all of ``X``.

        Parameters
        ----------
        X : list, array or Series of samples (e.g. Structures), or a 2-D array
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Passed to every base and weighing the samples in the choice of weights.

        Returns
        -------
        self
        """
        owner = type(self).__name__
        names, bases, X, y, sample_weight = self._check_fit_input(X, y, sample_weight)
        y_index = np.searchsorted(self.classes_, y)
        prefit = isinstance(self.cv, str) and self.cv == "prefit"
        refit = self._refit_names(names)
        if len(refit) < len(names) and not isinstance(self.weights, str):
            raise ValueError(f"{owner}: refit={self.refit!r} predicts with the models of the internal folds, which "
                             "only weights='oof' fits; use weights='oof' or refit=True.")
        missing = [name for name, base in zip(names, bases) if not hasattr(base, "predict_proba")]
        if missing:
            raise ValueError(f"{owner}: estimator(s) {missing} have no predict_proba; soft voting needs "
                             "probabilities (use classifiers, e.g. LGBMClassifier or CGCNNClassifier).")
        self._check_prefit_choice(prefit)
        if prefit:
            self._use_prefit(names, bases)
            if isinstance(self.weights, str):
                self._choose_weights(names, self._base_probabilities(X), y_index, sample_weight)
            else:
                self.weights_ = self._check_weights()
            return self
        models = None
        if isinstance(self.weights, str):
            splits = check_splits(check_internal_cv(self.cv, len(y), self.random_state, owner, y=y), X, y, owner,
                                  require_partition=False)
            cv = check_cv(splits)  # drawn once: "oof-or-equal" needs the same folds
            fold_seeds = self._committee_seeds(cv, X, y) if len(refit) < len(names) else None
            oof, models = out_of_fold_predictions(names, bases, X, y, cv, owner, self.verbose,
                                                  require_partition=False, n_jobs=self.n_jobs,
                                                  fold_seeds=fold_seeds, return_models=True,
                                                  sample_weight=sample_weight, classes=self.classes_)
            fold = held_out_fold_index(splits, len(y))
            self._choose_weights(names, oof, y_index, sample_weight, fold)
        else:
            self.weights_ = self._check_weights()
        return self._refit(names, bases, X, y, refit, models, sample_weight)

    def _choose_weights(self, names, proba, y_index, sample_weight, fold=None):
        held_out = ~np.isnan(proba.reshape(len(proba), -1)).any(axis=1)
        weights = None if sample_weight is None else sample_weight[held_out]
        if self.weights == "oof-or-equal":
            P, t = proba[held_out], y_index[held_out]

            def fit(rows):
                return simplex_log_loss_weights(P[rows], t[rows], None if weights is None else weights[rows])

            self.weights_, self.weight_choice_, self.weight_choice_scores_ = fitted_or_equal(
                P, fold[held_out], fit, lambda blended: _log_loss(t, blended, weights))
        else:
            self.weights_ = simplex_log_loss_weights(proba[held_out], y_index[held_out], weights)
        self.oof_predictions_ = proba
        self.oof_scores_ = {name: _log_loss(y_index[held_out], proba[held_out, j], weights)
                            for j, name in enumerate(names)}
        blended = np.einsum("nmc,m->nc", proba[held_out], self.weights_)
        self.oof_scores_["fusion"] = _log_loss(y_index[held_out], blended, weights)

    def predict_proba(self, X):
        """The weighted average of the bases' class probabilities.

        Parameters
        ----------
        X : list, array or Series of samples (e.g. Structures)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        return np.einsum("nmc,m->nc", self._base_probabilities(X), np.asarray(self.weights_, dtype=float))
