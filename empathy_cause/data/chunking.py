"""Chunks of whole pairs: the one chunk-size default and check, and runs of rows of one pair.

The CSV reader (:func:`~empathy_cause.data.iter_acnempathize_cause`), the
streaming predict (:mod:`empathy_cause.prediction.streaming`) and the CLI's
``--chunk-pairs`` share these, and the estimators' batching
(:mod:`empathy_cause.network.batching`) counts pairs with :func:`run_ranks` too.
"""

from __future__ import annotations

import numpy as np

__all__ = ["DEFAULT_CHUNK_PAIRS", "check_chunk_pairs", "run_ranks"]

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
