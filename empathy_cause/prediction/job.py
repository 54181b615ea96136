"""The prediction job: a model folder loaded by its recorded class, one function that scores a chunk into rows.

``empathy-cause predict`` and ``evaluate`` (chunk by chunk, in one process) and
the Dask workers (partition by partition, :mod:`empathy_cause.distributed`) run
the same :func:`score_chunk`, so every road writes the same columns
(:data:`PREDICTION_COLUMNS`, then the columns kept with ``keep_columns``), and a
chunk's probabilities come back inside the rows they belong to.

The output carries the input's own ``pair_id`` and ``thread_id`` (the text the
file holds, or ids derived from the content when it has none), so
``predictions.merge(pairs, on="pair_id")`` joins every prediction to its pair.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..data.frame import PAIR_ID, POST, REPLY, SENTENCE_INDEX, THREAD_ID, derive_pair_ids

__all__ = ["PREDICTION_COLUMNS", "load_model_folder", "prediction_table", "score_chunk", "kept_columns"]

#: The columns of every prediction table, in order; columns kept from the input follow them.
PREDICTION_COLUMNS = (PAIR_ID, THREAD_ID, SENTENCE_INDEX, "sentence", "probability", "prediction")
_NOT_KEPT = (POST, REPLY, SENTENCE_INDEX, PAIR_ID, THREAD_ID)


def _model_classes() -> dict:
    """The estimators a model folder may hold, by the class name its config.json records."""
    from ..baselines.qa import QAClassifier
    from ..network.classifier import EmpathyCauseClassifier

    return {cls.__name__: cls for cls in (EmpathyCauseClassifier, QAClassifier)}


def load_model_folder(path, **overrides):
    """The estimator saved in a model folder, loaded by the class its ``config.json`` records.

    Parameters
    ----------
    path : str or path-like
        A folder written by an estimator's ``save``.
    **overrides
        Passed to that class's ``load`` (e.g. ``threshold=0.4``, ``device="cuda"``).

    Raises
    ------
    ModelFileError
        For a class this version does not know, and for everything its ``load`` refuses.
    """
    from ..network.classifier import EmpathyCauseClassifier
    from ..network.model_files import CONFIG_FILE, ModelFileError

    classes = _model_classes()
    config = Path(path) / CONFIG_FILE
    try:
        recorded = json.loads(config.read_bytes()[:1_000_000]).get("class")
    except (OSError, ValueError, AttributeError):
        recorded = None  # let load() name what is wrong with the folder
    if recorded is not None and recorded not in classes:
        raise ModelFileError(f"{config}: the model is a {recorded!r}; this version loads {sorted(classes)}")
    return classes.get(recorded, EmpathyCauseClassifier).load(path, **overrides)


def kept_columns(columns, keep_columns) -> list:
    """The input columns a prediction table passes through: none (None), every other one ("all"), or those named.

    Parameters
    ----------
    columns : sequence of str
        The sentence-row frame's columns.
    keep_columns : None, "all" or sequence of str
    """
    others = [c for c in columns if c not in _NOT_KEPT]
    if keep_columns is None:
        return []
    if isinstance(keep_columns, str):
        if keep_columns != "all":
            raise ValueError(f"keep_columns must be None, 'all' or a list of column names, got {keep_columns!r}")
        return others
    keep = list(keep_columns)
    missing = [c for c in keep if c not in columns]
    if missing:
        raise ValueError(f"keep_columns: no column(s) {missing} in the input; its other columns are {others}")
    clash = [c for c in keep if c in PREDICTION_COLUMNS or c in (POST, REPLY)]
    if clash:
        raise ValueError(f"keep_columns: {clash} are prediction columns already (or the post and reply texts); "
                         f"keep other columns: {others}")
    return keep


def prediction_table(X: pd.DataFrame, proba, threshold: float, *, keep_columns=None) -> pd.DataFrame:
    """The prediction rows of ``X`` given its cause probabilities: :data:`PREDICTION_COLUMNS`, then the kept columns.

    ``pair_id`` and ``thread_id`` are X's own (derived from the content when X
    has none, as ``validate_frame`` derives them); ``sentence`` is the row's post
    sentence; ``prediction`` is ``probability >= threshold``. X's index is kept.
    """
    proba = np.asarray(proba, dtype=np.float64)
    pair_ids = X[PAIR_ID].to_numpy(dtype=object) if PAIR_ID in X.columns else derive_pair_ids(X)
    table = pd.DataFrame({
        PAIR_ID: pair_ids,
        THREAD_ID: X[THREAD_ID].to_numpy(dtype=object) if THREAD_ID in X.columns else pair_ids,
        SENTENCE_INDEX: X[SENTENCE_INDEX].to_numpy(dtype=np.int64),
        "sentence": [post[i] for post, i in zip(X[POST], X[SENTENCE_INDEX], strict=True)],
        "probability": proba,
        "prediction": (proba >= threshold).astype(np.int64),
    }, index=X.index)
    for column in kept_columns(X.columns, keep_columns):
        table[column] = X[column].to_numpy()
    return table


def score_chunk(model, X: pd.DataFrame, *, keep_columns=None) -> pd.DataFrame:
    """Score one chunk of sentence rows: its prediction table (the one job of every prediction road).

    Parameters
    ----------
    model : fitted estimator
        With ``predict_proba`` on the sentence-row frame and ``decision_threshold()``.
    X : pandas.DataFrame
        Sentence rows (validated by ``predict_proba``).
    keep_columns : None, "all" or list of str
        Input columns to pass through (:func:`kept_columns`).
    """
    kept_columns(X.columns, keep_columns)  # a bad name fails before any scoring
    proba = model.predict_proba(X)[:, 1] if len(X) else np.empty(0)
    return prediction_table(X, proba, model.decision_threshold(), keep_columns=keep_columns)
