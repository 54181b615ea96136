"""Prediction in constant memory: any number of rows, a chunk of whole pairs at a time.

``predict_proba`` holds its whole input, the vectors of every distinct
sentence in it and all outputs at once. For inputs that do not fit, predict
chunk by chunk: :func:`iter_predict_proba` takes a big frame (cut into chunks
of ``chunk_pairs`` whole pairs) or any iterable of frames,
such as :func:`~empathy_cause.data.iter_acnempathize_cause` reading a CSV
file in chunks, and yields one probability array per chunk. Memory then
depends on the chunk size, not on the input size (the process-wide
sentence-vector cache has its own bound: see
:func:`~empathy_cause.encoders.encoding.set_embedding_cache_size`).

Every row carries its whole post and reply (see ``docs/data.md``), so a row's
probability does not depend on which other rows share its chunk; chunks end
at pair boundaries only so that the sentences of one pair are encoded once.

Example::

    from empathy_cause import EmpathyCauseClassifier, iter_acnempathize_cause, iter_predict_proba

    model = EmpathyCauseClassifier.load("model")
    chunks = iter_acnempathize_cause("big.csv", labels_column=None, chunk_pairs=2000)
    frames = (X for X, _, _ in chunks)
    for proba in iter_predict_proba(model, frames):
        ...  # write proba[:, 1] out, then forget it
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
import pandas as pd

from ..data.chunking import DEFAULT_CHUNK_PAIRS, check_chunk_pairs, run_ranks
from ..data.frame import PAIR_ID, derive_pair_ids

__all__ = ["iter_frame_chunks", "iter_predict_proba", "prediction_table"]


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


def iter_predict_proba(model, X, *, chunk_pairs: int = DEFAULT_CHUNK_PAIRS) -> Iterator[np.ndarray]:
    """``model.predict_proba`` chunk by chunk, in memory bounded by the chunk size.

    Parameters
    ----------
    model : fitted estimator
        Any estimator with ``predict_proba`` on the sentence-row frame, e.g.
        :class:`~empathy_cause.EmpathyCauseClassifier`.
    X : pandas.DataFrame or iterable of pandas.DataFrame
        A frame, cut into chunks of ``chunk_pairs`` whole pairs
        (:func:`iter_frame_chunks`), or an iterable of frames
        (each one chunk, e.g. from
        :func:`~empathy_cause.data.iter_acnempathize_cause`), consumed lazily.
    chunk_pairs : int, default=2000
        Pairs per chunk when ``X`` is one frame.

    Yields
    ------
    numpy.ndarray of shape (n_chunk_rows, 2)
        ``predict_proba`` of each chunk, in order; concatenated they equal
        ``model.predict_proba`` of all rows (up to float rounding).
    """
    check_chunk_pairs(chunk_pairs)
    if isinstance(X, pd.DataFrame):
        frames: Iterable = (chunk for chunk, _ in iter_frame_chunks(X, chunk_pairs=chunk_pairs))
    elif isinstance(X, Iterable) and not isinstance(X, (str, bytes)):
        frames = X
    else:
        raise TypeError(f"X must be a DataFrame or an iterable of DataFrames, got {type(X).__name__}")
    for frame in frames:
        yield model.predict_proba(frame)



def prediction_table(X: pd.DataFrame, proba, threshold: float) -> pd.DataFrame:
    """The table ``empathy-cause predict`` writes for rows ``X`` and their cause probabilities.

    Columns ``pair_id`` (None when X has none), ``sentence_index``, ``sentence``
    (the row's post sentence), ``probability`` and ``prediction``
    (``probability >= threshold``); X's index is kept.
    """
    proba = np.asarray(proba)
    return pd.DataFrame({
        "pair_id": X[PAIR_ID].to_numpy() if PAIR_ID in X else None,
        "sentence_index": X["sentence_index"].to_numpy(),
        "sentence": [post[i] for post, i in zip(X["post"], X["sentence_index"], strict=True)],
        "probability": proba,
        "prediction": (proba >= threshold).astype(int),
    }, index=X.index)
