"""Shared by the analyses: label checks, the sentences of each row, optional imports, axes."""

from __future__ import annotations

import re

_WORD_RE = re.compile(r"[a-z]+")


_INSTALL_HINT = 'pip install "empathy_cause[analysis]"'


def _validate(X, y):
    """Check the frame and labels with the library's validator."""
    from ..data.frame import validate_frame

    if y is None:
        raise ValueError(
            "y is required: the analyses compare cause (1) and non-cause (0) "
            "sentences, so give one 0/1 label per row of X."
        )
    return validate_frame(X, y)


def _require(module, function, package):
    """Import an optional dependency or raise a clear ImportError."""
    import importlib

    try:
        # the top-level package first: a cached submodule would otherwise be
        # returned even when the package itself is blocked or gone
        importlib.import_module(module.partition(".")[0])
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"empathy_cause.analysis.{function}() needs the optional package "
            f"{package!r}, which is not installed. Install the analysis extra "
            f"with:  {_INSTALL_HINT}  (or: pip install {package})"
        ) from exc


def _row_sentences(X):
    """The sentence each row is about: ``post[sentence_index]``."""
    posts = X["post"].to_numpy()
    idx = X["sentence_index"].to_numpy()
    return [str(p[int(i)]) for p, i in zip(posts, idx)]


def _split(X, y):
    """Cause and non-cause sentences, one entry per row."""
    sentences = _row_sentences(X)
    cause = [s for s, lab in zip(sentences, y) if lab == 1]
    other = [s for s, lab in zip(sentences, y) if lab != 1]
    return cause, other


def _count_vectorizer(ngram, stop_words):
    from sklearn.feature_extraction.text import CountVectorizer

    return CountVectorizer(
        lowercase=True, stop_words=stop_words, ngram_range=(ngram, ngram)
    )


def _new_axes(ax, width=6.0, height=4.0):
    if ax is not None:
        return ax
    from matplotlib.figure import Figure

    # A bare Figure (no pyplot): nothing global changes, no GUI backend is
    # touched, and savefig renders with Agg.
    fig = Figure(figsize=(width, height), dpi=100)
    return fig.add_subplot()
