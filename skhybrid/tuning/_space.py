"""Default search spaces, as ``set_params`` keys, and their validation."""

from __future__ import annotations

import numpy as np
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from sklearn.pipeline import Pipeline

__all__ = ["SimplexWeights", "check_search_space", "default_search_space"]


class SimplexWeights:
    """A vector of non-negative weights summing to one, e.g. ``LateFusionRegressor``'s ``weights``.

    Optuna samples ``n`` independent values in ``[0, 1]`` (parameters
    ``<key>[0]`` ... ``<key>[n-1]`` in the study) and the search sets the
    normalised vector; ``best_params_`` reports the vector.

    Parameters
    ----------
    n : int
        Number of weights (the late-fusion model's number of bases).

    Examples
    --------
    >>> from skhybrid.tuning import SimplexWeights
    >>> weights = SimplexWeights(2)
    >>> weights.component_names("weights")
    ['weights[0]', 'weights[1]']
    >>> weights.from_raw([0.5, 1.5])
    [0.25, 0.75]
    >>> # HybridSearchCV(late_fusion, {"weights": SimplexWeights(2)}) searches fusion weights
    """

    def __init__(self, n: int):
        if int(n) < 2:
            raise ValueError(f"SimplexWeights needs at least 2 weights, got {n}.")
        self.n = int(n)

    def component_names(self, key: str) -> list[str]:
        """The study's parameter names for the weights of ``key``.

        Parameters
        ----------
        key : str
            The ``set_params`` key, e.g. ``"weights"``.

        Returns
        -------
        list of str
        """
        return [f"{key}[{i}]" for i in range(self.n)]

    def suggest(self, trial, key: str) -> list[float]:
        """Draw the weights for a trial.

        Parameters
        ----------
        trial : optuna.trial.Trial
        key : str
            The ``set_params`` key, e.g. ``"weights"``.

        Returns
        -------
        list of float
            Non-negative, summing to one.
        """
        raw = np.array([trial.suggest_float(name, 0.0, 1.0) for name in self.component_names(key)])
        return self.from_raw(raw)

    def from_raw(self, raw) -> list[float]:
        """Normalise raw draws to the simplex (equal weights when all are zero).

        Parameters
        ----------
        raw : array-like of shape (n,)
            Non-negative draws.

        Returns
        -------
        list of float
        """
        raw = np.asarray(raw, dtype=float)
        if raw.sum() <= 0:
            return [1.0 / self.n] * self.n
        return (raw / raw.sum()).tolist()

    def __eq__(self, other):
        return isinstance(other, SimplexWeights) and other.n == self.n

    def __hash__(self):
        return hash(("SimplexWeights", self.n))

    def __repr__(self):
        return f"SimplexWeights({self.n})"


def _as_distribution(spec):
    """An Optuna distribution from a network's plain ``search_space`` entry."""
    kind, *args = spec
    if kind == "categorical":
        return CategoricalDistribution(list(args[0]))
    if kind == "int":
        return IntDistribution(*args)
    if kind == "float":
        low, high, *log = args
        return FloatDistribution(low, high, log=bool(log and log[0]))
    raise ValueError(f"Unknown search-space kind {kind!r} (use 'categorical', 'int' or 'float').")


def _graph_regressor_space(estimator) -> dict:
    space = {
        "lr": FloatDistribution(1e-4, 1e-2, log=True),
        # categorical, so that 0 (the default, no decay) is a candidate beside the decades
        "weight_decay": CategoricalDistribution([0.0, 1e-5, 1e-4, 1e-3, 1e-2]),
        "batch_size": CategoricalDistribution([32, 64, 128]),
    }
    # the network declares the space of its own hyper-parameters (skhybrid.nn.GraphNetwork.search_space);
    # early fusion's network adds those of its backbone
    module = estimator._module_class()
    specs = dict(getattr(module, "search_space", {}))
    backbone = getattr(estimator, "backbone", None)
    if backbone is not None:
        from ..nn._fusion import BACKBONES

        specs = {**BACKBONES[backbone].search_space, **specs}
    space.update({f"module__{name}": _as_distribution(spec) for name, spec in specs.items()})
    return space


def _own_space(estimator) -> dict:
    """The space of ``estimator``'s own parameters (not of estimators nested in it)."""
    from sklearn.ensemble import ExtraTreesRegressor, RandomForestRegressor

    from ..featurizers import StructureGraphizer
    from ..models import GraphEstimator

    if isinstance(estimator, GraphEstimator):
        return _graph_regressor_space(estimator)
    if isinstance(estimator, StructureGraphizer):
        return {"cutoff": FloatDistribution(5.0, 10.0), "max_neighbors": IntDistribution(8, 16)}
    if isinstance(estimator, (RandomForestRegressor, ExtraTreesRegressor)):
        return {"n_estimators": IntDistribution(100, 1000, step=100),
                "max_features": FloatDistribution(0.1, 1.0),
                "min_samples_leaf": IntDistribution(1, 5)}
    if type(estimator).__name__ in ("LGBMRegressor", "LGBMClassifier"):
        return {"n_estimators": IntDistribution(300, 2000, step=100),
                "learning_rate": FloatDistribution(0.01, 0.1, log=True),
                "num_leaves": IntDistribution(7, 63, log=True),
                "min_child_samples": IntDistribution(2, 30),
                "subsample": FloatDistribution(0.5, 1.0),
                "colsample_bytree": FloatDistribution(0.2, 1.0),
                "reg_lambda": FloatDistribution(1e-3, 10.0, log=True)}
    return {}


