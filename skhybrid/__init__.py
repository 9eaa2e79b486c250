"""skhybrid: scikit-learn estimators that fuse composition features and crystal graph networks."""

from . import datasets
from .datasets import load_matbench, load_nomad2018, load_structures
from .featurizers import MagpieFeaturizer

__version__ = "0.1.0.dev0"

__all__ = [
    "CrystalGraph",
    "MagpieFeaturizer",
    "StructureGraphizer",
    "datasets",
    "load_matbench",
    "load_nomad2018",
    "load_structures",
    "__version__",
]


def __getattr__(name):
    # graph classes load torch on first use; see skhybrid.featurizers
    if name in ("CrystalGraph", "StructureGraphizer"):
        from . import featurizers

        return getattr(featurizers, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
