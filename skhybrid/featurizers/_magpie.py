"""MagpieFeaturizer: the Magpie composition features of Ward et al. (2016), vectorized."""

from __future__ import annotations

import gc
import warnings
from numbers import Integral

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import StrOptions

from ..utils import as_sample_list, format_indices, progress_bar
from ._charge_balance import charge_balance_possible
from ._composition_parsing import parse_formula, parse_sample
from ._element_data import MAGPIE_PROPERTIES, element_tables

__all__ = ["MagpieFeaturizer"]

STATISTICS = ("minimum", "maximum", "range", "mean", "avg_dev", "mode")
STOICHIOMETRY_P = (0, 2, 3, 5, 7, 10)
ORBITALS = ("s", "p", "d", "f")

WARD_2016_BIBTEX = (
    "@article{ward_agrawal_choudary_wolverton_2016, title={A general-purpose machine learning "
    "framework for predicting properties of inorganic materials}, volume={2}, "
    "DOI={10.1038/npjcompumats.2017.28}, number={1}, journal={npj Computational Materials}, "
    "author={Ward, Logan and Agrawal, Ankit and Choudhary, Alok and Wolverton, Christopher}, "
    "year={2016}}"
)
PYMATGEN_BIBTEX = (
    "@article{ong_2013, title={Python Materials Genomics (pymatgen): A robust, open-source python "
    "library for materials analysis}, volume={68}, DOI={10.1016/j.commatsci.2012.10.028}, "
    "journal={Computational Materials Science}, author={Ong, Shyue Ping and Richards, William "
    "Davidson and Jain, Anubhav and Hautier, Geoffroy and Kocher, Michael and Cholia, Shreyas and "
    "Gunter, Dan and Chevrier, Vincent L. and Persson, Kristin A. and Ceder, Gerbrand}, year={2013}}"
)
MATMINER_BIBTEX = (
    "@article{ward_2018, title={Matminer: An open source toolkit for materials data mining}, "
    "volume={152}, DOI={10.1016/j.commatsci.2018.05.018}, journal={Computational Materials "
    "Science}, author={Ward, Logan and Dunn, Alexander and Faghaninia, Alireza and Zimmermann, "
    "Nils E.R. and Bajaj, Saurabh and Wang, Qi and Montoya, Joseph and Chen, Jiming and Bystrom, "
    "Kyle and Dylla, Maxwell and Chard, Kyle and Asta, Mark and Persson, Kristin A. and Snyder, "
    "G. Jeffrey and Foster, Ian and Jain, Anubhav}, year={2018}}"
)


def _feature_names(preset: str) -> list[str]:
    element_block = [f"MagpieData {stat} {prop}" for prop in MAGPIE_PROPERTIES for stat in STATISTICS]
    if preset == "magpie132":
        return element_block
    return (
        [f"{p}-norm" for p in STOICHIOMETRY_P]
        + element_block
        + [f"frac {orbital} valence electrons" for orbital in ORBITALS]
        + ["compound possible", "max ionic char", "avg ionic char"]
    )


