"""Named, documented model defaults for the benchmark runner and ``skhybrid fit``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

__all__ = ["DEFAULT_MODELS", "MODELS", "ModelSpec", "build_model", "check_model_names"]


@dataclass(frozen=True)
class ModelSpec:
    """A registry entry: a name, what it is, and how to build it.

    Parameters
    ----------
    name : str
        The name ``--models`` takes.
    description : str
        One line shown by ``skhybrid benchmark --help`` and in the docs.
    build : callable
        ``build(seed, quick)`` returns a fresh, unfitted estimator that takes Structures.

    Examples
    --------
    >>> from skhybrid.benchmark import MODELS
    >>> MODELS["rf-magpie"].description
    '145 Magpie composition features + random forest (500 trees)'
    """

    name: str
    description: str
    build: Callable  # (seed: int, quick: bool) -> estimator taking Structures


def _trees(quick):
    return 50 if quick else 500


def _gnn(quick, **params):
    training = dict(max_epochs=5, patience=5) if quick else dict(max_epochs=300, patience=40)
    return {**training, **params}


def _rf(seed, quick):
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.pipeline import Pipeline

    from ..featurizers import MagpieFeaturizer

    return Pipeline([("magpie", MagpieFeaturizer()),
                     ("rf", RandomForestRegressor(n_estimators=_trees(quick), random_state=seed))])


def _graph_model(cls_name, graphizer, seed, quick, **params):
    from sklearn.pipeline import Pipeline

    from .. import models
    from ..featurizers import StructureGraphizer

    cls = getattr(models, cls_name)
    network = cls(**_gnn(quick, **params), random_state=seed)
    return Pipeline([("graph", StructureGraphizer(**graphizer)), ("gnn", network)])


def _cgcnn(seed, quick):
    return _graph_model("CGCNNRegressor", {}, seed, quick)


def _alignn(seed, quick):
    params = dict(module__hidden_channels=64)
    if not quick:
        params.update(max_epochs=100, patience=20)
    return _graph_model("ALIGNNRegressor", dict(line_graph=True), seed, quick, **params)


def _megnet(seed, quick):
    from ..featurizers import MagpieFeaturizer

    return _graph_model("MEGNetRegressor", dict(global_features=MagpieFeaturizer()), seed, quick)


def _early(fusion):
    def build(seed, quick):
        from sklearn.pipeline import Pipeline

        from ..featurizers import MagpieFeaturizer, StructureGraphizer
        from ..fusion import EarlyFusionRegressor

        return Pipeline([("graph", StructureGraphizer(global_features=MagpieFeaturizer())),
                         ("gnn", EarlyFusionRegressor("cgcnn", fusion, **_gnn(quick), random_state=seed))])

    return build


def _late(seed, quick):
    from ..fusion import LateFusionRegressor

    return LateFusionRegressor([("rf", _rf(seed, quick)), ("cgcnn", _cgcnn(seed, quick))], weights="oof",
                               cv=2 if quick else 3, random_state=seed)


def _late_all(seed, quick):
    from ..fusion import LateFusionRegressor

    bases = [("rf", _rf(seed, quick)), ("cgcnn", _cgcnn(seed, quick)),
             ("early-concat", _early("concat")(seed, quick)), ("early-attention", _early("attention")(seed, quick))]
    return LateFusionRegressor(bases, weights="oof", cv=2 if quick else 3, random_state=seed)


def _stacking(seed, quick):
    from ..featurizers import MagpieFeaturizer
    from ..fusion import StackingFusionRegressor

    return StackingFusionRegressor([("rf", _rf(seed, quick)), ("cgcnn", _cgcnn(seed, quick))],
                                   passthrough_features=MagpieFeaturizer(), cv=2 if quick else 3, random_state=seed)


def _dummy(seed, quick):
    from sklearn.dummy import DummyRegressor

    return DummyRegressor(strategy="mean")


MODELS: dict[str, ModelSpec] = {spec.name: spec for spec in [
    ModelSpec("dummy", "the training mean (scikit-learn's DummyRegressor): the floor every model must beat", _dummy),
    ModelSpec("rf-magpie", "145 Magpie composition features + random forest (500 trees)", _rf),
    ModelSpec("cgcnn", "CGCNN (Xie & Grossman 2018) on 12-neighbour graphs, up to 300 epochs, early stopping",
              _cgcnn),
    ModelSpec("alignn", "ALIGNN (Choudhary & DeCost 2021) with bond angles, width 64, up to 100 epochs", _alignn),
    ModelSpec("megnet", "MEGNet (Chen et al. 2019) with the Magpie vector as global state, up to 300 epochs",
              _megnet),
    ModelSpec("late-fusion", "rf-magpie and cgcnn averaged with weights chosen on out-of-fold predictions "
              "(3-fold, MAE)", _late),
    ModelSpec("late-fusion-all", "rf-magpie, cgcnn, early-fusion and early-fusion-attention averaged with "
              "out-of-fold weights: the best measured on phonons and jdft2d, about 6 minutes per phonons fold",
              _late_all),
    ModelSpec("stacking", "ridge on out-of-fold predictions of rf-magpie and cgcnn plus the Magpie features",
              _stacking),
    ModelSpec("early-fusion", "one CGCNN whose pooled graph vector is concatenated with the Magpie vector",
              _early("concat")),
    ModelSpec("early-fusion-attention", "one CGCNN whose graph vector and the Magpie vector are mixed by "
              "per-crystal attention weights", _early("attention")),
]}

#: what ``skhybrid benchmark TASK`` runs without ``--models``: about 25 minutes on matbench_phonons on 2 cores
DEFAULT_MODELS = ("dummy", "rf-magpie", "cgcnn", "early-fusion-attention", "late-fusion")


def check_model_names(names) -> list[str]:
    """The names, checked against the registry (a ``ValueError`` lists the valid ones)."""
    names = list(names)
    unknown = [name for name in names if name not in MODELS]
    if unknown:
        raise ValueError(f"Unknown model(s) {', '.join(map(repr, unknown))}. Valid names: {', '.join(MODELS)}.")
    if len(set(names)) != len(names):
        raise ValueError(f"Model names repeat: {names}.")
    return names


def build_model(name: str, *, seed: int = 0, quick: bool = False, device: str = "auto"):
    """A fresh, unfitted estimator for a registry name, with ``device`` set on every graph network.

    Parameters
    ----------
    name : str
        A key of :data:`MODELS`; an unknown name raises ``ValueError`` listing the valid ones.
    seed : int, default=0
        ``random_state`` of every part.
    quick : bool, default=False
        Short training (5 epochs, 50 trees, 2-fold internal CV), for smoke tests.
    device : str, default="auto"
        torch device of every graph network inside.

    Returns
    -------
    estimator
        Usually a Pipeline (featurizer or graphizer, then a model) or a fusion model over such Pipelines.

    Examples
    --------
    >>> from skhybrid.benchmark import build_model
    >>> model = build_model("rf-magpie", seed=0)
    >>> [name for name, _ in model.steps]
    ['magpie', 'rf']
    """
    from ..tuning._space import graph_regressor_paths

    check_model_names([name])
    model = MODELS[name].build(seed, quick)
    paths = graph_regressor_paths(model) if hasattr(model, "get_params") else []
    if paths:
        model.set_params(**{f"{path}device": device for path in paths})
    return model
