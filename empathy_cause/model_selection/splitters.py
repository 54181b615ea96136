"""Thread-aware splitters for the sentence-row frame.

Rows of one pair share their post, and pairs of one thread share their
conversation, so splitting rows at random leaks text between training and
evaluation. These splitters read the thread of each row from ``X`` itself, so
``GridSearchCV(clf, grid, cv=ThreadKFold(5))`` or
``cross_val_score(clf, X, y, cv=ThreadKFold(5))`` is group-aware without
passing ``groups=`` (and without metadata routing).
"""

import numbers

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupKFold, GroupShuffleSplit
from sklearn.model_selection._split import BaseCrossValidator
from sklearn.utils import check_random_state

from ..data.frame import PAIR_ID, POST, REPLY, THREAD_ID, check_pair_threads, derive_pair_ids

__all__ = ["ThreadKFold", "ThreadShuffleSplit", "ThreadValidSplit", "train_valid_test_split"]


def _resolve_groups(X, groups=None, thread_column=THREAD_ID):
    """Return the group (thread) of each row of ``X``.

    In order: ``groups`` when given, else ``X[thread_column]``, else
    ``X["pair_id"]``, else pair ids derived from the post and reply.
    """
    if groups is not None:
        return np.asarray(groups)
    if isinstance(X, pd.DataFrame):
        if thread_column in X.columns:
            check_pair_threads(X, thread_column)  # a pair in two threads would leak across the split
            return X[thread_column].to_numpy()
        if PAIR_ID in X.columns:
            return X[PAIR_ID].to_numpy()
        if POST in X.columns and REPLY in X.columns:
            return derive_pair_ids(X)
    raise ValueError(
        f"cannot tell the thread of each row: pass groups=, or a DataFrame X "
        f"with a '{thread_column}', '{PAIR_ID}' or '{POST}' and '{REPLY}' "
        f"columns (got {type(X).__name__})."
    )


class _ThreadSplitter(BaseCrossValidator):
    """Split by thread, with groups resolved from ``X`` when not given.

    Subclasses set ``_make_splitter`` to build the scikit-learn group
    splitter they delegate to.
    """

    # With metadata routing enabled, ask for ``groups`` like GroupKFold does.
    __metadata_request__split = {"groups": True}

    def _make_splitter(self):
        raise NotImplementedError

    def split(self, X, y=None, groups=None):
        """Generate train/test row indices, never sharing a thread.

        Parameters
        ----------
        X : pandas.DataFrame or array-like
            The sentence-row frame (or anything, when ``groups`` is given).
        y : array-like, optional
            Ignored; present for API compatibility.
        groups : array-like, optional
            The thread of each row. By default it is read from ``X``: the
            ``thread_column``, else ``pair_id``, else content-derived pair
            ids.

        Yields
        ------
        train, test : numpy.ndarray
            Row positions.
        """
        groups = _resolve_groups(X, groups, self.thread_column)
        yield from self._make_splitter().split(
            np.zeros((len(groups), 1)), y, groups)

    def get_n_splits(self, X=None, y=None, groups=None):
        """Return the number of splits.

        Parameters
        ----------
        X, y, groups : object
            Ignored; present for API compatibility.

        Returns
        -------
        int
        """
        return self.n_splits


class ThreadKFold(_ThreadSplitter):
    """K-fold cross-validation by thread (a ``GroupKFold`` reading X).

    Every thread falls in exactly one test fold, so no conversation (and no
    post) is in both the training and the test part of a split.

    Parameters
    ----------
    n_splits : int, default 5
        Number of folds, at least 2 and at most the number of threads.
    thread_column : str, default "thread_id"
        The column of ``X`` holding the thread id.
    shuffle : bool, default False
        Shuffle the threads before assigning them to folds (GroupKFold's
        ``shuffle``); otherwise folds are balanced by size.
    random_state : int, RandomState or None, default None
        Seed of the shuffle; only allowed with ``shuffle=True``.

    Examples
    --------
    >>> from sklearn.dummy import DummyClassifier
    >>> from sklearn.model_selection import cross_val_score
    >>> from empathy_cause.data import load_demo
    >>> X, y, _ = load_demo()
    >>> scores = cross_val_score(DummyClassifier(), X, y, cv=ThreadKFold(4))
    """

    def __init__(self, n_splits=5, *, thread_column=THREAD_ID, shuffle=False,
                 random_state=None):
        self.n_splits = n_splits
        self.thread_column = thread_column
        self.shuffle = shuffle
        self.random_state = random_state

    def _make_splitter(self):
        return GroupKFold(self.n_splits, shuffle=self.shuffle,
                          random_state=self.random_state)


