"""The weaker spots a careful user meets: each gets the expected behaviour, or one line that names the fix."""

import json

import pytest

from empathy_cause import EmpathyCauseClassifier
from empathy_cause.cli.command import main

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def data(demo_threads):
    X, y, _ = demo_threads
    return X, y


@pytest.fixture(scope="module")
def model(tiny_bert, data, tmp_path_factory):
    X, y = data
    clf = EmpathyCauseClassifier(tiny_bert, hidden_size=16, max_epochs=1, validation_fraction=None, threshold=0.5,
                                 random_state=0).fit(X, y)
    return clf.save(tmp_path_factory.mktemp("careful") / "model")


def _one_line(capsys, status, *fragments):
    err = capsys.readouterr().err.strip()
    assert status == 2 and "Traceback" not in err and len(err.splitlines()) == 1, err
    for fragment in fragments:
        assert fragment in err, err
    return err


# ---------------------------------------------------------------- parameters

@pytest.mark.parametrize("name", ["threshold", "max_epochs", "lr", "validation_fraction"])
def test_a_bool_where_a_number_is_expected_is_refused(tiny_bert, data, name):
    with pytest.raises(ValueError, match=f"'{name}' parameter .* must be a number, got True"):
        EmpathyCauseClassifier(tiny_bert, **{name: True}).fit(*data)


def test_threshold_true_set_after_fit_is_refused_at_predict(model, data):
    clf = EmpathyCauseClassifier.load(model)
    clf.set_params(threshold=True)        # taken as 1.0 before: nothing would ever be a cause
    with pytest.raises(ValueError, match="must be a number, got True"):
        clf.predict(data[0])


def test_set_params_typo_is_one_line_with_the_closest_name():
    with pytest.raises(ValueError) as raised:
        EmpathyCauseClassifier().set_params(treshold=0.3)
    message = str(raised.value)
    assert "did you mean 'threshold'?" in message and "\n" not in message and "module=" not in message


def test_predict_param_typo_is_one_line(model, tmp_path, capsys):
    status = main(["predict", "--model", str(model), "--data", "demo", "--quiet", "--param", "tresholds=0.4",
                   "--out", str(tmp_path / "p.csv")])
    _one_line(capsys, status, "no parameter 'tresholds': did you mean 'threshold'?")


def test_train_param_that_is_no_parameter_is_one_line_before_any_encoding(tiny_bert, tmp_path, capsys, monkeypatch):
    import empathy_cause.encoders.encoding as encoding

    monkeypatch.setattr(encoding, "_encode_uncached", lambda *a, **k: pytest.fail("encoded before refusing"))
    status = main(["train", "--data", "demo", "--model", str(tmp_path / "m"), "--encoder", tiny_bert, "--quiet",
                   "--param", "nonsense=1", "--param", "treshold=0.3"])
    _one_line(capsys, status, "'nonsense'", "'treshold': did you mean 'threshold'?")


@pytest.mark.parametrize("param", ["module=os.system", "optimizer=os.system", "criterion=subprocess.run",
                                   "predict_nonlinearity=os.system", "train_split=os.system"])
def test_train_param_naming_code_is_refused_before_any_encoding(param, tiny_bert, tmp_path, capsys, monkeypatch):
    import empathy_cause.encoders.encoding as encoding

    monkeypatch.setattr(encoding, "_encode_uncached", lambda *a, **k: pytest.fail("encoded before refusing"))
    status = main(["train", "--data", "demo", "--model", str(tmp_path / "m"), "--encoder", tiny_bert, "--quiet",
                   "--param", param])
    _one_line(capsys, status, f"'{param.split('=')[0]}' parameter", "code cannot be named by text")


@pytest.mark.parametrize("fraction", [0.99, 0.999])
def test_validation_fraction_leaving_no_training_thread_fails_before_any_encoding(fraction, tiny_bert, data,
                                                                                  monkeypatch):
    import empathy_cause.encoders.encoding as encoding

    monkeypatch.setattr(encoding, "_encode_uncached", lambda *a, **k: pytest.fail("encoded before refusing"))
    with pytest.raises(ValueError, match=rf"validation_fraction={fraction} of 8 threads .*no thread to train on"):
        EmpathyCauseClassifier(tiny_bert, validation_fraction=fraction).fit(*data)


# ---------------------------------------------------------------- command line

def test_evaluate_json_is_strict_json(model, tmp_path, capsys):
    # One pair whose sentences are all non-causes: ROC AUC is undefined (NaN before, which strict parsers refuse).
    data = tmp_path / "one.csv"
    data.write_text("post_sentences,reply,labels\n\"['I failed.', 'It hurts.']\",I am sorry.,\"[0, 0]\"\n")
    assert main(["evaluate", "--model", str(model), "--data", str(data), "--json", "--quiet"]) == 0
    text = capsys.readouterr().out
    metrics = json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} in the JSON"))
    assert metrics["roc_auc"] is None and metrics["n_sentences"] == 2


