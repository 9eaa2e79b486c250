"""An on-disk store of crystal graphs: written once in chunks, read back graph by graph.

A Materials Project-sized set does not fit in memory as Python graph objects (132k structures of ~30 atoms
with 12 bonds on 41 Gaussians are about 8 GB of edge features alone). The store keeps what every graph is
made from as one flat array per field and chunk (``.npy`` files, concatenated along atoms, bonds and
angles, with the offsets of each graph), written once, atomically per chunk, and read back graph by graph
with positioned reads (``os.pread``) of exactly the rows a graph needs: the data pass through the operating
system's page cache, which it can drop at will, and never stay mapped in the process, so resident
memory stays flat in the number of structures (a memory map would count every page an epoch touched).
A write that is interrupted resumes at the first missing chunk.

Layouts (``layout`` of each chunk in the manifest):

1. every field of the graph as built, Gaussian expansions included (stores of format 1);
2. the arrays of :func:`graph_arrays`: bond distances and angle cosines in float64, no expansions and no
   CGCNN vectors of ordered structures; a read expands them (about 0.2 ms for a 30-atom graph) into exactly
   the graph built in memory. About a sixth of layout 1 on disk (1.71 instead of 10.56 GB for 132,752
   structures), so that the store stays in the page cache while a network trains from it.

A store of format 2 may hold chunks of both layouts (a format-1 store resumed or extended by this version).
"""

from __future__ import annotations

import json
import os
import shutil
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from ._crystal_graph import CrystalGraph, cgcnn_atom_features
from ._graph_cache import structure_fingerprint

__all__ = ["GraphStore", "STORE_FORMAT_VERSION", "append_to_graph_store", "write_graph_store"]

