"""StructureGraphizer: pymatgen Structures to periodic crystal graphs for graph networks."""

from __future__ import annotations

import os
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context, clone
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..utils import check_structures, progress_bar
from ._crystal_graph import (
    CrystalGraph,
    cgcnn_atom_features,
    gaussian_expansion,
    periodic_neighbors,
    to_tensor,
)
from ._crystal_graph import (
    line_graph as build_line_graph,
)
from ._graph_cache import GRAPH_CACHE, structure_fingerprint

__all__ = ["StructureGraphizer"]

# An atom with no neighbour within the cutoff gets the cutoff multiplied by this,
# up to MAX_CUTOFF_GROWTHS times, for its structure only.
CUTOFF_GROWTH = 1.5
MAX_CUTOFF_GROWTHS = 4


class StructureGraphizer(TransformerMixin, BaseEstimator):
    """Turn crystal structures into periodic graphs for graph neural networks.

    Each structure becomes a :class:`CrystalGraph` (a ``torch_geometric.data.Data``):
    every atom is linked to its ``max_neighbors`` nearest neighbours within
    ``cutoff``, periodic images included (a one-atom cell links to its own
    images), as in CGCNN (Xie & Grossman, Phys. Rev. Lett. 120, 145301, 2018).
    The neighbour search is pymatgen's vectorized ``get_neighbor_list``; the
    order is deterministic: centre, then distance, equal distances by neighbour index.

    Stored on each graph:

    - ``z`` (atomic numbers, always) and ``x``: the 92-dimensional CGCNN atom
      encoding when ``atom_features="cgcnn"``;
    - ``edge_index`` (row 0 neighbour, row 1 centre), ``distance``,
      ``edge_vec`` (centre to neighbour image) and ``edge_attr``: the distances
      on ``n_gaussians`` Gaussians ``exp(-((d - c_k) / w)^2)`` with centres
      evenly from 0 to ``gaussian_stop`` (``cutoff`` by default) and ``w``
      their spacing (CGCNN's 0.2 A by default);
    - with ``line_graph=True``, the ALIGNN line graph (Choudhary & DeCost, npj
      Comput. Mater. 7, 185, 2021): one node per bond and, for every ordered
      pair of distinct bonds ``(j -> i), (k -> i)`` of an atom ``i``, an edge
      ``lg_edge_index`` with the angle j-i-k as ``angle_cos`` and its
      expansion on ``n_angle_basis`` Gaussians over [-1, 1] as ``lg_attr``.
      ``CrystalGraph`` offsets ``lg_edge_index`` when graphs are batched;
    - with ``global_features``, that transformer's row for the structure as
      ``u`` of shape (1, d): the composition vector for early fusion and
      MEGNet's global state. It is cloned and fitted in ``fit``.

    An atom with no neighbour within ``cutoff`` (an isolated molecule in a
    large box, say) does not fail: the cutoff for that structure grows by a
    factor 1.5 until every atom has a neighbour (at most 4 times), and a
    warning names the structure.

    Parameters
    ----------
    cutoff : float, default=8.0
        Neighbour search radius in Angstrom.
    max_neighbors : int or None, default=12
        Neighbours kept per atom (the nearest ones); ``None`` keeps every
        neighbour within ``cutoff`` (a radius graph, as kgcnn's MEGNet and
        SchNet use).
    atom_features : {"cgcnn", "z"}, default="cgcnn"
        ``"cgcnn"`` stores the CGCNN encoding as ``x``; ``"z"`` stores only the
        atomic numbers, for models with a learned element embedding.
    n_gaussians : int, default=41
        Gaussians of the distance expansion.
    gaussian_width : float or None, default=None
        Width ``w`` of the distance Gaussians in Angstrom; ``None`` uses their
        spacing, ``gaussian_stop / (n_gaussians - 1)`` (CGCNN's 0.2 A). kgcnn
        writes its Gaussians ``exp(-(d - c_k)^2 / (2 sigma^2))``: its ``sigma``
        is ``w / sqrt(2)`` here (its MEGNet recipe's 0.4 is ``w = 0.566``).
    gaussian_stop : float or None, default=None
        The last Gaussian centre in Angstrom; ``None`` is ``cutoff``. kgcnn
        places its ``n`` centres at ``k * cutoff / n`` for ``k < n``, short of
        the cutoff: 25 centres over 5 A end at 4.8.
    line_graph : bool, default=False
        Build the bond-angle line graph (ALIGNN).
    n_angle_basis : int, default=40
        Gaussians of the angle-cosine expansion (ALIGNN uses 40).
    global_features : transformer, default=None
        A transformer from structures to one vector each (e.g.
        ``MagpieFeaturizer()``), stored as ``u``.
    occupancy : {"error", "weighted"}, default="error"
        A disordered (partially occupied) site raises ``ValueError`` naming the
        structure, or with ``"weighted"`` gets the occupancy-weighted mean of
        its species' CGCNN vectors (``z`` is then its majority species).
    cache : bool, default=True
        Keep built graphs in a process-wide cache keyed on a fingerprint of the
        structure (lattice, coordinates, species) and the graph parameters, so
        that tuning a model over the same structures builds each graph once,
        across clones. Bounded to ``SKHYBRID_GRAPH_CACHE_MB`` (default 1024) MB,
        least recently used first out; ``skhybrid.featurizers.clear_graph_cache()``
        empties it.
    n_jobs : int, default=None
        Processes for building graphs (joblib semantics; ``None`` means 1).
        Spawning workers costs more than building a few thousand small graphs.
    store : str, path-like or None, default=None
        A folder for an on-disk graph store (:class:`~skhybrid.featurizers.GraphStore`):
        ``transform`` then returns a view of the store instead of a list, graphs
        already there (found by the cache's key, a fingerprint of the structure)
        are not built again, new ones are added, and graph networks stream the
        view batch by batch, so memory stays flat in the number of structures.
        One store holds one set of graph settings; ``u`` is computed on the fly.

    Attributes
    ----------
    global_features_ : transformer or None
        The fitted clone of ``global_features``.
    n_node_features_ : int
        Size of ``x`` (0 with ``atom_features="z"``).
    n_edge_features_ : int
        Size of ``edge_attr``.
    n_global_features_ : int
        Size of ``u`` (0 without ``global_features``).

    Notes
    -----
    Graph building is deterministic and learns nothing but the global-feature
    transformer, hence the cache (``cache=True``). ``Pipeline(memory=...)``
    also works but was measured slower than rebuilding: hashing pymatgen
    Structures and pickling graphs costs more than building them (see
    docs/benchmarks.md).

    Examples
    --------
    >>> from pymatgen.core import Lattice, Structure
    >>> from skhybrid import StructureGraphizer
    >>> nacl = Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.64), ["Na", "Cl"],
    ...                                  [[0, 0, 0], [0.5, 0.5, 0.5]])
    >>> graph = StructureGraphizer().fit_transform([nacl])[0]
    >>> graph.num_nodes, graph.edge_index.shape[1], tuple(graph.edge_attr.shape)
    (8, 96, (96, 41))
    """

    _parameter_constraints: dict = {
        "cutoff": [Interval(Real, 0, None, closed="neither")],
        "max_neighbors": [Interval(Integral, 1, None, closed="left"), None],
        "atom_features": [StrOptions({"cgcnn", "z"})],
        "n_gaussians": [Interval(Integral, 2, None, closed="left")],
        "gaussian_width": [Interval(Real, 0, None, closed="neither"), None],
        "gaussian_stop": [Interval(Real, 0, None, closed="neither"), None],
        "line_graph": ["boolean"],
        "n_angle_basis": [Interval(Integral, 2, None, closed="left")],
        "global_features": [HasMethods(["fit", "transform"]), None],
        "occupancy": [StrOptions({"error", "weighted"})],
        "cache": ["boolean"],
        "n_jobs": [Integral, None],
        "store": [str, os.PathLike, None],
    }

    def __init__(
        self,
        cutoff=8.0,
        max_neighbors=12,
        atom_features="cgcnn",
        n_gaussians=41,
        gaussian_width=None,
        gaussian_stop=None,
        line_graph=False,
        n_angle_basis=40,
        global_features=None,
        occupancy="error",
        cache=True,
        n_jobs=None,
        store=None,
    ):
        self.cutoff = cutoff
        self.max_neighbors = max_neighbors
        self.atom_features = atom_features
        self.n_gaussians = n_gaussians
        self.gaussian_width = gaussian_width
        self.gaussian_stop = gaussian_stop
        self.line_graph = line_graph
        self.n_angle_basis = n_angle_basis
        self.global_features = global_features
        self.occupancy = occupancy
        self.cache = cache
        self.n_jobs = n_jobs
        self.store = store

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None):
        """Fit the global-feature transformer, if any.

        Parameters
        ----------
        X : list, array or Series of pymatgen Structure
        y : array-like, default=None
            Passed to the global-feature transformer's ``fit``.

        Returns
        -------
        self : StructureGraphizer
        """
        structures = check_structures(X)
        if self.global_features is not None:
            self.global_features_ = clone(self.global_features).fit(structures, y)
            self.n_global_features_ = int(np.asarray(self.global_features_.transform(structures[:1])).shape[1])
        else:
            self.global_features_ = None
            self.n_global_features_ = 0
        self.n_node_features_ = cgcnn_atom_features().shape[1] if self.atom_features == "cgcnn" else 0
        self.n_edge_features_ = self.n_gaussians
        return self

    def transform(self, X):
        """Build one graph per structure.

        Parameters
        ----------
        X : list, array or Series of pymatgen Structure

        Returns
        -------
        graphs : list of CrystalGraph
        """
        check_is_fitted(self, "n_edge_features_")
        structures = check_structures(X)
        if self.store is not None:
            return self._stored_graphs(structures)
        params = self._graph_params()
        graphs, grown_before = [None] * len(structures), []
        if self.cache:
            param_key = tuple(sorted(params.items()))
            keys = [(structure_fingerprint(s), param_key) for s in structures]
            for i, key in enumerate(keys):
                hit = GRAPH_CACHE.get(key)
                if hit is not None:
                    graphs[i] = hit[0]
                    if hit[1]:
                        grown_before.append(i)
        todo = [i for i, g in enumerate(graphs) if g is None]
        n_jobs = effective_n_jobs(self.n_jobs)
        with progress_bar(total=len(todo), desc="crystal graphs", unit="graph") as bar:
            if n_jobs > 1 and len(todo) >= 4 * n_jobs:
                # more chunks than workers, so the bar moves while they run
                chunks = np.array_split(np.asarray(todo), min(len(todo) // 2, 8 * n_jobs))
                built, grown = [], []
                for part in Parallel(n_jobs=n_jobs, return_as="generator")(
                    delayed(_build_graphs)([structures[i] for i in chunk], chunk.tolist(), params)
                    for chunk in chunks
                ):
                    built.extend(part[0])
                    grown.extend(part[1])
                    bar.update(len(part[0]))
            else:
                built, grown = _build_graphs([structures[i] for i in todo], todo, params,
                                             None if bar.disable else bar)
        for i, graph in zip(todo, built):
            graphs[i] = graph
            if self.cache:
                GRAPH_CACHE.put(keys[i], graph, i in grown)
        grown = sorted(grown_before + grown)
        if grown:
            warnings.warn(
                f"StructureGraphizer: structure(s) {grown} have atoms with no neighbour within "
                f"cutoff={self.cutoff} A; their cutoff was grown until every atom has one.",
                UserWarning,
                stacklevel=2,
            )
        if self.global_features_ is not None:
            u = np.asarray(self.global_features_.transform(structures), dtype=np.float32)
            for graph, row in zip(graphs, u):
                graph.u = torch.from_numpy(row[None, :].copy())
        return graphs

    def _stored_graphs(self, structures):
        """A view of the on-disk store holding these structures' graphs; the missing ones are added first."""
        from pathlib import Path

        from ..utils import folder_lock
        from ._graph_store import MANIFEST, GraphStore, append_to_graph_store

        params = self._graph_params()
        path = Path(self.store)
        fingerprints = [structure_fingerprint(s) for s in structures]

        def located():
            if not (path / MANIFEST).is_file():
                return None, np.full(len(structures), -1)
            store = GraphStore(path)
            if store.params != params:
                raise ValueError(f"store={str(path)!r} holds graphs built with other settings ({store.params}); give "
                                 "this graphizer a store of its own.")
            return store, store.locate(fingerprints)

        store, positions = located()
        if (positions < 0).any():
            # one writer at a time: parallel fits (a fusion model's n_jobs) may add to one store together
            with folder_lock(path):
                store, positions = located()
                missing = {}
                for i in np.flatnonzero(positions < 0):
                    missing.setdefault(fingerprints[i], int(i))
                if missing:
                    append_to_graph_store([structures[i] for i in missing.values()], path, params, n_jobs=self.n_jobs)
                    store, positions = located()
        view = store.subset(positions)
        if self.global_features_ is not None:
            view = view.with_global_features(self.global_features_.transform(structures))
        return view

    def _graph_params(self) -> dict:
        params = dict(
            cutoff=float(self.cutoff),
            max_neighbors=None if self.max_neighbors is None else int(self.max_neighbors),
            atom_features=self.atom_features,
            n_gaussians=int(self.n_gaussians),
            gaussian_width=None if self.gaussian_width is None else float(self.gaussian_width),
            line_graph=bool(self.line_graph),
            n_angle_basis=int(self.n_angle_basis),
            occupancy=self.occupancy,
        )
        if self.gaussian_stop is not None:  # only when set, so that stores built before it keep their names
            params["gaussian_stop"] = float(self.gaussian_stop)
        return params

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.transformer_tags.preserves_dtype = []
        return tags


def _build_graphs(structures, indices, params, bar=None, build=None):
    """Graphs of ``structures``, whose positions in the caller's input are ``indices``.

    ``build`` makes one graph (default :func:`structure_to_graph`); the on-disk store passes
    :func:`graph_arrays`, so that both paths walk the structures and record grown cutoffs alike.
    """
    build = structure_to_graph if build is None else build
    graphs, grown = [], []
    for index, structure in zip(indices, structures):
        graph, was_grown = build(structure, index, **params)
        if bar is not None:
            bar.update(1)
        graphs.append(graph)
        if was_grown:
            grown.append(index)
    return graphs, grown


def _node_features(structure, index, atom_features, occupancy):
    try:
        # Site.specie raises AttributeError on a disordered site; cheaper than asking each first
        z = np.array(structure.atomic_numbers, dtype=np.int64)
        ordered = True
    except AttributeError:
        ordered = False
    if ordered:
        if atom_features == "z":
            return z, None
        table = cgcnn_atom_features()
        if z.max() >= len(table) or np.isnan(table[z, 0]).any():
            bad = next(int(v) for v in z if v >= len(table) or np.isnan(table[v, 0]))
            raise ValueError(
                f"X[{index}] contains element Z={bad}, which has no CGCNN atom encoding (Z = 1-100); "
                "use atom_features='z'."
            )
        return z, None  # an ordered structure's vectors are table rows: looked up when the graph is made
    if occupancy == "error":
        site = next(i for i, s in enumerate(structure) if not s.is_ordered)
        raise ValueError(
            f"X[{index}] is disordered (site {site}: {structure[site].species}); graphs need one "
            "element per site. Pass occupancy='weighted' for occupancy-weighted atom features, or "
            "order the structure (e.g. pymatgen's OrderDisorderedStructureTransformation)."
        )
    if atom_features == "z":
        raise ValueError(
            f"X[{index}] is disordered and atom_features='z' has no occupancy-weighted form; "
            "use atom_features='cgcnn'."
        )
    table = cgcnn_atom_features()
    z = np.empty(len(structure), dtype=np.int64)
    x = np.zeros((len(structure), table.shape[1]), dtype=np.float32)
    for i, site in enumerate(structure):
        species = site.species
        total = sum(species.values())
        z[i] = max(species.items(), key=lambda item: item[1])[0].Z
        for sp, occ in species.items():
            x[i] += table[sp.Z] * (occ / total)
    if np.isnan(x).any():
        raise ValueError(f"X[{index}] contains an element without a CGCNN atom encoding (Z = 1-100).")
    return z, x


#: Two atoms closer than this (A) are taken as coincident, which no crystal graph can represent.
MIN_DISTANCE = 0.3


def _check_no_coincident_atoms(structure, index) -> None:
    """Raise for two atoms at (nearly) the same place: their bond would have zero length.

    pymatgen's neighbour search leaves out pairs at zero distance, so exact duplicates are looked
    for among the wrapped fractional coordinates, and near ones among the bonds.
    """
    frac = np.round(np.mod(structure.frac_coords, 1.0), 6) % 1.0
    _, first, counts = np.unique(frac, axis=0, return_index=True, return_counts=True)
    if (counts > 1).any():
        site = int(first[np.argmax(counts > 1)])
        raise ValueError(f"X[{index}] has two atoms at the same position (site {site} and another); "
                         "remove the duplicate site.")
    centre, neighbor, _, distance = structure.get_neighbor_list(r=MIN_DISTANCE)
    if len(distance):
        raise ValueError(f"X[{index}] has atoms {int(centre[0])} and {int(neighbor[0])} only "
                         f"{float(distance[0]):.3g} A apart (coincident atoms); fix the structure.")


def structure_to_graph(structure, index, **params):
    """One structure's CrystalGraph, and whether its cutoff had to grow."""
    arrays, grown = graph_arrays(structure, index, **params)
    return graph_from_arrays(arrays, params), grown


def graph_arrays(structure, index, *, cutoff, max_neighbors, atom_features, n_gaussians,
                 gaussian_width=None, gaussian_stop=None, line_graph: bool, n_angle_basis, occupancy):
    """What a structure's graph is made from, as numpy arrays, and whether its cutoff had to grow.

    Distances and angle cosines are kept in float64 and their Gaussian expansions are left to
    :func:`graph_from_arrays`: the graph store holds these arrays (about a sixth of the expanded
    graph) and expands them on reading into exactly the graph built in memory. ``x`` is present
    only for disordered structures; an ordered one's CGCNN vectors are rows of the table by ``z``.
    """
    z, x = _node_features(structure, index, atom_features, occupancy)
    n_atoms = len(structure)
    _check_no_coincident_atoms(structure, index)
    radius, grown = cutoff, False
    for _ in range(MAX_CUTOFF_GROWTHS + 1):
        centre, neighbor, image, distance = periodic_neighbors(structure, radius, max_neighbors)
        if len(np.unique(centre)) == n_atoms:
            break
        radius *= CUTOFF_GROWTH
        grown = True
    else:
        raise ValueError(
            f"X[{index}] has atoms with no neighbour within {radius / CUTOFF_GROWTH:.1f} A "
            f"({MAX_CUTOFF_GROWTHS} growths of cutoff={cutoff}); is the structure valid?"
        )
    cart = structure.cart_coords
    edge_vec = cart[neighbor] + image @ structure.lattice.matrix - cart[centre]
    arrays = {"z": z, "edge_index": np.stack([neighbor, centre]).astype(np.int64),
              "distance": np.asarray(distance, dtype=np.float64), "edge_vec": edge_vec}
    if x is not None:
        arrays["x"] = np.ascontiguousarray(x, dtype=np.float32)
    if line_graph:
        arrays["lg_edge_index"], arrays["angle_cos"] = build_line_graph(centre, edge_vec)
    return arrays, grown


def graph_from_arrays(arrays, params) -> CrystalGraph:
    """The CrystalGraph of :func:`graph_arrays`' output: expansions computed, fields in float32."""
    z, distance = arrays["z"], arrays["distance"]
    graph = CrystalGraph(
        z=torch.from_numpy(np.ascontiguousarray(z, dtype=np.int64)),
        edge_index=torch.from_numpy(np.ascontiguousarray(arrays["edge_index"], dtype=np.int64)),
        edge_attr=to_tensor(gaussian_expansion(distance, 0.0, params.get("gaussian_stop") or params["cutoff"],
                                               params["n_gaussians"], params.get("gaussian_width")), torch.float32),
        distance=to_tensor(distance, torch.float32),
        edge_vec=to_tensor(arrays["edge_vec"], torch.float32),
        num_nodes=len(z),
    )
    x = arrays.get("x")
    if x is None and params["atom_features"] == "cgcnn":
        x = cgcnn_atom_features()[z]
    if x is not None:
        graph.x = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    if params["line_graph"]:
        cos = arrays["angle_cos"]
        graph.lg_edge_index = torch.from_numpy(np.ascontiguousarray(arrays["lg_edge_index"], dtype=np.int64))
        graph.angle_cos = to_tensor(cos, torch.float32)
        graph.lg_attr = to_tensor(gaussian_expansion(cos, -1.0, 1.0, params["n_angle_basis"]), torch.float32)
    return graph