def test_predict_out_dash_is_standard_output(model, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["predict", "--model", str(model), "--data", "demo", "--quiet", "--out", "-"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("pair_id,") and not (tmp_path / "-").exists()


@pytest.mark.parametrize("argv", [["demo", "--out", "-"], ["analyze", "--data", "demo", "--out", "-"],
                                  ["predict", "--model", "M", "--data", "demo", "--html", "-"]])
def test_dash_where_a_folder_or_file_is_written_is_refused(argv, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _one_line(capsys, main(argv), "(standard output) cannot be used here")
    assert not (tmp_path / "-").exists()


def test_data_demo_beside_a_demo_folder_says_which_it_read(model, tmp_path, capsys, monkeypatch):
    (tmp_path / "demo").mkdir()
    monkeypatch.chdir(tmp_path)
    assert main(["predict", "--model", str(model), "--data", "demo", "--quiet", "--out", "p.csv"]) == 0
    assert "--data demo is the built-in demo set, not the ./demo here; give --data ./demo" in capsys.readouterr().err


@pytest.mark.parametrize("data", ["demo", "file.csv"])
def test_subset_of_the_demo_set_or_a_csv_fails_before_the_model_loads(data, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "file.csv").write_text("post_sentences,reply\n\"['a.']\",b\n")
    # The model folder does not exist: the --subset error must come first.
    status = main(["predict", "--model", str(tmp_path / "absent"), "--data", data, "--subset", "valid"])
    err = _one_line(capsys, status, "subset")
    assert "config.json" not in err          # not the model's error: the data option is checked first


@pytest.mark.parametrize("command", ["predict", "evaluate"])
def test_chunk_pairs_below_one_is_refused_by_the_parser(command, tmp_path, capsys):
    with pytest.raises(SystemExit) as stopped:
        main([command, "--model", str(tmp_path / "absent"), "--data", "demo", "--chunk-pairs", "0"])
    assert stopped.value.code == 2 and "argument --chunk-pairs: must be at least 1" in capsys.readouterr().err


def test_glob_without_scheduler_names_the_fix(tmp_path, capsys):
    status = main(["predict", "--model", str(tmp_path / "absent"), "--data", str(tmp_path / "forum" / "*.csv")])
    err = _one_line(capsys, status, "pattern", "--scheduler")
    assert "config.json" not in err


# ---------------------------------------------------------------- data

def test_empty_data_home_variable_is_unset_not_the_current_folder(tmp_path, monkeypatch):
    from empathy_cause.data.files import get_data_home

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("EMPATHY_CAUSE_DATA", "")
    monkeypatch.chdir(tmp_path)
    assert get_data_home() == tmp_path / "home" / "empathy_cause_data"


@pytest.mark.parametrize("encoding, kind", [("utf-16", "UTF-16"), ("utf-16-be", "UTF-16"), ("utf-32", "UTF-32")])
def test_a_utf16_file_says_so_and_names_the_fix(encoding, kind, tmp_path, capsys):
    from empathy_cause.data import load_dataset

    data = tmp_path / "posts.csv"
    text = "post_sentences,reply,labels\n\"['I failed.']\",I am sorry.,[1]\n"
    data.write_bytes(("\ufeff" + text if encoding == "utf-16-be" else text).encode(encoding))
    with pytest.raises(ValueError, match=f"the file is {kind} text, not UTF-8; save it as UTF-8"):
        load_dataset(data)
    status = main(["train", "--data", str(data), "--model", str(tmp_path / "m")])
    _one_line(capsys, status, f"{kind} text", f"iconv -f {kind} -t UTF-8")


def test_a_utf16_reccon_file_says_so(tmp_path):
    from empathy_cause.data import load_reccon

    (tmp_path / "dailydialog_train.json").write_bytes('{"x": []}'.encode("utf-16"))
    with pytest.raises(ValueError, match="UTF-16 text, not UTF-8"):
        load_reccon(tmp_path, subset="train")


@pytest.mark.parametrize("make", ["ecf", "covidet"])
def test_a_utf16_ecf_or_covidet_file_says_so(make, tmp_path):
    from empathy_cause.data import load_dataset

    if make == "ecf":
        (tmp_path / "train.txt").write_bytes("1 1\n1 | Speaker | neutral | Hi.\n".encode("utf-16"))
    else:
        (tmp_path / "CovidET-EXT_anonymized.json").write_bytes('{"x": {}}'.encode("utf-16"))
        (tmp_path / "train_anonymized-WITH_POSTS.json").write_bytes('{"x": {}}'.encode("utf-16"))
    with pytest.raises(ValueError, match="UTF-16 text, not UTF-8; save it as UTF-8"):
        load_dataset(tmp_path)
