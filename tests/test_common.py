"""The contract every estimator of the library keeps, run over a registry of them.

In the style of imbalanced-learn's ``test_common.py``: one test per promise
(clone, row order, determinism, save/load, errors), parametrised over the
estimators, instead of a copy of each test per estimator.
"""

import inspect

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from skorch import NeuralNet, NeuralNetClassifier

from empathy_cause import EmpathyCauseClassifier, load_demo
from empathy_cause.baselines import PromptingClassifier, QAClassifier
from tests.tiny_models import save_tiny_gpt2, tiny_bpe_tokenizer

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory, demo_threads):
    X, _, _ = demo_threads
    tokenizer = tiny_bpe_tokenizer([" ".join(post) for post in X["post"]] + ["0,1,0\n"])
    return str(save_tiny_gpt2(tmp_path_factory.mktemp("tiny_lm"), tokenizer, seed=0))


# name -> (factory(tiny_bert, tiny_lm, **params), saves a model folder)
REGISTRY = {
    "EmpathyCauseClassifier": (
        lambda bert, lm, **p: EmpathyCauseClassifier(
            **{"encoder": bert, "hidden_size": 16, "max_epochs": 2, "random_state": 0, **p}), True),
    "QAClassifier": (
        lambda bert, lm, **p: QAClassifier(
            bert, **{"max_epochs": 1, "precision": "fp32", "random_state": 0, **p}), True),
    "PromptingClassifier": (
        lambda bert, lm, **p: PromptingClassifier(
            model=lm, **{"n_shots": 1, "max_new_tokens": 6, "random_state": 0, **p}), False),
}
NAMES = sorted(REGISTRY)
SAVING = [name for name in NAMES if REGISTRY[name][1]]

# skorch settings the skorch-based estimators cannot honour (their own dataset, DataLoader and batches):
# refused by name at fit instead of silently doing nothing.
SKORCH_ROUTES_REFUSED = [
    {"iterator_train__batch_size": 8}, {"iterator_valid__batch_size": 64}, {"iterator_train__shuffle": True},
    {"iterator_train__collate_fn": list}, {"iterator_valid__in_order": False}, {"iterator_train": list},
    {"dataset__length": 3},
]

# Per estimator: parameter values that must be refused when fit starts, before any training.
BAD_PARAMS = {
    "EmpathyCauseClassifier": [
        {"threshold": 1.5}, {"accumulation_steps": 0}, {"batch_size": 0}, {"max_epochs": 0},
        {"lr": -1.0}, {"loss": "hinge"}, {"validation_fraction": 1.0}, {"class_weight": (1.0, -3.0)},
        {"pooling": "max"}, {"finetune_layers": -1}, {"hidden_size": 0}, {"threshold": float("nan")},
        *SKORCH_ROUTES_REFUSED,
    ],
    "QAClassifier": [
        {"threshold": 7.0}, {"max_length": 4}, {"question_template": "no slot"}, {"max_rows_per_epoch": 0},
        {"batch_size": 0}, *SKORCH_ROUTES_REFUSED,
    ],
    "PromptingClassifier": [{"n_shots": -1}, {"max_new_tokens": 0}],
}


@pytest.fixture(scope="module")
def make(tiny_bert, tiny_lm):
    def build(name, **params):
        return REGISTRY[name][0](tiny_bert, tiny_lm, **params)
    return build


@pytest.fixture(scope="module")
def fitted_by_name(make, demo_threads):
    X, y, _ = demo_threads
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = make(name).fit(X, y)
        return cache[name]
    return get


@pytest.mark.parametrize("name", NAMES)
def test_clone_get_params_set_params(make, fitted_by_name, name):
    est = make(name)
    params = est.get_params()
    copy = clone(est)
    assert copy.get_params().keys() == params.keys()
    for key, value in est.get_params(deep=False).items():
        assert copy.get_params(deep=False)[key] is value or copy.get_params(deep=False)[key] == value, key
    copy.set_params(random_state=7)
    assert copy.random_state == 7 and est.random_state == 0
    unfitted = clone(fitted_by_name(name))
    assert unfitted.get_params().keys() == params.keys()
    with pytest.raises((NotFittedError, AttributeError)):
        unfitted.predict(load_demo()[0].iloc[:3])


