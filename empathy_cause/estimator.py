"""Old import paths, kept only so that objects pickled by earlier versions still load.

Nothing in the package imports this module's names; import from the new homes.
The package's first restructuring split the estimators' single module
``empathy_cause.estimator`` into the modules now in :mod:`empathy_cause.network`
(EmpathyCauseClassifier, BaseCauseClassifier, formerly PairRowsClassifier,
ModelFileError, FORMAT_VERSION, the threshold helpers); the second moved the
top-level modules into rooms. A joblib or pickle file names the module of every
object it holds (the estimator, its torch module, loss, callbacks, samplers,
train split), so this module re-exports the first split's names and
:data:`MOVED` maps each former module path to its new one; ``empathy_cause``
installs the finder at import, so ``empathy_cause.classifier`` and the like
still resolve (to the new module object itself, not a copy). One table here
rather than a stub file per old path.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

from .network._base import BaseCauseClassifier, softmax_rows
from .network.callbacks import best_threshold_f1
from .network.classifier import EmpathyCauseClassifier
from .network.model_files import FORMAT_VERSION, ModelFileError
from .network.selection import choose_threshold as best_f1_threshold

#: The base's former name.
PairRowsClassifier = BaseCauseClassifier

#: Former module path -> the module that holds its code now.
MOVED = {
    "empathy_cause._base": "empathy_cause.network._base",
    "empathy_cause._params": "empathy_cause.network._params",
    "empathy_cause.batching": "empathy_cause.network.batching",
    "empathy_cause.callbacks": "empathy_cause.network.callbacks",
    "empathy_cause.classifier": "empathy_cause.network.classifier",
    "empathy_cause.losses": "empathy_cause.network.losses",
    "empathy_cause.model_files": "empathy_cause.network.model_files",
    "empathy_cause.modules": "empathy_cause.network.modules",
    "empathy_cause.pretrained": "empathy_cause.encoders.pretrained",
    "empathy_cause.streaming": "empathy_cause.prediction.streaming",
    "empathy_cause.distributed": "empathy_cause.prediction.distributed",
    "empathy_cause.visualize": "empathy_cause.prediction.visualize",
    "empathy_cause.cliargs": "empathy_cause.cli.args",
    "empathy_cause.outputs": "empathy_cause.cli.outputs",
    "empathy_cause.tuning": "empathy_cause.model_selection.tuning",
    "empathy_cause.inspection": "empathy_cause.model_selection.unwrap",
}
# ``empathy_cause.encoders``, ``.model_selection`` and ``.cli`` are packages now that re-export their
# modules' public names, so the old paths of those names need no entry.

__all__ = ["EmpathyCauseClassifier", "BaseCauseClassifier", "PairRowsClassifier", "ModelFileError",
           "FORMAT_VERSION", "softmax_rows", "best_f1_threshold", "best_threshold_f1", "MOVED"]


class _MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Resolves a former module path to the module that holds its code now."""

    def find_spec(self, name, path=None, target=None):
        return importlib.util.spec_from_loader(name, self) if name in MOVED else None

    def create_module(self, spec):
        return importlib.import_module(MOVED[spec.name])

    def exec_module(self, module):
        pass  # the new module is already executed


def install():
    """Put the finder on ``sys.meta_path`` (once)."""
    if not any(isinstance(finder, _MovedModules) for finder in sys.meta_path):
        sys.meta_path.insert(0, _MovedModules())  # before path finders that may still see an old file
