"""Graph neural network modules (torch-geometric style), one model or operator per file.

Every model is a :class:`GraphNetwork`: it maps a batch of
:class:`~skhybrid.featurizers.CrystalGraph` to ``(n_graphs, n_targets)`` and exposes
``encode(batch)``, the pooled crystal vector, which fusion heads build on; one
hyper-parameter vocabulary (``hidden_channels``, ``num_layers``, ``head_channels``,
``dropout``, ``pooling``) runs through them.
"""

from ._alignn import ALIGNN, ALIGNNLayer
from ._base import GraphNetwork
from ._cgcnn import CGCNN
from ._cgcnn_conv import CGCNNConv
from ._edge_gated_conv import EdgeGatedGraphConv
from ._fusion import BranchAttention, FusionNet
from ._layers import MLP, AtomEncoder, ShiftedSoftplus, StepwiseSet2Set, glorot_initialise
from ._megnet import MEGNet
from ._megnet_block import MEGNetBlock
from ._schnet import SchNet, SchNetInteraction

__all__ = [
    "ALIGNN",
    "ALIGNNLayer",
    "AtomEncoder",
    "BranchAttention",
    "CGCNN",
    "CGCNNConv",
    "EdgeGatedGraphConv",
    "FusionNet",
    "GraphNetwork",
    "MEGNet",
    "MEGNetBlock",
    "MLP",
    "SchNet",
    "SchNetInteraction",
    "ShiftedSoftplus",
    "StepwiseSet2Set",
    "glorot_initialise",
]
