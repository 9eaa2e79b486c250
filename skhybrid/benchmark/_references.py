"""Leaderboard figures to show beside a benchmark's results."""

from __future__ import annotations

__all__ = ["LEADERBOARD", "LEADERBOARD_SOURCE"]

LEADERBOARD_SOURCE = ("Matbench v0.1 leaderboard (Dunn et al., npj Comput. Mater. 6, 138, 2020; "
                      "https://matbench.materialsproject.org): mean MAE over the five official folds")

#: task -> {model: mean MAE in the task's unit}, as the leaderboard lists them
LEADERBOARD = {
    "matbench_phonons": {"MEGNet (kgcnn)": 28.76, "ALIGNN": 29.5, "MODNet": 34.3, "CGCNN": 57.8,
                         "RF (Magpie)": 67.6},
    "matbench_jdft2d": {"MODNet": 33.19, "ALIGNN": 43.4, "CGCNN": 49.2, "RF (Magpie)": 50.0},
}
