"""Plots of the contribution analyses (matplotlib, imported on use)."""

from __future__ import annotations

__all__ = ["plot_branch_importance", "plot_fusion_weights"]

#: one colour per branch in every plot
BRANCH_COLORS = {"composition": "tab:orange", "graph": "tab:blue"}


def plot_branch_importance(result, ax=None, *, unit: str = ""):
    """Bar chart of :func:`branch_importance`: mean MAE increase per branch, with the spread of the repeats.

    Returns the matplotlib Axes.
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
    """Histogram of per-sample attention weights (a :func:`fusion_weights` DataFrame). Returns the Axes."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(4, 3))
    ax.hist([weights[column] for column in weights.columns], bins=20, range=(0, 1), label=list(weights.columns),
            color=[BRANCH_COLORS.get(c, "tab:gray") for c in weights.columns])
    ax.set_xlabel("attention weight")
    ax.set_ylabel("samples")
    ax.legend()
    return ax
