"""Quality benchmark: train on RECCON-DD train, score on RECCON-DD valid and on ECF dev.

Every model is trained once per seed on one training set (RECCON-DD train by
default) and that fit is scored on every evaluation set (RECCON-DD valid, and
ECF dev, which no model ever trains on). The rows:

* ``rule``: the position rule "the last two post sentences are the causes"
  (on RECCON and ECF the last post unit is the reply itself);
* ``position``: a logistic regression on one-hot positions (distance from the
  end and from the start of the post), trained on the training set;
* ``paper``: the paper's configuration, ``EmpathyCauseClassifier(
  position_features=False, context_layers=0)`` with its other defaults;
* ``defaults``: ``EmpathyCauseClassifier()`` as it ships;
* ``vectors`` (not run unless asked): a logistic regression on the frozen
  encoder's sentence vectors, the mean reply vector, their product and the
  position one-hots;
* any configuration given with ``--config NAME='{"param": value}'``.

For each model and evaluation set it reports the mean ± sd (ddof=1) over the
seeds of F1 (cause class), precision, recall and ROC AUC, and two diagnostics:
F1 on the rows where the rule is wrong (the part of the task position alone
cannot decide) and the F1 at the best threshold on that set (an oracle: a model
far below it has a threshold problem, one near it a ranking problem).

Run: ``python benchmarks/quality.py`` or ``empathy-cause benchmark quality``
(defaults read ``../shared/data/reccon`` and ``../shared/data/ecf``).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, precision_recall_curve
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from .. import EmpathyCauseClassifier
from ..cliargs import add_param_argument
from ..data import split_sentences
from ..encoders import SentenceEncoder
from ..inspection import decision_threshold_of
from ..metrics import cause_metrics
from .common import (
    Config,
    describe_model,
    fitted_classifier,
    jsonable,
    load_benchmark_data,
    warm_models,
)

__all__ = [
    "PositionRule",
    "position_rule",
    "position_features",
    "vector_features",
    "rule_wrong_f1",
    "best_threshold_f1",
    "builtin_configs",
    "run_quality",
    "main",
]

METRICS = ("f1", "precision", "recall", "roc_auc", "f1_rule_wrong", "f1_best_threshold")
TITLES = {"f1": "F1", "precision": "Precision", "recall": "Recall", "roc_auc": "ROC AUC",
          "f1_rule_wrong": "F1 where the rule is wrong", "f1_best_threshold": "F1 at best threshold"}
DEFAULT_MODELS = ("rule", "position", "paper", "defaults")
DEFAULT_EVALS = (("RECCON-DD valid", "../shared/data/reccon", "valid"),
                 ("ECF dev", "../shared/data/ecf", "dev"))
POSITION_CAP = 10


# ------------------------------------------------------------------ models


def _distances(X):
    """(distance from the end, distance from the start) of each row's sentence."""
    index = X["sentence_index"].to_numpy()
    return X["post"].map(len).to_numpy() - 1 - index, index


def position_rule(X) -> np.ndarray:
    """1 for the last two sentences of each post, else 0."""
    from_end, _ = _distances(X)
    return (from_end <= 1).astype(int)


def position_features(X) -> np.ndarray:
    """One-hot distance from the end and from the start of the post (each capped at 9)."""
    from_end, from_start = _distances(X)
    eye = np.eye(POSITION_CAP)
    return np.hstack([eye[np.minimum(from_end, POSITION_CAP - 1)],
                      eye[np.minimum(from_start, POSITION_CAP - 1)]])


def vector_features(X, encoder=None) -> np.ndarray:
    """Sentence vector, mean reply vector, their product, and the position one-hots."""
    sentence_encoder = SentenceEncoder(encoder)
    sentences = [post[i] for post, i in zip(X["post"], X["sentence_index"], strict=True)]
    replies = [split_sentences(r) or [r] for r in X["reply"]]
    vectors = sentence_encoder.encode(sentences)
    distinct = sorted({s for reply in replies for s in reply})
    lookup = dict(zip(distinct, sentence_encoder.encode(distinct), strict=True))
    reply_vectors = np.stack([np.mean([lookup[s] for s in reply], axis=0) for reply in replies])
    return np.hstack([vectors, reply_vectors, vectors * reply_vectors, position_features(X)])


