"""Graph-network regressors (skorch inside, scikit-learn outside)."""

from ._base import GraphRegressor
from ._loss import MaskedMultiTaskLoss
from ._regressors import ALIGNNRegressor, CGCNNRegressor, MEGNetRegressor

__all__ = ["ALIGNNRegressor", "CGCNNRegressor", "GraphRegressor", "MaskedMultiTaskLoss", "MEGNetRegressor"]
