"""EmpathyCauseClassifier composed with scikit-learn, imbalanced-learn and Optuna objects."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.model_selection import TunedThresholdClassifierCV
from sklearn.pipeline import Pipeline

from empathy_cause import EmpathyCauseClassifier, ThreadKFold, load_demo
from empathy_cause.data import validate_frame
from empathy_cause.model_selection.inspection import attach_validation, criterion_loss
from empathy_cause.preprocessing import TextPreprocessor, balance_dataset, lemmatizer_available, remove_stopwords
from tests.tiny_models import make_tiny_bert


@pytest.fixture(scope="module")
def tiny_encoder(tmp_path_factory):
    return str(make_tiny_bert(tmp_path_factory.mktemp("composition") / "bert"))


@pytest.fixture(scope="module")
def data():
    X, y, _ = load_demo()
    return X, y


@pytest.fixture
def clf(tiny_encoder):
    return EmpathyCauseClassifier(tiny_encoder, max_epochs=1, hidden_size=16, random_state=0)


def test_tuned_threshold(clf, data):
    X, y = data
    model = TunedThresholdClassifierCV(clf, scoring="f1", cv=ThreadKFold(2)).fit(X, y)
    assert model.predict(X).shape == (len(X),)
    assert model.predict_proba(X).shape == (len(X), 2)
    assert 0.0 <= model.best_threshold_ <= 1.0


def test_undersampling_pipeline(clf, data):
    from imblearn.pipeline import Pipeline as ImbPipeline
    from imblearn.under_sampling import RandomUnderSampler

    X, y = data
    model = ImbPipeline([("under", RandomUnderSampler(random_state=0)), ("clf", clf)]).fit(X, y)
    assert model.predict(X).shape == (len(X),)
    # Training saw a balanced subset of rows (partial pairs, full context).
    history = model[-1].history_
    assert len(history) == 1


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
@pytest.mark.filterwarnings("ignore:.*optuna.terminator.*:FutureWarning")
def test_optuna_search(clf, data):
    from optuna.distributions import CategoricalDistribution, FloatDistribution
    from optuna_integration import OptunaSearchCV

    X, y = data
    space = {"lr": FloatDistribution(1e-4, 1e-3, log=True),
             "loss": CategoricalDistribution(["focal", "ce"])}
    search = OptunaSearchCV(clf, space, cv=ThreadKFold(2), n_trials=2, scoring="f1",
                            random_state=0).fit(X, y)
    assert len(search.trials_) == 2
    assert all(np.isfinite(t.value) for t in search.trials_)
    assert search.predict(X).shape == (len(X),)


def test_preprocessing_pipeline(clf, data):
    X, y = data
    model = Pipeline([("prep", TextPreprocessor(remove_stopwords=True)), ("clf", clf)]).fit(X, y)
    assert model.predict_proba(X).shape == (len(X), 2)


def test_predefined_validation(clf, data):
    X, y = data
    threads = X["thread_id"].to_numpy()
    valid = np.isin(threads, pd.unique(threads)[:3])
    model = attach_validation(clone(clf).set_params(max_epochs=2),
                              X[~valid], y[~valid], X[valid], y[valid])
    model.fit(X[~valid].reset_index(drop=True), y[~valid])
    assert "valid_f1" in model.history_[-1]
    # Early stopping scored exactly the held-out rows.
    assert sum(model.history_[-1, "batches", :, "valid_batch_size"]) == valid.sum()
    loss = criterion_loss(model, X[valid], y[valid])
    assert np.isfinite(loss) and loss > 0


def test_text_preprocessor_keeps_rows_and_sentences(data):
    X, y = data
    out = TextPreprocessor(remove_stopwords=True).fit_transform(X)
    assert len(out) == len(X)
    assert [len(p) for p in out["post"]] == [len(p) for p in X["post"]]
    assert (out["sentence_index"] == X["sentence_index"]).all()
    validate_frame(out, y)
    assert remove_stopwords("I am so tired of this.") == "tired."
    assert remove_stopwords("It is what it is.") == "."


@pytest.mark.skipif(not lemmatizer_available(), reason="simplemma not installed")
def test_lemmatizer(data):
    X, _ = data
    prep = TextPreprocessor(lemmatize=True)
    assert prep.rewrite("my pimples were hurting") == "my pimple be hurt"
    out = prep.fit_transform(X)
    assert len(out) == len(X)


@pytest.mark.parametrize("keep_context", [False, True])
def test_balance_dataset(data, keep_context):
    X, y = data
    Xb, yb = balance_dataset(X, y, keep_context=keep_context, random_state=0)
    assert yb.sum() == y.sum() and (yb == 0).sum() == y.sum()
    Xb, yb = validate_frame(Xb, yb)
    if keep_context:
        assert set(map(tuple, Xb["post"])) <= set(map(tuple, X["post"]))
    else:
        def sentences_per_pair(frame):
            return frame.drop_duplicates("pair_id").set_index("pair_id")["post"].map(len)
        before, after = sentences_per_pair(X), sentences_per_pair(Xb)
        removed = before[after.index] - after
        # Each pair lost exactly its removed rows' sentences.
        assert removed.sum() == len(X) - len(Xb) - before.drop(after.index).sum()
    # Every remaining row still points at its own sentence.
    original = {(p, s) for p, post, i in zip(X["pair_id"], X["post"], X["sentence_index"])
                for s in [post[i]]}
    kept = {(p, post[i]) for p, post, i in zip(Xb["pair_id"], Xb["post"], Xb["sentence_index"])}
    assert kept <= original
