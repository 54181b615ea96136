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

from ..data.chunking import DEFAULT_CHUNK_PAIRS, check_chunk_pairs, iter_frame_chunks

__all__ = ["iter_frame_chunks", "iter_predict_proba"]


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
