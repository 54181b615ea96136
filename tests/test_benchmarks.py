"""The benchmark commands: ablation (Table 3) and follow-ups write their table, JSON and plot."""

import json

import numpy as np
import pytest

from empathy_cause.benchmarks import ablation, followups
from empathy_cause.benchmarks.common import Config
from empathy_cause.benchmarks.tables import markdown_table, summarise


def _run(module, tmp_path, encoder, *extra):
    out = tmp_path / "out"
    code = module.main(["--data", "demo", "--runs", "2", "--max-epochs", "1", "--encoder", encoder,
                        "--out", str(out), "--quiet", "--param", "hidden_size=16", *extra])
    assert code == 0
    table = (out / "table.md").read_text()
    results = json.loads((out / "results.json").read_text())
    assert (out / "precision_recall.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return table, results


def _row(table, label):
    rows = [line for line in table.splitlines() if line.startswith(f"| {label}")]
    assert len(rows) == 1, f"no single row {label!r} in\n{table}"
    return [cell.strip() for cell in rows[0].strip("|").split("|")]


def test_ablation_writes_table_json_and_plot(tmp_path, tiny_bert):
    table, results = _run(ablation, tmp_path, tiny_bert)
    for config in ablation.CONFIGS.values():
        cells = _row(table, config.label)
        assert len(cells) == 8
        assert all("±" in c for c in cells[2:7])
        assert (cells[1] == "-") == (config.kind == "dummy")
    assert results["complete"] is True
    assert len(results["runs"]) == 2 * len(ablation.CONFIGS)
    assert {r["seed"] for r in results["runs"]} == {0, 1}
    majority = [r for r in results["runs"] if r["config"] == "majority"]
    assert all(r["metrics"]["f1"] == 0.0 and r["metrics"]["test_loss"] is None for r in majority)
    focal = [r for r in results["runs"] if r["config"] == "focal"]
    assert all(r["metrics"]["test_loss"] > 0 and r["epochs"] == 1 for r in focal)
    assert focal[0]["model"]["classifier_params"]["loss"] == "focal"
    # The split changes with the seed, and every configuration of a run shares it.
    assert focal[0]["n_test"] != focal[1]["n_test"] or focal[0]["n_train"] != focal[1]["n_train"]
    run0 = {r["n_test"] for r in results["runs"] if r["run"] == 0}
    assert len(run0) == 1
    summary = results["summary"]["weights_1_11"]
    values = [r["metrics"]["f1"] for r in results["runs"] if r["config"] == "weights_1_11"]
    assert summary["f1"]["mean"] == pytest.approx(np.mean(values))
    assert summary["f1"]["std"] == pytest.approx(np.std(values, ddof=1))


def test_ablation_config_subset_and_sample(tmp_path, tiny_bert):
    table, results = _run(ablation, tmp_path, tiny_bert, "--configs", "focal_concat", "random",
                          "--sample", "10")
    assert results["n_threads"] == 10
    assert {r["config"] for r in results["runs"]} == {"focal_concat", "random"}
    assert "Binary Focal Loss |" not in table


def test_followups_writes_table(tmp_path, tiny_bert):
    configs = ["baseline", "threshold", "undersample", "undersample_sentences", "balanced",
               "stopwords", "synonyms", "backtranslation"]
    table, results = _run(followups, tmp_path, tiny_bert, "--configs", *configs)
    for name in configs:
        config = followups.CONFIGS[name]
        cells = _row(table, config.label)
        if config.kind == "unavailable":
            assert cells[1] == "not available offline"
        else:
            assert all("±" in c for c in cells[1:7])
    runs = results["runs"]
    threshold = [r for r in runs if r["config"] == "threshold"]
    assert all(0.0 <= r["threshold"] <= 1.0 for r in threshold)
    balanced = [r for r in runs if r["config"] == "balanced"]
    assert all(r["test_positive_rate"] > 0.35 for r in balanced)
    assert "not comparable" in table
    assert not any(r["config"] in ("synonyms", "backtranslation") for r in runs)


def test_markdown_table_marks_unavailable_and_missing():
    configs = [Config("a", "A"), Config("b", "B", kind="unavailable", note="no data offline")]
    records = [{"config": "a", "metrics": {"test_loss": 0.1, "precision": 0.5, "recall": 0.5,
                                           "f1": 0.5, "accuracy": 0.9, "roc_auc": float("nan")},
                "fit_seconds": 1.0, "epochs": 3}]
    table = markdown_table(summarise(records, configs), configs)
    assert "| A | 0.1000 ± 0.0000 | 0.5000 ± 0.0000 |" in table
    assert "n/a" in table  # NaN AUC
    assert "| B [1] | not available offline |" in table
    assert "[1] no data offline" in table


def test_ablation_marks_the_defaults_and_has_the_papers_recipe():
    """Table 3 runs today's defaults (the row saying so) and the paper's recipe as a labelled row."""
    from empathy_cause import EmpathyCauseClassifier

    default_loss = EmpathyCauseClassifier().loss
    marked = [c.name for c in ablation.CONFIGS.values() if c.label.endswith("(the defaults)")]
    assert marked == ([default_loss] if default_loss in ("focal", "ce") else [])
    paper = ablation.CONFIGS["paper"]
    assert paper.label.startswith("The Paper's Recipe") and paper.settings == ablation.PAPER_RECIPE
    params = paper.model(random_state=0).get_params()
    assert params["batch_size"] == 4
    # The paper's network: none of the features this library adds, whatever today's defaults are.
    assert (params["position_features"], params["context_layers"], params["token_features"]) == (False, 0, False)


def test_learning_curve_writes_tables_plot_json_and_reuses_cells(reccon_dir, tmp_path, monkeypatch):
    """Sizes are whole-pair subsets; each cell is a (model, size, draw); --reuse takes cells instead of fitting."""
    from empathy_cause.benchmarks import learning_curve

    args = ["--shared-data", str(reccon_dir.parent), "--regimes", "dd", "--sizes", "20,60", "--draws", "2",
            "--models", "all,rule", "--quiet"]
    assert learning_curve.main([*args, "--out", str(tmp_path / "a")]) == 0
    results = json.loads((tmp_path / "a" / "results.json").read_text())
    (runs,) = results["runs"].values()
    assert {(r["config"], r["size"], r["draw"]) for r in runs} == {
        (c, s, d) for c in ("all", "rule") for s in ("20", "60") for d in (0, 1)}
    assert {r["pairs"] for r in runs} == {20, 60}
    assert all(r["metrics"]["positive_rate_predicted"] == 1.0 for r in runs if r["config"] == "all")
    assert (tmp_path / "a" / "learning_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = (tmp_path / "a" / "table.md").read_text()
    assert "| 20 pairs | 60 pairs |" in table and "best-threshold F1 minus own-threshold F1" in table

    def no_fit(*a, **k):
        raise AssertionError("a reused cell was fitted again")

    monkeypatch.setattr(Config, "model", no_fit)
    assert learning_curve.main([*args, "--out", str(tmp_path / "b"), "--reuse",
                                str(tmp_path / "a" / "results.json")]) == 0
    assert (tmp_path / "b" / "table.md").read_text() == table


def test_shifted_gap_is_the_weighted_oracle_minus_the_own_threshold():
    from sklearn.metrics import f1_score

    from empathy_cause.benchmarks.learning_curve import shifted_gap

    rng = np.random.default_rng(0)
    y = rng.random(300) < 0.2
    proba = np.clip(0.3 * y + 0.7 * rng.random(300), 0, 1)
    best = max(f1_score(y, proba >= t) for t in np.unique(proba))
    assert shifted_gap(y, proba, 0.5, 1.0) == pytest.approx(best - f1_score(y, proba >= 0.5))
    assert shifted_gap(y, proba, 0.5, 1.25) >= 0
