"""AuxiliaryTargetRegressor: train a multi-task model on extra targets, predict only the asked one."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, RegressorMixin, clone
from sklearn.utils._param_validation import HasMethods
from sklearn.utils.validation import check_is_fitted

from ..utils import format_indices

__all__ = ["AuxiliaryTargetRegressor"]


def sample_key(sample) -> bytes:
    """What identifies a sample in the auxiliary table: a Structure's content digest, else joblib's hash."""
    from pymatgen.core import Structure

    if isinstance(sample, Structure):
        from ..featurizers._graph_cache import structure_fingerprint

        return structure_fingerprint(sample)
    import joblib

    return joblib.hash(sample).encode()


class AuxiliaryTargetRegressor(MetaEstimatorMixin, RegressorMixin, BaseEstimator):
    """Fit a multi-task model on the target and auxiliary targets; predict the target alone.

    A network that learns a related property beside the one asked can learn
    the asked one better (measured on NOMAD 2018: a MEGNet trained on the
    formation energy and the band gap together predicts the formation energy
    17% better than one trained on it alone; ``docs/benchmarks.md``). Inside a
    fusion model, a Pipeline or the benchmark runner, though, an estimator is
    given one target. This wrapper carries the auxiliary targets as a table,
    ``auxiliary_X`` (samples, e.g. Structures) and ``auxiliary_y`` (their
    values): ``fit(X, y)`` looks up each training sample in the table (by the
    Structure's content, so any subset of it, in any order, finds its rows),
    trains ``estimator`` on ``[y, auxiliary]`` and ``predict`` returns the
    ``y`` columns only. A training sample missing from the table, or a missing
    value in it, is NaN: the graph networks' masked multi-task loss skips it
    (:class:`MaskedMultiTaskLoss`). ``predict`` never reads the table, so a
    test sample's auxiliary values cannot reach its prediction; give the table
    the training data only, as the benchmark runner does
    (``skhybrid benchmark --aux-targets``). A structure listed more than once
    with different values (a duplicate in the data) gets their mean, with a
    warning.

    Parameters
    ----------
    estimator : estimator
        A regressor that takes 2-D ``y`` (e.g. a Pipeline of
        ``StructureGraphizer`` and ``MEGNetRegressor``).
    auxiliary_X : sequence of samples, default=None
        The samples the auxiliary targets belong to (the training Structures).
        ``fit`` refuses to run without them.
    auxiliary_y : array-like of shape (n_auxiliary_samples,) or (n_auxiliary_samples, n_auxiliary)
        Their auxiliary targets; NaN where unknown.

    Attributes
    ----------
    estimator_ : estimator
        ``estimator`` fitted on the target and auxiliary columns.
    n_auxiliary_ : int
        The number of auxiliary targets.
    auxiliary_found_ : float
        The fraction of training samples whose auxiliary values the table held.
    missing_auxiliary_ : ndarray of int
        The training samples the table did not hold (a warning names them).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.neighbors import KNeighborsRegressor
    >>> from skhybrid.models import AuxiliaryTargetRegressor
    >>> X = np.arange(12.0).reshape(6, 2)
    >>> model = AuxiliaryTargetRegressor(KNeighborsRegressor(n_neighbors=1), auxiliary_X=X,
    ...                                  auxiliary_y=10 * X[:, 0])
    >>> model.fit(X[:4], X[:4, 1]).predict(X[:2])
    array([1., 3.])
    >>> model.estimator_.predict(X[:2])       # the wrapped model learned both columns
    array([[ 1.,  0.],
           [ 3., 20.]])
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict"])],
        "auxiliary_X": ["array-like", None],
        "auxiliary_y": ["array-like", None],
    }

    def __init__(self, estimator, *, auxiliary_X=None, auxiliary_y=None):
        self.estimator = estimator
        self.auxiliary_X = auxiliary_X
        self.auxiliary_y = auxiliary_y

    def _auxiliary_table(self) -> tuple[dict, np.ndarray]:
        name = type(self).__name__
        if self.auxiliary_X is None or self.auxiliary_y is None:
            raise ValueError(f"{name} needs its auxiliary targets: set auxiliary_X (the training samples) and "
                             "auxiliary_y (their auxiliary values), or run the benchmark with --aux-targets.")
        values = np.asarray(self.auxiliary_y, dtype=float)
        values = values.reshape(-1, 1) if values.ndim == 1 else values
        if values.ndim != 2 or len(values) != len(self.auxiliary_X):
            raise ValueError(f"{name}: auxiliary_y has {len(values)} rows for {len(self.auxiliary_X)} samples in "
                             "auxiliary_X; give one row of auxiliary values per sample.")
        groups: dict[bytes, list[int]] = {}
        for i, sample in enumerate(self.auxiliary_X):
            groups.setdefault(sample_key(sample), []).append(i)
        rows = {key: members[0] for key, members in groups.items()}
        # the same structure listed twice with different values (data sets hold such duplicates: NOMAD 2018
        # does): its auxiliary values are their mean, as identical inputs cannot be told apart
        conflicting = [members for members in groups.values() if len(members) > 1
                       and not all(np.array_equal(values[members[0]], values[i], equal_nan=True) for i in members)]
        if conflicting:
            values = values.copy()
            for members in conflicting:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)  # a column that is NaN in every copy
                    values[members[0]] = np.nanmean(values[members], axis=0)
            warnings.warn(f"{name}: {len(conflicting)} structure(s) appear more than once in auxiliary_X with "
                          f"different auxiliary values (first: auxiliary_X{conflicting[0]}); each gets the mean "
                          "of its values.", UserWarning, stacklevel=3)
        return rows, values

    def fit(self, X, y, **fit_params):
        """Fit ``estimator`` on ``y`` and the training samples' auxiliary targets.

        Parameters
        ----------
        X : what the estimator takes (a list of Structures for a Pipeline from Structures)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
        **fit_params : dict
            Passed to the estimator's ``fit``.

        Returns
        -------
        self
        """
        self._validate_params()
        rows, values = self._auxiliary_table()
        y = np.asarray(y, dtype=float)
        self._y_1d = y.ndim == 1
        targets = y.reshape(-1, 1) if self._y_1d else y
        if len(targets) != len(X):
            raise ValueError(f"{type(self).__name__}: X has {len(X)} samples and y {len(targets)}.")
        found = np.array([rows.get(sample_key(sample), -1) for sample in X])
        if not (found >= 0).any():
            raise ValueError(f"{type(self).__name__}: none of the {len(X)} training samples is in auxiliary_X "
                             "(first: X[0]); the table must hold the training samples themselves.")
        auxiliary = np.full((len(X), values.shape[1]), np.nan)
        auxiliary[found >= 0] = values[found[found >= 0]]
        self.n_targets_ = targets.shape[1]
        self.n_auxiliary_ = values.shape[1]
        self.auxiliary_found_ = float(np.mean(found >= 0))
        self.missing_auxiliary_ = np.flatnonzero(found < 0)
        if len(self.missing_auxiliary_):
            warnings.warn(f"{type(self).__name__}: {len(self.missing_auxiliary_)} of {len(X)} training samples "
                          f"are not in auxiliary_X (X{format_indices(self.missing_auxiliary_.tolist())}); they train on "
                          "the target alone (their auxiliary values are NaN, which the masked loss skips).",
                          UserWarning, stacklevel=2)
        self.estimator_ = clone(self.estimator).fit(X, np.column_stack([targets, auxiliary]), **fit_params)
        if hasattr(self.estimator_, "n_features_in_"):
            self.n_features_in_ = self.estimator_.n_features_in_
        return self

    def predict(self, X) -> np.ndarray:
        """The target columns of the estimator's prediction.

        Parameters
        ----------
        X : what the estimator takes

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_targets)
            As ``y`` was at ``fit``.
        """
        check_is_fitted(self, "estimator_")
        predictions = np.asarray(self.estimator_.predict(X), dtype=float)
        return predictions[:, 0] if self._y_1d else predictions[:, :self.n_targets_]

    def predict_auxiliary(self, X) -> np.ndarray:
        """The auxiliary columns of the estimator's prediction (the auxiliary targets it learned).

        Parameters
        ----------
        X : what the estimator takes

        Returns
        -------
        auxiliary_pred : ndarray of shape (n_samples, n_auxiliary)
        """
        check_is_fitted(self, "estimator_")
        return np.asarray(self.estimator_.predict(X), dtype=float)[:, self.n_targets_:]
