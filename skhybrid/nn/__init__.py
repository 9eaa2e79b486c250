"""Graph neural network modules (torch-geometric style), one model or operator per file.

Every model maps a batch of :class:`~skhybrid.featurizers.CrystalGraph` to
``(n_graphs, n_targets)`` and exposes ``encode(batch)``, the pooled crystal
vector, which fusion heads build on.
"""

from ._alignn import ALIGNN, ALIGNNLayer
from ._cgcnn import CGCNN
from ._cgcnn_conv import CGCNNConv
from ._edge_gated_conv import EdgeGatedGraphConv
from ._fusion import BranchAttention, FusionNet
from ._layers import MLP, AtomEncoder, ShiftedSoftplus
from ._megnet import MEGNet
from ._megnet_block import MEGNetBlock

__all__ = [
    "ALIGNN",
    "ALIGNNLayer",
    "AtomEncoder",
    "BranchAttention",
    "CGCNN",
    "CGCNNConv",
    "EdgeGatedGraphConv",
    "FusionNet",
    "MEGNet",
    "MEGNetBlock",
    "MLP",
    "ShiftedSoftplus",
]