def default_search_space(estimator) -> dict:
    """A search space for ``estimator``, keyed by its ``set_params`` names.

    Covers every skhybrid estimator and the parts they are built from,
    recursively: a Pipeline's steps (``"gnn__lr"``), the bases of late fusion
    and stacking (``"cgcnn__gnn__lr"``), and:

    - graph networks: learning rate (log scale), weight decay (0 or a decade),
      batch size,
      width and depth of the network (``module__...``), and for early fusion
      the fusion width and dropout;
    - ``StructureGraphizer``: ``cutoff`` and ``max_neighbors``;
    - random forests and extra trees: ``n_estimators``, ``max_features``,
      ``min_samples_leaf``;
    - LightGBM: trees, learning rate, leaves, minimum child size, row and
      column subsampling, L2 penalty (inside ``AutoTargetTransformRegressor``
      and ``SeedEnsembleRegressor`` too);
    - ``LateFusionRegressor``: ``weights``, as :class:`SimplexWeights`.

    Parameters
    ----------
    estimator : estimator or Pipeline

    Returns
    -------
    dict
        ``{key: optuna distribution or SimplexWeights}``; edit it freely
        before passing it to :class:`HybridSearchCV`.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from skhybrid.featurizers import StructureGraphizer
    >>> from skhybrid.models import CGCNNRegressor
    >>> sorted(default_search_space(make_pipeline(StructureGraphizer(), CGCNNRegressor())))[:3]
    ['cgcnnregressor__batch_size', 'cgcnnregressor__lr', 'cgcnnregressor__module__hidden_channels']
    """
    from ..fusion import LateFusionRegressor, StackingFusionRegressor
    from ..models import AutoTargetTransformRegressor, SeedEnsembleRegressor

    space = dict(_own_space(estimator))
    children = []
    if isinstance(estimator, Pipeline):
        children = [(name, step) for name, step in estimator.steps if step not in (None, "passthrough")]
    elif isinstance(estimator, AutoTargetTransformRegressor):
        children = [("regressor", estimator.regressor)]
    elif isinstance(estimator, SeedEnsembleRegressor):
        children = [("estimator", estimator.estimator)]
    elif isinstance(estimator, (LateFusionRegressor, StackingFusionRegressor)):
        children = list(estimator.estimators)
        if isinstance(estimator, LateFusionRegressor) and not isinstance(estimator.weights, str):
            space["weights"] = SimplexWeights(len(estimator.estimators))
        if isinstance(estimator, StackingFusionRegressor) and estimator.final_estimator is not None:
            children.append(("final_estimator", estimator.final_estimator))
    for name, child in children:
        space.update({f"{name}__{key}": value for key, value in default_search_space(child).items()})
    return space


def check_search_space(estimator, space) -> None:
    """Raise ``ValueError`` for a key ``estimator`` has no parameter for, or a value that is no distribution.

    The message lists the valid keys. :class:`HybridSearchCV` calls it in
    ``fit``, before any trial runs.

    Parameters
    ----------
    estimator : estimator
        What the space is for (a Pipeline, a fusion model, a graph regressor...).
    space : dict
        ``{set_params key: optuna distribution or SimplexWeights}``.

    Examples
    --------
    >>> from optuna.distributions import IntDistribution
    >>> from sklearn.ensemble import RandomForestRegressor
    >>> from skhybrid.tuning import check_search_space
    >>> check_search_space(RandomForestRegressor(), {"max_depth": IntDistribution(2, 20)})
    >>> try:
    ...     check_search_space(RandomForestRegressor(), {"depth": IntDistribution(2, 20)})
    ... except ValueError as error:
    ...     print(str(error)[:60])
    Search-space key 'depth' is not a parameter of RandomForestR
    """
    if not isinstance(space, dict) or not space:
        raise ValueError("The search space must be a non-empty dict {set_params key: optuna distribution}.")
    params = estimator.get_params(deep=True)
    valid = set(params)
    for key, value in space.items():
        if key not in valid and not _is_network_passthrough(estimator, params, key):
            raise ValueError(
                f"Search-space key {key!r} is not a parameter of {type(estimator).__name__}; valid keys: "
                f"{', '.join(sorted(valid))}."
            )
        if not isinstance(value, (BaseDistribution, SimplexWeights)):
            raise ValueError(f"Search-space value of {key!r} must be an optuna distribution or SimplexWeights, "
                             f"got {value!r}.")


def graph_regressor_paths(estimator, params=None) -> list[str]:
    """``set_params`` prefixes of every graph network in ``estimator`` (``""`` for itself)."""
    from ..models import GraphEstimator

    params = estimator.get_params(deep=True) if params is None else params
    paths = [""] if isinstance(estimator, GraphEstimator) else []
    return paths + [f"{key}__" for key, value in params.items() if isinstance(value, GraphEstimator)]


def _is_network_passthrough(estimator, params, key: str) -> bool:
    """``module__*``-style keys of a graph network are valid before they are first set."""
    from ..models._base import PASSTHROUGH_PREFIXES

    return any(key.startswith(path) and key[len(path):].startswith(PASSTHROUGH_PREFIXES)
               for path in graph_regressor_paths(estimator, params))
