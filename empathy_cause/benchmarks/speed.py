"""Speed: post sentences per second for fit and predict, against a naive implementation.

The naive implementation is what a straightforward port of the paper's model
does: every row re-encodes its whole post and reply, each sentence padded to
a fixed 64 tokens, in fp32, with no cache. The library's estimator groups rows
by pair, encodes each distinct sentence once (frozen: once per process),
sorts by length, pads to the longest in each batch and uses bf16 autocast
where the CPU has bf16 units. Both run in the same process, on the same rows,
so the ratios are comparable even on a noisy shared machine.

It also times the question-answering baseline (:class:`QAClassifier`, which
encodes each sentence together with the reply, once per row) beside the
default estimator, per post sentence.

Run: ``python benchmarks/speed.py`` (or ``empathy-cause benchmark speed``).
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import time
from pathlib import Path

import torch

from ..baselines.qa import qa_throughput
from ..data import load_dataset, split_sentences
from ..encoders import clear_embedding_cache, load_encoder, pool
from ..estimator import EmpathyCauseClassifier
from ..losses import make_criterion
from ..modules import EmpathyCauseNet

__all__ = ["naive_pass", "main"]


def naive_pass(X, y, *, encoder=None, train=False, finetune=False, max_length=64) -> float:
    """One naive pass over the rows of X; returns seconds.

    Each row tokenizes its post and reply sentences padded to ``max_length``,
    runs the encoder on all of them and the head on the row; with ``train``
    it also takes an optimizer step (through the encoder with ``finetune``).
    """
    tokenizer, encoder_model = load_encoder(encoder)
    if finetune:
        encoder_model = copy.deepcopy(encoder_model).train()
        encoder_model.requires_grad_(True)
    head = EmpathyCauseNet(encoder_model.config.hidden_size)
    params = list(head.parameters()) + (list(encoder_model.parameters()) if finetune else [])
    optimizer = torch.optim.AdamW(params, lr=1e-4)
    criterion = make_criterion("focal")
    head.train(train)
    start = time.perf_counter()
    for row in range(len(X)):
        post = list(X["post"].iat[row])
        sentences = post + split_sentences(X["reply"].iat[row])
        tokens = tokenizer(sentences, padding="max_length", truncation=True, max_length=max_length,
                           return_tensors="pt")
        with torch.set_grad_enabled(train and finetune):
            vectors = pool(encoder_model(**tokens).last_hidden_state, tokens["attention_mask"], "mean")
        n_post = len(post)
        batch = dict(post_index=torch.arange(n_post)[None], post_mask=torch.ones(1, n_post, dtype=torch.bool),
                     reply_index=torch.arange(n_post, len(sentences))[None],
                     reply_mask=torch.ones(1, len(sentences) - n_post, dtype=torch.bool),
                     row_pair=torch.tensor([0]), row_sentence=torch.tensor([X["sentence_index"].iat[row]]))
        with torch.set_grad_enabled(train):
            logits = head(embeddings=vectors, **batch)
            if train:
                criterion(logits, torch.tensor([int(y[row])])).backward()
                optimizer.step()
                optimizer.zero_grad()
    return time.perf_counter() - start


def _library_fit(X, y, *, encoder, finetune):
    clear_embedding_cache()  # a cold start: encoding is part of the cost
    clf = EmpathyCauseClassifier(encoder=encoder, max_epochs=1, validation_fraction=None,
                                 finetune_layers="all" if finetune else 0, random_state=0)
    start = time.perf_counter()
    clf.fit(X, y)
    return time.perf_counter() - start, clf


def _library_predict(clf, X) -> float:
    clear_embedding_cache()
    start = time.perf_counter()
    clf.predict_proba(X)
    return time.perf_counter() - start


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="empathy-cause benchmark speed", description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None,
                        help="dataset (default: ../shared/data/reccon valid if present, else the demo set)")
    parser.add_argument("--subset", default="valid")
    parser.add_argument("--encoder", default=None)
    parser.add_argument("--rows", type=int, default=600, help="rows timed for the library (whole pairs)")
    parser.add_argument("--naive-rows", type=int, default=120, help="rows timed for the naive implementation")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-finetune", action="store_true", help="skip the fine-tuning rows")
    parser.add_argument("--no-qa", action="store_true", help="skip the question-answering baseline")
    parser.add_argument("--out", default="results/speed.json")
    return parser


def _default_data():
    reccon = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "reccon"
    return str(reccon) if reccon.is_dir() else "demo"


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    data = args.data or _default_data()
    X, y, _ = load_dataset(data, **({"subset": args.subset} if data != "demo" else {}))
    # Whole pairs, in file order: the first pairs covering args.rows rows.
    pair_codes = X["pair_id"].factorize()[0]
    keep = pair_codes < pair_codes[min(args.rows, len(X)) - 1] + 1
    X, y = X[keep].reset_index(drop=True), y[keep]
    X_naive, y_naive = X.iloc[:args.naive_rows].reset_index(drop=True), y[:args.naive_rows]
    load_encoder(args.encoder)  # load once, outside the timings

    modes = [False] if args.no_finetune else [False, True]
    rows = []
    for finetune in modes:
        label = "fine-tuned" if finetune else "frozen"
        fits, predicts, naive_fits = [], [], []
        # Naive fine-tuning runs the whole encoder backwards per row: fewer rows.
        X_naive_fit = X_naive.iloc[:len(X_naive) // 3] if finetune else X_naive
        for _ in range(args.repeats):
            seconds, clf = _library_fit(X, y, encoder=args.encoder, finetune=finetune)
            fits.append(len(X) / seconds)
            predicts.append(len(X) / _library_predict(clf, X))
            naive_fits.append(len(X_naive_fit) / naive_pass(X_naive_fit, y_naive, encoder=args.encoder,
                                                            train=True, finetune=finetune))
        naive_predicts = [len(X_naive) / naive_pass(X_naive, y_naive, encoder=args.encoder)
                          for _ in range(args.repeats)]
        for phase, library, naive in (("fit", fits, naive_fits), ("predict", predicts, naive_predicts)):
            lib, nai = statistics.median(library), statistics.median(naive)
            rows.append({"phase": phase, "encoder": label, "library_sentences_per_s": lib,
                         "naive_sentences_per_s": nai, "speedup": lib / nai,
                         "library_runs": library, "naive_runs": naive})

    qa_rows = []
    if not args.no_qa:
        frozen = {r["phase"]: r["library_sentences_per_s"] for r in rows if r["encoder"] == "frozen"}
        runs = [qa_throughput(X, y, model=args.encoder) for _ in range(args.repeats)]
        for phase in ("fit", "predict"):
            qa = statistics.median(run[f"{phase}_rows_per_s"] for run in runs)
            qa_rows.append({"phase": phase, "qa_sentences_per_s": qa,
                            "coattention_sentences_per_s": frozen[phase],
                            "qa_cost_ratio": frozen[phase] / qa, "qa_runs": runs})

    header = f"{'phase':8} {'encoder':11} {'library sent/s':>15} {'naive sent/s':>13} {'speed-up':>9}"
    print(f"Data: {data} ({len(X)} rows library, {len(X_naive)} rows naive), median of {args.repeats}; "
          f"torch threads {torch.get_num_threads()}")
    print(header)
    for r in rows:
        print(f"{r['phase']:8} {r['encoder']:11} {r['library_sentences_per_s']:15.1f} "
              f"{r['naive_sentences_per_s']:13.1f} {r['speedup']:8.1f}x")
    if qa_rows:
        print(f"\nQA baseline vs the default (frozen) estimator, same {len(X)} rows, one epoch:")
        print(f"{'phase':8} {'QA sent/s':>10} {'co-attention sent/s':>20} {'QA costs':>9}")
        for r in qa_rows:
            print(f"{r['phase']:8} {r['qa_sentences_per_s']:10.1f} {r['coattention_sentences_per_s']:20.1f} "
                  f"{r['qa_cost_ratio']:8.1f}x")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"data": data, "rows": len(X), "naive_rows": len(X_naive),
                               "repeats": args.repeats, "results": rows, "qa": qa_rows},
                              indent=2, default=str))
    print(f"Wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
