"""Periodic crystal graphs: the neighbour search, edge and angle features, and the Data class."""

from __future__ import annotations

import json
from functools import cache, lru_cache
from importlib import resources

import numpy as np
import torch
from torch_geometric.data import Data

__all__ = ["CrystalGraph", "periodic_neighbors", "gaussian_expansion", "line_graph", "cgcnn_atom_features"]


class CrystalGraph(Data):
    """A ``torch_geometric.data.Data`` whose line graph batches with the atom graph.

    Atom graph: ``z`` (atomic numbers), ``x`` (node features, when asked for),
    ``edge_index`` (row 0 the neighbour, row 1 the centre atom: messages flow
    from neighbours to centres), ``edge_attr`` (Gaussian-expanded distances),
    ``distance`` and ``edge_vec`` (centre to neighbour image, in Angstrom).
    Line graph (optional): ``lg_edge_index`` between bonds, ``lg_attr`` (angle
    basis) and ``angle_cos``. Global state (optional): ``u`` of shape (1, d).

    Built by :class:`~skhybrid.featurizers.StructureGraphizer`; the arguments
    are those of ``torch_geometric.data.Data``.

    Parameters
    ----------
    x : Tensor of shape (n_atoms, n_node_features), optional
        Node features.
    edge_index : Tensor of shape (2, n_bonds), optional
        Bonds, neighbour to centre.
    edge_attr : Tensor of shape (n_bonds, n_edge_features), optional
        Bond features.
    y : Tensor, optional
        Targets (the estimators keep them outside the graphs).
    pos : Tensor, optional
        Cartesian positions (unused by skhybrid's networks).
    time : Tensor, optional
        Unused; part of ``Data``'s signature.
    **kwargs
        Further fields (``z``, ``distance``, ``edge_vec``, ``lg_edge_index``, ``lg_attr``, ``angle_cos``, ``u``).

    Examples
    --------
    >>> from pymatgen.core import Lattice, Structure
    >>> from torch_geometric.data import Batch
    >>> from skhybrid import StructureGraphizer
    >>> nacl = Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.64), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    >>> graph = StructureGraphizer(line_graph=True).fit_transform([nacl])[0]
    >>> graph.edge_index.shape[1], graph.lg_edge_index.max().item() < graph.edge_index.shape[1]
    (96, True)
    >>> batch = Batch.from_data_list([graph, graph])   # the second line graph is offset by the first's bonds
    >>> batch.lg_edge_index.max().item()
    191
    """

    def __inc__(self, key, value, *args, **kwargs):
        if key == "lg_edge_index":
            # line-graph nodes are the bonds: offset by the bonds of earlier graphs
            return self.edge_index.size(1)
        return super().__inc__(key, value, *args, **kwargs)


def periodic_neighbors(structure, cutoff: float, max_neighbors: int):
    """The ``max_neighbors`` nearest neighbours of every site within ``cutoff``, periodic images included
    (all of them for ``max_neighbors=None``).

    Returns ``(centre, neighbour, image, distance)`` sorted by centre, then distance;
    equal distances are ordered by neighbour index, then by pymatgen's order
    (deterministic for a given structure).
    """
    centre, neighbor, image, distance = structure.get_neighbor_list(r=cutoff)
    order = np.lexsort((neighbor, distance, centre))
    centre, neighbor, image, distance = centre[order], neighbor[order], image[order], distance[order]
    if max_neighbors is None:
        return centre, neighbor, image, distance
    # rank of each entry within its centre's list; keep the first max_neighbors
    starts = np.searchsorted(centre, centre, side="left")
    keep = (np.arange(len(centre)) - starts) < max_neighbors
    return centre[keep], neighbor[keep], image[keep], distance[keep]


@lru_cache(maxsize=64)
def _centres(start: float, stop: float, n: int) -> np.ndarray:
    return np.linspace(start, stop, n)


def gaussian_expansion(values: np.ndarray, start: float, stop: float, n: int, width: float | None = None) -> np.ndarray:
    """``exp(-((v - c_k) / width)^2)`` on ``n`` centres ``c_k`` evenly from ``start`` to ``stop``.

    The width defaults to the spacing of the centres, as CGCNN's ``GaussianDistance``
    (``dmin=0, dmax=8, step=0.2`` gives 41 centres and width 0.2).
    """
    centres = _centres(float(start), float(stop), int(n))
    if width is None:
        width = (stop - start) / (n - 1)
    return np.exp(-(((values[:, None] - centres[None, :]) / width) ** 2))


def line_graph(centre: np.ndarray, edge_vec: np.ndarray):
    """Bond pairs that share their centre atom, and the cosine of the angle between them.

    For the bonds ``e1 = (j -> i)`` and ``e2 = (k -> i)`` of atom ``i`` (``e1 != e2``),
    the line graph has the directed edge ``e1 -> e2`` with ``cos(angle j-i-k)``.
    ``centre`` must be sorted, as ``periodic_neighbors`` returns it.
    """
    n_edges = len(centre)
    if n_edges == 0:
        return np.zeros((2, 0), dtype=np.int64), np.zeros(0)
    starts = np.flatnonzero(np.r_[True, centre[1:] != centre[:-1]])
    counts = np.diff(np.r_[starts, n_edges])
    sources, targets = [], []
    for k in np.unique(counts):
        first = starts[counts == k]
        a, b = np.nonzero(~np.eye(k, dtype=bool))  # all ordered pairs of distinct bonds
        sources.append((first[:, None] + a[None, :]).ravel())
        targets.append((first[:, None] + b[None, :]).ravel())
    source = np.concatenate(sources)
    target = np.concatenate(targets)
    u, v = edge_vec[source], edge_vec[target]
    cos = np.einsum("ij,ij->i", u, v) / (np.linalg.norm(u, axis=1) * np.linalg.norm(v, axis=1))
    return np.stack([source, target]), np.clip(cos, -1.0, 1.0)


@cache
def cgcnn_atom_features() -> np.ndarray:
    """The 92-dimensional CGCNN atom encoding (Xie & Grossman 2018), bundled in matminer.

    Row ``Z`` holds element ``Z``'s vector (Z = 1..100); row 0 and missing rows are NaN.
    """
    import matminer.utils.data_files as data_files

    raw = json.loads(resources.files(data_files).joinpath("cgcnn_atom_feature.json").read_text())
    table = np.full((max(int(z) for z in raw) + 1, len(raw["1"])), np.nan, dtype=np.float32)
    for z, vector in raw.items():
        table[int(z)] = vector
    return table


def to_tensor(array, dtype) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array)).to(dtype)
