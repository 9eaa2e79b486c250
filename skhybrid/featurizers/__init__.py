"""Transformers from crystal structures and compositions to features."""

from ._magpie import MagpieFeaturizer

__all__ = ["MagpieFeaturizer"]
