"""Graphs in, tensors out: validation of graph inputs and the training dataset."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset
from torch_geometric.data import Data

from ..utils._validation import as_sample_list, format_indices

__all__ = ["GraphDataset", "GraphSizes", "check_graphs", "check_targets"]


@dataclass(frozen=True)
class GraphSizes:
    """Feature widths shared by every graph of a data set."""

    n_node_features: int
    n_edge_features: int
    n_global_features: int
    n_angle_features: int

    def describe(self) -> str:
        return (f"{self.n_node_features} node, {self.n_edge_features} edge, "
                f"{self.n_global_features} global and {self.n_angle_features} angle features")


#: the graphizer setting that adds each optional field
_FIELD_FIXES = {
    "lg_edge_index": "StructureGraphizer(line_graph=True)",
    "lg_attr": "StructureGraphizer(line_graph=True)",
    "u": "StructureGraphizer(global_features=MagpieFeaturizer())",
}


def _width(graph, key: str) -> int:
    value = getattr(graph, key, None)
    return 0 if value is None else int(value.shape[-1])


def check_graphs(X, required_fields=(), *, estimator: str = "estimator") -> tuple[list, GraphSizes]:
    """Check that ``X`` holds crystal graphs of one shape; return them and their sizes.

    Raises ``ValueError`` naming the first sample that is not a graph (with the
    fix: a graphizer in front), lacks a field the model needs, or has other
    feature widths than the first graph.
    """
    from ..featurizers._graph_store import GraphStore

    if isinstance(X, GraphStore):
        # one graphizer wrote every graph of a store: the first one speaks for all, and the store streams
        if not len(X):
            raise ValueError(f"{estimator} got no samples.")
        _, sizes = check_graphs([X[0]], required_fields, estimator=estimator)
        return X, sizes
    graphs = as_sample_list(X)
    if not graphs:
        raise ValueError(f"{estimator} got no samples.")
    sizes = None
    for i, graph in enumerate(graphs):
        if not isinstance(graph, Data):
            hint = ""
            if type(graph).__name__ in ("Structure", "IStructure", "Molecule"):
                hint = (" Put a StructureGraphizer in front: "
                        f"Pipeline([('graph', StructureGraphizer()), ('gnn', {estimator}())]).")
            raise ValueError(f"X[{i}] is a {type(graph).__name__}, not a crystal graph.{hint}")
        if getattr(graph, "edge_index", None) is None or getattr(graph, "edge_attr", None) is None:
            raise ValueError(f"X[{i}] has no edge_index or edge_attr; build graphs with StructureGraphizer.")
        if graph.num_nodes is None or graph.num_nodes == 0:
            raise ValueError(f"X[{i}] has no atoms.")
        missing = [field for field in required_fields if getattr(graph, field, None) is None]
        if missing:
            fixes = sorted({_FIELD_FIXES.get(field, "StructureGraphizer") for field in missing})
            raise ValueError(
                f"X[{i}] has no {', '.join(missing)}, which {estimator} needs; "
                f"build the graphs with {' and '.join(fixes)}."
            )
        graph_sizes = GraphSizes(_width(graph, "x"), _width(graph, "edge_attr"), _width(graph, "u"),
                                 _width(graph, "lg_attr"))
        if sizes is None:
            sizes = graph_sizes
        elif graph_sizes != sizes:
            raise ValueError(
                f"X[{i}] has {graph_sizes.describe()}, but X[0] has {sizes.describe()}; "
                "build all graphs with one StructureGraphizer."
            )
    return graphs, sizes


def check_targets(y, n_samples: int) -> np.ndarray:
    """Targets as a float ``(n, k)`` array; NaN marks a missing label.

    Raises ``ValueError`` for a length mismatch, infinite values (naming the
    rows) and target columns with no label at all.
    """
    y = np.asarray(y, dtype=np.float64)
    if y.ndim == 1:
        y = y[:, None]
    if y.ndim != 2:
        raise ValueError(f"y must be 1-D or 2-D (samples x targets), got shape {y.shape}.")
    if len(y) != n_samples:
        raise ValueError(f"X has {n_samples} samples but y has {len(y)}.")
    bad = np.flatnonzero(np.isinf(y).any(axis=1))
    if len(bad):
        raise ValueError(
            f"y has infinite values in rows {format_indices(bad.tolist())}; "
            "use NaN for a missing label, or drop those samples."
        )
    empty = np.flatnonzero(np.isnan(y).all(axis=0))
    if len(empty):
        raise ValueError(f"y column(s) {empty.tolist()} have no label at all.")
    return y


class GraphDataset(Dataset):
    """``(graph, target row)`` pairs for the training loop.

    The graphs are shallow copies holding only the fields the model reads
    (collating fewer fields is faster), with ``u`` standardised: made once for
    a list of graphs, graph by graph as batches ask for them for an on-disk
    :class:`~skhybrid.featurizers.GraphStore`, so that memory stays flat.
    """

    def __init__(self, graphs, y: torch.Tensor, fields, u_mean=None, u_scale=None):
        self.streamed = not isinstance(graphs, list)
        self.view = (fields, u_mean, u_scale)
        self.graphs = graphs if self.streamed else [_model_view(g, fields, u_mean, u_scale) for g in graphs]
        self.y = y

    def __len__(self) -> int:
        return len(self.graphs)

    def __getitem__(self, i):
        graph = self.graphs[i]
        if self.streamed:
            graph = _model_view(graph, *self.view)
        return graph, self.y[i]


def _model_view(graph, fields, u_mean, u_scale):
    values = {key: graph[key] for key in fields if key in graph}
    if "x" in values:
        values.pop("z", None)
    if "u" in values and u_mean is not None:
        values["u"] = (values["u"] - u_mean) / u_scale
    view = type(graph)(**values)
    view.num_nodes = graph.num_nodes
    return view
