"""Seeing the model's decisions: posts as HTML with causes highlighted, attention heatmaps."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd

from ..data.frame import POST, REPLY, SENTENCE_INDEX, validate_frame

__all__ = ["render_html", "plot_attention"]

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; line-height: 1.5; }
.pair { border: 1px solid #ddd; border-radius: 6px; padding: 0.8rem 1rem; margin-bottom: 1.2rem; }
.reply { color: #333; background: #f4f6fa; padding: 0.5rem; border-radius: 4px; }
.s { padding: 0.1rem 0.15rem; border-radius: 3px; }
.cause { outline: 2px solid #c0392b; }
.gold { border-bottom: 3px double #2c7be5; }
.legend span { margin-right: 1.5rem; }
table.metrics { border-collapse: collapse; margin-bottom: 1rem; }
table.metrics td, table.metrics th { border: 1px solid #ddd; padding: 0.2rem 0.6rem; text-align: right; }
"""


def render_html(X: pd.DataFrame, proba, path, *, y=None, threshold: float = 0.5,
                title: str = "Empathy causes") -> Path:
    """Write the posts of ``X`` as HTML, each sentence shaded by its cause probability.

    Sentences predicted as causes (probability >= ``threshold``) are outlined;
    with ``y``, true causes are underlined and the page opens with the
    metrics of these predictions (:func:`~empathy_cause.metrics.cause_metrics`).
    The page states the threshold. Hovering a sentence shows its probability.

    Parameters
    ----------
    X : pandas.DataFrame
        Sentence-row frame.
    proba : array-like of shape (n_rows,) or (n_rows, 2)
        Cause probabilities for the rows of ``X``.
    path : str or Path
    y : array-like, optional
        True labels, one per row.
    threshold : float
        The decision threshold that marks a predicted cause.
    title : str

    Returns
    -------
    pathlib.Path
    """
    X, y = validate_frame(X, y)
    proba = np.asarray(proba, dtype=float)
    proba = proba[:, 1] if proba.ndim == 2 else proba
    if len(proba) != len(X):
        raise ValueError(f"proba has {len(proba)} values for {len(X)} rows of X")
    parts = [f"<!doctype html><meta charset='utf-8'><title>{html.escape(title)}</title>",
             f"<style>{_STYLE}</style><h1>{html.escape(title)}</h1>",
             f"<p>Decision threshold: <b>{threshold:g}</b> (a sentence with cause probability &ge; "
             f"{threshold:g} is a predicted cause).</p>"]
    if y is not None:
        from ..metrics import cause_metrics

        metrics = cause_metrics(y, (proba >= threshold).astype(int), proba)
        parts.append("<table class='metrics'><tr><th>rows</th>" + "".join(f"<th>{html.escape(k)}</th>" for k in metrics)
                     + f"</tr><tr><td>{len(X)}</td>" + "".join(f"<td>{v:.4f}</td>" for v in metrics.values())
                     + "</tr></table>")
    parts += ["<p class='legend'><span>shade = cause probability</span>"
             f"<span class='s cause'>outlined: predicted cause (p &ge; {threshold:g})</span>"
             + ("<span class='s gold'>underlined: true cause</span>" if y is not None else "") + "</p>"]
    for pair_id, rows in X.groupby("pair_id", sort=False).indices.items():
        post = X[POST].iat[rows[0]]
        scored = dict(zip(X[SENTENCE_INDEX].to_numpy()[rows], rows))
        sentences = []
        for index, sentence in enumerate(post):
            row = scored.get(index)
            if row is None:
                sentences.append(f"<span class='s'>{html.escape(sentence)}</span>")
                continue
            p = proba[row]
            classes = "s" + (" cause" if p >= threshold else "") + (" gold" if y is not None and y[row] else "")
            sentences.append(f"<span class='{classes}' style='background: rgba(231, 76, 60, {p:.2f})' "
                             f"title='p = {p:.3f}'>{html.escape(sentence)}</span>")
        parts.append(f"<div class='pair'><p><b>{html.escape(str(pair_id))}</b></p><p>{' '.join(sentences)}</p>"
                     f"<p class='reply'><b>Reply:</b> {html.escape(X[REPLY].iat[rows[0]])}</p></div>")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def plot_attention(attention: pd.DataFrame, path=None, *, ax=None, title=None, wrap: int = 40):
    """Heatmap of post sentences (rows) by reply sentences (columns).

    Parameters
    ----------
    attention : pandas.DataFrame
        The second value returned by :meth:`EmpathyCauseClassifier.explain`:
        how much each post sentence attends to each reply sentence (each row
        sums to 1).
    path : str or Path, optional
        Also save the figure there (PNG).
    ax : matplotlib Axes, optional
        Where to draw, as in scikit-learn's displays; None: a new figure.
    title : str, optional
        The plot's title, e.g. the pair it shows. Under it, always: each row sums to 1.
    wrap : int
        Sentences longer than this are shortened in the tick labels.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on (``ax.figure`` is its figure).
    """
    import textwrap

    from matplotlib.figure import Figure

    def short(labels):
        return [textwrap.shorten(str(s), wrap, placeholder="...") for s in labels]

    own_figure = ax is None
    if own_figure:
        fig = Figure(figsize=(2 + 1.2 * attention.shape[1], 1.6 + 0.45 * attention.shape[0]), layout="constrained")
        ax = fig.subplots()
    fig = ax.figure
    image = ax.imshow(attention.to_numpy(), cmap="Reds", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(attention.shape[1]), short(attention.columns), rotation=30, ha="right")
    ax.set_yticks(range(attention.shape[0]), short(attention.index))
    ax.set_xlabel("reply sentence")
    ax.set_ylabel("post sentence")
    fig.colorbar(image, ax=ax, label="attention")
    subtitle = "post-to-reply attention; each row sums to 1"
    text = subtitle if title is None else f"{title}\n{subtitle}"
    # Over a narrow heatmap an axes title runs past the figure's edge and is clipped; a figure
    # title is centred on the whole figure, which the long tick labels make wide enough.
    if own_figure:
        fig.suptitle(text, fontsize="medium")
    else:
        ax.set_title(text, fontsize="medium")
    if path is not None:
        fig.savefig(path, dpi=120)
    return ax
