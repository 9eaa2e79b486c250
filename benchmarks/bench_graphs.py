"""StructureGraphizer against CGCNN's graph construction, side by side in one run, one process.

    .venv/bin/python benchmarks/bench_graphs.py [--data-dir ../shared/data] [--nomad 400]

For matbench_phonons (all 1265 structures) and the first ``--nomad`` NOMAD 2018
structures: the reference construction of CGCNN's data loader
(``get_all_neighbors`` per structure, sort, keep 12, Gaussian expansion; see
``skhybrid.utils._testing.reference_cgcnn_graph``) against StructureGraphizer
building the same graphs as torch-geometric ``Data`` (tensors included), and
the extra cost of the ALIGNN line graph (graph cache off). Then what caching
saves when a model's parameters are tuned over fixed folds: the graphizer's
in-process cache against ``Pipeline(memory=...)`` and against rebuilding.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings

import numpy as np


def _pin_one_core():
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    import torch
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    torch.set_num_threads(1)


def _time(func, repeats=1):
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return best


def compare(name, structures):
    from skhybrid import StructureGraphizer
    from skhybrid.utils._testing import reference_cgcnn_graph

    n = len(structures)
    reference = _time(lambda: [reference_cgcnn_graph(s) for s in structures])
    plain = StructureGraphizer(cache=False).fit(structures[:1])
    ours = _time(lambda: plain.transform(structures), repeats=3)
    with_lg = StructureGraphizer(line_graph=True, cache=False).fit(structures[:1])
    ours_lg = _time(lambda: with_lg.transform(structures), repeats=3)
    ms = lambda t: 1e3 * t / n  # noqa: E731
    atoms = np.mean([len(s) for s in structures])
    print(f"{name}: {n} structures, {atoms:.1f} atoms on average")
    print(f"  reference CGCNN construction : {ms(reference):7.3f} ms/structure")
    print(f"  StructureGraphizer           : {ms(ours):7.3f} ms/structure   {reference / ours:5.1f}x faster")
    print(f"  ... with line graph          : {ms(ours_lg):7.3f} ms/structure   "
          f"(line graph adds {ms(ours_lg - ours):.3f} ms, {reference / ours_lg:.1f}x faster than reference)")


def count_ties(structures):
    """Positions where our neighbour index differs from the reference's (equal distances)."""
    from skhybrid import StructureGraphizer
    from skhybrid.utils._testing import reference_cgcnn_graph

    graphs = StructureGraphizer(cache=False).fit(structures[:1]).transform(structures)
    differ = total = 0
    for s, g in zip(structures, graphs):
        index, _, _ = reference_cgcnn_graph(s)
        differ += int(np.sum(g.edge_index[0].numpy().reshape(len(s), -1) != index))
        total += index.size
    return differ, total


def n_edges(graphs):
    """A stand-in for a graph model's input step, so that graph building dominates the timing."""
    return np.array([[g.edge_index.shape[1]] for g in graphs], dtype=float)


def caching(structures, y):
    """GridSearch-like loop: 4 model settings x 3 folds; graphs rebuilt, cached in-process, or Pipeline(memory)."""
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import KFold
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    from skhybrid import StructureGraphizer
    from skhybrid.featurizers import clear_graph_cache

    folds = list(KFold(3, shuffle=True, random_state=0).split(structures))

    def run(cache, memory=None):
        for alpha in [0.1, 1.0, 10.0, 100.0]:
            for train, _ in folds:
                pipe = Pipeline(
                    [("graph", StructureGraphizer(line_graph=True, cache=cache)),
                     ("count", FunctionTransformer(n_edges)), ("model", Ridge(alpha=alpha))],
                    memory=memory,
                )
                pipe.fit([structures[i] for i in train], y[train])

    rebuilt = _time(lambda: run(cache=False))
    clear_graph_cache()
    cached = _time(lambda: run(cache=True))
    with tempfile.TemporaryDirectory() as folder:
        pipeline_memory = _time(lambda: run(cache=False, memory=folder))
    print(f"Tuning 4 settings x 3 folds on {len(structures)} phonons structures (line graphs): "
          f"rebuilt every time {rebuilt:.1f} s; StructureGraphizer(cache=True) {cached:.1f} s "
          f"({rebuilt / cached:.1f}x); Pipeline(memory=...) {pipeline_memory:.1f} s ({rebuilt / pipeline_memory:.1f}x)")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=os.environ.get("SKHYBRID_DATA_DIR", "../shared/data"))
    parser.add_argument("--nomad", type=int, default=400, help="NOMAD structures to time (reference ~70 ms each)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    _pin_one_core()
    from skhybrid import load_matbench, load_nomad2018

    phonons = load_matbench("matbench_phonons", data_home=args.data_dir)
    nomad = load_nomad2018(data_home=args.data_dir)
    compare("matbench_phonons", phonons.structures)
    compare("NOMAD 2018", nomad.structures[: args.nomad])
    differ, total = count_ties(phonons.structures)
    print(f"Tie-broken neighbour indices on phonons: {differ} of {total} ({100 * differ / total:.2f}%), "
          "all at equal distances (asserted in the test suite)")
    y = phonons.targets.iloc[:, 0].to_numpy()
    caching(phonons.structures[:600], y[:600])


if __name__ == "__main__":
    main()
