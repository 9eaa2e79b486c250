"""All of them side by side: the benchmark runner on one official fold, one table and one plot.

``run_benchmark`` (``skhybrid benchmark`` on the command line) fits every registry model on the fold's
training structures, scores its test structures, saves each (model, fold) as it finishes (a rerun
resumes), and writes ``report.md``, ``report.html`` and plots. Add ``folds=None`` for all five folds.

    python examples/11_compare_all.py [--smoke] [--data-dir DIR] [--out DIR]
"""

# %%
from example_settings import DATA_DIR, OUT, SMOKE, smoke_or

from skhybrid.benchmark import LEADERBOARD, run_benchmark, summarize

# smoke mode keeps one model of each kind (the others have their own examples)
models = smoke_or(["dummy", "rf-magpie", "cgcnn", "megnet", "early-fusion", "early-fusion-attention", "late-fusion",
                   "stacking"], ["dummy", "rf-magpie", "cgcnn", "late-fusion"])
out = OUT / ("11_benchmark_smoke" if SMOKE else "11_benchmark")
results = run_benchmark("matbench_jdft2d", models=models, folds=[0], data_dir=DATA_DIR, out=out, quick=SMOKE,
                        progress=False)

# %%
table = summarize(results)[["mae_mean", "rmse_mean", "r2_mean", "fit_s_mean"]]
reference = ", ".join(f"{name} {value}" for name, value in LEADERBOARD["matbench_jdft2d"].items())
print(f"\nmatbench_jdft2d, official fold 0, MAE in meV/atom (leaderboard, 5-fold means: {reference}):")
print(table.round(2).to_string())
print(f"\nreport: {out / 'report.html'}; plots: {', '.join(p.name for p in sorted((out / 'plots').glob('*.png')))}")
