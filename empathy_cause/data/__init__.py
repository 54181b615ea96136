"""Data layer: the sentence-row frame, the splitter and the dataset loaders.

See ``docs/data.md`` for the layout. Every loader returns ``(X, y, groups)``:
the sentence-row frame, one 0/1 label per row and the thread id of each row.
"""

from pathlib import Path

from .acnempathize import iter_acnempathize_cause, load_acnempathize_cause
from .covidet import EXTRACTIVE_FILE as _COVIDET_FILE
from .covidet import load_covidet
from .demo import DEMO_PARAMS, load_demo
from .ecf import SUBSETS as _ECF_SUBSETS
from .ecf import load_ecf
from .files import get_data_home
from .frame import (
    PAIR_ID,
    POST,
    REPLY,
    REQUIRED_COLUMNS,
    SENTENCE_INDEX,
    THREAD_ID,
    derive_pair_ids,
    validate_frame,
)
from .pairs import frame_to_pairs, pairs_to_frame
from .reccon import fetch_reccon, load_reccon
from .sentences import split_sentences

__all__ = [
    "POST",
    "REPLY",
    "SENTENCE_INDEX",
    "PAIR_ID",
    "THREAD_ID",
    "REQUIRED_COLUMNS",
    "split_sentences",
    "validate_frame",
    "derive_pair_ids",
    "pairs_to_frame",
    "frame_to_pairs",
    "load_reccon",
    "fetch_reccon",
    "get_data_home",
    "load_ecf",
    "load_covidet",
    "load_acnempathize_cause",
    "iter_acnempathize_cause",
    "load_demo",
    "DEMO_PARAMS",
    "load_dataset",
]


def load_dataset(path, **kwargs):
    """Load a dataset by name or path.

    Parameters
    ----------
    path : str or path-like
        ``"demo"`` for the built-in demo set (:func:`load_demo`); a
        ``.json`` file, or a folder holding ``dailydialog_*.json`` files,
        for RECCON (:func:`load_reccon`); a ``.txt`` file, or a folder
        holding ``train.txt`` / ``dev.txt`` / ``test.txt``, for ECF
        (:func:`load_ecf`); a folder holding ``CovidET-EXT_anonymized.json``
        for CovidET-EXT (:func:`load_covidet`); a ``.csv`` file in the AcnEmpathize-Cause
        layout (:func:`load_acnempathize_cause`). A folder with neither kind
        of file is read as RECCON (whose error lists the folder).
    **kwargs
        Passed to the loader, e.g. ``subset="valid"`` for RECCON,
        ``subset="dev"`` for ECF or ``post_column=...`` for a CSV.

    Returns
    -------
    X : pandas.DataFrame
        The sentence-row frame.
    y : numpy.ndarray of int64 or None
        The labels, one per row.
    groups : numpy.ndarray
        The thread id of each row.

    Raises
    ------
    ValueError
        When ``path`` is none of the accepted forms.
    """
    if isinstance(path, str) and path == "demo":
        return load_demo(**kwargs)
    if not isinstance(path, (str, Path)):
        raise TypeError(
            f"path must be a str or path, got {type(path).__name__}."
        )
    path = Path(path)
    suffix = path.suffix.lower()
    if path.is_dir() and (path / _COVIDET_FILE).is_file():
        return load_covidet(path, **{"subset": "train", **kwargs})
    if path.is_dir() and not any(path.glob("dailydialog_*.json")) and any(
            (path / f"{subset}.txt").is_file() for subset in _ECF_SUBSETS):
        return load_ecf(path, **{"subset": "train", **kwargs})
    if path.is_dir() or suffix == ".json":
        return load_reccon(path, **{"subset": "train", **kwargs})
    if suffix == ".txt":
        return load_ecf(path, **kwargs)
    if suffix == ".csv":
        return load_acnempathize_cause(path, **kwargs)
    raise ValueError(
        f"cannot tell which dataset {str(path)!r} is. Pass 'demo' for the "
        "built-in demo set, a RECCON folder or .json file, an ECF folder or "
        ".txt file, or an AcnEmpathize-Cause .csv file."
    )
