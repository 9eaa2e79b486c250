"""CGCNN: the crystal graph convolutional neural network."""

from __future__ import annotations

from numbers import Integral

from torch import Tensor, nn

from ._base import GraphNetwork
from ._cgcnn_conv import CGCNNConv
from ._layers import MLP, AtomEncoder, graph_batch, graph_pool, num_graphs

__all__ = ["CGCNN"]


class CGCNN(GraphNetwork):
    r"""Crystal graph convolutional network (CGCNN) of Xie & Grossman (2018).

    Reference: T. Xie and J. C. Grossman, *Phys. Rev. Lett.* 120, 145301 (2018).

    Atom features are embedded linearly, updated by ``num_layers``
    :class:`CGCNNConv` layers, averaged over the atoms of each crystal
    (Eq. 6 of the paper) and mapped to the targets by an MLP with softplus
    activations:

    .. math::
        \mathbf{v}^{(0)}_i = \mathbf{W}_0 \mathbf{x}_i, \quad
        \mathbf{v}^{(t+1)} = \mathrm{CGCNNConv}(\mathbf{v}^{(t)}), \quad
        \mathbf{h} = \frac{1}{N}\sum_i \mathbf{v}^{(T)}_i, \quad
        \hat{\mathbf{y}} = \mathrm{MLP}(\mathrm{softplus}(\mathbf{h}))

    Defaults are the authors' (64-wide atoms, 3 convolutions, one 128-wide
    hidden layer). The data sizes (``n_node_features`` ... ``n_targets``) are
    filled in by the estimator from the graphs it is fitted on.

    Parameters
    ----------
    n_node_features, n_edge_features : int
        Widths of ``x`` (0: embed ``z`` instead) and ``edge_attr``.
    n_targets : int, default=1
        0 builds the encoder alone (no head), as fusion models use it.
    hidden_channels : int, default=64
    num_layers : int, default=3
    head_channels : sequence of int, default=(128,)
        Widths of the hidden layers of the head. (An int, with ``num_head_layers``,
        is the former spelling: ``(head_channels,) * num_head_layers``; deprecated.)
    num_head_layers : int, default=None
        Deprecated with the int form of ``head_channels``.
    pooling : {"mean", "sum", "max"}, default="mean"
    dropout : float, default=0.0
        Dropout before each hidden layer of the head.
    n_global_features, n_angle_features : int, default=0
        Accepted and ignored, so that every network takes the same data sizes.

    Examples
    --------
    >>> from pymatgen.core import Lattice, Structure
    >>> from torch_geometric.data import Batch
    >>> from skhybrid import StructureGraphizer
    >>> nacl = Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.64), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    >>> from skhybrid.nn import CGCNN
    >>> batch = Batch.from_data_list(StructureGraphizer().fit_transform([nacl, nacl]))
    >>> net = CGCNN(n_node_features=92, n_edge_features=41, n_targets=2)
    >>> net(batch).shape, net.encode(batch).shape
    (torch.Size([2, 2]), torch.Size([2, 64]))
    """

    input_fields = ("x", "z", "edge_index", "edge_attr")
    search_space = {"hidden_channels": ("categorical", [32, 64, 128]), "num_layers": ("int", 2, 5)}

    def __init__(self, n_node_features: int, n_edge_features: int, n_targets: int = 1, *,
                 n_global_features: int = 0, n_angle_features: int = 0, hidden_channels: int = 64,
                 num_layers: int = 3, head_channels=(128,), num_head_layers=None,
                 pooling: str = "mean", dropout: float = 0.0):
        super().__init__()
        if isinstance(head_channels, Integral):
            import warnings

            warnings.warn("CGCNN: head_channels is now a sequence of widths; an int (with num_head_layers) is "
                          "deprecated and will be removed in skhybrid 0.3.", FutureWarning, stacklevel=2)
            head_channels = (int(head_channels),) * (1 if num_head_layers is None else int(num_head_layers))
        elif num_head_layers is not None:
            raise TypeError("CGCNN: num_head_layers goes with an int head_channels only; pass the widths, "
                            "e.g. head_channels=(128, 128).")
        self.pooling = pooling
        self.out_channels = hidden_channels
        self.atom_encoder = AtomEncoder(n_node_features, hidden_channels)
        self.convs = nn.ModuleList(CGCNNConv(hidden_channels, n_edge_features) for _ in range(num_layers))
        self.activation = nn.Softplus()
        self.head = MLP([hidden_channels, *head_channels, n_targets],
                        activation="softplus", plain_last=True, dropout=dropout) if n_targets > 0 else None

    def reset_parameters(self) -> None:
        """Re-initialise every learnable parameter (and the batch-norm statistics)."""
        self.atom_encoder.reset_parameters()
        for conv in self.convs:
            conv.reset_parameters()
        if self.head is not None:
            self.head.reset_parameters()

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
        x = self.atom_encoder(data)
        for conv in self.convs:
            x = conv(x, data.edge_index, data.edge_attr)
        return self.activation(graph_pool(x, graph_batch(data), num_graphs(data), self.pooling))
