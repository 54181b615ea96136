"""Scoring on a Dask cluster: a sentence-row table partitioned across worker processes and machines.

:func:`predict_proba_dask` scores a Dask DataFrame of sentence rows (see
``docs/data.md``) partition by partition on the workers of a
``distributed.Client``, with the output in the input's row order and equal to
``model.predict_proba`` of the whole table on one machine (up to float
rounding). The model reaches each worker once: a fitted estimator is
scattered to every worker before scoring; a model folder path is loaded by
each worker process from its own disk (the folder must be at that path on every
machine) and kept for the worker's lifetime. :func:`predict_table_dask` gives
the table ``empathy-cause predict`` writes, one partition per output file.

Every row carries its whole post and reply, so any partition is valid; keeping
the rows of a pair in one partition (as :func:`to_dask_frame` and
:func:`read_dask_frame` do) is only faster: each worker encodes the sentences it
sees, once, in its own process-wide cache.

The Arrow-strings pitfall: with Dask's default settings (``dataframe.convert-string``),
``dd.from_pandas`` turns an object column into Arrow strings, so a post tuple
arrives on the workers as its ``str()`` (``"('First.', 'Second.')"``), which the
frame contract refuses. Build the Dask frame with :func:`to_dask_frame`
(``post`` becomes an Arrow ``list<string>`` column, which Dask keeps as is), read
Parquet files whose ``post`` is a list column (``X.to_parquet`` writes one), or
set ``dask.config.set({"dataframe.convert-string": False})`` around
``dd.from_pandas``. A string-typed ``post`` column is refused before anything
runs, with this recipe.

Search (``GridSearchCV``, ``cross_validate``, ``TunedThresholdClassifierCV``,
the benchmarks' ``--n-jobs``) needs nothing from this module: run it under
``joblib.parallel_config(backend="dask")`` with a client connected. See
``docs/distributed.md``.

Needs the ``distributed`` extra: ``pip install "empathy_cause[distributed]"``.
"""

from __future__ import annotations

import contextlib
import glob
import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..data.frame import POST
from .streaming import prediction_table

__all__ = ["predict_proba_dask", "predict_table_dask", "to_dask_frame", "read_dask_frame", "joblib_backend",
           "get_client"]

INSTALL_HINT = 'pip install "empathy_cause[distributed]"'
PROBA_COLUMNS = ["proba_0", "proba_1"]
#: Columns of the table :func:`predict_table_dask` returns (and ``empathy-cause predict`` writes).
TABLE_COLUMNS = ["pair_id", "sentence_index", "sentence", "probability", "prediction"]
_ARROW_STRINGS = (
    "the Dask frame's 'post' column holds strings, not lists of sentences (Dask's Arrow-string "
    "conversion turned each post tuple into its text): build the frame with "
    "empathy_cause.prediction.distributed.to_dask_frame(X), read Parquet files with a list 'post' column, or "
    "wrap dd.from_pandas in dask.config.set({'dataframe.convert-string': False})")

# Per worker process: model folder -> (its files' modification times, the loaded model).
_LOADED: dict = {}


def _require():
    """Import and return ``(dask.dataframe, distributed)``, or raise naming the extra to install."""
    try:
        import dask.dataframe as dd
        import distributed
    except ImportError as exc:
        raise ImportError(f"Dask scoring needs dask[dataframe] and distributed ({exc.name} is missing): "
                          f"{INSTALL_HINT}") from None
    return dd, distributed


def get_client(client=None):
    """``client``, or the ``distributed.Client`` this process is connected to, or a one-line error."""
    _, distributed = _require()
    if client is not None:
        return client
    try:
        return distributed.get_client()
    except ValueError:
        raise ValueError("no Dask client: connect one first, e.g. distributed.Client('tcp://SCHEDULER:8786'), "
                         "or pass client=") from None


@contextlib.contextmanager
def joblib_backend(address=None, *, client=None, **config):
    """Run joblib's work inside the block on a Dask cluster: ``GridSearchCV``, ``cross_validate``, ...

    Connects a ``distributed.Client`` to ``address`` (closed on exit), or uses
    ``client`` or the one this process already has, and enters
    ``joblib.parallel_config(backend="dask", **config)``; give the estimators
    ``n_jobs=-1``. Each fit is seeded by ``random_state``, so the results equal
    those of ``n_jobs=1``. ``config`` may hold ``scatter=[X, y]``, which sends
    large inputs to the workers once instead of with every task.

    Yields
    ------
    distributed.Client
    """
    import joblib

    _, distributed = _require()
    with contextlib.ExitStack() as stack:
        if client is None:
            client = (stack.enter_context(distributed.Client(address, timeout="30s")) if address
                      else get_client())
        stack.enter_context(joblib.parallel_config(backend="dask", **config))
        yield client


# ------------------------------------------------------------------ frames