@pytest.mark.parametrize("name", NAMES)
def test_rows_in_any_order_and_subset(fitted_by_name, demo_threads, name):
    X, _, _ = demo_threads
    est = fitted_by_name(name)
    expected = est.predict_proba(X)
    assert expected.shape == (len(X), 2) and list(est.classes_) == [0, 1]
    np.testing.assert_allclose(expected.sum(1), 1.0, atol=1e-5)
    order = np.random.default_rng(0).permutation(len(X))
    np.testing.assert_allclose(est.predict_proba(X.iloc[order]), expected[order], atol=1e-5)
    subset = order[:23]
    np.testing.assert_allclose(est.predict_proba(X.iloc[subset]), expected[subset], atol=1e-5)
    np.testing.assert_array_equal(est.predict(X.iloc[order]), est.predict(X)[order])


@pytest.mark.parametrize("name", NAMES)
def test_same_random_state_same_predictions(make, fitted_by_name, demo_threads, name):
    X, y, _ = demo_threads
    again = make(name).fit(X, y)
    np.testing.assert_array_equal(again.predict_proba(X), fitted_by_name(name).predict_proba(X))
    if hasattr(again, "module_"):  # trained weights: another seed gives another model
        other = make(name, random_state=4).fit(X, y)
        assert not np.allclose(other.predict_proba(X), again.predict_proba(X))


@pytest.mark.parametrize("name", SAVING)
def test_save_load_round_trip(fitted_by_name, demo_threads, tmp_path, name):
    X, _, _ = demo_threads
    est = fitted_by_name(name)
    folder = est.save(tmp_path / "model")
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.safetensors"]
    assert [p.name for p in tmp_path.iterdir()] == ["model"]  # no temporary folder left behind
    loaded = type(est).load(folder)
    np.testing.assert_allclose(loaded.predict_proba(X), est.predict_proba(X), atol=1e-6)
    assert loaded.decision_threshold() == est.decision_threshold()
    for key in loaded._saved_param_names():
        assert loaded.get_params()[key] == est.get_params()[key], key
    # Re-saving over a model folder replaces it.
    assert type(est).load(est.save(folder)).decision_threshold() == est.decision_threshold()


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("mutate, error, message", [
    (lambda X, y: (X.drop(columns="reply"), y), ValueError, "reply"),
    (lambda X, y: (X, y[:-1]), ValueError, "length|rows"),
    (lambda X, y: (X, np.where(y == 1, 2, y)), ValueError, "0/1|0 or 1|binary"),
    (lambda X, y: (X.iloc[:0], y[:0]), ValueError, "empty"),
    (lambda X, y: (X.assign(sentence_index=99), y), ValueError, "sentence_index"),
    (lambda X, y: (X.assign(post=X["post"].map(" ".join)), y), TypeError, "plain str"),
])
def test_bad_data_gets_a_clear_error(make, demo_threads, name, mutate, error, message):
    X, y, _ = demo_threads
    with pytest.raises(error, match=message):
        make(name).fit(*mutate(X, y))


@pytest.mark.parametrize("name, params", [(n, p) for n in NAMES for p in BAD_PARAMS[n]],
                         ids=lambda v: str(v))
def test_bad_params_are_refused_before_training(make, demo_threads, name, params):
    X, y, _ = demo_threads
    est = make(name, **params)
    with pytest.raises(ValueError, match=next(iter(params))):
        est.fit(X, y)
    assert not getattr(est, "initialized_", False) and not hasattr(est, "examples_")
    if hasattr(est, "partial_fit"):  # skorch's other way in is checked alike
        with pytest.raises(ValueError, match=next(iter(params))):
            est.partial_fit(X, y)
        assert not getattr(est, "initialized_", False)


# A parameter that defines the fitted_by_name model, changed after fit: predict and save must ask for a refit.
MODEL_CHANGES = {"EmpathyCauseClassifier": {"max_length": 8}, "QAClassifier": {"max_length": 16}}


@pytest.mark.parametrize("name", sorted(MODEL_CHANGES))
def test_changing_the_fitted_model_asks_for_a_refit(fitted_by_name, demo_threads, tmp_path, name):
    X, _, _ = demo_threads
    est = fitted_by_name(name)
    expected = est.predict_proba(X)
    original = {key: getattr(est, key) for key in MODEL_CHANGES[name]}
    est.set_params(**MODEL_CHANGES[name])
    try:
        with pytest.raises(NotFittedError, match="fit again"):
            est.predict_proba(X)
        with pytest.raises(NotFittedError, match="fit again"):
            est.save(tmp_path / "model")
    finally:
        est.set_params(**original)
    np.testing.assert_array_equal(est.predict_proba(X), expected)


