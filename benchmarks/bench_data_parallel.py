"""One network fit on one process against the same fit on two data-parallel processes (Accelerate, gloo).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_data_parallel.py [--epochs 6] [--rounds 3] [--compile]

The kgcnn MEGNet recipe (``megnet-kgcnn``: batch 32, the linear schedule) on phonons fold 0's 1012 training
structures, graphs built once. Each round fits it for ``--epochs`` epochs in one process (one torch
thread), then in two processes started by ``torchrun`` with ``accelerate=True`` (one thread each; each
takes 16 structures of every batch of 32, the gradients are averaged), so the two sides alternate and share
the machine's drift. Seconds per epoch are the median of skorch's epoch durations after the first epoch
(which pays the process group's start), taken on rank 0. The two ranks' predictions must be identical.
Run it with nothing else on the machine: two processes need both cores.

``--compile`` adds, once, the other way to a faster epoch on one core: the same network and batches in a
plain training loop (Adam, MAE, constant rate), eager against ``torch.compile(dynamic=True)``, the
compilation (paid in the first epoch) reported apart.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
import warnings


def _model(epochs, accelerate):
    from skhybrid.catalogue import kgcnn_megnet_params
    from skhybrid.models import MEGNetRegressor

    return MEGNetRegressor(**dict(kgcnn_megnet_params(), max_epochs=epochs), device="cpu", accelerate=accelerate,
                           random_state=0)


def worker(graphs_path, epochs, accelerate, out_path):
    """Fit once and write rank, seconds per epoch and the first predictions to ``out_path`` (per rank)."""
    import numpy as np
    import torch

    torch.set_num_threads(1)
    with open(graphs_path, "rb") as stream:
        graphs, y = pickle.load(stream)
    model = _model(epochs, accelerate).fit(graphs, y)
    rank = int(os.environ.get("RANK", 0))
    durations = [float(d) for d in model.net_.history[:, "dur"]]
    with open(f"{out_path}.{rank}", "w") as stream:
        json.dump({"durations": durations, "predictions": np.asarray(model.predict(graphs[:20])).tolist()}, stream)


def compiled_against_eager(graphs, y, epochs):
    """Median seconds per epoch after the first, eager and compiled, and the compiled first epoch."""
    import torch
    from torch_geometric.loader import DataLoader

    from skhybrid.catalogue import kgcnn_megnet_params
    from skhybrid.nn import MEGNet

    torch.set_num_threads(1)
    width = {key.removeprefix("module__"): value for key, value in kgcnn_megnet_params().items()
             if key.startswith("module__")}
    target = torch.tensor((y - y.mean()) / y.std(), dtype=torch.float32)
    for graph, value in zip(graphs, target):
        graph.y = value.view(1, 1)
    timings = {}
    for mode in ("eager", "compiled"):
        torch.manual_seed(0)
        net = MEGNet(0, graphs[0].edge_attr.shape[1], 1, **width)
        step = torch.compile(net, dynamic=True) if mode == "compiled" else net
        optimizer = torch.optim.Adam(net.parameters(), 5e-4)
        loader = DataLoader(graphs, batch_size=32, shuffle=True, generator=torch.Generator().manual_seed(0))
        durations = []
        for _ in range(epochs):
            start = time.perf_counter()
            for batch in loader:
                optimizer.zero_grad()
                (step(batch) - batch.y).abs().mean().backward()
                optimizer.step()
            durations.append(time.perf_counter() - start)
        timings[mode] = (statistics.median(durations[1:]), durations[0])
    return timings


def _run(command, out_path, processes):
    subprocess.run(command, check=True, env=dict(os.environ, OMP_NUM_THREADS="1"), capture_output=True)
    results = []
    for rank in range(processes):
        with open(f"{out_path}.{rank}") as stream:
            results.append(json.load(stream))
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--compile", action="store_true", help="also time torch.compile against eager")
    parser.add_argument("--data-dir", default=os.environ.get("SKHYBRID_DATA_DIR", "../shared/data"))
    parser.add_argument("--worker", nargs=4, metavar=("GRAPHS", "EPOCHS", "ACCELERATE", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        graphs_path, epochs, accelerate, out_path = args.worker
        return worker(graphs_path, int(epochs), accelerate == "1", out_path)

    from skhybrid.catalogue import KGCNN_MEGNET_GRAPH
    from skhybrid.datasets import load_matbench
    from skhybrid.featurizers import StructureGraphizer

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = load_matbench("matbench_phonons", data_home=args.data_dir)
    train, _ = data.folds[0]
    graphs = StructureGraphizer(**KGCNN_MEGNET_GRAPH).fit_transform([data.structures[i] for i in train])
    y = data.targets.iloc[train, 0].to_numpy()
    print(f"megnet-kgcnn, phonons fold 0: {len(graphs)} structures, {args.epochs} epochs per fit, "
          f"{args.rounds} rounds, {os.cpu_count()} cores", flush=True)
    one, two = [], []
    with tempfile.TemporaryDirectory() as work:
        graphs_path = os.path.join(work, "graphs.pkl")
        with open(graphs_path, "wb") as stream:
            pickle.dump((graphs, y), stream)
        script = os.path.abspath(__file__)
        for round_ in range(args.rounds):
            out = os.path.join(work, f"one-{round_}")
            start = time.perf_counter()
            single = _run([sys.executable, script, "--worker", graphs_path, str(args.epochs), "0", out], out, 1)
            one.append(statistics.median(single[0]["durations"][1:]))
            out = os.path.join(work, f"two-{round_}")
            ranks = _run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                          script, "--worker", graphs_path, str(args.epochs), "1", out], out, 2)
            if ranks[0]["predictions"] != ranks[1]["predictions"]:
                raise RuntimeError("the two ranks ended with different predictions")
            two.append(statistics.median(ranks[0]["durations"][1:]))
            print(f"  round {round_}: one process {one[-1]:.2f} s/epoch, two processes {two[-1]:.2f} s/epoch "
                  f"({one[-1] / two[-1]:.2f}x; {time.perf_counter() - start:.0f} s)", flush=True)
    print("\n| fit | s/epoch per round | median | speed-up |\n|---|---|---:|---:|")
    print(f"| one process | {', '.join(f'{t:.2f}' for t in one)} | {statistics.median(one):.2f} | 1.00x |")
    print(f"| two processes (Accelerate, gloo) | {', '.join(f'{t:.2f}' for t in two)} | "
          f"{statistics.median(two):.2f} | {statistics.median(one) / statistics.median(two):.2f}x |")
    if args.compile:
        timings = compiled_against_eager(graphs, y, args.epochs)
        (eager, _), (compiled, first) = timings["eager"], timings["compiled"]
        print(f"\nplain loop, one process: eager {eager:.2f} s/epoch, torch.compile {compiled:.2f} s/epoch "
              f"({eager / compiled:.2f}x), its first epoch (compiling) {first:.0f} s")


if __name__ == "__main__":
    main()
