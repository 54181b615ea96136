"""empathy_cause: find the post sentences that caused the empathy shown in a reply.

Scikit-learn compatible estimators for empathy cause identification
(Bandera, Lee and Parde, AACL-IJCNLP 2025), with the data helpers, loaders and
metrics around them.
"""

from . import estimator as _old_paths
from .data import (
    fetch_reccon,
    frame_to_pairs,
    iter_acnempathize_cause,
    iter_dataset,
    load_acnempathize_cause,
    load_covidet,
    load_dataset,
    load_demo,
    load_ecf,
    load_reccon,
    pairs_to_frame,
    split_sentences,
    validate_frame,
)
from .metrics import cause_metrics
from .model_selection import ThreadKFold, ThreadShuffleSplit, train_valid_test_split
from .network import EmpathyCauseClassifier
from .prediction import iter_frame_chunks, iter_predict_proba

_old_paths.install()  # old pickles name the former module paths (see empathy_cause.estimator)

__version__ = "0.1.0"

__all__ = [
    "EmpathyCauseClassifier",
    "ThreadKFold",
    "ThreadShuffleSplit",
    "cause_metrics",
    "fetch_reccon",
    "frame_to_pairs",
    "iter_acnempathize_cause",
    "iter_dataset",
    "iter_frame_chunks",
    "iter_predict_proba",
    "load_acnempathize_cause",
    "load_dataset",
    "load_demo",
    "load_covidet",
    "load_ecf",
    "load_reccon",
    "pairs_to_frame",
    "split_sentences",
    "train_valid_test_split",
    "validate_frame",
]
