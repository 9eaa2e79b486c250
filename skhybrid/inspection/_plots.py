"""Plots of the contribution analyses (matplotlib, imported on use)."""

from __future__ import annotations

__all__ = ["plot_branch_importance", "plot_fusion_weights"]

#: one colour per branch in every plot
BRANCH_COLORS = {"composition": "tab:orange", "graph": "tab:blue"}


def plot_branch_importance(result, ax=None, *, unit: str = ""):
    """Bar chart of :func:`branch_importance`: mean MAE increase per branch, with the spread of the repeats.

    Parameters
    ----------
    result : Bunch
        What :func:`~skhybrid.inspection.branch_importance` returns.
    ax : matplotlib Axes, default=None
        Where to draw; a new 4 x 3 inch figure when ``None``.
    unit : str, default=""
        The target's unit, for the axis label.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.utils import Bunch
    >>> from skhybrid.inspection import plot_branch_importance
    >>> result = Bunch(branches=("composition", "graph"), baseline_mae=50.3,
    ...                importances_mean=np.array([342.3, 133.9]), importances_std=np.array([11.0, 8.7]))
    >>> ax = plot_branch_importance(result, unit="cm$^{-1}$")
    >>> ax.get_ylabel()
    'MAE increase (cm$^{-1}$)'
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(4, 3))
    positions = range(len(result.branches))
    ax.bar(positions, result.importances_mean, yerr=result.importances_std, capsize=4,
           color=[BRANCH_COLORS.get(b, "tab:gray") for b in result.branches])
    ax.set_xticks(list(positions), [f"{b}\npermuted" for b in result.branches])
    ax.set_ylabel(f"MAE increase{f' ({unit})' if unit else ''}")
    ax.set_title(f"Branch importance (intact MAE {result.baseline_mae:.3g})")
    return ax


def plot_fusion_weights(weights, ax=None):
    """Histogram of per-sample attention weights.

    Parameters
    ----------
    weights : DataFrame
        What :func:`~skhybrid.inspection.fusion_weights` returns: one column per branch.
    ax : matplotlib Axes, default=None
        Where to draw; a new 4 x 3 inch figure when ``None``.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import pandas as pd
    >>> from skhybrid.inspection import plot_fusion_weights
    >>> weights = pd.DataFrame({"composition": [0.7, 0.9, 0.4], "graph": [0.3, 0.1, 0.6]})
    >>> ax = plot_fusion_weights(weights)
    >>> ax.get_xlabel()
    'attention weight'
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(4, 3))
    ax.hist([weights[column] for column in weights.columns], bins=20, range=(0, 1), label=list(weights.columns),
            color=[BRANCH_COLORS.get(c, "tab:gray") for c in weights.columns])
    ax.set_xlabel("attention weight")
    ax.set_ylabel("samples")
    ax.legend()
    return ax
