"""The sentence-row frame: the data contract of every estimator (columns, pair ids, validation).

One sample is one post sentence seen in the context of its pair: each row of
``X`` carries the whole post (a tuple of sentences), the reply, and the
position of the sentence it scores. ``y`` holds one 0/1 label per row.

=================  ========  ==================================================
column             required  meaning
=================  ========  ==================================================
``post``           yes       all sentences of the post, a tuple of str
``reply``          yes       the reply's text, str
``sentence_index`` yes       0-based position of the row's sentence in ``post``
``pair_id``        no        the pair; derived from the content when absent
``thread_id``      no        the conversation; falls back to ``pair_id``
=================  ========  ==================================================

Content hashing is in :mod:`empathy_cause.data.hashing`; turning pairs into
this frame and back in :mod:`empathy_cause.data.pairs`.
"""

import math
import numbers

import numpy as np
import pandas as pd

from .hashing import _pair_hash, _thread_key
from .sentences import is_blank

__all__ = [
    "POST",
    "REPLY",
    "SENTENCE_INDEX",
    "PAIR_ID",
    "THREAD_ID",
    "REQUIRED_COLUMNS",
    "LABELS",
    "derive_pair_ids",
    "check_pair_threads",
    "validate_frame",
]

POST = "post"
REPLY = "reply"
SENTENCE_INDEX = "sentence_index"
PAIR_ID = "pair_id"
THREAD_ID = "thread_id"
REQUIRED_COLUMNS = (POST, REPLY, SENTENCE_INDEX)
#: Name of the per-pair label list in the pair layout (``frame_to_pairs``).
LABELS = "labels"

_FRAME_COLUMNS = (POST, REPLY, SENTENCE_INDEX, PAIR_ID, THREAD_ID)
# Names metadata may not take: frame_to_pairs writes them too.
_RESERVED = _FRAME_COLUMNS + (LABELS,)


# --------------------------------------------------------------------------
# Pair ids
# --------------------------------------------------------------------------


def derive_pair_ids(X):
    """Derive a pair id for every row of a sentence-row frame from its content.

    Rows with the same post sentences and the same reply get the same id
    (``content_hash(list(post), reply)``); when ``X`` has a ``thread_id``
    column the thread is part of the content
    (``content_hash(thread_id, list(post), reply)``), so the same post and
    reply in two threads are two pairs. Each distinct (post object, reply,
    thread) combination is hashed once, so frames whose rows share their
    post tuple are processed quickly.

    Parameters
    ----------
    X : pandas.DataFrame
        A frame with ``post`` and ``reply`` columns, optionally ``thread_id``.

    Returns
    -------
    numpy.ndarray of object
        One str id per row.
    """
    posts = X[POST].to_numpy(dtype=object)
    replies = X[REPLY].to_numpy(dtype=object)
    has_thread = THREAD_ID in X.columns
    threads = X[THREAD_ID].to_numpy(dtype=object) if has_thread else np.full(len(posts), None, dtype=object)
    cache = {}
    ids = np.empty(len(posts), dtype=object)
    for row, (post, reply, thread) in enumerate(zip(posts, replies, threads)):
        # id() is safe as a key: ``posts`` holds a reference to every object
        # for as long as the cache lives.
        key = (id(post), reply, _thread_key(thread))
        if key not in cache:
            cache[key] = _pair_hash(post, reply, thread, has_thread)
        ids[row] = cache[key]
    return ids


# --------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------


def _object_array(values):
    """Build a 1-D object array without numpy unpacking nested sequences."""
    values = list(values)
    array = np.empty(len(values), dtype=object)
    for i, value in enumerate(values):
        array[i] = value
    return array


def _is_missing(value):
    return value is None or value is pd.NA or (
        isinstance(value, float) and np.isnan(value)
    )


def _invisible_note(text):
    """How an error names a blank text that is not plain whitespace (it holds invisible characters)."""
    if not text.strip():
        return ""
    return f" (it holds only invisible characters: {text[:8]!r})"


