"""The on-disk graph store against the in-memory path: peak memory and wall time at 10k-132k structures.

    .venv/bin/python benchmarks/bench_store.py run --sizes 10000 50000 132752 [--modes store memory]
    .venv/bin/python benchmarks/bench_store.py report
    .venv/bin/python benchmarks/bench_store.py pair --sizes 132752   # memory and store at the same time
    .venv/bin/python benchmarks/bench_store.py loading --sizes 5000   # data path alone: memory vs store
    .venv/bin/python benchmarks/bench_store.py epochs --sizes 5000    # training epochs: memory vs store
    .venv/bin/python benchmarks/bench_store.py descriptors --sizes 2000   # descriptor table: compute vs read
    .venv/bin/python benchmarks/bench_store.py runner    # gbm-descriptors on jdft2d: no store, empty, filled

The big Matbench files are not on this machine, so the sets are synthetic but realistic: structures of
matbench_phonons, matbench_jdft2d and the NOMAD 2018 training set (mixed so that cells hold ~30 atoms on
average, as in matbench_mp_e_form), each copy with a random strain of up to 3% per axis and, per
element, a 20% chance to be replaced by its neighbour in the same group of the periodic table. They are
generated on the fly (a generator), so the structures themselves are never all in memory.

Each (mode, size) runs in a fresh process, so its peak resident memory (``ru_maxrss``) is its own:

- ``store``: ``write_graph_store`` (default ``StructureGraphizer``, chunks of 2048, one process), then one
  training epoch of CGCNN (batch 64, one torch thread) streamed from the store;
- ``memory``: the same graphs built into a list in memory (``StructureGraphizer().transform``), then the
  same epoch from the list.

``loading`` times the data path alone, which is what the store changes: passes of shuffled batches of 64
over the same graphs (the collated fields CGCNN reads), from the list and from a store, alternated three
times in one process (the middle time of each is kept), so that both see the same load on the machine.

``pair`` runs the ``memory`` and ``store`` processes of one size at the same time, one core each, so that
both see the same machine (and the store competes for the page cache with the in-memory process, as it
would beside other work); its records are ``pair-memory`` and ``pair-store``.

Records go to ``benchmarks/results/store.json`` (one per (mode, size); a rerun skips finished ones).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results" / "store.json"
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
#: share of NOMAD cells (62 atoms) among Matbench ones (7-8 atoms): a mean of about 30 atoms per cell
NOMAD_SHARE = 0.4


def _pools():
    import pandas as pd
    from pymatgen.core import Structure

    def read(path):
        frame = pd.read_json(path, orient="split")
        return [Structure.from_dict(d) for d in frame["structure"]]

    small = read(DATA / "matbench" / "matbench_phonons.json.gz") + read(DATA / "matbench" / "matbench_jdft2d.json.gz")
    large = read(DATA / "nomad2018" / "nomad2018_train.json.gz")
    return small, large


def synthetic_structures(n: int, seed: int = 0):
    """``n`` strained, substituted copies of real structures, one at a time."""
    from pymatgen.core import Element

    small, large = _pools()
    rng = np.random.default_rng(seed)
    for _ in range(n):
        pool = large if rng.random() < NOMAD_SHARE else small
        structure = pool[rng.integers(len(pool))].copy()
        swaps = {}
        for element in structure.composition.elements:
            if rng.random() < 0.2:
                for z in (element.Z + 8, element.Z - 8, element.Z + 18, element.Z - 18):
                    if 1 <= z <= 83 and Element.from_Z(z).group == element.group:
                        swaps[element] = Element.from_Z(z)
                        break
        if swaps:
            structure.replace_species(swaps)
        structure.apply_strain(rng.uniform(-0.03, 0.03, size=3))
        yield structure


def _one(mode: str, n: int) -> dict:
    import torch

    from skhybrid.featurizers import GraphStore, StructureGraphizer, write_graph_store
    from skhybrid.models import CGCNNRegressor

    torch.set_num_threads(1)
    record = {"mode": mode, "n": n}
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(dir=Path(__file__).parent) as tmp:
        if mode == "store":
            graphs = GraphStore(write_graph_store(synthetic_structures(n), Path(tmp) / "graphs", progress=False,
                                                  n_structures=n))
            record["disk_gb"] = sum(p.stat().st_size for p in Path(tmp).rglob("*") if p.is_file()) / 1e9
        else:
            graphs = StructureGraphizer().fit_transform(list(synthetic_structures(n)))
        record["build_s"] = time.perf_counter() - start
        if mode == "store":
            from skhybrid.featurizers._graph_store import STORE_FORMAT_VERSION

            record["store_format"] = STORE_FORMAT_VERSION
        record["rss_after_build_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
        record["atoms_mean"] = float(np.mean([graphs[i].num_nodes for i in range(0, n, max(1, n // 2000))]))
        y = np.random.default_rng(0).normal(size=n)
        start = time.perf_counter()
        CGCNNRegressor(max_epochs=1, validation_fraction=0, batch_size=64, random_state=0).fit(graphs, y)
        record["epoch_s"] = time.perf_counter() - start
    record["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    return record


def _loading(n: int) -> dict:
    """Seconds per pass of shuffled batches over the same graphs, from memory and from a store, alternated."""
    import torch
    from torch_geometric.loader import DataLoader

    from skhybrid.featurizers import GraphStore, StructureGraphizer, write_graph_store
    from skhybrid.models._data import GraphDataset

    torch.set_num_threads(1)
    structures = list(synthetic_structures(n, seed=1))
    graphs = StructureGraphizer().fit_transform(structures)
    times = {"memory": [], "store": []}
    with tempfile.TemporaryDirectory(dir=Path(__file__).parent) as tmp:
        store = GraphStore(write_graph_store(structures, Path(tmp) / "graphs", progress=False))
        targets = torch.zeros(n, 1)
        for _ in range(3):
            for mode, source in (("memory", graphs), ("store", store)):
                start = time.perf_counter()
                for _ in DataLoader(GraphDataset(source, targets, ("x", "edge_index", "edge_attr")), batch_size=64,
                                    shuffle=True):
                    pass
                times[mode].append(time.perf_counter() - start)
    return {"mode": "loading", "n": n, **{f"{mode}_pass_s": sorted(v)[1] for mode, v in times.items()}}


def _epochs(n: int) -> dict:
    """Seconds per CGCNN training epoch on the same graphs, from memory and from a store, alternated."""
    import torch

    from skhybrid.featurizers import GraphStore, StructureGraphizer, write_graph_store
    from skhybrid.models import CGCNNRegressor

    torch.set_num_threads(1)
    structures = list(synthetic_structures(n, seed=2))
    graphs = StructureGraphizer().fit_transform(structures)
    y = np.random.default_rng(0).normal(size=n)
    times = {"memory": [], "store": []}
    with tempfile.TemporaryDirectory(dir=Path(__file__).parent) as tmp:
        store = GraphStore(write_graph_store(structures, Path(tmp) / "graphs", progress=False))
        for _ in range(3):
            for mode, source in (("memory", graphs), ("store", store)):
                start = time.perf_counter()
                CGCNNRegressor(max_epochs=1, validation_fraction=0, batch_size=64, random_state=0).fit(source, y)
                times[mode].append(time.perf_counter() - start)
    return {"mode": "epochs", "n": n, **{f"{mode}_epoch_s": sorted(v)[1] for mode, v in times.items()},
            **{f"{mode}_epoch_all_s": [round(t, 2) for t in v] for mode, v in times.items()}}


def _descriptors(n: int) -> dict:
    """Seconds to featurize ``n`` structures (``level="local"``): plain, into a table, and read back from it."""
    from skhybrid.featurizers import StructureFeaturizer

    structures = list(synthetic_structures(n, seed=3))
    with tempfile.TemporaryDirectory(dir=Path(__file__).parent) as tmp:
        times = {}
        for name, featurizer in (("plain", StructureFeaturizer(level="local")),
                                 ("into_table", StructureFeaturizer(level="local", store=Path(tmp) / "d")),
                                 ("from_table", StructureFeaturizer(level="local", store=Path(tmp) / "d"))):
            start = time.perf_counter()
            values = featurizer.fit_transform(structures)
            times[name] = time.perf_counter() - start
            if name == "plain":
                reference = values
            else:
                assert np.array_equal(values, reference, equal_nan=True)
        disk = sum(p.stat().st_size for p in Path(tmp).rglob("*") if p.is_file())
    return {"mode": "descriptors", "n": n, **{f"{k}_s": round(v, 3) for k, v in times.items()},
            "table_mb": round(disk / 1e6, 2)}


def _runner(task: str = "matbench_jdft2d", models=("gbm-descriptors",)) -> dict:
    """A real benchmark three ways: without stores, with empty stores, and again with the filled ones."""
    import pandas as pd

    from skhybrid.benchmark import run_benchmark

    times, predictions = {}, {}
    with tempfile.TemporaryDirectory(dir=Path(__file__).parent) as tmp:
        for name, store in (("no_store", None), ("empty_store", Path(tmp) / "stores"),
                            ("filled_store", Path(tmp) / "stores")):
            out = Path(tmp) / name
            start = time.perf_counter()
            run_benchmark(task, models=list(models), data_dir=DATA, out=out, store=store, progress=False)
            times[name] = time.perf_counter() - start
            predictions[name] = {p.name: pd.read_csv(p)["y_pred"].to_numpy()
                                 for p in sorted((out / "predictions").glob("*.csv"))}
    identical = all(all((predictions[k][f] == predictions["no_store"][f]).all() for f in predictions["no_store"])
                    for k in predictions)
    return {"mode": "runner", "task": task, "models": list(models), **{f"{k}_s": round(v, 1) for k, v in times.items()},
            "predictions_identical": identical}


def _load() -> list:
    return json.loads(RESULTS.read_text()) if RESULTS.exists() else []


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["run", "report", "one", "pair", "loading", "epochs", "descriptors",
                                            "runner"])
    parser.add_argument("--sizes", nargs="+", type=int, default=[10000, 50000, 132752])
    parser.add_argument("--modes", nargs="+", default=["store", "memory"])
    parser.add_argument("--force", action="store_true", help="run (mode, size) pairs again, replacing their records")
    args = parser.parse_args(argv)
    if args.command == "one":  # the child process
        print(json.dumps(_one(args.modes[0], args.sizes[0])))
        return
    if args.command in ("loading", "epochs", "descriptors", "runner"):
        if args.command == "runner":
            record = _runner()
        else:
            record = {"loading": _loading, "epochs": _epochs, "descriptors": _descriptors}[args.command](args.sizes[0])
        RESULTS.write_text(json.dumps([r for r in _load() if r["mode"] != args.command] + [record], indent=1) + "\n")
        print(record)
        return
    if args.command == "pair":
        for n in args.sizes:
            children = {mode: subprocess.Popen([sys.executable, __file__, "one", "--modes", mode, "--sizes", str(n)],
                                               stdout=subprocess.PIPE, text=True) for mode in ("memory", "store")}
            for mode, child in children.items():
                out, _ = child.communicate()
                if child.returncode:
                    raise SystemExit(f"the {mode} process of {n} structures failed (exit {child.returncode})")
                record = {**json.loads(out.strip().splitlines()[-1]), "mode": f"pair-{mode}",
                          "note": "run at the same time as the other mode of its pair, one core each"}
                kept = [r for r in _load() if not (r["mode"] == record["mode"] and r["n"] == n)]
                RESULTS.write_text(json.dumps(kept + [record], indent=1) + "\n")
                print(record, flush=True)
        return
    if args.command == "run":
        for n in args.sizes:
            for mode in args.modes:
                if not args.force and any(r["mode"] == mode and r["n"] == n for r in _load()):
                    continue
                out = subprocess.run([sys.executable, __file__, "one", "--modes", mode, "--sizes", str(n)],
                                     check=True, capture_output=True, text=True).stdout
                record = json.loads(out.strip().splitlines()[-1])
                kept = [r for r in _load() if not (r["mode"] == mode and r["n"] == n)]
                RESULTS.write_text(json.dumps(kept + [record], indent=1) + "\n")
                print(record, flush=True)
    for record in _load():
        if record["mode"] not in ("store", "memory"):
            print(record)
    records = [r for r in _load() if r["mode"] in ("store", "memory")]
    print("| structures | mode | mean atoms | build s | peak RSS after build (GB) | one epoch s | peak RSS (GB) | disk (GB) |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for r in sorted(records, key=lambda r: (r["n"], r["mode"])):
        print(f"| {r['n']} | {r['mode']} | {r['atoms_mean']:.1f} | {r['build_s']:.0f} | {r['rss_after_build_gb']:.2f} | "
              f"{r['epoch_s']:.0f} | {r['peak_rss_gb']:.2f} | {r.get('disk_gb', float('nan')):.2f} |")


if __name__ == "__main__":
    main()
