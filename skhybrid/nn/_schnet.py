"""SchNet: continuous-filter convolutions on the periodic crystal graph."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch_geometric.utils import scatter

from ._base import GraphNetwork
from ._layers import MLP, AtomEncoder, ShiftedSoftplus, graph_batch, graph_pool, num_graphs

__all__ = ["SchNet", "SchNetInteraction"]


class SchNetInteraction(nn.Module):
    r"""One SchNet interaction block (Schütt et al. 2018): a continuous-filter convolution.

    For atom :math:`i` with neighbours :math:`j` at distance :math:`d_{ij}` (expanded on
    Gaussians :math:`\mathbf{e}_{ij}`, the graphizer's ``edge_attr``):

    .. math::
        \mathbf{W}_{ij} &= \phi_W(\mathbf{e}_{ij}) \, f_c(d_{ij}), \quad
        f_c(d) = \tfrac12 \left[\cos(\pi d / r_c) + 1\right] \\
        \mathbf{v}_i &= \phi_{out}\Big(\sum_j \mathbf{W}_{i j} \odot \phi_{in}(\mathbf{x}_j)\Big), \quad
        \mathbf{x}_i' = \mathbf{x}_i + \mathbf{v}_i

    where :math:`\phi_W` is a two-layer filter network with shifted softplus and
    :math:`\phi_{in}`, :math:`\phi_{out}` are atom-wise linear maps (the second followed by a
    shifted softplus and another linear map).

    Parameters
    ----------
    channels : int
        Width of the atom vectors and the filters.
    n_edge_features : int
        Width of the distance expansion.
    cutoff : float
        :math:`r_c` of the cosine cutoff, in A.

    Examples
    --------
    >>> import torch
    >>> from skhybrid.nn import SchNetInteraction
    >>> block = SchNetInteraction(channels=8, n_edge_features=5, cutoff=5.0)
    >>> x, edge_attr, distance = torch.randn(3, 8), torch.randn(4, 5), torch.rand(4) * 4
    >>> block(x, torch.tensor([[1, 2, 0, 0], [0, 0, 1, 2]]), edge_attr, distance).shape
    torch.Size([3, 8])
    """

    def __init__(self, channels: int, n_edge_features: int, cutoff: float):
        super().__init__()
        self.cutoff = cutoff
        self.filter = MLP([n_edge_features, channels, channels], activation="shifted_softplus", plain_last=True)
        self.atom_in = nn.Linear(channels, channels, bias=False)
        self.atom_out = nn.Sequential(nn.Linear(channels, channels), ShiftedSoftplus(), nn.Linear(channels, channels))

    def reset_parameters(self) -> None:
        """Re-initialise every learnable parameter."""
        self.filter.reset_parameters()
        self.atom_in.reset_parameters()
        for layer in self.atom_out:
            if hasattr(layer, "reset_parameters"):
                layer.reset_parameters()

    def forward(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor, distance: Tensor) -> Tensor:
        """Update the atom vectors.

        Parameters
        ----------
        x : Tensor of shape (n_atoms, channels)
        edge_index : Tensor of shape (2, n_bonds)
            Row 0 the neighbour, row 1 the centre.
        edge_attr : Tensor of shape (n_bonds, n_edge_features)
        distance : Tensor of shape (n_bonds,)

        Returns
        -------
        Tensor of shape (n_atoms, channels)
        """
        envelope = 0.5 * (torch.cos(distance * (math.pi / self.cutoff)) + 1.0) * (distance < self.cutoff)
        weights = self.filter(edge_attr) * envelope[:, None]
        messages = self.atom_in(x)[edge_index[0]] * weights
        return x + self.atom_out(scatter(messages, edge_index[1], dim=0, dim_size=x.size(0), reduce="sum"))


class SchNet(GraphNetwork):
    r"""SchNet (Schütt et al., J. Chem. Phys. 148, 241722, 2018) on skhybrid's crystal graphs.

    Atoms are embedded (``x`` linearly, or ``z`` with ``atom_features="z"``), updated by
    ``num_layers`` :class:`SchNetInteraction` blocks, mapped atom-wise to ``hidden_channels / 2``,
    pooled over the crystal (``pooling``) and read out by an MLP (``head_channels``). The
    neighbour list, its distances and their Gaussian expansion come from the graphizer (built
    once, periodic images included), not from a radius search in ``forward``: that is the whole
    difference from ``torch_geometric.nn.models.SchNet``, which searches neighbours on every call
    and knows no periodic cell.

    It is skhybrid's example of a new network: this module, the estimator
    :class:`~skhybrid.models.SchNetRegressor` and one catalogue entry (``schnet``) are all it took.

    Parameters
    ----------
    n_node_features, n_edge_features : int
        Widths of ``x`` (0: embed ``z``) and ``edge_attr``.
    n_targets : int, default=1
        0 builds the encoder alone.
    hidden_channels : int, default=64
    num_layers : int, default=3
        Interaction blocks.
    head_channels : sequence of int, default=(32,)
    cutoff : float, default=8.0
        Cutoff radius of the filters' envelope; set it to the graphizer's ``cutoff``.
    pooling : {"mean", "sum", "max"}, default="mean"
    n_global_features, n_angle_features : int, default=0
        Accepted and ignored, so that every network takes the same data sizes.

    Examples
    --------
    >>> from torch_geometric.data import Batch
    >>> from skhybrid import StructureGraphizer
    >>> from skhybrid.nn import SchNet
    >>> from skhybrid.utils._testing import rocksalt
    >>> batch = Batch.from_data_list(StructureGraphizer().fit_transform([rocksalt(), rocksalt()]))
    >>> net = SchNet(92, 41, n_targets=2, hidden_channels=16)
    >>> net(batch).shape, net.encode(batch).shape
    (torch.Size([2, 2]), torch.Size([2, 8]))
    """

    input_fields = ("x", "z", "edge_index", "edge_attr", "distance")
    search_space = {"hidden_channels": ("categorical", [32, 64, 128]), "num_layers": ("int", 2, 6)}

    def __init__(self, n_node_features: int, n_edge_features: int, n_targets: int = 1, *,
                 n_global_features: int = 0, n_angle_features: int = 0, hidden_channels: int = 64,
                 num_layers: int = 3, head_channels=(32,), cutoff: float = 8.0, pooling: str = "mean"):
        super().__init__()
        self.pooling = pooling
        self.out_channels = hidden_channels // 2
        self.atom_encoder = AtomEncoder(n_node_features, hidden_channels)
        self.interactions = nn.ModuleList(SchNetInteraction(hidden_channels, n_edge_features, cutoff)
                                          for _ in range(num_layers))
        self.atom_readout = nn.Sequential(nn.Linear(hidden_channels, hidden_channels // 2), ShiftedSoftplus())
        self.head = MLP([self.out_channels, *head_channels, n_targets], activation="shifted_softplus",
                        plain_last=True) if n_targets > 0 else None

    def encode(self, data) -> Tensor:
        """The pooled crystal vector, shape ``(n_graphs, hidden_channels // 2)``.

        Parameters
        ----------
        data : torch_geometric.data.Batch or CrystalGraph

        Returns
        -------
        Tensor of shape (n_graphs, hidden_channels // 2)
        """
        x = self.atom_encoder(data)
        for interaction in self.interactions:
            x = interaction(x, data.edge_index, data.edge_attr, data.distance)
        return graph_pool(self.atom_readout(x), graph_batch(data), num_graphs(data), self.pooling)
