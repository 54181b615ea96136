"""The old-path shim (empathy_cause/estimator.py): pickles naming former module paths still load."""

import pytest


@pytest.mark.parametrize("old, name", [
    ("empathy_cause.classifier", "EmpathyCauseClassifier"),
    ("empathy_cause._base", "BaseCauseClassifier"),
    ("empathy_cause.modules", "EmpathyCauseNet"),
    ("empathy_cause.losses", "BinaryFocalLoss"),
    ("empathy_cause.callbacks", "TuneThreshold"),
    ("empathy_cause.batching", "PairBatchSampler"),
    ("empathy_cause.model_selection", "ThreadValidSplit"),
    ("empathy_cause.encoders", "SentenceEncoder"),
    ("empathy_cause.tuning", "SearchableClassifier"),
    ("empathy_cause.estimator", "PairRowsClassifier"),
])
def test_pickles_naming_former_module_paths_still_load(old, name):
    """A pickle from before the modules moved into rooms names their old paths; they resolve to today's classes."""
    import importlib
    import pickle

    data = f"c{old}\n{name}\n.".encode()  # a protocol-0 pickle of a class reference, as old files hold
    loaded = pickle.loads(data)
    assert loaded is getattr(importlib.import_module(old), name)
    assert loaded.__module__.split(".")[1] in {"network", "encoders", "model_selection"}
