"""How much an early-fusion model relies on the composition and on the graph."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline
from sklearn.utils import Bunch, check_random_state

__all__ = ["branch_importance", "fusion_weights"]


def _split(estimator):
    """The early-fusion model at the end of ``estimator`` and a function giving its input."""
    from ..fusion._early import EarlyFusionRegressor

    if isinstance(estimator, Pipeline):
        model, steps = estimator.steps[-1][1], estimator[:-1]
        prepare = steps.transform if len(steps) else (lambda X: X)
    else:
        model, prepare = estimator, (lambda X: X)
    if not isinstance(model, EarlyFusionRegressor):
        raise TypeError(f"Expected a fitted EarlyFusionRegressor (or a Pipeline ending in one), "
                        f"got {type(model).__name__}.")
    return model, prepare


def _mae(y: np.ndarray, pred: np.ndarray) -> float:
    keep = np.isfinite(y)
    return float(np.mean(np.abs(y[keep] - pred[keep])))


def branch_importance(estimator, X, y, *, n_repeats: int = 10, random_state=None) -> Bunch:
    """Composition-versus-graph contribution by permuting each branch across samples.

    For each branch, its vectors (the standardised composition vector, or the
    backbone's pooled graph vector) are shuffled between the samples of ``X``
    while the other branch stays in place, and the increase of the MAE over
    the intact model is recorded, ``n_repeats`` times. This is permutation
    importance (Breiman 2001; scikit-learn's ``permutation_importance``) at
    the level of the two branches. Use held-out data: on training data it
    measures memorisation.

    Parameters
    ----------
    estimator : fitted EarlyFusionRegressor, or a Pipeline ending in one
        With a Pipeline, ``X`` holds what the Pipeline takes (e.g. Structures).
    X : samples
    y : array-like of shape (n_samples,) or (n_samples, n_targets)
    n_repeats : int, default=10
    random_state : int, RandomState or None, default=None

    Returns
    -------
    Bunch
        ``branches`` (``("composition", "graph")``), ``baseline_mae``,
        ``importances`` (2, n_repeats): MAE increase per repeat,
        ``importances_mean`` and ``importances_std`` (2,), and
        ``permuted_mae`` (2, n_repeats).

    Examples
    --------
    >>> from pymatgen.core import Lattice, Structure
    >>> from sklearn.pipeline import make_pipeline
    >>> from skhybrid import MagpieFeaturizer, StructureGraphizer
    >>> from skhybrid.fusion import EarlyFusionRegressor
    >>> rocksalts = [("Na", "Cl", 5.64), ("K", "Cl", 6.29), ("Li", "F", 4.03), ("Mg", "O", 4.21),
    ...              ("Na", "F", 4.63), ("K", "Br", 6.60), ("Ca", "O", 4.81), ("Li", "Cl", 5.13)]
    >>> structures = [Structure.from_spacegroup("Fm-3m", Lattice.cubic(a), [c, x], [[0, 0, 0], [0.5, 0.5, 0.5]])
    ...               for c, x, a in rocksalts]
    >>> y = [a for *_, a in rocksalts]   # a toy target: the lattice constant
    >>> model = make_pipeline(StructureGraphizer(global_features=MagpieFeaturizer()),
    ...                       EarlyFusionRegressor(fusion="attention", max_epochs=10, validation_fraction=0,
    ...                                            random_state=0)).fit(structures, y)
    >>> from skhybrid.inspection import branch_importance
    >>> result = branch_importance(model, structures, y, n_repeats=3, random_state=0)  # use held-out data
    >>> result.branches, result.importances.shape
    (('composition', 'graph'), (2, 3))
    """
    model, prepare = _split(estimator)
    if n_repeats < 1:
        raise ValueError(f"n_repeats must be at least 1, got {n_repeats}.")
    composition, graph = model.branch_embeddings(prepare(X))
    y = np.asarray(y, dtype=float)
    if len(y) != len(composition):
        raise ValueError(f"X has {len(composition)} samples but y has {len(y)}.")
    rng = check_random_state(random_state)
    baseline = _mae(y, model.predict_from_branches(composition, graph))
    permuted = np.empty((2, n_repeats))
    for r in range(n_repeats):
        order = rng.permutation(len(y))
        permuted[0, r] = _mae(y, model.predict_from_branches(composition[order], graph))
        order = rng.permutation(len(y))
        permuted[1, r] = _mae(y, model.predict_from_branches(composition, graph[order]))
    importances = permuted - baseline
    return Bunch(branches=model.branches_, baseline_mae=baseline, permuted_mae=permuted, importances=importances,
                 importances_mean=importances.mean(axis=1), importances_std=importances.std(axis=1))


def fusion_weights(estimator, X) -> pd.DataFrame:
    """Per-sample attention weights of an attention early-fusion model, as a DataFrame.

    One row per sample, columns ``composition`` and ``graph`` (each row sums
    to one); ``.describe()`` gives their distribution.

    Parameters
    ----------
    estimator : fitted EarlyFusionRegressor with ``fusion="attention"``, or a Pipeline ending in one
        With a Pipeline, ``X`` holds what the Pipeline takes (e.g. Structures).
    X : samples
        Graphs with ``u``, or the Pipeline's input.

    Returns
    -------
    DataFrame of shape (n_samples, 2)

    Examples
    --------
    >>> from pymatgen.core import Lattice, Structure
    >>> from sklearn.pipeline import make_pipeline
    >>> from skhybrid import MagpieFeaturizer, StructureGraphizer
    >>> from skhybrid.fusion import EarlyFusionRegressor
    >>> rocksalts = [("Na", "Cl", 5.64), ("K", "Cl", 6.29), ("Li", "F", 4.03), ("Mg", "O", 4.21),
    ...              ("Na", "F", 4.63), ("K", "Br", 6.60), ("Ca", "O", 4.81), ("Li", "Cl", 5.13)]
    >>> structures = [Structure.from_spacegroup("Fm-3m", Lattice.cubic(a), [c, x], [[0, 0, 0], [0.5, 0.5, 0.5]])
    ...               for c, x, a in rocksalts]
    >>> y = [a for *_, a in rocksalts]   # a toy target: the lattice constant
    >>> model = make_pipeline(StructureGraphizer(global_features=MagpieFeaturizer()),
    ...                       EarlyFusionRegressor(fusion="attention", max_epochs=10, validation_fraction=0,
    ...                                            random_state=0)).fit(structures, y)
    >>> from skhybrid.inspection import fusion_weights
    >>> weights = fusion_weights(model, structures)
    >>> list(weights.columns), bool(((weights.sum(axis=1) - 1).abs() < 1e-6).all())
    (['composition', 'graph'], True)
    """
    model, prepare = _split(estimator)
    return pd.DataFrame(model.fusion_weights(prepare(X)), columns=list(model.branches_))
