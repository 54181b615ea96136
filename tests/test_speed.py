"""The speed benchmark runs end to end and reports library vs naive rates."""

import json

from empathy_cause.benchmarks.speed import main


def test_speed_benchmark_writes_rates_and_ratios(tiny_bert, tmp_path, capsys):
    out = tmp_path / "speed.json"
    assert main(["--data", "demo", "--encoder", tiny_bert, "--rows", "40", "--naive-rows", "6",
                 "--repeats", "1", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    phases = {(r["phase"], r["encoder"]) for r in report["results"]}
    assert phases == {("fit", "frozen"), ("predict", "frozen"), ("fit", "fine-tuned"), ("predict", "fine-tuned")}
    for r in report["results"]:
        assert r["library_sentences_per_s"] > 0 and r["naive_sentences_per_s"] > 0
        assert r["speedup"] == r["library_sentences_per_s"] / r["naive_sentences_per_s"]
    assert {r["phase"] for r in report["qa"]} == {"fit", "predict"}
    assert "speed-up" in capsys.readouterr().out
