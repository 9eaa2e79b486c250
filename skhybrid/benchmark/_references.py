"""Leaderboard figures to show beside a benchmark's results."""

from __future__ import annotations

__all__ = ["LEADERBOARD", "LEADERBOARD_SOURCE"]

LEADERBOARD_SOURCE = ("Matbench v0.1 leaderboard, https://matbench.materialsproject.org, mean MAE over the "
                      "five official folds (rounded to 0.1 as quoted in skhybrid's issue tracker)")

#: task -> {model: mean MAE in the task's unit}
LEADERBOARD = {
    "matbench_phonons": {"MEGNet": 28.8, "ALIGNN": 29.5, "CGCNN": 57.8, "RF (Magpie)": 67.6},
    "matbench_jdft2d": {"MODNet": 33.2, "ALIGNN": 43.4, "CGCNN": 49.2, "RF (Magpie)": 50.0},
}
