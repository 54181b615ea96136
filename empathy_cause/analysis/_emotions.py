"""The NRC emotion lexicon: reading it, and its frequencies in cause vs non-cause sentences."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ._common import _INSTALL_HINT, _WORD_RE, _new_axes, _require, _split, _validate

#: The ten NRC categories, in the order used for rows and figures: Plutchik's
#: eight emotions, then the two sentiments.
NRC_EMOTIONS = (
    "anger",
    "anticipation",
    "disgust",
    "fear",
    "joy",
    "sadness",
    "surprise",
    "trust",
    "negative",
    "positive",
)


_NRC_NORMALIZATIONS = ("sentence", "share", "token", "count")


def _nrc_lexicon_path(function="nrc_emotions"):
    """Path of the NRC lexicon JSON shipped by the nrclex package."""
    nrclex = _require("nrclex", function, "nrclex")
    base = Path(nrclex.__file__).resolve().parent
    for candidate in (base / "data" / "nrc_en.json", base / "nrc_en.json",
                      base.parent / "nrc_en.json"):
        if candidate.is_file():
            return candidate
    found = sorted(base.rglob("nrc*.json"))
    if found:
        return found[0]
    raise FileNotFoundError(
        f"No NRC lexicon file (nrc_en.json) found in the nrclex package at "
        f"{base}; reinstall it with {_INSTALL_HINT} or pass lexicon=."
    )


def load_nrc_lexicon(path=None):
    """Read the NRC emotion lexicon as ``{word: frozenset(emotions)}``.

    Parameters
    ----------
    path : str or pathlib.Path, optional
        A JSON file mapping each word to a list of NRC categories (the format
        nrclex ships). By default the ``nrc_en.json`` inside the installed
        ``nrclex`` package is read (the package itself is not used).

    Returns
    -------
    dict of str to frozenset of str
        Lowercased words to their categories (those among
        :data:`NRC_EMOTIONS`).

    Raises
    ------
    ImportError
        If ``path`` is omitted and nrclex is not installed.
    """
    path = _nrc_lexicon_path() if path is None else Path(path)
    with open(path, encoding="utf-8") as fh:
        raw = json.load(fh)
    known = set(NRC_EMOTIONS)
    return {
        str(word).lower(): frozenset(e for e in emotions if e in known)
        for word, emotions in raw.items()
    }


def _nrc_counts(sentences, lex):
    """``(count per category of NRC_EMOTIONS, word tokens, tokens found in the lexicon)`` of some sentences."""
    counts = dict.fromkeys(NRC_EMOTIONS, 0)
    words = [word for sentence in sentences for word in _WORD_RE.findall(sentence.lower())]
    found = [lex[word] for word in words if lex.get(word)]
    for emotions in found:
        for e in emotions & counts.keys():
            counts[e] += 1
    return np.array([counts[e] for e in NRC_EMOTIONS], dtype=float), len(words), len(found)


def nrc_emotions(X, y, *, normalize="sentence", lexicon=None):
    """NRC emotion lexicon frequencies of cause vs non-cause sentences (Table 2).

    Each sentence is lowercased and split into words with the regular
    expression ``[a-z]+`` (no lemmatization, no NLTK). Every word occurrence
    found in the lexicon adds 1 to each of its categories (a word can carry
    several, e.g. "awful" is anger, disgust, fear, negative and sadness).

    Parameters
    ----------
    X : pandas.DataFrame
        Sentence-row frame.
    y : array-like of shape (n_rows,)
        0/1 cause labels.
    normalize : {"sentence", "share", "token", "count"}, default="sentence"
        How the per-group category counts are scaled:

        ``"sentence"``
            count / number of sentences in the group: the mean number of
            words of that category per sentence. Columns do not sum to 1; this
            is the reading of the paper's Table 2 whose scale it matches
            (its columns sum to about 5.1 and 3.3, so they are not shares).
        ``"share"``
            count / all category counts of the group: each column sums to 1
            (NRCLex's ``affect_frequencies``, pooled over the group).
        ``"token"``
            count / number of word tokens in the group.
        ``"count"``
            raw counts.
    lexicon : str, pathlib.Path or dict, optional
        A lexicon file (see :func:`load_nrc_lexicon`) or a ready mapping from
        word to categories. Default: the file shipped with nrclex.

    Returns
    -------
    pandas.DataFrame
        Index: the ten categories of :data:`NRC_EMOTIONS`. Columns ``cause``
        and ``non-cause`` (normalised) and ``cause_count`` and
        ``non_cause_count`` (raw counts). ``attrs`` holds ``normalize`` and
        the per-group ``sentences``, ``tokens`` and ``lexicon_tokens``
        (word occurrences found in the lexicon).

    Raises
    ------
    ImportError
        If ``lexicon`` is omitted and nrclex is not installed.
    """
    if normalize not in _NRC_NORMALIZATIONS:
        raise ValueError(
            f"normalize must be one of {_NRC_NORMALIZATIONS}, got {normalize!r}"
        )
    X, y = _validate(X, y)
    if lexicon is None or isinstance(lexicon, (str, Path)):
        lex = load_nrc_lexicon(lexicon)
    else:
        lex = {str(w).lower(): frozenset(v) for w, v in dict(lexicon).items()}

    columns, counts_cols, attrs = {}, {}, {"normalize": normalize}
    for name, group in zip(("cause", "non-cause"), _split(X, y)):
        raw, n_tokens, n_hits = _nrc_counts(group, lex)
        denom = {
            "sentence": len(group),
            "share": raw.sum(),
            "token": n_tokens,
            "count": 1,
        }[normalize]
        columns[name] = raw / denom if denom else np.full(raw.shape, np.nan)
        counts_cols[name.replace("-", "_") + "_count"] = raw.astype(int)
        attrs[name] = {"sentences": len(group), "tokens": n_tokens,
                       "lexicon_tokens": n_hits}
    out = pd.DataFrame({**columns, **counts_cols},
                       index=pd.Index(NRC_EMOTIONS, name="emotion"))
    out.attrs.update(attrs)
    return out


def plot_nrc_emotions(table, *, title=None, ax=None):
    """Grouped bar chart of a :func:`nrc_emotions` table.

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`nrc_emotions` (columns ``cause`` and ``non-cause``).
    title : str, optional
        Figure title.
    ax : matplotlib.axes.Axes, optional
        Draw here; a new figure is made when omitted.

    Returns
    -------
    matplotlib.figure.Figure
    """
    ax = _new_axes(ax, width=8.0, height=4.0)
    x = np.arange(len(table))
    width = 0.4
    ax.bar(x - width / 2, table["cause"], width, label="cause",
           color="#C44E52")
    ax.bar(x + width / 2, table["non-cause"], width, label="non-cause",
           color="#4C72B0")
    ax.set_xticks(x)
    ax.set_xticklabels(list(table.index), rotation=30, ha="right")
    norm = table.attrs.get("normalize", "")
    ylabel = {
        "sentence": "lexicon words per sentence",
        "share": "share of emotion words",
        "token": "per word token",
        "count": "count",
    }.get(norm, "frequency")
    ax.set_ylabel(ylabel)
    ax.legend()
    if title:
        ax.set_title(title)
    ax.figure.tight_layout()
    return ax.figure
