"""Building blocks shared by the graph networks: atom encoders, MLPs and pooling."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch_geometric.nn.aggr import Set2Set
from torch_geometric.utils import scatter, softmax

__all__ = ["AtomEncoder", "MLP", "ShiftedSoftplus", "StepwiseSet2Set", "glorot_initialise", "graph_pool", "num_graphs"]

MAX_ATOMIC_NUMBER = 118


class ShiftedSoftplus(nn.Module):
    """``softplus(x) - log 2``: zero at zero, as in MEGNet and SchNet.

    Examples
    --------
    >>> import torch
    >>> from skhybrid.nn import ShiftedSoftplus
    >>> ShiftedSoftplus()(torch.zeros(2))
    tensor([0., 0.])
    """

    def __init__(self):
        super().__init__()
        self.register_buffer("shift", torch.log(torch.tensor(2.0)), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        """Apply the activation elementwise.

        Parameters
        ----------
        x : Tensor

        Returns
        -------
        Tensor, the shape of ``x``
        """
        return nn.functional.softplus(x) - self.shift


def _activation(name: str) -> nn.Module:
    activations = {"softplus": nn.Softplus, "shifted_softplus": ShiftedSoftplus, "silu": nn.SiLU, "relu": nn.ReLU}
    if name not in activations:
        raise ValueError(f"Unknown activation {name!r}; choose one of {sorted(activations)}.")
    return activations[name]()


class MLP(nn.Sequential):
    """``Linear -> [norm] -> activation [-> dropout]`` for each width in ``channels[1:]``.

    Parameters
    ----------
    channels : sequence of int
        Input width, then the width of each layer.
    activation : {"softplus", "shifted_softplus", "silu", "relu"}, default="softplus"
    norm : {None, "batch", "layer"}, default=None
        Normalisation after each linear layer.
    plain_last : bool, default=False
        Leave the last layer linear (an output layer).
    dropout : float, default=0.0
        Dropout after each activation.

    Examples
    --------
    >>> import torch
    >>> from skhybrid.nn import MLP
    >>> mlp = MLP([145, 64, 1], plain_last=True)
    >>> mlp
    MLP(
      (0): Linear(in_features=145, out_features=64, bias=True)
      (1): Softplus(beta=1.0, threshold=20.0)
      (2): Linear(in_features=64, out_features=1, bias=True)
    )
    >>> mlp(torch.randn(3, 145)).shape
    torch.Size([3, 1])
    """

    def __init__(self, channels: list[int], activation: str = "softplus", norm: str | None = None,
                 plain_last: bool = False, dropout: float = 0.0):
        layers: list[nn.Module] = []
        for i, (c_in, c_out) in enumerate(zip(channels[:-1], channels[1:])):
            layers.append(nn.Linear(c_in, c_out))
            if plain_last and i == len(channels) - 2:
                break
            if norm == "batch":
                layers.append(nn.BatchNorm1d(c_out))
            elif norm == "layer":
                layers.append(nn.LayerNorm(c_out))
            layers.append(_activation(activation))
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
        super().__init__(*layers)

    def reset_parameters(self) -> None:
        """Re-initialise every learnable parameter (and the batch-norm statistics)."""
        for layer in self:
            if hasattr(layer, "reset_parameters"):
                layer.reset_parameters()


class AtomEncoder(nn.Module):
    """Initial atom vectors: a linear map of the node features ``x``, or an
    embedding of the atomic number ``z`` when the graphs carry no features
    (``StructureGraphizer(atom_features="z")``).

    Parameters
    ----------
    n_node_features : int
        Width of ``x``; 0 embeds ``z`` instead.
    out_channels : int
        Width of the atom vectors.

    Examples
    --------
    >>> from pymatgen.core import Lattice, Structure
    >>> from skhybrid import StructureGraphizer
    >>> from skhybrid.nn import AtomEncoder
    >>> nacl = Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.64), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    >>> graph = StructureGraphizer(atom_features="z").fit_transform([nacl])[0]
    >>> AtomEncoder(0, 16)(graph).shape
    torch.Size([8, 16])
    """

    def __init__(self, n_node_features: int, out_channels: int):
        super().__init__()
        self.n_node_features = n_node_features
        if n_node_features > 0:
            self.encoder = nn.Linear(n_node_features, out_channels)
        else:
            self.encoder = nn.Embedding(MAX_ATOMIC_NUMBER + 1, out_channels)

    def reset_parameters(self) -> None:
        """Re-initialise every learnable parameter (and the batch-norm statistics)."""
        self.encoder.reset_parameters()

    def forward(self, data) -> Tensor:
        """The atom vectors of a graph or batch.

        Parameters
        ----------
        data : CrystalGraph or torch_geometric.data.Batch

        Returns
        -------
        Tensor of shape (n_atoms, out_channels)
        """
        if self.n_node_features > 0:
            return self.encoder(data.x)
        return self.encoder(data.z)


def num_graphs(data) -> int:
    """Graphs in a batch (1 for a lone graph)."""
    return int(data.num_graphs) if hasattr(data, "num_graphs") else 1


def graph_batch(data) -> Tensor:
    """The graph index of every atom (zeros for a lone graph)."""
    batch = getattr(data, "batch", None)
    if batch is None:
        batch = torch.zeros(data.num_nodes, dtype=torch.long, device=data.edge_index.device)
    return batch


def graph_pool(x: Tensor, batch: Tensor, size: int, reduce: str = "mean") -> Tensor:
    """Pool atom (or bond) vectors per graph: ``"mean"``, ``"sum"`` or ``"max"``."""
    return scatter(x, batch, dim=0, dim_size=size, reduce=reduce)


def glorot_initialise(module: nn.Module) -> None:
    r"""Re-initialise ``module`` in place as Keras initialises its layers by default.

    The reference MEGNet implementations (Chen et al.'s ``megnet`` and kgcnn) are Keras models trained from
    these defaults, where PyTorch's layers draw from other ranges (``Linear``: uniform within
    :math:`\pm 1/\sqrt{\mathrm{fan_{in}}}`, weights and biases; ``Embedding``: standard normal):

    - linear layers: Glorot-uniform weights, :math:`U(\pm\sqrt{6/(\mathrm{fan_{in}} + \mathrm{fan_{out}})})`
      (Glorot & Bengio, AISTATS 2010), and zero biases;
    - embeddings: :math:`U(-0.05, 0.05)`;
    - LSTMs: Glorot-uniform input weights, orthogonal recurrent weights (Saxe et al., ICLR 2014), zero
      biases except a forget-gate bias of one (Jozefowicz et al., ICML 2015).

    Parameters
    ----------
    module : torch.nn.Module
        Every ``Linear``, ``Embedding`` and ``LSTM`` inside it is re-initialised; other parameters are kept.

    Examples
    --------
    >>> import torch
    >>> from skhybrid.nn import glorot_initialise
    >>> layer = torch.nn.Linear(64, 32)
    >>> glorot_initialise(layer)
    >>> bool(layer.bias.abs().max() == 0), bool(layer.weight.abs().max() <= (6 / 96) ** 0.5)
    (True, True)
    """
    for layer in module.modules():
        if isinstance(layer, nn.Linear):
            nn.init.xavier_uniform_(layer.weight)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
        elif isinstance(layer, nn.Embedding):
            nn.init.uniform_(layer.weight, -0.05, 0.05)
        elif isinstance(layer, nn.LSTM):
            for name, parameter in layer.named_parameters():
                if name.startswith("weight_ih"):
                    nn.init.xavier_uniform_(parameter)
                elif name.startswith("weight_hh"):
                    nn.init.orthogonal_(parameter)
                elif name.startswith("bias"):
                    nn.init.zeros_(parameter)
                    if name.startswith("bias_ih"):  # gates are stacked (input, forget, cell, output)
                        with torch.no_grad():
                            parameter[layer.hidden_size:2 * layer.hidden_size] = 1.0


class StepwiseSet2Set(Set2Set):
    r"""Set2Set whose LSTM starts from a zero state at every processing step, as kgcnn's readout does.

    Vinyals et al.'s Set2Set (ICLR 2016; PyG's :class:`~torch_geometric.nn.aggr.Set2Set`) carries the LSTM's
    hidden and cell state from one step to the next. kgcnn's ``PoolingSet2SetEncoder``, the readout of its
    MEGNet, calls a Keras LSTM on a one-step sequence at every step, so the state is reset each time and the
    query depends on the previous read-out :math:`\mathbf{q}^*_{t-1}` alone:

    .. math::
        \mathbf{q}_t = \mathrm{LSTM}(\mathbf{q}^*_{t-1}, (\mathbf{0}, \mathbf{0})), \quad
        a_{i,t} = \mathrm{softmax}_i(\mathbf{x}_i \cdot \mathbf{q}_t), \quad
        \mathbf{q}^*_t = \mathbf{q}_t \oplus \sum_i a_{i,t} \mathbf{x}_i

    with :math:`\mathbf{q}^*_0 = \mathbf{0}`. The output is ``2 * in_channels`` wide, as ``Set2Set``'s.

    Parameters
    ----------
    in_channels : int
        Width of the vectors read out.
    processing_steps : int
        Steps :math:`t` of attention.
    **kwargs
        Passed to the LSTM, as ``Set2Set`` passes them.

    Examples
    --------
    >>> import torch
    >>> from skhybrid.nn import StepwiseSet2Set
    >>> readout = StepwiseSet2Set(4, processing_steps=3)
    >>> readout(torch.randn(5, 4), torch.tensor([0, 0, 1, 1, 1]), dim_size=2).shape
    torch.Size([2, 8])
    """

    def forward(self, x: Tensor, index: Tensor | None = None, ptr: Tensor | None = None,
                dim_size: int | None = None, dim: int = -2) -> Tensor:
        """Read out every group of ``x`` (the atoms or bonds of each crystal).

        Parameters
        ----------
        x : Tensor of shape (n, in_channels)
        index : Tensor of shape (n,)
            The group of each row (the crystal of each atom or bond).
        ptr : Tensor, default=None
            Group boundaries instead of ``index``, as torch-geometric's aggregations take them.
        dim_size : int, default=None
            The number of groups.
        dim : int, default=-2

        Returns
        -------
        Tensor of shape (dim_size, 2 * in_channels)
        """
        self.assert_index_present(index)
        self.assert_two_dimensional_input(x, dim)
        q_star = x.new_zeros(dim_size, self.out_channels)
        for _ in range(self.processing_steps):
            q, _ = self.lstm(q_star.unsqueeze(0))  # no state passed: each step starts from zeros
            q = q.view(dim_size, self.in_channels)
            attention = softmax((x * q[index]).sum(dim=-1, keepdim=True), index, ptr, dim_size, dim)
            q_star = torch.cat([q, self.reduce(attention * x, index, ptr, dim_size, dim, reduce="sum")], dim=-1)
        return q_star
