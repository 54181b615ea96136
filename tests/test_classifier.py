"""EmpathyCauseClassifier (network/classifier.py): the sklearn and frame contracts, training, persistence."""

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, GroupKFold, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from empathy_cause import EmpathyCauseClassifier, ThreadKFold, pairs_to_frame


@pytest.fixture
def make_clf(tiny_bert):
    def make(**params):
        defaults = dict(encoder=tiny_bert, max_epochs=2, hidden_size=16, random_state=0)
        return EmpathyCauseClassifier(**{**defaults, **params})
    return make


@pytest.fixture(scope="module")
def fitted(tiny_bert, demo):
    X, y, _ = demo
    return EmpathyCauseClassifier(encoder=tiny_bert, max_epochs=2, hidden_size=16,
                                  random_state=0).fit(X, y)


def test_fit_predict_shapes(fitted, demo):
    X, y, _ = demo
    proba = fitted.predict_proba(X)
    assert proba.shape == (len(X), 2)
    np.testing.assert_allclose(proba.sum(1), 1.0, atol=1e-5)
    assert list(fitted.classes_) == [0, 1]
    assert set(np.unique(fitted.predict(X))) <= {0, 1}
    # 40 pairs: the epoch and the threshold come from cross-fitting, not from a tenth of the threads
    assert fitted.validation_plan_ == "crossfit" and len(fitted.crossfit_f1_) == 2
    assert 1 <= len(fitted.history) <= 2


def test_threshold_drives_predict(fitted, demo):
    X, _, _ = demo
    proba = fitted.predict_proba(X)[:, 1]
    np.testing.assert_array_equal(fitted.predict(X), (proba >= fitted.decision_threshold()).astype(int))
    assert clone(fitted).set_params(threshold=0.3).decision_threshold() == 0.3
    low = clone(fitted).set_params(threshold=0.0)
    low.initialize()
    low.module_.load_state_dict(fitted.module_.state_dict())
    assert low.predict(X).all()


def test_training_lowers_the_loss(make_clf, demo):
    X, y, _ = demo
    clf = make_clf(max_epochs=6, validation_fraction=None, lr=1e-3).fit(X, y)
    losses = [h["train_loss"] for h in clf.history]
    assert losses[-1] < losses[0]


