"""Class-weighted log loss on logits: binary (one logit) or multi-class (one logit per class)."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

__all__ = ["WeightedLogLoss"]


class WeightedLogLoss(nn.Module):
    r"""Weighted mean log loss of logits against class indices.

    With two classes the network has one output, the logit of the second
    class, and the loss is binary cross-entropy; with :math:`C > 2` it has
    :math:`C` outputs and the loss is the cross-entropy of their softmax. The
    sample of class :math:`c` weighs :math:`w_c`, and the loss is the weighted
    mean :math:`\sum_i w_{y_i} \ell_i / \sum_i w_{y_i}` (scikit-learn's
    ``class_weight`` convention).

    Parameters
    ----------
    n_classes : int
        At least 2.
    class_weights : sequence of float, optional
        One weight per class (in ``classes_`` order); equal weights by default.

    Examples
    --------
    >>> import torch
    >>> from skhybrid.models import WeightedLogLoss
    >>> loss = WeightedLogLoss(2)
    >>> round(float(loss(torch.zeros(4, 1), torch.tensor([[0.0], [1.0], [1.0], [0.0]]))), 4)   # log 2
    0.6931
    """

    def __init__(self, n_classes: int, class_weights=None):
        super().__init__()
        self.n_classes = n_classes
        weights = torch.ones(n_classes) if class_weights is None else torch.as_tensor(class_weights,
                                                                                      dtype=torch.float32)
        self.register_buffer("class_weights", weights)

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        """The weighted mean log loss.

        Parameters
        ----------
        logits : Tensor of shape (n, 1) or (n, n_classes)
        target : Tensor of shape (n, 1)
            Class indices, as floats (the way the training loop carries targets).

        Returns
        -------
        Tensor
            A scalar.
        """
        # targets travel as float (n, 1) class indices, like regression targets
        labels = target.reshape(-1).long()
        weights = self.class_weights[labels]
        if self.n_classes == 2:
            losses = F.binary_cross_entropy_with_logits(logits.reshape(-1), labels.float(), reduction="none")
        else:
            losses = F.cross_entropy(logits, labels, reduction="none")
        return (weights * losses).sum() / weights.sum()
