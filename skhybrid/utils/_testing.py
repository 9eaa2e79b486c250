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


def rocksalt(cation="Na", anion="Cl", a=5.64):
    """A rock-salt crystal (space group Fm-3m, 8 atoms in the conventional cell)."""
    from pymatgen.core import Lattice, Structure

    # the positions written out: Structure.from_spacegroup takes about a second per call
    fcc = [[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]]
    shifted = [[(x + 0.5) % 1, y, z] for x, y, z in fcc]
    return Structure(Lattice.cubic(a), [cation] * 4 + [anion] * 4, fcc + shifted)


def perovskite(a=3.905, a_site="Sr", b_site="Ti", anion="O"):
    """An ideal cubic ABO3 perovskite (5 atoms): B-O bonds along the axes."""
    from pymatgen.core import Lattice, Structure

    return Structure(Lattice.cubic(a), [a_site, b_site, anion, anion, anion],
                     [[0, 0, 0], [0.5, 0.5, 0.5], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])


def monolayer(a=3.19, vacuum=20.0, metal="Mo", chalcogen="S"):
    """A 2H MX2 monolayer (3 atoms, about 3.1 A thick) with ``vacuum`` A of empty space along c."""
    from pymatgen.core import Lattice, Structure

    thickness = 3.13
    c = thickness + vacuum
    lattice = Lattice.hexagonal(a, c)
    return Structure(lattice, [metal, chalcogen, chalcogen],
                     [[1 / 3, 2 / 3, 0.5], [2 / 3, 1 / 3, 0.5 + thickness / 2 / c], [2 / 3, 1 / 3, 0.5 - thickness / 2 / c]])


ROCKSALT_PAIRS = [("Li", "F"), ("Na", "Cl"), ("K", "Cl"), ("Mg", "O"), ("Ca", "O"), ("Na", "F"), ("K", "Br"),
                  ("Li", "Cl"), ("Sr", "O"), ("Ba", "O"), ("Rb", "I"), ("Ag", "Cl")]
PEROVSKITE_TRIPLES = [("Sr", "Ti"), ("Ba", "Ti"), ("Ca", "Ti"), ("Sr", "Zr"), ("Ba", "Zr"), ("K", "Nb"),
                      ("Na", "Nb"), ("La", "Al")]


def synthetic_crystals(n=48, seed=0):
    """``n`` small, varied crystals and a smooth target: a data set for tests that need no files.

    Rock salts and cubic perovskites of several chemistries, each with its own lattice
    constant, a random strain and small random displacements, so that composition and
    structure both matter. The target is a made-up but learnable function of both: the
    volume per atom plus a mass term (``sum 1/sqrt(m)``), in arbitrary units.

    Returns
    -------
    structures : list of Structure
    y : ndarray of shape (n,)
    """
    import numpy as np
    from pymatgen.core import Element

    rng = np.random.default_rng(seed)
    structures = []
    for i in range(n):
        if i % 2 == 0:
            cation, anion = ROCKSALT_PAIRS[(i // 2) % len(ROCKSALT_PAIRS)]
            structure = rocksalt(cation, anion, a=rng.uniform(4.0, 6.6))
        else:
            a_site, b_site = PEROVSKITE_TRIPLES[(i // 2) % len(PEROVSKITE_TRIPLES)]
            structure = perovskite(a=rng.uniform(3.7, 4.3), a_site=a_site, b_site=b_site)
        structure.apply_strain(rng.uniform(-0.03, 0.03, size=3))
        structure.perturb(0.05, min_distance=0.0, seed=int(rng.integers(1 << 30)))
        structures.append(structure)
    y = np.array([s.volume / len(s) + 10 * sum(1 / np.sqrt(Element(site.specie).atomic_mass) for site in s) / len(s)
                  for s in structures])
    return structures, y


def write_crystal_folder(folder, n=36, seed=0):
    """Write :func:`synthetic_crystals` as CIF files with a ``targets.csv`` (columns ``file``, ``y``); return ``folder``.

    The layout ``skhybrid benchmark --data`` and ``skhybrid fit --data`` read, for tests of the
    command line and the runner.
    """
    from pathlib import Path

    import pandas as pd

    folder = Path(folder)
    structures, y = synthetic_crystals(n, seed=seed)
    rows = []
    for i, (structure, value) in enumerate(zip(structures, y)):
        structure.to(filename=str(folder / f"c{i:02d}.cif"))
        rows.append({"file": f"c{i:02d}.cif", "y": value})
    pd.DataFrame(rows).to_csv(folder / "targets.csv", index=False)
    return folder


def miniature_matbench(task, source_folder, monkeypatch, n=30, seed=0):
    """A small stand-in for a Matbench task's official file, served as its download; return the metadata.

    Writes ``source_folder/<task>.json.gz`` with ``n`` rows of the task's columns (synthetic crystals, or
    their formulas for composition tasks; booleans for classification tasks, numbers otherwise), and points
    the loader at it: matminer's URL and sha256 for the task become the file's ``file://`` URL and hash,
    and Matbench's metadata and official split become ``n`` rows in five shuffled folds. The real
    download, checksum and parsing code then runs unchanged on it.
    """
    import gzip
    import hashlib
    from pathlib import Path

    import numpy as np
    import pandas as pd
    from sklearn.model_selection import KFold

    from ..datasets import _matbench

    meta = dict(_matbench._matbench_json("matbench_v0.1_dataset_metadata.json")[task])
    structures, values = synthetic_crystals(n, seed=seed)
    if meta["task_type"] == "classification":
        values = values > np.median(values)
    inputs = [s.as_dict() for s in structures] if meta["input_type"] == "structure" else \
        [s.composition.reduced_formula for s in structures]
    frame = pd.DataFrame({meta["input_type"]: inputs, meta["target"]: values})
    path = Path(source_folder) / f"{task}.json.gz"
    path.write_bytes(gzip.compress(frame.to_json(orient="split").encode(), mtime=0))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()

    files = dict(_matbench._matminer_metadata())
    files[task] = dict(files[task], url=path.resolve().as_uri(), hash=digest)
    meta["n_samples"] = n
    short = task.removeprefix("matbench_").replace("_", "-")
    ids = [f"mb-{short}-{i + 1:0{len(str(n))}d}" for i in range(n)]
    splits = {f"fold_{k}": {"train": [ids[i] for i in train], "test": [ids[i] for i in test]}
              for k, (train, test) in enumerate(KFold(5, shuffle=True, random_state=0).split(ids))}
    originals = {name: _matbench._matbench_json(name) for name in
                 ("matbench_v0.1_dataset_metadata.json", "matbench_v0.1_validation.json")}
    patched = {"matbench_v0.1_dataset_metadata.json": {**originals["matbench_v0.1_dataset_metadata.json"],
                                                        task: meta},
               "matbench_v0.1_validation.json": {**originals["matbench_v0.1_validation.json"],
                                                 "splits": {**originals["matbench_v0.1_validation.json"]["splits"],
                                                            task: splits}}}
    monkeypatch.setattr(_matbench, "_matbench_json", lambda name: patched[name])
    monkeypatch.setattr(_matbench, "_matminer_metadata", lambda: files)
    # the matbench package records and scores results files against its own copy of the split
    import matbench.task
    from matbench.util import RecursiveDotDict

    monkeypatch.setitem(matbench.task.mbv01_validation["splits"], task, RecursiveDotDict(splits))
    return meta
