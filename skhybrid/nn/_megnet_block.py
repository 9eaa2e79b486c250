"""The MEGNet graph network block: bond, atom and global-state updates."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F
from torch_geometric.utils import scatter

from ._layers import MLP

__all__ = ["MEGNetBlock"]


class MEGNetBlock(nn.Module):
    r"""One MEGNet block (Chen et al. 2019, Eqs. 1-6).

    Reference: C. Chen, W. Ye, Y. Zuo, C. Zheng and S. P. Ong, *Chem. Mater.* 31, 3564 (2019).

    For bond :math:`k` from atom :math:`s_k` to atom :math:`r_k` in a crystal
    with state :math:`\mathbf{u}`:

    .. math::
        \mathbf{e}_k' &= \phi_e(\mathbf{v}_{s_k} \oplus \mathbf{v}_{r_k} \oplus \mathbf{e}_k \oplus \mathbf{u}) \\
        \mathbf{v}_i' &= \phi_v(\bar{\mathbf{e}}_i \oplus \mathbf{v}_i \oplus \mathbf{u}),
            \quad \bar{\mathbf{e}}_i = \mathrm{mean}_{k: r_k = i}\, \mathbf{e}_k' \\
        \mathbf{u}' &= \phi_u(\bar{\mathbf{e}} \oplus \bar{\mathbf{v}} \oplus \mathbf{u})

    where :math:`\bar{\mathbf{e}}, \bar{\mathbf{v}}` average the updated bonds
    and atoms of the crystal, and each :math:`\phi` is an MLP with shifted
    softplus activations (widths ``mlp_channels``, the paper's 64, 64, 32).

    Parameters
    ----------
    channels : int
        Width of the incoming atom, bond and state vectors.
    mlp_channels : sequence of int, default=(64, 64, 32)
        Widths of the three MLPs; the last is the width of the updated vectors.
    plain_last : bool, default=False
        End each MLP with a linear layer, as the reference implementations (Chen et al.'s ``megnet``,
        kgcnn) do; ``False`` applies the activation after every layer.

    Examples
    --------
    >>> import torch
    >>> from skhybrid.nn import MEGNetBlock
    >>> block = MEGNetBlock(channels=8, mlp_channels=(16, 8))
    >>> x, edge_attr, u = torch.randn(3, 8), torch.randn(4, 8), torch.randn(1, 8)
    >>> edge_index, batch = torch.tensor([[1, 2, 0, 0], [0, 0, 1, 2]]), torch.zeros(3, dtype=torch.long)
    >>> [t.shape for t in block(x, edge_index, edge_attr, u, batch)]
    [torch.Size([3, 8]), torch.Size([4, 8]), torch.Size([1, 8])]
    """

    def __init__(self, channels: int, mlp_channels=(64, 64, 32), plain_last: bool = False):
        super().__init__()
        widths = list(mlp_channels)
        self.channels = channels
        self.out_channels = widths[-1]
        self.edge_mlp = MLP([4 * channels] + widths, activation="shifted_softplus", plain_last=plain_last)
        self.node_mlp = MLP([2 * channels + widths[-1]] + widths, activation="shifted_softplus", plain_last=plain_last)
        self.state_mlp = MLP([channels + 2 * widths[-1]] + widths, activation="shifted_softplus", plain_last=plain_last)

    def reset_parameters(self) -> None:
        """Re-initialise every learnable parameter (and the batch-norm statistics)."""
        for mlp in (self.edge_mlp, self.node_mlp, self.state_mlp):
            mlp.reset_parameters()

    def _edge_update(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor, u: Tensor, edge_batch: Tensor) -> Tensor:
        # phi_e's first layer on (v_s + v_r + e + u) is the sum of four blocks' maps: apply the atom and
        # state blocks per atom and per crystal, then gather them per bond (same result, ~4x cheaper)
        first = self.edge_mlp[0]
        w_atoms, w_edge, w_state = first.weight.split([2 * self.channels, self.channels, self.channels], dim=1)
        sender, receiver = F.linear(x, torch.cat(w_atoms.chunk(2, dim=1), dim=0)).chunk(2, dim=-1)
        hidden = (sender[edge_index[0]] + receiver[edge_index[1]] + F.linear(edge_attr, w_edge, first.bias)
                  + F.linear(u, w_state)[edge_batch])
        for layer in list(self.edge_mlp)[1:]:
            hidden = layer(hidden)
        return hidden

    def forward(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor, u: Tensor,
                batch: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Update bonds, then atoms, then the state.

        Parameters
        ----------
        x : Tensor of shape (n_atoms, channels)
        edge_index : Tensor of shape (2, n_bonds)
            Row 0 the sender, row 1 the receiver.
        edge_attr : Tensor of shape (n_bonds, channels)
        u : Tensor of shape (n_graphs, channels)
        batch : Tensor of shape (n_atoms,)
            The graph of each atom.

        Returns
        -------
        x, edge_attr, u : Tensor
            Updated, each ``mlp_channels[-1]`` wide.
        """
        src, dst = edge_index
        edge_batch = batch[dst]
        n_graphs = u.size(0)
        edge_attr = self._edge_update(x, edge_index, edge_attr, u, edge_batch)
        bonds_to_atom = scatter(edge_attr, dst, dim=0, dim_size=x.size(0), reduce="mean")
        x = self.node_mlp(torch.cat([bonds_to_atom, x, u[batch]], dim=-1))
        u = self.state_mlp(torch.cat([
            scatter(edge_attr, edge_batch, dim=0, dim_size=n_graphs, reduce="mean"),
            scatter(x, batch, dim=0, dim_size=n_graphs, reduce="mean"),
            u,
        ], dim=-1))
        return x, edge_attr, u
