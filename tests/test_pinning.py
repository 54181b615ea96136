"""A model folder pins what it was trained with: the encoder by identity, the model-defining settings, the caches."""

import json
import shutil

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from empathy_cause import EmpathyCauseClassifier
from empathy_cause.cli.command import main
from empathy_cause.encoders.encoding import SentenceEncoder, clear_embedding_cache
from empathy_cause.network.model_files import ModelFileError
from tests.tiny_models import make_tiny_bert

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def data(demo_threads):
    X, y, _ = demo_threads
    return X, y


def _fit(encoder, data, **params):
    X, y = data
    return EmpathyCauseClassifier(encoder, hidden_size=16, max_epochs=1, validation_fraction=None, threshold=0.5,
                                  random_state=0, **params).fit(X, y)


@pytest.fixture(scope="module")
def saved(tiny_bert, data, tmp_path_factory):
    return _fit(tiny_bert, data).save(tmp_path_factory.mktemp("pinned") / "model")


def test_relative_encoder_is_saved_resolved_and_another_one_there_is_refused(tiny_bert, data, tmp_path,
                                                                              monkeypatch):
    X, _ = data
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    shutil.copytree(tiny_bert, tmp_path / "a" / "enc")
    make_tiny_bert(tmp_path / "b" / "enc", seed=1)          # another encoder under the same relative name
    monkeypatch.chdir(tmp_path / "a")
    clf = _fit("enc", data)
    expected = clf.predict_proba(X)
    folder = clf.save(tmp_path / "model")
    config = json.loads((folder / "config.json").read_text())
    assert config["params"]["encoder"] == str(tmp_path / "a" / "enc")
    assert len(config["pretrained"]["sha256"]) == 64
    monkeypatch.chdir(tmp_path / "b")                       # from any working folder: the same answer
    np.testing.assert_array_equal(EmpathyCauseClassifier.load(folder).predict_proba(X), expected)
    with pytest.raises(NotFittedError, match="not the one the model was trained with"):
        clf.predict_proba(X)                                # in-process: "enc" now names other files
    with pytest.raises(ModelFileError, match=r"b/enc \(sha256 .*not the one this model was trained with.*a/enc"):
        EmpathyCauseClassifier.load(folder, encoder="enc")
    shutil.copytree(tmp_path / "a" / "enc", tmp_path / "copy")   # a copy elsewhere is the same encoder
    np.testing.assert_array_equal(EmpathyCauseClassifier.load(folder, encoder=str(tmp_path / "copy"))
                                  .predict_proba(X), expected)


def test_encoder_weights_changed_in_place_are_refused_at_load(tiny_bert, data, tmp_path):
    encoder = shutil.copytree(tiny_bert, tmp_path / "enc")
    folder = _fit(str(encoder), data).save(tmp_path / "model")
    make_tiny_bert(encoder, seed=1)                         # new weights, same path
    with pytest.raises(ModelFileError, match="not the one this model was trained with"):
        EmpathyCauseClassifier.load(folder)


def test_disk_cache_is_keyed_by_the_encoder_content_not_its_path(tiny_bert, tmp_path):
    texts = ["I lost my job today.", "That sounds so hard."]
    encoder = str(shutil.copytree(tiny_bert, tmp_path / "enc"))
    cache = str(tmp_path / "cache")
    old = SentenceEncoder(encoder, cache_dir=cache, precision="fp32").encode(texts)
    make_tiny_bert(tmp_path / "enc", seed=1)                # new weights where the old ones were
    fresh = SentenceEncoder(str(make_tiny_bert(tmp_path / "reference", seed=1)), precision="fp32").encode(texts)
    clear_embedding_cache()                                 # as a new process: only the disk cache is left
    again = SentenceEncoder(encoder, cache_dir=cache, precision="fp32").encode(texts)
    assert not np.allclose(old, fresh)
    np.testing.assert_allclose(again, fresh, rtol=1e-5, atol=1e-6)


def test_the_same_folder_gives_the_same_probabilities_with_a_cold_or_warm_disk_cache(saved, data, tmp_path):
    X, _ = data
    expected = EmpathyCauseClassifier.load(saved).predict_proba(X)
    for _ in range(2):                                      # cold, then warm (the in-memory caches emptied)
        clear_embedding_cache()
        clf = EmpathyCauseClassifier.load(saved, cache_dir=str(tmp_path / "cache"))
        np.testing.assert_array_equal(clf.predict_proba(X), expected)
    assert any((tmp_path / "cache").rglob("*.pkl"))


