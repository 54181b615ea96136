"""Files of post-reply pairs, one record per pair: CSV, TSV, JSON Lines and Parquet.

A record holds the post (its raw text, split with the paper's splitter, or a
list of its sentences: a real list in JSON Lines and Parquet, a Python list
literal in CSV/TSV), the reply, optionally one 0/1 label per post sentence,
a pair id, a thread id, and any other columns (kept as metadata). Which
column is which comes from ``columns``, a mapping of role to column name
(:data:`ROLES`), with defaults that make the paper's AcnEmpathize-Cause CSV
and a plain ``post,reply,labels`` file need no mapping at all.

Ids are text: pair and thread ids are read as the strings the file holds
(``007`` stays ``007``, ``1e5`` stays ``1e5``, a 23-digit id keeps every digit),
whole or in chunks alike, so grouping never depends on pandas' type guessing.
A CSV/TSV holds only text, so its metadata columns come back as text too; JSON
Lines and Parquet metadata keep the types the file stores.
"""

import contextlib
import csv
import io
import json
import re
import sys
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from .chunking import check_chunk_pairs
from .files import errors_name, not_utf8
from .frame import _RESERVED, PAIR_ID, POST, REPLY, SENTENCE_INDEX, THREAD_ID, _object_array, validate_frame
from .hashing import content_hash
from .literals import is_list_literal, parse_list_literal
from .pairs import _pairs_to_frame
from .sentences import split_sentences

__all__ = ["ROLES", "DEFAULT_COLUMNS", "resolve_columns", "table_columns", "iter_table", "csv_columns"]

#: What a column of a pairs file can be; ``columns={"post": "body"}`` maps a role to the file's column.
ROLES = ("post", "reply", "labels", "pair_id", "thread_id")
#: The column each role is looked for under when ``columns`` does not name it (the first one present).
DEFAULT_COLUMNS = {"post": ("post_sentences", "post"), "reply": ("reply",), "labels": ("labels",),
                   "pair_id": ("pair_id",), "thread_id": ("thread_id",)}
_REQUIRED_ROLES = ("post", "reply")
_ID_ROLES = ("pair_id", "thread_id")


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
        raise not_utf8(f"{_source_name(path)}, line {line}", data[:4], data[exc.start]) from None


@contextlib.contextmanager
def _no_field_size_limit():
    """Lift the csv module's 131,072-character field limit (long replies are fine)."""
    previous = csv.field_size_limit()
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def _record_lines(text, name, sep=","):
    """Return the header and the 1-based file line on which each CSV record starts.

    Quoted fields may span several lines (replies often do), so a record's
    line is not its position plus two; the csv module counts it exactly.
    """
    reader = csv.reader(io.StringIO(text), delimiter=sep)
    header, starts, line = None, [], 1
    with _no_field_size_limit(), _csv_errors(name, reader):
        for record in reader:
            if record:  # pandas skips blank lines too
                if header is None:
                    header = record
                else:
                    starts.append(line)
            line = reader.line_num + 1
    return header, starts


@contextlib.contextmanager
def _csv_errors(name, reader):
    """A ``csv.Error`` as a ``ValueError`` that names the file and line."""
    try:
        yield
    except csv.Error as exc:
        raise ValueError(f"{name}, line {reader.line_num}: not a readable CSV file ({exc})") from None


def csv_columns(path, sep=","):
    """The column names in the header line of a CSV (or, with ``sep="\\t"``, TSV) file, read without the rest."""
    name = _source_name(path)
    try:
        with open(path, encoding="utf-8-sig") as file, _no_field_size_limit():
            reader = csv.reader(file, delimiter=sep)
            with _csv_errors(name, reader):
                header = next((r for r in reader if r), None)
    except UnicodeDecodeError as exc:
        raise not_utf8(name, exc.object[:4], exc.object[exc.start]) from None
    if header is None:
        raise ValueError(f"{name}: the file is empty (expected a CSV header line)")
    return header




# ------------------------------------------------------------------ columns


