"""Building blocks shared by the graph networks: atom encoders, MLPs and pooling."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch_geometric.utils import scatter

__all__ = ["AtomEncoder", "MLP", "ShiftedSoftplus", "graph_pool", "num_graphs"]

MAX_ATOMIC_NUMBER = 118


class ShiftedSoftplus(nn.Module):
    """``softplus(x) - log 2``: zero at zero, as in MEGNet and SchNet."""

    def __init__(self):
        super().__init__()
        self.register_buffer("shift", torch.log(torch.tensor(2.0)), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        return nn.functional.softplus(x) - self.shift


def _activation(name: str) -> nn.Module:
    activations = {"softplus": nn.Softplus, "shifted_softplus": ShiftedSoftplus, "silu": nn.SiLU, "relu": nn.ReLU}
    if name not in activations:
        raise ValueError(f"Unknown activation {name!r}; choose one of {sorted(activations)}.")
    return activations[name]()


class MLP(nn.Sequential):
    """``Linear -> [norm] -> activation`` for each width in ``channels[1:]``.

    ``plain_last=True`` leaves the last layer linear (an output layer).
    ``norm`` is ``None``, ``"batch"`` or ``"layer"``.
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
        for layer in self:
            if hasattr(layer, "reset_parameters"):
                layer.reset_parameters()


class AtomEncoder(nn.Module):
    """Initial atom vectors: a linear map of the node features ``x``, or an
    embedding of the atomic number ``z`` when the graphs carry no features
    (``StructureGraphizer(atom_features="z")``)."""

    def __init__(self, n_node_features: int, out_channels: int):
        super().__init__()
        self.n_node_features = n_node_features
        if n_node_features > 0:
            self.encoder = nn.Linear(n_node_features, out_channels)
        else:
            self.encoder = nn.Embedding(MAX_ATOMIC_NUMBER + 1, out_channels)

    def reset_parameters(self) -> None:
        self.encoder.reset_parameters()

    def forward(self, data) -> Tensor:
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
