"""DisjointHoldouts: a few held-out slices for choosing fusion weights on a budget."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.model_selection import BaseCrossValidator
from sklearn.utils import check_random_state
from sklearn.utils.validation import _num_samples

__all__ = ["DisjointHoldouts"]


class DisjointHoldouts(BaseCrossValidator):
    """``n_splits`` disjoint random test slices of ``test_size`` each; each split trains on the rest.

    Cheaper than a K-fold when models are expensive: ``DisjointHoldouts(2, 0.1)``
    fits two models, each on 90% of the data, and gives held-out predictions
    for 20% of it, from models that never saw those samples. With
    ``LateFusionRegressor(weights="oof", refit=False)`` the two models are also
    the final ones (averaged), so out-of-fold weights cost nothing beyond
    training a two-model committee. Slices never overlap; samples outside
    every slice are in no test fold.

    Parameters
    ----------
    n_splits : int, default=2
    test_size : float, default=0.1
        Fraction of the samples in each slice; ``n_splits * test_size`` must be at most 1.
    random_state : int, RandomState or None, default=None
        Seeds the shuffle that draws the slices.

    Examples
    --------
    >>> import numpy as np
    >>> from skhybrid.fusion import DisjointHoldouts
    >>> splits = list(DisjointHoldouts(2, 0.1, random_state=0).split(np.zeros((100, 1))))
    >>> [(len(train), len(test)) for train, test in splits]
    [(90, 10), (90, 10)]
    >>> len(set(splits[0][1]) & set(splits[1][1]))
    0
    """

    def __init__(self, n_splits=2, test_size=0.1, *, random_state=None):
        self.n_splits = n_splits
        self.test_size = test_size
        self.random_state = random_state

    def _check(self, n_samples):
        if not isinstance(self.n_splits, Integral) or self.n_splits < 1:
            raise ValueError(f"DisjointHoldouts: n_splits must be a positive int, got {self.n_splits!r}.")
        if not isinstance(self.test_size, Real) or not 0 < self.test_size * self.n_splits <= 1:
            raise ValueError(f"DisjointHoldouts: n_splits * test_size must be in (0, 1], got "
                             f"{self.n_splits} x {self.test_size}.")
        size = int(round(self.test_size * n_samples))
        if size < 1 or size * self.n_splits > n_samples:
            raise ValueError(f"DisjointHoldouts: {self.n_splits} slices of {self.test_size:g} of {n_samples} "
                             "samples do not fit; use a larger test_size or more samples.")
        return size

    def _iter_test_indices(self, X=None, y=None, groups=None):
        n_samples = _num_samples(X)
        size = self._check(n_samples)
        order = check_random_state(self.random_state).permutation(n_samples)
        for k in range(self.n_splits):
            yield np.sort(order[k * size:(k + 1) * size])

    def get_n_splits(self, X=None, y=None, groups=None):
        """The number of splits.

        Parameters
        ----------
        X, y, groups : ignored

        Returns
        -------
        int
        """
        return self.n_splits
