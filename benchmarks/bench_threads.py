"""Training speed with one and two torch threads, on an idle machine and beside one busy process.

    .venv/bin/python benchmarks/bench_threads.py [--epochs 4] [--model cgcnn|megnet-kgcnn]

Graph networks on small crystal graphs are fast enough per batch that torch's intra-op threads gain little,
and they lose a lot when another process wants a core: a thread that waits for a descheduled sibling stalls
the whole step. This measures it side by side in one run, on phonons fold 0's 1012 training structures
(graphs built once): seconds per epoch for each thread count, first with the machine otherwise idle, then
with one busy neighbour (a process spinning on one core, as a second training run or a test suite would).
Run it on a machine with nothing else running.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import time
import warnings


def _spin(stop):
    x = 0
    while not stop.is_set():
        for _ in range(100_000):
            x += 1


def _seconds_per_epoch(graphs, y, threads, epochs, model):
    import torch

    from skhybrid.catalogue import kgcnn_megnet_params
    from skhybrid.models import CGCNNRegressor, MEGNetRegressor

    torch.set_num_threads(threads)
    if model == "cgcnn":
        estimator = CGCNNRegressor(max_epochs=epochs, validation_fraction=0, lr_schedule="constant", random_state=0)
    else:
        estimator = MEGNetRegressor(**dict(kgcnn_megnet_params(), max_epochs=epochs), random_state=0)
    start = time.perf_counter()
    estimator.fit(graphs, y)
    return (time.perf_counter() - start) / epochs


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--model", choices=["cgcnn", "megnet-kgcnn"], default="cgcnn")
    parser.add_argument("--data-dir", default=os.environ.get("SKHYBRID_DATA_DIR", "../shared/data"))
    args = parser.parse_args()

    from skhybrid.catalogue import KGCNN_MEGNET_GRAPH
    from skhybrid.datasets import load_matbench
    from skhybrid.featurizers import StructureGraphizer

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = load_matbench("matbench_phonons", data_home=args.data_dir)
    train, _ = data.folds[0]
    graphizer = StructureGraphizer() if args.model == "cgcnn" else StructureGraphizer(**KGCNN_MEGNET_GRAPH)
    graphs = graphizer.fit_transform([data.structures[i] for i in train])
    y = data.targets.iloc[train, 0].to_numpy()
    print(f"{args.model}, {len(graphs)} training structures, {args.epochs} epochs per measurement, "
          f"{os.cpu_count()} cores", flush=True)
    rows = []
    for threads in (1, 2):
        idle = _seconds_per_epoch(graphs, y, threads, args.epochs, args.model)
        stop = mp.Event()
        neighbour = mp.Process(target=_spin, args=(stop,), daemon=True)
        neighbour.start()
        time.sleep(1.0)
        try:
            loaded = _seconds_per_epoch(graphs, y, threads, args.epochs, args.model)
        finally:
            stop.set()
            neighbour.join()
        rows.append((threads, idle, loaded))
        print(f"  {threads} thread(s): idle {idle:.2f} s/epoch, beside a busy process {loaded:.2f} s/epoch "
              f"({loaded / idle:.2f}x)", flush=True)
    print("\n| torch threads | idle (s/epoch) | one busy neighbour (s/epoch) | loaded / idle |")
    print("|---:|---:|---:|---:|")
    for threads, idle, loaded in rows:
        print(f"| {threads} | {idle:.2f} | {loaded:.2f} | {loaded / idle:.2f}x |")


if __name__ == "__main__":
    main()