def resolve_columns(header, columns, name):
    """Which column of a file plays each role: ``{role: column or None}``, or a one-line error.

    Parameters
    ----------
    header : list of str
        The file's columns.
    columns : mapping of role to column name (or None), optional
        As the user gave it. A role mapped to None means the file has no such
        column (``{"labels": None}``: read it unlabelled even if a ``labels``
        column is there). A role left out takes the first of its
        :data:`DEFAULT_COLUMNS` the file has; labels, pair id and thread id may
        then be absent (unlabelled; ids derived from the content).
    name : str
        The file, for the messages.
    """
    header = list(header)
    if columns is None:
        columns = {}
    if not isinstance(columns, Mapping):
        raise TypeError(f"columns must be a mapping of role to column name, e.g. {{'post': 'body'}}, "
                        f"got {type(columns).__name__}")
    unknown = [role for role in columns if role not in ROLES]
    if unknown:
        raise ValueError(f"columns: unknown role(s) {unknown}; the roles are {list(ROLES)}, "
                         "each mapped to a column of the file, e.g. {'post': 'body', 'pair_id': 'id'}")
    resolved = {}
    for role in ROLES:
        if role in columns:
            column = columns[role]
            if column is None and role in _REQUIRED_ROLES:
                raise ValueError(f"columns: the {role} column cannot be None (every pair has a {role})")
            if column is not None and column not in header:
                raise ValueError(f"{name}: no column {column!r} (given for {role}); its columns are {header}")
        else:
            column = next((c for c in DEFAULT_COLUMNS[role] if c in header), None)
            if column is None and role in _REQUIRED_ROLES:
                looked = " or ".join(repr(c) for c in DEFAULT_COLUMNS[role])
                raise ValueError(f"{name}: no {role} column ({looked}); its columns are {header}. Name yours "
                                 f"with columns={{'{role}': COLUMN}} (on the command line: --columns "
                                 f"{role}=COLUMN)")
        resolved[role] = column
    seen = {}
    for role, column in resolved.items():
        if column is not None and column in seen:
            raise ValueError(f"columns: {column!r} is given for both {seen[column]} and {role}")
        seen.setdefault(column, role)
    return resolved


# --------------------------------------------------------- pairs -> frame


def _list_cell(value, column, where, *, text_is_post):
    """One post or labels cell as a list: a list as is, a list literal parsed; other text is a raw post, split.

    ``text_is_post``: the column is the post, whose plain text is split into
    sentences; labels must be a list (or a list literal).
    """
    if isinstance(value, str):
        if not text_is_post or is_list_literal(value):
            return parse_list_literal(value, column, where)
        sentences = split_sentences(value)
        if not sentences:
            raise ValueError(f"{where}: column '{column}' has no text.")
        return sentences
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return list(value)
    if value is None or (isinstance(value, float) and np.isnan(value)):
        raise ValueError(f"{where}: column '{column}' is empty.")
    holds = "the post's text or a list of its sentences" if text_is_post else "a list of 0/1"
    raise TypeError(f"{where}: column '{column}' must hold {holds}, got {type(value).__name__}")


def _rows_table_to_frame(table, cols, name, where):
    """A file of the sentence-row frame itself (``X.to_parquet``: a ``sentence_index`` column) -> ``(X, y, groups)``.

    One record per sentence row, not per pair; ``labels`` (when present) holds each row's 0/1.
    """
    table = table.reset_index(drop=True).rename(columns={
        cols[role]: role for role in (POST, REPLY, PAIR_ID, THREAD_ID) if cols[role] not in (None, role)})
    table[POST] = _object_array(tuple(_list_cell(v, cols[POST], where(i), text_is_post=True))
                                for i, v in enumerate(table[POST].to_numpy(dtype=object)))
    y = None if cols["labels"] is None else table.pop(cols["labels"]).to_numpy()
    with errors_name(name):
        try:  # a CSV holds text: its indices and labels are numbers written as text
            table[SENTENCE_INDEX] = pd.to_numeric(table[SENTENCE_INDEX])
            y = None if y is None else pd.to_numeric(pd.Series(y)).to_numpy()
        except (ValueError, TypeError) as exc:
            raise ValueError(f"a sentence-row file needs integer '{SENTENCE_INDEX}' and 0/1 labels ({exc})") from None
        X, y = validate_frame(table, y)
    return X, y, X[THREAD_ID].to_numpy()


def _pairs_table_to_frame(table, cols, name, where):
    """A table of pairs read from file ``name`` -> ``(X, y, groups)``; ``where(i)`` names record i."""
    if SENTENCE_INDEX in table.columns:
        return _rows_table_to_frame(table, cols, name, where)
    post, reply, labels, pair_id, thread_id = (cols[role] for role in ROLES)
    table = table.reset_index(drop=True)
    posts = [_list_cell(v, post, where(i), text_is_post=True) for i, v in enumerate(table[post].to_numpy(dtype=object))]
    table[post] = _object_array(posts)
    if labels is not None:
        table[labels] = _object_array(_list_cell(v, labels, where(i), text_is_post=False)
                                      for i, v in enumerate(table[labels].to_numpy(dtype=object)))
    # Keep columns named like a frame column (a raw "post" text beside post_sentences, say)
    # under another name instead of overwriting or refusing them.
    mapped = {c for c in cols.values() if c is not None}
    table = table.rename(columns={c: f"{c}_original" for c in table.columns if c in _RESERVED and c not in mapped})
    if thread_id is None:
        # Pairs that share a post share a thread: one initial post per thread, as in the paper's data.
        thread_id = THREAD_ID
        table[THREAD_ID] = [content_hash([str(s) for s in p]) for p in posts]
    with errors_name(name):
        X, y = _pairs_to_frame(table, post=post, reply=reply, labels=labels, pair_id=pair_id,
                               thread_id=thread_id, where=where)
    return X, y, X[THREAD_ID].to_numpy()


