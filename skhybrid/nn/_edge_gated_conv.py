"""The edge-gated graph convolution used by ALIGNN."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F
from torch_geometric.utils import scatter

__all__ = ["EdgeGatedGraphConv"]


class EdgeGatedGraphConv(nn.Module):
    r"""Edge-gated graph convolution with the residual updates of ALIGNN (Choudhary & DeCost 2021, Eqs. 1-3).

    The gated GCN of Bresson & Laurent (2017), as written by Dwivedi et al. (2020);
    reference for the variant: K. Choudhary and B. DeCost, *npj Comput. Mater.* 7, 185 (2021).

    For an edge :math:`j \to i` with features :math:`\mathbf{e}_{ij}`:

    .. math::
        \hat{\mathbf{e}}_{ij} &= \mathbf{A}\mathbf{h}_i + \mathbf{B}\mathbf{h}_j + \mathbf{C}\mathbf{e}_{ij} \\
        \boldsymbol{\eta}_{ij} &= \frac{\sigma(\hat{\mathbf{e}}_{ij})}
            {\sum_{k} \sigma(\hat{\mathbf{e}}_{ik}) + \epsilon} \\
        \mathbf{h}_i' &= \mathbf{h}_i + \mathrm{SiLU}\Big(\mathrm{BN}\big(\mathbf{U}\mathbf{h}_i +
            \textstyle\sum_j \boldsymbol{\eta}_{ij} \odot \mathbf{V}\mathbf{h}_j\big)\Big) \\
        \mathbf{e}_{ij}' &= \mathbf{e}_{ij} + \mathrm{SiLU}(\mathrm{BN}(\hat{\mathbf{e}}_{ij}))

    ALIGNN applies it twice per layer: on the line graph (nodes are bonds,
    edges are bond pairs with angle features) and on the atom graph.
    The four node maps :math:`\mathbf{A, B, U, V}` are one ``Linear`` of
    width ``4 * channels`` (one matrix product instead of four).

    Parameters
    ----------
    channels : int
        Width of node and edge vectors (unchanged by the layer).
    residual : bool, default=True

    Examples
    --------
    >>> import torch
    >>> from skhybrid.nn import EdgeGatedGraphConv
    >>> conv = EdgeGatedGraphConv(8)
    >>> x, edge_attr = torch.randn(3, 8), torch.randn(4, 8)
    >>> edge_index = torch.tensor([[1, 2, 0, 0], [0, 0, 1, 2]])
    >>> [t.shape for t in conv(x, edge_index, edge_attr)]
    [torch.Size([3, 8]), torch.Size([4, 8])]
    """

    def __init__(self, channels: int, residual: bool = True):
        super().__init__()
        self.channels = channels
        self.residual = residual
        self.node_maps = nn.Linear(channels, 4 * channels)
        self.edge_map = nn.Linear(channels, channels)
        self.bn_nodes = nn.BatchNorm1d(channels)
        self.bn_edges = nn.BatchNorm1d(channels)
        self.eps = 1e-6

    def reset_parameters(self) -> None:
        """Re-initialise every learnable parameter (and the batch-norm statistics)."""
        for layer in (self.node_maps, self.edge_map, self.bn_nodes, self.bn_edges):
            layer.reset_parameters()

    def forward(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor) -> tuple[Tensor, Tensor]:
        """Update the node and edge vectors.

        Parameters
        ----------
        x : Tensor of shape (n_nodes, channels)
        edge_index : Tensor of shape (2, n_edges)
            Row 0 the source, row 1 the destination.
        edge_attr : Tensor of shape (n_edges, channels)

        Returns
        -------
        x, edge_attr : Tensor
            The updated vectors, shapes as given.
        """
        src, dst = edge_index
        gate_dst, gate_src, update_self, update_src = self.node_maps(x).chunk(4, dim=-1)
        edge_hat = gate_dst[dst] + gate_src[src] + self.edge_map(edge_attr)
        sigma = torch.sigmoid(edge_hat)
        n = x.size(0)
        weighted = scatter(sigma * update_src[src], dst, dim=0, dim_size=n, reduce="sum")
        norm = scatter(sigma, dst, dim=0, dim_size=n, reduce="sum")
        x_new = F.silu(self.bn_nodes(update_self + weighted / (norm + self.eps)))
        e_new = F.silu(self.bn_edges(edge_hat))
        if self.residual:
            x_new = x + x_new
            e_new = edge_attr + e_new
        return x_new, e_new

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.channels})"
