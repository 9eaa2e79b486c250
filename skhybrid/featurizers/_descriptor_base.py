"""The contract shared by the per-structure descriptor transformers (structure descriptors, pretrained ones)."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context

from ..utils import check_structures, format_indices

__all__ = ["StructureDescriptorBase"]


class StructureDescriptorBase(TransformerMixin, BaseEstimator):
    """Named columns per structure, computed once per structure and optionally kept in an on-disk table.

    A subclass stores its parameters (``on_error`` and ``store`` among them) and defines ``_names()`` (the
    columns), ``_settings()`` (what the rows depend on, for the on-disk table) and
    ``_compute(structures, indices, bar=None)``, which returns the rows and the ``(index, reason)`` of the
    structures that failed (NaN rows); class attributes name its column definitions' version
    (``_definitions``), the structures computed between two appends to a table (``_store_part``) and the
    progress bar (``_progress``). Errors are raised naming the first bad sample, or warned about as NaN
    rows with ``on_error="nan"``; nothing is dropped.
    """

    _definitions = 1
    _store_part = 2048
    _progress = "features"
    #: what the error message says could not featurize (e.g. " by CHGNet")
    _by = ""

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Validate the parameters; nothing is learned from data.

        Parameters
        ----------
        X : list, array or Series of pymatgen Structure
            Ignored apart from its validation.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The transformer.
        """
        check_structures(X)
        self.n_features_out_ = len(self._names())
        return self

    def transform(self, X):
        """Compute the columns of every structure (read from ``store`` where it holds them).

        Parameters
        ----------
        X : list, array or Series of pymatgen Structure

        Returns
        -------
        features : ndarray of shape (n_samples, ``n_features_out_``)
        """
        self._validate_params()
        structures = check_structures(X)
        if self.store is not None:
            from ._descriptor_store import stored_features

            features, errors = stored_features(self, structures, definitions=self._definitions,
                                               part=self._store_part, desc=self._progress)
        else:
            features, errors = self._compute(structures, list(range(len(structures))))
        self._handle_errors(errors)
        return features

    def _handle_errors(self, errors) -> None:
        if not errors:
            return
        if self.on_error == "raise":
            index, reason = errors[0]
            more = f" ({len(errors) - 1} more bad structures)" if len(errors) > 1 else ""
            raise ValueError(f"X[{index}] cannot be featurized{self._by}: {reason}{more}. Fix or drop the "
                             "structure, or pass on_error='nan' to get a row of NaN.")
        warnings.warn(
            f"{type(self).__name__}: {len(errors)} structure(s) could not be featurized and are NaN rows: "
            f"indices {format_indices([e[0] for e in errors])} (first: X[{errors[0][0]}]: {errors[0][1]}).",
            UserWarning, stacklevel=3)

    def get_feature_names_out(self, input_features=None):
        """Column names, in output order.

        Parameters
        ----------
        input_features : None
            Ignored (the input is structures, not columns).

        Returns
        -------
        names : ndarray of str
        """
        return np.asarray(self._names(), dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.two_d_array = False
        return tags
