"""The input formats, in one list: what each one recognises, how it reads, whether it has labels.

:func:`~empathy_cause.data.load_dataset`, :func:`iter_dataset` (the streaming
reader of ``predict`` and ``evaluate``), the Dask reader
(:func:`~empathy_cause.prediction.distributed.read_dask_frame`) and the command line's
``--data`` all walk :data:`FORMATS`, first match wins; an input that none
recognises gets one error naming every format it could have been.

Each :class:`DataFormat` reads whole (``load``) or in chunks of whole pairs
(``chunks``): the pairs files (CSV, TSV, JSON Lines, Parquet) are read record
by record, so memory does not grow with the file; the corpora (RECCON, ECF,
CovidET, the demo set) are loaded whole and then cut into chunks.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .chunking import DEFAULT_CHUNK_PAIRS, check_chunk_pairs, iter_frame_chunks
from .covidet import EXTRACTIVE_FILE as _COVIDET_FILE
from .covidet import load_covidet
from .demo import load_demo
from .ecf import SUBSETS as _ECF_SUBSETS
from .ecf import load_ecf
from .reccon import load_reccon
from .tables import TABLE_SUFFIXES, iter_table, resolve_columns, table_columns

__all__ = ["DataFormat", "FORMATS", "find_format", "iter_dataset", "formats_help"]

_COVIDET_POSTS = re.compile(r"(?P<subset>[a-z]+)_anonymized-WITH_POSTS\.json", re.IGNORECASE)


@dataclass(frozen=True)
class DataFormat:
    """One input format of :data:`FORMATS`.

    Attributes
    ----------
    name : str
        Its short name (``"csv"``, ``"reccon"``, ...).
    description : str
        What it is, as the help and the errors list it.
    recognises : callable
        ``recognises(path) -> bool``: the folder layout, file name or suffix it reads.
    read : callable
        ``read(path, chunk_pairs, **options)`` -> iterator of ``(X, y, groups)``:
        one tuple when ``chunk_pairs`` is None, else chunks of whole pairs.
    labelled : callable
        ``labelled(path, **options) -> bool``: whether reading gives labels.
    options : tuple of str
        The keyword arguments ``read`` takes (``subset``, ``columns``, ...).
    """

    name: str
    description: str
    recognises: Callable
    read: Callable
    labelled: Callable
    options: tuple = ()

    def check_options(self, path, options) -> None:
        """Refuse, in one line, a keyword argument this format does not take."""
        unknown = sorted(set(options) - set(self.options))
        if unknown:
            public = [o for o in self.options if o not in _LEGACY]
            takes = f"it takes {', '.join(public)}" if public else "it takes none"
            raise ValueError(f"{path} is {self.description}: it takes no option {', '.join(unknown)} ({takes})")


def _whole(load, default_subset=None):
    """``read`` for a corpus loaded whole: one tuple, or the loaded frame cut into chunks of whole pairs."""
    def read(path, chunk_pairs, **options):
        if default_subset is not None:
            options = {"subset": default_subset, **options}
        X, y, groups = load(path, **options)
        if chunk_pairs is None:
            yield X, y, groups
            return
        for X_chunk, y_chunk in iter_frame_chunks(X, y, chunk_pairs=chunk_pairs):
            yield X_chunk, y_chunk, X_chunk["thread_id"].to_numpy()
    return read


def _always(*_, **__) -> bool:
    return True


def _has_dailydialog(path: Path) -> bool:
    return path.is_dir() and any(path.glob("dailydialog_*.json"))


def _is_ecf(path: Path) -> bool:
    if path.is_dir():
        return not _has_dailydialog(path) and any((path / f"{s}.txt").is_file() for s in _ECF_SUBSETS)
    return path.suffix.lower() == ".txt"


def _is_covidet(path: Path) -> bool:
    if path.is_dir():
        return (path / _COVIDET_FILE).is_file()
    return path.name == _COVIDET_FILE or bool(_COVIDET_POSTS.fullmatch(path.name))


def _read_covidet(path, chunk_pairs, **options):
    """CovidET-EXT from its folder, or from one of its files (its folder, the subset from the file's name)."""
    path = Path(path)
    if not path.is_dir():
        match = _COVIDET_POSTS.fullmatch(path.name)
        if match and "subset" not in options:
            options = {**options, "subset": match["subset"]}
        path = path.parent
    return _whole(load_covidet, "train")(path, chunk_pairs, **options)


#: load_acnempathize_cause's keyword arguments, also taken by the pairs files: argument -> role.
_LEGACY = {"post_column": "post", "reply_column": "reply", "labels_column": "labels", "thread_column": "thread_id",
           "pair_column": "pair_id"}


def _with_legacy(columns, legacy):
    """``columns`` with ``post_column=...``-style arguments folded in."""
    return {**(columns or {}), **{_LEGACY[k]: v for k, v in legacy.items()}} if legacy else columns


def _table(kind):
    """The format entries of one pairs-file kind: read and labelled."""
    def read(path, chunk_pairs, columns=None, **legacy):
        return iter_table(path, kind, chunk_pairs=chunk_pairs, columns=_with_legacy(columns, legacy))

    def labelled(path, columns=None, **legacy):
        return resolve_columns(table_columns(path, kind), _with_legacy(columns, legacy),
                               str(path))["labels"] is not None
    return read, labelled


def _suffix_in(*suffixes):
    return lambda path: not path.is_dir() and path.suffix.lower() in suffixes


def _table_format(kind, description):
    read, labelled = _table(kind)
    suffixes = tuple(s for s, k in TABLE_SUFFIXES.items() if k == kind)
    return DataFormat(kind, f"a {description} file ({', '.join(suffixes)})", _suffix_in(*suffixes), read, labelled,
                      ("columns", *_LEGACY))


#: Every input format, in the order they are tried.
FORMATS = (
    DataFormat("demo", "'demo' (the built-in set)", lambda path: str(path) == "demo",
               _whole(lambda _: load_demo()), _always),
    DataFormat("covidet", "a CovidET-EXT folder (CovidET-EXT_anonymized.json)",
               _is_covidet, _read_covidet, _always, ("subset", "reply")),
    DataFormat("ecf", "an ECF folder (train.txt, dev.txt, test.txt) or .txt file",
               _is_ecf, _whole(load_ecf, "train"), _always, ("subset",)),
    DataFormat("reccon", "a RECCON-DD folder (dailydialog_*.json) or .json file",
               lambda path: _has_dailydialog(path) or (not path.is_dir() and path.suffix.lower() == ".json"),
               _whole(load_reccon, "train"), _always, ("subset",)),
    _table_format("csv", "CSV"),
    _table_format("tsv", "TSV"),
    _table_format("jsonl", "JSON Lines"),
    _table_format("parquet", "Parquet"),
)


def formats_help() -> str:
    """Every format in one sentence, for ``--help`` and for errors."""
    corpora = [fmt.description for fmt in FORMATS if "columns" not in fmt.options]
    tables = [fmt.description for fmt in FORMATS if "columns" in fmt.options]
    return (", ".join(corpora) + ", or a file of post-reply pairs (one record per pair, the post as text or a "
            "list of sentences): " + ", ".join(tables[:-1]) + " or " + tables[-1])


def find_format(path) -> DataFormat:
    """The first format of :data:`FORMATS` that recognises ``path``, or one error naming every format.

    Raises
    ------
    TypeError
        For a ``path`` that is neither a str nor path-like.
    FileNotFoundError
        For a path that does not exist and that no format recognises by its name.
    ValueError
        For an existing path that no format recognises.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or path, got {type(path).__name__}.")
    if isinstance(path, str) and path == "demo":
        return FORMATS[0]
    path = Path(path)
    for fmt in FORMATS[1:]:
        if fmt.recognises(path):
            return fmt
    if not path.exists():
        raise FileNotFoundError(f"{path} not found; the data may be {formats_help()}.")
    raise ValueError(f"cannot tell which format {str(path)!r} is; it may be {formats_help()}.")


def iter_dataset(path, *, chunk_pairs=DEFAULT_CHUNK_PAIRS, **options):
    """Read any input of :data:`FORMATS` in chunks of whole pairs: ``(X, y, groups)`` per chunk.

    Pairs files (CSV, TSV, JSON Lines, Parquet) are read ``chunk_pairs``
    records at a time, so memory depends on the chunk, not on the file; the
    corpora are loaded whole and cut. Concatenated, the chunks are the rows of
    :func:`~empathy_cause.data.load_dataset` with the same ids.

    Parameters
    ----------
    path : str or path-like
        As for :func:`~empathy_cause.data.load_dataset`.
    chunk_pairs : int, default=2000
        Pairs per chunk.
    **options
        As for :func:`~empathy_cause.data.load_dataset` (``subset``, ``columns``).

    Yields
    ------
    X, y, groups
        One chunk: the sentence-row frame, its labels (None for an unlabelled
        file) and its thread ids.
    """
    check_chunk_pairs(chunk_pairs)
    fmt = find_format(path)
    fmt.check_options(path, options)
    yield from fmt.read(path, chunk_pairs, **options)