#: version of the manifest and chunk layouts below; a reader refuses a newer one
STORE_FORMAT_VERSION = 2
#: the chunk layout this version writes
CHUNK_LAYOUT = 2
MANIFEST = "manifest.json"
def _open_chunks() -> int:
    """Chunks whose files a store keeps open at once: an eighth of the process's file limit, 16 to 256.

    Each open chunk holds a file descriptor per field (five to seven). A chunk's counts and file headers
    are read once and kept (about 50 kB per chunk), so reopening a closed one is a few ``os.open`` calls;
    with the default limit of 1024 files, 128 chunks (262k graphs) stay open.
    """
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except (ImportError, OSError, ValueError):  # no resource module (Windows)
        return 64
    return 256 if soft == resource.RLIM_INFINITY else int(min(256, max(16, soft // 8)))


OPEN_CHUNKS = _open_chunks()

#: graph fields by the dimension they are concatenated along: one row per atom, bond or angle
#: (``edge_attr`` and ``lg_attr`` are stored in layout-1 chunks only)
_ATOM_FIELDS = ("z", "x")
_BOND_FIELDS = ("edge_attr", "distance", "edge_vec")
_ANGLE_FIELDS = ("lg_attr", "angle_cos")
#: the dtype each field is stored in (layout 2): full precision where an expansion is computed from it
_STORED_DTYPES = {"z": np.int64, "x": np.float32, "edge_index": np.int64, "distance": np.float64,
                  "edge_vec": np.float32, "lg_edge_index": np.int64, "angle_cos": np.float64}
#: index fields, stored relative to their graph (0-based), with the count they index
_INDEX_FIELDS = {"edge_index": "atoms", "lg_edge_index": "bonds"}


def _chunk_name(k: int) -> str:
    return f"chunk-{k:06d}"


def _fingerprint(structures) -> str:
    import hashlib

    digest = hashlib.blake2b(digest_size=16)
    for structure in structures:
        digest.update(structure_fingerprint(structure))
    return digest.hexdigest()


def _write_chunk(folder: Path, structures, first_index: int, params: dict) -> dict:
    """Compute the graph arrays of one chunk and write them flat, atomically (a temporary folder renamed)."""
    from ._graph import _build_graphs, graph_arrays

    indices = range(first_index, first_index + len(structures))
    graphs, grown = _build_graphs(structures, indices, params, build=graph_arrays)
    if any("x" in g for g in graphs) and not all("x" in g for g in graphs):
        # disordered and ordered structures in one chunk: the ordered ones' table rows are stored too
        table = cgcnn_atom_features()
        for g in graphs:
            g.setdefault("x", table[g["z"]])
    counts = {"atoms": np.array([len(g["z"]) for g in graphs]),
              "bonds": np.array([g["edge_index"].shape[1] for g in graphs]),
              "angles": np.array([g["lg_edge_index"].shape[1] if "lg_edge_index" in g else 0 for g in graphs])}
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name, values in counts.items():
        np.save(tmp / f"n_{name}.npy", values.astype(np.int64))
    # each structure's fingerprint (the graph cache's key), so that a graphizer finds its structures here
    np.save(tmp / "fingerprints.npy", np.frombuffer(b"".join(structure_fingerprint(s) for s in structures),
                                                    dtype=np.uint8).reshape(len(structures), -1))
    fields = {}
    for field, dtype in _STORED_DTYPES.items():
        if field not in graphs[0]:
            continue
        if field in _INDEX_FIELDS:  # (2, count) -> (count, 2): one graph's rows lie together on disk
            array = np.ascontiguousarray(np.concatenate([g[field] for g in graphs], axis=1).T, dtype=dtype)
        else:
            array = np.concatenate([np.asarray(g[field], dtype=dtype) for g in graphs], axis=0)
        np.save(tmp / f"{field}.npy", array)
        fields[field] = {"dtype": str(array.dtype), "shape": list(array.shape)}
    tmp.rename(folder)
    return {"layout": CHUNK_LAYOUT, "fields": fields, "grown": [int(i) for i in grown]}


class GraphStore(Sequence):
    """Crystal graphs on disk, read back graph by graph: a sequence that graph networks train on.

    Open a store written by :func:`write_graph_store`; ``store[i]`` is the
    :class:`CrystalGraph` of structure ``i``, rebuilt from the rows it reads,
    and ``store.subset(indices)`` (or ``store[indices]``) a view of some of
    them, for a fold. Graph networks take a store or a view as ``X`` and stream
    it batch by batch, so memory stays flat in the number of graphs:
    ``CGCNNRegressor().fit(store.subset(train), y[train])``.

    Parameters
    ----------
    path : str or path-like
        The store's folder.

    Attributes
    ----------
    params : dict
        The graph settings it was written with (``StructureGraphizer``'s).
    n_structures : int

    Examples
    --------
    >>> import tempfile
    >>> from skhybrid.featurizers import GraphStore, StructureGraphizer, write_graph_store
    >>> from skhybrid.utils._testing import synthetic_crystals
    >>> structures, y = synthetic_crystals(6)
    >>> path = write_graph_store(structures, tempfile.mkdtemp() + "/graphs", StructureGraphizer(), progress=False)
    >>> store = GraphStore(path)
    >>> len(store), store[0].edge_index.shape[0], len(store.subset([1, 3]))
    (6, 2, 2)
    """

    def __init__(self, path):
        self.path = Path(path)
        manifest_path = self.path / MANIFEST
        if not manifest_path.is_file():
            raise FileNotFoundError(f"{self.path} is not a graph store (no {MANIFEST}); write one with "
                                    "skhybrid.featurizers.write_graph_store.")
        try:
            manifest = json.loads(manifest_path.read_text())
        except ValueError as error:
            raise ValueError(f"{manifest_path} is damaged ({error}); write the store again.") from error
        _check_format(manifest, self.path)
        self.manifest = manifest
        self.params = manifest["params"]
        self.n_structures = int(manifest["n_structures"])
        if not manifest.get("complete"):
            raise ValueError(f"{self.path} is incomplete ({self.n_structures} structures written before the write "
                             "stopped); run write_graph_store again with the same structures to finish it.")
        self._chunks = {}
        self._open = OrderedDict()
        self._starts = np.concatenate([[0], np.cumsum([c["n"] for c in manifest["chunks"]])]).astype(np.int64)
        self._indices = np.arange(self.n_structures)
        self._u = None
        self._positions = None

    # --- the sequence ----------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._indices)

    def __getitem__(self, item):
        if isinstance(item, (slice, list, np.ndarray)):
            return self.subset(np.arange(len(self))[item] if isinstance(item, slice) else item)
        position = int(self._indices[item])
        chunk = int(np.searchsorted(self._starts, position, side="right")) - 1
        graph = self._graph(self._chunk(chunk), position - int(self._starts[chunk]))
        if self._u is not None:
            graph.u = torch.from_numpy(self._u[int(item) % len(self)][None, :].copy())
        return graph

    def subset(self, indices) -> GraphStore:
        """A view of the graphs at ``indices`` (positions in this view), sharing the files.

        Parameters
        ----------
        indices : array-like of int

        Returns
        -------
        GraphStore
        """
        indices = np.asarray(indices, dtype=np.int64)
        if len(indices) and (indices.min() < -len(self) or indices.max() >= len(self)):
            raise IndexError(f"indices out of range for a store view of {len(self)} graphs.")
        view = GraphStore.__new__(GraphStore)
        vars(view).update(vars(self))
        view._chunks, view._open = self._chunks, self._open
        view._indices = self._indices[indices]
        view._u = None if self._u is None else self._u[indices]
        return view

    def with_global_features(self, u) -> GraphStore:
        """This view with a global vector ``u`` per graph (a row of ``u``), as ``StructureGraphizer`` adds.

        Parameters
        ----------
        u : array-like of shape (n_graphs, n_features)

        Returns
        -------
        GraphStore
        """
        u = np.asarray(u, dtype=np.float32)
        if u.ndim != 2 or len(u) != len(self):
            raise ValueError(f"u must have one row per graph ({len(self)}), got shape {u.shape}.")
        view = self.subset(np.arange(len(self)))
        view._u = u
        return view

    def locate(self, fingerprints) -> np.ndarray:
        """Positions in the store of structures by their fingerprints (the graph cache's key); -1 if absent.

        Parameters
        ----------
        fingerprints : sequence of bytes

        Returns
        -------
        ndarray of int
        """
        if self._positions is None:
            positions = {}
            for k in range(len(self.manifest["chunks"])):
                rows = np.load(self.path / _chunk_name(k) / "fingerprints.npy")
                for row, digest in enumerate(rows):
                    positions.setdefault(digest.tobytes(), int(self._starts[k]) + row)
            self._positions = positions
        return np.array([self._positions.get(f, -1) for f in fingerprints], dtype=np.int64)

    def __getstate__(self):
        # open files do not travel to other processes; the paths do
        state = dict(vars(self))
        state["_chunks"], state["_open"] = {}, OrderedDict()
        return state

    # --- reading ---------------------------------------------------------------------------------

    def _chunk(self, k: int) -> dict:
        chunk = self._chunks.get(k)
        if chunk is None:
            chunk = self._chunks[k] = self._load_chunk(k)
        if k in self._open:
            self._open.move_to_end(k)
        else:
            if len(self._open) >= OPEN_CHUNKS:  # bounded open files: close the least recently read chunk's
                old, _ = self._open.popitem(last=False)
                for file in self._chunks[old]["fields"].values():
                    file.close()
            self._open[k] = None
        return chunk

    def _load_chunk(self, k: int) -> dict:
        folder = self.path / _chunk_name(k)
        info = self.manifest["chunks"][k]
        counts = {}
        for kind in ("atoms", "bonds", "angles"):
            file = folder / f"n_{kind}.npy"
            try:
                counts[kind] = np.load(file)
            except (OSError, ValueError) as error:
                raise ValueError(f"{file} cannot be read ({type(error).__name__}: {error}); the store is damaged: "
                                 "write it again.") from error
        fields = {name: _FieldFile(folder / f"{name}.npy", meta) for name, meta in info["fields"].items()}
        offsets = {kind: np.concatenate([[0], np.cumsum(values)]) for kind, values in counts.items()}
        return {"fields": fields, "offsets": offsets, "n_atoms": counts["atoms"], "layout": info.get("layout", 1)}

    def _graph(self, chunk: dict, row: int) -> CrystalGraph:
        from ._graph import graph_from_arrays

        offsets = chunk["offsets"]
        spans = {kind: (int(offsets[kind][row]), int(offsets[kind][row + 1])) for kind in offsets}
        values = {}
        for field, file in chunk["fields"].items():
            if field in _ATOM_FIELDS:
                kind = "atoms"
            elif field in _BOND_FIELDS or field == "edge_index":
                kind = "bonds"
            else:
                kind = "angles"
            part = file.rows(*spans[kind])
            values[field] = part.T.copy() if field in _INDEX_FIELDS else part
        if chunk["layout"] >= 2:
            return graph_from_arrays(values, self.params)
        graph = CrystalGraph(**{field: torch.from_numpy(part) for field, part in values.items()})
        graph.num_nodes = int(chunk["n_atoms"][row])
        return graph


class _FieldFile:
    """Rows of one ``.npy`` file, read with ``os.pread``; the file is checked against the manifest when first opened."""

    def __init__(self, path: Path, meta: dict):
        self.path, self.meta, self.fd, self.row_bytes = path, meta, None, None

    def _open(self):
        if self.row_bytes is None:
            self._check()
        try:
            self.fd = os.open(self.path, os.O_RDONLY)
        except OSError as error:
            raise ValueError(f"{self.path} cannot be read ({type(error).__name__}: {error}); the store is damaged: "
                             "write it again.") from error

    def _check(self):
        try:
            with open(self.path, "rb") as handle:
                version = np.lib.format.read_magic(handle)
                read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
                    np.lib.format.read_array_header_2_0
                shape, _, dtype = read_header(handle)
                self.header = handle.tell()
        except (OSError, ValueError) as error:
            raise ValueError(f"{self.path} cannot be read ({type(error).__name__}: {error}); the store is damaged: "
                             "write it again (an interrupted write resumes).") from error
        self.dtype, self.shape = np.dtype(dtype), tuple(shape)
        row_bytes = self.dtype.itemsize * int(np.prod(self.shape[1:], dtype=np.int64))
        expected = self.header + row_bytes * self.shape[0]
        if list(self.shape) != self.meta["shape"] or self.path.stat().st_size != expected:
            raise ValueError(f"{self.path} holds {self.path.stat().st_size} bytes for {list(self.shape)} values, "
                             f"the manifest says {self.meta['shape']} ({expected} bytes); the store is damaged "
                             "(truncated?): write it again.")
        self.row_bytes = row_bytes  # checked once; a reopened file is not read again

    def rows(self, start: int, stop: int) -> np.ndarray:
        if self.fd is None:
            self._open()
        data = os.pread(self.fd, (stop - start) * self.row_bytes, self.header + start * self.row_bytes)
        return np.frombuffer(bytearray(data), dtype=self.dtype).reshape((stop - start, *self.shape[1:]))

    def close(self):
        if getattr(self, "fd", None) is not None:
            fd, self.fd = self.fd, None
            try:
                os.close(fd)
            except OSError:
                pass

    __del__ = close


def _check_format(manifest: dict, path: Path) -> None:
    version = manifest.get("format_version")
    if not isinstance(version, int) or not 1 <= version <= STORE_FORMAT_VERSION:
        raise ValueError(f"{path} was written by a newer skhybrid (store format {version}, this one reads up to "
                         f"{STORE_FORMAT_VERSION}); upgrade skhybrid or write the store again.")


def append_to_graph_store(structures, path, params: dict, *, chunk_size=2048, n_jobs=None) -> None:
    """Add the graphs of ``structures`` at the end of a complete store (or start one): new chunks only."""
    from joblib import Parallel, delayed

    from .. import __version__

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    manifest_path = path / MANIFEST
    if manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("params") != params:
            raise ValueError(f"{path} holds graphs built with other settings ({manifest.get('params')}); give this "
                             "graphizer a store of its own.")
        if not manifest.get("complete"):
            raise ValueError(f"{path} is incomplete; finish it with write_graph_store (same structures) first.")
        _check_format(manifest, path)
        manifest["format_version"] = STORE_FORMAT_VERSION  # new chunks are written in this version's layout
    else:
        manifest = {"format_version": STORE_FORMAT_VERSION, "skhybrid": __version__, "params": params,
                    "chunk_size": int(chunk_size), "n_structures": 0, "chunks": [], "complete": True}
    first = len(manifest["chunks"])
    parts = [structures[i:i + int(chunk_size)] for i in range(0, len(structures), int(chunk_size))]
    infos = Parallel(n_jobs=n_jobs)(
        delayed(_write_chunk)(path / _chunk_name(first + j), part, manifest["n_structures"] + j * int(chunk_size),
                              params) for j, part in enumerate(parts))
    for part, info in zip(parts, infos):
        manifest["chunks"].append({"fingerprint": _fingerprint(part), "n": len(part), **info})
    manifest["n_structures"] += len(structures)
    tmp = manifest_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(manifest, indent=1))
    os.replace(tmp, manifest_path)


def write_graph_store(structures, path, graphizer=None, *, chunk_size=2048, n_jobs=None, progress=True,
                      n_structures=None):
    """Build the crystal graphs of ``structures`` and write them to an on-disk store, chunk by chunk.

    Each chunk of ``chunk_size`` structures is built (in parallel with
    ``n_jobs``, through joblib: local processes, or a Dask cluster under
    ``joblib.parallel_config(backend="dask")``) and written atomically; the
    manifest records the graph settings, the format version and a fingerprint
    of each chunk's structures. Run again with the same structures after an
    interruption, it builds only the missing chunks; with other structures or
    other settings it refuses (choose another path, or delete the folder).
    ``structures`` may be any iterable (a generator reading files), so that
    not even the structures need to be in memory at once.

    Parameters
    ----------
    structures : iterable of pymatgen Structure
    path : str or path-like
        The store's folder (created).
    graphizer : StructureGraphizer, default=None
        Its graph settings (``StructureGraphizer()``'s by default); it must have
        no ``global_features``, which learn from training data and belong to the
        model.
    chunk_size : int, default=2048
        Structures per chunk: what one worker builds and one file holds.
    n_jobs : int, default=None
        Chunks built at once.
    progress : bool, default=True
    n_structures : int, optional
        The number of structures, for the progress bar when ``structures`` is a generator.

    Returns
    -------
    pathlib.Path
        ``path``, to open with :class:`GraphStore`.

    Examples
    --------
    >>> import tempfile
    >>> from skhybrid.featurizers import GraphStore, write_graph_store
    >>> from skhybrid.utils._testing import synthetic_crystals
    >>> structures, _ = synthetic_crystals(5)
    >>> len(GraphStore(write_graph_store(structures, tempfile.mkdtemp() + "/g", chunk_size=2, progress=False)))
    5
    """
    from itertools import islice

    from joblib import Parallel, delayed, effective_n_jobs
    from tqdm.auto import tqdm

    from .. import __version__
    from ._graph import StructureGraphizer
    from ..utils._validation import check_structures

    graphizer = StructureGraphizer() if graphizer is None else graphizer
    if getattr(graphizer, "global_features", None) is not None:
        raise ValueError("write_graph_store stores graphs without global features (they are fitted on training "
                         "data); use a StructureGraphizer without global_features.")
    if int(chunk_size) < 1:
        raise ValueError(f"chunk_size must be at least 1, got {chunk_size}.")
    params = graphizer._graph_params()
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    manifest_path = path / MANIFEST
    old = json.loads(manifest_path.read_text()) if manifest_path.is_file() else None
    if old is not None and (old.get("params") != params or old.get("chunk_size") != int(chunk_size)):
        raise ValueError(f"{path} holds a store written with other settings ({old.get('params')}, chunk_size "
                         f"{old.get('chunk_size')}); choose another path, or delete it to write this one.")
    if old is not None:
        _check_format(old, path)
    chunks = list(old["chunks"]) if old is not None else []
    manifest = {"format_version": STORE_FORMAT_VERSION, "skhybrid": __version__, "params": params,
                "chunk_size": int(chunk_size), "n_structures": 0, "chunks": chunks, "complete": False}

    def save_manifest():
        tmp = manifest_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(manifest, indent=1))
        os.replace(tmp, manifest_path)

    iterator = iter(structures)
    n_jobs = effective_n_jobs(n_jobs)
    total = n_structures if n_structures is not None else (len(structures) if hasattr(structures, "__len__") else None)
    bar = tqdm(total=total, desc="graph store", unit="graph", disable=not progress)
    k, done = 0, 0
    with bar:
        while True:
            batch = []
            for _ in range(n_jobs):
                start = (k + len(batch)) * int(chunk_size)
                part = list(islice(iterator, int(chunk_size)))
                if not part:
                    break
                batch.append((k + len(batch), check_structures(part, what=f"structures[{start}:]")))
                if len(part) < int(chunk_size):
                    break
            if not batch:
                break
            todo = []
            for index, part in batch:
                digest = _fingerprint(part)
                if index < len(chunks):
                    if chunks[index]["fingerprint"] != digest:
                        raise ValueError(f"{path}: chunk {index} was written from other structures; choose another "
                                         "path, or delete it to write this store.")
                    if (path / _chunk_name(index)).is_dir():
                        continue
                todo.append((index, part, digest))
            results = Parallel(n_jobs=min(n_jobs, max(1, len(todo))))(
                delayed(_write_chunk)(path / _chunk_name(index), part, index * int(chunk_size), params)
                for index, part, _ in todo)
            for (index, part, digest), info in zip(todo, results):
                entry = {"fingerprint": digest, "n": len(part), **info}
                if index < len(chunks):
                    chunks[index] = entry
                else:
                    chunks.append(entry)
            done += sum(len(part) for _, part in batch)
            k += len(batch)
            manifest["n_structures"] = done
            save_manifest()
            bar.update(sum(len(part) for _, part in batch))
            if any(len(part) < int(chunk_size) for _, part in batch):
                break
    if done == 0:
        raise ValueError("write_graph_store got no structures.")
    del chunks[k:]
    manifest["n_structures"], manifest["complete"] = done, True
    save_manifest()
    return path