class PositionRule(ClassifierMixin, BaseEstimator):
    """The rule "the last two post sentences are causes" as a (fit-free) classifier."""

    def fit(self, X, y=None):
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X):
        rule = position_rule(X).astype(float)
        return np.column_stack([1.0 - rule, rule])

    def predict(self, X):
        return position_rule(X)


def _position_model(random_state):
    return make_pipeline(FunctionTransformer(position_features),
                         LogisticRegression(max_iter=1000, random_state=random_state))


def _vectors_model(encoder):
    def build(random_state):
        return make_pipeline(FunctionTransformer(vector_features, kw_args={"encoder": encoder}),
                             StandardScaler(),
                             LogisticRegression(max_iter=2000, C=0.1, random_state=random_state))
    return build


def builtin_configs(encoder=None):
    """The built-in rows, by name."""
    return {
        "rule": Config("rule", "rule: last two sentences", kind="dummy",
                       builder=lambda random_state: PositionRule()),
        "position": Config("position", "position only (logistic regression)", kind="dummy",
                           builder=_position_model),
        "paper": Config("paper", "paper (no position features, no context layer)",
                        settings={"position_features": False, "context_layers": 0}),
        "defaults": Config("defaults", "EmpathyCauseClassifier defaults"),
        "vectors": Config("vectors", "logistic regression on frozen vectors + position", kind="dummy",
                          builder=_vectors_model(encoder)),
    }


# ----------------------------------------------------------------- metrics


def rule_wrong_f1(y_true, y_pred, rule) -> float:
    """F1 (cause class) on the rows where ``rule`` disagrees with ``y_true`` (NaN when there are none)."""
    wrong = np.asarray(rule) != np.asarray(y_true)
    if not wrong.any():
        return float("nan")
    return float(f1_score(np.asarray(y_true)[wrong], np.asarray(y_pred)[wrong], zero_division=0))


def best_threshold_f1(y_true, y_score):
    """The highest F1 over every threshold on ``y_score``, and that threshold (an oracle)."""
    precision, recall, thresholds = precision_recall_curve(y_true, y_score)
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    best = int(np.argmax(f1[:-1])) if len(thresholds) else 0
    return float(f1[best]), (float(thresholds[best]) if len(thresholds) else None)


def evaluate(model, X, y):
    """Every reported metric of a fitted ``model`` on ``(X, y)``."""
    proba = np.asarray(model.predict_proba(X))[:, 1]
    y_pred = np.asarray(model.predict(X))
    metrics = cause_metrics(y, y_pred, proba)
    metrics["f1_rule_wrong"] = rule_wrong_f1(y, y_pred, position_rule(X))
    metrics["f1_best_threshold"], metrics["best_threshold"] = best_threshold_f1(y, proba)
    metrics["positive_rate_predicted"] = float(np.mean(y_pred))
    return metrics


# ---------------------------------------------------------------- protocol


def run_quality(configs, train, evals, *, seeds=3, seed=0, estimator_params=None, log=True):
    """Fit every configuration once per seed on ``train`` and score the fit on every evaluation set.

    Parameters
    ----------
    configs : list of Config
    train : (X, y)
        The training frame and labels.
    evals : dict
        Evaluation set label -> ``(X, y)``.
    seeds : int
        Seeds ``seed, seed + 1, ...``.
    estimator_params : dict
        :class:`EmpathyCauseClassifier` parameters shared by the neural
        configurations (their own settings win).

    Returns
    -------
    list of dict
        One record per configuration, seed and evaluation set.
    """
    estimator_params = dict(estimator_params or {})
    X_train, y_train = train
    every = pd.concat([X_train] + [X for X, _ in evals.values()], ignore_index=True)
    warm_models([c.model(random_state=seed, **estimator_params) for c in configs if c.kind == "neural"],
                every, log=log)
    records = []
    for s in range(seed, seed + seeds):
        for config in configs:
            model = config.model(random_state=s, **estimator_params)
            start = time.perf_counter()
            model.fit(X_train, y_train)
            fit_seconds = time.perf_counter() - start
            clf = fitted_classifier(model)
            for name, (X, y) in evals.items():
                metrics = evaluate(model, X, y)
                records.append({
                    "config": config.name, "label": config.label, "seed": s, "eval": name,
                    "metrics": metrics, "fit_seconds": fit_seconds,
                    "epochs": None if clf is None else len(clf.history_),
                    "threshold": decision_threshold_of(model), "model": describe_model(model),
                })
                if log:
                    print(f"[seed {s}] {config.name} on {name}: F1 {metrics['f1']:.4f}  "
                          f"P {metrics['precision']:.4f}  R {metrics['recall']:.4f}  "
                          f"AUC {metrics['roc_auc']:.4f}  rule-wrong F1 {metrics['f1_rule_wrong']:.4f}  "
                          f"best-threshold F1 {metrics['f1_best_threshold']:.4f}  ({fit_seconds:.1f}s fit)",
                          flush=True)
    return records


