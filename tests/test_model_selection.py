"""Thread-aware splitters."""

import numpy as np
import pandas as pd
import pytest
from sklearn.dummy import DummyClassifier
from sklearn.model_selection import GridSearchCV, cross_val_score

from empathy_cause.data import PAIR_ID, THREAD_ID, derive_pair_ids, load_demo
from empathy_cause.model_selection.splitters import (
    ThreadKFold,
    ThreadShuffleSplit,
    train_valid_test_split,
)


@pytest.fixture(scope="module")
def demo():
    return load_demo()


def _threads(X, rows):
    return set(X[THREAD_ID].iloc[rows])


@pytest.mark.parametrize("cv", [
    ThreadKFold(4),
    ThreadKFold(3, shuffle=True, random_state=0),
    ThreadShuffleSplit(5, test_size=0.25, random_state=0),
])
def test_no_thread_in_train_and_test(demo, cv):
    X, y, _ = demo
    splits = list(cv.split(X, y))
    assert len(splits) == cv.get_n_splits(X, y)
    for train, test in splits:
        assert len(train) and len(test)
        assert len(train) + len(test) == len(X) or isinstance(
            cv, ThreadShuffleSplit)
        assert not _threads(X, train) & _threads(X, test)


def test_kfold_tests_every_thread_once(demo):
    X, y, _ = demo
    tested = np.concatenate([test for _, test in ThreadKFold(4).split(X)])
    assert sorted(tested) == list(range(len(X)))


def test_group_resolution_order(demo):
    X, y, groups = demo
    # groups= wins over the frame's columns.
    by_pair = X[PAIR_ID].to_numpy()
    for train, test in ThreadKFold(5).split(X, groups=by_pair):
        assert not set(by_pair[train]) & set(by_pair[test])
    # Without a thread column: pair_id; without it: content-derived ids.
    no_thread = X.drop(columns=THREAD_ID)
    no_ids = X.drop(columns=[THREAD_ID, PAIR_ID])
    derived = derive_pair_ids(no_ids)
    for frame, key in [(no_thread, by_pair), (no_ids, derived)]:
        for train, test in ThreadKFold(5).split(frame):
            assert not set(key[train]) & set(key[test])
    # A custom thread column.
    renamed = X.rename(columns={THREAD_ID: "conversation"})
    a = [t.tolist() for _, t in ThreadKFold(4).split(X)]
    b = [t.tolist() for _, t in
         ThreadKFold(4, thread_column="conversation").split(renamed)]
    assert a == b
    with pytest.raises(ValueError, match="pass groups="):
        next(ThreadKFold(2).split(np.zeros((4, 2))))


def test_works_inside_sklearn_search(demo):
    X, y, _ = demo
    scores = cross_val_score(DummyClassifier(strategy="stratified",
                                             random_state=0),
                             X, y, cv=ThreadKFold(4))
    assert scores.shape == (4,)
    search = GridSearchCV(DummyClassifier(),
                          {"strategy": ["most_frequent", "prior"]},
                          cv=ThreadShuffleSplit(3, random_state=0))
    search.fit(X, y)
    assert search.n_splits_ == 3


def test_splitters_are_clonable_and_validate_options():
    cv = ThreadKFold(3, shuffle=True, random_state=1)
    assert cv.get_n_splits() == 3
    assert "ThreadKFold(n_splits=3" in repr(cv)
    assert ThreadShuffleSplit(2).get_n_splits() == 2
    with pytest.raises(ValueError, match="random_state"):
        next(ThreadKFold(2, random_state=0).split(
            pd.DataFrame({THREAD_ID: [1, 2, 3]})))


