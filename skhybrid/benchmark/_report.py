"""Benchmark reports: tables (Markdown, self-contained HTML), plots, and Matbench results files."""

from __future__ import annotations

import base64
import html
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ..utils import write_atomically
from ._metrics import CLASSIFICATION, REGRESSION
from ._references import CLASSIFICATION_NOTE, LEADERBOARD, LEADERBOARD_SOURCE

__all__ = ["summarize", "write_report"]

#: the regression columns of :func:`summarize` (kept for code that imported it)
METRICS = ("mae", "rmse", "r2", "max_error", "fit_s", "predict_s")
TIMES = ("fit_s", "predict_s")


def _kind(results: pd.DataFrame):
    """The task's metrics, read off the records: classification records hold ``roc_auc``."""
    return CLASSIFICATION if "roc_auc" in results.columns and "mae" not in results.columns else REGRESSION


def summarize(results: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation over folds of every metric, one row per model, best first.

    Parameters
    ----------
    results : DataFrame
        One row per (model, fold), as :func:`run_benchmark` and :func:`load_records` return.

    Returns
    -------
    DataFrame
        Indexed by model: ``folds`` and ``<metric>_mean``, ``<metric>_std`` for MAE, RMSE, R^2, max error
        (classification: ROC-AUC, accuracy, balanced accuracy, F1, log loss), fit and predict seconds;
        lowest MAE (highest ROC-AUC) first.

    Examples
    --------
    >>> import pandas as pd
    >>> from skhybrid.benchmark import summarize
    >>> results = pd.DataFrame({"model": ["rf", "rf", "cgcnn", "cgcnn"], "fold": [0, 1, 0, 1],
    ...                         "mae": [60.0, 70.0, 50.0, 46.0], "rmse": [80.0, 90.0, 70.0, 66.0],
    ...                         "r2": [0.9, 0.8, 0.9, 0.9], "max_error": [300.0, 310.0, 280.0, 260.0],
    ...                         "fit_s": [2.0, 2.0, 60.0, 62.0], "predict_s": [0.1, 0.1, 0.5, 0.5]})
    >>> summarize(results)[["folds", "mae_mean", "mae_std"]]
          folds  mae_mean  mae_std
    model
    cgcnn   0,1      48.0      2.0
    rf      0,1      65.0      5.0
    """
    kind = _kind(results)
    grouped = results.groupby("model", sort=False)
    table = pd.DataFrame({"folds": grouped["fold"].apply(lambda f: ",".join(map(str, sorted(f))))})
    for metric in (*kind.labels, *TIMES):
        table[f"{metric}_mean"] = grouped[metric].mean()
        table[f"{metric}_std"] = grouped[metric].std(ddof=0)
    return kind.best_first(table)


def _plots(out: Path, results: pd.DataFrame, table: pd.DataFrame, bench) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    plots = out / "plots"
    plots.mkdir(exist_ok=True)
    kind = _kind(results)
    primary, label = kind.primary, kind.label
    classify = kind is CLASSIFICATION
    unit = f" ({bench.unit})" if bench.unit and not classify else ""
    paths = []

    # the mean predictor is a reference line, not a bar: its error (several times any model's) would
    # flatten every real model into the bottom of the axis
    reference_models = [m for m in table.index if m == "dummy"]
    bars = table.drop(index=reference_models)
    fig, ax = plt.subplots(figsize=(max(5.5, 0.8 * len(bars) + 3.5), 3.8))
    positions = np.arange(len(bars))
    ax.bar(positions, bars[f"{primary}_mean"], yerr=bars[f"{primary}_std"], capsize=4, color="tab:blue", alpha=0.85)
    for i, model in enumerate(bars.index):
        folds = results.loc[results["model"] == model, primary]
        ax.scatter(np.full(len(folds), i), folds, color="black", s=10, zorder=3)
    styles = ["--", ":", "-.", (0, (5, 1)), (0, (1, 1)), (0, (3, 1, 1, 1))]
    for (name, value), style in zip(LEADERBOARD.get(bench.matbench_task or "", {}).items(), styles):
        ax.axhline(value, color="gray", lw=0.9, ls=style, label=f"leaderboard {name}: {value}")
    for model in reference_models:
        ax.axhline(table.loc[model, f"{primary}_mean"], color="tab:red", lw=1.0,
                   label=f"{model} ({'class priors' if classify else 'mean predictor'}): "
                         f"{table.loc[model, f'{primary}_mean']:.3g}")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    ax.set_xticks(positions, bars.index, rotation=30, ha="right")
    ax.set_ylabel(f"{label}{unit}")
    if classify:
        ax.set_ylim(0.5, 1.0)
    elif len(bars):
        top = max(float((bars["mae_mean"] + bars["mae_std"].fillna(0)).max()),
                  float(results.loc[results["model"].isin(bars.index), "mae"].max()))
        ax.set_ylim(0, 1.15 * top)
    ax.set_title(f"{bench.name}: {label} per model\n(bars: mean +/- std over folds; dots: folds)", fontsize=9)
    fig.tight_layout()
    paths.append(plots / f"{primary}_per_model.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(4.8, 3.6))
    ax.errorbar(table["fit_s_mean"] / 60, table[f"{primary}_mean"], yerr=table[f"{primary}_std"], fmt="o",
                capsize=3)
    for model, row in table.iterrows():
        ax.annotate(model, (row["fit_s_mean"] / 60, row[f"{primary}_mean"]), fontsize=7, xytext=(4, 3),
                    textcoords="offset points")
    ax.set_xscale("symlog", linthresh=0.1)
    ax.set_xlabel("fit time per fold (minutes)")
    ax.set_ylabel(f"{label}{unit}")
    ax.set_title(f"Training time against {label}", fontsize=9)
    fig.tight_layout()
    paths.append(plots / f"time_vs_{primary}.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)

    def parity(ax, model):
        frame = _fold_predictions(out, model, results.loc[results["model"] == model, "fold"])
        low, high = frame[["y_true", "y_pred"]].min().min(), frame[["y_true", "y_pred"]].max().max()
        ax.scatter(frame["y_true"], frame["y_pred"], s=4, alpha=0.5)
        ax.plot([low, high], [low, high], color="gray", lw=0.8)
        ax.set_title(f"{model} (MAE {table.loc[model, 'mae_mean']:.3g})", fontsize=8)
        ax.set_xlabel(f"true{unit}", fontsize=7)
        ax.set_ylabel(f"predicted{unit}", fontsize=7)

    def roc(ax, model):
        from sklearn.metrics import roc_curve

        frame = _fold_predictions(out, model, results.loc[results["model"] == model, "fold"])
        positive = sorted(frame["y_true"].unique())[-1]
        false_positive, true_positive, _ = roc_curve(frame["y_true"] == positive, frame["proba"])
        ax.plot(false_positive, true_positive, lw=1.0)
        ax.plot([0, 1], [0, 1], color="gray", lw=0.8, ls="--")
        ax.set_title(f"{model} (ROC-AUC {table.loc[model, 'roc_auc_mean']:.3f})", fontsize=8)
        ax.set_xlabel("false positive rate", fontsize=7)
        ax.set_ylabel("true positive rate", fontsize=7)

    if not classify:
        paths.append(_panels(list(table.index), parity, plots / "parity.png"))
    elif all("proba" in pd.read_csv(out / "predictions" / f"{model}__fold{fold}.csv", nrows=1).columns
             for model, fold in zip(results["model"], results["fold"])):
        paths.append(_panels(list(table.index), roc, plots / "roc.png",
                             title="ROC curves of the pooled test folds (dashed: chance)"))
    return paths


def _fold_predictions(out: Path, model: str, folds) -> pd.DataFrame:
    return pd.concat([pd.read_csv(out / "predictions" / f"{model}__fold{f}.csv") for f in folds])


def _panels(models, draw, path: Path, title=None) -> Path:
    """One small plot per model, three to a row: ``draw(ax, model)`` fills each."""
    import matplotlib.pyplot as plt

    cols = min(3, len(models))
    rows = int(np.ceil(len(models) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.3 * cols, 3.1 * rows), squeeze=False)
    for ax, model in zip(axes.ravel(), models):
        draw(ax, model)
        ax.tick_params(labelsize=6)
    for ax in axes.ravel()[len(models):]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _interval_frame(results: pd.DataFrame) -> pd.DataFrame:
    """One row per (model, fold, level) with the coverage and mean width of the model's test intervals."""
    rows = []
    if "intervals" not in results:
        return pd.DataFrame(columns=["model", "fold", "kind", "level", "coverage", "width"])
    for _, row in results.iterrows():
        summary = row.get("intervals")
        if isinstance(summary, dict):
            for level, coverage in summary["coverage"].items():
                rows.append((row["model"], int(row["fold"]), summary["kind"], float(level), coverage,
                             summary["width"][level]))
    return pd.DataFrame(rows, columns=["model", "fold", "kind", "level", "coverage", "width"])


#: the level the report's interval table and width-against-error plot show
REPORT_LEVEL = 0.9


def _interval_plots(out: Path, results: pd.DataFrame, intervals: pd.DataFrame, unit: str) -> list[Path]:
    """Calibration (asked against observed coverage) and interval width against the error, per model."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    if intervals.empty:
        return []
    plots = out / "plots"
    paths = []
    fig, ax = plt.subplots(figsize=(5.6, 3.8))
    for model, group in intervals.groupby("model", sort=False):
        curve = group.groupby("level")["coverage"].agg(["mean", "min", "max"])
        ax.errorbar(curve.index, curve["mean"], yerr=[curve["mean"] - curve["min"], curve["max"] - curve["mean"]],
                    marker="o", ms=3, capsize=2, label=f"{model} ({group['kind'].iloc[0]})")
    ax.plot([0.45, 1.0], [0.45, 1.0], color="gray", lw=0.8, ls="--", label="ideal")
    ax.set_xlabel("confidence level asked")
    ax.set_ylabel("coverage of the test folds")
    ax.set_title("Calibration of the prediction intervals\n(mean over folds; bars: lowest and highest fold)",
                 fontsize=9)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    fig.tight_layout()
    paths.append(plots / "interval_calibration.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)

    at_level = intervals[np.isclose(intervals["level"], REPORT_LEVEL)]
    models = list(dict.fromkeys(at_level["model"]))
    if not models:
        return paths
    column = f"{REPORT_LEVEL:g}"

    def width_against_error(ax, model):
        frame = _fold_predictions(out, model, at_level.loc[at_level["model"] == model, "fold"])
        width = frame[f"upper@{column}"] - frame[f"lower@{column}"]
        error = (frame["y_true"] - frame["y_pred"]).abs()
        ax.scatter(width, error, s=4, alpha=0.5)
        top = float(max(width.max(), 2 * error.max()))
        ax.plot([0, top], [0, top / 2], color="gray", lw=0.8, ls="--")
        ax.set_title(f"{model}: {REPORT_LEVEL:.0%} intervals", fontsize=8)
        ax.set_xlabel(f"interval width ({unit})", fontsize=7)
        ax.set_ylabel(f"|error| ({unit})", fontsize=7)

    paths.append(_panels(models, width_against_error, plots / "interval_width_vs_error.png",
                         title="Width against error (dashed: half the width; above it, outside a symmetric interval)"))
    return paths


def _intervals_table(intervals: pd.DataFrame, unit: str) -> list[str]:
    at_level = intervals[np.isclose(intervals["level"], REPORT_LEVEL)]
    if at_level.empty:
        return []
    lines = [f"Prediction intervals at {REPORT_LEVEL:.0%} on the test folds (`conformal`: "
             "skhybrid.uncertainty.ConformalRegressor, coverage guaranteed; `spread`: a Gaussian interval from "
             "the members' spread, no guarantee):", "",
             f"| model | kind | folds | coverage | per fold | mean width ({unit}) |", "|---|---|---|---:|---|---:|"]
    for model, group in at_level.groupby("model", sort=False):
        lines.append(f"| {model} | {group['kind'].iloc[0]} | {','.join(map(str, group['fold']))} | "
                     f"{group['coverage'].mean():.1%} | " + ", ".join(f"{v:.0%}" for v in group["coverage"])
                     + f" | {group['width'].mean():.4g} |")
    return lines + [""]


def _headers(kind, unit: str) -> list[str]:
    labels = list(kind.labels.values())
    if kind is REGRESSION:
        labels[0] = f"{labels[0]} ({unit})"
    return ["model", "folds", *labels, "fit s", "predict s"]


def _markdown_table(table: pd.DataFrame, unit: str, kind=REGRESSION) -> str:
    headers = _headers(kind, unit)
    lines = ["| " + " | ".join(headers) + " |", "|---|---|" + "---:|" * (len(headers) - 2)]
    for model, row in table.iterrows():
        cells = [f"{row[f'{m}_mean']:.4g} +/- {row[f'{m}_std']:.2g}" for m in (*kind.labels, *TIMES)]
        lines.append(f"| {model} | {row['folds']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _matbench_files(out: Path, results: pd.DataFrame, bench) -> list[Path]:
    """One Matbench results file per model (``MatbenchBenchmark.record``/``to_file``), when matbench imports."""
    if bench.matbench_task is None:
        return []
    try:
        from matbench.bench import MatbenchBenchmark
    except Exception:  # matbench is optional
        return []
    import logging

    logging.getLogger("matbench").setLevel(logging.WARNING)
    paths = []
    folder = out / "matbench"
    folder.mkdir(exist_ok=True)
    # the task's input column: Structures, or formulas for the composition tasks
    inputs = "composition" if isinstance(bench.X[0], str) else "structure"
    frame = pd.DataFrame({inputs: list(bench.X), bench.target: bench.y}, index=bench.ids)
    # classification: Matbench scores the probability of True (ROC-AUC), which the predictions hold as `proba`
    classify = getattr(bench, "task_type", "regression") == "classification"
    from ._runner import COMPONENT_PREFIX

    for model in results["model"].unique():
        folds = sorted(results.loc[results["model"] == model, "fold"])
        predictions = {fold: pd.read_csv(out / "predictions" / f"{model}__fold{fold}.csv") for fold in folds}
        # the model itself, and each part of a fusion model or ensemble that every fold saved
        columns = {"proba" if classify else "y_pred": (model, f"skhybrid {model}")}
        parts = set.intersection(*(set(p.columns) for p in predictions.values()))
        for column in sorted(c for c in parts if c.startswith(COMPONENT_PREFIX)):
            part = column[len(COMPONENT_PREFIX):]
            columns[column] = (f"{model}.{part.replace('/', '-')}",
                               f"skhybrid {model}: its part {part!r}, as trained inside it")
        for column, (name, algorithm) in columns.items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                benchmark = MatbenchBenchmark(autoload=False, subset=[bench.matbench_task])
                task = benchmark.tasks_map[bench.matbench_task]
                task.df = frame
                for fold in folds:
                    values = predictions[fold][column].to_numpy()
                    task.record(int(fold), [float(v) for v in values] if classify else values)
                benchmark.add_metadata({"algorithm": algorithm})
                path = folder / f"{name}.json.gz"
                _write_gzipped(benchmark, path)
            paths.append(path)
    return paths


# what matbench stamps on every file it writes, whatever its results
_MATBENCH_STAMPS = ("datestamp", "hash")


def _write_gzipped(benchmark, path: Path) -> None:
    """``MatbenchBenchmark.to_file`` writes plain JSON whatever the name; gzip it, atomically.

    A file that already holds the same results is left as it is: the report is rebuilt after every fold,
    and rewriting every model's file would only change matbench's datestamp (and the hash over it), so a
    committed results file would show as modified after each new fold of another model.
    """
    import gzip
    import tempfile

    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        plain = Path(tmp) / "results.json"
        benchmark.to_file(str(plain))
        content = plain.read_bytes()
    if _same_results(path, content):
        return
    # mtime=0: the same results give the same bytes
    write_atomically(path, gzip.compress(content, mtime=0))


def _same_results(path: Path, content: bytes) -> bool:
    """Whether the gzipped file at ``path`` holds ``content`` up to matbench's datestamp and hash."""
    import gzip

    def unstamped(text: bytes) -> dict:
        data = json.loads(text)
        return {key: value for key, value in data.items() if key not in _MATBENCH_STAMPS} \
            if isinstance(data, dict) else data

    try:
        return unstamped(gzip.decompress(path.read_bytes())) == unstamped(content)
    except (OSError, EOFError, ValueError):  # absent, not gzip, truncated or not JSON: write it anew
        return False


def _components_table(out: Path, results: pd.DataFrame, unit: str) -> list[str]:
    """MAE (ROC-AUC) of every part of the fusion models and ensembles (bases and members) on the same folds."""
    kind = _kind(results)
    label = kind.label if kind is CLASSIFICATION else f"MAE ({unit})"
    held_out_label = "log loss" if kind is CLASSIFICATION else "MAE"
    rows = []
    for _, row in results.sort_values(["model", "fold"]).iterrows():
        components = row.get("components")
        if isinstance(components, dict):
            for name, mae in components.items():
                rows.append((row["model"], name, int(row["fold"]), mae))
    if not rows:
        return []
    frame = pd.DataFrame(rows, columns=["model", "component", "fold", "mae"])
    if kind is CLASSIFICATION:
        lines = [f"Inside the fusion models: the test {kind.label} and log loss of each part, as trained inside the "
                 "model (bases), on the same folds (log loss from the saved probabilities), beside the model's own:",
                 "", f"| model | part | folds | {label} | per fold | log loss | per fold |", "|---|---|---|---:|---|---:|---|"]
        for model, parts in frame.groupby("model", sort=False):
            folds = list(dict.fromkeys(parts["fold"]))
            own = results[results["model"] == model].set_index("fold")
            losses = {fold: _part_log_losses(out, model, fold) for fold in folds}
            rows = [("(the model)", [own.loc[f, "roc_auc"] for f in folds], [own.loc[f, "log_loss"] for f in folds])]
            rows += [(component, list(group["mae"]), [losses[f].get(component) for f in group["fold"]])
                     for component, group in parts.groupby("component", sort=False)]
            for component, aucs, lls in rows:
                ll_known = [v for v in lls if v is not None]
                mean_ll = f"{np.mean(ll_known):.4g}" if len(ll_known) == len(lls) else ""
                lines.append(f"| {model} | {component} | {','.join(map(str, folds))} | {np.mean(aucs):.4g} | "
                             + ", ".join(f"{v:.4g}" for v in aucs) + f" | {mean_ll} | "
                             + ", ".join("" if v is None else f"{v:.4g}" for v in lls) + " |")
    else:
        lines = [f"Inside the fusion models and ensembles: the test {kind.label} of each part, as trained inside the "
                 "model (bases; `name/k` is member `k` of a base or an ensemble), on the same folds:", "",
                 f"| model | part | folds | {label} | per fold |", "|---|---|---|---:|---|"]
        for (model, component), group in frame.groupby(["model", "component"], sort=False):
            lines.append(f"| {model} | {component} | {','.join(map(str, group['fold']))} | {group['mae'].mean():.4g} | "
                         + ", ".join(f"{v:.4g}" for v in group["mae"]) + " |")
    lines.append("")
    weights = [(row["model"], int(row["fold"]), row["fusion_weights"], row.get("held_out_scores"),
                row.get("weight_choice"))
               for _, row in results.sort_values(["model", "fold"]).iterrows()
               if isinstance(row.get("fusion_weights"), dict)]
    if weights:
        lines += [f"Fusion weights, chosen on the training fold (held-out {held_out_label} of each base and of the "
                  "blend there):", "", f"| model | fold | weights | held-out {held_out_label} |", "|---|---:|---|---|"]
        for model, fold, chosen, held_out, choice in weights:
            scores = ", ".join(f"{k} {v:.4g}" for k, v in held_out.items()) if isinstance(held_out, dict) else ""
            if isinstance(choice, dict):  # weights="oof-or-equal": what decided between fitted and equal weights
                scores += (f"; {choice['chosen']} weights chosen (cross-validated: fitted {choice['fitted']:.4g}, "
                           f"equal {choice['equal']:.4g})")
            lines.append(f"| {model} | {fold} | " + ", ".join(f"{k} {v:.2f}" for k, v in chosen.items())
                         + f" | {scores} |")
        lines.append("")
    return lines


def _part_log_losses(out: Path, model: str, fold: int) -> dict:
    """Test log loss of each part of a classifier on one fold, from the probabilities it saved.

    ``{"<part>": ...}`` from the ``pred:<part>`` columns (each part's probability of the positive class);
    empty when the predictions file is missing.
    """
    from sklearn.metrics import log_loss

    from ._runner import COMPONENT_PREFIX

    path = out / "predictions" / f"{model}__fold{fold}.csv"
    if not path.exists():
        return {}
    frame = pd.read_csv(path)
    positive = frame["y_true"] == sorted(frame["y_true"].unique())[-1]
    return {column[len(COMPONENT_PREFIX):]: float(log_loss(positive, frame[column].to_numpy(dtype=float),
                                                            labels=[False, True]))
            for column in frame.columns if column.startswith(COMPONENT_PREFIX)}


def write_report(out, results: pd.DataFrame, bench, *, expected=None, quick=False, matbench_results=None) -> dict:
    """Write ``report.md``, ``report.html``, ``plots/*.png`` and Matbench files; return their paths.

    :func:`run_benchmark` calls it at the end of every run; call it yourself
    to rebuild a report from saved records.

    Parameters
    ----------
    out : str or Path
        The output folder.
    results : DataFrame
        One row per (model, fold), as :func:`load_records` returns.
    bench : BenchmarkData
        The data the results belong to (:func:`load_benchmark_data`), for the
        name, unit, targets and the leaderboard row.
    expected : (models, folds) tuple or list of (model, fold) pairs, optional
        What the run asked for (every model on every fold, or the pairs named): pairs without a record
        are listed as missing.
    quick : bool, default=False
        The results come from a ``--quick`` run (short training): said at the top.
    matbench_results : DataFrame, optional
        The (model, fold) rows whose predictions go into the Matbench files; default ``results``. The
        runner passes every finished fold of the models it ran, so that a run resumed with ``--folds``
        still writes files over the folds of the earlier calls, not files with those folds empty.

    Returns
    -------
    dict
        What was written: ``report.md``, ``report.html``, ``plots`` and ``matbench`` paths.

    Examples
    --------
    >>> from skhybrid.benchmark import load_benchmark_data, load_records, write_report
    >>> bench = load_benchmark_data("matbench_phonons")                   # doctest: +SKIP
    >>> paths = write_report("runs/phonons", load_records("runs/phonons"), bench)  # doctest: +SKIP
    """
    out = Path(out)
    if results.empty:
        return {}
    table = summarize(results)
    kind = _kind(results)
    unit = bench.unit or "target units"
    intervals = _interval_frame(results)
    plots = _plots(out, results, table, bench) + _interval_plots(out, results, intervals, unit)
    matbench = _matbench_files(out, results if matbench_results is None else matbench_results, bench)
    reference = LEADERBOARD.get(bench.matbench_task or "")
    status = []
    if quick:
        status.append("**Quick run** (`--quick`: fold 0, 5 epochs, 50 trees): a check of the setup, not a "
                      "measurement of accuracy.")
    if expected is not None:
        done = set(zip(results["model"], results["fold"].astype(int)))
        pairs = ([(m, f) for m in expected[0] for f in expected[1]] if isinstance(expected, tuple)
                 else list(expected))
        missing = [(m, f) for m, f in pairs if (m, int(f)) not in done]
        if missing:
            status.append(f"**Incomplete**: {len(missing)} of {len(pairs)} (model, fold) "
                          "fits are missing (" + ", ".join(f"{m} fold {f}" for m, f in missing[:12])
                          + (", ..." if len(missing) > 12 else "") + "); rerun the same command to finish them.")
    lines = [f"# Benchmark: {bench.name}", "", *[line + "\n" for line in status],
             (f"Target `{bench.target}` ({unit}); " if kind is REGRESSION else
              f"Target `{bench.target}`, classification (classes {', '.join(map(str, np.unique(bench.y)))}; models "
              "ranked by the ROC-AUC of their probabilities, as Matbench scores it); ")
             + f"{len(bench.y)} samples; "
             + ("official Matbench v0.1 folds" if bench.matbench_task else f"{len(bench.folds)}-fold shuffled CV")
             + "; mean +/- std over the folds run.", "",
             _markdown_table(table, unit, kind), "", *_components_table(out, results, unit),
             *_intervals_table(intervals, unit)]
    if reference:
        score = "Matbench rocauc (= balanced accuracy)" if kind is CLASSIFICATION else kind.label
        lines += ["Leaderboard, for reference (" + LEADERBOARD_SOURCE + "):", "",
                  f"| model | {score} |", "|---|---:|", *[f"| {k} | {v} |" for k, v in reference.items()], ""]
        if kind is CLASSIFICATION:
            lines += [CLASSIFICATION_NOTE, ""]
    per_fold = list(kind.labels)[:3]
    lines += ["Per fold:", "", "| model | fold | " + " | ".join(kind.labels[m] for m in per_fold) + " | fit s |",
              "|---|---:|" + "---:|" * (len(per_fold) + 1)]
    for _, row in results.sort_values(["model", "fold"]).iterrows():
        lines.append(f"| {row['model']} | {row['fold']} | " + " | ".join(f"{row[m]:.4g}" for m in per_fold)
                     + f" | {row['fit_s']:.1f} |")
    lines += [""] + [f"![{p.stem}](plots/{p.name})" for p in plots] + [""]
    if matbench:
        lines += ["Matbench results files: " + ", ".join(f"`matbench/{p.name}`" for p in matbench), ""]
    markdown = "\n".join(lines)
    write_atomically(out / "report.md", markdown)

    images = "".join(f'<figure><img alt="{p.stem}" src="data:image/png;base64,'
                     f'{base64.b64encode(p.read_bytes()).decode()}"></figure>' for p in plots)
    body = html.escape(markdown.split("![")[0])
    page = ("<!doctype html><html><head><meta charset='utf-8'><title>" + html.escape(bench.name) +
            "</title><style>body{font-family:sans-serif;max-width:70em;margin:2em auto}"
            "pre{white-space:pre-wrap}img{max-width:100%}</style></head><body>"
            f"<h1>Benchmark: {html.escape(bench.name)}</h1>"
            + "".join(f"<p>{html.escape(line.replace('**', ''))}</p>" for line in status)
            + f"{_html_table(table, unit, kind)}{_html_reference(reference, kind)}{_html_intervals(intervals, unit)}"
            f"<details><summary>Markdown report</summary><pre>{body}</pre></details>{images}</body></html>")
    write_atomically(out / "report.html", page)
    return {"markdown": out / "report.md", "html": out / "report.html", "plots": plots, "matbench": matbench}


def _html_table(table: pd.DataFrame, unit: str, kind=REGRESSION) -> str:
    header = "".join(f"<th>{html.escape(h)}</th>" for h in _headers(kind, unit))
    rows = "".join(
        f"<tr><td>{html.escape(str(model))}</td><td>{row['folds']}</td>"
        + "".join(f"<td>{row[f'{m}_mean']:.4g} &plusmn; {row[f'{m}_std']:.2g}</td>" for m in (*kind.labels, *TIMES))
        + "</tr>" for model, row in table.iterrows())
    return f"<table border='1' cellpadding='4'><tr>{header}</tr>{rows}</table>"


def _html_reference(reference, kind=REGRESSION) -> str:
    if not reference:
        return ""
    rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{v}</td></tr>" for k, v in reference.items())
    score = "Matbench rocauc (= balanced accuracy)" if kind is CLASSIFICATION else kind.label
    note = f"<p>{html.escape(CLASSIFICATION_NOTE)}</p>" if kind is CLASSIFICATION else ""
    return (f"<p>Leaderboard, for reference ({html.escape(LEADERBOARD_SOURCE)}):</p>"
            f"<table border='1' cellpadding='4'><tr><th>model</th><th>{score}</th></tr>{rows}</table>{note}")


def _html_intervals(intervals: pd.DataFrame, unit: str) -> str:
    lines = _intervals_table(intervals, unit)
    if not lines:
        return ""
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[2:] if line.startswith("|")]
    header, body = rows[0], rows[2:]
    cells = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    cells = f"<tr>{cells}</tr>" + "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
                                          for row in body)
    return f"<p>{html.escape(lines[0].replace('`', ''))}</p><table border='1' cellpadding='4'>{cells}</table>"
