"""Hybrids of composition models and graph networks: early, late and stacked fusion.

- :class:`EarlyFusionRegressor`: one network on the graph and the composition
  vector (concatenation or per-sample attention).
- :class:`LateFusionRegressor`: a convex combination of models on raw
  Structures, weights fixed or chosen on out-of-fold predictions.
- :class:`StackingFusionRegressor`: a final estimator on out-of-fold
  predictions plus composition features.
- :class:`LateFusionClassifier`, :class:`StackingFusionClassifier`: the same
  for classifiers (soft voting with out-of-fold weights; a meta-classifier on
  out-of-fold probabilities).
- :class:`DisjointHoldouts`: a few held-out slices, for out-of-fold weights on a budget.
"""

from ._late import LateFusionRegressor
from ._late_classifier import LateFusionClassifier
from ._splits import DisjointHoldouts
from ._stacking import StackingFusionRegressor
from ._stacking_classifier import StackingFusionClassifier

__all__ = ["DisjointHoldouts", "EarlyFusionRegressor", "LateFusionClassifier", "LateFusionRegressor",
           "StackingFusionClassifier", "StackingFusionRegressor"]


def __getattr__(name):
    # the early-fusion network needs torch; late fusion and stacking do not
    if name == "EarlyFusionRegressor":
        from ._early import EarlyFusionRegressor

        return EarlyFusionRegressor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
