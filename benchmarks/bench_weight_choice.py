"""Fitted against fitted-or-equal blend weights, with the same parts, on hybrids whose test folds this rule never saw.

    .venv/bin/python benchmarks/bench_weight_choice.py [--tasks phonons jdft2d] [--model hybrid-light]

``weights="oof-or-equal"`` (``LateFusionRegressor``) was written after a test-fold diagnostic on one
hybrid (``hybrid-descriptor-state`` on jdft2d; docs/benchmarks.md). This script checks the rule where it
was not looked at: it fits a catalogue hybrid built with ``weights="oof"`` once per official fold, then
makes the ``"oof-or-equal"`` choice from the same fitted model's held-out predictions and slices
(``select_oof_or_equal``, exactly what ``fit`` does with that setting), and scores both blends, and each
part, on the test fold. The parts are shared, so the two figures differ only by the rule. One record per
(task, fold) in ``benchmarks/results/weight_choice.json``; a rerun skips finished ones.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np

OUT = Path(__file__).parent / "results" / "weight_choice.json"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=["phonons", "jdft2d"])
    parser.add_argument("--model", default="hybrid-light")
    parser.add_argument("--data-dir", default="../shared/data")
    args = parser.parse_args()

    import torch

    from skhybrid.catalogue import build
    from skhybrid.datasets import load_matbench
    from skhybrid.fusion._bases import held_out_fold_index
    from skhybrid.fusion._weights import blend, select_oof_or_equal

    torch.set_num_threads(1)
    records = json.loads(OUT.read_text()) if OUT.exists() else []
    done = {(r["model"], r["task"], r["fold"]) for r in records}
    for task in args.tasks:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            data = load_matbench(f"matbench_{task}", data_home=args.data_dir)
        y_all = data.targets.iloc[:, 0].to_numpy(dtype=float)
        for fold, (train, test) in enumerate(data.folds):
            if (args.model, task, fold) in done:
                continue
            start = time.perf_counter()
            X_train = [data.structures[i] for i in train]
            X_test = [data.structures[i] for i in test]
            model = build(args.model, seed=0).fit(X_train, y_all[train])
            fold_of = held_out_fold_index(list(model.cv.split(np.zeros((len(train), 1)))), len(train))
            held = fold_of >= 0
            weights, choice, scores = select_oof_or_equal(model.oof_predictions_[held], y_all[train][held],
                                                          fold_of[held], model.metric)
            parts = model.transform(X_test)
            y_test = y_all[test]
            record = {"model": args.model, "task": task, "fold": fold, "fit_s": time.perf_counter() - start,
                      "mae_oof": float(np.mean(np.abs(blend(parts, model.weights_) - y_test))),
                      "mae_oof_or_equal": float(np.mean(np.abs(blend(parts, weights) - y_test))),
                      "choice": choice, "choice_scores": scores,
                      "weights_oof": model.weights_.tolist(), "weights_oof_or_equal": weights.tolist(),
                      "parts": {name: float(np.mean(np.abs(parts[:, j] - y_test)))
                                for j, name in enumerate(model.named_estimators_)}}
            records.append(record)
            OUT.write_text(json.dumps(records, indent=1))
            print(f"{task} fold {fold}: oof {record['mae_oof']:.2f}, oof-or-equal {record['mae_oof_or_equal']:.2f} "
                  f"({choice}), parts {record['parts']}, {record['fit_s'] / 60:.1f} min", flush=True)


if __name__ == "__main__":
    main()
