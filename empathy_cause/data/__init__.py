"""Data layer: the sentence-row frame, the splitter and the dataset loaders.

See ``docs/data.md`` for the layout. Every loader returns ``(X, y, groups)``:
the sentence-row frame, one 0/1 label per row and the thread id of each row.
"""

from .acnempathize import iter_acnempathize_cause, load_acnempathize_cause
from .covidet import load_covidet
from .demo import DEMO_PARAMS, load_demo
from .ecf import load_ecf
from .files import get_data_home
from .formats import FORMATS, find_format, iter_dataset
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
    "iter_dataset",
    "find_format",
    "FORMATS",
]


def load_dataset(path, **options):
    """Load a dataset by name or path: any format of :data:`~empathy_cause.data.formats.FORMATS`.

    Parameters
    ----------
    path : str or path-like
        ``"demo"`` for the built-in demo set (:func:`load_demo`); a folder
        holding ``CovidET-EXT_anonymized.json`` (or one of CovidET's files) for
        CovidET-EXT (:func:`load_covidet`); a folder holding ``train.txt`` /
        ``dev.txt`` / ``test.txt``, or a ``.txt`` file, for ECF
        (:func:`load_ecf`); a folder holding ``dailydialog_*.json``, or a
        ``.json`` file, for RECCON (:func:`load_reccon`); a file of pairs:
        ``.csv`` (the AcnEmpathize-Cause layout among others), ``.tsv``,
        ``.jsonl`` or ``.parquet``, one record per post-reply pair. Anything
        else raises one error that names every format.
    **options
        Passed to the reader: ``subset=`` for the corpora (RECCON, ECF and
        CovidET default to ``"train"``); for a pairs file ``columns=``, a
        mapping of role (``post``, ``reply``, ``labels``, ``pair_id``,
        ``thread_id``) to the file's column name, e.g.
        ``columns={"post": "body", "pair_id": "id"}``; a role left out takes
        its default column (``post_sentences`` or ``post``, ``reply``,
        ``labels``, ``pair_id``, ``thread_id``) when the file has it.

    Returns
    -------
    X : pandas.DataFrame
        The sentence-row frame.
    y : numpy.ndarray of int64 or None
        The labels, one per row (None for an unlabelled pairs file).
    groups : numpy.ndarray
        The thread id of each row.

    Raises
    ------
    ValueError
        When ``path`` is none of the accepted forms, or an option is not one its format takes.
    FileNotFoundError
        When ``path`` does not exist.
    """
    fmt = find_format(path)
    fmt.check_options(path, options)
    return next(iter(fmt.read(path, None, **options)))
