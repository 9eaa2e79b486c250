"""Helpers shared by the test suites (data directory, small real structures)."""

from __future__ import annotations

import os
from pathlib import Path

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def find_test_data_home() -> Path | None:
    """The data directory the tests read: ``SKHYBRID_DATA_DIR``, else ``../shared/data``."""
    env = os.environ.get("SKHYBRID_DATA_DIR")
    if env:
        return Path(env)
    return SHARED_DATA if SHARED_DATA.is_dir() else None


def running_in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def reference_cgcnn_graph(structure, radius=8.0, max_num_nbr=12, dmin=0.0, step=0.2):
    """The graph of CGCNN's data loader (Xie & Grossman 2018), written from its description.

    ``get_all_neighbors(radius)`` per structure, each site's list sorted by distance
    (a stable sort of pymatgen's order), the first ``max_num_nbr`` kept (short
    lists padded with index 0 and distance ``radius + 1``), distances expanded on
    Gaussians centred at ``arange(dmin, radius + step, step)`` with width ``step``.
    Used as the reference in the equivalence test and the speed benchmark.
    """
    import warnings

    import numpy as np

    all_nbrs = structure.get_all_neighbors(radius, include_index=True)
    all_nbrs = [sorted(nbrs, key=lambda n: n[1]) for nbrs in all_nbrs]
    index, distance = [], []
    for nbrs in all_nbrs:
        if len(nbrs) < max_num_nbr:
            warnings.warn("not enough neighbours; padding as CGCNN does", UserWarning)
            index.append([n[2] for n in nbrs] + [0] * (max_num_nbr - len(nbrs)))
            distance.append([n[1] for n in nbrs] + [radius + 1.0] * (max_num_nbr - len(nbrs)))
        else:
            index.append([n[2] for n in nbrs[:max_num_nbr]])
            distance.append([n[1] for n in nbrs[:max_num_nbr]])
    index, distance = np.array(index), np.array(distance)
    centres = np.arange(dmin, radius + step, step)
    gaussians = np.exp(-((distance[..., None] - centres) ** 2) / step**2)
    return index, distance, gaussians
