"""The benchmark tables: per-configuration summaries (mean ± sd over runs), markdown and a precision-recall plot.

The one table writer of the benchmarks: the protocol
(:mod:`empathy_cause.benchmarks.common`) summarises per configuration, the
quality benchmark per configuration and evaluation set (``evals``), both with
:func:`summarise` and :func:`markdown_table`.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["METRICS", "COLUMN_TITLES", "summarise", "summary_key", "mean_sd", "stat_cell", "table_header",
           "markdown_table", "plot_precision_recall"]

METRICS = ("test_loss", "precision", "recall", "f1", "accuracy", "roc_auc")
COLUMN_TITLES = {"test_loss": "Test Loss", "precision": "Precision", "recall": "Recall",
                 "f1": "F1", "accuracy": "Accuracy", "roc_auc": "ROC AUC"}


def summary_key(config_name, eval_name=None) -> str:
    """The key of a :func:`summarise` entry: the configuration's name, and ``" | "`` and its evaluation set."""
    return config_name if eval_name is None else f"{config_name} | {eval_name}"


def summarise(records, configs, *, evals=(None,), metrics=METRICS):
    """Mean and standard deviation (ddof=1; 0 for one run) of every metric, per configuration.

    With ``evals`` (names of evaluation sets, the records' ``"eval"``), per
    configuration and evaluation set; the entries are keyed by
    :func:`summary_key`. A metric that is None in any run is None.
    """
    summary = {}
    for config in configs:
        if config.kind == "unavailable":
            summary[config.name] = {"label": config.label, "kind": config.kind, "note": config.note}
            continue
        for eval_name in evals:
            rows = [r for r in records if r["config"] == config.name and (eval_name is None or r["eval"] == eval_name)]
            if not rows:
                continue
            entry = {"label": config.label, "kind": config.kind, "runs": len(rows)}
            if eval_name is not None:
                entry.update(config=config.name, eval=eval_name)
            for metric in metrics:
                values = [r["metrics"][metric] for r in rows]
                entry[metric] = None if any(v is None for v in values) else mean_sd(values)
            entry["fit_seconds"] = float(np.mean([r["fit_seconds"] for r in rows]))
            entry["fit_cpu_seconds"] = float(np.mean([r.get("fit_cpu_seconds", np.nan) for r in rows]))
            epochs = [r["epochs"] for r in rows if r.get("epochs") is not None]
            entry["epochs"] = float(np.mean(epochs)) if epochs else None
            summary[summary_key(config.name, eval_name)] = entry
    return summary


def mean_sd(values) -> dict:
    """``{"mean", "std"}`` of some runs' values (ddof=1; 0 for one run): the cells of every benchmark table."""
    values = np.asarray(values, dtype=float)
    return {"mean": float(np.mean(values)), "std": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0}


def stat_cell(stat, missing="-") -> str:
    """A :func:`mean_sd` as a table cell, ``0.4590 ± 0.0123`` ("n/a" for NaN, ``missing`` for None)."""
    if stat is None:
        return missing
    if math.isnan(stat["mean"]):
        return "n/a"
    return f"{stat['mean']:.4f} ± {stat['std']:.4f}"


def table_header(header, n_left=1) -> list:
    """The two header lines of a markdown table: titles, then ``n_left`` left- and the rest right-aligned."""
    return ["| " + " | ".join(header) + " |",
            "|" + "|".join([" --- "] * n_left + [" ---: "] * (len(header) - n_left)) + "|"]


def markdown_table(summary, configs, *, evals=(None,), metrics=METRICS, titles=COLUMN_TITLES,
                   title_column="Model", caption=None, fit_column=True):
    """The paper-style table of a :func:`summarise` (mean ± std), footnotes for configurations with notes.

    One row per configuration, or with ``evals`` per configuration and
    evaluation set (an "Evaluated on" column); ``fit_column`` adds the mean
    fit time.
    """
    by_eval = tuple(evals) != (None,)
    header = ([title_column] + ["Evaluated on"] * by_eval + [titles[m] for m in metrics]
              + ["Fit (s)"] * fit_column)
    lines = table_header(header, n_left=1 + by_eval)
    notes = []
    for config in configs:
        label = config.label
        if config.note:
            notes.append(config.note)
            label += f" [{len(notes)}]"
        if config.kind == "unavailable":
            if config.name in summary:
                cells = ["not available offline"] + ["-"] * (len(metrics) - 1) + ["-"] * fit_column
                lines.append("| " + " | ".join([label] + ["-"] * by_eval + cells) + " |")
            continue
        for eval_name in evals:
            entry = summary.get(summary_key(config.name, eval_name))
            if entry is None:
                continue
            cells = [stat_cell(entry[m]) for m in metrics] + [f"{entry['fit_seconds']:.1f}"] * fit_column
            lines.append("| " + " | ".join([label] + [eval_name] * by_eval + cells) + " |")
    out = "\n".join(lines) + "\n"
    if caption:
        out += f"\n{caption}\n"
    if notes:
        out += "\n" + "\n".join(f"[{i}] {n}" for i, n in enumerate(notes, 1)) + "\n"
    return out


def plot_precision_recall(records, configs, path, title=None):
    """One precision-recall curve per configuration from its pooled test predictions."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import PrecisionRecallDisplay

    fig, ax = plt.subplots(figsize=(7, 5.5))
    plotted = 0
    for config in configs:
        rows = [r for r in records if r["config"] == config.name]
        if not rows:
            continue
        y_true = np.concatenate([r["_predictions"][0] for r in rows])
        y_score = np.concatenate([r["_predictions"][1] for r in rows])
        if len(np.unique(y_true)) < 2:
            continue
        PrecisionRecallDisplay.from_predictions(
            y_true, y_score, name=config.label, ax=ax,
            plot_chance_level=plotted == 0 and config.dataset is None,
            curve_kwargs={"linestyle": "--" if config.kind == "dummy" else "-"})
        plotted += 1
    ax.set_title(title or "Precision-recall on the test parts (runs pooled)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.legend(loc="upper right", fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