class ThreadShuffleSplit(_ThreadSplitter):
    """Random train/test splits by thread (a ``GroupShuffleSplit`` reading X).

    Parameters
    ----------
    n_splits : int, default 1
        Number of re-shuffled splits.
    test_size : float or int, default 0.1
        Fraction (float) or number (int) of threads in the test part.
    thread_column : str, default "thread_id"
        The column of ``X`` holding the thread id.
    random_state : int, RandomState or None, default None
        Seed of the shuffles.
    """

    def __init__(self, n_splits=1, *, test_size=0.1, thread_column=THREAD_ID,
                 random_state=None):
        self.n_splits = n_splits
        self.test_size = test_size
        self.thread_column = thread_column
        self.random_state = random_state

    def _make_splitter(self):
        return GroupShuffleSplit(self.n_splits, test_size=self.test_size,
                                 random_state=self.random_state)


class ThreadValidSplit:
    """A skorch ``train_split`` that holds out a share of the threads, never of the rows.

    The estimators' internal validation split (``validation_fraction``) is
    this object, in the way skorch's default is its ``ValidSplit``; pass one
    as ``train_split=`` to set it yourself. Called with the estimator's
    dataset (a :class:`~empathy_cause.network.batching.PairRows`), it returns the
    training and validation subsets, split with scikit-learn's
    ``GroupShuffleSplit`` over the rows' threads.

    Parameters
    ----------
    fraction : float
        Share of the threads held out (0 < fraction < 1).
    random_state : int or None, default=None
    """

    def __init__(self, fraction, *, random_state=None):
        self.fraction = fraction
        self.random_state = random_state

    def __call__(self, dataset, y=None, **fit_params):
        threads = dataset.row_thread[dataset.rows]
        if len(np.unique(threads)) < 2:
            raise ValueError(
                "the internal validation split needs at least 2 threads (conversations); "
                "pass validation_fraction=None to train without early stopping"
            )
        splitter = GroupShuffleSplit(n_splits=1, test_size=self.fraction, random_state=self.random_state)
        train, valid = next(splitter.split(threads, groups=threads))
        return dataset.subset(train), dataset.subset(valid)

    def __repr__(self):
        return f"{type(self).__name__}({self.fraction!r}, random_state={self.random_state!r})"


def _n_groups(size, n_groups, name):
    """Turn a fraction or count of threads into a count."""
    if isinstance(size, numbers.Integral) and size >= 0:
        return int(size)
    if isinstance(size, numbers.Real) and 0 <= size < 1:
        return int(np.ceil(size * n_groups))  # as GroupShuffleSplit rounds
    raise ValueError(
        f"{name} must be a fraction in [0, 1) or a number of threads, got "
        f"{size!r}."
    )


def _split_off(rows, groups, n_part, rng):
    """Split ``rows`` by group into (rest, part) with ``n_part`` groups."""
    if n_part == 0:
        return rows, rows[:0]
    splitter = GroupShuffleSplit(1, test_size=n_part, random_state=rng)
    rest, part = next(splitter.split(rows, groups=groups[rows]))
    return rows[rest], rows[part]


def train_valid_test_split(X, y=None, *, valid_size=0.1, test_size=0.1,
                           random_state=None):
    """Split a sentence-row frame into train, validation and test by thread.

    The paper's protocol is a random 80/10/10 split; here whole threads are
    drawn, so no thread (and no post) is in two parts.

    Parameters
    ----------
    X : pandas.DataFrame
        The sentence-row frame; threads are read as in :class:`ThreadKFold`.
    y : array-like of shape (n_rows,), optional
        The labels.
    valid_size, test_size : float or int, default 0.1
        Fraction (float) or number (int) of threads in the validation and
        the test part. Fractions are of all threads; 0 gives an empty part.
    random_state : int, RandomState or None, default None
        Seed of the draw.

    Returns
    -------
    X_train, X_valid, X_test : pandas.DataFrame
        The parts, each with a fresh RangeIndex, rows in their original
        order.
    y_train, y_valid, y_test : numpy.ndarray or None
        The matching labels (None when ``y`` is None).
    """
    if not isinstance(X, pd.DataFrame):
        raise TypeError(
            f"X must be a pandas DataFrame, got {type(X).__name__}."
        )
    groups = _resolve_groups(X)
    if y is not None:
        y = np.asarray(y)
        if len(y) != len(X):
            raise ValueError(
                f"y has {len(y)} entries but X has {len(X)} rows."
            )
    n_groups = len(pd.unique(groups))
    n_test = _n_groups(test_size, n_groups, "test_size")
    n_valid = _n_groups(valid_size, n_groups, "valid_size")
    if n_test + n_valid >= n_groups:
        raise ValueError(
            f"{n_valid} validation and {n_test} test threads leave no "
            f"training thread out of {n_groups}."
        )
    rng = check_random_state(random_state)
    rest, test = _split_off(np.arange(len(X)), groups, n_test, rng)
    train, valid = _split_off(rest, groups, n_valid, rng)
    parts = [np.sort(p) for p in (train, valid, test)]
    X_parts = [X.iloc[p].reset_index(drop=True) for p in parts]
    y_parts = [None if y is None else y[p] for p in parts]
    return (*X_parts, *y_parts)
