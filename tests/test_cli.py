"""The empathy-cause command: demo, train / predict / evaluate, and clear errors."""

import json

import pandas as pd
import pytest

from empathy_cause import load_demo
from empathy_cause.cli.command import main


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
    assert list(table.columns) == ["pair_id", "thread_id", "sentence_index", "sentence", "probability", "prediction"]
    assert table["probability"].between(0, 1).all()
    assert "<html" in view.read_text().lower() or "<!doctype html>" in view.read_text()

    capsys.readouterr()
    assert main(["evaluate", "--model", str(model), "--data", "demo", "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)  # with --json, standard output is the JSON alone
    assert metrics["n_sentences"] == len(X) and 0 <= metrics["f1"] <= 1
    # Without --json: the one readable line every command prints, with the same names.
    assert main(["evaluate", "--model", str(model), "--data", "demo"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("precision ") and f"n_sentences {len(X)}" in line and "{" not in line

    # --param overrides a saved parameter at load: threshold 1.0 calls (almost) nothing a cause.
    assert main(["predict", "--model", str(model), "--data", "demo", "--out", str(preds), "--quiet",
                 "--param", "threshold=1.0"]) == 0
    assert (pd.read_csv(preds)["prediction"] == (pd.read_csv(preds)["probability"] >= 1.0)).all()


def test_demo_prints_posts_and_metrics(tiny_bert, tmp_path, capsys):
    assert main(["demo", "--encoder", tiny_bert, "--max-epochs", "1", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Reply:" in out and "roc_auc" in out and "every_sentence_a_cause_f1" in out
    assert (tmp_path / "causes.html").is_file() and (tmp_path / "attention.png").is_file()


def test_demo_finds_causes_on_the_demo_set(tmp_path, capsys):
    """What a newcomer runs first: the demo, with the real embedded encoder, beats calling every
    sentence a cause (seeded, so deterministic), and writes no progress-bar lines off a terminal."""
    import numpy as np

    from empathy_cause import ThreadShuffleSplit, cause_metrics

    assert main(["demo", "--json", "--out", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    metrics = json.loads(captured.out)
    X, y, _ = load_demo()
    _, test = next(ThreadShuffleSplit(test_size=0.25, random_state=0).split(X))
    every = cause_metrics(y[test], np.ones(len(test)))["f1"]
    assert metrics["every_sentence_a_cause_f1"] == pytest.approx(every)
    assert metrics["f1"] > every, metrics
    # The posts and the epoch table went to standard error; capsys is no terminal, so no bar.
    assert "Reply:" in captured.err and "train_loss" in captured.err
    assert "it/s" not in captured.err and "0/1" not in captured.err


def test_every_command_that_trains_or_predicts_speaks_one_grammar():
    from empathy_cause import EmpathyCauseClassifier
    from empathy_cause.cli.command import build_parser
    parser = build_parser()
    common = ["--param", "lr=1e-3", "--quiet"]
    for argv in (["demo", "--json"], ["train", "--data", "demo", "--model", "m", "--json"],
                 ["predict", "--data", "demo", "--model", "m"],
                 ["evaluate", "--data", "demo", "--model", "m", "--json"]):
        args = parser.parse_args(argv + common)
        assert args.param == [("lr", 1e-3)] and args.quiet
    # Help texts state the real defaults.
    helps = {name: action.format_help() for name, action in
             parser._subparsers._group_actions[0].choices.items() if name in ("demo", "train")}
    assert f"(default: {EmpathyCauseClassifier().max_epochs}, the epoch chosen by cross-fitting)" in " ".join(
        helps["demo"].split())
    assert "(default: empathy-cause-demo)" in " ".join(helps["demo"].split())
    assert f"(default: {EmpathyCauseClassifier().max_epochs}," in " ".join(helps["train"].split())


def test_bad_data_path_is_one_clear_line(tmp_path, capsys):
    status = main(["evaluate", "--model", str(tmp_path), "--data", str(tmp_path / "nothing.txt")])
    err = capsys.readouterr().err
    assert status == 2 and "error" in err and "Traceback" not in err


def test_param_values_are_parsed_as_json_everywhere():
    import argparse

    from empathy_cause.benchmarks import compare, search
    from empathy_cause.cli.args import parse_param

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
    # What the speed benchmark measures today: ratios to the encoder's floor, not a naive implementation.
    assert "floor" in out and "naive" not in out
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

    command = [sys.executable, "-m", "empathy_cause.cli.command", "train", "--data", "demo", "--model", str(model),
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


def test_streaming_predict_keeps_few_vectors_and_no_token_states(tiny_bert, tmp_path, monkeypatch):
    # Memory stays flat over a long input: while predict streams, the process caches are bounded for one
    # pass (a few vectors, no token states), and the library's bounds come back when it ends.
    from empathy_cause.cli import command
    from empathy_cause.encoders import embedding_cache, token_cache
    from empathy_cause.prediction import job

    model = tmp_path / "m"
    assert main(["train", "--data", "demo", "--model", str(model), "--encoder", tiny_bert, "--max-epochs", "1",
                 "--param", "validation_fraction=null", "--quiet"]) == 0
    seen = []
    score = job.score_chunk
    monkeypatch.setattr(job, "score_chunk", lambda *a, **k: seen.append(
        (embedding_cache.max_bytes, token_cache.max_bytes, token_cache.nbytes)) or score(*a, **k))
    before = embedding_cache.max_bytes, token_cache.max_bytes
    assert main(["predict", "--model", str(model), "--data", "demo", "--out", str(tmp_path / "p.csv"),
                 "--chunk-pairs", "10", "--quiet"]) == 0
    assert len(seen) > 1 and all(s == (command.STREAMING_CACHE_BYTES, 0, 0) for s in seen)
    assert (embedding_cache.max_bytes, token_cache.max_bytes) == before
