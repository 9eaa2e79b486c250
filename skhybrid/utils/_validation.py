"""Input validation that names the offending sample."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

__all__ = ["as_indexable", "as_sample_list", "check_structures", "format_indices"]


def as_sample_list(X, *, what: str = "X") -> list:
    """Return the samples of ``X`` as a Python list, one entry per sample.

    Structures are iterable (over their sites), so ``np.asarray`` on a list of
    them builds a ragged object array or fails; a plain list keeps one entry
    per sample and is what scikit-learn's ``_safe_indexing`` slices.

    Parameters
    ----------
    X : list, tuple, 1-D array, one-column array or DataFrame, or Series
        The samples.
    what : str, default="X"
        The argument's name, for error messages.

    Returns
    -------
    list

    Examples
    --------
    >>> import pandas as pd
    >>> from skhybrid.utils import as_sample_list
    >>> as_sample_list(pd.Series(["NaCl", "MgO"]))
    ['NaCl', 'MgO']
    >>> as_sample_list("NaCl")
    Traceback (most recent call last):
        ...
    ValueError: X must be a list, array or pandas Series of samples, got str.
    """
    if isinstance(X, pd.DataFrame):
        if X.shape[1] != 1:
            raise ValueError(
                f"{what} must be one column of samples, got a DataFrame with "
                f"{X.shape[1]} columns; pass the column itself, e.g. df['structure']."
            )
        X = X.iloc[:, 0]
    if isinstance(X, pd.Series):
        return X.tolist()
    if isinstance(X, np.ndarray):
        if X.ndim == 2 and X.shape[1] == 1:
            X = X[:, 0]
        if X.ndim != 1:
            raise ValueError(
                f"{what} must be 1-D (one entry per sample), got an array of shape {X.shape}."
            )
        return X.tolist()
    if isinstance(X, (str, bytes)) or not isinstance(X, Iterable):
        raise ValueError(
            f"{what} must be a list, array or pandas Series of samples, got {type(X).__name__}."
        )
    from pymatgen.core import Structure

    if isinstance(X, Structure):
        raise ValueError(
            f"{what} is a single Structure; wrap it in a list: [structure]."
        )
    return list(X)


def check_structures(X, *, what: str = "X") -> list:
    """Validate a collection of pymatgen ``Structure`` objects.

    Returns them as a list. Raises ``ValueError`` naming the index and the
    reason of the first bad entry (not a Structure, or no sites).

    Parameters
    ----------
    X : list, array or Series of pymatgen Structure
        The samples.
    what : str, default="X"
        The argument's name, for error messages.

    Returns
    -------
    list of Structure

    Examples
    --------
    >>> from pymatgen.core import Lattice, Structure
    >>> from skhybrid.utils import check_structures
    >>> nacl = Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.64), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    >>> len(check_structures([nacl, nacl]))
    2
    >>> check_structures([nacl, "NaCl"])
    Traceback (most recent call last):
        ...
    ValueError: X[1] is not a pymatgen Structure (got str: 'NaCl'). Pass Structures, e.g. Structure.from_file(path).
    """
    from pymatgen.core import Structure

    samples = as_sample_list(X, what=what)
    for i, s in enumerate(samples):
        if not isinstance(s, Structure):
            raise ValueError(
                f"{what}[{i}] is not a pymatgen Structure (got {type(s).__name__}: "
                f"{_short_repr(s)}). Pass Structures, e.g. Structure.from_file(path)."
            )
        if len(s) == 0:
            raise ValueError(f"{what}[{i}] is an empty Structure (no sites).")
    return samples


def _short_repr(value, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def format_indices(indices: Sequence[int], limit: int = 20) -> str:
    """``[3, 7, 12]``, or the first ``limit`` of them and a count, for error messages.

    Parameters
    ----------
    indices : sequence of int
        Sample indices.
    limit : int, default=20
        How many to list.

    Returns
    -------
    str

    Examples
    --------
    >>> from skhybrid.utils import format_indices
    >>> format_indices([3, 7, 12])
    '[3, 7, 12]'
    >>> format_indices(range(30), limit=3)
    '[0, 1, 2] and 27 more'
    """
    indices = list(indices)
    if len(indices) <= limit:
        return str(indices)
    return f"{indices[:limit]} and {len(indices) - limit} more"


def as_indexable(X):
    """``X`` itself, or a form that rows can be taken from: an array for an array-like with only
    ``__array__``, CSR for sparse formats without row indexing (COO, DIA, ...)."""
    from scipy import sparse

    if sparse.issparse(X):
        return X if X.format in ("csr", "csc") else X.tocsr()
    if not hasattr(X, "__getitem__") and hasattr(X, "__array__"):
        return np.asarray(X)
    return X
