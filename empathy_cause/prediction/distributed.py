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
import gc
import glob
import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..data.frame import POST
from .job import load_model_folder, score_chunk

__all__ = ["predict_proba_dask", "predict_table_dask", "to_dask_frame", "read_dask_frame", "joblib_backend",
           "get_client", "connect", "check_scheduler", "CONNECT_TIMEOUT"]

INSTALL_HINT = 'pip install "empathy_cause[distributed]"'
PROBA_COLUMNS = ["proba_0", "proba_1"]
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


#: Seconds to connect to a scheduler and receive its handshake, each (the probe and the client's own).
CONNECT_TIMEOUT = 30.0
# A Dask handshake is a small message (a few hundred bytes); a "length" beyond this is another protocol.
_MAX_HANDSHAKE_BYTES = 1 << 20


def _recv_exactly(sock, n: int, deadline: float) -> bytes:
    import time

    data = b""
    while len(data) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        sock.settimeout(left)
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionResetError("closed the connection")
        data += chunk
    return data


def check_scheduler(address: str, timeout: float | None = None) -> None:
    """Raise a one-line ``OSError`` unless a Dask scheduler answers at the ``tcp://`` ``address`` within ``timeout`` s.

    ``distributed.Client`` waits without limit for the handshake of a server
    that accepts and never replies, and reads another protocol's bytes as a
    message length (an exabyte allocation). A scheduler sends its handshake
    first, on every new connection: this reads it, bounded in time and size,
    and closes the connection. Other schemes (``tls://``, ``inproc://``) are
    left to the client.
    """
    import socket
    import struct
    import time

    from distributed.comm import parse_address, parse_host_port

    try:
        scheme, location = parse_address(address)
        host, port = parse_host_port(location) if scheme == "tcp" else (None, None)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{address!r} is not a Dask scheduler address such as tcp://HOST:8786 ({exc})"
                         ) from None
    if scheme != "tcp":
        return
    timeout = CONNECT_TIMEOUT if timeout is None else timeout
    deadline = time.monotonic() + timeout
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            (size,) = struct.unpack("<Q", _recv_exactly(sock, 8, deadline))
            if not 0 < size <= _MAX_HANDSHAKE_BYTES:
                raise ValueError(size)
            _recv_exactly(sock, size, deadline)
    except TimeoutError:
        raise TimeoutError(f"{address} accepted no connection or sent no Dask handshake within {timeout:g} s: is a "
                           "Dask scheduler listening there (dask scheduler --port 8786)?") from None
    except ValueError:
        raise OSError(f"{address} answers, but not with the Dask protocol: is it a Dask scheduler's address "
                      "(not its dashboard, usually port 8787, or another service)?") from None
    except OSError as exc:
        raise OSError(f"cannot reach a Dask scheduler at {address} ({exc.strerror or exc}): start one "
                      "(dask scheduler) or check the address") from None