def test_train_valid_test_split(demo):
    X, y, _ = demo
    X_train, X_valid, X_test, y_train, y_valid, y_test = \
        train_valid_test_split(X, y, valid_size=0.2, test_size=0.2,
                               random_state=0)
    parts = [X_train, X_valid, X_test]
    assert sum(map(len, parts)) == len(X)
    assert [len(p) for p in (y_train, y_valid, y_test)] == \
        [len(p) for p in parts]
    threads = [set(p[THREAD_ID]) for p in parts]
    assert [len(t) for t in threads] == [8, 4, 4]  # ceil(0.2 * 16) = 4
    assert not (threads[0] & threads[1] or threads[0] & threads[2]
                or threads[1] & threads[2])
    for part in parts:
        assert isinstance(part.index, pd.RangeIndex)
    # Labels follow their rows; the same seed gives the same split.
    merged = pd.concat(parts).assign(y=np.concatenate(
        [y_train, y_valid, y_test]))
    key = [PAIR_ID, "sentence_index"]
    expected = X.assign(y=y).set_index(key)["y"]
    assert (merged.set_index(key)["y"].sort_index()
            == expected.sort_index()).all()
    again = train_valid_test_split(X, y, valid_size=0.2, test_size=0.2,
                                   random_state=0)
    pd.testing.assert_frame_equal(again[2], X_test)


def test_train_valid_test_split_options_and_errors(demo):
    X, y, _ = demo
    X_train, X_valid, X_test, y_train, y_valid, y_test = \
        train_valid_test_split(X, valid_size=0, test_size=2, random_state=0)
    assert len(X_valid) == 0 and X_test[THREAD_ID].nunique() == 2
    assert y_train is None and y_test is None
    with pytest.raises(ValueError, match="no training thread"):
        train_valid_test_split(X, y, valid_size=0.5, test_size=0.5)
    with pytest.raises(ValueError, match="test_size must be"):
        train_valid_test_split(X, y, test_size=1.5)
    with pytest.raises(ValueError, match="3 entries but X has"):
        train_valid_test_split(X, [0, 1, 0])
    with pytest.raises(TypeError, match="DataFrame"):
        train_valid_test_split(np.zeros((3, 2)), [0, 1, 0])


# ------------------------------------------- plain integer cv: folds split posts


def _leak_warnings(record):
    return [w for w in record if "folds split posts" in str(w.message)]


@pytest.mark.usefixtures("one_torch_thread")
def test_a_plain_integer_cv_warns_that_folds_split_posts_and_thread_folds_do_not(tiny_bert, demo):
    import warnings

    from imblearn.pipeline import make_pipeline
    from imblearn.under_sampling import RandomUnderSampler

    from empathy_cause import EmpathyCauseClassifier

    X, y, groups = demo
    keep = np.isin(groups, np.unique(groups)[:6])
    X, y = X[keep].reset_index(drop=True), y[keep]
    clf = EmpathyCauseClassifier(encoder=tiny_bert, max_epochs=1, validation_fraction=None, threshold=0.5,
                                 hidden_size=16, precision="fp32", random_state=0, verbose=0)
    grid = {"lr": [1e-3]}
    with pytest.warns(UserWarning, match=r"folds split posts\. Pass cv=ThreadKFold\(n\)"):
        GridSearchCV(clf, grid, cv=3, scoring="f1").fit(X, y)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        GridSearchCV(clf, grid, cv=ThreadKFold(3), scoring="f1").fit(X, y)
        fitted = clf.fit(X, y)
        fitted.predict(X)  # fit(X).predict(X): every row was trained on
        train, test = next(ThreadShuffleSplit(test_size=0.3, random_state=0).split(X))
        pipe = make_pipeline(RandomUnderSampler(random_state=0), clf).fit(X.iloc[train], y[train])
        pipe.predict(X.iloc[train])  # the sampler dropped rows of training pairs: still no leak
        pipe.predict(X.iloc[test])
    assert not _leak_warnings(record)
    with pytest.warns(UserWarning, match="folds split posts"):  # held-out sentences of trained pairs
        clf.fit(X.iloc[::2], y[::2]).predict_proba(X.iloc[1::2])