# ------------------------------------------------------------------ CSV/TSV


def _csv_chunk(text, lines, name, sep, cols):
    """CSV text (header + records) -> ``(X, y, groups)``; ``lines[i]``: the file line of record i."""
    kind = "TSV" if sep == "\t" else "CSV"
    try:
        # A CSV holds text: every cell is read as written (ids, and metadata too: no type guessing, so a
        # chunk of 007s is not read as 7 while the next keeps its zeros). Only empty fields are missing:
        # "NA" is a fine reply text.
        table = pd.read_csv(io.StringIO(text), sep=sep, keep_default_na=False, na_values=[""], dtype=object)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error) as exc:
        raise ValueError(f"{name}: not a readable {kind} file ({' '.join(str(exc).split())})") from None
    if len(lines) != len(table):  # an unusual dialect: count data rows
        lines = range(2, len(table) + 2)
    return _pairs_table_to_frame(table, cols, name, lambda i: f"{name}, {kind} line {lines[i]}")


def _iter_csv(path, chunk_pairs, columns, sep):
    """``(X, y, groups)`` per chunk of ``chunk_pairs`` records of a CSV/TSV file (None: the whole file)."""
    name = _source_name(path)
    kind = "TSV" if sep == "\t" else "CSV"
    if chunk_pairs is None:
        text = _read_text(path)
        if not text.strip():
            raise ValueError(f"{name}: the file is empty (expected a {kind} header line)")
        header, lines = _record_lines(text, name, sep)
        yield _csv_chunk(text, lines, name, sep, resolve_columns(header, columns, name))
        return
    check_chunk_pairs(chunk_pairs)
    with contextlib.ExitStack() as stack:
        if hasattr(path, "read"):
            file = path if isinstance(path, io.TextIOBase) else io.TextIOWrapper(path, encoding="utf-8-sig")
        else:
            # Universal newlines, as the whole-file read takes the text (same replies, same ids).
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
                raise not_utf8(f"{name}, line {read + 1} or after", exc.object[:4] if read == 0 else b"",
                               exc.object[exc.start]) from None

        reader = csv.reader(physical_lines(), delimiter=sep)

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
            raise ValueError(f"{name}: the file is empty (expected a {kind} header line)")
        cols = resolve_columns(header, columns, name)
        header_text = "".join(raw)
        raw.clear()
        lines, line, sent = [], reader.line_num + 1, False
        for record in rows:
            if record:  # pandas skips blank lines too
                lines.append(line)
            line = reader.line_num + 1
            if len(lines) == chunk_pairs:
                yield _csv_chunk(header_text + "".join(raw), lines, name, sep, cols)
                raw.clear()
                lines, sent = [], True
        if lines or not sent:
            yield _csv_chunk(header_text + "".join(raw), lines, name, sep, cols)


# -------------------------------------------------------------- JSON Lines


class _Number(str):
    """A JSON number as the file writes it, kept as text until we know whether it is an id."""


def _json_value(value):
    """A parsed JSON value with its numbers as numbers again (everything but ids)."""
    if isinstance(value, _Number):
        try:
            return int(value)
        except ValueError:
            return float(value)
    if isinstance(value, list):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items()}
    return value


def _json_id(value, column, where):
    """An id as text exactly as written (a JSON number too: 007 is not valid JSON, but 1e5 stays "1e5")."""
    if value is None or isinstance(value, str):
        return None if value is None else str(value)
    raise TypeError(f"{where}: '{column}' must be text or a number, got {type(value).__name__}")


def _open_text(path, stack):
    if hasattr(path, "read"):
        return path if isinstance(path, io.TextIOBase) else io.TextIOWrapper(path, encoding="utf-8-sig")
    return stack.enter_context(open(path, encoding="utf-8-sig"))


