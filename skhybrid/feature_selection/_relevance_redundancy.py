"""RelevanceRedundancySelector: MODNet's greedy selection on normalised mutual information."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, _fit_context
from sklearn.feature_selection import SelectorMixin, mutual_info_regression
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["RelevanceRedundancySelector"]


def _p_default(n_chosen: int) -> float:
    return max(0.1, 4.5 - 0.4 * n_chosen**0.4)


def _c_default(n_chosen: int) -> float:
    return min(1e5, 1e-6 * n_chosen**3)


class RelevanceRedundancySelector(SelectorMixin, BaseEstimator):
    r"""Greedy feature selection by relevance to the target and redundancy with chosen features.

    The criterion of MODNet (De Breuck, Hautier & Rignanese, npj Comput. Mater.
    7, 83, 2021). With the normalised mutual information

    .. math:: \mathrm{NMI}(x, y) = \frac{I(x; y)}{\tfrac12 [H(x) + H(y)]}

    the first feature is the most relevant, and each next one maximises

    .. math:: \mathrm{RR}(f) = \frac{\mathrm{NMI}(f, y)}
              {\left[\max_{s \in S} \mathrm{NMI}(f, s) + c\right]^{p}}

    over the chosen set :math:`S`, with MODNet's schedule
    :math:`p = \max(0.1, 4.5 - 0.4 |S|^{0.4})` and :math:`c = \min(10^5, 10^{-6} |S|^3)`:
    redundancy weighs heavily for the first picks and less as the set grows.

    Mutual information and entropies are estimated on equal-frequency bins of
    every variable (``estimator="binned"``, the default: counts on a
    ``n_bins`` x ``n_bins`` contingency table with the Miller-Madow bias
    correction, negative estimates clipped to zero as independence,
    vectorised over all candidate features, so a selection from 200 features
    takes a fraction of a second)
    or, as MODNet does, with the k-nearest-neighbour estimator of Kraskov et
    al. (2004) from scikit-learn's ``mutual_info_regression``, entropies as each
    variable's information with itself (``estimator="knn"``: about 1000 times
    slower, minutes for 200 features).

    Fit it inside each training fold (in a Pipeline before the model), never on
    data that includes the test set: relevance is learned from the targets.

    Parameters
    ----------
    n_features_to_select : int or float, default=0.5
        How many features to keep; a float in (0, 1] is a fraction of them.
    estimator : {"binned", "knn"}, default="binned"
        How mutual information is estimated (see above).
    n_bins : int or "auto", default="auto"
        Equal-frequency bins per variable (``"binned"``); tied values share a
        bin. ``"auto"``: ``sqrt(n_samples / 5)`` within [3, 16], about five
        samples per cell of a joint table (14 bins for 1000 samples).
    n_neighbors : int, default=3
        Neighbours of the k-NN estimator (``"knn"``).
    random_state : int, RandomState or None, default=None
        Seeds the small noise the k-NN estimator adds to continuous features.

    Attributes
    ----------
    relevance_ : ndarray of shape (n_features,)
        NMI of each feature with the target.
    ranking_ : ndarray of int
        The chosen features' indices, in the order they were picked.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        When ``X`` had column names.

    Examples
    --------
    >>> import numpy as np
    >>> from skhybrid.feature_selection import RelevanceRedundancySelector
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(300, 1))
    >>> X = np.hstack([x, x + 0.01 * rng.normal(size=(300, 1)), rng.normal(size=(300, 1)),
    ...                rng.normal(size=(300, 1))])
    >>> y = x[:, 0] + 0.5 * X[:, 2]
    >>> selector = RelevanceRedundancySelector(n_features_to_select=2).fit(X, y)
    >>> selector.ranking_.tolist()   # columns 0 and 1 are near-copies: only one of them is picked
    [1, 2]
    """

    _parameter_constraints: dict = {
        "n_features_to_select": [Interval(Integral, 1, None, closed="left"), Interval(Real, 0, 1, closed="right")],
        "estimator": [StrOptions({"binned", "knn"})],
        "n_bins": [Interval(Integral, 2, None, closed="left"), StrOptions({"auto"})],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(self, n_features_to_select=0.5, *, estimator="binned", n_bins="auto", n_neighbors=3, random_state=None):
        self.n_features_to_select = n_features_to_select
        self.estimator = estimator
        self.n_bins = n_bins
        self.n_neighbors = n_neighbors
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Rank the features and keep the first ``n_features_to_select``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            NaN is allowed: the estimator sees each column's median in its place.
        y : array-like of shape (n_samples,)

        Returns
        -------
        self
        """
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan", y_numeric=True, dtype=np.float64)
        n_features = X.shape[1]
        k = self.n_features_to_select
        k = max(1, int(round(k * n_features))) if isinstance(k, Real) and not isinstance(k, Integral) else k
        k = min(int(k), n_features)
        X = _fill_nan_with_median(X)
        if self.estimator == "binned":
            mutual_information, entropy, target_entropy = self._binned(X, y)
        else:
            mutual_information, entropy, target_entropy = self._knn(X, y)
        all_columns = np.arange(n_features)
        self.relevance_ = _normalise(mutual_information(all_columns, "target"), entropy, target_entropy)

        chosen = [int(np.argmax(self.relevance_))]
        redundancy = np.zeros(n_features)
        while len(chosen) < k:
            last = chosen[-1]
            candidates = np.setdiff1d(all_columns, chosen)
            nmi = _normalise(mutual_information(candidates, last), entropy[candidates], entropy[last])
            redundancy[candidates] = np.maximum(redundancy[candidates], nmi)
            p, c = _p_default(len(chosen)), _c_default(len(chosen))
            score = self.relevance_[candidates] / (redundancy[candidates] + c) ** p
            chosen.append(int(candidates[np.argmax(score)]))
        self.ranking_ = np.asarray(chosen, dtype=np.intp)
        return self

    def _binned(self, X, y):
        """Mutual information on equal-frequency bins: ``mi(columns, other)``, entropies."""
        n = len(y)
        # about five samples per cell of the joint table, so that the bias correction holds
        b = int(np.clip(round(np.sqrt(n / 5)), 3, 16)) if self.n_bins == "auto" else self.n_bins
        bins = np.column_stack([_quantile_bins(X[:, j], b) for j in range(X.shape[1])])
        target_bins = _quantile_bins(y, b)
        occupied = np.array([np.count_nonzero(np.bincount(bins[:, j], minlength=b)) for j in range(X.shape[1])])
        entropy = np.array([_entropy(np.bincount(bins[:, j], minlength=b) / n) for j in range(X.shape[1])])
        # Miller-Madow bias correction: a plug-in estimate on k occupied bins is low by about (k - 1) / 2n
        entropy += (occupied - 1) / (2 * n)
        target_occupied = np.count_nonzero(np.bincount(target_bins, minlength=b))

        def mutual_information(columns, other):
            other_bins = target_bins if isinstance(other, str) else bins[:, other]
            # joint counts of (other, column) for every column at once: one bincount over offset codes
            codes = other_bins[:, None] * b + bins[:, columns] + (np.arange(len(columns)) * b * b)[None, :]
            joint = np.bincount(codes.ravel(), minlength=len(columns) * b * b).reshape(len(columns), b, b) / n
            p_other = joint.sum(axis=2, keepdims=True)
            p_column = joint.sum(axis=1, keepdims=True)
            with np.errstate(divide="ignore", invalid="ignore"):
                terms = joint * np.log(joint / (p_other * p_column))
            plug_in = np.nansum(terms, axis=(1, 2))
            # Miller-Madow: I = H(a) + H(b) - H(a, b), each corrected by (occupied cells - 1) / 2n; an
            # independent pair then scores about zero instead of ~(k - 1)^2 / 2n
            k_other = np.count_nonzero(p_other[:, :, 0] > 0, axis=1)
            k_column = np.count_nonzero(p_column[:, 0, :] > 0, axis=1)
            k_joint = np.count_nonzero(joint > 0, axis=(1, 2))
            return np.clip(plug_in + (k_other + k_column - k_joint - 1) / (2 * n), 0.0, None)

        target_entropy = _entropy(np.bincount(target_bins, minlength=b) / n) + (target_occupied - 1) / (2 * n)
        return mutual_information, entropy, target_entropy

    def _knn(self, X, y):
        """MODNet's estimate: scikit-learn's k-NN mutual information, entropies as self-information."""
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        varying = np.ptp(X, axis=0) > 0

        def mutual_information(columns, other):
            target = y if isinstance(other, str) else X[:, other]
            out = np.zeros(len(columns))
            live = varying[columns]
            if live.any():
                out[live] = mutual_info_regression(X[:, columns[live]], target, n_neighbors=self.n_neighbors,
                                                   random_state=seed)
            return out

        entropy = np.array([mutual_information(np.array([j]), j)[0] if varying[j] else 0.0
                            for j in range(X.shape[1])])
        target_entropy = mutual_info_regression(y[:, None], y, n_neighbors=self.n_neighbors, random_state=seed)[0]
        return mutual_information, entropy, target_entropy

    def _get_support_mask(self):
        check_is_fitted(self, "ranking_")
        mask = np.zeros(self.n_features_in_, dtype=bool)
        mask[self.ranking_] = True
        return mask

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.target_tags.required = True
        return tags


def _quantile_bins(values, n_bins):
    """Equal-frequency bin of every value, 0..n_bins-1; equal values share a bin."""
    from scipy.stats import rankdata

    ranks = rankdata(values, method="min") - 1
    return np.minimum((ranks * n_bins) // len(values), n_bins - 1).astype(np.intp)


def _entropy(p):
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def _normalise(mutual_information, entropy_a, entropy_b):
    with np.errstate(divide="ignore", invalid="ignore"):
        nmi = mutual_information / (0.5 * (entropy_a + entropy_b))
    return np.nan_to_num(nmi, nan=0.0, posinf=0.0, neginf=0.0)


def _fill_nan_with_median(X):
    missing = np.isnan(X)
    if not missing.any():
        return X
    X = X.copy()
    medians = np.nanmedian(np.where(missing.all(axis=0), 0.0, X), axis=0)
    X[missing] = np.take(medians, np.nonzero(missing)[1])
    return X
