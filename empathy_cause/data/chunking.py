"""Chunks of whole pairs: the one chunk-size default and check, cutting a frame, and runs of rows of one pair.

The CSV reader (:func:`~empathy_cause.data.iter_acnempathize_cause`), the
streaming predict (:mod:`empathy_cause.prediction.streaming`) and the CLI's
``--chunk-pairs`` share these, and the estimators' batching
(:mod:`empathy_cause.network.batching`) counts pairs with :func:`run_ranks` too.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .frame import PAIR_ID, derive_pair_ids

__all__ = ["DEFAULT_CHUNK_PAIRS", "check_chunk_pairs", "iter_frame_chunks", "run_ranks"]

#: Pairs per chunk when reading or predicting in constant memory.
DEFAULT_CHUNK_PAIRS = 2000


def check_chunk_pairs(chunk_pairs) -> None:
    """Raise ``ValueError`` unless ``chunk_pairs`` is a positive int."""
    if not isinstance(chunk_pairs, (int, np.integer)) or isinstance(chunk_pairs, bool) or chunk_pairs < 1:
        raise ValueError(f"chunk_pairs must be a positive int, got {chunk_pairs!r}")


def run_ranks(codes: np.ndarray) -> np.ndarray:
    """0-based rank of each run of equal consecutive values (the rows of one pair form a run)."""
    codes = np.asarray(codes)
    if len(codes) == 0:
        return np.zeros(0, dtype=np.int64)
    return np.cumsum(np.r_[True, codes[1:] != codes[:-1]]) - 1


def iter_frame_chunks(X: pd.DataFrame, y=None, *, chunk_pairs: int = DEFAULT_CHUNK_PAIRS):
    """Cut a sentence-row frame into consecutive chunks of ``chunk_pairs`` whole pairs.

    A chunk never ends inside a run of rows of one pair. The rows of a pair
    should be contiguous, as every loader writes them; if they are not, a
    pair may span chunks, which is still correct, only slower.

    Parameters
    ----------
    X : pandas.DataFrame
        The sentence-row frame (``pair_id`` derived from the content when absent).
    y : array-like of shape (n_rows,), optional
    chunk_pairs : int, default=2000

    Yields
    ------
    X_chunk : pandas.DataFrame
        Consecutive rows of ``X`` (its index kept).
    y_chunk : numpy.ndarray or None
    """
    check_chunk_pairs(chunk_pairs)
    if not isinstance(X, pd.DataFrame):
        raise TypeError(f"X must be a pandas DataFrame (the sentence-row frame), got {type(X).__name__}")
    if y is not None:
        y = np.asarray(y)
        if len(y) != len(X):
            raise ValueError(f"y has {len(y)} entries but X has {len(X)} rows")
    pair_ids = X[PAIR_ID].to_numpy() if PAIR_ID in X.columns else derive_pair_ids(X)
    codes = pd.factorize(pair_ids)[0]
    chunk_of = run_ranks(codes) // chunk_pairs
    bounds = np.flatnonzero(np.r_[True, chunk_of[1:] != chunk_of[:-1], True])
    for start, end in zip(bounds[:-1], bounds[1:], strict=True):
        yield X.iloc[start:end], None if y is None else y[start:end]
