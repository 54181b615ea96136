"""Quality benchmark: three regimes, each model beside the baselines it must beat.

Every model is trained once per seed on a regime's training set and that fit
is scored on the regime's evaluation sets. The built-in regimes (from
``--shared-data``, default ``../shared/data``):

* RECCON-DD: train on RECCON-DD train, score on RECCON-DD valid and, across
  corpora, on ECF dev (conversations: the causes sit in the last utterances);
* ECF: train on ECF train, score on ECF dev;
* CovidET: train on CovidET-EXT train (reply = an annotator's summary of the
  trigger), score on CovidET-EXT val (forum-like posts: causes spread through
  about ten sentences, no positional rule beats marking everything).

The rows:

* ``all``: every sentence is a cause;
* ``rule``: the best positional rule "the last k+1 post sentences are the
  causes", k chosen on the training set;
* ``position``: a logistic regression on one-hot positions (distance from the
  end and from the start of the post);
* ``cosine``, ``tokens``, ``tokens8``: logistic regressions on one, four and
  eight similarity features of the frozen encoder
  (:mod:`empathy_cause.baselines.similarity`);
* ``paper``: the paper's configuration, ``EmpathyCauseClassifier(
  position_features=False, context_layers=0, token_features=False)``;
* ``defaults``: ``EmpathyCauseClassifier()`` as it ships;
* ``vectors`` (not run unless asked): a logistic regression on the frozen
  encoder's sentence vectors, the mean reply vector, their product and the
  position one-hots;
* any configuration given with ``--config NAME='{"param": value}'``.

For each model and evaluation set it reports the mean ± sd (ddof=1) over the
seeds of F1 (cause class), precision, recall and ROC AUC, and two diagnostics:
F1 on the rows where the last-two rule is wrong (the part of the task position
alone cannot decide) and the F1 at the best threshold on that set (an oracle: a
model far below it has a threshold problem, one near it a ranking problem).
The first table gives F1 per evaluation set with the best baseline row and
each model's margin over it.

Run: ``python benchmarks/quality.py`` or ``empathy-cause benchmark quality``;
``--regimes covidet`` for one regime, ``--data PATH --eval LABEL PATH SUBSET``
for a regime of your own.
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
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, precision_recall_curve
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from .. import EmpathyCauseClassifier
from ..baselines.positional import AllCauses, PositionRule, position_features, position_rule
from ..baselines.similarity import similarity_baseline
from ..cli.args import add_param_argument, add_random_state_argument
from ..data import split_sentences
from ..encoders.encoding import SentenceEncoder
from ..metrics import cause_metrics
from ..model_selection.unwrap import decision_threshold_of, fitted_classifier
from .common import Config, describe_model, jsonable, load_benchmark_data, warm_models
from .tables import markdown_table, stat_cell, summarise, summary_key, table_header

__all__ = [
    "REGIMES",
    "vector_features",
    "rule_wrong_f1",
    "oracle_f1",
    "builtin_configs",
    "run_quality",
    "main",
]

METRICS = ("f1", "precision", "recall", "roc_auc", "f1_rule_wrong", "f1_best_threshold")
TITLES = {"f1": "F1", "precision": "Precision", "recall": "Recall", "roc_auc": "ROC AUC",
          "f1_rule_wrong": "F1 where the rule is wrong", "f1_best_threshold": "F1 at best threshold"}
DEFAULT_MODELS = ("all", "rule", "position", "cosine", "tokens", "tokens8", "paper", "defaults")
BASELINES = ("all", "rule", "position", "cosine", "tokens", "tokens8")
#: name -> (label, (train folder, subset), [(evaluation label, folder, subset)]); folders under --shared-data.
REGIMES = {
    "dd": ("RECCON-DD", ("reccon", "train"),
           [("RECCON-DD valid", "reccon", "valid"), ("ECF dev (trained on RECCON-DD)", "ecf", "dev")]),
    "ecf": ("ECF", ("ecf", "train"), [("ECF dev", "ecf", "dev")]),
    "covidet": ("CovidET", ("covidet", "train"), [("CovidET val", "covidet", "val")]),
}


# ------------------------------------------------------------------ models


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
    def similarity(kind):
        return lambda random_state: similarity_baseline(kind, encoder=encoder, random_state=random_state)

    return {
        "all": Config("all", "every sentence a cause", kind="dummy", builder=lambda random_state: AllCauses()),
        "rule": Config("rule", "rule: last k+1 sentences (k chosen on train)", kind="dummy",
                       builder=lambda random_state: PositionRule()),
        "position": Config("position", "position only (logistic regression)", kind="dummy",
                           builder=_position_model),
        "cosine": Config("cosine", "logistic regression: cosine(sentence, reply)", kind="dummy",
                         builder=similarity("cosine")),
        "tokens": Config("tokens", "logistic regression: 4 token-similarity features", kind="dummy",
                         builder=similarity("tokens")),
        "tokens8": Config("tokens8", "logistic regression: 8 similarity, rank, length, position features",
                          kind="dummy", builder=similarity("tokens8")),
        "paper": Config("paper", "paper (no position features, no context layer, no token features)",
                        settings={"position_features": False, "context_layers": 0, "token_features": False}),
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


def oracle_f1(y_true, y_score):
    """The highest F1 over every threshold on ``y_score``, and that threshold (an oracle)."""
    precision, recall, thresholds = precision_recall_curve(y_true, y_score)
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    best = int(np.argmax(f1[:-1])) if len(thresholds) else 0
    return float(f1[best]), (float(thresholds[best]) if len(thresholds) else None)


def evaluate(model, X, y, proba=None):
    """Every reported metric of a fitted ``model`` on ``(X, y)`` (``proba``: its cause probabilities, if known)."""
    proba = np.asarray(model.predict_proba(X))[:, 1] if proba is None else proba
    y_pred = np.asarray(model.predict(X))
    metrics = cause_metrics(y, y_pred, proba)
    metrics["f1_rule_wrong"] = rule_wrong_f1(y, y_pred, position_rule(X))
    metrics["f1_best_threshold"], metrics["best_threshold"] = oracle_f1(y, proba)
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


def regime_table(summary, configs, eval_names, metric="f1"):
    """Models x evaluation sets, one metric (mean ± sd), then the best baseline row and each model's margin."""
    lines = table_header(["Model", *eval_names])

    def stat(name, eval_name):
        entry = summary.get(summary_key(name, eval_name))
        return None if entry is None else entry[metric]

    for config in configs:
        cells = []
        for eval_name in eval_names:
            value = stat(config.name, eval_name)
            cells.append(stat_cell(value, missing=""))
        lines.append(f"| {config.label} | " + " | ".join(cells) + " |")
    best = {}
    for eval_name in eval_names:
        scored = [(stat(c.name, eval_name)["mean"], c.name) for c in configs
                  if c.name in BASELINES and stat(c.name, eval_name) is not None]
        if scored:
            best[eval_name] = max(scored)
    if best:
        lines.append("| **best baseline** | " + " | ".join(
            f"{best[e][0]:.4f} ({best[e][1]})" if e in best else "" for e in eval_names) + " |")
        for config in configs:
            if config.name in BASELINES:
                continue
            cells = []
            for eval_name in eval_names:
                value = stat(config.name, eval_name)
                cells.append("" if value is None or eval_name not in best
                             else f"{value['mean'] - best[eval_name][0]:+.4f}")
            lines.append(f"| {config.name} minus best baseline | " + " | ".join(cells) + " |")
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
    parser.add_argument("--regimes", default=",".join(REGIMES),
                        help="built-in regimes to run, from " + ", ".join(
                            f"{n} ({label})" for n, (label, _, _) in REGIMES.items()) + " (default: %(default)s)")
    parser.add_argument("--shared-data", default="../shared/data",
                        help="folder holding reccon/, ecf/ and covidet/ (default: %(default)s)")
    parser.add_argument("--data", default=None,
                        help="instead of the built-in regimes: training data, any format --data of train takes "
                             "(a corpus folder or file, or a file of pairs: .csv, .tsv, .jsonl, .parquet)")
    parser.add_argument("--train-subset", default="train",
                        help="subset of --data to train on; '-' for none (default: %(default)s)")
    parser.add_argument("--eval", nargs=3, action="append", metavar=("LABEL", "PATH", "SUBSET"),
                        help="with --data: an evaluation set (repeatable; SUBSET '-' for none)")
    parser.add_argument("--models", default=None,
                        help="comma-separated rows to run, from " + ", ".join(builtin_configs())
                             + " and the --config names (default: " + ",".join(DEFAULT_MODELS)
                             + " and every --config)")
    parser.add_argument("--config", type=_config_option, action="append", default=[],
                        metavar="NAME=JSON",
                        help="""a candidate configuration, e.g. --config big='{"hidden_size": 512}' """
                             "(EmpathyCauseClassifier parameters; repeatable)")
    parser.add_argument("--seeds", type=int, default=3, help="fits per model, seeds SEED.. (default: 3)")
    add_random_state_argument(parser, dest="seed", help="first seed")
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


