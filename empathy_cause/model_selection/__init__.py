"""Model selection: thread-aware splitters (``splitters``).

The searches over the estimator's parameters (``tuning``) and the helpers that reach the
estimator inside pipelines and searches (``unwrap``) are submodules this package does not
import (they import the network estimator, which itself uses the splitters).
"""

from .splitters import ThreadKFold, ThreadShuffleSplit, ThreadValidSplit, train_valid_test_split

__all__ = ["ThreadKFold", "ThreadShuffleSplit", "ThreadValidSplit", "train_valid_test_split"]
