"""The speed benchmark runs end to end on tiny inputs (no timing is asserted)."""

import gc
import json
import math

import numpy as np
import pandas as pd
import pytest

from empathy_cause import load_acnempathize_cause
from empathy_cause.benchmarks.scaling import PhaseMemory, write_recombined_csv
from empathy_cause.benchmarks.speed import distinct_sentences, main, row_subsets


def test_speed_benchmark_reports_ratios_memory_and_scaling(tiny_bert, tmp_path, capsys, one_torch_thread):
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


def test_growth_reports_each_size_its_memory_and_one_post(tiny_bert, tmp_path, capsys, one_torch_thread):
    out = tmp_path / "speed.json"
    assert main(["--growth", "--corpora", "demo", "--growth-sizes", "60,150,full", "--encoder", tiny_bert,
                 "--param", "max_epochs=1", "--param", "hidden_size=16", "--repeats", "1", "--posts", "2",
                 "--sizes", "", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    for key in ("cpu", "torch", "torch_threads", "bf16_units", "repeats", "params", "growth_sizes", "corpora",
                "growth", "one_post", "peak_rss_mib"):
        assert key in report, key
    assert report["mode"] == "growth" and report["ratios"] == [] and report["scaling"] == []
    assert report["growth_sizes"] == ["60", "150", "full"] and report["corpora"][0]["fit_rows"] == 276
    for phase in ("fit", "predict_proba"):
        rows = [r for r in report["growth"] if r["phase"] == phase]
        assert len(rows) == 3 and np.all(np.diff([r["rows"] for r in rows]) > 0) and rows[-1]["rows"] == 276
        for r in rows:
            assert r["corpus"] == "demo set" and 0 < r["pairs"] <= r["rows"] and r["floor"]["sentences"] > 0
            assert math.isfinite(r["ratio"]) and r["ratio"] > 0 and r["ratio"] == r["seconds"] / r["floor"]["seconds"]
            assert r["rows_per_s"] > 0 and len(r["runs"]) == 1
            memory = r["memory"]
            assert memory["peak_mib"] > 0 and memory["increase_mib"] >= 0 and memory["runs"][0]["samples"] >= 2
    for r in report["growth"][:3]:
        assert r["epochs"] == 1 and r["epoch_seconds"] > 0 and r["validation_plan"] in ("crossfit", "split")
    (post,) = report["one_post"]
    assert post["corpus"] == "demo set" and post["posts"] == len(post["runs"]) == 2
    for key in ("predict_ratio", "explain_ratio", "predict_ms", "explain_ms", "floor_ms"):
        assert math.isfinite(post[key]) and post[key] > 0
    assert all(r["rows"] > 0 and r["sentences"] > 0 for r in post["runs"])
    printed = capsys.readouterr().out
    assert "phase's rise" in printed and "One post" in printed and "crossfit" in printed
    assert report["cpu"] in printed and "library ÷ floor" not in printed.split("Growth")[0]


def test_row_subsets_are_whole_pairs_growing_and_capped(demo):
    X, y, _ = demo
    parts = row_subsets(X, y, ["60", "150", "100000", "full"], random_state=3)
    assert [size for size, _, _ in parts] == ["60", "150", "full"]  # 100000 rows is the whole set: once
    rows = [len(part) for _, part, _ in parts]
    assert rows[0] < rows[1] < rows[2] == len(X) and abs(rows[0] - 60) < 20
    for _, part, labels in parts:
        whole = X[X["pair_id"].isin(part["pair_id"])]
        assert len(whole) == len(part) and len(labels) == len(part)
    again = row_subsets(X, y, ["60"], random_state=3)[0][1]
    assert again.equals(parts[0][1])


def test_phase_memory_sees_an_allocation():
    # Garbage of earlier tests is freed first (a collection inside the phase could free more than it
    # allocates), and the block is above glibc's largest mmap threshold (32 MiB), so its pages are new.
    gc.collect()
    with PhaseMemory(interval=0.001) as memory:
        block = np.ones(64 * 2**20 // 8)  # 64 MiB, touched
    assert memory.samples >= 2 and memory.peak_mib >= memory.start_mib > 0
    assert memory.increase_mib > 32 and block[-1] == 1
    assert set(memory.as_dict()) == {"start_mib", "peak_mib", "increase_mib", "samples"}


@pytest.mark.parametrize("extra", [["--skip-fit"], ["--paper-batching"], ["--devices", "cpu,cuda"],
                                   ["--growth-sizes", "10,none"], ["--growth-sizes", "0"], ["--posts", "-1"]])
def test_growth_refuses_what_it_cannot_do(extra):
    with pytest.raises(SystemExit):
        main(["--growth", "--corpora", "demo", *extra])
