"""skhybrid: scikit-learn estimators that fuse composition features and crystal graph networks."""

from . import datasets
from ._config import config_context, get_config, set_config
from .datasets import load_matbench, load_nomad2018, load_structures
from .featurizers import MagpieFeaturizer, StructureFeaturizer

__version__ = "0.1.0.dev0"

_LAZY = {
    "CHGNetFeaturizer": "featurizers",
    "CrystalGraph": "featurizers",
    "StructureGraphizer": "featurizers",
    "GraphRegressor": "models",
    "CGCNNRegressor": "models",
    "ALIGNNRegressor": "models",
    "MEGNetRegressor": "models",
    "EarlyFusionRegressor": "fusion",
    "LateFusionRegressor": "fusion",
    "StackingFusionRegressor": "fusion",
    "HybridSearchCV": "tuning",
    "save_model": "_persistence",
    "load_model": "_persistence",
}

__all__ = [
    "ALIGNNRegressor",
    "CGCNNRegressor",
    "CHGNetFeaturizer",
    "CrystalGraph",
    "EarlyFusionRegressor",
    "GraphRegressor",
    "HybridSearchCV",
    "LateFusionRegressor",
    "MEGNetRegressor",
    "MagpieFeaturizer",
    "StackingFusionRegressor",
    "StructureFeaturizer",
    "StructureGraphizer",
    "config_context",
    "datasets",
    "get_config",
    "load_matbench",
    "load_model",
    "load_nomad2018",
    "load_structures",
    "save_model",
    "set_config",
    "__version__",
]


def __getattr__(name):
    # graph classes and networks load torch on first use: `import skhybrid` stays fast
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
