"""Messages a newcomer meets first: each names the problem and what to do instead."""

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from empathy_cause import EmpathyCauseClassifier, load_demo
from empathy_cause.cli.command import main

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _small(tiny_bert, **params):
    return EmpathyCauseClassifier(tiny_bert, hidden_size=16, max_epochs=1, **params)


def test_predict_before_fit_says_what_to_call(tiny_bert):
    X, _, _ = load_demo()
    with pytest.raises(NotFittedError, match=r"not fitted yet: call fit\(X, y\) first, or load a saved model"):
        _small(tiny_bert).predict(X)


def test_a_mistyped_parameter_is_named_with_the_closest_one(tiny_bert, tmp_path, capsys):
    X, y, _ = load_demo()
    with pytest.raises(ValueError, match=r"no parameter 'lrr': did you mean 'lr'\?"):
        _small(tiny_bert, lrr=1e-3).fit(X, y)
    status = main(["train", "--data", "demo", "--model", str(tmp_path / "m"), "--encoder", tiny_bert,
                   "--param", "lrr=1e-3"])
    err = capsys.readouterr().err
    assert status == 2 and "did you mean 'lr'?" in err and len(err.strip().splitlines()) == 1
    assert "subclass" not in err and not (tmp_path / "m").exists()


def test_sample_weight_is_refused_by_name(tiny_bert):
    X, y, _ = load_demo()
    with pytest.raises(TypeError, match="does not support sample_weight: weigh the classes with loss='weighted'"):
        _small(tiny_bert, validation_fraction=None).fit(X, y, sample_weight=np.ones(len(y)))


def test_get_params_shows_the_estimators_parameters_not_callback_internals(tiny_bert):
    clf = _small(tiny_bert)
    params = clf.get_params()
    assert not [k for k in params if k.startswith(("callbacks__", "_"))]
    assert {"lr", "loss", "threshold", "encoder", "optimizer__weight_decay"} <= set(params)
    # Callback settings stay settable, and then they are listed and cloned.
    clf.set_params(callbacks__print_log__floatfmt=".2f")
    assert clf.get_params()["callbacks__print_log__floatfmt"] == ".2f"
    twin = clone(clf)
    assert twin.get_params().keys() == clf.get_params().keys()
    X, y, _ = load_demo()
    twin.set_params(validation_fraction=None, threshold=0.5).fit(X, y)
    assert dict(twin.callbacks_)["print_log"].floatfmt == ".2f"


def test_a_validation_split_too_small_to_choose_warns_with_what_to_pass(tiny_bert):
    X, y, _ = load_demo()  # 16 threads: a tenth is one or two threads, a handful of causes
    with pytest.warns(UserWarning, match=r"too few to choose the best epoch and the decision threshold.*"
                                         r"validation_fraction=None"):
        _small(tiny_bert, validation_fraction=0.1, random_state=0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _small(tiny_bert, validation_fraction=None, threshold=0.3, random_state=0).fit(X, y)


def test_train_on_the_demo_set_with_a_small_split_warns_in_one_line(tiny_bert, tmp_path, capsys):
    """A tenth of the demo's threads chooses an epoch and a threshold on a few threads: it says so, in one line.

    (With the default validation_fraction="auto", 40 pairs are cross-fitted instead, and nothing is said.)
    """
    assert main(["train", "--data", "demo", "--model", str(tmp_path / "m"), "--encoder", tiny_bert,
                 "--max-epochs", "1", "--quiet", "--param", "hidden_size=16",
                 "--param", "validation_fraction=0.1"]) == 0
    warning = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert len(warning) == 1 and warning[0].startswith("empathy-cause train: warning: EmpathyCauseClassifier: "
                                                       "the validation split")
    assert "validation_fraction=None" in warning[0] and ".py:" not in warning[0]
