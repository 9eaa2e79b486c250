"""Point every featurizer inside a model at an on-disk store under one folder."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

__all__ = ["store_name", "use_stores"]


def store_name(featurizer) -> str:
    """``descriptors-<digest>``, ``chgnet-<digest>`` or ``graphs-<digest>``: one folder per kind and settings."""
    from ._graph import StructureGraphizer
    from ._pretrained import CHGNetFeaturizer
    from ._structure import StructureFeaturizer

    if isinstance(featurizer, (StructureFeaturizer, CHGNetFeaturizer)):
        kind = "descriptors" if isinstance(featurizer, StructureFeaturizer) else "chgnet"
        settings = {**featurizer._settings(), "definitions": featurizer._definitions}
    elif isinstance(featurizer, StructureGraphizer):
        kind, settings = "graphs", featurizer._graph_params()
    else:
        raise TypeError(f"{type(featurizer).__name__} has no on-disk store; StructureFeaturizer, "
                        "CHGNetFeaturizer and StructureGraphizer have.")
    digest = hashlib.blake2b(json.dumps(settings, sort_keys=True).encode(), digest_size=6).hexdigest()
    return f"{kind}-{digest}"


def use_stores(estimator, folder):
    """Give every ``StructureFeaturizer``, ``CHGNetFeaturizer`` and ``StructureGraphizer`` in ``estimator`` a store.

    Each gets ``folder/<kind>-<digest of its settings>``, so models with different graph or descriptor
    settings never share a store, and models with the same ones (every fold of a benchmark, the
    descriptor part of several hybrids, a later run) compute each structure once. What is computed
    does not change, only where it is kept.

    Parameters
    ----------
    estimator : estimator
        Found through ``get_params(deep=True)``: pipelines, feature unions, fusion models, ensembles.
    folder : str or path-like

    Returns
    -------
    estimator
        The same estimator, changed in place.

    Examples
    --------
    >>> import tempfile
    >>> from sklearn.pipeline import Pipeline
    >>> from skhybrid.featurizers import StructureFeaturizer, use_stores
    >>> model = use_stores(Pipeline([("features", StructureFeaturizer())]), tempfile.mkdtemp())
    >>> model.get_params()["features__store"].rsplit("/", 1)[-1].startswith("descriptors-")
    True
    """
    from ._graph import StructureGraphizer
    from ._pretrained import CHGNetFeaturizer
    from ._structure import StructureFeaturizer

    folder = Path(folder)
    kinds = (StructureFeaturizer, CHGNetFeaturizer, StructureGraphizer)
    if isinstance(estimator, kinds):
        estimator.set_params(store=str(folder / store_name(estimator)))
    changes = {f"{key}__store": str(folder / store_name(value))
               for key, value in estimator.get_params(deep=True).items() if isinstance(value, kinds)}
    estimator.set_params(**changes)
    return estimator