class MagpieFeaturizer(TransformerMixin, BaseEstimator):
    """Magpie composition features (Ward et al., 2016), exact to matminer and vectorized.

    Turns each composition into the general-purpose attributes of Ward et al.:

    - stoichiometry: the number of elements and the 2, 3, 5, 7 and 10-norms of
      the atomic fractions (6);
    - 22 element properties (atomic number, Mendeleev number, weight, melting
      point, column, row, covalent radius, electronegativity, valence and
      unfilled s/p/d/f electrons, ground-state volume, band gap, magnetic
      moment, space group), each summarised by minimum, maximum, range,
      fraction-weighted mean, mean absolute deviation and mode (132);
    - the fraction of valence electrons in s, p, d and f orbitals (4);
    - ionic character: whether the composition can be charge balanced with
      common oxidation states, and the maximum and mean ionic character
      ``1 - exp(-(X_A - X_B)^2 / 4)`` over element pairs (3).

    The values equal matminer's ``ElementProperty.from_preset("magpie")``,
    ``Stoichiometry()``, ``ValenceOrbital(props=["frac"])`` and
    ``IonProperty()`` (element data bundled in matminer, missing values
    imputed as matminer does), with one deliberate difference: "compound
    possible" is NaN for compositions with fractional amounts (partial
    occupancy), where matminer raises.

    All statistics are computed for all samples at once on a sparse matrix of
    element amounts; formula strings are parsed without pymatgen where
    possible, and the charge-balance search takes bounded work per formula.

    Parameters
    ----------
    preset : {"magpie145", "magpie132"}, default="magpie145"
        ``"magpie145"``: the full set above. ``"magpie132"``: the element
        property statistics alone (matminer's Magpie preset).
    on_error : {"raise", "nan"}, default="raise"
        What a bad sample (unknown element, unparsable formula, empty
        composition, dummy species or vacancy, ``None`` or another object)
        does: ``"raise"`` raises ``ValueError`` naming its index and value;
        ``"nan"`` gives it a row of NaN and warns once, listing the indices.
    n_jobs : int, default=None
        Processes for large inputs (joblib semantics; ``None`` means 1). The
        work is vectorized, so one process is usually fastest below ~10^5
        samples.

    Attributes
    ----------
    n_features_out_ : int
        Number of features produced (145 or 132).

    See Also
    --------
    StructureGraphizer : crystal graphs whose ``global_features`` can hold these.

    References
    ----------
    L. Ward, A. Agrawal, A. Choudhary and C. Wolverton, "A general-purpose
    machine learning framework for predicting properties of inorganic
    materials", npj Comput. Mater. 2, 16028 (2016).

    Examples
    --------
    >>> from skhybrid import MagpieFeaturizer
    >>> featurizer = MagpieFeaturizer()
    >>> X = featurizer.fit_transform(["Fe2O3", "NaCl"])
    >>> X.shape
    (2, 145)
    >>> featurizer.get_feature_names_out()[:2].tolist()
    ['0-norm', '2-norm']
    >>> float(X[1, 0])  # two elements in NaCl
    2.0
    """

    _parameter_constraints: dict = {
        "preset": [StrOptions({"magpie145", "magpie132"})],
        "on_error": [StrOptions({"raise", "nan"})],
        "n_jobs": [Integral, None],
    }

    def __init__(self, preset="magpie145", on_error="raise", n_jobs=None):
        self.preset = preset
        self.on_error = on_error
        self.n_jobs = n_jobs

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Validate the parameters; the featurizer learns nothing from data.

        Parameters
        ----------
        X : list, array or Series of Structure, Composition or str
            Ignored apart from its type.
        y : None
            Ignored.

        Returns
        -------
        self : MagpieFeaturizer
        """
        self.n_features_out_ = len(_feature_names(self.preset))
        return self

    def transform(self, X):
        """Compute the Magpie features.

        Parameters
        ----------
        X : list, array or pandas Series of Structure, Composition or str
            One composition per sample; the kinds may be mixed. Partially
            occupied sites count by occupancy.

        Returns
        -------
        features : ndarray of shape (n_samples, ``n_features_out_``)
        """
        self._validate_params()
        samples = as_sample_list(X)
        if not samples:
            return np.empty((0, len(_feature_names(self.preset))))
        n_jobs = effective_n_jobs(self.n_jobs)
        with progress_bar(total=len(samples), desc="Magpie features", unit="sample") as bar:
            if n_jobs > 1 and len(samples) >= 2 * n_jobs:
                chunks = np.array_split(np.arange(len(samples)), n_jobs)
                results = []
                for result in Parallel(n_jobs=n_jobs, return_as="generator")(
                    delayed(_featurize)([samples[i] for i in chunk], self.preset, int(chunk[0]))
                    for chunk in chunks
                ):
                    results.append(result)
                    bar.update(len(result[0]))
                features = np.vstack([r[0] for r in results])
                errors = [e for r in results for e in r[1]]
            else:
                # a disabled bar is not passed: the per-sample loop stays as lean as without bars
                features, errors = _featurize(samples, self.preset, 0, None if bar.disable else bar)
        if errors:
            if self.on_error == "raise":
                index, value, reason = errors[0]
                more = f" ({len(errors) - 1} more bad samples)" if len(errors) > 1 else ""
                raise ValueError(
                    f"X[{index}] = {value!r} cannot be featurized: {reason}{more}. "
                    "Fix or drop the sample, or pass on_error='nan' to get a row of NaN."
                )
            warnings.warn(
                f"MagpieFeaturizer: {len(errors)} sample(s) could not be featurized and are NaN "
                f"rows: indices {format_indices([e[0] for e in errors])} "
                f"(first: X[{errors[0][0]}]: {errors[0][2]}).",
                UserWarning,
                stacklevel=2,
            )
        return features

    def get_feature_names_out(self, input_features=None):
        """Feature names, as matminer labels them.

        Parameters
        ----------
        input_features : None
            Ignored (the input is compositions, not columns).

        Returns
        -------
        names : ndarray of str
        """
        return np.asarray(_feature_names(self.preset), dtype=object)

    def citations(self):
        """BibTeX entries to cite when using these features.

        Returns
        -------
        list of str
        """
        return [WARD_2016_BIBTEX, PYMATGEN_BIBTEX, MATMINER_BIBTEX]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        return tags


# Samples parsed between two updates of the progress bar (an update costs about a microsecond).
_BAR_STEP = 256


def _featurize(samples, preset, offset, bar=None):
    """Features of ``samples``; bad ones become NaN rows and are returned as (index, value, reason).

    ``bar`` (a progress bar) advances as samples are parsed, the per-sample part of the work.
    """
    # Parsing and charge balance allocate many small tuples; with pymatgen's objects on
    # the heap the cyclic collector's passes would double the cost. Nothing here makes cycles.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _featurize_unguarded(samples, preset, offset, bar)
    finally:
        if gc_was_enabled:
            gc.enable()


def _featurize_unguarded(samples, preset, offset, bar):
    parsed, errors = [], []
    placeholder = ((1, 1.0),)
    charges = np.full(len(samples), np.nan)
    for i, sample in enumerate(samples):
        if bar is not None and i % _BAR_STEP == 0 and i:
            bar.update(_BAR_STEP)
        try:
            # strings dominate large inputs: skip the type dispatch for them
            composition = parse_formula(sample) if type(sample) is str else parse_sample(sample)
        except ValueError as exc:
            errors.append((offset + i, _short(sample), str(exc)))
            parsed.append(placeholder)
            continue
        parsed.append(composition.elements)
        if composition.charge is not None:
            charges[i] = composition.charge
    if bar is not None:
        bar.update(len(samples) - bar.n)
    features = compute_magpie(parsed, charges, preset)
    if errors:
        features[[e[0] - offset for e in errors]] = np.nan
    return features, errors


def _short(value, limit=80):
    text = repr(value)
    return value if len(text) <= limit else text[: limit - 3] + "..."


def compute_magpie(compositions, charges, preset):
    """Features for ``compositions``: a list of ``((Z, amount), ...)`` tuples, none empty."""
    tables = element_tables()
    n = len(compositions)
    counts = np.fromiter((len(c) for c in compositions), dtype=np.intp, count=n)
    indptr = np.zeros(n + 1, dtype=np.intp)
    np.cumsum(counts, out=indptr[1:])
    starts = indptr[:-1]
    flat = np.array([pair for c in compositions for pair in c], dtype=float).reshape(-1, 2)
    z = flat[:, 0].astype(np.intp)
    amount = flat[:, 1]
    row = np.repeat(np.arange(n), counts)
    # Row i of this sparse matrix holds the amounts of composition i's elements.
    amounts = sparse.csr_matrix((amount, np.arange(len(amount)), indptr), shape=(n, len(amount)))
    total = np.asarray(amounts.sum(axis=1)).ravel()

    def weighted_mean(values):
        # np.average's formula, sum(v * w) / sum(w), as matminer's PropertyStats.mean
        return (amounts @ values) / total[:, None]

    values = tables.magpie[z]
    mean = weighted_mean(values)
    avg_dev = weighted_mean(np.abs(values - mean[row]))
    minimum, maximum, mode = _segment_extremes(values, amount, starts, counts)
    stats = np.stack([minimum, maximum, maximum - minimum, mean, avg_dev, mode], axis=2)
    element_block = stats.reshape(n, -1)  # property-major, as matminer orders them
    if preset == "magpie132":
        return element_block

    fraction = amount / total[row]
    stoichiometry = [counts.astype(float)]
    for p in STOICHIOMETRY_P[1:]:
        stoichiometry.append(np.add.reduceat(fraction**p, starts) ** (1.0 / p))

    valence = weighted_mean(tables.valence[z])
    with np.errstate(divide="ignore", invalid="ignore"):
        valence_fraction = valence[:, :4] / valence[:, 4:5]

    ionic = _ionic_character(compositions, charges, z, fraction, starts, counts, tables)
    return np.column_stack([np.column_stack(stoichiometry), element_block, valence_fraction, ionic])


def _segment_extremes(values, amount, starts, counts):
    """Per composition: minimum, maximum and mode of ``values`` over its elements.

    The mode is matminer's: the smallest value among the elements of largest
    amount, "largest" with ``np.isclose``'s tolerance. Compositions are grouped
    by element count so each group is one dense (rows, k, d) block.
    """
    n, d = len(counts), values.shape[1]
    minimum, maximum, mode = np.empty((n, d)), np.empty((n, d)), np.empty((n, d))
    for k in np.unique(counts).tolist():
        rows = np.flatnonzero(counts == k)
        index = starts[rows][:, None] + np.arange(k)
        block = values[index]
        minimum[rows] = block.min(axis=1)
        maximum[rows] = block.max(axis=1)
        weights = amount[index]
        largest = weights.max(axis=1, keepdims=True)
        is_mode = np.abs(weights - largest) <= 1e-8 + 1e-5 * np.abs(largest)
        mode[rows] = np.where(is_mode[:, :, None], block, np.inf).min(axis=1)
    return minimum, maximum, mode


def _ionic_character(compositions, charges, z, fraction, starts, counts, tables):
    n = len(compositions)
    x = tables.pauling_x[z]
    spread = np.maximum.reduceat(x, starts) - np.minimum.reduceat(x, starts)
    max_char = 1.0 - np.exp(-0.25 * spread**2)
    mean_char = np.zeros(n)
    for k in np.unique(counts[counts > 1]):
        rows = np.flatnonzero(counts == k)
        first, second = np.triu_indices(k, 1)
        a = starts[rows][:, None] + first
        b = starts[rows][:, None] + second
        pair_char = 1.0 - np.exp(-0.25 * (x[a] - x[b]) ** 2)
        mean_char[rows] = np.sum(fraction[a] * fraction[b] * pair_char, axis=1)

    possible = np.ones(n)
    # every species carries an oxidation state: matminer checks that their charges sum to zero
    decorated = (counts > 1) & ~np.isnan(charges)
    possible[decorated] = np.isclose(charges[decorated], 0.0)
    for i in np.flatnonzero((counts > 1) & ~decorated).tolist():
        answer = charge_balance_possible(compositions[i])
        possible[i] = np.nan if answer is None else answer
    max_char[counts == 1] = 0.0
    return np.column_stack([possible, max_char, mean_char])
