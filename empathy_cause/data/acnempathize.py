"""Loader for the AcnEmpathize-Cause CSV layout (the paper's dataset), a case of the CSV pairs file.

The paper stores one row per post-reply pair: the post's sentences and their
0/1 labels as Python list literals (``"['I hate my skin.', 'It hurts.']"``,
``"[0, 1]"``), the reply, and metadata such as URLs, titles and user ids. The
reading itself is :mod:`empathy_cause.data.tables`'; these two functions keep the
loader's own names and keyword arguments.
"""

from .chunking import DEFAULT_CHUNK_PAIRS
from .tables import csv_columns, iter_table

__all__ = ["load_acnempathize_cause", "iter_acnempathize_cause", "csv_columns"]


def _columns(post_column, reply_column, labels_column, thread_column, pair_column):
    """The loader's keyword arguments as a ``columns`` mapping (a default left to the file reader's defaults)."""
    given = {"post": post_column, "reply": reply_column, "labels": labels_column, "thread_id": thread_column,
             "pair_id": pair_column}
    defaults = {"post": "post_sentences", "reply": "reply", "labels": "labels", "thread_id": "thread_id",
                "pair_id": "pair_id"}
    return {role: column for role, column in given.items() if column != defaults[role]}


def load_acnempathize_cause(path, *, post_column="post_sentences", reply_column="reply", labels_column="labels",
                            thread_column="thread_id", pair_column="pair_id"):
    """Load AcnEmpathize-Cause pairs from the paper's CSV layout.

    Parameters
    ----------
    path : str, path-like or file-like
        The CSV file, one row per post-reply pair.
    post_column : str, default "post_sentences"
        The column holding the post: its sentences as a list literal, or its
        raw text (split with :func:`~empathy_cause.data.split_sentences`).
        With the default, a file without ``post_sentences`` but with ``post``
        uses that.
    reply_column : str, default "reply"
        The column holding the reply text.
    labels_column : str or None, default "labels"
        The column holding the 0/1 labels as a list literal, one per post
        sentence. A file without it reads unlabelled (``y`` is None); None
        reads a file unlabelled even when it has the column.
    thread_column : str or None, default "thread_id"
        The thread id column. When it is None or absent from the file, pairs
        that share the same post share a thread, with an id derived from the
        post's content.
    pair_column : str or None, default "pair_id"
        The pair id column; when it is None or absent from the file, pair
        ids are derived from the content.

    Returns
    -------
    X : pandas.DataFrame
        The sentence-row frame. Every other CSV column (URLs, titles, user
        ids, ...) is kept as metadata; one whose name is a frame column
        (say ``post``) is kept as ``<name>_original``. Ids are the text the
        file holds (``007`` stays ``007``).
    y : numpy.ndarray of int64 or None
        The labels, one per row.
    groups : numpy.ndarray
        The thread id of each row.

    Raises
    ------
    ValueError
        Naming the file and, where it can, the line: for a file that is not
        UTF-8 or not CSV, an empty file, missing columns, unparsable list
        literals and label counts that differ from sentence counts.

    Notes
    -----
    A CSV holds text, and every column is read as the text the file holds
    (ids and metadata alike: no type guessing, so reading in chunks gives the
    same values; convert a metadata column with ``pandas.to_numeric`` as you
    need); only empty fields are missing values: "NA" or "null" in a reply or
    a title stays a string. Any CSV, TSV, JSON Lines or Parquet file of pairs
    reads the same way through :func:`~empathy_cause.data.load_dataset`.
    """
    columns = _columns(post_column, reply_column, labels_column, thread_column, pair_column)
    return next(iter_table(path, "csv", columns=columns))


def iter_acnempathize_cause(path, *, chunk_pairs=DEFAULT_CHUNK_PAIRS, post_column="post_sentences",
                            reply_column="reply", labels_column="labels", thread_column="thread_id",
                            pair_column="pair_id"):
    """Read an AcnEmpathize-Cause CSV in chunks of whole pairs, in constant memory.

    The same file layout, parameters and error messages as
    :func:`load_acnempathize_cause`, but the file is read record by record
    and a sentence-row frame is yielded for every ``chunk_pairs`` CSV records
    (pairs): a pair is never cut across chunks, and concatenating the chunks
    gives the rows and ids of :func:`load_acnempathize_cause` in the same order.

    Parameters
    ----------
    path : str, path-like or text file object
    chunk_pairs : int, default=2000
        CSV records (post-reply pairs) per chunk.
    post_column, reply_column, labels_column, thread_column, pair_column
        As in :func:`load_acnempathize_cause`.

    Yields
    ------
    X, y, groups
        As :func:`load_acnempathize_cause` returns them, for one chunk.

    Notes
    -----
    Each chunk is checked on its own: two records of one pair id that disagree
    (different text, thread or labels) are only refused when they fall in the
    same chunk. Line endings are read as :func:`load_acnempathize_cause` reads
    them (LF, CRLF and CR alike, in quoted fields too), so both give the same
    rows and ids.
    """
    columns = _columns(post_column, reply_column, labels_column, thread_column, pair_column)
    return iter_table(path, "csv", chunk_pairs=chunk_pairs, columns=columns)
