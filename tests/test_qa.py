"""QAClassifier: the question-answering baseline (paper section 5.2) as a scikit-learn estimator."""

import warnings

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, GroupKFold

from empathy_cause.baselines import QAClassifier
from empathy_cause.baselines.qa import DEFAULT_QUESTION, QARows, _QACollate
from empathy_cause.benchmarks.speed import qa_throughput
from empathy_cause.data import pairs_to_frame, validate_frame
from empathy_cause.encoders import clear_model_cache
from tests.tiny_models import make_tiny_bert

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def make(tiny_bert, **params):
    # fp32 keeps the tiny model fast (bf16 kernels are built per new shape);
    # test_loads_quietly covers the default bf16 autocast.
    return QAClassifier(tiny_bert, **{"max_epochs": 1, "random_state": 0, "precision": "fp32", **params})


@pytest.fixture(scope="module")
def fitted_qa(tiny_bert, demo_threads):
    X, y, _ = demo_threads
    return make(tiny_bert).fit(X, y)


def test_fit_predict_contract(fitted_qa, demo):
    X, y, _ = demo
    proba = fitted_qa.predict_proba(X)
    assert proba.shape == (len(X), 2) and proba.dtype == np.float32
    np.testing.assert_allclose(proba.sum(1), 1.0, atol=1e-5)
    assert list(fitted_qa.classes_) == [0, 1]
    assert fitted_qa.decision_threshold() == fitted_qa.tuned_threshold_  # threshold="auto" by default
    np.testing.assert_array_equal(fitted_qa.predict(X), (proba[:, 1] >= fitted_qa.tuned_threshold_).astype(int))
    assert "valid_f1" in fitted_qa.history[-1] and len(fitted_qa.history) == 1
    assert type(fitted_qa.module_).__name__ == "BertForSequenceClassification"


def test_threshold_drives_predict(fitted_qa, demo):
    X = demo[0]
    low = clone(fitted_qa).set_params(threshold=0.0)
    low.initialize()
    low.module_.load_state_dict(fitted_qa.module_.state_dict())
    assert low.predict(X).all()


def test_threshold_auto_is_tuned_on_the_validation_split(tiny_bert, demo_threads):
    X, y, _ = demo_threads
    clf = make(tiny_bert).fit(X, y)
    assert 0.05 <= clf.tuned_threshold_ <= 0.95
    proba = clf.predict_proba(X)[:, 1]
    np.testing.assert_array_equal(clf.predict(X), (proba >= clf.tuned_threshold_).astype(int))






def test_params_clone_and_set_params(tiny_bert):
    clf = make(tiny_bert, max_length=64, question_template="Is {sentence} why they care?")
    params = clf.get_params()
    for name in ("model", "question_template", "max_length", "loss", "threshold", "batch_size",
                 "lr", "max_epochs", "max_rows_per_epoch", "random_state"):
        assert name in params
    # Only QA's own parameters: none of the co-attention network's.
    for name in ("architecture", "hidden_size", "context_layers", "finetune_layers", "pooling", "encoder"):
        assert name not in params
    defaults = QAClassifier().get_params()
    assert (defaults["lr"], defaults["batch_size"], defaults["max_epochs"]) == (2e-5, 16, 3)
    assert (defaults["max_length"], defaults["threshold"], defaults["model"]) == (128, "auto", None)
    twin = clone(clf)
    assert twin.get_params()["question_template"] == "Is {sentence} why they care?"
    twin.set_params(max_length=32, loss="focal")
    assert (twin.max_length, twin.loss, clf.max_length) == (32, "focal", 64)


def test_grid_search_with_group_kfold(tiny_bert, demo_threads):
    X, y, groups = demo_threads
    search = GridSearchCV(make(tiny_bert, validation_fraction=None), {"loss": ["ce", "focal"]},
                          cv=GroupKFold(2), scoring="roc_auc")
    search.fit(X, y, groups=groups)
    assert set(search.cv_results_["param_loss"]) == {"ce", "focal"}
    assert search.best_estimator_.predict_proba(X).shape == (len(X), 2)


def test_max_rows_per_epoch_caps_training_batches(tiny_bert, demo_threads):
    X, y, _ = demo_threads
    clf = make(tiny_bert, max_rows_per_epoch=40, batch_size=16, validation_fraction=None).fit(X, y)
    assert len(clf.history[-1, "batches"]) == 3  # 16 + 16 + 8 rows


