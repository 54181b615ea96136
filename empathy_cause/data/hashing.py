"""Content hashing: stable identifiers of a pair from what it says.

:func:`content_hash` is the one hash of the package (pair ids, and the
thread ids the CSV reader derives); ``_pair_hash`` is the rule for one pair,
shared by :func:`~empathy_cause.data.frame.derive_pair_ids` and
:func:`~empathy_cause.data.pairs.pairs_to_frame`.
"""

import hashlib
import json

import numpy as np

__all__ = ["content_hash"]


def content_hash(*parts):
    """Return a stable 16-hex-digit identifier of some JSON-able content.

    The parts are serialised with JSON, which quotes and escapes every
    string, so different contents never collide by concatenation (``("a b",
    "c")`` and ``("a", "b c")`` hash differently). The value depends only on
    the content: it is the same across processes, runs and machines.

    Parameters
    ----------
    *parts : JSON-serialisable objects
        Typically the post's sentences (a list of str) and the reply (str).

    Returns
    -------
    str
        The first 16 hex digits of the SHA-1 of the serialised parts.
    """
    payload = json.dumps(parts, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha1(payload.encode("utf-8")).hexdigest()[:16]


def _thread_key(thread):
    """A thread id as JSON for :func:`content_hash` (numpy scalars as Python ones, others as text)."""
    if isinstance(thread, np.generic):
        thread = thread.item()
    return thread if isinstance(thread, (str, int, float, bool)) else str(thread)


def _pair_hash(post, reply, thread=None, has_thread=False):
    """The derived id of one pair: its sentences and reply, and its thread when the data has threads."""
    sentences = [str(s) for s in post]
    if has_thread:
        return content_hash(_thread_key(thread), sentences, reply)
    return content_hash(sentences, reply)
