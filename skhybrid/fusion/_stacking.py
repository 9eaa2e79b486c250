"""StackingFusionRegressor: a meta-model on out-of-fold predictions and composition features."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.base import clone
from sklearn.linear_model import RidgeCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import Bunch
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._bases import (
    BaseFusion,
    check_internal_cv,
    check_samples,
    out_of_fold_predictions,
    prepare_targets,
    sample_weight_fit_params,
)

__all__ = ["StackingFusionRegressor"]


def _default_final():
    return make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-3, 3, 13)))


def _flatten(predictions: np.ndarray) -> np.ndarray:
    return predictions.reshape(len(predictions), -1)


class StackingBase:
    """What the two stackings share: the final estimator on base outputs and passthrough features."""

    def _fit_final_estimator(self, base_columns, names_final, X, y, sample_weight, default):
        columns, names_final = [base_columns], list(names_final)
        self.passthrough_features_ = None
        if self.passthrough_features is not None:
            self.passthrough_features_ = clone(self.passthrough_features).fit(X, y)
            features = np.asarray(self.passthrough_features_.transform(X), dtype=float)
            columns.append(features)
            if hasattr(self.passthrough_features_, "get_feature_names_out"):
                names_final += list(self.passthrough_features_.get_feature_names_out())
            else:
                names_final += [f"feature{i}" for i in range(features.shape[1])]
        self.feature_names_in_final_ = np.asarray(names_final, dtype=object)
        final = default() if self.final_estimator is None else self.final_estimator
        fit_params = sample_weight_fit_params("final_estimator", final, sample_weight, type(self).__name__)
        self.final_estimator_ = clone(final).fit(np.hstack(columns), y, **fit_params)

    def transform(self, X) -> np.ndarray:
        """The final estimator's input for ``X``: the bases' outputs, then the passthrough features.

        Parameters
        ----------
        X : list, array or Series of samples (e.g. Structures)
            What the bases' pipelines take.

        Returns
        -------
        features : ndarray of shape (n_samples, n_features_final)
            Columns named by ``feature_names_in_final_``.
        """
        check_is_fitted(self, "final_estimator_")
        columns = [self._base_columns(X)]
        if self.passthrough_features_ is not None:
            columns.append(np.asarray(self.passthrough_features_.transform(X), dtype=float))
        return np.hstack(columns)

    def get_feature_names_out(self, input_features=None):
        """Names of ``transform``'s columns: the bases, then the passthrough features.

        Parameters
        ----------
        input_features : None
            Ignored.

        Returns
        -------
        ndarray of str
        """
        check_is_fitted(self, "feature_names_in_final_")
        return np.asarray(self.feature_names_in_final_, dtype=object)


class StackingFusionRegressor(StackingBase, BaseFusion):
    """Stacking whose final estimator also sees composition features.

    Like scikit-learn's ``StackingRegressor``, the final estimator is trained
    on out-of-fold predictions of the bases (an internal ``cv``), and the
    bases are refit on all the data. Unlike it, the final estimator can also
    receive features computed from the raw Structures:
    ``passthrough_features=MagpieFeaturizer()`` lets it learn *where* (in
    composition space) each base is to be trusted. ``StackingRegressor(passthrough=True)``
    cannot do this on Structures: it would pass the Structures themselves.

    Parameters
    ----------
    estimators : list of (str, estimator)
        The bases, each taking raw Structures (usually a Pipeline).
    final_estimator : estimator, default=None
        Trained on ``[base predictions, passthrough features]``; ``None`` is
        ``make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-3, 3, 13)))``.
    passthrough_features : transformer, default=None
        Maps the Structures to extra columns for the final estimator
        (fitted on the training Structures); ``None`` passes none.
    cv : int, cross-validation splitter or "prefit", default=5
        Internal cross-validation for the out-of-fold predictions; an int is a
        shuffled ``KFold`` seeded by ``random_state``. ``"prefit"``: the bases
        are fitted already; the final estimator learns on their predictions of
        the ``X`` given to ``fit``, which should be data they did not see.
    random_state : int, RandomState or None, default=None
        Seeds the internal folds.
    verbose : int, default=0

    Attributes
    ----------
    estimators_ : list of estimators
        The bases refit on all the training data.
    named_estimators_ : Bunch
    final_estimator_ : estimator
    passthrough_features_ : transformer or None
    oof_predictions_ : ndarray of shape (n_samples, n_estimators[, n_targets])
    feature_names_in_final_ : ndarray of str
        Column names of the final estimator's input (base names, then features).

    Examples
    --------
    >>> from sklearn.ensemble import RandomForestRegressor
    >>> from sklearn.pipeline import make_pipeline
    >>> from skhybrid import MagpieFeaturizer
    >>> from skhybrid.featurizers import StructureGraphizer
    >>> from skhybrid.models import CGCNNRegressor
    >>> model = StackingFusionRegressor(
    ...     [("rf", make_pipeline(MagpieFeaturizer(), RandomForestRegressor(random_state=0))),
    ...      ("cgcnn", make_pipeline(StructureGraphizer(), CGCNNRegressor(random_state=0)))],
    ...     final_estimator=RandomForestRegressor(random_state=0),
    ...     passthrough_features=MagpieFeaturizer(), random_state=0)
    """

    _parameter_constraints: dict = {
        "estimators": [list],
        "final_estimator": [HasMethods(["fit", "predict"]), None],
        "passthrough_features": [HasMethods(["fit", "transform"]), None],
        "cv": [Interval(Integral, 2, None, closed="left"), "cv_object", StrOptions({"prefit"})],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(self, estimators, final_estimator=None, *, passthrough_features=None, cv=5, random_state=None,
                 verbose=0):
        self.estimators = estimators
        self.final_estimator = final_estimator
        self.passthrough_features = passthrough_features
        self.cv = cv
        self.random_state = random_state
        self.verbose = verbose

    def fit(self, X, y, sample_weight=None):
        """Out-of-fold base predictions, the final estimator on them, then the bases on all of ``X``.

        Parameters
        ----------
        X : list, array or Series of samples (e.g. Structures), or a 2-D array
            What the bases take.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Passed to every base (a Pipeline's last step) and to the final estimator, which must take it.

        Returns
        -------
        self : StackingFusionRegressor
        """
        owner = type(self).__name__
        names, bases, X, y, sample_weight = self._check_fit_input(X, y, sample_weight)
        self.n_targets_ = 1 if y.ndim == 1 else y.shape[1]
        if isinstance(self.cv, str) and self.cv == "prefit":
            # as scikit-learn's StackingRegressor(cv="prefit"): the final model learns on the fitted bases'
            # predictions of X, which should be data the bases did not see
            self._use_prefit(names, bases)
            self.oof_predictions_ = self._base_predictions(X)
            self._fit_final(names, X, y, sample_weight)
            return self
        cv = check_internal_cv(self.cv, len(y), self.random_state, owner)
        self.oof_predictions_ = out_of_fold_predictions(names, bases, X, y, cv, owner, self.verbose,
                                                        sample_weight=sample_weight)
        self._fit_final(names, X, y, sample_weight)
        self._refit_bases(names, bases, X, y, sample_weight=sample_weight)
        return self

    @classmethod
    def from_late_fusion(cls, late_fusion, X, y, final_estimator=None, *, passthrough_features=None):
        """Stack on a fitted ``LateFusionRegressor(weights="oof")`` without refitting its bases.

        Its out-of-fold predictions and refit bases are exactly what stacking
        with the same ``estimators``, ``cv`` and ``random_state`` would
        compute, so only the final estimator is trained: the result equals
        ``StackingFusionRegressor(late_fusion.estimators, final_estimator,
        passthrough_features=..., cv=late_fusion.cv, random_state=late_fusion.random_state).fit(X, y)``
        at a fraction of the cost.

        Parameters
        ----------
        late_fusion : fitted LateFusionRegressor with ``weights="oof"``
        X, y : the data ``late_fusion`` was fitted on
        final_estimator, passthrough_features : as in the constructor

        Returns
        -------
        StackingFusionRegressor, fitted
        """
        check_is_fitted(late_fusion, "estimators_")
        if not hasattr(late_fusion, "oof_predictions_"):
            raise ValueError("from_late_fusion needs a LateFusionRegressor fitted with weights='oof'.")
        n_samples = check_samples(X, cls.__name__)
        y = prepare_targets(y, n_samples, cls.__name__)
        if n_samples != len(late_fusion.oof_predictions_):
            raise ValueError(f"X has {n_samples} samples but the late-fusion model was fitted on "
                             f"{len(late_fusion.oof_predictions_)}; pass the same training data.")
        stack = cls(late_fusion.estimators, final_estimator, passthrough_features=passthrough_features,
                    cv=late_fusion.cv, random_state=late_fusion.random_state, verbose=late_fusion.verbose)
        stack._validate_params()
        stack.oof_predictions_ = late_fusion.oof_predictions_
        names = [name for name, _ in late_fusion.estimators]
        stack._fit_final(names, X, y)
        stack.estimators_ = list(late_fusion.estimators_)
        stack.named_estimators_ = Bunch(**dict(zip(names, stack.estimators_)))
        return stack

    def _fit_final(self, names, X, y, sample_weight=None):
        names_final = [f"{name}_{k}" for name in names for k in range(self.oof_predictions_.shape[2])] \
            if self.oof_predictions_.ndim == 3 else list(names)
        self._fit_final_estimator(_flatten(self.oof_predictions_), names_final, X, y, sample_weight,
                                  default=_default_final)

    def _base_columns(self, X) -> np.ndarray:
        return _flatten(self._base_predictions(X))

    def predict(self, X) -> np.ndarray:
        """The final estimator's prediction from the refit bases (and the passthrough features).

        Parameters
        ----------
        X : list, array or Series of samples (e.g. Structures)
            What the bases' pipelines take.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_targets)
        """
        check_is_fitted(self, "final_estimator_")
        return self.final_estimator_.predict(self.transform(X))
