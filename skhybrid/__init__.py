"""skhybrid: scikit-learn estimators that fuse composition features and crystal graph networks."""

from . import datasets
from .datasets import load_matbench, load_nomad2018, load_structures
from .featurizers import MagpieFeaturizer

__version__ = "0.1.0.dev0"

__all__ = [
    "MagpieFeaturizer",
    "datasets",
    "load_matbench",
    "load_nomad2018",
    "load_structures",
    "__version__",
]
