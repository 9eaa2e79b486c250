"""MEGNet: the MatErials Graph Network, with a global state."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch_geometric.nn.aggr import Set2Set

from ._base import GraphNetwork, renamed_parameter
from ._layers import MLP, AtomEncoder, StepwiseSet2Set, glorot_initialise, graph_batch, num_graphs
from ._megnet_block import MEGNetBlock

__all__ = ["MEGNet"]


class MEGNet(GraphNetwork):
    r"""MatErials Graph Network (MEGNet) of Chen et al. (2019).

    Reference: C. Chen, W. Ye, Y. Zuo, C. Zheng and S. P. Ong, *Chem. Mater.* 31, 3564 (2019).

    Atoms, bonds and the crystal's global state :math:`\mathbf{u}` are
    embedded, passed through ``num_layers`` :class:`MEGNetBlock` updates,
    each preceded by two dense layers (64, 32) per stream and wrapped in a
    residual connection, then read out by Set2Set over atoms and over bonds
    (``processing_steps`` each), concatenated with :math:`\mathbf{u}` and
    mapped to the targets by an MLP (32, 16).

    The state starts from the graphizer's ``global_features`` when the graphs
    carry ``u`` (e.g. ``StructureGraphizer(global_features=MagpieFeaturizer())``,
    standardised by the estimator); without it every crystal starts from the
    same learned vector, as the paper's ``[0, 0]`` state does.

    Parameters
    ----------
    n_node_features, n_edge_features, n_global_features : int
        Widths of ``x`` (0: embed ``z``), ``edge_attr`` and ``u`` (0: none).
    n_targets : int, default=1
        0 builds the encoder alone (no head).
    hidden_channels : int, default=32
        Width of atoms, bonds and state between blocks (formerly ``channels``).
    num_layers : int, default=3
        MEGNet blocks (formerly ``num_blocks``).
    dense_channels : int, default=64
        Hidden width of the dense layers before each block and of the block MLPs.
    processing_steps : int, default=3
    head_channels : sequence of int, default=(32, 16)
    dropout : float, default=0.0
    block_channels : sequence of int, default=None
        Widths of each block's three update MLPs (the last is the width of the
        updated vectors); ``None`` is ``(dense_channels, dense_channels, channels)``,
        the MEGNet paper's (64, 64, 32). kgcnn's Matbench recipe uses (64, 32, 32).
    channels, num_blocks : int, default=None
        Former names of ``hidden_channels`` and ``num_layers``, accepted with a
        ``FutureWarning`` until skhybrid 0.3.
    readout_channels : int, default=None
        Atoms and bonds are projected linearly to this width before their
        Set2Set readout, as in the reference implementation (16); ``None``
        reads out the ``channels``-wide vectors directly.
    first_block_dense : bool, default=True
        Give the first block its own dense layers, as every later block has. ``False`` is the reference
        implementations' layout (Chen et al.'s ``megnet``, kgcnn): the atom embedding and the initial state
        go through two dense layers (``dense_channels``, ``hidden_channels``) once, and the first block
        takes them directly, so that its residual connection starts from them.
    weight_init : {"torch", "glorot"}, default="torch"
        ``"glorot"`` initialises as Keras does, the reference implementations' framework (see
        :func:`~skhybrid.nn.glorot_initialise`); then a learned initial state starts from
        :math:`U(-0.05, 0.05)`, as their state embedding does. ``"torch"`` keeps PyTorch's defaults.
    linear_block_outputs : bool, default=False
        End each block's three update MLPs with a linear layer, as the reference implementations do
        (``MEGNetBlock(plain_last=True)``); ``False`` applies the activation after their last layer too.
    set2set_memory : bool, default=True
        Carry the Set2Set LSTM's state from one processing step to the next (Vinyals et al., PyG). ``False``
        starts it from zeros at every step, as kgcnn's readout does (:class:`~skhybrid.nn.StepwiseSet2Set`).
    n_angle_features : int, default=0
        Accepted and ignored, so that every network takes the same data sizes.

    Examples
    --------
    >>> from pymatgen.core import Lattice, Structure
    >>> from torch_geometric.data import Batch
    >>> from skhybrid import StructureGraphizer
    >>> nacl = Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.64), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    >>> from skhybrid import MagpieFeaturizer
    >>> from skhybrid.nn import MEGNet
    >>> graphizer = StructureGraphizer(global_features=MagpieFeaturizer())
    >>> batch = Batch.from_data_list(graphizer.fit_transform([nacl, nacl]))
    >>> net = MEGNet(92, 41, n_targets=2, n_global_features=145)
    >>> net(batch).shape, net.encode(batch).shape
    (torch.Size([2, 2]), torch.Size([2, 160]))
    """

    input_fields = ("x", "z", "edge_index", "edge_attr", "u")
    search_space = {"hidden_channels": ("categorical", [16, 32, 64]), "num_layers": ("int", 2, 4)}

    def __init__(self, n_node_features: int, n_edge_features: int, n_targets: int = 1, *,
                 n_global_features: int = 0, n_angle_features: int = 0, hidden_channels: int = 32,
                 num_layers: int = 3, dense_channels: int = 64, processing_steps: int = 3,
                 head_channels=(32, 16), dropout: float = 0.0, block_channels=None, readout_channels=None,
                 first_block_dense: bool = True, weight_init: str = "torch", linear_block_outputs: bool = False,
                 set2set_memory: bool = True,
                 channels=None, num_blocks=None):
        super().__init__()
        if weight_init not in ("torch", "glorot"):
            raise ValueError(f"weight_init must be 'torch' or 'glorot', got {weight_init!r}.")
        self.weight_init = weight_init
        channels = renamed_parameter("MEGNet", "channels", "hidden_channels", channels, hidden_channels, 32)
        num_blocks = renamed_parameter("MEGNet", "num_blocks", "num_layers", num_blocks, num_layers, 3)
        self.n_global_features = n_global_features
        block_channels = (dense_channels, dense_channels, channels) if block_channels is None else tuple(block_channels)
        if block_channels[-1] != channels:
            raise ValueError(f"block_channels must end with channels={channels} (the residual width), "
                             f"got {block_channels}.")
        readout = channels if readout_channels is None else readout_channels
        self.out_channels = 4 * readout + channels
        act = "shifted_softplus"
        # without a dense pair before the first block, the embeddings carry it (the reference layout)
        embedded = [dense_channels, channels] if first_block_dense else [dense_channels, dense_channels, channels]
        self.atom_embedding = nn.Sequential(AtomEncoder(n_node_features, dense_channels),
                                            MLP(embedded, activation=act))
        self.edge_embedding = MLP([n_edge_features, dense_channels, channels], activation=act)
        self.state_embedding = None
        if n_global_features > 0:
            self.state_embedding = MLP([n_global_features, dense_channels, channels], activation=act)
        elif first_block_dense:
            self.initial_state = nn.Parameter(torch.zeros(1, channels))
        else:
            self.initial_state = nn.Parameter(torch.zeros(1, dense_channels))
            self.state_embedding = MLP(embedded, activation=act)

        def dense(block):
            if block == 0 and not first_block_dense:
                return nn.Identity()
            return MLP([channels, dense_channels, channels], activation=act)

        self.atom_dense = nn.ModuleList(dense(i) for i in range(num_blocks))
        self.edge_dense = nn.ModuleList(dense(i) for i in range(num_blocks))
        self.state_dense = nn.ModuleList(dense(i) for i in range(num_blocks))
        self.blocks = nn.ModuleList(
            MEGNetBlock(channels, block_channels, plain_last=linear_block_outputs) for _ in range(num_blocks)
        )
        if readout_channels is None:
            self.atom_projection = self.edge_projection = nn.Identity()
        else:
            self.atom_projection = nn.Linear(channels, readout_channels)
            self.edge_projection = nn.Linear(channels, readout_channels)
        readout_type = Set2Set if set2set_memory else StepwiseSet2Set
        self.atom_readout = readout_type(readout, processing_steps)
        self.edge_readout = readout_type(readout, processing_steps)
        self.head = MLP([self.out_channels, *head_channels, n_targets], activation=act, plain_last=True,
                        dropout=dropout) if n_targets > 0 else None
        if weight_init == "glorot":
            self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-initialise every learnable parameter (and the batch-norm statistics)."""
        for module in self.modules():
            if module is not self and hasattr(module, "reset_parameters"):
                module.reset_parameters()
        if self.weight_init == "glorot":
            glorot_initialise(self)
        if self.n_global_features == 0:
            if self.weight_init == "glorot":
                nn.init.uniform_(self.initial_state, -0.05, 0.05)
            else:
                nn.init.zeros_(self.initial_state)

    def encode(self, data) -> Tensor:
        """Set2Set of atoms and bonds with the final state, shape ``(n_graphs, out_channels)``.

        Parameters
        ----------
        data : torch_geometric.data.Batch or CrystalGraph
            Graphs from :class:`~skhybrid.featurizers.StructureGraphizer`, batched
            (``torch_geometric.data.Batch.from_data_list`` or a ``DataLoader``).

        Returns
        -------
        Tensor of shape (n_graphs, out_channels)
            ``out_channels`` is ``4 * readout_channels + channels`` (``5 * channels`` by default).
        """
        batch = graph_batch(data)
        n_graphs = num_graphs(data)
        x = self.atom_embedding(data)
        e = self.edge_embedding(data.edge_attr)
        u = data.u if self.n_global_features > 0 else self.initial_state.expand(n_graphs, -1)
        if self.state_embedding is not None:
            u = self.state_embedding(u)
        for atom_dense, edge_dense, state_dense, block in zip(self.atom_dense, self.edge_dense,
                                                              self.state_dense, self.blocks):
            x_new, e_new, u_new = block(atom_dense(x), data.edge_index, edge_dense(e), state_dense(u), batch)
            x, e, u = x + x_new, e + e_new, u + u_new
        edge_batch = batch[data.edge_index[1]]
        return torch.cat([
            self.atom_readout(self.atom_projection(x), batch, dim_size=n_graphs),
            self.edge_readout(self.edge_projection(e), edge_batch, dim_size=n_graphs),
            u,
        ], dim=-1)
