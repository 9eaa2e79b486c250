"""SeedEnsembleRegressor: the same model trained with several seeds, averaged."""

from __future__ import annotations

from functools import partial
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, RegressorMixin, TransformerMixin, clone
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.validation import check_is_fitted

from ..utils import fit_all, with_random_state

__all__ = ["SeedEnsembleRegressor"]


def _fit_member(estimator, X, y, index, fit_params):
    try:
        return estimator.fit(X, y, **fit_params)
    except Exception as error:  # name the member: with n_jobs the traceback comes from a worker
        new_type = type(error) if isinstance(error, (ValueError, TypeError)) else RuntimeError
        raise new_type(f"SeedEnsembleRegressor: member {index} failed: {type(error).__name__}: {error}") from error


class SeedEnsembleRegressor(MetaEstimatorMixin, TransformerMixin, RegressorMixin, BaseEstimator):
    """Fit ``n_estimators`` clones of a model that differ only in their seeds; predict their mean.

    A graph network's test error moves by 10-20% from one seed to the next on
    a thousand crystals (measured on ``matbench_phonons``: single seeds of the
    same MEGNet from 38 to 48 cm^-1); the mean of a few seeds is better than a
    typical one and far steadier. Every ``random_state`` inside the estimator
    (nested ones included, e.g. a Pipeline's ``gnn__random_state``) is set to
    the member's seed, so members differ in initial weights, shuffling and
    dropout and in nothing else. Boosted trees and forests gain little from
    this; networks gain the most.

    Members train in parallel with ``n_jobs`` (joblib processes, one torch
    thread each, see :func:`skhybrid.utils.fit_all`). ``predict(X,
    return_std=True)`` also returns the members' spread, the scikit-learn
    convention of ``GaussianProcessRegressor``.

    Parameters
    ----------
    estimator : estimator
        The model (e.g. a Pipeline of ``StructureGraphizer`` and ``MEGNetRegressor``).
    n_estimators : int, default=5
    random_state : int, RandomState or None, default=None
        An int gives member ``i`` the seed ``random_state + i``, so the
        member of seed 0 equals the estimator fitted alone with
        ``random_state=0``; otherwise seeds are drawn from it.
    n_jobs : int, default=None
        Members trained at once (joblib semantics; ``None`` means 1).

    Attributes
    ----------
    estimators_ : list of estimators
        The fitted members.
    seeds_ : list of int
        Their seeds.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.neural_network import MLPRegressor
    >>> from skhybrid.models import SeedEnsembleRegressor
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(60, 3)), rng.normal(size=60)
    >>> ensemble = SeedEnsembleRegressor(MLPRegressor(max_iter=50), n_estimators=3, random_state=0)
    >>> mean, std = ensemble.fit(X, y).predict(X[:2], return_std=True)
    >>> ensemble.seeds_, mean.shape, bool((std > 0).all())
    ([0, 1, 2], (2,), True)
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict"])],
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
    }

    def __init__(self, estimator, n_estimators=5, *, random_state=None, n_jobs=None):
        self.estimator = estimator
        self.n_estimators = n_estimators
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _seeds(self) -> list[int]:
        if isinstance(self.random_state, Integral):
            return [int(self.random_state) + i for i in range(self.n_estimators)]
        rng = check_random_state(self.random_state)
        return [int(s) for s in rng.randint(np.iinfo(np.int32).max, size=self.n_estimators)]

    def fit(self, X, y, **fit_params):
        """Fit every member on all of ``X``.

        Parameters
        ----------
        X : what the estimator takes (a list of Structures for a Pipeline from Structures)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
        **fit_params : dict
            Passed to every member's ``fit``.

        Returns
        -------
        self
        """
        self._validate_params()
        self.seeds_ = self._seeds()
        fits = [partial(_fit_member, with_random_state(self.estimator, seed), X, y, i, fit_params)
                for i, seed in enumerate(self.seeds_)]
        self.estimators_ = fit_all(fits, n_jobs=self.n_jobs, desc=f"{type(self).__name__} members", unit="member")
        if hasattr(self.estimators_[0], "n_features_in_"):
            self.n_features_in_ = self.estimators_[0].n_features_in_
        return self

    def transform(self, X) -> np.ndarray:
        """Every member's predictions.

        Parameters
        ----------
        X : what the estimator takes

        Returns
        -------
        predictions : ndarray of shape (n_samples, n_estimators) or (n_samples, n_estimators, n_targets)
        """
        check_is_fitted(self, "estimators_")
        return np.stack([np.asarray(member.predict(X), dtype=float) for member in self.estimators_], axis=1)

    def get_feature_names_out(self, input_features=None):
        """Names of ``transform``'s columns: ``member0``, ``member1``, ...

        Parameters
        ----------
        input_features : None
            Ignored.

        Returns
        -------
        ndarray of str
        """
        check_is_fitted(self, "estimators_")
        return np.asarray([f"member{k}" for k in range(len(self.estimators_))], dtype=object)

    def predict(self, X, return_std=False):
        """The members' mean prediction, and optionally their standard deviation.

        Parameters
        ----------
        X : what the estimator takes
        return_std : bool, default=False
            Also return the standard deviation over members (0 for one member).

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_targets)
        y_std : ndarray of the same shape
            Only with ``return_std=True``.
        """
        predictions = self.transform(X)
        mean = predictions.mean(axis=1)
        if return_std:
            return mean, predictions.std(axis=1)
        return mean

    def __sklearn_tags__(self):
        from sklearn.utils import get_tags

        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.input_tags = inner.input_tags
        tags.target_tags.multi_output = inner.target_tags.multi_output
        tags.target_tags.required = True
        return tags
