"""Loader for the AcnEmpathize-Cause CSV layout.

The paper stores one row per post-reply pair: the post's sentences and their
0/1 labels as Python list literals (``"['I hate my skin.', 'It hurts.']"``,
``"[0, 1]"``), the reply, and metadata such as URLs, titles and user ids.
"""

import ast
import contextlib
import csv
import io
import re
import sys
from pathlib import Path

import pandas as pd

from .chunking import DEFAULT_CHUNK_PAIRS, check_chunk_pairs
from .files import errors_name
from .frame import _RESERVED, THREAD_ID
from .hashing import content_hash
from .pairs import _pairs_to_frame

__all__ = ["load_acnempathize_cause", "iter_acnempathize_cause", "csv_columns"]


def _source_name(path) -> str:
    """How error messages name the file (a file object by its ``name``, if any)."""
    if hasattr(path, "read"):
        return str(getattr(path, "name", "<file object>"))
    return str(path)


_CR_LINE_END = re.compile(r"\r\n?")
_AFTER_NEWLINE = re.compile(r"(?<=\n)")


def _universal_newlines(text):
    """``\r\n`` and a lone ``\r`` as ``\n``, everywhere (quoted fields included).

    Both readers read the text this way, as Python's universal newlines mode
    does, so they give the same reply texts (and the same content-derived
    ids) whether the file was saved with LF, CRLF or CR-only line endings.
    """
    return _CR_LINE_END.sub("\n", text) if "\r" in text else text


