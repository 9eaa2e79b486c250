"""Early fusion: one network fed with the crystal graph and the composition vector."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ._alignn import ALIGNN
from ._base import GraphNetwork
from ._cgcnn import CGCNN
from ._layers import MLP
from ._megnet import MEGNet

__all__ = ["BACKBONES", "BranchAttention", "FusionNet"]

#: graph encoders an early-fusion network can be built on
BACKBONES = {"cgcnn": CGCNN, "alignn": ALIGNN, "megnet": MEGNet}

#: order of the branches in fusion weights and contribution analyses
BRANCHES = ("composition", "graph")


class BranchAttention(nn.Module):
    r"""Per-sample softmax attention over representation branches.

    Each branch :math:`b` is projected to a common width,
    :math:`\mathbf{p}_b = \mathrm{SiLU}(\mathbf{W}_b \mathbf{h}_b)`, scored
    with additive attention (Bahdanau et al., ICLR 2015),
    :math:`s_b = \mathbf{q}^\top \tanh(\mathbf{A} \mathbf{p}_b)`, and the
    branches are mixed with the softmax of the scores:

    .. math::
        \alpha_b = \frac{e^{s_b}}{\sum_{b'} e^{s_{b'}}}, \qquad
        \mathbf{z} = \sum_b \alpha_b \mathbf{p}_b

    The weights :math:`\alpha` are per sample, so a model can lean on the
    composition for one crystal and on the structure for another.

    Parameters
    ----------
    in_channels : sequence of int
        Width of each branch.
    out_channels : int
        The common width.

    Examples
    --------
    >>> import torch
    >>> from skhybrid.nn import BranchAttention
    >>> attention = BranchAttention(in_channels=(145, 64), out_channels=32)
    >>> mixed, weights = attention(torch.randn(5, 145), torch.randn(5, 64))
    >>> mixed.shape, weights.shape, bool(torch.allclose(weights.sum(dim=1), torch.ones(5)))
    (torch.Size([5, 32]), torch.Size([5, 2]), True)
    """

    def __init__(self, in_channels, out_channels: int):
        super().__init__()
        self.projections = nn.ModuleList(nn.Linear(c, out_channels) for c in in_channels)
        self.activation = nn.SiLU()
        self.score_hidden = nn.Linear(out_channels, out_channels)
        self.score = nn.Linear(out_channels, 1, bias=False)

    def reset_parameters(self) -> None:
        """Re-initialise every learnable parameter (and the batch-norm statistics)."""
        for layer in (*self.projections, self.score_hidden, self.score):
            layer.reset_parameters()

    def forward(self, *branches: Tensor) -> tuple[Tensor, Tensor]:
        """Mix the branches.

        Parameters
        ----------
        *branches : Tensor of shape (n, in_channels[b])
            One tensor per branch, in the order of ``in_channels``.

        Returns
        -------
        mixed : Tensor of shape (n, out_channels)
        weights : Tensor of shape (n, n_branches)
            Rows sum to one.
        """
        projected = torch.stack([self.activation(proj(h)) for proj, h in zip(self.projections, branches)], dim=1)
        scores = self.score(torch.tanh(self.score_hidden(projected))).squeeze(-1)
        weights = torch.softmax(scores, dim=1)
        return (weights.unsqueeze(-1) * projected).sum(dim=1), weights


class FusionNet(GraphNetwork):
    r"""Early fusion of a graph encoder and the composition vector :math:`\mathbf{u}`.

    The graph branch is a backbone's pooled crystal vector
    :math:`\mathbf{h}_G` (CGCNN, ALIGNN or MEGNet, built without its head
    and, for MEGNet, without :math:`\mathbf{u}` in its state, so that the two
    branches stay separable); the composition branch is the standardised
    vector :math:`\mathbf{u}` itself (e.g. the 145 Magpie features). Then:

    - ``fusion="concat"``: :math:`\hat{\mathbf{y}} = \mathrm{MLP}([\mathbf{u} \,\Vert\, \mathbf{h}_G])`,
      the "CGCNN + descriptors" hybrid of e.g. Choudhary et al. (2018) and
      MODNet-style feature fusion;
    - ``fusion="attention"``: both are projected to ``fusion_channels`` and mixed
      by :class:`BranchAttention`,
      :math:`\hat{\mathbf{y}} = \mathrm{MLP}(\alpha_C \mathbf{p}_C + \alpha_G \mathbf{p}_G)`,
      with the per-sample weights :math:`\alpha` returned by :meth:`fusion_weights`.

    Parameters
    ----------
    n_node_features, n_edge_features, n_global_features, n_angle_features : int
        Data widths, filled in by the estimator. ``n_global_features`` must be
        positive (the graphs need ``u``).
    n_targets : int, default=1
    backbone : {"cgcnn", "alignn", "megnet"}, default="cgcnn"
    fusion : {"concat", "attention"}, default="concat"
    fusion_channels : int, default=64
        Common width of the branches under attention.
    head_channels : sequence of int, default=(128,)
        Hidden widths of the MLP head.
    dropout : float, default=0.0
        Dropout on the fused vector and in the head.
    **backbone_kwargs
        Arguments of the backbone (e.g. ``hidden_channels=128``, ``num_layers=4``).

    Examples
    --------
    >>> from pymatgen.core import Lattice, Structure
    >>> from torch_geometric.data import Batch
    >>> from skhybrid import StructureGraphizer
    >>> nacl = Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.64), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    >>> from skhybrid import MagpieFeaturizer
    >>> from skhybrid.nn import FusionNet
    >>> graphizer = StructureGraphizer(global_features=MagpieFeaturizer())
    >>> batch = Batch.from_data_list(graphizer.fit_transform([nacl, nacl]))
    >>> net = FusionNet(92, 41, n_global_features=145, fusion="attention").eval()
    >>> net(batch).shape, net.fusion_weights(batch).shape
    (torch.Size([2, 1]), torch.Size([2, 2]))
    """

    input_fields = ("x", "z", "edge_index", "edge_attr", "lg_edge_index", "lg_attr", "u")
    required_fields = ("u",)
    search_space = {"fusion_channels": ("categorical", [32, 64, 128]), "dropout": ("float", 0.0, 0.3)}

    def __init__(self, n_node_features: int, n_edge_features: int, n_targets: int = 1, *,
                 n_global_features: int = 0, n_angle_features: int = 0, backbone: str = "cgcnn",
                 fusion: str = "concat", fusion_channels: int = 64, head_channels=(128,), dropout: float = 0.0,
                 **backbone_kwargs):
        super().__init__()
        if backbone not in BACKBONES:
            raise ValueError(f"Unknown backbone {backbone!r}; choose one of {sorted(BACKBONES)}.")
        if fusion not in ("concat", "attention"):
            raise ValueError(f"Unknown fusion {fusion!r}; choose 'concat' or 'attention'.")
        if n_global_features <= 0:
            raise ValueError("Early fusion needs a composition vector: build graphs with "
                             "StructureGraphizer(global_features=MagpieFeaturizer()).")
        backbone_class = BACKBONES[backbone]
        self.fusion = fusion
        # instance attributes: what the data must carry depends on the backbone
        self.input_fields = (*backbone_class.input_fields, "u")
        self.required_fields = (*getattr(backbone_class, "required_fields", ()), "u")
        self.backbone = backbone_class(n_node_features, n_edge_features, 0, n_global_features=0,
                                       n_angle_features=n_angle_features, **backbone_kwargs)
        graph_channels = self.backbone.out_channels
        if fusion == "attention":
            self.attention = BranchAttention((n_global_features, graph_channels), fusion_channels)
            fused_channels = fusion_channels
        else:
            self.attention = None
            fused_channels = n_global_features + graph_channels
        self.dropout = nn.Dropout(dropout)
        self.head = MLP([fused_channels, *head_channels, n_targets], activation="softplus", plain_last=True,
                        dropout=dropout)

    def reset_parameters(self) -> None:
        """Re-initialise every learnable parameter (and the batch-norm statistics)."""
        self.backbone.reset_parameters()
        if self.attention is not None:
            self.attention.reset_parameters()
        self.head.reset_parameters()

    def branches(self, data) -> tuple[Tensor, Tensor]:
        """The composition and graph vectors.

        Parameters
        ----------
        data : torch_geometric.data.Batch or CrystalGraph
            Graphs from :class:`~skhybrid.featurizers.StructureGraphizer`, batched
            (``torch_geometric.data.Batch.from_data_list`` or a ``DataLoader``).

        Returns
        -------
        composition : Tensor of shape (n_graphs, n_global_features)
        graph : Tensor of shape (n_graphs, backbone.out_channels)
        """
        return data.u, self.backbone.encode(data)

    def fuse(self, composition: Tensor, graph: Tensor) -> tuple[Tensor, Tensor | None]:
        """Predictions from the two branch vectors.

        Parameters
        ----------
        composition : Tensor of shape (n, n_global_features)
        graph : Tensor of shape (n, backbone.out_channels)

        Returns
        -------
        prediction : Tensor of shape (n, n_targets)
        weights : Tensor of shape (n, 2) or None
            The attention weights (composition, graph); ``None`` for concatenation.
        """
        if self.attention is None:
            fused, weights = torch.cat([composition, graph], dim=-1), None
        else:
            fused, weights = self.attention(composition, graph)
        return self.head(self.dropout(fused)), weights

    def fusion_weights(self, data) -> Tensor:
        """Per-sample attention weights of the composition and graph branches.

        Parameters
        ----------
        data : torch_geometric.data.Batch or CrystalGraph
            Graphs from :class:`~skhybrid.featurizers.StructureGraphizer`, batched
            (``torch_geometric.data.Batch.from_data_list`` or a ``DataLoader``).

        Returns
        -------
        Tensor of shape (n_graphs, 2)
            Columns: composition, graph; rows sum to one.
        """
        if self.attention is None:
            raise ValueError("fusion='concat' has no fusion weights; use fusion='attention'.")
        return self.fuse(*self.branches(data))[1]

    def forward(self, data) -> Tensor:
        """Predict the targets of a batch of graphs.

        Parameters
        ----------
        data : torch_geometric.data.Batch or CrystalGraph
            Graphs from :class:`~skhybrid.featurizers.StructureGraphizer`, batched
            (``torch_geometric.data.Batch.from_data_list`` or a ``DataLoader``).

        Returns
        -------
        Tensor of shape (n_graphs, n_targets)
            Targets in the units the network was trained on (standardised, inside the estimators).
        """
        return self.fuse(*self.branches(data))[0]
