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


def test_param_values_are_parsed():
    from empathy_cause.cli import _param

    assert _param("lr=0.001") == ("lr", 0.001)
    assert _param("class_weight=[1, 3]") == ("class_weight", [1, 3])
    assert _param("loss=ce") == ("loss", "ce")
    with pytest.raises(Exception, match="key=value"):
        _param("nonsense")