def _regimes(args):
    """``[(regime label, (train path, subset), [(eval label, path, subset)])]`` from the options."""
    if args.data is not None:
        evals = args.eval or []
        if not evals:
            raise SystemExit("--data needs at least one --eval LABEL PATH SUBSET")
        return [(str(args.data), (args.data, args.train_subset), [tuple(e) for e in evals])]
    if args.eval:
        raise SystemExit("--eval goes with --data (the built-in regimes have their own evaluation sets)")
    names = [n.strip() for n in args.regimes.split(",") if n.strip()]
    unknown = [n for n in names if n not in REGIMES]
    if unknown or not names:
        raise SystemExit(f"unknown regime(s) {unknown}; choose from {list(REGIMES)}")
    root = Path(args.shared_data)
    regimes = []
    for name in names:
        label, (train, subset), evals = REGIMES[name]
        regimes.append((label, (root / train, subset), [(e, root / path, sub) for e, path, sub in evals]))
    return regimes


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
    regimes = _regimes(args)
    estimator_params = dict(args.param)
    for key in ("encoder", "max_epochs"):
        if getattr(args, key) is not None:
            estimator_params[key] = getattr(args, key)

    def load(path, subset):
        return load_benchmark_data(path, None if subset == "-" else subset, args.sample, args.seed)

    started = time.perf_counter()
    records, sizes, eval_names = [], {}, []
    for label, (train_path, train_subset), evals in regimes:
        train = load(train_path, train_subset)
        eval_sets = {name: load(path, subset) for name, path, subset in evals}
        sets = {f"train: {label} ({train_path} {train_subset})": train, **eval_sets}
        for name, (X, y) in sets.items():
            sizes[name] = {"rows": len(X), "pairs": int(X["pair_id"].nunique()), "positive_rate": float(np.mean(y))}
            if log:
                print(f"{name}: {sizes[name]['rows']} rows, {sizes[name]['pairs']} pairs, "
                      f"{sizes[name]['positive_rate']:.1%} causes", flush=True)
        for record in run_quality(configs, train, eval_sets, seeds=args.seeds, seed=args.seed,
                                  estimator_params=estimator_params, log=log):
            records.append({"regime": label, **record})
        eval_names += list(eval_sets)
    summary = summarise(records, configs, evals=eval_names, metrics=METRICS)
    caption = (f"Mean ± sd over {args.seeds} seed(s) ({args.seed}..{args.seed + args.seeds - 1}); each model "
               "is trained on its regime's training set. F1 and ROC AUC are for the cause class.")
    tables = ("## F1\n\n" + regime_table(summary, configs, eval_names)
              + "\n## ROC AUC\n\n" + regime_table(summary, configs, eval_names, "roc_auc")
              + "\n## Every metric\n\n"
              + markdown_table(summary, configs, evals=eval_names, metrics=METRICS, titles=TITLES, fit_column=False))
    print(tables + "\n" + caption)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "table.md").write_text(tables + "\n" + caption + "\n")
    payload = {
        "benchmark": "quality", "argv": sys.argv[1:] if argv is None else list(argv),
        "regimes": [{"label": label, "train": {"data": str(path), "subset": subset},
                     "evals": {e: {"data": str(p), "subset": sub} for e, p, sub in evals}}
                    for label, (path, subset), evals in regimes],
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