def _iter_jsonl(path, chunk_pairs, columns):
    """``(X, y, groups)`` per chunk of ``chunk_pairs`` lines of a JSON Lines file (None: the whole file)."""
    name = _source_name(path)
    if chunk_pairs is not None:
        check_chunk_pairs(chunk_pairs)
    with contextlib.ExitStack() as stack:
        file = _open_text(path, stack)
        cols, records, lines, sent = None, [], [], False

        def chunk():
            table = pd.DataFrame.from_records(records)
            return _pairs_table_to_frame(table, cols, name, lambda i, at=list(lines): f"{name}, line {at[i]}")

        number = 0
        try:
            for number, line in enumerate(file, 1):  # noqa: B007 - the last number names a decoding error
                if not line.strip():
                    continue
                try:
                    record = json.loads(line, parse_int=_Number, parse_float=_Number)
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{name}, line {number}: not JSON ({exc.msg}); a JSON Lines file holds one "
                                     "JSON object per line") from None
                if not isinstance(record, dict):
                    raise ValueError(f"{name}, line {number}: expected a JSON object (one pair per line), got a "
                                     f"{type(_json_value(record)).__name__}")
                if cols is None:
                    cols = resolve_columns(list(record), columns, name)
                    ids = {cols[role] for role in _ID_ROLES} - {None}
                where = f"{name}, line {number}"
                records.append({k: _json_id(v, k, where) if k in ids else _json_value(v) for k, v in record.items()})
                lines.append(number)
                if chunk_pairs is not None and len(records) == chunk_pairs:
                    yield chunk()
                    records, lines, sent = [], [], True
        except UnicodeDecodeError as exc:
            raise not_utf8(f"{name}, line {number + 1}", exc.object[:4] if number == 0 else b"",
                           exc.object[exc.start]) from None
        if cols is None:
            raise ValueError(f"{name}: the file is empty (expected one JSON object per line)")
        if records or not sent:
            yield chunk()


# ----------------------------------------------------------------- Parquet


def _parquet_file(path):
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - pyarrow comes with the package's dependencies
        raise ImportError("reading Parquet needs pyarrow: pip install pyarrow") from None
    try:
        return pa, pq.ParquetFile(path)
    except (OSError, pa.ArrowException) as exc:
        raise ValueError(f"{_source_name(path)}: not a readable Parquet file ({' '.join(str(exc).split())})") from None


def _iter_parquet(path, chunk_pairs, columns):
    """``(X, y, groups)`` per chunk of ``chunk_pairs`` rows of a Parquet file (None: the whole file)."""
    name = _source_name(path)
    if chunk_pairs is not None:
        check_chunk_pairs(chunk_pairs)
    pa, file = _parquet_file(path)
    schema = file.schema_arrow
    cols = resolve_columns(schema.names, columns, name)
    for role in _ID_ROLES:
        column = cols[role]
        if column is None:
            continue
        kind = schema.field(column).type
        if not (pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_integer(kind)
                or (pa.types.is_dictionary(kind) and pa.types.is_string(kind.value_type))):
            raise ValueError(f"{name}: column {column!r} ({role}) is stored as {kind}; ids are text: store them "
                             "as strings (or integers), e.g. frame[column].astype(str) before to_parquet")
    total = file.metadata.num_rows
    if total == 0:
        raise ValueError(f"{name}: the file has no rows (expected one row per post-reply pair)")
    offset = 0
    for batch in file.iter_batches(batch_size=chunk_pairs or total):
        table = pa.Table.from_batches([batch])
        for role in _ID_ROLES:
            if cols[role] is not None:
                index = table.schema.get_field_index(cols[role])
                table = table.set_column(index, cols[role], table.column(index).cast(pa.string()))
        frame = table.to_pandas()
        yield _pairs_table_to_frame(frame, cols, name, lambda i, at=offset: f"{name}, row {at + i + 1}")
        offset += len(frame)


# ------------------------------------------------------------------- entry

#: The table formats: name -> (file suffixes, reader).
_READERS = {
    "csv": ((".csv",), lambda path, chunk_pairs, columns: _iter_csv(path, chunk_pairs, columns, ",")),
    "tsv": ((".tsv", ".tab"), lambda path, chunk_pairs, columns: _iter_csv(path, chunk_pairs, columns, "\t")),
    "jsonl": ((".jsonl", ".ndjson"), _iter_jsonl),
    "parquet": ((".parquet", ".pq"), _iter_parquet),
}
TABLE_SUFFIXES = {suffix: kind for kind, (suffixes, _) in _READERS.items() for suffix in suffixes}


def iter_table(path, kind, *, chunk_pairs=None, columns=None):
    """``(X, y, groups)`` of a pairs file of format ``kind`` ("csv", "tsv", "jsonl", "parquet").

    One tuple for the whole file when ``chunk_pairs`` is None, else one per
    ``chunk_pairs`` records (pairs), a pair never cut across chunks; the chunks
    together give the whole file's rows and ids.
    """
    return _READERS[kind][1](path, chunk_pairs, columns)


def table_columns(path, kind):
    """The column names of a pairs file, read without its records (JSON Lines: the first record's keys)."""
    if kind in ("csv", "tsv"):
        return csv_columns(path, "," if kind == "csv" else "\t")
    if kind == "parquet":
        return _parquet_file(path)[1].schema_arrow.names
    name = _source_name(path)
    with contextlib.ExitStack() as stack:
        for number, line in enumerate(_open_text(path, stack), 1):
            if line.strip():
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{name}, line {number}: not JSON ({exc.msg})") from None
                return list(record) if isinstance(record, dict) else []
    return []
