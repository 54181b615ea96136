"""The speed benchmark runs end to end on tiny inputs (no timing is asserted)."""

import json

import pandas as pd

from empathy_cause import load_acnempathize_cause
from empathy_cause.benchmarks.scaling import write_recombined_csv
from empathy_cause.benchmarks.speed import distinct_sentences, main


def test_speed_benchmark_reports_ratios_memory_and_scaling(tiny_bert, tmp_path, capsys):
    out = tmp_path / "speed.json"
    assert main(["--data", "demo", "--encoder", tiny_bert, "--param", "max_epochs=1", "--param", "hidden_size=16",
                 "--repeats", "1", "--paper-batching", "--sizes", "150", "--chunk-pairs", "5",
                 "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert [(r["phase"], r["setting"]) for r in report["ratios"]] == [
        ("fit", "defaults"), ("fit", "paper batching"), ("predict_proba", "cold cache")]
    paper = report["ratios"][1]
    assert (paper["batch_size"], paper["accumulation_steps"]) == (4, 4)
    for r in report["ratios"]:
        assert r["ratio"] == r["seconds"] / r["floor"]["seconds"]
        assert r["floor"]["precision"] in ("fp32", "bf16") and r["peak_rss_mib"] > 0
    assert [r["rows"] >= n for r, n in zip(report["scaling"], (150,), strict=True)] == [True]
    for r in report["scaling"]:
        assert r["peak_rss_mib"] > 0 and r["seconds"] > 0 and 0 < r["encoded_sentences"] <= r["rows"] * 2
    printed = capsys.readouterr().out
    assert "library ÷ floor" in printed and "peak RSS" in printed and report["cpu"] in printed


def test_recombined_input_is_new_text_in_the_data_shape(demo, tmp_path):
    X, _, _ = demo
    path = tmp_path / "big.csv"
    shape = write_recombined_csv(path, 300, X, seed=1, chunk_pairs=10 ** 9)
    X_new, _, _ = load_acnempathize_cause(path)
    assert len(X_new) == shape["rows"] >= 300 and X_new["pair_id"].nunique() == shape["pairs"]
    texts = distinct_sentences(X_new)
    # One chunk: every distinct sentence is encoded once; almost none is a sentence of the data.
    assert shape["encoded_sentences"] == shape["distinct_sentences"] == len(texts)
    old = set(distinct_sentences(X))
    assert sum(t in old for t in texts) < 0.1 * len(texts)
    # Post lengths (pairs per dialogue turn) come from the data's dialogues.
    assert set(X_new["post"].map(len)) <= set(pd.Series(X["post"]).map(len))