def _post_as_arrow_lists(X: pd.DataFrame) -> pd.DataFrame:
    """``X`` with ``post`` as an Arrow ``list<string>`` column, which Dask does not turn into strings."""
    import pyarrow as pa

    posts = pd.Series([list(p) for p in X[POST]], index=X.index, dtype=pd.ArrowDtype(pa.list_(pa.string())))
    return X.assign(**{POST: posts})


def to_dask_frame(X: pd.DataFrame, *, chunk_pairs: int = 2000):
    """A Dask DataFrame of the sentence-row frame ``X``, one partition per ``chunk_pairs`` whole pairs.

    Partitions end at pair boundaries (:func:`~empathy_cause.iter_frame_chunks`),
    the index and the row order are kept, and ``post`` becomes an Arrow
    ``list<string>`` column so that it reaches the workers as lists of sentences.

    Parameters
    ----------
    X : pandas.DataFrame
        The sentence-row frame (validated first).
    chunk_pairs : int, default=2000
        Pairs per partition.

    Returns
    -------
    dask.dataframe.DataFrame
    """
    from ..data.frame import validate_frame
    from .streaming import iter_frame_chunks

    dd, _ = _require()
    X = validate_frame(X)[0].set_axis(X.index)  # validation resets the index: keep the caller's
    chunks = [_post_as_arrow_lists(chunk) for chunk, _ in iter_frame_chunks(X, chunk_pairs=chunk_pairs)]
    return dd.from_map(_identity, chunks, meta=chunks[0].iloc[:0], label="sentence-rows", enforce_metadata=False)


def _identity(frame):
    return frame


def _load_rows(path, loader_kwargs):
    from ..data import load_dataset
    from ..data.acnempathize import csv_columns

    if str(path).lower().endswith(".csv") and "labels_column" not in loader_kwargs:
        # Scoring needs no labels: an AcnEmpathize-Cause file without them is read as it is.
        loader_kwargs = {**loader_kwargs, "labels_column": "labels" if "labels" in csv_columns(path) else None}
    X, _, _ = load_dataset(path, **loader_kwargs)
    return _post_as_arrow_lists(X)


def read_dask_frame(paths, **loader_kwargs):
    """A Dask DataFrame of sentence rows read by the workers, one partition per file.

    Parameters
    ----------
    paths : str, path-like or list of them
        Files (glob patterns allowed) at the same path on every worker (shared
        storage, or copies): Parquet files of the sentence-row frame (``.parquet``,
        read with ``dd.read_parquet``), or any file
        :func:`~empathy_cause.load_dataset` reads (an AcnEmpathize-Cause ``.csv``,
        a RECCON ``.json``, an ECF ``.txt``), one partition each, in the order given.
        The client reads the first non-Parquet file once to learn its columns.
    **loader_kwargs
        Passed to :func:`~empathy_cause.load_dataset` (e.g. ``subset=``).

    Returns
    -------
    dask.dataframe.DataFrame
    """
    dd, _ = _require()
    patterns = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    files = []
    for pattern in map(str, patterns):
        matched = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        if not matched:
            raise FileNotFoundError(f"no file matches {pattern}")
        files.extend(matched)
    for file in files:
        if not Path(file).exists():
            raise FileNotFoundError(f"{file} not found")
    parquet = [f.lower().endswith(".parquet") for f in files]
    if all(parquet):
        return dd.read_parquet(files)
    if any(parquet):
        raise ValueError("a mix of Parquet and other files: read them as two Dask frames")
    return dd.from_map(_load_rows, files, args=(loader_kwargs,), label="read-sentence-rows",
                       enforce_metadata=False)


# ----------------------------------------------------------------- scoring

def _model_on_worker(model):
    """The model a task scores with: the scattered estimator, or the folder loaded once per process."""
    if not isinstance(model, (str, os.PathLike)):
        return model
    from ..network.classifier import EmpathyCauseClassifier

    folder = os.path.abspath(model)
    stamp = tuple(os.stat(os.path.join(folder, name)).st_mtime_ns for name in ("config.json", "model.safetensors"))
    cached = _LOADED.get(folder)
    if cached is None or cached[0] != stamp:  # a re-saved folder is read again
        _LOADED[folder] = cached = (stamp, EmpathyCauseClassifier.load(folder))
    return cached[1]


def _score_partition(part: pd.DataFrame, model, torch_threads: int, table: bool) -> pd.DataFrame:
    """Probabilities (or the prediction table) of one partition, its index kept."""
    from ..network._base import _torch_threads

    model = _model_on_worker(model)
    # Workers share the machine's cores: torch's default (one thread per core) in each worker
    # process oversubscribes them. Set in the task: torch's thread count is per calling thread.
    with _torch_threads(torch_threads):
        proba = model.predict_proba(part) if len(part) else np.empty((0, 2), dtype=np.float32)
    proba = np.asarray(proba, dtype=np.float32)
    if not table:
        return pd.DataFrame(proba, index=part.index, columns=PROBA_COLUMNS)
    return prediction_table(part, proba[:, 1], model.decision_threshold())