def test_gradient_accumulation_steps_every_k_batches(make_clf, demo):
    """One optimizer step per accumulation_steps batches, and one for an epoch's remainder."""
    X, y, _ = demo
    clf = make_clf(accumulation_steps=3, batch_size=4, validation_fraction=None).fit(X, y)
    batches = [len(epoch["batches"]) for epoch in clf.history_]
    assert any(n % 3 for n in batches)  # the remainder's step is exercised
    steps = {int(state["step"]) for state in clf.optimizer_.state.values()}
    assert steps == {sum(-(-n // 3) for n in batches)}


def test_validation_split_keeps_threads_apart(make_clf, demo):
    X, y, groups = demo
    clf = make_clf()
    clf.seed_ = 0
    train, valid = clf.get_split_datasets(X, y)
    train_threads = set(groups[train.rows])
    valid_threads = set(groups[valid.rows])
    assert valid_threads and not train_threads & valid_threads
    assert len(train) + len(valid) == len(X)


def test_a_thread_split_object_as_train_split(make_clf, demo):
    """ThreadValidSplit is the internal split and a skorch train_split a user can pass."""
    from empathy_cause.model_selection.splitters import ThreadValidSplit

    X, y, groups = demo
    clf = make_clf()
    clf.seed_ = 0
    internal = clf.get_split_datasets(X, y)
    split = ThreadValidSplit(0.1, random_state=0)
    clf.set_params(train_split=split)
    train, valid = clf.get_split_datasets(X, y)
    assert [list(d.rows) for d in (train, valid)] == [list(d.rows) for d in internal]
    assert not set(groups[train.rows]) & set(groups[valid.rows])
    assert "ThreadValidSplit(0.1" in repr(split)


def test_clone_get_set_params_round_trip(make_clf):
    clf = make_clf(loss="weighted", class_weight=(1.0, 3.0))
    params = clf.get_params()
    assert params["loss"] == "weighted" and params["class_weight"] == (1.0, 3.0)
    assert params["optimizer__weight_decay"] == 0.01 and params["optimizer__eps"] == 1e-8
    cloned = clone(clf)
    assert cloned.get_params().keys() == params.keys()
    cloned.set_params(loss="ce", dropout=0.1)
    assert cloned.loss == "ce" and cloned.dropout == 0.1 and clf.loss == "weighted"


def test_grid_search_with_group_kfold(make_clf, demo):
    X, y, groups = demo
    search = GridSearchCV(make_clf(max_epochs=1), {"loss": ["focal", "ce"]},
                          cv=GroupKFold(2), scoring="f1")
    search.fit(X, y, groups=groups)
    assert set(search.cv_results_["param_loss"]) == {"focal", "ce"}
    assert search.best_estimator_.predict(X).shape == (len(X),)


def test_cross_val_score_with_thread_kfold(make_clf, demo):
    X, y, _ = demo
    scores = cross_val_score(make_clf(max_epochs=1), X, y, cv=ThreadKFold(2), scoring="roc_auc")
    assert scores.shape == (2,) and np.isfinite(scores).all()


def test_inside_a_pipeline(make_clf, demo):
    X, y, _ = demo
    pipe = Pipeline([("keep", FunctionTransformer()), ("clf", make_clf(max_epochs=1))]).fit(X, y)
    assert pipe.predict_proba(X).shape == (len(X), 2)


def test_joblib_round_trip(fitted, demo, tmp_path):
    X, _, _ = demo
    joblib.dump(fitted, tmp_path / "model.joblib")
    loaded = joblib.load(tmp_path / "model.joblib")
    np.testing.assert_array_equal(loaded.predict_proba(X), fitted.predict_proba(X))


def test_finetuning_top_layer_only(make_clf, demo):
    X, y, _ = demo
    clf = make_clf(finetune_layers=1, max_epochs=1, validation_fraction=None, lr=1e-2).fit(X, y)
    from empathy_cause.encoders.encoding import load_encoder

    original = load_encoder(clf.encoder)[1]
    tuned = clf.module_.encoder
    assert torch.equal(tuned.embeddings.word_embeddings.weight, original.embeddings.word_embeddings.weight)
    assert torch.equal(tuned.encoder.layer[0].output.dense.weight, original.encoder.layer[0].output.dense.weight)
    assert not torch.equal(tuned.encoder.layer[1].output.dense.weight, original.encoder.layer[1].output.dense.weight)
    assert clf.predict_proba(X).shape == (len(X), 2)


def test_explain_matches_predict_proba(fitted):
    post = ["My skin is a mess.", "I cried all night.", "I use a gentle cleanser."]
    reply = "I am so sorry you cried. You are not alone."
    sentences, attention = fitted.explain(post, reply)
    X, _ = pairs_to_frame([{"post": post, "reply": reply}])
    np.testing.assert_allclose(sentences["probability"], fitted.predict_proba(X)[:, 1], atol=1e-6)
    assert list(attention.columns) == ["I am so sorry you cried.", "You are not alone."]
    np.testing.assert_allclose(attention.sum(axis=1), 1.0, atol=1e-6)


def test_rows_sharing_a_pair_id_must_agree(fitted, demo):
    X, _, _ = demo
    X = X.copy()
    X.loc[1, "reply"] = "a different reply"
    with pytest.raises(ValueError, match="share pair_id"):
        fitted.predict_proba(X)


def test_missing_encoder_path_is_named(demo):
    X, y, _ = demo
    with pytest.raises(FileNotFoundError, match="does not exist"):
        EmpathyCauseClassifier(encoder="./no/such/model").fit(X, y)


def test_auto_threshold_is_tuned_on_validation_and_saved(make_clf, demo, tmp_path):
    X, y, _ = demo
    clf = make_clf(threshold="auto").fit(X, y)
    tuned = clf.tuned_threshold_
    assert 0.05 <= tuned <= 0.95 and clf.decision_threshold() == tuned
    proba = clf.predict_proba(X)[:, 1]
    np.testing.assert_array_equal(clf.predict(X), (proba >= tuned).astype(int))
    assert EmpathyCauseClassifier.load(clf.save(tmp_path / "m")).decision_threshold() == tuned


def test_choose_threshold_prefers_the_f1_maximum():
    from empathy_cause.network.selection import choose_threshold as best_f1_threshold

    y = np.array([0, 0, 0, 1, 1, 1])
    proba = np.array([0.1, 0.2, 0.25, 0.3, 0.35, 0.9])
    assert best_f1_threshold(y, proba) == pytest.approx(0.3)
