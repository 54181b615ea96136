"""The empathy-cause command: demo, train / predict / evaluate, and clear errors."""

import json

import pandas as pd
import pytest

from empathy_cause import load_demo
from empathy_cause.cli import main


def test_train_predict_evaluate_round_trip(tiny_bert, tmp_path, capsys):
    model = tmp_path / "model"
    assert main(["train", "--data", "demo", "--model", str(model), "--encoder", tiny_bert,
                 "--max-epochs", "1", "--param", "hidden_size=16"]) == 0
    assert (model / "config.json").is_file() and (model / "model.safetensors").is_file()
    assert json.loads((model / "config.json").read_text())["params"]["hidden_size"] == 16

    preds, view = tmp_path / "preds.csv", tmp_path / "view.html"
    assert main(["predict", "--model", str(model), "--data", "demo", "--out", str(preds),
                 "--html", str(view)]) == 0
    table = pd.read_csv(preds)
    X, _, _ = load_demo()
    assert len(table) == len(X)
    assert set(table.columns) == {"pair_id", "sentence_index", "sentence", "probability", "prediction"}
    assert table["probability"].between(0, 1).all()
    assert "<html" in view.read_text().lower() or "<!doctype html>" in view.read_text()

    capsys.readouterr()
    assert main(["evaluate", "--model", str(model), "--data", "demo"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["n_sentences"] == len(X) and 0 <= metrics["f1"] <= 1


def test_demo_prints_posts_and_metrics(tiny_bert, tmp_path, capsys):
    assert main(["demo", "--encoder", tiny_bert, "--max-epochs", "1", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Reply:" in out and "roc_auc" in out
    assert (tmp_path / "causes.html").is_file() and (tmp_path / "attention.png").is_file()


def test_bad_data_path_is_one_clear_line(tmp_path, capsys):
    status = main(["evaluate", "--model", str(tmp_path), "--data", str(tmp_path / "nothing.txt")])
    err = capsys.readouterr().err
    assert status == 2 and "error" in err and "Traceback" not in err


def test_param_values_are_parsed_as_json_everywhere():
    import argparse

    from empathy_cause.benchmarks import compare, search
    from empathy_cause.cliargs import parse_param

    assert parse_param("lr=0.001") == ("lr", 0.001)
    assert parse_param("class_weight=[1, 3]") == ("class_weight", (1, 3))
    assert parse_param("validation_fraction=null") == ("validation_fraction", None)
    assert parse_param("loss=ce") == ("loss", "ce")
    with pytest.raises(argparse.ArgumentTypeError, match="KEY=VALUE"):
        parse_param("nonsense")
    # The benchmarks read --param with the same rule (a Python tuple literal is not JSON: text).
    for parser in (compare.build_parser(), search.build_parser()):
        args = parser.parse_args(["--param", "class_weight=[1, 3]", "--param", "x=(1, 3)"])
        assert args.param == [("class_weight", (1, 3)), ("x", "(1, 3)")]


def test_version_and_benchmark_help_exit_zero(capsys):
    from empathy_cause import __version__

    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0 and __version__ in capsys.readouterr().out
    assert main(["benchmark", "--help"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in ("ablation", "compare", "followups", "quality", "speed"))
    assert main(["benchmark"]) == 0
    assert main(["benchmark", "nonsense"]) == 2


def test_top_level_help_has_no_rest_markup(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "``" not in out and "demo" in out and "--version" in out


def test_missing_extra_is_one_line_naming_pip(monkeypatch, tmp_path, capsys):
    import sys

    monkeypatch.setitem(sys.modules, "textblob", None)  # import textblob now raises ImportError
    status = main(["analyze", "--data", "demo", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert status == 2 and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and "pip install" in err


def test_train_shows_every_epoch_without_colours_unless_quiet(tiny_bert, tmp_path, capsys):
    args = ["train", "--data", "demo", "--model", str(tmp_path / "m"), "--encoder", tiny_bert,
            "--max-epochs", "8", "--param", "patience=1", "--param", "validation_fraction=0.3"]
    assert main(args) == 0
    out = capsys.readouterr().out
    epochs = int(out.split("sentences (", 1)[1].split(" epochs")[0])
    rows = [line for line in out.splitlines() if line.strip()[:1].isdigit() and len(line.split()) >= 5]
    assert [int(row.split()[0]) for row in rows] == list(range(1, epochs + 1))
    assert "\x1b[" not in out  # capsys is not a terminal: no colour codes
    assert main(args + ["--quiet"]) == 0
    assert "train_loss" not in capsys.readouterr().out


def _train_and_interrupt(tiny_bert, model, *extra):
    """Start `empathy-cause train` as a user would, press Ctrl-C after its first epoch."""
    import signal
    import subprocess
    import sys
    import time

    command = [sys.executable, "-m", "empathy_cause.cli", "train", "--data", "demo", "--model", str(model),
               "--encoder", tiny_bert, "--max-epochs", "500", "--param", "hidden_size=16",
               "--param", "validation_fraction=null", "--param", "threshold=0.5", *extra]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    deadline = time.monotonic() + 120
    for line in process.stdout:  # the epoch table's first row: training is under way
        lines.append(line)
        if line.strip()[:1].isdigit() or time.monotonic() > deadline:
            break
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=120)
    return process.returncode, "".join(lines) + out


def test_ctrl_c_during_train_saves_nothing_and_exits_130(tiny_bert, tmp_path):
    model = tmp_path / "model"
    status, output = _train_and_interrupt(tiny_bert, model)
    assert status == 130, output
    assert "interrupted" in output and "Traceback" not in output and "saved to" not in output
    assert not model.exists() and list(tmp_path.iterdir()) == []


def test_ctrl_c_with_keep_partial_saves_a_model_marked_partial(tiny_bert, tmp_path):
    from empathy_cause import EmpathyCauseClassifier

    model = tmp_path / "model"
    status, output = _train_and_interrupt(tiny_bert, model, "--keep-partial")
    assert status == 130, output
    assert json.loads((model / "config.json").read_text())["partial"] is True
    with pytest.warns(UserWarning, match="interrupted"):
        EmpathyCauseClassifier.load(model)


@pytest.mark.parametrize("make_input, message", [
    (lambda p: (p / "model" / "config.json", b"{not json"), "config.json: not valid JSON"),
    (lambda p: (p / "data.csv", "post_sentences,reply,labels\n\"['Caf\xe9.']\",Hi,[1]\n".encode("latin-1")),
     "not UTF-8"),
    (lambda p: (p / "data.csv", b""), "empty"),
])
def test_user_errors_are_one_line(tiny_bert, tmp_path, capsys, make_input, message):
    from empathy_cause import EmpathyCauseClassifier

    X, y, _ = load_demo()
    EmpathyCauseClassifier(tiny_bert, hidden_size=16, max_epochs=1, validation_fraction=None,
                           random_state=0).fit(X.iloc[:20], y[:20]).save(tmp_path / "model")
    data = tmp_path / "data.csv"
    data.write_text("post_sentences,reply,labels\n\"['I feel alone.']\",Hugs,[1]\n")
    file, content = make_input(tmp_path)
    file.write_bytes(content)
    capsys.readouterr()
    status = main(["evaluate", "--model", str(tmp_path / "model"), "--data", str(data)])
    err = capsys.readouterr().err
    assert status == 2 and message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
