"""Graph-network regressors and classifiers (skorch inside, scikit-learn outside)."""

from ._auxiliary import AuxiliaryTargetRegressor
from ._base import GraphEstimator, GraphRegressor
from ._classification_loss import WeightedLogLoss
from ._classifier import GraphClassifier
from ._classifiers import ALIGNNClassifier, CGCNNClassifier, MEGNetClassifier, SchNetClassifier
from ._ensemble import SeedEnsembleRegressor
from ._loss import MaskedMultiTaskLoss
from ._regressors import ALIGNNRegressor, CGCNNRegressor, MEGNetRegressor, SchNetRegressor
from ._target import AutoTargetTransformRegressor

__all__ = ["ALIGNNClassifier", "ALIGNNRegressor", "AutoTargetTransformRegressor", "AuxiliaryTargetRegressor", "CGCNNClassifier",
           "CGCNNRegressor", "GraphClassifier", "GraphEstimator", "GraphRegressor", "MaskedMultiTaskLoss",
           "MEGNetClassifier", "MEGNetRegressor", "SchNetClassifier", "SchNetRegressor", "SeedEnsembleRegressor",
           "WeightedLogLoss"]
