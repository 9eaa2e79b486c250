"""Multi-task loss with missing labels and task weighting."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

__all__ = ["MaskedMultiTaskLoss"]

_ELEMENTWISE = {
    "mae": lambda pred, true: (pred - true).abs(),
    "mse": lambda pred, true: (pred - true) ** 2,
    "huber": lambda pred, true: F.huber_loss(pred, true, reduction="none", delta=1.0),
}


class MaskedMultiTaskLoss(nn.Module):
    r"""Per-task mean loss over the labelled entries, combined across tasks.

    A NaN label is missing: it contributes nothing, so datasets whose targets
    cover different samples train together. With ``task_weights`` the tasks
    are summed with fixed weights (normalised to sum to the number of tasks);
    with ``uncertainty=True`` the weights are learned as in Kendall, Gal &
    Cipolla, CVPR 2018:

    .. math:: L = \sum_k e^{-s_k} L_k + s_k

    where :math:`s_k` is a learned log-variance (one parameter per task).

    Parameters
    ----------
    n_tasks : int
    loss : {"mae", "mse", "huber"}, default="mae"
    task_weights : sequence of float or None
    uncertainty : bool, default=False
    """

    def __init__(self, n_tasks: int, loss: str = "mae", task_weights=None, uncertainty: bool = False):
        super().__init__()
        self.n_tasks = n_tasks
        self.loss = loss
        self.uncertainty = uncertainty
        weights = torch.ones(n_tasks) if task_weights is None else torch.as_tensor(task_weights, dtype=torch.float32)
        self.register_buffer("task_weights", weights * n_tasks / weights.sum())
        if uncertainty:
            self.log_variance = nn.Parameter(torch.zeros(n_tasks))

    def per_task(self, y_pred: Tensor, y_true: Tensor) -> tuple[Tensor, Tensor]:
        """The mean loss of each task over its labelled entries, and which tasks had any."""
        labelled = ~torch.isnan(y_true)
        elementwise = _ELEMENTWISE[self.loss](y_pred, torch.where(labelled, y_true, y_pred.detach()))
        counts = labelled.sum(0)
        sums = torch.where(labelled, elementwise, torch.zeros_like(elementwise)).sum(0)
        present = counts > 0
        return sums / counts.clamp(min=1), present

    def forward(self, y_pred: Tensor, y_true: Tensor) -> Tensor:
        per_task, present = self.per_task(y_pred, y_true)
        if self.uncertainty:
            terms = torch.exp(-self.log_variance) * per_task + self.log_variance
        else:
            terms = self.task_weights * per_task
        return torch.where(present, terms, torch.zeros_like(terms)).sum()
