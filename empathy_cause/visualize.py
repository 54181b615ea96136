"""Seeing the model's decisions: posts as HTML with causes highlighted, attention heatmaps."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd

from .data.frame import POST, REPLY, SENTENCE_INDEX, validate_frame

__all__ = ["render_html", "plot_attention"]

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; line-height: 1.5; }
.pair { border: 1px solid #ddd; border-radius: 6px; padding: 0.8rem 1rem; margin-bottom: 1.2rem; }
.reply { color: #333; background: #f4f6fa; padding: 0.5rem; border-radius: 4px; }
.s { padding: 0.1rem 0.15rem; border-radius: 3px; }
.cause { outline: 2px solid #c0392b; }
.gold { border-bottom: 3px double #2c7be5; }
.legend span { margin-right: 1.5rem; }
"""


def render_html(X: pd.DataFrame, proba, path, *, y=None, threshold: float = 0.5,
                title: str = "Empathy causes") -> Path:
    """Write the posts of ``X`` as HTML, each sentence shaded by its cause probability.

    Sentences predicted as causes (probability >= ``threshold``) are outlined;
    with ``y``, true causes are underlined. Hovering a sentence shows its
    probability.

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
             "<p class='legend'><span>shade = cause probability</span>"
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


def plot_attention(attention: pd.DataFrame, path=None, *, wrap: int = 40):
    """Heatmap of post sentences (rows) by reply sentences (columns).

    ``attention`` is the second value returned by
    :meth:`EmpathyCauseClassifier.explain`. Saves a PNG when ``path`` is given;
    returns the matplotlib Figure.
    """
    import textwrap

    from matplotlib.figure import Figure

    def short(labels):
        return [textwrap.shorten(str(s), wrap, placeholder="...") for s in labels]

    fig = Figure(figsize=(2 + 1.2 * attention.shape[1], 1 + 0.45 * attention.shape[0]), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(attention.to_numpy(), cmap="Reds", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(attention.shape[1]), short(attention.columns), rotation=30, ha="right")
    ax.set_yticks(range(attention.shape[0]), short(attention.index))
    ax.set_xlabel("reply sentence")
    ax.set_ylabel("post sentence")
    fig.colorbar(image, ax=ax, label="attention")
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig
