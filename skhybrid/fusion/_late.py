"""LateFusionRegressor: a weighted average of models that each take raw Structures."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.model_selection import check_cv
from sklearn.utils import Bunch, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions

from ._bases import (
    BaseFusion,
    FoldModels,
    check_internal_cv,
    check_splits,
    out_of_fold_predictions,
    held_out_fold_index,
    score,
)
from ._weights import blend, select_oof_or_equal, simplex_weights

__all__ = ["LateFusionRegressor"]


class WeightedBlend:
    """What the two late fusions share: fixed weights, which bases are refit, and the committees of the others."""

    def _check_weights(self):
        """Fixed weights of the bases that are not dropped, normalised to sum to one."""
        kept = [not (isinstance(b, str) and b == "drop") for _, b in self.estimators]
        if self.weights is None:
            return np.full(sum(kept), 1 / sum(kept))
        weights = np.asarray(self.weights, dtype=float).ravel()
        if len(weights) != len(kept):
            raise ValueError(f"{type(self).__name__}: weights has {len(weights)} entries but there are "
                             f"{len(kept)} estimators.")
        weights = weights[kept]
        if not np.isfinite(weights).all() or (weights < 0).any() or weights.sum() == 0:
            raise ValueError(f"{type(self).__name__}: weights must be finite, non-negative and not all zero "
                             f"(over the estimators not dropped), got {weights.tolist()}.")
        return weights / weights.sum()

    def _check_prefit_choice(self, prefit: bool):
        if prefit and self.weights == "oof-or-equal":
            raise ValueError(f"{type(self).__name__}: weights='oof-or-equal' cross-validates the choice of weights "
                             "over the internal folds, which cv='prefit' does not have; use weights='oof' with "
                             "cv='prefit', or give an internal cv.")

    def _refit_names(self, names) -> set:
        if isinstance(self.refit, bool):
            return set(names) if self.refit else set()
        unknown = sorted(set(self.refit) - {name for name, _ in self.estimators})
        if unknown:
            raise ValueError(f"{type(self).__name__}: refit names {unknown}, which are not estimators; choose "
                             f"among {list(names)}.")
        return set(self.refit) & set(names)

    def _committee_seeds(self, cv, X, y) -> list:
        """Seeds of the internal fold models of a committee: ``random_state + k`` for fold ``k``."""
        n_splits = cv.get_n_splits(X, y)
        start = self.random_state if isinstance(self.random_state, Integral) else \
            check_random_state(self.random_state).randint(2**31 - 1 - n_splits)
        return [int(start) + k for k in range(n_splits)]

    def _refit(self, names, bases, X, y, refit, models, sample_weight):
        """Refit the bases named in ``refit`` on everything; the others keep their fold models as committees."""
        if len(refit) == len(names):
            self._refit_bases(names, bases, X, y, n_jobs=self.n_jobs, sample_weight=sample_weight)
            return self
        final = [FoldModels(fold_models, getattr(self, "classes_", None)) for fold_models in models]
        chosen = [j for j, name in enumerate(names) if name in refit]
        if chosen:
            self._refit_bases([names[j] for j in chosen], [bases[j] for j in chosen], X, y, n_jobs=self.n_jobs,
                              sample_weight=sample_weight)
            for j, estimator in zip(chosen, self.estimators_):
                final[j] = estimator
        self.estimators_ = final
        self.named_estimators_ = Bunch(**dict(zip(names, self.estimators_)))
        return self


class LateFusionRegressor(WeightedBlend, BaseFusion):
    """Late fusion: a convex combination of models that each take raw Structures.

    Each base is a ``(name, estimator)`` pair, typically a Pipeline from
    Structures to a prediction (``MagpieFeaturizer`` + random forest,
    ``StructureGraphizer`` + CGCNN); ``X`` reaches every base untouched, so
    ordinary estimators on a 2-D array work too, and a base may be ``"drop"``
    (left out, as in scikit-learn's ``VotingRegressor``). The prediction is
    ``sum_j weights_[j] * base_j.predict(X)``, with weights that are either

    - fixed (``weights=[0.3, 0.7]``, normalised to sum to one): a plain
      parameter, so ``GridSearchCV`` or Optuna can tune it; or
    - ``"oof"``: chosen on out-of-fold predictions of an internal ``cv``:
      non-negative, summing to one and minimising ``metric`` (the MAE by
      default, solved exactly as a linear programme). The bases are then refit
      on all the data. Weights chosen on the bases' own training-set
      predictions would favour whichever model overfits most; out-of-fold
      predictions are what each base does on data it has not seen; or
    - ``"oof-or-equal"``: the ``"oof"`` weights or equal weights, whichever
      scores better when the fitting of the weights is itself cross-validated
      over the internal folds (weights fitted on the other folds' held-out
      predictions, scored on this fold's); for few held-out samples, where
      fitted weights are noisy (see
      :func:`~skhybrid.fusion._weights.select_oof_or_equal`).

    Parameters
    ----------
    estimators : list of (str, estimator or "drop")
        The bases; names must be unique and contain no ``"__"``. Their
        parameters are reachable as ``<name>__<param>``.
    weights : array-like of shape (n_estimators,), "oof", "oof-or-equal" or None, default=None
        ``None`` averages the bases with equal weights. Fixed weights have one
        entry per estimator, dropped ones included (their weight is ignored).
        ``"oof-or-equal"`` needs an internal ``cv`` of at least two folds (not
        ``"prefit"``).
    metric : {"mae", "mse"} or callable, default="mae"
        What ``"oof"`` weights minimise; a callable is ``metric(y_true, y_pred)``,
        lower is better. Also used for ``oof_scores_``.
    cv : int, cross-validation splitter or "prefit", default=5
        Internal cross-validation for ``weights="oof"``; an int is a shuffled
        ``KFold`` seeded by ``random_state``. Each sample must be in at most
        one test fold; the weights are chosen on the samples that are in one
        (all of them for a K-fold; a few slices for :class:`DisjointHoldouts`).
        ``"prefit"``: the bases are fitted already and used as they are;
        ``fit(X, y)`` then only chooses ``"oof"`` weights on their predictions
        of ``X``, which must be data they did not see (a validation set).
    refit : bool or list of str, default=True
        Which bases are refit on all the training data after the weights are
        chosen: all (``True``), none (``False``) or those named. A base that
        is not refit keeps the models fitted on the internal folds and
        predicts with their mean (a cross-validation committee): no model is
        trained twice, which for an expensive network halves the cost, while a
        cheap base is best refit on everything (``refit=["descriptors"]``).
        Fold model ``k`` of a committee has every ``random_state`` set to
        ``random_state + k`` (a seed ensemble as well as a data one). Anything
        but ``True`` needs ``weights="oof"`` (or ``"oof-or-equal"``).
    random_state : int, RandomState or None, default=None
        Seeds the internal folds (the bases keep their own ``random_state``,
        except with ``refit=False``).
    n_jobs : int, default=None
        Base fits run at once (joblib processes, one torch thread each);
        ``None`` means 1.
    verbose : int, default=0
        1 prints the time the internal fits took.

    Attributes
    ----------
    weights_ : ndarray of shape (n_estimators,)
    estimators_ : list of estimators
        The bases refit on all the training data; with ``refit=False``, each
        base's fold models as a committee (``estimators_[j].estimators_``).
    named_estimators_ : Bunch
    oof_predictions_ : ndarray of shape (n_samples, n_estimators[, n_targets])
        Out-of-fold predictions (``weights="oof"`` only); NaN for samples in
        no internal test fold.
    oof_scores_ : dict
        ``metric`` of each base's out-of-fold predictions, and of the blend
        under ``"fusion"`` (``weights="oof"`` only), on the held-out samples.
    weight_choice_ : {"fitted", "equal"}
        What ``weights="oof-or-equal"`` chose (that setting only).
    weight_choice_scores_ : dict
        The cross-validated ``metric`` of ``"fitted"`` and ``"equal"`` weights
        on the held-out samples, which made the choice (that setting only).

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
        "weights": ["array-like", StrOptions({"oof", "oof-or-equal"}), None],
        "metric": [StrOptions({"mae", "mse"}), callable],
        "cv": [Interval(Integral, 2, None, closed="left"), "cv_object", StrOptions({"prefit"})],
        "refit": ["boolean", list, tuple],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
        "verbose": ["verbose"],
    }

    def __init__(self, estimators, *, weights=None, metric="mae", cv=5, refit=True, random_state=None, n_jobs=None,
                 verbose=0):
        self.estimators = estimators
        self.weights = weights
        self.metric = metric
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
            What the bases take.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
        sample_weight : array-like of shape (n_samples,), default=None
            Passed to every base (a Pipeline's last step), which must take it,
            and weighing the samples in the choice of ``"oof"`` weights.

        Returns
        -------
        self
        """
        owner = type(self).__name__
        names, bases, X, y, sample_weight = self._check_fit_input(X, y, sample_weight)
        self.n_targets_ = 1 if y.ndim == 1 else y.shape[1]
        prefit = isinstance(self.cv, str) and self.cv == "prefit"
        refit = self._refit_names(names)
        if len(refit) < len(names) and not isinstance(self.weights, str):
            raise ValueError(f"{owner}: refit={self.refit!r} predicts with the models of the internal folds, which "
                             "only weights='oof' fits; use weights='oof' or refit=True.")
        self._check_prefit_choice(prefit)
        if prefit:
            self._use_prefit(names, bases)
            if isinstance(self.weights, str):
                predictions = self._base_predictions(X)
                self.weights_ = simplex_weights(predictions, y, self.metric, sample_weight)
                self.oof_predictions_ = predictions
                self.oof_scores_ = {name: score(self.metric, y, predictions[:, j]) for j, name in enumerate(names)}
                self.oof_scores_["fusion"] = score(self.metric, y, blend(predictions, self.weights_))
            else:
                self.weights_ = self._check_weights()
            return self
        models = None
        if isinstance(self.weights, str):
            splits = check_splits(check_internal_cv(self.cv, len(y), self.random_state, owner), X, y, owner,
                                  require_partition=False)
            cv = check_cv(splits)  # drawn once: the choice of weights below needs the same folds
            fold_seeds = self._committee_seeds(cv, X, y) if len(refit) < len(names) else None
            oof, models = out_of_fold_predictions(names, bases, X, y, cv, owner, self.verbose,
                                                  require_partition=False, n_jobs=self.n_jobs,
                                                  fold_seeds=fold_seeds, return_models=True,
                                                  sample_weight=sample_weight)
            held_out = ~np.isnan(oof.reshape(len(oof), -1)).any(axis=1)
            held_out_weight = None if sample_weight is None else sample_weight[held_out]
            if self.weights == "oof-or-equal":
                fold = held_out_fold_index(splits, len(y))
                self.weights_, self.weight_choice_, self.weight_choice_scores_ = select_oof_or_equal(
                    oof[held_out], y[held_out], fold[held_out], self.metric, held_out_weight)
            else:
                self.weights_ = simplex_weights(oof[held_out], y[held_out], self.metric, held_out_weight)
            self.oof_predictions_ = oof
            self.oof_scores_ = {name: score(self.metric, y[held_out], oof[held_out, j])
                                for j, name in enumerate(names)}
            self.oof_scores_["fusion"] = score(self.metric, y[held_out], blend(oof[held_out], self.weights_))
        else:
            self.weights_ = self._check_weights()
        return self._refit(names, bases, X, y, refit, models, sample_weight)

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

    def predict(self, X, return_std=False) -> np.ndarray:
        """The weighted average of the bases' predictions, and optionally how much they disagree.

        Parameters
        ----------
        X : list, array or Series of samples (e.g. Structures)
            What the bases' pipelines take.
        return_std : bool, default=False
            Also return the weighted standard deviation of the bases' predictions around the blend,
            ``sqrt(sum_j weights_[j] * (base_j - blend)**2)``, per target: a measure of disagreement
            (0 where one base carries all the weight), not a calibrated error bar; see
            :class:`skhybrid.uncertainty.ConformalRegressor` (``score="std"``) for intervals that hold.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_targets)
        y_std : ndarray of the same shape
            Only with ``return_std=True``.
        """
        predictions = self.transform(X)
        mean = blend(predictions, self.weights_)
        if not return_std:
            return mean
        weights = np.asarray(self.weights_, dtype=float).reshape(1, -1, *([1] * (predictions.ndim - 2)))
        return mean, np.sqrt((weights * (predictions - mean[:, None]) ** 2).sum(axis=1))
