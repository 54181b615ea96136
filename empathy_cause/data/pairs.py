"""Pairs <-> the sentence-row frame: :func:`pairs_to_frame` and :func:`frame_to_pairs`.

A pair (one post, one reply, one 0/1 label per post sentence, any metadata)
becomes one row per post sentence (the layout of :mod:`empathy_cause.data.frame`),
and back. The loaders build their frames through ``_pairs_to_frame``.
"""

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from .frame import (
    _FRAME_COLUMNS,
    _RESERVED,
    LABELS,
    PAIR_ID,
    POST,
    REPLY,
    SENTENCE_INDEX,
    THREAD_ID,
    _as_1d,
    _check_binary,
    _check_duplicate_pairs,
    _check_ids,
    _check_post,
    _check_reply,
    _is_missing,
    _object_array,
    validate_frame,
)
from .hashing import _pair_hash
from .literals import READ_CSV_FIX, is_list_literal
from .sentences import split_sentences

__all__ = ["pairs_to_frame", "frame_to_pairs"]


def _pair_table(pairs):
    """Return the pairs as a DataFrame with a RangeIndex (dicts -> rows)."""
    if isinstance(pairs, pd.DataFrame):
        return pairs.reset_index(drop=True)
    if isinstance(pairs, (str, bytes, Mapping)) or not isinstance(
            pairs, Iterable):
        raise TypeError(
            "pairs must be a DataFrame with one row per post-reply pair or "
            f"an iterable of dicts, got {type(pairs).__name__}."
        )
    records = list(pairs)
    keys = {}  # union of the keys, in order of first appearance
    for i, record in enumerate(records):
        if not isinstance(record, Mapping):
            raise TypeError(
                f"pair {i}: expected a dict, got {type(record).__name__}."
            )
        keys.update(dict.fromkeys(record))
    return pd.DataFrame.from_records(records, columns=list(keys))


def _pair_labels(labels, n_sentences, where):
    """Return one pair's labels as int64, checked against its post."""
    if isinstance(labels, str) and is_list_literal(labels):
        raise TypeError(f"{where}: the labels are the text of a list ({labels[:40]!r}), not a list; "
                        f"{READ_CSV_FIX}.")
    if isinstance(labels, (str, bytes)) or not isinstance(
            labels, (list, tuple, np.ndarray)):
        if _is_missing(labels):
            raise ValueError(f"{where}: the labels are missing.")
        raise TypeError(
            f"{where}: labels must be a list of 0/1, one per post sentence, "
            f"got {type(labels).__name__}."
        )
    if any(isinstance(v, (list, tuple, np.ndarray)) for v in labels):
        raise ValueError(
            f"{where}: labels must be a flat list of 0/1, one per post "
            f"sentence (e.g. [1, 0]), got a nested list "
            f"{np.asarray(labels, dtype=object).tolist()!r}."
        )
    labels = np.asarray(labels)
    if len(labels) != n_sentences:
        raise ValueError(
            f"{where}: {labels.size} labels for {n_sentences} post "
            "sentences; give exactly one 0/1 label per sentence."
        )
    return _check_binary(labels, name=f"{where}: labels")


def _pairs_to_frame(pairs, *, post, reply, labels, pair_id, thread_id,
                    where=lambda i: f"pair {i}"):
    """Core of :func:`pairs_to_frame`.

    ``where(i)`` names the i-th pair in error messages; loaders pass one
    that names the line of their file instead.
    """
    table = _pair_table(pairs)
    if len(table) == 0:
        raise ValueError("pairs is empty: there is no post-reply pair.")
    for required in (post, reply):
        if required not in table.columns:
            raise ValueError(
                f"the pairs have no '{required}' column/key; they have "
                f"{list(table.columns)}."
            )
    mapped = {post: POST, reply: REPLY, pair_id: PAIR_ID,
              thread_id: THREAD_ID, labels: LABELS}
    metadata = [c for c in table.columns if c not in mapped]
    clashes = [c for c in metadata if c in _RESERVED]
    if clashes:
        raise ValueError(
            f"the pairs have column(s) {clashes} besides the ones mapped to "
            f"{list(_RESERVED)}; rename them so no metadata is overwritten."
        )
    has_pair_id = pair_id in table.columns
    has_labels = labels in table.columns

    posts, label_arrays = [], []
    replies = table[reply].to_numpy(dtype=object)
    given_ids = table[pair_id].to_numpy(dtype=object) if has_pair_id else None
    label_column = table[labels].to_numpy(dtype=object) if has_labels else None
    for i, text in enumerate(table[post].to_numpy(dtype=object)):
        desc = where(i)
        if has_pair_id:
            desc = f"{desc} (pair id {given_ids[i]!r})"
        if is_list_literal(text):  # read_csv's text of a list: never split it as a post
            raise ValueError(f"{desc}: the post is the text of a Python list ({text[:40]!r}...), not a "
                             f"list; {READ_CSV_FIX}.")
        if isinstance(text, str):
            sentences = split_sentences(text)
            if not sentences:
                raise ValueError(f"{desc}: the post has no text.")
        else:
            sentences = text
        sentences = _check_post(sentences, desc)
        _check_reply(replies[i], desc)
        posts.append(sentences)
        if has_labels:
            label_arrays.append(
                _pair_labels(label_column[i], len(sentences), desc))

    # One row per pair, then repeated once per sentence: ``take`` keeps the
    # metadata dtypes and shares each post tuple between the rows of a pair.
    per_pair = pd.DataFrame({POST: _object_array(posts), REPLY: table[reply]})
    has_thread = thread_id in table.columns
    if has_pair_id:
        per_pair[PAIR_ID] = table[pair_id]
    else:
        threads = table[thread_id].to_numpy(dtype=object) if has_thread else [None] * len(posts)
        per_pair[PAIR_ID] = [_pair_hash(p, r, t, has_thread) for p, r, t in zip(posts, replies, threads)]
    if has_thread:
        _check_ids(table[thread_id], thread_id, where)
        per_pair[THREAD_ID] = table[thread_id]
    _check_ids(per_pair[PAIR_ID], pair_id, where)
    _check_duplicate_pairs(per_pair, label_arrays if has_labels else None, where)
    per_pair = pd.concat([per_pair, table[metadata]], axis=1)

    counts = np.fromiter(map(len, posts), dtype=np.int64, count=len(posts))
    X = per_pair.take(np.repeat(np.arange(len(posts)), counts))
    X = X.reset_index(drop=True)
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    X.insert(2, SENTENCE_INDEX, np.arange(counts.sum()) - starts)
    y = np.concatenate(label_arrays) if has_labels else None
    return X, y


