"""A target transform chosen by cross-validation on the training data."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.compose import TransformedTargetRegressor
from sklearn.model_selection import GridSearchCV, KFold, check_cv
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.validation import check_is_fitted, column_or_1d

__all__ = ["AutoTargetTransformRegressor"]


def _log_transformer():
    return FunctionTransformer(np.log, np.exp, check_inverse=False)


#: the named target transforms and when they apply
TARGET_TRANSFORMS = {
    "identity": (lambda y: True, lambda: None),
    "log": (lambda y: bool(np.all(y > 0)), _log_transformer),
}


class AutoTargetTransformRegressor(RegressorMixin, BaseEstimator):
    """scikit-learn's ``TransformedTargetRegressor`` with the transform (and a few settings) chosen on the training data.

    A heavy-tailed target (an exfoliation energy, a phonon frequency) may be
    learned better on a log scale, or not: measured on Matbench, a log target
    helps a boosted-tree model on ``matbench_jdft2d`` by about 14% and hurts it
    on ``matbench_phonons`` by about 5%. This estimator decides per training
    set: each applicable transform (``"log"`` only when every target is
    positive) is scored by an internal cross-validation of
    ``TransformedTargetRegressor(regressor, transformer)`` on the data passed to
    ``fit`` (never on test data), the best by ``scoring`` is refit on all of it.
    The search is scikit-learn's ``GridSearchCV`` (kept as ``search_``).

    ``param_grid`` adds settings of the regressor to the same search, such as
    the training objective: measured on Matbench, LightGBM's absolute-error
    objective helps on ``matbench_jdft2d`` (whose errors a few outliers
    dominate) and hurts on ``matbench_phonons``, so ``gbm-descriptors`` lets the
    training data decide, as for the transform.

    Parameters
    ----------
    regressor : estimator
        The model trained on the transformed target.
    transforms : sequence of {"identity", "log"}, default=("identity", "log")
        Candidate transforms, in order of preference on a tie.
    param_grid : dict, default=None
        Candidate values of regressor parameters, ``{name: [values]}``
        (e.g. ``{"objective": ["regression", "l1"]}``), searched with every
        transform.
    cv : int or cross-validation splitter, default=5
        An int is a shuffled ``KFold`` seeded by ``random_state``.
    scoring : str or callable, default="neg_mean_absolute_error"
        scikit-learn scoring of the candidates (greater is better).
    random_state : int, RandomState or None, default=None
        Seeds the internal folds.
    n_jobs : int, default=None
        Parallel fits of the search (joblib semantics).

    Attributes
    ----------
    transform_ : str
        The chosen transform.
    best_params_ : dict
        The chosen values of ``param_grid`` (empty without one).
    cv_scores_ : dict
        Mean internal-CV score of every transform that applied (at its best
        ``param_grid`` values).
    regressor_ : TransformedTargetRegressor
        The winner, refit on all the training data.
    search_ : GridSearchCV
        The search, with its ``cv_results_``.
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> from skhybrid.models import AutoTargetTransformRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(80, 3))
    >>> y = np.exp(X @ [1.0, 0.5, -0.5])            # linear on a log scale
    >>> model = AutoTargetTransformRegressor(LinearRegression(), random_state=0).fit(X, y)
    >>> model.transform_
    'log'
    """

    _parameter_constraints: dict = {
        "regressor": [HasMethods(["fit", "predict"])],
        "transforms": [list, tuple],
        "param_grid": [dict, None],
        "cv": [Interval(Integral, 2, None, closed="left"), "cv_object"],
        "scoring": [str, callable],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
    }

    def __init__(self, regressor, *, transforms=("identity", "log"), param_grid=None, cv=5,
                 scoring="neg_mean_absolute_error", random_state=None, n_jobs=None):
        self.regressor = regressor
        self.transforms = transforms
        self.param_grid = param_grid
        self.cv = cv
        self.scoring = scoring
        self.random_state = random_state
        self.n_jobs = n_jobs

    def fit(self, X, y, **fit_params):
        """Score every applicable transform by internal CV, then refit the best on all of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        **fit_params : dict
            Passed to the regressor's ``fit`` (e.g. ``sample_weight``).

        Returns
        -------
        self
        """
        self._validate_params()
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None.")
        y = column_or_1d(y, warn=True).astype(float)
        unknown = [name for name in self.transforms if name not in TARGET_TRANSFORMS]
        if unknown or not self.transforms:
            raise ValueError(f"transforms must be a non-empty list of {sorted(TARGET_TRANSFORMS)}, got "
                             f"{list(self.transforms)}.")
        names = [name for name in self.transforms if TARGET_TRANSFORMS[name][0](y)]
        if not names:
            raise ValueError(f"None of the transforms {list(self.transforms)} applies to this target "
                             "('log' needs every target > 0); add 'identity'.")
        cv = self.cv
        if isinstance(cv, Integral):
            cv = KFold(int(cv), shuffle=True, random_state=self.random_state)
        else:
            cv = check_cv(cv)
        base = TransformedTargetRegressor(regressor=clone(self.regressor))
        transformers = [TARGET_TRANSFORMS[name][1]() for name in names]
        grid = {"transformer": transformers,
                **{f"regressor__{key}": list(values) for key, values in (self.param_grid or {}).items()}}
        self.search_ = GridSearchCV(base, grid, scoring=self.scoring, cv=cv, n_jobs=self.n_jobs, refit=True,
                                    error_score="raise")
        self.search_.fit(X, y, **fit_params)
        results = self.search_.cv_results_
        by_transform = {}
        for candidate, score in zip(results["params"], results["mean_test_score"]):
            name = names[[t is candidate["transformer"] for t in transformers].index(True)]
            by_transform[name] = max(by_transform.get(name, -np.inf), float(score))
        self.cv_scores_ = by_transform
        best = results["params"][int(self.search_.best_index_)]
        self.transform_ = names[[t is best["transformer"] for t in transformers].index(True)]
        self.best_params_ = {key[len("regressor__"):]: value for key, value in best.items() if key != "transformer"}
        self.regressor_ = self.search_.best_estimator_
        if hasattr(self.regressor_, "n_features_in_"):
            self.n_features_in_ = self.regressor_.n_features_in_
        return self

    def predict(self, X):
        """Predict with the chosen transform, in the target's units.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        check_is_fitted(self, "regressor_")
        return self.regressor_.predict(X)

    def __sklearn_tags__(self):
        from sklearn.utils import get_tags

        tags = super().__sklearn_tags__()
        tags.input_tags = get_tags(self.regressor).input_tags  # X goes to the regressor as it is
        tags.target_tags.required = True
        return tags
