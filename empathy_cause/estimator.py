"""The estimators' former single module, kept so that existing imports (and joblib pickles) still work.

The code now lives in :mod:`empathy_cause.classifier` (EmpathyCauseClassifier),
:mod:`empathy_cause._base` (BaseCauseClassifier, formerly PairRowsClassifier),
:mod:`empathy_cause.model_files` (the model folder: ModelFileError, FORMAT_VERSION)
and :mod:`empathy_cause.callbacks` (threshold tuning, the epoch table). Import
from there; nothing in the package imports this module.
"""

from ._base import BaseCauseClassifier, softmax_rows
from .callbacks import best_f1_threshold, best_threshold_f1
from .classifier import EmpathyCauseClassifier
from .model_files import FORMAT_VERSION, ModelFileError

#: The base's former name.
PairRowsClassifier = BaseCauseClassifier

__all__ = ["EmpathyCauseClassifier", "BaseCauseClassifier", "PairRowsClassifier", "ModelFileError",
           "FORMAT_VERSION", "softmax_rows", "best_f1_threshold", "best_threshold_f1"]
