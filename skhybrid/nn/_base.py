"""GraphNetwork: the contract every skhybrid graph network keeps."""

from __future__ import annotations

import warnings

from torch import Tensor, nn

__all__ = ["DATA_SIZES", "GraphNetwork", "renamed_parameter"]

#: constructor arguments a network takes from the data; the estimators fill them in
DATA_SIZES = ("n_node_features", "n_edge_features", "n_targets", "n_global_features", "n_angle_features")


class GraphNetwork(nn.Module):
    r"""Base class of skhybrid's graph networks: the data they take, what they return, their names.

    **Data sizes**, filled in by :class:`~skhybrid.models.GraphRegressor` from the
    graphs of ``fit`` (never set them as ``module__`` parameters):

    - ``n_node_features``: width of ``x``; 0 when the graphs carry atomic numbers
      ``z`` only (``StructureGraphizer(atom_features="z")``), to be embedded;
    - ``n_edge_features``: width of ``edge_attr`` (the expanded distances);
    - ``n_targets``: outputs; 0 builds the encoder alone, without a head;
    - ``n_global_features``: width of the crystal vector ``u`` (0: none);
    - ``n_angle_features``: width of the line graph's ``lg_attr`` (0: no line graph).

    **Input**: a ``torch_geometric`` batch of :class:`~skhybrid.featurizers.CrystalGraph`
    with the fields in ``input_fields`` (the estimator collates only those);
    ``required_fields`` must be present, or the estimator raises naming the
    graphizer setting that adds them.

    **Output**: ``forward(batch)`` is ``(n_graphs, n_targets)`` in standardised
    target units; ``encode(batch)`` is the pooled crystal vector
    ``(n_graphs, out_channels)``, which early fusion joins with ``u``.

    **Hyper-parameters** share one vocabulary: ``hidden_channels`` (width of the
    atom and bond vectors), ``num_layers`` (message-passing layers),
    ``head_channels`` (a sequence: the widths of the MLP after pooling),
    ``dropout`` and ``pooling``. ``search_space`` maps a subclass's
    hyper-parameters to Optuna distributions in plain form (``("categorical",
    [32, 64])``, ``("int", 2, 5)``, ``("float", 0.0, 0.3)``), which
    :func:`skhybrid.tuning.default_search_space` prefixes with ``module__``.

    A subclass builds its layers in ``__init__``, implements ``encode`` and sets
    ``self.head`` (``None`` when ``n_targets == 0``) and ``self.out_channels``;
    ``forward`` and ``reset_parameters`` come from here. That is all
    ``GraphRegressor(module=MyNetwork)`` needs. A network with parameters
    that take no part in its output sets ``unused_parameters = True``, so that
    data-parallel training (``accelerate=``) looks for them at each step
    instead of waiting for their gradients.

    Parameters
    ----------
    *args, **kwargs
        Passed to :class:`torch.nn.Module`; a subclass declares its own (the data
        sizes above, then its hyper-parameters, keyword-only).

    Examples
    --------
    >>> import torch
    >>> from skhybrid.nn import GraphNetwork
    >>> from skhybrid.nn._layers import MLP, AtomEncoder, graph_batch, graph_pool, num_graphs
    >>> class MeanOfAtoms(GraphNetwork):
    ...     search_space = {"hidden_channels": ("categorical", [16, 32])}
    ...     def __init__(self, n_node_features, n_edge_features, n_targets=1, *, n_global_features=0,
    ...                  n_angle_features=0, hidden_channels=16, head_channels=(16,)):
    ...         super().__init__()
    ...         self.out_channels = hidden_channels
    ...         self.atoms = AtomEncoder(n_node_features, hidden_channels)
    ...         self.head = MLP([hidden_channels, *head_channels, n_targets], plain_last=True) if n_targets else None
    ...     def encode(self, data):
    ...         return graph_pool(self.atoms(data), graph_batch(data), num_graphs(data))
    >>> from skhybrid import StructureGraphizer
    >>> from skhybrid.utils._testing import rocksalt
    >>> from torch_geometric.data import Batch
    >>> batch = Batch.from_data_list(StructureGraphizer().fit_transform([rocksalt(), rocksalt()]))
    >>> MeanOfAtoms(92, 41)(batch).shape
    torch.Size([2, 1])
    """

    input_fields: tuple = ("x", "z", "edge_index", "edge_attr")
    required_fields: tuple = ()
    search_space: dict = {}
    unused_parameters: bool = False

    def encode(self, data) -> Tensor:
        """The pooled crystal vector of a batch, shape ``(n_graphs, out_channels)``.

        Parameters
        ----------
        data : torch_geometric.data.Batch or CrystalGraph

        Returns
        -------
        Tensor of shape (n_graphs, out_channels)
        """
        raise NotImplementedError

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
        if self.head is None:
            raise RuntimeError(f"{type(self).__name__} was built with n_targets=0 (an encoder): use encode().")
        return self.head(self.encode(data))

    def reset_parameters(self) -> None:
        """Re-initialise every learnable parameter (and the batch-norm statistics)."""
        for module in self.children():
            if hasattr(module, "reset_parameters"):
                module.reset_parameters()
            else:
                for inner in module.modules():
                    if inner is not module and hasattr(inner, "reset_parameters"):
                        inner.reset_parameters()


def renamed_parameter(owner: str, old: str, new: str, old_value, new_value, default):
    """The value of a renamed hyper-parameter: the new name's, or the old one's with a ``FutureWarning``.

    Old names are accepted for one release (0.2) so that saved settings keep working.
    """
    if old_value is None:
        return new_value
    if new_value != default:
        raise TypeError(f"{owner}: pass {new}= only ({old}= is its former name).")
    warnings.warn(f"{owner}: {old} was renamed {new}; the old name will be removed in skhybrid 0.3.",
                  FutureWarning, stacklevel=3)
    return old_value
