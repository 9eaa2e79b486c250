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
        Number of targets.
    loss : {"mae", "mse", "huber"}, default="mae"
        Elementwise loss.
    task_weights : sequence of float or None, default=None
        Fixed weights of the tasks; ``None`` weighs them equally.
    uncertainty : bool, default=False
        Learn the weights as log-variances instead.

    Examples
    --------
    >>> import torch
    >>> from skhybrid.models import MaskedMultiTaskLoss
    >>> loss = MaskedMultiTaskLoss(n_tasks=2)
    >>> y_true = torch.tensor([[1.0, float("nan")], [3.0, 2.0]])   # sample 0 has no label for task 1
    >>> loss(torch.tensor([[2.0, 5.0], [3.0, 1.0]]), y_true)        # task 0: mean(1, 0); task 1: 1
    tensor(1.5000)
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
        """The mean loss of each task over its labelled entries, and which tasks had any.

        Parameters
        ----------
        y_pred, y_true : Tensor of shape (n, n_tasks)
            Predictions and labels; NaN labels are missing.

        Returns
        -------
        per_task : Tensor of shape (n_tasks,)
        present : Tensor of bool, shape (n_tasks,)
        """
        labelled = ~torch.isnan(y_true)
        elementwise = _ELEMENTWISE[self.loss](y_pred, torch.where(labelled, y_true, y_pred.detach()))
        counts = labelled.sum(0)
        sums = torch.where(labelled, elementwise, torch.zeros_like(elementwise)).sum(0)
        present = counts > 0
        return sums / counts.clamp(min=1), present

    def forward(self, y_pred: Tensor, y_true: Tensor) -> Tensor:
        """The combined loss.

        Parameters
        ----------
        y_pred, y_true : Tensor of shape (n, n_tasks)
            Predictions and labels; NaN labels are missing.

        Returns
        -------
        Tensor (a scalar)
        """
        per_task, present = self.per_task(y_pred, y_true)
        if self.uncertainty:
            terms = torch.exp(-self.log_variance) * per_task + self.log_variance
        else:
            terms = self.task_weights * per_task
        return torch.where(present, terms, torch.zeros_like(terms)).sum()
