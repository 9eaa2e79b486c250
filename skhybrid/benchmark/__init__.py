"""The Matbench benchmark runner behind ``skhybrid benchmark``.

- :func:`run_benchmark`: every (model, fold) fitted, scored and saved at once;
  reruns resume; reports in Markdown and HTML with plots and Matbench files.
- :data:`MODELS` and :func:`build_model`: the catalogue of named models (:mod:`skhybrid.catalogue`).
- :data:`LEADERBOARD`: reference figures shown beside the results (every Matbench v0.1 task).
- :data:`REGRESSION`, :data:`CLASSIFICATION`: what each kind of task is scored by (MAE; ROC-AUC).
"""

from ._references import LEADERBOARD, LEADERBOARD_SOURCE
from ..catalogue import DEFAULT_MODELS, MODELS, ModelSpec, build_model
from ._report import summarize, write_report
from ._metrics import CLASSIFICATION, REGRESSION, TaskMetrics, task_metrics
from ._runner import load_benchmark_data, load_records, run_benchmark, user_targets

__all__ = ["CLASSIFICATION", "DEFAULT_MODELS", "LEADERBOARD", "LEADERBOARD_SOURCE", "MODELS", "ModelSpec",
           "REGRESSION", "TaskMetrics", "build_model", "load_benchmark_data", "load_records", "run_benchmark",
           "summarize", "task_metrics", "user_targets", "write_report"]