def _check_frame(X):
    dd, _ = _require()
    if not isinstance(X, dd.DataFrame):
        raise TypeError(f"X must be a Dask DataFrame of sentence rows (see to_dask_frame), got {type(X).__name__}")
    if POST not in X.columns:
        raise ValueError(f"X has no '{POST}' column: it must be the sentence-row frame (see docs/data.md)")
    dtype = X[POST].dtype
    if isinstance(dtype, pd.StringDtype) or (isinstance(dtype, pd.ArrowDtype) and dtype.pyarrow_dtype
                                              in _arrow_string_types()):
        raise TypeError(_ARROW_STRINGS)


def _arrow_string_types():
    import pyarrow as pa

    return (pa.string(), pa.large_string(), pa.string_view())


def _map(model, X, *, client, torch_threads, table):
    _check_frame(X)
    if not isinstance(torch_threads, (int, np.integer)) or isinstance(torch_threads, bool) or torch_threads < 1:
        raise ValueError(f"torch_threads must be a positive int, got {torch_threads!r}")
    client = get_client(client)
    _, distributed = _require()
    if isinstance(model, (str, os.PathLike)):
        if not Path(model).is_dir():
            raise FileNotFoundError(f"{model} not found: pass a fitted estimator or a model folder written by save()")
        shipped = str(model)
    elif isinstance(model, distributed.Future):  # already scattered (scatter once, score many frames)
        shipped = model
    else:
        if not hasattr(model, "predict_proba"):
            raise TypeError(f"model must be a fitted estimator or a model folder path, got {type(model).__name__}")
        # Once to every worker now, not once per task; workers that join later fetch it from a peer.
        shipped = client.scatter(model, broadcast=True, hash=False)
    if table:
        meta = pd.DataFrame({"pair_id": pd.Series(dtype=object), "sentence_index": pd.Series(dtype=np.int64),
                             "sentence": pd.Series(dtype=object), "probability": pd.Series(dtype=np.float32),
                             "prediction": pd.Series(dtype=np.int64)})
    else:
        meta = pd.DataFrame({c: pd.Series(dtype=np.float32) for c in PROBA_COLUMNS})
    return X.map_partitions(_score_partition, shipped, torch_threads, table, meta=meta,
                            enforce_metadata=False, align_dataframes=False)


def predict_proba_dask(model, X, *, client=None, torch_threads: int = 1):
    """``model.predict_proba`` of a Dask DataFrame, partition by partition on the cluster's workers.

    Parameters
    ----------
    model : fitted estimator, distributed.Future or path
        A fitted :class:`~empathy_cause.EmpathyCauseClassifier` (or any estimator
        whose ``predict_proba`` takes the sentence-row frame), scattered once to
        every worker; or such an estimator already scattered
        (``client.scatter(model, broadcast=True)``); or the path of a model folder written by ``save``, which
        each worker process loads once (the folder must exist at that path on
        every worker). Either way a custom ``encoder=`` folder must exist at the
        same path on every worker; the embedded default comes with the package.
    X : dask.dataframe.DataFrame
        Sentence rows (see ``docs/data.md``), e.g. from :func:`to_dask_frame`,
        :func:`read_dask_frame` or ``dd.read_parquet``. Any partitioning is
        correct; partitions that keep a pair's rows together encode less.
    client : distributed.Client, optional
        Default: the client this process is connected to.
    torch_threads : int, default=1
        Torch threads per task. With one worker thread per core (``dask worker
        --nthreads 1``), 1 uses every core without oversubscribing them.

    Returns
    -------
    dask.array.Array of shape (n_rows, 2), float32
        Lazy; ``.compute()`` gives the probabilities in X's row order, equal to
        ``model.predict_proba(X.compute())`` up to float rounding. Chunks are
        the partitions (their lengths unknown until computed).
    """
    return _map(model, X, client=client, torch_threads=torch_threads, table=False).to_dask_array()


def predict_table_dask(model, X, *, client=None, torch_threads: int = 1):
    """The prediction table of a Dask DataFrame: one row per input row, partitions and index kept.

    Columns ``pair_id``, ``sentence_index``, ``sentence``, ``probability`` (of
    the cause class) and ``prediction`` (at the model's
    ``decision_threshold()``), the table ``empathy-cause predict`` writes.
    ``to_csv("out/part-*.csv")`` or ``to_parquet`` writes it one file per
    partition, in order. Parameters as in :func:`predict_proba_dask`.

    Returns
    -------
    dask.dataframe.DataFrame
    """
    return _map(model, X, client=client, torch_threads=torch_threads, table=True)
