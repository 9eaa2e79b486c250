"""StackingFusionClassifier: a meta-classifier on out-of-fold probabilities and composition features."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._bases import BaseFusionClassifier, check_internal_cv, out_of_fold_predictions
from ._stacking import StackingBase

__all__ = ["StackingFusionClassifier"]


class StackingFusionClassifier(StackingBase, BaseFusionClassifier):
    """Stacking of classifiers whose final classifier may also see composition features.

    The classifier counterpart of :class:`StackingFusionRegressor`: the final
    classifier learns on the bases' out-of-fold probabilities (of
    ``classes_[1]`` for two classes, of every class for more, as scikit-learn's
    ``StackingClassifier`` with ``stack_method="predict_proba"``) from an
    internal stratified ``cv``, plus optional ``passthrough_features`` computed
    from the raw Structures; the bases are then refit on all the data.

    Parameters
    ----------
    estimators : list of (str, estimator or "drop")
        The bases, each with ``predict_proba``, each taking raw Structures (usually a Pipeline).
    final_estimator : classifier, default=None
        ``None`` is ``make_pipeline(StandardScaler(), LogisticRegression())``.
    passthrough_features : transformer, default=None
        Maps the Structures to extra columns for the final classifier.
    cv : int, cross-validation splitter or "prefit", default=5
        An int is a shuffled ``StratifiedKFold`` seeded by ``random_state``; ``"prefit"`` uses the fitted
        bases' probabilities for ``X`` (data they did not see).
    random_state : int, RandomState or None, default=None
    n_jobs : int, default=None
        Internal fits run at once (joblib; one torch thread each).
    verbose : int, default=0

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    estimators_ : list of estimators
    named_estimators_ : Bunch
    final_estimator_ : classifier
    passthrough_features_ : transformer or None
    oof_predictions_ : ndarray of shape (n_samples, n_estimators, n_classes)
    feature_names_in_final_ : ndarray of str

    Examples
    --------
    >>> from lightgbm import LGBMClassifier
    >>> from sklearn.pipeline import make_pipeline
    >>> from skhybrid import MagpieFeaturizer, StructureGraphizer
    >>> from skhybrid.models import CGCNNClassifier
    >>> model = StackingFusionClassifier(
    ...     [("gbm", make_pipeline(MagpieFeaturizer(), LGBMClassifier(verbose=-1, random_state=0))),
    ...      ("cgcnn", make_pipeline(StructureGraphizer(), CGCNNClassifier(random_state=0)))],
    ...     random_state=0)
    """

    _parameter_constraints: dict = {
        "estimators": [list],
        "final_estimator": [HasMethods(["fit", "predict_proba"]), None],
        "passthrough_features": [HasMethods(["fit", "transform"]), None],
        "cv": [Interval(Integral, 2, None, closed="left"), "cv_object", StrOptions({"prefit"})],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
        "verbose": ["verbose"],
    }

    def __init__(self, estimators, final_estimator=None, *, passthrough_features=None, cv=5, random_state=None,
                 n_jobs=None, verbose=0):
        self.estimators = estimators
        self.final_estimator = final_estimator
        self.passthrough_features = passthrough_features
        self.cv = cv
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    def fit(self, X, y, sample_weight=None):
        """Out-of-fold probabilities, the final classifier on them, then the bases on all of ``X``.

        Parameters
        ----------
        X : list, array or Series of samples (e.g. Structures), or a 2-D array
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Passed to every base and to the final classifier, which must take it.

        Returns
        -------
        self
        """
        owner = type(self).__name__
        names, bases, X, y, sample_weight = self._check_fit_input(X, y, sample_weight)
        missing = [name for name, base in zip(names, bases) if not hasattr(base, "predict_proba")]
        if missing:
            raise ValueError(f"{owner}: estimator(s) {missing} have no predict_proba; stacking classifiers "
                             "learns on probabilities.")
        if isinstance(self.cv, str) and self.cv == "prefit":
            self._use_prefit(names, bases)
            self.oof_predictions_ = self._base_probabilities(X)
            self._fit_final(names, X, y, sample_weight)
            return self
        cv = check_internal_cv(self.cv, len(y), self.random_state, owner, y=y)
        self.oof_predictions_ = out_of_fold_predictions(names, bases, X, y, cv, owner, self.verbose,
                                                        n_jobs=self.n_jobs, sample_weight=sample_weight,
                                                        classes=self.classes_)
        self._fit_final(names, X, y, sample_weight)
        self._refit_bases(names, bases, X, y, n_jobs=self.n_jobs, sample_weight=sample_weight)
        return self

    def _stack(self, proba) -> np.ndarray:
        return proba[:, :, 1] if len(self.classes_) == 2 else proba.reshape(len(proba), -1)

    def _fit_final(self, names, X, y, sample_weight=None):
        names_final = list(names) if len(self.classes_) == 2 else \
            [f"{name}_{label}" for name in names for label in self.classes_]
        self._fit_final_estimator(self._stack(self.oof_predictions_), names_final, X, y, sample_weight,
                                  default=lambda: make_pipeline(StandardScaler(), LogisticRegression()))

    def _base_columns(self, X) -> np.ndarray:
        return self._stack(self._base_probabilities(X))

    def predict_proba(self, X):
        """The final classifier's probabilities, columns in ``classes_`` order.

        Parameters
        ----------
        X : list, array or Series of samples (e.g. Structures)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self, "final_estimator_")
        from ._bases import aligned_proba

        return aligned_proba(self.final_estimator_, self.transform(X), self.classes_)

    def decision_function(self, X):
        """The final classifier's decision function, when it has one.

        Parameters
        ----------
        X : list, array or Series of samples (e.g. Structures)

        Returns
        -------
        ndarray
        """
        check_is_fitted(self, "final_estimator_")
        return self.final_estimator_.decision_function(self.transform(X))
