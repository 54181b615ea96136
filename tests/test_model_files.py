"""Model folders: exact round trips, a received folder runs nothing, fitted state stays what was fitted."""

import json
import shutil
import warnings

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import NotFittedError
from skorch.callbacks import Callback

from empathy_cause import EmpathyCauseClassifier, load_demo
from empathy_cause.network.model_files import ModelFileError

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def data():
    X, y, groups = load_demo()
    keep = np.isin(groups, np.unique(groups)[:6])
    return X[keep].reset_index(drop=True), y[keep]


@pytest.fixture(scope="module")
def fitted(tiny_bert, data):
    X, y = data
    return EmpathyCauseClassifier(tiny_bert, hidden_size=16, max_epochs=2, random_state=0,
                                  module__max_position=32).fit(X, y)


@pytest.fixture(scope="module")
def folder(fitted, tmp_path_factory):
    return fitted.save(tmp_path_factory.mktemp("saved") / "model")


def _copy(folder, tmp_path, edit=None):
    """A copy of the model folder with ``edit(config)`` applied to its config.json."""
    target = tmp_path / "received"
    shutil.copytree(folder, target)
    if edit is not None:
        config = json.loads((target / "config.json").read_text())
        edit(config)
        (target / "config.json").write_text(json.dumps(config))
    return target


# --------------------------------------------------------------- round trip


def test_routed_parameters_round_trip(fitted, folder, data):
    X, _ = data
    config = json.loads((folder / "config.json").read_text())
    assert config["params"]["module__max_position"] == 32
    assert "cache_dir" not in config["params"] and config["partial"] is False
    loaded = EmpathyCauseClassifier.load(folder)
    assert loaded.module__max_position == 32
    np.testing.assert_allclose(loaded.predict_proba(X), fitted.predict_proba(X), atol=1e-6)


def test_load_overrides_are_checked(folder):
    assert EmpathyCauseClassifier.load(folder, threshold=0.2).decision_threshold() == 0.2
    with pytest.raises(ValueError, match="threshold"):
        EmpathyCauseClassifier.load(folder, threshold=2.0)


def test_not_a_model_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a folder written by save"):
        EmpathyCauseClassifier.load(tmp_path)


# ------------------------------------------------------- refusing a bad file


def _set(key, value):
    def edit(config):
        config[key] = value
    return edit


def _set_param(key, value):
    def edit(config):
        config["params"][key] = value
    return edit


def _drop_param(key):
    def edit(config):
        del config["params"][key]
    return edit


@pytest.mark.parametrize("edit, message", [
    (_set_param("cache_dir", "/tmp/planted"), "unknown parameter.*cache_dir"),
    (_set_param("module__encoder", "x"), "unknown parameter"),
    (_set_param("callbacks", None), "unknown parameter"),
    (_drop_param("hidden_size"), "missing parameter.*hidden_size"),
    (_set("class", "QAClassifier"), "QAClassifier"),
    (_set("format_version", 1), "format_version"),
    (_set("tuned_threshold", 7.0), "tuned_threshold"),
    (_set("tuned_threshold", float("nan")), "NaN|not valid JSON"),
    (_set("partial", "no"), "partial"),
    (_set("extra", 1), "keys must be exactly"),
    (_set_param("threshold", 1.5), "threshold"),
    (_set_param("hidden_size", 10**9), "hidden_size"),
    (_set_param("encoder", {"path": "x"}), "encoder"),
    (_set_param("module__max_position", 33), "shape"),
    (_set_param("hidden_size", 8), "shape"),
    (_set_param("optimizer__eps", "x"), "do not build a model"),
])
def test_load_refuses_what_save_does_not_write(folder, tmp_path, edit, message):
    with pytest.raises(ModelFileError, match=message):
        EmpathyCauseClassifier.load(_copy(folder, tmp_path, edit))


@pytest.mark.parametrize("content", [b"", b"not json", b"\xff\xfe{}", b"[1, 2]", b'{"a": 1, "a": 2}'])
def test_config_that_is_not_the_schema_names_the_file(folder, tmp_path, content):
    target = _copy(folder, tmp_path)
    (target / "config.json").write_bytes(content)
    with pytest.raises(ModelFileError, match="config.json"):
        EmpathyCauseClassifier.load(target)