def _read_text(path):
    """Return the whole text of a path or of a text/binary file object (UTF-8, BOM allowed), universal newlines."""
    data = path.read() if hasattr(path, "read") else Path(path).read_bytes()
    if isinstance(data, str):  # a text file opened without utf-8-sig still starts with its BOM
        return _universal_newlines(data.removeprefix("\ufeff"))
    try:
        return _universal_newlines(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise ValueError(
            f"{_source_name(path)}, line {line}: not UTF-8 text (byte 0x{data[exc.start]:02x}); "
            "save the file as UTF-8"
        ) from None


@contextlib.contextmanager
def _no_field_size_limit():
    """Lift the csv module's 131,072-character field limit (long replies are fine)."""
    previous = csv.field_size_limit()
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def _record_lines(text, name):
    """Return the 1-based file line on which each CSV record starts.

    Quoted fields may span several lines (replies often do), so a record's
    line is not its position plus two; the csv module counts it exactly.
    """
    reader = csv.reader(io.StringIO(text))
    starts, line = [], 1
    with _no_field_size_limit(), _csv_errors(name, reader):
        for record in reader:
            if record:  # pandas skips blank lines too
                starts.append(line)
            line = reader.line_num + 1
    return starts[1:]  # the first record is the header


@contextlib.contextmanager
def _csv_errors(name, reader):
    """A ``csv.Error`` as a ``ValueError`` that names the file and line."""
    try:
        yield
    except csv.Error as exc:
        raise ValueError(f"{name}, line {reader.line_num}: not a readable CSV file ({exc})") from None


def _literal_list(value, column, where):
    """Parse a Python list literal with ``ast.literal_eval`` (never eval)."""
    if not isinstance(value, str):
        raise ValueError(f"{where}: column '{column}' is empty.")
    try:
        parsed = ast.literal_eval(value)
    except (ValueError, SyntaxError, TypeError, MemoryError,
            RecursionError) as exc:
        raise ValueError(
            f"{where}: column '{column}' is not a Python list literal "
            f"({type(exc).__name__}): {value[:80]!r}"
        ) from None
    if not isinstance(parsed, (list, tuple)):
        raise ValueError(
            f"{where}: column '{column}' must hold a list literal, got a "
            f"{type(parsed).__name__}: {value[:80]!r}"
        )
    return list(parsed)


def csv_columns(path):
    """The column names in the header line of a CSV file (UTF-8, BOM allowed), read without the rest.

    Lets a caller choose ``labels_column=None`` for a file that has no labels.
    """
    name = _source_name(path)
    try:
        with open(path, encoding="utf-8-sig") as file, _no_field_size_limit():
            reader = csv.reader(file)
            with _csv_errors(name, reader):
                header = next((r for r in reader if r), None)
    except UnicodeDecodeError as exc:
        raise ValueError(f"{name}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x}); "
                         "save the file as UTF-8") from None
    if header is None:
        raise ValueError(f"{name}: the file is empty (expected a CSV header line)")
    return header


def load_acnempathize_cause(path, *, post_column="post_sentences",
                            reply_column="reply", labels_column="labels",
                            thread_column="thread_id", pair_column=None):
    """Load AcnEmpathize-Cause pairs from the paper's CSV layout.

    Parameters
    ----------
    path : str, path-like or file-like
        The CSV file, one row per post-reply pair.
    post_column : str, default "post_sentences"
        The column holding the post's sentences as a list literal.
    reply_column : str, default "reply"
        The column holding the reply text.
    labels_column : str or None, default "labels"
        The column holding the 0/1 labels as a list literal, one per post
        sentence. None reads an unlabelled file (``y`` is None).
    thread_column : str or None, default "thread_id"
        The thread id column. When it is None or absent from the file, pairs
        that share the same post share a thread, with an id derived from the
        post's content.
    pair_column : str or None, default None
        A pair id column; by default pair ids are derived from the content.

    Returns
    -------
    X : pandas.DataFrame
        The sentence-row frame. Every other CSV column (URLs, titles, user
        ids, ...) is kept as metadata; one whose name is a frame column
        (say ``post``) is kept as ``<name>_original``.
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
    Metadata types are inferred as :func:`pandas.read_csv` does, except
    that only empty fields are missing values: "NA" or "null" in a reply or
    a title stays a string.
    """
    name = _source_name(path)
    text = _read_text(path)
    return _csv_text_to_frame(text, _record_lines(text, name), name, post_column=post_column, reply_column=reply_column,
                              labels_column=labels_column, thread_column=thread_column,
                              pair_column=pair_column)


def _csv_text_to_frame(text, lines, name, *, post_column, reply_column, labels_column, thread_column,
                       pair_column):
    """CSV text (header + records) of file ``name`` -> ``(X, y, groups)``; ``lines[i]``: file line of record i."""
    required = [c for c in (post_column, reply_column, labels_column) if c]
    if not text.strip():
        raise ValueError(f"{name}: the file is empty (expected a CSV header line with columns {required})")
    try:
        # Only empty fields are missing: "NA" is a fine reply text.
        table = pd.read_csv(io.StringIO(text), keep_default_na=False,
                            na_values=[""], dtype=dict.fromkeys(required, object))
    except (pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error) as exc:
        raise ValueError(f"{name}: not a readable CSV file ({' '.join(str(exc).split())})") from None
    missing = [c for c in required + [pair_column]
               if c and c not in table.columns]
    if missing:
        hint = (" (pass labels_column=None to read an unlabelled file)"
                if labels_column in missing else "")
        raise ValueError(
            f"{name}: the CSV has no column(s) {missing}{hint}; its columns are "
            f"{list(table.columns)}."
        )
    if len(lines) != len(table):  # an unusual dialect: count data rows
        lines = range(2, len(table) + 2)

    def where(i):
        return f"{name}, CSV line {lines[i]}"

    for column in filter(None, (post_column, labels_column)):
        table[column] = [_literal_list(value, column, where(i))
                         for i, value in enumerate(table[column])]
    if thread_column not in table.columns:
        thread_column = None
    # Keep CSV columns named like a frame column (a raw "post" text, say)
    # under another name instead of overwriting or refusing them.
    mapped = {post_column, reply_column, labels_column, thread_column,
              pair_column}
    table = table.rename(columns={
        c: f"{c}_original" for c in table.columns
        if c in _RESERVED and c not in mapped
    })
    if thread_column is None:
        # Pairs that share a post share a thread.
        thread_column = THREAD_ID
        table[THREAD_ID] = [content_hash([str(s) for s in p])
                            for p in table[post_column]]
    with errors_name(name):
        X, y = _pairs_to_frame(
            table, post=post_column, reply=reply_column, labels=labels_column,
            pair_id=pair_column, thread_id=thread_column, where=where,
        )
    return X, y, X[THREAD_ID].to_numpy()


def iter_acnempathize_cause(path, *, chunk_pairs=DEFAULT_CHUNK_PAIRS, post_column="post_sentences",
                            reply_column="reply", labels_column="labels",
                            thread_column="thread_id", pair_column=None):
    """Read an AcnEmpathize-Cause CSV in chunks of whole pairs, in constant memory.

    The same file layout, parameters and error messages as
    :func:`load_acnempathize_cause`, but the file is read record by record
    and a sentence-row frame is yielded for every ``chunk_pairs`` CSV records
    (pairs): a pair is never cut across chunks, and concatenating the chunks
    gives the rows of :func:`load_acnempathize_cause` in the same order.

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
    check_chunk_pairs(chunk_pairs)
    options = dict(post_column=post_column, reply_column=reply_column, labels_column=labels_column,
                   thread_column=thread_column, pair_column=pair_column)
    name = _source_name(path)
    with contextlib.ExitStack() as stack:
        if hasattr(path, "read"):
            file = path if isinstance(path, io.TextIOBase) else io.TextIOWrapper(path, encoding="utf-8-sig")
        else:
            # Universal newlines, as load_acnempathize_cause reads the text (same replies, same ids).
            file = stack.enter_context(open(path, encoding="utf-8-sig"))
        raw = []  # the physical lines the csv reader consumed since the last chunk
        read = 0  # physical lines read so far

        def physical_lines():
            nonlocal read
            try:
                for chunk in file:
                    if read == 0:  # as _read_text: a text file opened without utf-8-sig keeps its BOM
                        chunk = chunk.removeprefix("\ufeff")
                    # A text file object opened with newline="" keeps \r\n and \r: read them as _read_text does.
                    for line in _AFTER_NEWLINE.split(_universal_newlines(chunk)) if "\r" in chunk else (chunk,):
                        if line:
                            read += 1
                            raw.append(line)
                            yield line
            except UnicodeDecodeError as exc:
                byte = exc.object[exc.start]
                raise ValueError(f"{name}, line {read + 1} or after: not UTF-8 text (byte 0x{byte:02x}); "
                                 "save the file as UTF-8") from None

        reader = csv.reader(physical_lines())

        def records():
            # The csv module's field limit is process-wide: lift it only while this reader reads.
            while True:
                with _no_field_size_limit(), _csv_errors(name, reader):
                    record = next(reader, None)
                if record is None:
                    return
                yield record

        rows = records()
        header = next((r for r in rows if r), None)
        if header is None:
            raise ValueError(f"{name}: the file is empty (expected a CSV header line)")
        header_text = "".join(raw)
        raw.clear()
        lines, line, sent = [], reader.line_num + 1, False
        for record in rows:
            if record:  # pandas skips blank lines too
                lines.append(line)
            line = reader.line_num + 1
            if len(lines) == chunk_pairs:
                yield _csv_text_to_frame(header_text + "".join(raw), lines, name, **options)
                raw.clear()
                lines, sent = [], True
        if lines or not sent:
            yield _csv_text_to_frame(header_text + "".join(raw), lines, name, **options)
