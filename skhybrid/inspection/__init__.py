"""What a hybrid model relies on.

- :func:`branch_importance`: composition-versus-graph contribution of an
  early-fusion model (MAE increase when each branch is permuted).
- :func:`fusion_weights`: per-sample attention weights of an attention model.
- :func:`late_fusion_summary`: late-fusion weights beside each base's error.
- :func:`negative_transfer`: single-task against multi-task, per target.
- :func:`negative_transfer_cv`: the same on every split of a cross-validation.
- :func:`plot_branch_importance`, :func:`plot_fusion_weights`.
"""

from ._contribution import branch_importance, fusion_weights
from ._late import late_fusion_summary
from ._plots import plot_branch_importance, plot_fusion_weights
from ._transfer import negative_transfer, negative_transfer_cv

__all__ = [
    "branch_importance",
    "fusion_weights",
    "late_fusion_summary",
    "negative_transfer",
    "negative_transfer_cv",
    "plot_branch_importance",
    "plot_fusion_weights",
]