def summarise(records, configs, eval_names):
    """Mean and sd (ddof=1; 0 for one seed) of each metric, per configuration and evaluation set."""
    summary = {}
    for config in configs:
        for name in eval_names:
            rows = [r for r in records if r["config"] == config.name and r["eval"] == name]
            if not rows:
                continue
            entry = {"config": config.name, "label": config.label, "eval": name, "seeds": len(rows),
                     "fit_seconds": float(np.mean([r["fit_seconds"] for r in rows]))}
            for metric in METRICS:
                values = np.asarray([r["metrics"][metric] for r in rows], dtype=float)
                entry[metric] = {"mean": float(np.mean(values)),
                                 "std": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0}
            summary[f"{config.name} | {name}"] = entry
    return summary


def markdown_table(summary):
    header = ["Model", "Evaluated on"] + [TITLES[m] for m in METRICS]
    lines = ["| " + " | ".join(header) + " |", "| --- | --- |" + " ---: |" * len(METRICS)]
    for entry in summary.values():
        cells = []
        for metric in METRICS:
            stat = entry[metric]
            cells.append("n/a" if np.isnan(stat["mean"]) else f"{stat['mean']:.4f} ± {stat['std']:.4f}")
        lines.append("| " + " | ".join([entry["label"], entry["eval"]] + cells) + " |")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------- CLI


def _config_option(text):
    """``NAME={"param": value, ...}`` (a JSON object of EmpathyCauseClassifier parameters)."""
    name, sep, value = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME='{{\"param\": value}}', got {text!r}")
    try:
        params = json.loads(value)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"--config {name}: {value!r} is not JSON ({exc})") from None
    if not isinstance(params, dict):
        raise argparse.ArgumentTypeError(f"--config {name}: expected a JSON object, got {value!r}")
    return name, params


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="empathy-cause benchmark quality",
                                     description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="../shared/data/reccon",
                        help="training data, any form load_dataset reads (default: %(default)s)")
    parser.add_argument("--train-subset", default="train",
                        help="subset of --data to train on; '-' for none (default: %(default)s)")
    parser.add_argument("--eval", nargs=3, action="append", metavar=("LABEL", "PATH", "SUBSET"),
                        help="an evaluation set (repeatable; SUBSET '-' for none). Default: "
                             + "; ".join(" ".join(e) for e in DEFAULT_EVALS))
    parser.add_argument("--models", default=None,
                        help="comma-separated rows to run, from rule, position, paper, defaults, vectors "
                             "and the --config names (default: rule,position,paper,defaults and every --config)")
    parser.add_argument("--config", type=_config_option, action="append", default=[],
                        metavar="NAME=JSON",
                        help="""a candidate configuration, e.g. --config big='{"hidden_size": 512}' """
                             "(EmpathyCauseClassifier parameters; repeatable)")
    parser.add_argument("--seeds", type=int, default=3, help="fits per model, seeds SEED.. (default: 3)")
    parser.add_argument("--seed", type=int, default=0, help="first seed (default: 0)")
    parser.add_argument("--sample", type=int, default=None, metavar="N",
                        help="use a random sample of N threads of every set, for a quick look")
    parser.add_argument("--encoder", default=None,
                        help="encoder folder or local hub name (default: the embedded MiniLM)")
    parser.add_argument("--max-epochs", type=int, default=None,
                        help="epochs per neural fit (default: the estimator's default)")
    add_param_argument(parser, "an EmpathyCauseClassifier parameter for every neural row (a row's own "
                               "settings win)")
    parser.add_argument("--out", default="results/quality", help="output folder (default: %(default)s)")
    parser.add_argument("--quiet", "-q", action="store_true", help="print only the final table")
    return parser