def pairs_to_frame(pairs, *, post="post", reply="reply", labels="labels",
                   pair_id="pair_id", thread_id="thread_id"):
    """Turn post-reply pairs into the sentence-row frame and its labels.

    Parameters
    ----------
    pairs : pandas.DataFrame or iterable of dict
        One row (or dict) per post-reply pair. The post is either a str,
        split with :func:`~empathy_cause.data.split_sentences`, or a sequence
        of sentences used as is.
    post, reply : str, default "post", "reply"
        Names of the post and reply columns/keys.
    labels : str, default "labels"
        Name of the column/key holding one 0/1 label per post sentence. When
        the pairs have no such column, the returned ``y`` is None.
    pair_id : str, default "pair_id"
        Name of the pair id column; when absent, ids are derived from the
        content (:func:`content_hash` of the sentences and the reply).
    thread_id : str, default "thread_id"
        Name of the thread id column, copied when present.

    Returns
    -------
    X : pandas.DataFrame
        One row per post sentence with columns ``post`` (a tuple shared by
        the rows of a pair), ``reply``, ``sentence_index``, ``pair_id``,
        ``thread_id`` (when given) and every other column/key of the pairs
        as metadata, repeated on each row of the pair. ``X`` passes
        :func:`validate_frame`.
    y : numpy.ndarray of int64 or None
        The labels, one per row, or None.

    Raises
    ------
    TypeError, ValueError
        For a bad post, reply or labels (e.g. a label count that does not
        match the sentence count), naming the pair's position and id.

    See Also
    --------
    frame_to_pairs : the reverse.
    """
    return _pairs_to_frame(pairs, post=post, reply=reply, labels=labels,
                           pair_id=pair_id, thread_id=thread_id)


def frame_to_pairs(X, y=None):
    """Collapse a sentence-row frame back into one row per pair.

    Parameters
    ----------
    X : pandas.DataFrame
        A sentence-row frame (see :func:`validate_frame`); its rows may be
        in any order and a pair may miss some sentences.
    y : array-like of shape (n_rows,), optional
        Labels or predictions, one per row of ``X``.

    Returns
    -------
    pandas.DataFrame
        One row per pair in order of first appearance, with columns
        ``pair_id``, ``thread_id`` (when ``X`` has one), ``post`` (list of
        str), ``reply``, the metadata columns (values from the pair's first
        row) and, when ``y`` is given, ``labels``: a list with one entry per
        post sentence, None for sentences that have no row in ``X``. When a
        sentence has several rows, its first row's value is used.
    """
    has_thread = isinstance(X, pd.DataFrame) and THREAD_ID in X.columns
    X, _ = validate_frame(X)
    if y is not None:
        y = _as_1d(y, len(X)).tolist()
    first = ~X[PAIR_ID].duplicated().to_numpy()
    columns = [PAIR_ID] + [THREAD_ID] * has_thread + [POST, REPLY]
    metadata = [c for c in X.columns if c not in _FRAME_COLUMNS]
    pairs = X.loc[first, columns + metadata].reset_index(drop=True)
    position = {pid: i for i, pid in enumerate(pairs[PAIR_ID])}
    posts = pairs[POST].tolist()
    lists = [[None] * len(p) for p in posts]
    values = [None] * len(X) if y is None else y
    rows = zip(X[PAIR_ID], X[POST], X[SENTENCE_INDEX], values)
    for row, (pid, post, k, value) in enumerate(rows):
        i = position[pid]
        if post is not posts[i] and post != posts[i]:
            raise ValueError(
                f"row {row}: pair id {pid!r} is also used by an earlier row "
                "with a different post; pair ids must identify one pair."
            )
        if lists[i][k] is None:
            lists[i][k] = value
    pairs[POST] = _object_array(list(p) for p in posts)
    if y is not None:
        pairs[LABELS] = _object_array(lists)
    return pairs
