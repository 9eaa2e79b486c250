"""What a benchmark scores: MAE and friends for regression, ROC-AUC and friends for classification."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["CLASSIFICATION", "REGRESSION", "TaskMetrics", "classification_scores", "regression_scores",
           "task_metrics"]


@dataclass(frozen=True)
class TaskMetrics:
    """The metrics of one kind of task: the one models are ranked by, and the others the report shows.

    Parameters
    ----------
    task_type : {"regression", "classification"}
    primary : str
        The metric models are ranked by (a key of ``labels``).
    higher_is_better : bool
        Whether a larger ``primary`` is better (ROC-AUC) or worse (MAE).
    labels : dict
        Metric name to its label in reports, the primary one first.

    Examples
    --------
    >>> from skhybrid.benchmark import CLASSIFICATION, task_metrics
    >>> task_metrics("classification") is CLASSIFICATION, CLASSIFICATION.label
    (True, 'ROC-AUC')
    """

    task_type: str
    primary: str
    higher_is_better: bool
    #: metric -> its label in reports, the primary one first
    labels: dict

    @property
    def label(self) -> str:
        return self.labels[self.primary]

    def best_first(self, table, column=None):
        """``table`` sorted with the best model first.

        Parameters
        ----------
        table : DataFrame
        column : str, optional
            The column to sort by; ``<primary>_mean`` by default.

        Returns
        -------
        DataFrame
        """
        return table.sort_values(column or f"{self.primary}_mean", ascending=not self.higher_is_better)


REGRESSION = TaskMetrics("regression", "mae", False,
                         {"mae": "MAE", "rmse": "RMSE", "r2": "R^2", "max_error": "max error"})
#: Matbench scores classification by ROC-AUC on probabilities (``matbench.constants.CLF_METRICS``)
CLASSIFICATION = TaskMetrics("classification", "roc_auc", True,
                             {"roc_auc": "ROC-AUC", "accuracy": "accuracy", "balanced_accuracy": "balanced accuracy",
                              "f1": "F1", "log_loss": "log loss"})


def task_metrics(task_type: str) -> TaskMetrics:
    """:data:`REGRESSION` or :data:`CLASSIFICATION`, by name.

    Parameters
    ----------
    task_type : {"regression", "classification"}

    Returns
    -------
    TaskMetrics

    Examples
    --------
    >>> from skhybrid.benchmark import task_metrics
    >>> task_metrics("regression").primary
    'mae'
    """
    if task_type == "classification":
        return CLASSIFICATION
    if task_type == "regression":
        return REGRESSION
    raise ValueError(f"task_type must be 'regression' or 'classification', got {task_type!r}.")


def regression_scores(y_true, y_pred) -> dict:
    """MAE, RMSE, R^2 and max error."""
    from sklearn.metrics import max_error, mean_absolute_error, mean_squared_error, r2_score

    return dict(mae=float(mean_absolute_error(y_true, y_pred)),
                rmse=float(np.sqrt(mean_squared_error(y_true, y_pred))),
                r2=float(r2_score(y_true, y_pred)), max_error=float(max_error(y_true, y_pred)))


def classification_scores(y_true, y_pred, proba, classes) -> dict:
    """ROC-AUC (of the probabilities; one-vs-rest macro for more than two classes), accuracy, balanced
    accuracy, F1 (of ``classes[1]`` for two classes, macro for more) and log loss.

    ROC-AUC is NaN when the test labels hold one class only (it is undefined there).
    """
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score, log_loss, roc_auc_score

    classes = np.asarray(classes)
    proba = np.clip(np.asarray(proba, dtype=float), 1e-15, 1)
    binary = len(classes) == 2
    if len(np.unique(y_true)) < 2:
        roc_auc = float("nan")
    elif binary:
        roc_auc = float(roc_auc_score(np.asarray(y_true) == classes[1], proba[:, 1]))
    else:
        roc_auc = float(roc_auc_score(y_true, proba / proba.sum(axis=1, keepdims=True), multi_class="ovr",
                                      labels=classes))
    f1 = f1_score(y_true, y_pred, pos_label=classes[1]) if binary else \
        f1_score(y_true, y_pred, average="macro", labels=classes)
    return dict(roc_auc=roc_auc, accuracy=float(accuracy_score(y_true, y_pred)),
                balanced_accuracy=float(balanced_accuracy_score(y_true, y_pred)), f1=float(f1),
                log_loss=float(log_loss(y_true, proba / proba.sum(axis=1, keepdims=True), labels=classes)))