def test_truncation_cuts_the_reply_first_and_falls_back(tiny_bert):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_bert, local_files_only=True)
    long_reply = "so sorry to hear that " * 40
    long_sentence = "my skin is bad " * 40
    X, y = validate_frame(*pairs_to_frame([{"post": ["I feel alone.", long_sentence + "."],
                                            "reply": long_reply, "labels": [1, 0]}]))
    dataset = QARows.from_frame(X, y)
    dataset.measure(tokenizer, DEFAULT_QUESTION, 64)
    assert dataset.row_fallback.tolist() == [False, True]
    batch, _ = _QACollate(dataset, tokenizer, DEFAULT_QUESTION, 64)([0, 1])
    ids = batch.tensors["input_ids"]
    assert ids.shape == (2, 64)
    first = tokenizer.decode(ids[0], skip_special_tokens=True)
    # The short question is kept whole, the reply is cut.
    assert first.startswith('does the sentence " i feel alone. " cause the empathy in the reply?')
    assert dataset.row_length.tolist() == [64, 64]


def test_loads_quietly(tiny_bert, demo, capfd):
    X, y, _ = demo
    clear_model_cache()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf = make(tiny_bert, validation_fraction=None, precision="auto").fit(X.iloc[:20], y[:20])
    assert clf.predict_proba(X.iloc[:20]).shape == (20, 2)
    captured = capfd.readouterr()
    assert "LOAD REPORT" not in captured.out + captured.err
    assert "MISSING" not in captured.out + captured.err


def test_half_precision_checkpoint_trains_in_float32(tmp_path, demo_threads):
    from transformers import AutoModel, AutoTokenizer

    path = make_tiny_bert(tmp_path / "bert32")
    AutoModel.from_pretrained(path, local_files_only=True).half().save_pretrained(tmp_path / "bert16")
    AutoTokenizer.from_pretrained(path, local_files_only=True).save_pretrained(tmp_path / "bert16")
    X, y, _ = demo_threads
    clf = make(str(tmp_path / "bert16"), validation_fraction=None).fit(X.iloc[:20], y[:20])
    assert {p.dtype for p in clf.module_.parameters()} == {torch.float32}


def test_missing_model_path_is_named(demo):
    X, y, _ = demo
    with pytest.raises(FileNotFoundError, match="no/such/model"):
        QAClassifier("./no/such/model").fit(X, y)


def test_explain_is_not_offered(fitted_qa):
    # No co-attention, so nothing to explain: the method does not exist.
    assert not hasattr(fitted_qa, "explain")


def test_save_load_and_joblib_round_trip(fitted_qa, demo, tmp_path):
    X = demo[0]
    expected = fitted_qa.predict_proba(X)
    loaded = QAClassifier.load(fitted_qa.save(tmp_path / "qa"))
    assert loaded.question_template == fitted_qa.question_template
    np.testing.assert_allclose(loaded.predict_proba(X), expected, atol=1e-6)
    joblib.dump(fitted_qa, tmp_path / "qa.joblib")
    np.testing.assert_allclose(joblib.load(tmp_path / "qa.joblib").predict_proba(X), expected, atol=1e-6)


def test_a_saved_qa_model_pins_its_pretrained_model(fitted_qa, tmp_path):
    import json

    from empathy_cause.network.model_files import ModelFileError
    from tests.tiny_models import make_tiny_bert

    folder = fitted_qa.save(tmp_path / "qa")
    config = json.loads((folder / "config.json").read_text())
    assert len(config["pretrained"]["sha256"]) == 64 and config["params"]["model"] == config["pretrained"]["location"]
    other = make_tiny_bert(tmp_path / "other", seed=3)
    with pytest.raises(ModelFileError, match="the model .* is not the one this model was trained with"):
        QAClassifier.load(folder, model=str(other))
    with pytest.raises(ModelFileError, match="question_template cannot be changed when loading"):
        QAClassifier.load(folder, question_template="Is {sentence} a cause?")


def test_qa_throughput_reports_costs_per_row(tiny_bert, demo_threads):
    X, y, _ = demo_threads
    result = qa_throughput(X.iloc[:32], y[:32], model=tiny_bert, batch_size=8)
    assert result["rows"] == 32
    for key in ("fit_seconds", "predict_seconds", "fit_ms_per_row", "predict_ms_per_row",
                "fit_rows_per_s", "predict_rows_per_s", "mean_tokens"):
        assert result[key] > 0