def _check_post(post, where):
    """Return ``post`` as a tuple of str, or raise naming ``where``."""
    if isinstance(post, str):
        raise TypeError(
            f"{where}: the post is a plain str; it must be the post's "
            "sentences, a tuple/list of str. Split the text with "
            "empathy_cause.data.split_sentences, or build the frame from "
            "pairs with empathy_cause.data.pairs_to_frame."
        )
    if not isinstance(post, (list, tuple, np.ndarray)):
        raise TypeError(
            f"{where}: the post must be a non-empty tuple/list of sentence "
            f"strings, got {type(post).__name__}."
        )
    if len(post) == 0:
        raise ValueError(f"{where}: the post has no sentences.")
    for k, sentence in enumerate(post):
        if not isinstance(sentence, str):
            raise TypeError(
                f"{where}: sentence {k} of the post is "
                f"{type(sentence).__name__}, not str."
            )
        if is_blank(sentence):
            raise ValueError(f"{where}: sentence {k} of the post is empty{_invisible_note(sentence)}.")
    if type(post) is tuple and all(type(s) is str for s in post):
        return post
    return tuple(str(s) for s in post)


def _check_reply(reply, where):
    if _is_missing(reply):
        raise ValueError(f"{where}: the reply is missing ({reply!r}).")
    if not isinstance(reply, str):
        raise TypeError(
            f"{where}: the reply must be a str, got {type(reply).__name__}."
        )
    if is_blank(reply):
        raise ValueError(f"{where}: the reply is empty{_invisible_note(reply)}.")


def _check_posts(column):
    """Check every distinct post object once; return the tuples and lengths."""
    posts = column.to_numpy(dtype=object)
    checked = {}  # id(post object) -> tuple; ``posts`` keeps the objects alive
    tuples = np.empty(len(posts), dtype=object)
    lengths = np.empty(len(posts), dtype=np.int64)
    changed = False
    for row, post in enumerate(posts):
        converted = checked.get(id(post))
        if converted is None:
            converted = _check_post(post, f"row {row}")
            checked[id(post)] = converted
        changed = changed or converted is not post
        tuples[row] = converted
        lengths[row] = len(converted)
    return tuples, lengths, changed


def _check_sentence_index(column, lengths):
    """Return ``sentence_index`` as int64, checked against the post lengths."""
    values = column.to_numpy()
    if values.dtype.kind in "iu":
        index = values.astype(np.int64)
    elif values.dtype.kind in "fO":
        # Floats (a merge with missing rows makes ints float) and objects
        # (nullable Int64, mixed): integral values only.
        index = np.empty(len(values), dtype=np.int64)
        for row, value in enumerate(values):
            if _is_missing(value):
                raise ValueError(f"row {row}: '{SENTENCE_INDEX}' is missing.")
            if isinstance(value, (bool, np.bool_)) or not isinstance(
                    value, numbers.Real) or not (
                        isinstance(value, numbers.Integral)
                        or math.isfinite(value)) or value != int(value):
                raise TypeError(
                    f"row {row}: '{SENTENCE_INDEX}' must be an integer, "
                    f"got {value!r}."
                )
            if not -2**63 <= value < 2**63:
                raise ValueError(
                    f"row {row}: '{SENTENCE_INDEX}' {value!r} is out of range."
                )
            index[row] = int(value)
    else:
        raise TypeError(
            f"'{SENTENCE_INDEX}' must hold integers, got dtype {column.dtype}."
        )
    bad = np.flatnonzero((index < 0) | (index >= lengths))
    if bad.size:
        row = bad[0]
        raise ValueError(
            f"row {row}: '{SENTENCE_INDEX}' {index[row]} is out of range for "
            f"a post of {lengths[row]} sentences (valid: 0 to "
            f"{lengths[row] - 1})."
        )
    return index


def _check_ids(column, name, where=lambda i: f"row {i}"):
    missing = column.isna().to_numpy()
    if missing.any():
        raise ValueError(
            f"{where(np.flatnonzero(missing)[0])}: '{name}' is missing."
        )


