"""The NOMAD 2018 hybrid tables of docs/benchmarks.md, from a run folder's records and the MEGNet records.

    .venv/bin/python benchmarks/nomad_hybrid_table.py --run benchmarks/results/runs/nomad2018-band-gap \
        --target bandgap_energy_ev --model hybrid-large-cells
    .venv/bin/python benchmarks/nomad_hybrid_table.py \
        --run benchmarks/results/runs/nomad2018-formation-energy-multitask --model hybrid-large-cells-multitask \
        --target formation_energy_ev_natom \
        --compare benchmarks/results/runs/nomad2018-formation-energy:hybrid-large-cells

Prints one Markdown row per fold the run has finished: the hybrid, its descriptor and graph parts as
trained inside it, the multi-task and single-task MEGNets of `benchmarks/results/gnn_nomad.json` on the
same fold (the same `KFold(5, shuffle=True, random_state=0)` split), with ``--compare RUN:MODEL`` another
run's model on the same folds (a fold it has not finished is an error), the blend weights and the fit
minutes; then the means over those folds. Nothing is recomputed: every figure is read from a record.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

GNN_RECORDS = Path(__file__).resolve().parent / "results" / "gnn_nomad.json"


def megnet_scores(target: str) -> dict:
    """``{(kind, fold): MAE}`` for the multi-task (equal weights) and single-task MEGNets on ``target``."""
    scores = {}
    for record in json.loads(GNN_RECORDS.read_text()):
        kind = {"multi-task": "multi-task", f"single: {target}": "single-task"}.get(record["model"])
        if kind is not None and target in record["mae"]:
            scores[kind, record["fold"]] = record["mae"][target]
    return scores


def read_records(run: Path, model: str) -> dict:
    """``{fold: record}`` for the folds of ``model`` that ``run`` has finished."""
    records = {}
    for fold in range(5):
        path = run / "records" / f"{model}__fold{fold}.json"
        if path.exists():
            records[fold] = json.loads(path.read_text())
    return records


def table(run: Path, target: str, model: str, digits: int, compare: tuple[Path, str] | None = None) -> list[str]:
    records = read_records(run, model)
    compared = read_records(*compare) if compare else {}
    missing = sorted(set(records) - set(compared)) if compare else []
    if missing:
        raise SystemExit(f"--compare {compare[0]}:{compare[1]} has no record for fold(s) {missing}; "
                         "finish those folds there or leave --compare out")
    megnet = megnet_scores(target)
    fmt = f"{{:.{digits}f}}".format
    extra = [f"`{compare[1]}`"] if compare else []
    lines = ["| " + " | ".join(["fold", "hybrid", "its descriptor part", "its graph part (2 MEGNets)", *extra,
                                 "multi-task MEGNet", "single-task MEGNet", "weights descriptors / graph",
                                 "fit minutes"]) + " |",
             "|---:|---:|---:|---:|" + "---:|" * len(extra) + "---:|---:|---|---:|"]
    names = ("hybrid", "descriptors", "graph", *(["compared"] if compare else []), "multi-task", "single-task")
    columns = {name: [] for name in names}
    for fold, record in records.items():
        values = {"hybrid": record["mae"], "descriptors": record["components"]["descriptors"],
                  "graph": record["components"]["graph"]}
        if compare:
            values["compared"] = compared[fold]["mae"]
        values |= {"multi-task": megnet[("multi-task", fold)], "single-task": megnet[("single-task", fold)]}
        for name, value in values.items():
            columns[name].append(value)
        weights = record["fusion_weights"]
        lines.append(f"| {fold} | " + " | ".join(fmt(v) for v in values.values())
                     + f" | {weights['descriptors']:.2f} / {weights['graph']:.2f} | {record['fit_s'] / 60:.1f} |")
    if records:
        label = "mean (5 folds)" if len(records) == 5 else f"mean (folds {', '.join(map(str, records))})"
        lines.append(f"| {label} | " + " | ".join(fmt(np.mean(v)) for v in columns.values()) + " | | |")
    return lines


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=Path, required=True, help="the benchmark's output folder")
    parser.add_argument("--target", required=True, help="formation_energy_ev_natom or bandgap_energy_ev")
    parser.add_argument("--model", default="hybrid-large-cells")
    parser.add_argument("--compare", metavar="RUN:MODEL", default=None,
                        help="add a column: MODEL's figures from the run folder RUN, on the same folds")
    parser.add_argument("--digits", type=int, default=None, help="decimals (default: 5 for eV/atom, 4 for eV)")
    args = parser.parse_args(argv)
    digits = args.digits if args.digits is not None else (5 if args.target.startswith("formation") else 4)
    compare = None
    if args.compare:
        folder, _, name = args.compare.rpartition(":")
        if not folder or not name:
            parser.error(f"--compare wants RUN:MODEL, got {args.compare!r}")
        compare = (Path(folder), name)
    print("\n".join(table(args.run, args.target, args.model, digits, compare)))


if __name__ == "__main__":
    main()
