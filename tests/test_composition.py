"""EmpathyCauseClassifier composed with scikit-learn, imbalanced-learn and Optuna objects."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.model_selection import TunedThresholdClassifierCV
from sklearn.pipeline import Pipeline

from empathy_cause import EmpathyCauseClassifier, ThreadKFold
from empathy_cause.model_selection.unwrap import attach_validation, criterion_loss
from empathy_cause.preprocessing import TextPreprocessor


@pytest.fixture
def clf(tiny_bert):
    return EmpathyCauseClassifier(tiny_bert, max_epochs=1, hidden_size=16, random_state=0)


def test_tuned_threshold(clf, demo):
    X, y, _ = demo
    model = TunedThresholdClassifierCV(clf, scoring="f1", cv=ThreadKFold(2)).fit(X, y)
    assert model.predict(X).shape == (len(X),)
    assert model.predict_proba(X).shape == (len(X), 2)
    assert 0.0 <= model.best_threshold_ <= 1.0


def test_undersampling_pipeline(clf, demo):
    from imblearn.pipeline import Pipeline as ImbPipeline
    from imblearn.under_sampling import RandomUnderSampler

    X, y, _ = demo
    model = ImbPipeline([("under", RandomUnderSampler(random_state=0)), ("clf", clf)]).fit(X, y)
    assert model.predict(X).shape == (len(X),)
    # Training saw a balanced subset of rows (partial pairs, full context).
    history = model[-1].history_
    assert len(history) == 1


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
@pytest.mark.filterwarnings("ignore:.*optuna.terminator.*:FutureWarning")
def test_optuna_search(clf, demo):
    from optuna.distributions import CategoricalDistribution, FloatDistribution
    from optuna_integration import OptunaSearchCV

    X, y, _ = demo
    space = {"lr": FloatDistribution(1e-4, 1e-3, log=True),
             "loss": CategoricalDistribution(["focal", "ce"])}
    search = OptunaSearchCV(clf, space, cv=ThreadKFold(2), n_trials=2, scoring="f1",
                            random_state=0).fit(X, y)
    assert len(search.trials_) == 2
    assert all(np.isfinite(t.value) for t in search.trials_)
    assert search.predict(X).shape == (len(X),)


def test_preprocessing_pipeline(clf, demo):
    X, y, _ = demo
    model = Pipeline([("prep", TextPreprocessor(remove_stopwords=True)), ("clf", clf)]).fit(X, y)
    assert model.predict_proba(X).shape == (len(X), 2)


def test_predefined_validation(clf, demo):
    X, y, _ = demo
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
