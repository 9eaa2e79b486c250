"""A process-wide, size-bounded cache of built crystal graphs.

Graph building learns nothing, so a graph depends only on its structure and the
graph parameters. Tuning a model rebuilds the same graphs for every candidate
(GridSearchCV clones the pipeline each time, so a cache on the instance would be
lost); this cache lives in the process, keyed on a fingerprint of the structure
and the parameters, and evicts the least recently used graphs beyond its budget.
``Pipeline(memory=...)`` was measured slower than rebuilding (hashing pymatgen
Structures and pickling graphs costs more than building them); see
docs/benchmarks.md.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict

import numpy as np

__all__ = ["GRAPH_CACHE", "clear_graph_cache", "structure_fingerprint"]

DEFAULT_BUDGET_MB = 1024


def structure_fingerprint(structure) -> bytes:
    """A digest of the lattice, fractional coordinates and species (with occupancies)."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(np.ascontiguousarray(structure.lattice.matrix, dtype=np.float64).tobytes())
    digest.update(np.ascontiguousarray(structure.frac_coords, dtype=np.float64).tobytes())
    digest.update(repr([tuple((sp.Z, occ) for sp, occ in site.species.items()) for site in structure]).encode())
    return digest.digest()


def _graph_bytes(graph) -> int:
    return sum(v.element_size() * v.nelement() for v in graph.to_dict().values() if hasattr(v, "element_size"))


class GraphCache:
    def __init__(self, budget_bytes: int):
        self.budget_bytes = budget_bytes
        self._graphs: OrderedDict = OrderedDict()
        self._sizes: dict = {}
        self._used = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key):
        """``(graph, cutoff_grown)`` for ``key``, or None."""
        with self._lock:
            entry = self._graphs.get(key)
            if entry is None:
                self.misses += 1
                return None
            self.hits += 1
            self._graphs.move_to_end(key)
        graph, grown = entry
        # a deep copy: a caller that edits a tensor in place (graph.x[0] = ...) or adds attributes must not
        # change what later hits get; copying a crystal graph's tensors costs microseconds
        return graph.clone(), grown

    def put(self, key, graph, grown: bool = False) -> None:
        """Keep ``graph`` and whether its structure's cutoff had to grow (so hits warn again)."""
        size = _graph_bytes(graph)
        if size > self.budget_bytes:
            return
        with self._lock:
            if key in self._graphs:
                return
            self._graphs[key] = (graph.clone(), grown)
            self._sizes[key] = size
            self._used += size
            while self._used > self.budget_bytes:
                old, _ = self._graphs.popitem(last=False)
                self._used -= self._sizes.pop(old)

    def clear(self) -> None:
        with self._lock:
            self._graphs.clear()
            self._sizes.clear()
            self._used = 0
            self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._graphs)


GRAPH_CACHE = GraphCache(int(float(os.environ.get("SKHYBRID_GRAPH_CACHE_MB", DEFAULT_BUDGET_MB)) * 2**20))


def clear_graph_cache() -> None:
    """Empty the process-wide cache of crystal graphs (``StructureGraphizer(cache=True)``).

    The cache is bounded (``SKHYBRID_GRAPH_CACHE_MB``) and keyed on each
    structure and the graph settings, so clearing it is never needed for
    correctness, only to give its memory back.

    Examples
    --------
    >>> from skhybrid.featurizers import clear_graph_cache
    >>> clear_graph_cache()
    """
    GRAPH_CACHE.clear()