def _check_duplicate_pairs(per_pair, label_arrays, where):
    """Pairs that share a pair id must be the same pair: one thread, one post and reply, the same labels.

    ``per_pair`` has one row per pair (``where(i)`` names pair i); a repeated
    pair that agrees in everything is a harmless duplicate.
    """
    ids = per_pair[PAIR_ID].to_numpy(dtype=object)
    codes = pd.factorize(ids)[0]
    first = _first_of(codes)
    posts, replies = per_pair[POST].to_numpy(dtype=object), per_pair[REPLY].to_numpy(dtype=object)
    threads = per_pair[THREAD_ID].to_numpy(dtype=object) if THREAD_ID in per_pair.columns else None
    for i in np.flatnonzero(first != np.arange(len(ids))):
        j = first[i]
        both = f"{where(j)} and {where(i)}"
        if threads is not None and threads[i] != threads[j]:
            raise ValueError(f"{both}: pair id {ids[i]!r} is in two threads ({threads[j]!r} and {threads[i]!r}); "
                             "a pair belongs to one thread, so give each pair its own id.")
        if posts[i] != posts[j] or replies[i] != replies[j]:
            raise ValueError(f"{both}: pair id {ids[i]!r} names two different pairs (their post or reply "
                             "differs); give each pair its own id.")
        if label_arrays is not None and not np.array_equal(label_arrays[i], label_arrays[j]):
            raise ValueError(f"{both}: the same pair (pair id {ids[i]!r}) has different labels "
                             f"({label_arrays[j].tolist()} and {label_arrays[i].tolist()}); drop or fix one.")