def _select(args, all_configs):
    names = [n.strip() for n in args.models.split(",") if n.strip()] if args.models else \
        list(DEFAULT_MODELS) + [name for name, _ in args.config]
    unknown = [n for n in names if n not in all_configs]
    if unknown:
        raise SystemExit(f"unknown model(s) {unknown}; choose from {list(all_configs)}")
    if not names:
        raise SystemExit("--models names no model")
    return [all_configs[n] for n in dict.fromkeys(names)]


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.seeds < 1:
        raise SystemExit("--seeds must be at least 1")
    log = not args.quiet
    all_configs = builtin_configs(args.encoder)
    known = set(EmpathyCauseClassifier().get_params(deep=False))
    for name, params in args.config:
        if name in all_configs:
            raise SystemExit(f"--config {name}: the name is taken; choose another than {list(all_configs)}")
        # Unknown parameters fail here, before any fit (prefixed ones, like optimizer__eps, at fit).
        unknown = sorted(k for k in params if "__" not in k and k not in known)
        if unknown:
            raise SystemExit(f"--config {name}: unknown EmpathyCauseClassifier parameter(s) {unknown}")
        all_configs[name] = Config(name, f"{name}: {json.dumps(params, sort_keys=True)}", settings=params)
    configs = _select(args, all_configs)
    estimator_params = dict(args.param)
    for key in ("encoder", "max_epochs"):
        if getattr(args, key) is not None:
            estimator_params[key] = getattr(args, key)

    def load(path, subset):
        return load_benchmark_data(path, None if subset == "-" else subset, args.sample, args.seed)

    started = time.perf_counter()
    train = load(args.data, args.train_subset)
    evals = {label: load(path, subset) for label, path, subset in (args.eval or DEFAULT_EVALS)}
    sets = {f"train: {args.data} {args.train_subset}": train, **evals}
    sizes = {name: {"rows": len(X), "pairs": int(X["pair_id"].nunique()), "positive_rate": float(np.mean(y))}
             for name, (X, y) in sets.items()}
    if log:
        for name, size in sizes.items():
            print(f"{name}: {size['rows']} rows, {size['pairs']} pairs, {size['positive_rate']:.1%} causes")

    records = run_quality(configs, train, evals, seeds=args.seeds, seed=args.seed,
                          estimator_params=estimator_params, log=log)
    summary = summarise(records, configs, list(evals))
    table = markdown_table(summary)
    caption = (f"Trained on {args.data} ({args.train_subset}); mean ± sd over {args.seeds} seed(s) "
               f"({args.seed}..{args.seed + args.seeds - 1}). F1 is for the cause class.")
    print(table + "\n" + caption)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "table.md").write_text(table + "\n" + caption + "\n")
    payload = {
        "benchmark": "quality", "argv": sys.argv[1:] if argv is None else list(argv),
        "train": {"data": str(args.data), "subset": args.train_subset},
        "evals": {label: {"data": str(path), "subset": subset}
                  for label, path, subset in (args.eval or DEFAULT_EVALS)},
        "sizes": sizes, "sample": args.sample, "seeds": list(range(args.seed, args.seed + args.seeds)),
        "estimator_params": estimator_params,
        "configs": {c.name: {"label": c.label, "kind": c.kind, "settings": c.settings} for c in configs},
        "summary": summary, "runs": records,
        "seconds": time.perf_counter() - started, "platform": platform.platform(),
    }
    (out / "results.json").write_text(json.dumps(jsonable(payload), indent=2, allow_nan=False))
    if log:
        print(f"Wrote {out / 'table.md'} and {out / 'results.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