def test_weights_with_nan_are_refused(folder, tmp_path):
    from safetensors.torch import load_file, save_file

    target = _copy(folder, tmp_path)
    state = load_file(str(target / "model.safetensors"))
    name = next(k for k, v in state.items() if v.is_floating_point())
    state[name] = torch.full_like(state[name], float("nan"))
    save_file(state, str(target / "model.safetensors"))
    with pytest.raises(ModelFileError, match="does not match .*config.json .*checksum"):
        EmpathyCauseClassifier.load(target)
    _rehash(target)  # as if whoever changed the weights also fixed the checksum
    with pytest.raises(ModelFileError, match="NaN"):
        EmpathyCauseClassifier.load(target)


def _rehash(folder):
    """Write the checksum of the folder's current weights into its config.json."""
    import hashlib

    config = json.loads((folder / "config.json").read_text())
    config["weights_sha256"] = hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest()
    (folder / "config.json").write_text(json.dumps(config))


def test_encoder_with_custom_code_is_refused_without_running_it(folder, tiny_bert, tmp_path):
    """An encoder folder whose config asks for custom code: refused, the code never imported, no prompt."""
    encoder = tmp_path / "evil-encoder"
    shutil.copytree(tiny_bert, encoder)
    marker = tmp_path / "code-ran"
    (encoder / "evil.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    config = json.loads((encoder / "config.json").read_text())
    config["auto_map"] = {"AutoModel": "evil.EvilModel", "AutoConfig": "evil.EvilConfig"}
    (encoder / "config.json").write_text(json.dumps(config))
    received = _copy(folder, tmp_path, _set_param("encoder", str(encoder)))
    with pytest.raises(ValueError, match="custom code"):
        EmpathyCauseClassifier.load(received)
    assert not marker.exists()


def test_encoder_with_only_pickled_weights_is_refused(tiny_bert, tmp_path):
    from transformers import AutoModel

    from empathy_cause.encoders.pretrained import load_pretrained

    encoder = tmp_path / "bin-encoder"
    shutil.copytree(tiny_bert, encoder)
    (encoder / "model.safetensors").unlink()
    torch.save(AutoModel.from_pretrained(tiny_bert).state_dict(), encoder / "pytorch_model.bin")
    with pytest.raises(OSError, match="safetensors"):
        load_pretrained(str(encoder))


# ------------------------------------------------------------- atomic saves


def test_an_interrupted_resave_leaves_the_old_model(fitted, folder, tmp_path, monkeypatch, data):
    X, _ = data
    target = _copy(folder, tmp_path)
    before = {p.name: p.read_bytes() for p in target.iterdir()}
    import safetensors.torch

    def fail(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(safetensors.torch, "save", fail)
    with pytest.raises(KeyboardInterrupt):
        fitted.save(target)
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["received"]  # no temporary folder left
    EmpathyCauseClassifier.load(target).predict_proba(X)


def test_save_refuses_to_replace_another_folder(fitted, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match=r"holds files that save\(\) did not write \(\['notes.txt'\]\)"):
        fitted.save(tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"


# ------------------------------------------------------------- fitted state


@pytest.mark.parametrize("change", [
    {"pooling": "cls"}, {"max_length": 8}, {"hidden_size": 32}, {"architecture": "concat"},
    {"finetune_layers": 2}, {"module__max_position": 16}, {"encoder": None}, {"precision": "bf16"},
])
def test_changing_what_defines_the_model_asks_for_a_refit(fitted, data, tmp_path, change):
    X, _ = data
    weights = {k: v.clone() for k, v in fitted.module_.state_dict().items()}
    expected = fitted.predict_proba(X)
    original = {name: getattr(fitted, name) for name in change}
    fitted.set_params(**change)
    try:
        for action in (lambda: fitted.predict_proba(X), lambda: fitted.predict(X),
                       lambda: fitted.save(tmp_path / "m"), lambda: fitted.explain(["A.", "B."], "C.")):
            with pytest.raises(NotFittedError, match="refit|fit again"):
                action()
        assert not (tmp_path / "m").exists()
    finally:
        fitted.set_params(**original)
    # Nothing was re-initialised behind the user's back.
    for name, tensor in fitted.module_.state_dict().items():
        assert torch.equal(tensor, weights[name]), name
    np.testing.assert_array_equal(fitted.predict_proba(X), expected)


def test_a_new_module_parameter_does_not_reinitialise_the_weights(fitted, data):
    import copy

    X, _ = data
    model = copy.deepcopy(fitted)
    weights = {k: v.clone() for k, v in model.module_.state_dict().items()}
    model.set_params(module__dropout=0.0)
    for name, tensor in model.module_.state_dict().items():
        assert torch.equal(tensor, weights[name]), name
    with pytest.raises(NotFittedError, match="module__dropout"):
        model.predict_proba(X)


def test_training_and_runtime_parameters_do_not_invalidate(fitted, data, tmp_path):
    X, _ = data
    fitted.set_params(max_epochs=50, lr=0.5)
    try:
        assert fitted.predict_proba(X).shape == (len(X), 2)
        saved = json.loads((fitted.save(tmp_path / "m") / "config.json").read_text())["params"]
        assert saved["max_epochs"] == 2 and saved["lr"] == 3e-4  # what it was trained with (the default lr)
        fitted.set_params(threshold=0.0)
        assert fitted.predict(X).all()
    finally:
        fitted.set_params(max_epochs=2, lr=3e-4, threshold="auto")


class _InterruptAt(Callback):
    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == self.epoch:
            raise KeyboardInterrupt


def test_ctrl_c_in_fit_is_recorded_and_saved_as_partial(tiny_bert, data, tmp_path):
    X, y = data
    clf = EmpathyCauseClassifier(tiny_bert, hidden_size=16, max_epochs=5, random_state=0,
                                 callbacks=[("interrupt", _InterruptAt(2))]).fit(X, y)
    assert clf.interrupted_ and len(clf.history) == 2
    assert clf.predict_proba(X).shape == (len(X), 2)  # usable: the best epoch so far
    config = json.loads((clf.save(tmp_path / "m") / "config.json").read_text())
    assert config["partial"] is True
    with pytest.warns(UserWarning, match="interrupted"):
        assert EmpathyCauseClassifier.load(tmp_path / "m").interrupted_
    complete = EmpathyCauseClassifier(tiny_bert, hidden_size=16, max_epochs=1, random_state=0).fit(X, y)
    assert complete.interrupted_ is False


def test_early_stopping_is_not_an_interruption(tiny_bert, data, tmp_path):
    # skorch's EarlyStopping also ends training with a KeyboardInterrupt.
    X, y = data
    clf = EmpathyCauseClassifier(tiny_bert, hidden_size=16, max_epochs=50, patience=1, validation_fraction=0.3,
                                 random_state=0).fit(X, y)
    assert len(clf.history) < 50 and clf.interrupted_ is False
    assert json.loads((clf.save(tmp_path / "m") / "config.json").read_text())["partial"] is False


# --------------------------------------------------------------- fuzzing

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=6)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzz_config_json(folder, tmp_path_factory, data):
    """Any mutation of config.json: a clear ValueError/OSError, or a model that predicts finite values."""
    config = json.loads((folder / "config.json").read_text())
    where = data.draw(st.sampled_from(["top", "params"]))
    target = config if where == "top" else config["params"]
    action = data.draw(st.sampled_from(["replace", "delete", "add"]))
    key = data.draw(st.sampled_from(sorted(target)))
    if action == "replace":
        target[key] = data.draw(_json)
    elif action == "delete":
        del target[key]
    else:
        target[data.draw(st.text(min_size=1, max_size=12))] = data.draw(_json)
    received = _copy(folder, tmp_path_factory.mktemp("fuzz"))
    (received / "config.json").write_text(json.dumps(config))
    _load_is_safe(received)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzz_model_safetensors(folder, tmp_path_factory, data):
    """Truncated, extended or byte-flipped weights: a clear ValueError, or finite predictions."""
    received = _copy(folder, tmp_path_factory.mktemp("fuzz"))
    raw = bytearray((received / "model.safetensors").read_bytes())
    kind = data.draw(st.sampled_from(["truncate", "flip", "append", "header"]))
    if kind == "truncate":
        raw = raw[:data.draw(st.integers(0, len(raw) - 1))]
    elif kind == "append":
        raw += data.draw(st.binary(min_size=1, max_size=64))
    else:
        high = min(len(raw), 8 + int.from_bytes(raw[:8], "little")) if kind == "header" else len(raw)
        for _ in range(data.draw(st.integers(1, 8))):
            raw[data.draw(st.integers(0, high - 1))] = data.draw(st.integers(0, 255))
    (received / "model.safetensors").write_bytes(bytes(raw))
    _load_is_safe(received)


def _load_is_safe(folder):
    X, _, _ = load_demo()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            model = EmpathyCauseClassifier.load(folder)
    except (ValueError, OSError):
        return
    proba = model.predict_proba(X.iloc[:12])
    assert np.isfinite(proba).all()


# ------------------------------------------------- the marker, never a mix, one-line errors


def test_save_replaces_only_folders_it_wrote(fitted, folder, tiny_bert, tmp_path):
    config = json.loads((folder / "config.json").read_text())
    assert config["format"] == "empathy-cause-model" and len(config["weights_sha256"]) == 64
    own = tmp_path / "app"
    own.mkdir()
    (own / "config.json").write_text('{"theme": "dark"}')  # the user's own settings
    hf = tmp_path / "hf"
    shutil.copytree(tiny_bert, hf)  # a Hugging Face save_pretrained folder
    hf_weights_only = tmp_path / "hf2"
    hf_weights_only.mkdir()
    for name in ("config.json", "model.safetensors"):
        shutil.copy(hf / name, hf_weights_only / name)  # the very file names of a model folder
    for target in (own, hf, hf_weights_only):
        before = {p.name: p.read_bytes() for p in target.iterdir()}
        with pytest.raises(FileExistsError, match="save to a new or empty folder, or delete the folder first"):
            fitted.save(target)
        assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    # Its own folders, an older version's and empty ones are fine.
    old = _copy(folder, tmp_path, edit=lambda c: [c.pop("format"), c.pop("weights_sha256"),
                                                  c.update(format_version=2)])
    with pytest.raises(ModelFileError, match="older version of empathy_cause"):
        EmpathyCauseClassifier.load(old)
    fitted.save(old)
    (tmp_path / "empty").mkdir()
    for target in (old, folder, tmp_path / "empty"):
        assert fitted.save(target) == target
        EmpathyCauseClassifier.load(target)


def test_train_checks_its_model_folder_before_training(tiny_bert, tmp_path, capsys):
    from empathy_cause.cli.command import main

    own = tmp_path / "app"
    own.mkdir()
    (own / "config.json").write_text('{"theme": "dark"}')
    status = main(["train", "--data", "demo", "--model", str(own), "--encoder", tiny_bert, "--max-epochs", "50"])
    captured = capsys.readouterr()
    assert status == 2 and "was not written by save()" in captured.err and "Traceback" not in captured.err
    assert "train_loss" not in captured.out  # refused before the first epoch
    assert (own / "config.json").read_text() == '{"theme": "dark"}'


_SAVER = """
import sys
from empathy_cause import EmpathyCauseClassifier
a, b = EmpathyCauseClassifier.load(sys.argv[1]), EmpathyCauseClassifier.load(sys.argv[2])
for i in range(int(sys.argv[4])):
    (a if i % 2 else b).save(sys.argv[3])
"""


def _fingerprint(net):
    return round(float(sum(v.double().sum() for v in net.module_.state_dict().values() if v.is_floating_point())), 6)


@pytest.mark.slow
def test_loads_racing_saves_in_another_process_never_mix_two_models(tiny_bert, data, tmp_path):
    """Another process re-saves models A and B into one folder while this one loads it."""
    import os
    import subprocess
    import sys

    X, y = data
    models = {}
    for name, threshold, seed in (("a", 0.3, 0), ("b", 0.7, 1)):
        net = EmpathyCauseClassifier(tiny_bert, hidden_size=16, max_epochs=1, validation_fraction=None,
                                     threshold=threshold, random_state=seed).fit(X, y)
        net.save(tmp_path / name)
        models[threshold] = _fingerprint(net)
    assert models[0.3] != models[0.7]
    target = tmp_path / "shared"
    EmpathyCauseClassifier.load(tmp_path / "a").save(target)
    writer = subprocess.Popen([sys.executable, "-c", _SAVER, str(tmp_path / "a"), str(tmp_path / "b"), str(target),
                               "400"], env={**os.environ, "OMP_NUM_THREADS": "1"}, stderr=subprocess.PIPE, text=True)
    seen, errors = {0.3: 0, 0.7: 0}, []
    try:
        while writer.poll() is None:
            try:
                net = EmpathyCauseClassifier.load(target)
            except (ModelFileError, FileNotFoundError) as exc:
                errors.append(str(exc))
                continue
            assert _fingerprint(net) == models[net.threshold], "config of one save, weights of the other"
            seen[net.threshold] += 1
    finally:
        writer.kill()
        _, err = writer.communicate()
    assert writer.returncode == 0, err
    assert seen[0.3] and seen[0.7], seen  # both models were read, while the other process saved
    assert len(errors) <= sum(seen.values()) // 10, errors[:3]


def test_model_folder_files_must_be_regular_files(folder, tmp_path):
    import os

    elsewhere = tmp_path / "settings.json"
    elsewhere.write_text('{"secret_key": "s3cr3t"}')
    for make, match in [(lambda f: f.symlink_to(elsewhere), "is a symlink"),
                        (lambda f: os.mkfifo(f), "is a FIFO"),
                        (lambda f: f.mkdir(), "is a folder")]:
        target = tmp_path / "received"
        shutil.rmtree(target, ignore_errors=True)
        target = _copy(folder, tmp_path)
        (target / "config.json").unlink()
        make(target / "config.json")
        with pytest.raises(ModelFileError, match=match) as info:
            EmpathyCauseClassifier.load(target)
        assert "secret_key" not in str(info.value)


def test_an_encoder_that_is_not_a_model_is_a_model_file_error(folder, tmp_path):
    target = _copy(folder, tmp_path, edit=lambda c: c["params"].update(encoder="/etc"))
    with pytest.raises(ModelFileError, match="the pretrained model named in .*config.json cannot be loaded"):
        EmpathyCauseClassifier.load(target)
    with pytest.raises(ModelFileError, match="the pretrained model given to load cannot be loaded"):
        EmpathyCauseClassifier.load(folder, encoder="/etc")


def test_save_through_a_symlink_and_into_the_working_folder(fitted, folder, tmp_path, monkeypatch):
    real = tmp_path / "v1"
    fitted.save(real)
    link = tmp_path / "current"
    link.symlink_to(real)
    fitted.save(link)
    assert link.is_symlink() and link.resolve() == real.resolve()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["current", "v1"]  # no dangling .old-* link
    EmpathyCauseClassifier.load(link)
    monkeypatch.chdir(real)
    for path in (".", str(real), str(tmp_path)):
        with pytest.raises(ValueError, match="current working folder"):
            fitted.save(path)
    assert sorted(p.name for p in real.iterdir()) == ["config.json", "model.safetensors"]


def test_a_full_disk_during_save_is_an_os_error_and_leaves_nothing(fitted, tmp_path, monkeypatch):
    import errno

    import empathy_cause.network.model_files as model_files

    def full(file, data):
        raise OSError(errno.ENOSPC, "No space left on device", str(file))

    monkeypatch.setattr(model_files, "_write_synced", full)
    with pytest.raises(OSError, match="No space left on device"):
        fitted.save(tmp_path / "model")
    assert list(tmp_path.iterdir()) == []
