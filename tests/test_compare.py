"""Table 4 (empathy_cause.benchmarks.compare) on the demo set with tiny models."""

import json

import pytest

from empathy_cause.baselines.prompting import build_prompt
from empathy_cause.benchmarks.compare import QA_ROWS_PER_EPOCH, build_configs, build_parser, main

ROWS = {"defaults": "Co-Attention (the defaults)", "paper": "The Paper's Recipe (Binary Focal Loss)",
        "prompt": "Few-Shot Prompting", "qa": "Question Answering",
        "random": "Random Labeling", "majority": "Majority Class Labeling"}

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def tiny_llm(tmp_path_factory):
    from tests.test_prompting import PAIRS, _save_tiny_lm, _tiny_tokenizer

    tokenizer = _tiny_tokenizer([build_prompt(post, reply, [(post, reply, labels)])
                                 for _, post, reply, labels in PAIRS])
    return str(_save_tiny_lm(tmp_path_factory.mktemp("compare") / "llm", tokenizer, seed=0))


def test_parser_defaults():
    args = build_parser().parse_args([])
    assert args.runs == 1 and args.out == "results/compare" and args.data == "demo"
    assert args.llm is None and args.qa_model is None and args.qa_rows_per_epoch == QA_ROWS_PER_EPOCH
    assert "default: 1" in build_parser().format_help()


def test_configs_skip_prompting_without_an_llm():
    configs = build_configs()
    assert list(configs) == list(ROWS)
    assert configs["prompt"].kind == "unavailable" and "--llm" in configs["prompt"].note
    assert build_configs(llm="/some/llm")["prompt"].kind != "unavailable"


def test_main_writes_table_and_json_and_skips_prompting(tiny_bert, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["--data", "demo", "--max-epochs", "1", "--encoder", tiny_bert, "--qa-model", tiny_bert,
                 "--out", str(out), "--no-plot"]) == 0
    printed = capsys.readouterr().out
    assert "prompting skipped" in printed and "--llm" in printed

    table = (out / "table.md").read_text()
    lines = {line.split(" | ")[0].lstrip("| ").split(" [")[0]: line for line in table.splitlines()
             if line.startswith("| ")}
    for label in ROWS.values():
        assert label in lines
    assert "not available offline" in lines["Few-Shot Prompting"]
    assert "no --llm was given" in table
    assert "1 run(s)" in table

    results = json.loads((out / "results.json").read_text())
    assert results["benchmark"] == "compare" and results["complete"] is True
    assert results["summary"]["prompt"]["kind"] == "unavailable"
    assert "--llm" in results["summary"]["prompt"]["note"]
    runs = results["runs"]
    assert sorted(r["config"] for r in runs) == ["defaults", "majority", "paper", "qa", "random"]
    splits = {(r["n_train"], r["n_valid"], r["n_test"]) for r in runs}
    assert len(splits) == 1  # every method on the same split
    for record in runs:
        assert set(record["metrics"]) >= {"precision", "recall", "f1", "accuracy", "roc_auc"}
    qa = next(r for r in runs if r["config"] == "qa")
    assert qa["epochs"] == 1
    assert qa["model"]["classifier_params"]["max_rows_per_epoch"] == QA_ROWS_PER_EPOCH
    assert qa["model"]["classifier_params"]["model"] == tiny_bert
    for name in ("defaults", "paper", "qa", "random", "majority"):
        assert results["summary"][name]["runs"] == 1
        assert set(results["summary"][name]["f1"]) == {"mean", "std"}


def test_main_runs_prompting_with_a_local_llm(tiny_llm, tmp_path):
    out = tmp_path / "out"
    assert main(["--data", "demo", "--llm", tiny_llm, "--n-shots", "1", "--configs", "prompt",
                 "majority", "--out", str(out), "--no-plot", "--quiet", "--sample", "8"]) == 0
    results = json.loads((out / "results.json").read_text())
    prompt = [r for r in results["runs"] if r["config"] == "prompt"]
    assert len(prompt) == 1
    assert prompt[0]["model"]["params"]["model"] == tiny_llm
    assert 0.0 <= prompt[0]["metrics"]["f1"] <= 1.0
    assert "not available" not in (out / "table.md").read_text()
