"""The quality benchmark on tiny synthetic RECCON and ECF files (sanity only, no quality claims)."""

import json

import numpy as np
import pytest

from empathy_cause import EmpathyCauseClassifier, load_ecf, load_reccon
from empathy_cause.baselines.positional import PositionRule, position_rule
from empathy_cause.benchmarks import quality

WORDS = "I lost my job today and feel awful but my friend called me so that is nice again".split()


def _utterance(rng):
    return " ".join(rng.choice(WORDS, size=rng.integers(3, 8))) + " ."


def _write_reccon(path, subset, n_dialogues, rng):
    dialogues = {}
    for d in range(n_dialogues):
        utterances = []
        for t in range(1, rng.integers(3, 6) + 1):
            u = {"turn": t, "speaker": "AB"[t % 2], "utterance": _utterance(rng), "emotion": "neutral"}
            if t > 1:
                u["emotion"] = "sadness"
                u["expanded emotion cause evidence"] = sorted({t, int(rng.integers(1, t + 1))})
            utterances.append(u)
        dialogues[f"{subset[:2]}_{d}"] = [utterances]
    (path / f"dailydialog_{subset}.json").write_text(json.dumps(dialogues), encoding="utf-8")


def _write_ecf(path, n_conversations, rng):
    blocks = []
    for c in range(n_conversations):
        n = int(rng.integers(3, 6))
        pairs = [(e, int(rng.integers(1, e + 1))) for e in range(2, n + 1)] + [(n, n)]
        lines = [f"{c + 1} {n}", ",".join(f"({e},{k})" for e, k in sorted(set(pairs)))]
        lines += [f"{k} | {'Ross' if k % 2 else 'Rachel'} | joy | {_utterance(rng)} | S1E1: 00:00:01 - 00:00:02"
                  for k in range(1, n + 1)]
        blocks.append("\n".join(lines))
    (path / "dev.txt").write_text("\n".join(blocks) + "\n", encoding="utf-8")


@pytest.fixture
def tiny_sets(tmp_path):
    rng = np.random.default_rng(0)
    reccon, ecf = tmp_path / "reccon", tmp_path / "ecf"
    reccon.mkdir()
    ecf.mkdir()
    _write_reccon(reccon, "train", 30, rng)
    _write_reccon(reccon, "valid", 8, rng)
    _write_ecf(ecf, 8, rng)
    return reccon, ecf


def test_quality_benchmark_runs_on_tiny_inputs(tiny_sets, tiny_bert, tmp_path, monkeypatch, one_torch_thread):
    reccon, ecf = tiny_sets
    fits = []
    original_fit = EmpathyCauseClassifier.fit

    def counting_fit(self, X, y=None, **kwargs):
        if not any(name == "held_out_scores" for name, _ in self.callbacks or []):  # not a cross-fitting copy
            fits.append(self.random_state)
        return original_fit(self, X, y, **kwargs)

    monkeypatch.setattr(EmpathyCauseClassifier, "fit", counting_fit)
    out = tmp_path / "out"
    code = quality.main([
        "--data", str(reccon), "--eval", "DD valid", str(reccon), "valid", "--eval", "ECF dev", str(ecf), "dev",
        "--models", "rule,position,paper,defaults,small", "--config", 'small={"hidden_size": 8}',
        "--seeds", "2", "--encoder", tiny_bert, "--max-epochs", "1", "--param", "hidden_size=16",
        "--out", str(out), "--quiet"])
    assert code == 0
    assert sorted(fits) == [0, 0, 0, 1, 1, 1]  # each neural row is fitted once per seed
    results = json.loads((out / "results.json").read_text())
    table = (out / "table.md").read_text()
    runs = results["runs"]
    assert len(runs) == 5 * 2 * 2
    names = {"rule", "position", "paper", "defaults", "small"}
    assert {r["config"] for r in runs} == names
    for run in runs:
        m = run["metrics"]
        for key in ("f1", "precision", "recall", "roc_auc", "f1_best_threshold"):
            assert 0.0 <= m[key] <= 1.0
        assert m["f1_best_threshold"] >= m["f1"] - 1e-9  # the oracle threshold is at least as good
    # The shared --param reaches every neural row; a row's own settings win.
    params = {r["config"]: r["model"]["classifier_params"] for r in runs if "classifier_params" in r["model"]}
    assert params["defaults"]["hidden_size"] == 16 and params["small"]["hidden_size"] == 8
    assert params["paper"]["position_features"] is False and params["paper"]["context_layers"] == 0
    # The rule row is the rule whose k was chosen on the training set, scored on the sets as loaded.
    X, y, _ = load_ecf(ecf, subset="dev")
    rule = [r for r in runs if r["config"] == "rule" and r["eval"] == "ECF dev"][0]["metrics"]
    X_train, y_train, _ = load_reccon(reccon, subset="train")
    last = PositionRule().fit(X_train, y_train).last_
    pred = position_rule(X, last)
    assert rule["f1"] == pytest.approx(2 * (pred & y).sum() / (pred.sum() + y.sum()))
    # mean ± sd (ddof=1) over the seeds
    entry = results["summary"]["defaults | DD valid"]
    values = [r["metrics"]["f1"] for r in runs if r["config"] == "defaults" and r["eval"] == "DD valid"]
    assert entry["f1"]["mean"] == pytest.approx(np.mean(values))
    assert entry["f1"]["std"] == pytest.approx(np.std(values, ddof=1))
    every_metric = table.split("## Every metric")[1]
    assert len([line for line in every_metric.splitlines() if line.startswith("| ")]) == 2 + 5 * 2
    assert "| rule: last k+1 sentences (k chosen on train) | ECF dev |" in every_metric
    # The F1 table names the best baseline per set and each model's margin over it.
    f1_table = table.split("## F1")[1].split("## ROC AUC")[0]
    assert "| **best baseline** |" in f1_table and "| defaults minus best baseline |" in f1_table
    assert load_reccon(reccon, subset="valid")[0]["pair_id"].nunique() == results["sizes"]["DD valid"]["pairs"]


def test_metric_helpers():
    y = np.array([1, 0, 1, 0, 1])
    rule = np.array([1, 1, 0, 0, 1])
    # Rows where the rule is wrong: 1 (y=0) and 2 (y=1).
    assert quality.rule_wrong_f1(y, np.array([0, 0, 1, 0, 0]), rule) == 1.0
    assert quality.rule_wrong_f1(y, rule, rule) == 0.0
    assert np.isnan(quality.rule_wrong_f1(y, y, y))
    f1, threshold = quality.oracle_f1(y, np.array([0.9, 0.1, 0.8, 0.2, 0.7]))
    assert f1 == 1.0 and threshold == pytest.approx(0.7)


@pytest.mark.parametrize("argv, match", [
    (["--models", "rule,nope"], r"unknown model\(s\) \['nope'\]"),
    (["--regimes", "dd,nope"], r"unknown regime\(s\) \['nope'\]"),
    (["--data", "x"], "at least one --eval"),
    (["--config", 'rule={"lr": 1}'], "the name is taken"),
    (["--config", 'x={"hidden_sise": 8}'], r"unknown EmpathyCauseClassifier parameter\(s\) \['hidden_sise'\]"),
    (["--seeds", "0"], "at least 1"),
])
def test_quality_option_errors(argv, match):
    with pytest.raises(SystemExit, match=match):
        quality.main(argv)


def test_quality_config_must_be_a_json_object(capsys):
    with pytest.raises(SystemExit):
        quality.main(["--config", "x=[1, 2]"])
    assert "expected a JSON object" in capsys.readouterr().err
