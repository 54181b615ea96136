"""Quality of the default estimator against two reference baselines.

Trains ``EmpathyCauseClassifier`` with its default parameters on one split and
reports the cause-class metrics on another, beside:

* the position rule "the last post sentence and the one before it are the
  causes" (on RECCON the last post unit is the reply itself);
* a logistic regression on the frozen encoder's sentence vectors of the post
  sentence and the mean reply vector, plus position features.

Run: ``python benchmarks/quality.py --data ../shared/data/reccon`` (train on
``train``, evaluate on ``valid``), or ``empathy-cause benchmark quality``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ..data import load_dataset, split_sentences
from ..encoders import SentenceEncoder
from ..estimator import EmpathyCauseClassifier
from ..metrics import cause_metrics

__all__ = ["position_rule", "vector_features", "main"]


def position_rule(X) -> np.ndarray:
    """1 for the last two sentences of each post, else 0."""
    n_sentences = X["post"].map(len).to_numpy()
    return ((n_sentences - 1 - X["sentence_index"].to_numpy()) <= 1).astype(int)


def vector_features(X, encoder=None) -> np.ndarray:
    """Sentence vector, mean reply vector, their product, and position one-hots."""
    sentence_encoder = SentenceEncoder(encoder)
    sentences = [post[i] for post, i in zip(X["post"], X["sentence_index"])]
    replies = [split_sentences(r) or [r] for r in X["reply"]]
    vectors = sentence_encoder.encode(sentences)
    distinct = sorted({s for reply in replies for s in reply})
    lookup = dict(zip(distinct, sentence_encoder.encode(distinct)))
    reply_vectors = np.stack([np.mean([lookup[s] for s in reply], axis=0) for reply in replies])
    from_end = np.minimum(X["post"].map(len).to_numpy() - 1 - X["sentence_index"].to_numpy(), 9)
    from_start = np.minimum(X["sentence_index"].to_numpy(), 9)
    positions = np.concatenate([np.eye(10)[from_end], np.eye(10)[from_start]], axis=1)
    return np.hstack([vectors, reply_vectors, vectors * reply_vectors, positions])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="empathy-cause benchmark quality", description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data/reccon", help="a RECCON folder (default: %(default)s)")
    parser.add_argument("--train-subset", default="train")
    parser.add_argument("--test-subset", default="valid")
    parser.add_argument("--encoder", default=None)
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument("--out", default="results/quality.json")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    X_train, y_train, _ = load_dataset(args.data, subset=args.train_subset)
    X_test, y_test, _ = load_dataset(args.data, subset=args.test_subset)
    results = {}

    start = time.perf_counter()
    clf = EmpathyCauseClassifier(encoder=args.encoder, random_state=args.random_state).fit(X_train, y_train)
    fit_seconds = time.perf_counter() - start
    proba = clf.predict_proba(X_test)[:, 1]
    results["EmpathyCauseClassifier (defaults)"] = cause_metrics(y_test, clf.predict(X_test), proba)

    results["rule: last two sentences"] = cause_metrics(y_test, position_rule(X_test))

    logistic = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=0.1))
    logistic.fit(vector_features(X_train, args.encoder), y_train)
    lr_proba = logistic.predict_proba(vector_features(X_test, args.encoder))[:, 1]
    results["logistic regression on frozen vectors + position"] = cause_metrics(
        y_test, (lr_proba >= 0.5).astype(int), lr_proba)

    print(f"Trained on {args.data} {args.train_subset} ({len(X_train)} rows), evaluated on "
          f"{args.test_subset} ({len(X_test)} rows). Default fit: {fit_seconds:.0f} s, "
          f"{len(clf.history)} epochs, decision threshold {clf.decision_threshold():.2f}.")
    print("| model | precision | recall | F1 | accuracy | ROC AUC |\n| --- | --- | --- | --- | --- | --- |")
    for name, m in results.items():
        print(f"| {name} | {m['precision']:.4f} | {m['recall']:.4f} | {m['f1']:.4f} | "
              f"{m['accuracy']:.4f} | {m['roc_auc']:.4f} |")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"data": args.data, "train_subset": args.train_subset,
                               "test_subset": args.test_subset, "fit_seconds": fit_seconds,
                               "epochs": len(clf.history), "threshold": clf.decision_threshold(),
                               "params": {k: v for k, v in clf.get_params().items()
                                          if k in clf._saved_param_names()},
                               "results": results}, indent=2))
    print(f"Wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
