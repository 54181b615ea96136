"""The network estimators: EmpathyCauseClassifier and the parts it shares with QAClassifier.

The base (``_base``), its parameter bookkeeping (``_params``), skorch callbacks
(``callbacks``), the dataset, collate function and batch samplers (``batching``),
the losses (``losses``), the torch modules (``modules``), the model folder
(``model_files``) and the co-attention estimator (``classifier``).
"""

from ._base import BaseCauseClassifier, softmax_rows
from .classifier import EmpathyCauseClassifier
from .model_files import ModelFileError

__all__ = ["EmpathyCauseClassifier", "BaseCauseClassifier", "softmax_rows", "ModelFileError"]
