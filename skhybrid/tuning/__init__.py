"""Hyperparameter tuning with Optuna and cross-validation.

- :class:`HybridSearchCV`: search over any skhybrid estimator or pipeline,
  with pruning of graph-network trials and resumable, shareable studies
  (SQLite file, PostgreSQL, any Optuna RDB URL).
- :func:`default_search_space`: a search space for every skhybrid estimator,
  keyed by ``set_params`` names; :class:`SimplexWeights` for fusion weights.
- :class:`OptunaPruningCallback`: the skorch callback behind pruning.
"""

from ._pruning import OptunaPruningCallback
from ._search import HybridSearchCV
from ._space import SimplexWeights, check_search_space, default_search_space

__all__ = ["HybridSearchCV", "OptunaPruningCallback", "SimplexWeights", "check_search_space",
           "default_search_space"]
