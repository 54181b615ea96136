"""How a fit chooses its epochs and threshold (network/selection.py) and where training starts.

Pins: the plan follows the data's size; cross-fitting picks the epoch and the
threshold from out-of-fold predictions of every training pair and is
deterministic; the threshold rule survives cause-share shifts; a model that
calls every sentence a cause says so; the head starts at the similarity
regression.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import StandardScaler

from empathy_cause import EmpathyCauseClassifier, ThreadKFold
from empathy_cause.network import selection
from empathy_cause.network.selection import choose_threshold, f1_curve, validation_plan


@pytest.fixture
def make_clf(tiny_bert):
    def make(**params):
        defaults = dict(encoder=tiny_bert, max_epochs=3, hidden_size=16, random_state=0)
        return EmpathyCauseClassifier(**{**defaults, **params})
    return make


def test_plan_follows_the_size_of_the_data(make_clf, demo, monkeypatch):
    X, y, _ = demo
    dataset = make_clf().get_dataset(X, y)
    assert validation_plan(make_clf(), dataset) == "crossfit"            # 40 pairs
    assert validation_plan(make_clf(validation_fraction=0.2), dataset) == "split"
    assert validation_plan(make_clf(validation_fraction=None), dataset) is None
    monkeypatch.setattr(selection, "CROSSFIT_MAX_PAIRS", 30)
    assert validation_plan(make_clf(), dataset) == "split"                # "many" pairs: a held-out tenth


def test_crossfit_chooses_epochs_and_threshold_from_out_of_fold_predictions(make_clf, demo):
    X, y, _ = demo
    clf = make_clf().fit(X, y)
    assert clf.validation_plan_ == "crossfit"
    assert clf.crossfit_f1_.shape == (3,) and np.all((0 <= clf.crossfit_f1_) & (clf.crossfit_f1_ <= 1))
    # the final fit trains for the chosen number of epochs, on every row, without a validation split
    assert 1 <= len(clf.history_) <= 3 and "valid_loss" not in clf.history_[-1]
    assert sum(b["train_batch_size"] for b in clf.history_[-1]["batches"]) == len(X)
    assert clf.tuned_threshold_ in selection.THRESHOLD_GRID
    assert 0 <= clf.validation_predicted_rate_ <= 1
    again = make_clf().fit(X, y)
    assert again.tuned_threshold_ == clf.tuned_threshold_
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))


def test_crossfit_keeps_a_fixed_threshold(make_clf, demo):
    X, y, _ = demo
    clf = make_clf(threshold=0.3).fit(X, y)
    assert clf.decision_threshold() == 0.3 and not hasattr(clf, "tuned_threshold_")


def test_crossfit_inside_a_grid_search(make_clf, demo):
    """The fold copies are made from the parameters only (searches attach attributes of their own)."""
    X, y, _ = demo
    search = GridSearchCV(make_clf(max_epochs=1), {"hidden_size": [8, 16]}, cv=ThreadKFold(2), scoring="f1")
    search.fit(X, y)
    assert set(search.cv_results_["param_hidden_size"]) == {8, 16}


def test_threshold_rule_leans_towards_recall_when_the_cause_share_may_shift():
    rng = np.random.default_rng(0)
    y = rng.random(4000) < 0.2
    proba = np.clip(0.35 * y + 0.65 * rng.random(4000), 0, 1)
    plain = choose_threshold(y, proba, prior_shifts=(1.0,))
    robust = choose_threshold(y, proba)
    assert robust <= plain
    # on the same predictions with a quarter more causes, the robust threshold loses less F1
    shifted = f1_curve(y, proba, prior_shifts=(1.25,))
    grid = list(selection.THRESHOLD_GRID)
    assert shifted[grid.index(robust)] >= shifted[grid.index(plain)]


def test_f1_curve_without_shift_is_plain_f1():
    from sklearn.metrics import f1_score

    y = np.array([0, 1, 1, 0, 1, 0, 0, 1])
    proba = np.array([0.1, 0.9, 0.4, 0.6, 0.3, 0.2, 0.8, 0.7])
    curve = f1_curve(y, proba, grid=[0.25, 0.5, 0.75], prior_shifts=(1.0,))
    np.testing.assert_allclose(curve, [f1_score(y, proba >= t) for t in (0.25, 0.5, 0.75)])


def test_a_model_that_marks_everything_says_so(make_clf):
    """Labels no sentence feature can tell apart: the model falls back on calling every sentence a cause."""
    rows = []
    for i in range(30):
        post = tuple(f"Sentence {j} of post {i} is about the weather." for j in range(4))
        rows += [{"post": post, "reply": f"Reply {i}.", "sentence_index": j, "pair_id": f"p{i}",
                  "thread_id": f"t{i}"} for j in range(4)]
    X = pd.DataFrame(rows)
    y = (np.random.default_rng(0).random(len(X)) < 0.75).astype(int)   # 75% causes at random: marking all wins
    with pytest.warns(UserWarning, match="every sentence a cause"):
        clf = make_clf(max_epochs=1, similarity_start=False).fit(X, y)
    assert clf.validation_predicted_rate_ >= 0.9


def test_head_starts_at_the_similarity_regression(make_clf, demo):
    """Before any epoch, the predictions are the regression's on the frozen similarity features."""
    X, y, _ = demo
    clf = make_clf(validation_fraction=None, max_epochs=1, lr=1e-12, dropout=0.0).fit(X, y)
    assert clf.similarity_started_            # "auto": 40 pairs are small data
    module = clf.module_
    dataset = clf.get_dataset(X, y)
    module.eval()
    with torch.no_grad():
        features = np.concatenate([clf.infer(batch, return_similarity=True).numpy()
                                   for batch, _ in clf.get_iterator(dataset, training=False)])
    scaled = StandardScaler().fit(features)
    expected = LogisticRegression(max_iter=1000).fit(scaled.transform(features), y).predict_proba(
        scaled.transform(features))[:, 1]
    np.testing.assert_allclose(clf.predict_proba(X)[:, 1], expected, atol=1e-4)


def test_without_similarity_start_the_module_has_no_wide_path(make_clf, demo):
    X, y, _ = demo
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = make_clf(similarity_start=False, validation_fraction=None, max_epochs=1).fit(X, y)
    assert clf.module_.head.wide is None
    assert not any(name.startswith("head.wide") for name in clf.module_.state_dict())


def test_on_large_data_auto_does_not_start_from_the_regression(make_clf, demo, monkeypatch):
    """On data past the small-data line the wide path starts at zero and the head learns as it did before."""
    X, y, _ = demo
    monkeypatch.setattr(selection, "CROSSFIT_MAX_PAIRS", 30)
    clf = make_clf(validation_fraction=None, max_epochs=1).fit(X, y)
    assert not clf.similarity_started_ and clf.module_.head.wide is not None
    forced = make_clf(validation_fraction=None, max_epochs=1, similarity_start=True).fit(X, y)
    assert forced.similarity_started_