def connect(address: str, timeout: float | None = None):
    """A ``distributed.Client`` of the scheduler at ``address``, or a one-line error in bounded time.

    :func:`check_scheduler` first (a silent or foreign server fails within
    ``timeout``), then the client with the same timeout; whatever the client
    still raises while connecting becomes one line naming the address. A
    scheduler with no worker would leave every task waiting without end: one
    must join within ``timeout``.
    """
    _, distributed = _require()
    timeout = CONNECT_TIMEOUT if timeout is None else timeout
    check_scheduler(address, timeout)
    failure = None
    try:
        client = distributed.Client(address, timeout=f"{timeout}s")
    except Exception as exc:  # noqa: BLE001 - whatever a foreign server's bytes make the client raise
        first = next((line for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
        failure = OSError(f"cannot connect to the Dask scheduler at {address}: {first.strip()}")
    if failure is not None:
        # The half-built Client is garbage now. Collected here, its finaliser (which stops its IO loop) runs
        # now, not at some later allocation: inside the next Client's or LocalCluster's loop start it hung.
        gc.collect()
        raise failure
    try:
        client.wait_for_workers(1, timeout=timeout)
    except (TimeoutError, OSError):
        client.close()
        raise TimeoutError(f"the Dask scheduler at {address} has no worker (none joined within {timeout:g} s): "
                           f"start some, e.g. dask worker {address} --nworkers 2 --nthreads 1") from None
    return client


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
            client = stack.enter_context(connect(address)) if address else get_client()
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


def _load_rows(path, options):
    """One file's sentence rows, read on a worker by the format registry (labels are not needed to score)."""
    from ..data import load_dataset

    X, _, _ = load_dataset(path, **options)
    return _post_as_arrow_lists(X)


def _is_row_parquet(file) -> bool:
    """A Parquet file of the sentence-row frame itself (``X.to_parquet``), not of pairs."""
    import pyarrow.parquet as pq

    return file.lower().endswith(".parquet") and "sentence_index" in pq.read_schema(file).names


def read_dask_frame(paths, **loader_kwargs):
    """A Dask DataFrame of sentence rows read by the workers, one partition per file.

    Parameters
    ----------
    paths : str, path-like or list of them
        Files (glob patterns allowed) at the same path on every worker (shared
        storage, or copies): Parquet files of the sentence-row frame (``.parquet``
        with a ``sentence_index`` column, read with ``dd.read_parquet``), or any
        file of :data:`~empathy_cause.data.FORMATS` (CSV, TSV, JSON Lines or
        Parquet files of pairs, a RECCON ``.json``, an ECF ``.txt``), one
        partition each, in the order given.
    **loader_kwargs
        Passed to :func:`~empathy_cause.load_dataset` (e.g. ``subset=``, ``columns=``).

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
    from ..data import find_format

    for file in files:  # every file is a format we read (one line naming them all, before any work)
        find_format(file).check_options(file, loader_kwargs)
    rows = [_is_row_parquet(f) for f in files]
    if all(rows):
        return dd.read_parquet(files)
    if any(rows):
        raise ValueError("a mix of sentence-row Parquet files and files of pairs: read them as two Dask frames")
    return dd.from_map(_load_rows, files, args=(loader_kwargs,), label="read-sentence-rows",
                       enforce_metadata=False)


# ----------------------------------------------------------------- scoring

def _model_on_worker(model):
    """The model a task scores with: the scattered estimator, or the folder loaded once per process."""
    if not isinstance(model, (str, os.PathLike)):
        return model
    folder = os.path.abspath(model)
    stamp = tuple(os.stat(os.path.join(folder, name)).st_mtime_ns for name in ("config.json", "model.safetensors"))
    cached = _LOADED.get(folder)
    if cached is None or cached[0] != stamp:  # a re-saved folder is read again
        _LOADED[folder] = cached = (stamp, load_model_folder(folder))  # by the class the folder records
    return cached[1]


def _score_partition(part: pd.DataFrame, model, torch_threads: int, table: bool, keep_columns=None) -> pd.DataFrame:
    """Probabilities (or the prediction table, :func:`~empathy_cause.prediction.job.score_chunk`) of one partition."""
    from ..network._base import _torch_threads

    model = _model_on_worker(model)
    # Workers share the machine's cores: torch's default (one thread per core) in each worker
    # process oversubscribes them. Set in the task: torch's thread count is per calling thread.
    with _torch_threads(torch_threads):
        if table:
            return score_chunk(model, part, keep_columns=keep_columns)
        proba = model.predict_proba(part) if len(part) else np.empty((0, 2), dtype=np.float32)
    return pd.DataFrame(np.asarray(proba, dtype=np.float32), index=part.index, columns=PROBA_COLUMNS)


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


def _map(model, X, *, client, torch_threads, table, keep_columns=None):
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
        from .job import PREDICTION_COLUMNS, kept_columns

        kept = kept_columns(list(X.columns), keep_columns)
        meta = pd.DataFrame({c: pd.Series(dtype=object) for c in PREDICTION_COLUMNS}).astype(
            {"sentence_index": np.int64, "probability": np.float64, "prediction": np.int64})
        for column in kept:
            meta[column] = X._meta[column]
    else:
        meta = pd.DataFrame({c: pd.Series(dtype=np.float32) for c in PROBA_COLUMNS})
    return X.map_partitions(_score_partition, shipped, torch_threads, table, keep_columns, meta=meta,
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


def predict_table_dask(model, X, *, client=None, torch_threads: int = 1, keep_columns=None):
    """The prediction table of a Dask DataFrame: one row per input row, partitions and index kept.

    Each partition is scored by :func:`~empathy_cause.prediction.job.score_chunk`,
    the job ``empathy-cause predict`` runs in one process: columns ``pair_id``,
    ``thread_id`` (the input's own), ``sentence_index``, ``sentence``,
    ``probability`` (of the cause class) and ``prediction`` (at the model's
    ``decision_threshold()``), then the columns kept with ``keep_columns``
    (None, ``"all"`` or a list of names). ``to_csv("out/part-*.csv")`` or
    ``to_parquet`` writes it one file per partition, in order. Other parameters
    as in :func:`predict_proba_dask`.

    Returns
    -------
    dask.dataframe.DataFrame
    """
    return _map(model, X, client=client, torch_threads=torch_threads, table=True, keep_columns=keep_columns)