@pytest.mark.parametrize("name", sorted(MODEL_CHANGES))
def test_training_only_changes_keep_the_fitted_model(fitted_by_name, demo_threads, name):
    """A parameter the lifecycle table calls training-only takes effect at the next fit, not at predict."""
    X, _, _ = demo_threads
    est = fitted_by_name(name)
    expected = est.predict_proba(X)
    original = est.get_params()
    est.set_params(lr=0.5, max_epochs=9, patience=7)
    try:
        np.testing.assert_array_equal(est.predict_proba(X), expected)
    finally:
        est.set_params(**{key: original[key] for key in ("lr", "max_epochs", "patience")})


def test_the_lifecycle_table_lists_declared_parameters_only():
    with pytest.raises(TypeError, match="no_such_parameter"):
        type("Bad", (EmpathyCauseClassifier,), {"_parameter_lifecycle": {"no_such_parameter": "training"}})
    with pytest.raises(TypeError, match="forever"):
        type("Bad", (EmpathyCauseClassifier,), {"_parameter_lifecycle": {"lr": "forever"}})


CLASSES = {"EmpathyCauseClassifier": EmpathyCauseClassifier, "QAClassifier": QAClassifier,
           "PromptingClassifier": PromptingClassifier}


@pytest.mark.parametrize("name", NAMES)
def test_signature_shows_the_defaults(name):
    """help() and inspect.signature show the values an estimator built without arguments uses.

    Parameters not in the signature are skorch's own, at skorch's defaults, or
    routed ones (``optimizer__*``) documented in the docstring.
    """
    cls = CLASSES[name]
    signature = inspect.signature(cls).parameters
    skorch_defaults = {**inspect.signature(NeuralNet).parameters,
                       **inspect.signature(NeuralNetClassifier).parameters}
    for key, value in cls().get_params(deep=False).items():
        if "__" in key or key.startswith("_"):  # routed, or skorch's private bookkeeping
            continue
        declared = signature[key] if key in signature else skorch_defaults[key]
        default = declared.default
        assert value is default or (type(value) is type(default) and value == default), (key, value, default)


# The estimators built on skorch (BaseCauseClassifier).
SKORCH = ["EmpathyCauseClassifier", "QAClassifier"]


@pytest.mark.parametrize("name", SKORCH)
def test_partial_fit_then_predict(make, fitted_by_name, demo_threads, name):
    """partial_fit trains like fit (same seed, same model, threshold tuned) and a second call continues."""
    X, y, _ = demo_threads
    est = make(name).partial_fit(X, y)
    np.testing.assert_array_equal(est.predict_proba(X), fitted_by_name(name).predict_proba(X))
    assert est.decision_threshold() == fitted_by_name(name).decision_threshold() == est.tuned_threshold_
    assert est.predict(X).shape == (len(X),)
    epochs = len(est.history_)
    before = est.predict_proba(X)
    est.partial_fit(X, y)
    assert len(est.history_) > epochs  # continued, not restarted
    assert not np.allclose(est.predict_proba(X), before)
    assert est.predict(X).shape == (len(X),)


@pytest.mark.parametrize("name", SKORCH)
def test_dataloader_settings_reach_the_loader(make, demo_threads, name):
    """iterator_train__* / iterator_valid__* that make sense pass to the DataLoader, deterministically.

    (Training in worker processes draws torch's seed differently from training
    in-process, so the reference is a fit with the same training loader.)
    """
    X, y, _ = demo_threads
    est = make(name, iterator_train__num_workers=1, iterator_valid__num_workers=1, iterator_valid__timeout=30)
    est.fit(X, y)
    dataset = est.get_dataset(X, y)
    assert est.get_iterator(dataset, training=True).num_workers == 1
    assert (est.get_iterator(dataset).num_workers, est.get_iterator(dataset).timeout) == (1, 30)
    reference = make(name, iterator_train__num_workers=1).fit(X, y)
    np.testing.assert_array_equal(est.predict_proba(X), reference.predict_proba(X))
