"""ALIGNN: the atomistic line graph neural network."""

from __future__ import annotations

from torch import Tensor, nn

from ._base import GraphNetwork
from ._edge_gated_conv import EdgeGatedGraphConv
from ._layers import MLP, AtomEncoder, graph_batch, graph_pool, num_graphs

__all__ = ["ALIGNN", "ALIGNNLayer"]


class ALIGNNLayer(nn.Module):
    r"""One ALIGNN update: an edge-gated convolution on the line graph, whose
    updated bond vectors then feed an edge-gated convolution on the atom graph.

    .. math::
        \mathbf{m}, \mathbf{t}' &= \mathrm{EGGC}_{L(G)}(\mathbf{e}, \mathbf{t}) \\
        \mathbf{h}', \mathbf{e}' &= \mathrm{EGGC}_{G}(\mathbf{h}, \mathbf{m})

    with atoms :math:`\mathbf{h}`, bonds :math:`\mathbf{e}` and bond-pair
    (angle) vectors :math:`\mathbf{t}`.

    Parameters
    ----------
    channels : int
        Width of the atom, bond and bond-pair vectors (unchanged by the layer).

    Examples
    --------
    >>> import torch
    >>> from skhybrid.nn import ALIGNNLayer
    >>> layer = ALIGNNLayer(8)
    >>> x, bonds, angles = torch.randn(3, 8), torch.randn(4, 8), torch.randn(2, 8)
    >>> edge_index = torch.tensor([[1, 2, 0, 0], [0, 0, 1, 2]])   # bonds j -> i
    >>> lg_edge_index = torch.tensor([[0, 1], [1, 0]])            # bond pairs sharing atom 0
    >>> [t.shape[0] for t in layer(x, bonds, angles, edge_index, lg_edge_index)]
    [3, 4, 2]
    """

    def __init__(self, channels: int):
        super().__init__()
        self.line_graph_conv = EdgeGatedGraphConv(channels)
        self.atom_graph_conv = EdgeGatedGraphConv(channels)

    def reset_parameters(self) -> None:
        """Re-initialise every learnable parameter (and the batch-norm statistics)."""
        self.line_graph_conv.reset_parameters()
        self.atom_graph_conv.reset_parameters()

    def forward(self, x: Tensor, edge_attr: Tensor, angle_attr: Tensor, edge_index: Tensor,
                lg_edge_index: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Update the atom, bond and bond-pair vectors.

        Parameters
        ----------
        x : Tensor of shape (n_atoms, channels)
        edge_attr : Tensor of shape (n_bonds, channels)
        angle_attr : Tensor of shape (n_bond_pairs, channels)
        edge_index : Tensor of shape (2, n_bonds)
            Row 0 the neighbour, row 1 the centre.
        lg_edge_index : Tensor of shape (2, n_bond_pairs)
            The line graph: pairs of bonds that share their centre atom.

        Returns
        -------
        x, edge_attr, angle_attr : Tensor
            The updated vectors, shapes as given.
        """
        bonds, angle_attr = self.line_graph_conv(edge_attr, lg_edge_index, angle_attr)
        x, edge_attr = self.atom_graph_conv(x, edge_index, bonds)
        return x, edge_attr, angle_attr


class ALIGNN(GraphNetwork):
    r"""Atomistic line graph neural network (ALIGNN) of Choudhary & DeCost (2021).

    Reference: K. Choudhary and B. DeCost, *npj Comput. Mater.* 7, 185 (2021).

    Atoms, bonds (Gaussian-expanded distances) and bond pairs (basis-expanded
    angle cosines from the graphizer's line graph) are embedded by MLPs with
    SiLU, then ``num_alignn_layers`` :class:`ALIGNNLayer` updates alternate
    between the line graph and the atom graph, ``num_gcn_layers``
    :class:`EdgeGatedGraphConv` layers refine the atom graph alone, the atoms
    are averaged per crystal and a linear layer gives the targets.

    The defaults are the paper's architecture (4 + 4 layers, width 256,
    embeddings through width 64). Every bond pair of a 12-neighbour graph is a
    line-graph edge (~130 per atom), which dominates the cost: on a CPU, a
    width of 64 trains about 10x faster (see ``docs/benchmarks.md``).

    Requires graphs built with ``StructureGraphizer(line_graph=True)``.

    Parameters
    ----------
    n_node_features, n_edge_features, n_angle_features : int
        Widths of ``x`` (0: embed ``z``), ``edge_attr`` and ``lg_attr``.
    n_targets : int, default=1
        0 builds the encoder alone (no head).
    hidden_channels : int, default=256
    embedding_channels : int, default=64
    num_alignn_layers : int, default=4
    num_gcn_layers : int, default=4
    pooling : {"mean", "sum", "max"}, default="mean"
    n_global_features : int, default=0
        Accepted and ignored, so that every network takes the same data sizes.

    Examples
    --------
    >>> from pymatgen.core import Lattice, Structure
    >>> from torch_geometric.data import Batch
    >>> from skhybrid import StructureGraphizer
    >>> nacl = Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.64), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    >>> from skhybrid.nn import ALIGNN
    >>> graphs = StructureGraphizer(line_graph=True).fit_transform([nacl, nacl])
    >>> net = ALIGNN(n_node_features=92, n_edge_features=41, n_angle_features=40, hidden_channels=32)
    >>> net(Batch.from_data_list(graphs)).shape
    torch.Size([2, 1])
    """

    input_fields = ("x", "z", "edge_index", "edge_attr", "lg_edge_index", "lg_attr")
    required_fields = ("lg_edge_index", "lg_attr")
    search_space = {"hidden_channels": ("categorical", [64, 128, 256]), "num_alignn_layers": ("int", 1, 4),
                    "num_gcn_layers": ("int", 1, 4)}
    # the last ALIGNN layer's angle update and the last GCN layer's bond update feed nothing (as in the
    # paper's network), so their batch norms get no gradient
    unused_parameters = True

    def __init__(self, n_node_features: int, n_edge_features: int, n_targets: int = 1, *,
                 n_angle_features: int = 0, n_global_features: int = 0, hidden_channels: int = 256,
                 embedding_channels: int = 64, num_alignn_layers: int = 4, num_gcn_layers: int = 4,
                 pooling: str = "mean"):
        super().__init__()
        if n_angle_features <= 0:
            raise ValueError("ALIGNN needs angle features: build graphs with StructureGraphizer(line_graph=True).")
        self.pooling = pooling
        self.out_channels = hidden_channels
        self.atom_encoder = AtomEncoder(n_node_features, hidden_channels)
        self.atom_embedding = nn.Sequential(nn.BatchNorm1d(hidden_channels), nn.SiLU())
        self.edge_embedding = MLP([n_edge_features, embedding_channels, hidden_channels], activation="silu",
                                  norm="batch")
        self.angle_embedding = MLP([n_angle_features, embedding_channels, hidden_channels], activation="silu",
                                   norm="batch")
        self.alignn_layers = nn.ModuleList(ALIGNNLayer(hidden_channels) for _ in range(num_alignn_layers))
        self.gcn_layers = nn.ModuleList(EdgeGatedGraphConv(hidden_channels) for _ in range(num_gcn_layers))
        self.head = nn.Linear(hidden_channels, n_targets) if n_targets > 0 else None

    def reset_parameters(self) -> None:
        """Re-initialise every learnable parameter (and the batch-norm statistics)."""
        self.atom_embedding[0].reset_parameters()
        for module in (self.atom_encoder, self.edge_embedding, self.angle_embedding, *self.alignn_layers,
                       *self.gcn_layers, self.head):
            if module is not None:
                module.reset_parameters()

    def encode(self, data) -> Tensor:
        """The pooled crystal vector, shape ``(n_graphs, hidden_channels)``.

        Parameters
        ----------
        data : torch_geometric.data.Batch or CrystalGraph
            Graphs from :class:`~skhybrid.featurizers.StructureGraphizer`, batched
            (``torch_geometric.data.Batch.from_data_list`` or a ``DataLoader``).

        Returns
        -------
        Tensor of shape (n_graphs, hidden_channels)
        """
        x = self.atom_embedding(self.atom_encoder(data))
        edge_attr = self.edge_embedding(data.edge_attr)
        angle_attr = self.angle_embedding(data.lg_attr)
        for layer in self.alignn_layers:
            x, edge_attr, angle_attr = layer(x, edge_attr, angle_attr, data.edge_index, data.lg_edge_index)
        for layer in self.gcn_layers:
            x, edge_attr = layer(x, data.edge_index, edge_attr)
        return graph_pool(x, graph_batch(data), num_graphs(data), self.pooling)
