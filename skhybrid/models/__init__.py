"""Graph-network regressors (skorch inside, scikit-learn outside)."""

from ._base import GraphRegressor
from ._ensemble import SeedEnsembleRegressor
from ._loss import MaskedMultiTaskLoss
from ._regressors import ALIGNNRegressor, CGCNNRegressor, MEGNetRegressor, SchNetRegressor
from ._target import AutoTargetTransformRegressor

__all__ = ["ALIGNNRegressor", "AutoTargetTransformRegressor", "CGCNNRegressor", "GraphRegressor",
           "MaskedMultiTaskLoss", "MEGNetRegressor", "SchNetRegressor", "SeedEnsembleRegressor"]
