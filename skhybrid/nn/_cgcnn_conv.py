"""The crystal graph convolution of CGCNN."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F
from torch_geometric.nn import MessagePassing

__all__ = ["CGCNNConv"]


class CGCNNConv(MessagePassing):
    r"""Gated crystal graph convolution of CGCNN (Xie & Grossman 2018, Eq. 5).

    Reference: T. Xie and J. C. Grossman, *Phys. Rev. Lett.* 120, 145301 (2018).

    For atom :math:`i` with neighbours :math:`j` (one term per bond, so
    periodic images of one atom count separately) and bond features
    :math:`\mathbf{u}_{ij}`:

    .. math::
        \mathbf{z}_{ij} &= \mathbf{v}_i \oplus \mathbf{v}_j \oplus \mathbf{u}_{ij} \\
        \mathbf{g}_{ij} \oplus \mathbf{c}_{ij} &= \mathrm{BN}(\mathbf{z}_{ij} \mathbf{W} + \mathbf{b}) \\
        \mathbf{v}_i' &= \mathrm{softplus}\Big(\mathbf{v}_i + \mathrm{BN}\big(\textstyle\sum_j
            \sigma(\mathbf{g}_{ij}) \odot \mathrm{softplus}(\mathbf{c}_{ij})\big)\Big)

    The filter (:math:`\mathbf{g}`) and core (:math:`\mathbf{c}`) halves come
    from one linear map. Its atom blocks are applied per atom and gathered per
    bond (a linear map of a concatenation is the sum of the blocks' maps), so
    the large product runs over atoms, not the ~12x more bonds. The batch norms and the softplus after the residual
    follow the authors' implementation; ``torch_geometric.nn.CGConv`` leaves
    them out, and its networks train to a worse error on crystal data.

    Parameters
    ----------
    channels : int
        Width of the atom vectors (unchanged by the layer).
    edge_dim : int
        Width of the bond features.
    batch_norm : bool, default=True
        Whether to normalise the pre-gate features and the summed messages.

    Examples
    --------
    >>> import torch
    >>> from skhybrid.nn import CGCNNConv
    >>> conv = CGCNNConv(channels=16, edge_dim=41)
    >>> x, edge_attr = torch.randn(3, 16), torch.randn(4, 41)
    >>> edge_index = torch.tensor([[1, 2, 0, 0], [0, 0, 1, 2]])   # neighbour j -> centre i
    >>> conv(x, edge_index, edge_attr).shape
    torch.Size([3, 16])
    """

    def __init__(self, channels: int, edge_dim: int, batch_norm: bool = True):
        super().__init__(aggr="add")
        self.channels = channels
        self.edge_dim = edge_dim
        self.lin = nn.Linear(2 * channels + edge_dim, 2 * channels)
        self.bn_messages = nn.BatchNorm1d(2 * channels) if batch_norm else nn.Identity()
        self.bn_sum = nn.BatchNorm1d(channels) if batch_norm else nn.Identity()
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-initialise every learnable parameter (and the batch-norm statistics)."""
        super().reset_parameters()
        self.lin.reset_parameters()
        for norm in (self.bn_messages, self.bn_sum):
            if isinstance(norm, nn.BatchNorm1d):
                norm.reset_parameters()

    def forward(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor) -> Tensor:
        """Update the atom vectors.

        Parameters
        ----------
        x : Tensor of shape (n_atoms, channels)
        edge_index : Tensor of shape (2, n_bonds)
            Row 0 the neighbour, row 1 the centre.
        edge_attr : Tensor of shape (n_bonds, edge_dim)

        Returns
        -------
        Tensor of shape (n_atoms, channels)
        """
        # edge_index[0] is the neighbour j, edge_index[1] the centre i
        w_atoms, w_edge = self.lin.weight.split([2 * self.channels, self.edge_dim], dim=1)
        centre, neighbor = F.linear(x, torch.cat(w_atoms.chunk(2, dim=1), dim=0)).chunk(2, dim=-1)
        edge = F.linear(edge_attr, w_edge, self.lin.bias)
        summed = self.propagate(edge_index, centre=centre, neighbor=neighbor, edge=edge,
                                size=(x.size(0), x.size(0)))
        return F.softplus(x + self.bn_sum(summed))

    def message(self, centre_i: Tensor, neighbor_j: Tensor, edge: Tensor) -> Tensor:
        """The gated message of each bond (torch-geometric's ``MessagePassing`` hook).

        Parameters
        ----------
        centre_i, neighbor_j : Tensor of shape (n_bonds, 2 * channels)
            The centre's and the neighbour's blocks of the linear map, gathered per bond.
        edge : Tensor of shape (n_bonds, 2 * channels)
            The bond block of the linear map, bias included.

        Returns
        -------
        Tensor of shape (n_bonds, channels)
        """
        gate, core = self.bn_messages(centre_i + neighbor_j + edge).chunk(2, dim=-1)
        return torch.sigmoid(gate) * F.softplus(core)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.channels}, edge_dim={self.edge_dim})"
