"""Transformers from crystal structures and compositions to features and graphs.

The graph classes import torch and torch-geometric (several seconds), so they are
loaded on first use: ``import skhybrid`` stays fast for composition-only work.
"""

import importlib

from ._magpie import MagpieFeaturizer
from ._structure import StructureFeaturizer

_LAZY = {"CHGNetFeaturizer": "._pretrained", "StructureGraphizer": "._graph", "CrystalGraph": "._crystal_graph", "clear_graph_cache": "._graph_cache",
         "GraphStore": "._graph_store", "write_graph_store": "._graph_store", "use_stores": "._stores"}

__all__ = ["CHGNetFeaturizer", "CrystalGraph", "GraphStore", "MagpieFeaturizer", "StructureFeaturizer", "StructureGraphizer",
           "clear_graph_cache", "use_stores", "write_graph_store"]


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
