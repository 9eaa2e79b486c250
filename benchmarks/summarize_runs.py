"""Tables for docs/benchmarks.md from the runner's records in benchmarks/results/runs/<task>/.

    .venv/bin/python benchmarks/summarize_runs.py [--runs benchmarks/results/runs] [--collect]

For every task folder: each model's MAE per fold and mean, fit minutes per fold, and the parts of the fusion
models and ensembles (their bases and committee members, as trained inside them) with the weights chosen on
the training folds. ``--collect`` also rebuilds each folder's report (with the current report code) and
copies its Matbench results files to benchmarks/results/matbench/<task>/<model>.json.gz, the committed
files anyone can re-score against the official folds.
"""

from __future__ import annotations

import argparse
import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent


def _records(folder: Path) -> pd.DataFrame:
    rows = [json.loads(p.read_text()) for p in sorted((folder / "records").glob("*.json"))]
    return pd.DataFrame(rows)


def _fmt(value: float) -> str:
    """Two decimals for errors of order one and above (cm^-1, meV/atom), four significant digits below (eV/atom)."""
    return f"{value:.2f}" if abs(value) >= 1 else f"{value:.4g}"


def _table(frame: pd.DataFrame, unit: str) -> list[str]:
    lines = [f"| model | fold 0 | fold 1 | fold 2 | fold 3 | fold 4 | mean ({unit}) | fit minutes per fold |",
             "|---|---:|---:|---:|---:|---:|---:|---|"]
    for model, group in frame.groupby("model", sort=False):
        maes = {int(r.fold): r.mae for r in group.itertuples()}
        cells = [_fmt(maes[f]) if f in maes else "" for f in range(5)]
        mean = np.mean(list(maes.values()))
        done = "" if len(maes) == 5 else f" ({len(maes)} fold{'' if len(maes) == 1 else 's'})"
        minutes = ", ".join(f"{r.fit_s / 60:.1f}" for r in group.sort_values("fold").itertuples())
        lines.append(f"| {model} | " + " | ".join(cells) + f" | **{_fmt(mean)}**{done} | {minutes} |")
    return lines


def _parts(frame: pd.DataFrame) -> list[str]:
    lines = []
    for model, group in frame.groupby("model", sort=False):
        if "components" not in group or not group["components"].map(lambda c: isinstance(c, dict)).any():
            continue
        group = group.sort_values("fold")
        parts = list(next(c for c in group["components"] if isinstance(c, dict)))
        lines += [f"Parts of `{model}`, as trained inside it:", "",
                  "| part | fold 0 | fold 1 | fold 2 | fold 3 | fold 4 | mean |", "|---|---:|---:|---:|---:|---:|---:|"]
        for part in parts:
            maes = {int(r.fold): r.components[part] for r in group.itertuples() if isinstance(r.components, dict)}
            cells = [_fmt(maes[f]) if f in maes else "" for f in range(5)]
            lines.append(f"| {part} | " + " | ".join(cells) + f" | {_fmt(np.mean(list(maes.values())))} |")
        if "fusion_weights" in group:
            weights = {int(r.fold): r.fusion_weights for r in group.itertuples()
                       if isinstance(r.fusion_weights, dict)}
            if weights:
                names = "/".join(next(iter(weights.values())))
                cells = [" / ".join(f"{v:.2f}" for v in weights[f].values()) if f in weights else ""
                         for f in range(5)]
                lines.append(f"| weights ({names}) | " + " | ".join(cells) + " | |")
        lines.append("")
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", default=str(HERE / "results" / "runs"))
    parser.add_argument("--collect", action="store_true")
    parser.add_argument("--models", nargs="+", help="only these models, in this order (default: all)")
    parser.add_argument("--tasks", nargs="+", help="only these run folders (default: all)")
    args = parser.parse_args()
    for folder in sorted(p for p in Path(args.runs).iterdir() if (p / "records").is_dir()):
        if args.tasks and folder.name not in args.tasks:
            continue
        frame = _records(folder)
        if args.models:
            frame = frame[frame["model"].isin(args.models)]
            frame = frame.iloc[frame["model"].map(args.models.index).argsort(kind="stable")]
        if frame.empty:
            continue
        config = json.loads((folder / "config.json").read_text())
        unit = {"matbench_phonons": "cm^-1", "matbench_jdft2d": "meV/atom", "formation_energy_ev_natom": "eV/atom",
                "bandgap_energy_ev": "eV"}.get(config.get("task", config.get("target")), "")
        print(f"\n## {folder.name}\n")
        print("\n".join(_table(frame, unit)))
        print()
        print("\n".join(_parts(frame)))
        if args.collect:
            from skhybrid.benchmark import write_report
            from skhybrid.benchmark._runner import load_benchmark_data

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if "task" in config:
                    from skhybrid.cli import _default_data_dir

                    bench = load_benchmark_data(config["task"], data_dir=_default_data_dir())
                else:
                    bench = load_benchmark_data(data=config["data"], target=config["target"], cv=config["cv"],
                                                seed=config["seed"])
                models = list(dict.fromkeys(frame["model"]))
                write_report(folder, frame, bench, expected=(models, [0, 1, 2, 3, 4]), quick=config.get("quick"))
            if "task" in config:
                target = HERE / "results" / "matbench" / config["task"]
                target.mkdir(parents=True, exist_ok=True)
                for path in sorted((folder / "matbench").glob("*.json.gz")):
                    shutil.copy2(path, target / path.name)
                print(f"collected {len(list((folder / 'matbench').glob('*.json.gz')))} Matbench files in {target}")


if __name__ == "__main__":
    main()