def _as_1d(y, n_rows, name="y"):
    """Return ``y`` as a 1-D array of ``n_rows`` entries."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(
            f"{name} must be 1-D (one value per row of X), got shape "
            f"{y.shape}."
        )
    if len(y) != n_rows:
        raise ValueError(
            f"{name} has {len(y)} entries but X has {n_rows} rows; give one "
            "value per row (per post sentence)."
        )
    return y


def _check_binary(y, name="y"):
    """Return ``y`` (1-D) as int64, raising when a value is not 0 or 1."""
    if y.dtype.kind in "biuf":
        ok = np.isin(y, (0, 1))  # NaN is not in (0, 1)
    else:
        ok = np.array([
            isinstance(v, (numbers.Real, np.bool_)) and not _is_missing(v)
            and v in (0, 1) for v in y.tolist()
        ], dtype=bool)
    if not ok.all():
        row = np.flatnonzero(~ok)[0]
        value = y.tolist()[row]
        # Labels read as text ('0'/'1') are the usual cause: say so, and how to convert.
        hint = (" (text, not a number: convert the labels with y.astype(int))"
                if isinstance(value, str) and value.strip() in ("0", "1") else "")
        raise ValueError(
            f"{name} must hold 0/1 labels (1 = cause of empathy); entry "
            f"{row} is {value!r}{hint}."
        )
    return y.astype(np.int64)


def validate_frame(X, y=None):
    """Check a sentence-row frame and return a clean copy of it.

    Parameters
    ----------
    X : pandas.DataFrame
        One row per post sentence with at least the columns ``post`` (the
        post's sentences: tuple, list or array of str), ``reply`` (str) and
        ``sentence_index`` (int). Optional ``pair_id`` and ``thread_id``;
        any other column is kept unchanged.
    y : array-like of shape (n_rows,), optional
        0/1 labels, one per row.

    Returns
    -------
    X : pandas.DataFrame
        A new frame (the input is never modified) with a fresh RangeIndex,
        ``post`` values as tuples of str (rows that shared a post object
        still share one tuple), ``sentence_index`` as int64, and both
        ``pair_id`` (derived from the content when absent, see
        :func:`derive_pair_ids`) and ``thread_id`` (a copy of ``pair_id``
        when absent).
    y : numpy.ndarray of int64 or None
        The labels, or None when ``y`` is None.

    Raises
    ------
    TypeError, ValueError
        With a message naming the problem and the first offending row
        position (0-based, counted in ``X``'s current order).
    """
    if not isinstance(X, pd.DataFrame):
        # pairs_to_frame returns (X, y): passing its result whole is the usual mistake.
        hint = ("pairs_to_frame returns a tuple (X, y): unpack it, "
                "X, y = pairs_to_frame(pairs), and pass X."
                if isinstance(X, tuple) and len(X) == 2
                and isinstance(X[0], pd.DataFrame) else
                "Build one from post-reply pairs with "
                "empathy_cause.data.pairs_to_frame (it returns X, y).")
        raise TypeError(
            "X must be a pandas DataFrame with one row per post sentence "
            f"(columns {', '.join(REQUIRED_COLUMNS)}), got "
            f"{type(X).__name__}. {hint}"
        )
    missing = [c for c in REQUIRED_COLUMNS if c not in X.columns]
    if missing:
        raise ValueError(
            f"X is missing the required column(s) {missing}; it has "
            f"{list(X.columns)}. Build the frame with "
            "empathy_cause.data.pairs_to_frame."
        )
    if len(X) == 0:
        raise ValueError("X is empty: it has no rows.")

    posts, lengths, posts_changed = _check_posts(X[POST])
    for row, reply in enumerate(X[REPLY].to_numpy(dtype=object)):
        _check_reply(reply, f"row {row}")
    index = _check_sentence_index(X[SENTENCE_INDEX], lengths)
    if y is not None:
        y = _check_binary(_as_1d(y, len(X)))

    out = X.reset_index(drop=True)  # a new frame; X itself is untouched
    if posts_changed or out[POST].dtype != object:
        out[POST] = posts
    out[SENTENCE_INDEX] = index
    if PAIR_ID in out.columns:
        _check_ids(out[PAIR_ID], PAIR_ID)
    else:
        out[PAIR_ID] = derive_pair_ids(out)
    if THREAD_ID in out.columns:
        _check_ids(out[THREAD_ID], THREAD_ID)
    else:
        out[THREAD_ID] = out[PAIR_ID]
    check_pair_threads(out)
    if y is not None:
        _check_sentence_labels(out[PAIR_ID].to_numpy(), index, y)
    return out, y


def _first_of(codes):
    """For factorized ``codes`` (0..k-1 in order of first appearance): each row's code's first row."""
    first = np.unique(codes, return_index=True)[1]
    return first[codes]


def _first_conflict(codes, values):
    """``(first row, row)`` of the first row whose value differs from its code's first row's, or None."""
    first = _first_of(codes)
    bad = np.flatnonzero(values != values[first])
    return (int(first[bad[0]]), int(bad[0])) if bad.size else None


def check_pair_threads(X, thread_column=THREAD_ID):
    """Refuse a frame in which one ``pair_id`` appears under several thread ids (``thread_column``).

    A pair belongs to one conversation; group-aware splitters (by thread)
    would otherwise put its rows on both sides of a split.

    Raises
    ------
    ValueError
        Naming the first two rows (0-based positions) that disagree.
    """
    if PAIR_ID not in X.columns or thread_column not in X.columns or len(X) == 0:
        return
    pairs, threads = X[PAIR_ID].to_numpy(dtype=object), X[thread_column].to_numpy(dtype=object)
    conflict = _first_conflict(pd.factorize(pairs)[0], pd.factorize(threads)[0])
    if conflict:
        first, row = conflict
        raise ValueError(
            f"rows {first} and {row}: pair id {pairs[row]!r} is in two threads "
            f"({threads[first]!r} and {threads[row]!r}); a pair belongs to one thread, so give the "
            "pairs their own pair_id (or drop the pair_id column to derive ids that include the thread)."
        )


def _check_sentence_labels(pair_ids, sentence_index, y):
    """Refuse rows of the same (pair_id, sentence_index) with different labels (duplicates that agree are fine)."""
    pair_codes = pd.factorize(pair_ids)[0].astype(np.int64)
    keys = pd.factorize(pair_codes * (int(sentence_index.max()) + 1) + sentence_index)[0]
    if len(np.unique(keys)) == len(keys):
        return
    conflict = _first_conflict(keys, y)
    if conflict:
        first, row = conflict
        raise ValueError(
            f"rows {first} and {row}: the same sentence (pair id {pair_ids[row]!r}, sentence_index "
            f"{sentence_index[row]}) has labels {y[first]} and {y[row]}; a sentence has one label, "
            "so drop or fix the contradicting row."
        )