def test_encoder_is_hashed_once_per_process_not_per_predict(saved, data, monkeypatch):
    import empathy_cause.encoders.pretrained as pretrained

    X, _ = data
    clf = EmpathyCauseClassifier.load(saved)
    clf.predict_proba(X)
    hashed = []
    monkeypatch.setattr(pretrained, "_file_sha256", lambda path: hashed.append(path) or b"")
    for _ in range(3):
        clf.predict_proba(X)
    EmpathyCauseClassifier.load(saved)
    assert hashed == []


@pytest.mark.parametrize("override", [{"pooling": "cls"}, {"max_length": 32}, {"hidden_size": 8},
                                      {"module__max_position": 16}])
def test_load_refuses_overriding_what_the_model_was_trained_with(saved, override):
    name = next(iter(override))
    with pytest.raises(ModelFileError, match=f"{name} cannot be changed when loading"):
        EmpathyCauseClassifier.load(saved, **override)


def test_load_takes_runtime_settings(saved, data):
    X, _ = data
    clf = EmpathyCauseClassifier.load(saved, threshold=0.2, device="cpu", batch_size=4, pooling="mean")  # as saved
    assert clf.decision_threshold() == 0.2
    np.testing.assert_array_equal(clf.predict_proba(X), EmpathyCauseClassifier.load(saved).predict_proba(X))


def test_predict_param_that_defines_the_model_is_one_line(saved, tmp_path, capsys):
    status = main(["predict", "--model", str(saved), "--data", "demo", "--out", str(tmp_path / "p.csv"),
                   "--quiet", "--param", "pooling=cls"])
    err = capsys.readouterr().err.strip()
    assert status == 2 and "\n" not in err
    assert "pooling cannot be changed when loading" in err and "pooling='mean'" in err
    assert not (tmp_path / "p.csv").exists()


def test_max_length_is_bounded_by_the_encoders_positions(tiny_bert, data, saved, tmp_path):
    # The tiny BERT has 128 positions: 200 tokens would crash on the first long sentence.
    with pytest.raises(ValueError, match="takes at most 128 tokens"):
        _fit(tiny_bert, data, max_length=200)
    received = shutil.copytree(saved, tmp_path / "received")
    config = json.loads((received / "config.json").read_text())
    config["params"]["max_length"] = 4096
    (received / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelFileError, match="config.json.*takes at most 128 tokens"):
        EmpathyCauseClassifier.load(received)


def test_a_folder_of_the_previous_format_says_retrain(saved, tmp_path):
    received = shutil.copytree(saved, tmp_path / "received")
    config = json.loads((received / "config.json").read_text())
    config["format_version"] = 3
    del config["pretrained"]
    (received / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelFileError, match="older version.*format_version 3.*retrain"):
        EmpathyCauseClassifier.load(received)


@pytest.mark.parametrize("identity", [None, {"location": "x"}, {"package": 1, "version": "1"},
                                      {"location": "x", "sha256": "y", "extra": "z"}])
def test_a_tampered_identity_is_refused(saved, tmp_path, identity):
    received = shutil.copytree(saved, tmp_path / "received")
    config = json.loads((received / "config.json").read_text())
    config["pretrained"] = identity
    (received / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelFileError, match="'pretrained' must be"):
        EmpathyCauseClassifier.load(received)


@pytest.mark.parametrize("device", ["meta", "xpu", "cuda:99"])
def test_load_with_a_device_this_torch_lacks_is_refused_at_once(saved, device):
    import torch

    if device == "xpu" and hasattr(torch, "xpu") and torch.xpu.is_available():
        pytest.skip("this torch has xpu")
    with pytest.raises(ValueError, match="'device' parameter"):
        EmpathyCauseClassifier.load(saved, device=device)


def test_the_default_encoder_by_path_is_the_default_encoder():
    from empathy_cause.encoders.pretrained import default_encoder_path, model_identity, same_identity

    by_name, by_path = model_identity(None), model_identity(default_encoder_path())
    assert "package" in by_name and "sha256" in by_path
    assert same_identity(by_name, by_path) and same_identity(by_path, by_name)
    assert not same_identity(by_name, {"location": "x", "sha256": "0" * 64})
    assert not same_identity(by_name, {"package": by_name["package"], "version": "0.0.0-other"})
