"""Leaderboard figures to show beside a benchmark's results."""

from __future__ import annotations

__all__ = ["CLASSIFICATION_NOTE", "LEADERBOARD", "LEADERBOARD_SOURCE"]

LEADERBOARD_SOURCE = ("Matbench v0.1 leaderboard (Dunn et al., npj Comput. Mater. 6, 138, 2020; "
                      "https://matbench.materialsproject.org, per-task pages): mean over the five official folds, "
                      "MAE for regression, 'rocauc' for classification")

#: what the leaderboard's classification score is, said beside it in reports
CLASSIFICATION_NOTE = ("The leaderboard's 'rocauc' is not the ROC-AUC of probabilities: matbench 0.6 "
                       "(`data_ops.score_array`) turns probabilities into labels at 0.5 before it computes it, "
                       "which makes it the balanced accuracy (the leaderboard lists the two as equal). Compare it "
                       "with the balanced accuracy column; the ROC-AUC column ranks the probabilities themselves.")

#: task -> {model: mean score over the official folds}, as the leaderboard lists them: MAE in the task's unit
#: for regression, Matbench's "rocauc" (in effect the balanced accuracy: :data:`CLASSIFICATION_NOTE`) for
#: classification. Where only the best entry is listed, it is the leaderboard's
#: top entry on its summary page; the rest come from the per-task pages.
LEADERBOARD = {
    "matbench_phonons": {"MEGNet (kgcnn)": 28.76, "ALIGNN": 29.5, "MODNet": 34.3, "CGCNN": 57.8,
                         "RF (Magpie)": 67.6},
    "matbench_jdft2d": {"MODNet": 33.19, "ALIGNN": 43.4, "CGCNN": 49.2, "RF (Magpie)": 50.0},
    "matbench_steels": {"MODNet": 87.76},
    "matbench_expt_gap": {"MODNet": 0.3327},
    "matbench_dielectric": {"MODNet": 0.2711},
    "matbench_log_gvrh": {"ALIGNN": 0.0715},
    "matbench_log_kvrh": {"MODNet": 0.0548},
    "matbench_perovskites": {"ALIGNN": 0.0288},
    "matbench_mp_gap": {"ALIGNN": 0.1861},
    "matbench_mp_e_form": {"ALIGNN": 0.0215, "CGCNN": 0.0337, "MODNet": 0.0448, "RF (Magpie)": 0.1165,
                           "Dummy": 1.0059},
    "matbench_mp_is_metal": {"CGCNN": 0.9520, "ALIGNN": 0.9128, "coGN": 0.9124, "MODNet": 0.9038,
                             "MEGNet (kgcnn)": 0.9021, "RF (Magpie)": 0.8992, "Dummy": 0.5012},
    "matbench_expt_is_metal": {"AMMExpress": 0.9209, "RF (Magpie)": 0.9167, "MODNet": 0.9161, "Dummy": 0.4924},
    "matbench_glass": {"MODNet": 0.9603, "AMMExpress": 0.8607, "RF (Magpie)": 0.8587, "Dummy": 0.5005},
}
