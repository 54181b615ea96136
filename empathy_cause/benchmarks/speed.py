"""Speed: fit and predict as a ratio to the encoder's floor, peak memory, and predict at scale.

Absolute speed says little: the bare encoder ran at 1,150 sentences/s on one
of our machines, 485 on another, and about 80 with one busy process beside it.
So everything is measured in ONE process, on an otherwise idle machine, and
reported as a ratio to a floor measured in the same run:

- **the floor**: the least work any frozen-encoder model must do. The bare
  encoder (default: the MiniLM-L6) encodes each distinct sentence of the data
  once (post sentences and reply sentences, as the library counts them), in
  length-sorted batches of 128, in inference mode, mean pooling; timed in fp32
  and, where the CPU or GPU has bf16 units, under bf16 autocast, and the faster
  of the two is the floor (emulated bf16 is several times slower).
- **fit**: ``EmpathyCauseClassifier`` with its defaults (plus ``--param``) on
  the training set, from a cold sentence-vector cache.
- **predict**: ``predict_proba`` on the held-out set, from a cold cache.

Each is the median of its repeats. Peak RSS is the process's after each phase.

**Growth** (``--growth``, instead of the table above): on each of
``--corpora`` (default RECCON-DD and CovidET-EXT), at each of
``--growth-sizes`` (default 1,000 rows, 10,000 rows and the whole split;
whole pairs drawn at random), the fit of the defaults on that part of the
training split and ``predict_proba`` on a part of the same size of the
held-out split (capped at its size), each from a cold cache and against the
floor of its own distinct sentences; with rows/s, epochs, seconds per epoch,
the fit's validation plan (below 1,000 pairs the defaults cross-fit: 5 fold
copies and a final fit) and each phase's peak resident memory, sampled every
5 ms from a background thread. Then **one post** (``--posts N``): N pairs of
the held-out split, each scored alone (``predict_proba`` and ``explain``) from
a cold cache, against the floor of its own sentences.

**Scaling** (``--sizes``) and **Dask** (``--dask-rows N``): predict at scale,
each size in a fresh process, and the same rows on a Dask cluster; see
:mod:`empathy_cause.benchmarks.scaling`.

Run: ``python benchmarks/speed.py`` (or ``empathy-cause benchmark speed``);
``--sizes 10000,100000,1000000`` for the full scaling table;
``--growth --sizes ''`` for the growth and one-post tables. Writes Markdown
tables to standard output and ``results/speed.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

from .. import EmpathyCauseClassifier
from ..baselines.qa import QAClassifier, _load_pretrained
from ..cli.args import add_param_argument, add_random_state_argument
from ..data import load_dataset, validate_frame
from ..data.chunking import DEFAULT_CHUNK_PAIRS
from ..data.frame import PAIR_ID
from ..encoders.encoding import (
    autocast_context,
    bf16_supported,
    clear_embedding_cache,
    load_encoder,
    pool,
    resolve_encoder,
)
from ..network.batching import PairRows
from .learning_curve import subset_pairs
from .quality import REGIMES
from .scaling import PhaseMemory, dask_markdown, dask_section, peak_rss_mib, scaling_rows

__all__ = ["distinct_sentences", "encode_floor", "qa_throughput", "cpu_name", "row_subsets", "build_parser", "main"]

FIT_BAR, PREDICT_BAR, ONE_POST_BAR = 2.0, 1.1, 2.5
GROWTH_SIZES = "1000,10000,full"
#: --corpora names: folder under --shared-data -> (label, training subset, held-out subset), as the quality
#: benchmark's regimes train and first evaluate on them.
CORPORA = {folder: (label, subset, evaluations[0][2])
           for label, (folder, subset), evaluations in REGIMES.values() if evaluations[0][1] == folder}


def cpu_name() -> str:
    """The CPU's model name (``/proc/cpuinfo``), or what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def distinct_sentences(X) -> list[str]:
    """Every distinct text the library encodes for X: post sentences and reply sentences."""
    return PairRows.from_frame(validate_frame(X)[0]).texts


def encode_floor(texts, *, encoder=None, precision="fp32", batch_size=128, max_length=64,
                 device="cpu") -> float:
    """Seconds for the bare encoder to encode ``texts`` once (the floor); nothing is cached.

    Length-sorted batches of ``batch_size``, each padded to its longest,
    tokenised, run in inference mode (under bf16 autocast with
    ``precision="bf16"``) and mean-pooled; the vectors are moved to the CPU.
    """
    tokenizer, model = load_encoder(encoder)
    model = model.to(device)
    texts = sorted(texts, key=len)
    synchronize = torch.cuda.synchronize if torch.device(device).type == "cuda" else (lambda: None)
    synchronize()
    start = time.perf_counter()
    with torch.inference_mode(), autocast_context(precision, device):
        for i in range(0, len(texts), batch_size):
            tokens = tokenizer(texts[i:i + batch_size], padding=True, truncation=True, max_length=max_length,
                               return_tensors="pt").to(device)
            pool(model(**tokens).last_hidden_state, tokens["attention_mask"], "mean").float().cpu()
    synchronize()
    return time.perf_counter() - start


def _floor_precisions(device) -> tuple:
    """fp32, and bf16 autocast where the hardware has bf16 units.

    Without them bf16 is emulated and much slower (5.4x on an AVX2-only AMD
    EPYC here), so it cannot be the floor and timing it only costs minutes.
    """
    return ("fp32", "bf16") if bf16_supported(device) else ("fp32",)


def _floor(texts, *, encoder, device, repeats) -> dict:
    """Median seconds of fp32 and (where the hardware has it) bf16 autocast; the floor is the faster."""
    runs = {p: [encode_floor(texts, encoder=encoder, precision=p, device=device) for _ in range(repeats)]
            for p in _floor_precisions(device)}
    medians = {p: statistics.median(r) for p, r in runs.items()}
    best = min(medians, key=medians.get)
    return {"sentences": len(texts), "seconds": medians[best], "precision": best,
            "fp32_seconds": medians["fp32"], "bf16_seconds": medians.get("bf16"), "runs": runs}


# ------------------------------------------------------------------------- CLI

def qa_throughput(X, y, *, model=None, max_length=128, batch_size=16, precision="auto",
                  max_epochs=1, random_state=0, device="cpu") -> dict:
    """Time one QA fit and one predict_proba on ``(X, y)``; costs per post sentence (row).

    The fit trains ``max_epochs`` epochs on every row without a validation
    split, so its time is pure training; the model is loaded from disk before
    the clock starts (a fresh process pays that once).

    Returns
    -------
    dict with ``rows``, ``fit_seconds``, ``predict_seconds``,
    ``fit_ms_per_row`` (per row and epoch), ``predict_ms_per_row``,
    ``fit_rows_per_s``, ``predict_rows_per_s``, ``mean_tokens`` (per input
    after truncation) and the settings used.
    """
    clf = QAClassifier(model, max_length=max_length, batch_size=batch_size, precision=precision,
                       max_epochs=max_epochs, validation_fraction=None, random_state=random_state,
                       device=device)
    _load_pretrained(model)
    n = len(X)
    start = time.perf_counter()
    clf.fit(X, y)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    clf.predict_proba(X)
    predict_seconds = time.perf_counter() - start
    dataset = clf.get_dataset(X)
    return {
        "rows": n,
        "fit_seconds": fit_seconds,
        "predict_seconds": predict_seconds,
        "fit_ms_per_row": 1000 * fit_seconds / max(n * max_epochs, 1),
        "predict_ms_per_row": 1000 * predict_seconds / max(n, 1),
        "fit_rows_per_s": n * max_epochs / fit_seconds if fit_seconds else float("nan"),
        "predict_rows_per_s": n / predict_seconds if predict_seconds else float("nan"),
        "mean_tokens": float(np.mean(dataset.row_length)) if n else 0.0,
        "model": resolve_encoder(model),
        "max_length": max_length,
        "batch_size": batch_size,
        "precision": precision,
        "max_epochs": max_epochs,
    }



def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="empathy-cause benchmark speed", description=__doc__.splitlines()[0],
                                     epilog="Run it on an otherwise idle machine: every figure is a ratio "
                                            "to the floor measured in the same process.")
    parser.add_argument("--data", default=None,
                        help="dataset of the ratio table (default: ../shared/data/reccon beside the checkout if "
                             "present, else the demo set, used for both fit and predict); --growth uses --corpora")
    parser.add_argument("--fit-subset", default="train", help="RECCON subset to fit on (default: train)")
    parser.add_argument("--predict-subset", default="valid", help="RECCON subset to predict (default: valid)")
    parser.add_argument("--encoder", default=None, help="encoder folder (default: the embedded MiniLM-L6)")
    add_param_argument(parser, "EmpathyCauseClassifier parameter for the fit")
    parser.add_argument("--repeats", type=int, default=3, help="repeats of the floors and predict (median)")
    parser.add_argument("--fit-repeats", type=int, default=1, help="repeats of the fit (median; default: 1)")
    parser.add_argument("--skip-fit", action="store_true",
                        help="no fit row; the scaling table then uses a one-epoch model")
    parser.add_argument("--paper-batching", action="store_true",
                        help="also time a fit with the paper's batching (batch_size=4, accumulation_steps=4)")
    parser.add_argument("--growth", action="store_true",
                        help="instead of the ratio table: fit and predict at each of --growth-sizes on each of "
                             "--corpora, and one-post latency (--posts)")
    parser.add_argument("--corpora", default="reccon,covidet",
                        help="corpora of --growth, comma-separated: " + ", ".join(CORPORA) + " (folders under "
                             "--shared-data), 'demo', or dataset paths (fitted on --fit-subset, predicted on "
                             "--predict-subset) (default: %(default)s)")
    parser.add_argument("--shared-data", default=None,
                        help="folder holding the --corpora folders (default: ../shared/data beside the checkout)")
    parser.add_argument("--growth-sizes", default=GROWTH_SIZES,
                        help="rows of each --growth step, comma-separated, 'full' for the whole split; rounded to "
                             "whole pairs drawn at random; predict takes the same sizes of the held-out split, "
                             "capped at its size (default: %(default)s)")
    parser.add_argument("--posts", type=int, default=10,
                        help="--growth: pairs of each held-out split scored one at a time from a cold cache, "
                             "for the one-post latency (0: none; default: %(default)s)")
    parser.add_argument("--devices", default="cpu",
                        help="comma-separated torch devices for the ratio table, e.g. cpu,cuda (default: cpu)")
    parser.add_argument("--sizes", default="10000,100000",
                        help="rows of the scaling table, comma-separated ('' for none); 1000000 takes "
                             "20-30 minutes on 2 cores (default: 10000,100000)")
    parser.add_argument("--chunk-pairs", type=int, default=DEFAULT_CHUNK_PAIRS,
                        help="predict's --chunk-pairs (default: %(default)s)")
    parser.add_argument("--dask-rows", type=int, default=0, metavar="N",
                        help="also score N recombined rows in one process and on a Dask LocalCluster "
                             "(needs the distributed extra; default: 0, skipped)")
    parser.add_argument("--dask-workers", type=int, default=2, help="worker processes of the cluster (default: 2)")
    parser.add_argument("--dask-scheduler", metavar="ADDRESS", default=None,
                        help="measure on the running Dask cluster at ADDRESS instead of a LocalCluster "
                             "(its workers must read the temporary files: set TMPDIR to a folder they share)")
    parser.add_argument("--dask-files", type=int, default=8,
                        help="CSV files (partitions) the workers read the N rows from (default: 8)")
    add_random_state_argument(parser, dest="seed", help="seed of the model and of the recombined dialogues")
    parser.add_argument("--out", default="results/speed.json", help="the JSON file written (default: %(default)s)")
    return parser


def _shared_data() -> Path:
    return Path(__file__).resolve().parents[2].parent / "shared" / "data"


def _default_data():
    reccon = _shared_data() / "reccon"
    return str(reccon) if reccon.is_dir() else "demo"


def _load(data, subset):
    X, y, _ = load_dataset(data, **({} if data == "demo" else {"subset": subset}))
    return X, y


def _timed_fit(X, y, params):
    clear_embedding_cache()  # cold: encoding is part of the cost
    clf = EmpathyCauseClassifier(**params)
    start = time.perf_counter()
    clf.fit(X, y)
    return time.perf_counter() - start, clf


def _timed_predict(clf, X):
    clear_embedding_cache()
    start = time.perf_counter()
    clf.predict_proba(X)
    return time.perf_counter() - start


def _timed_explain(clf, X_pair):
    """Seconds of ``clf.explain`` of the one pair of ``X_pair``, from a cold cache."""
    clear_embedding_cache()
    post, reply = list(X_pair["post"].iat[0]), X_pair["reply"].iat[0]
    start = time.perf_counter()
    clf.explain(post, reply)
    return time.perf_counter() - start


def _warm_up_floor(encoder, texts, device):
    """Load the encoder and run it once in each precision, outside every timing."""
    load_encoder(encoder)
    for precision in _floor_precisions(device):
        encode_floor(texts[:256], encoder=encoder, precision=precision, device=device)


def _device_name(device):
    return torch.cuda.get_device_name(torch.device(device)) if torch.device(device).type == "cuda" else cpu_name()


def _ratio_rows(args, device, X_fit, y_fit, X_pred, y_pred, fit_texts, pred_texts):
    """The ratio table's rows on one device, and the fitted default model (or None)."""
    _warm_up_floor(args.encoder, pred_texts, device)
    rows, model = [], None
    base = {"encoder": args.encoder, "random_state": args.seed, "device": device, **dict(args.param)}
    fits = [] if args.skip_fit else [("defaults", base)]
    if args.paper_batching and not args.skip_fit:
        fits.append(("paper batching", {**base, "batch_size": 4, "accumulation_steps": 4}))
    if fits:
        floor = _floor(fit_texts, encoder=args.encoder, device=device, repeats=args.repeats)
        for label, params in fits:
            runs = [_timed_fit(X_fit, y_fit, params) for _ in range(args.fit_repeats)]
            clf = runs[-1][1]
            seconds = statistics.median(r[0] for r in runs)
            rows.append({"phase": "fit", "setting": label, "device": device, "rows": len(X_fit),
                         "batch_size": clf.batch_size, "accumulation_steps": clf.accumulation_steps,
                         "epochs": len(clf.history), "floor": floor, "seconds": seconds,
                         "runs": [r[0] for r in runs], "ratio": seconds / floor["seconds"], "bar": FIT_BAR,
                         "peak_rss_mib": peak_rss_mib()})
            if label == "defaults":
                model = clf
    predictor = model
    if predictor is None:  # predict costs the same whatever the weights: a one-epoch model
        predictor = EmpathyCauseClassifier(**{**base, "max_epochs": 1, "validation_fraction": None})
        predictor.fit(X_pred, y_pred)
    floor = _floor(pred_texts, encoder=args.encoder, device=device, repeats=args.repeats)
    runs = [_timed_predict(predictor, X_pred) for _ in range(args.repeats)]
    seconds = statistics.median(runs)
    rows.append({"phase": "predict_proba", "setting": "cold cache", "device": device, "rows": len(X_pred),
                 "floor": floor, "seconds": seconds, "runs": runs, "ratio": seconds / floor["seconds"],
                 "bar": PREDICT_BAR, "peak_rss_mib": peak_rss_mib()})
    return rows, predictor


# ------------------------------------------------------------------- growth

def row_subsets(X, y, sizes, random_state):
    """``(size, X, y)`` for each of ``sizes`` rows ("full": all): whole pairs drawn at random, capped at X.

    A size becomes the number of pairs that holds about that many rows at X's
    mean rows per pair. Smallest first; sizes that give the same rows appear once.
    """
    n_pairs = X[PAIR_ID].nunique()
    subsets = {}
    for size in sizes:
        pairs = n_pairs if size == "full" else max(1, round(int(size) * n_pairs / len(X)))
        X_part, y_part = subset_pairs(X, y, pairs, random_state)
        subsets[len(X_part)] = (size, X_part, y_part)
    return [subsets[n] for n in sorted(subsets)]


def _corpus(args, name):
    """``(label, data, (X, y) to fit, (X, y) held out)`` of one --corpora entry."""
    if name == "demo":
        demo = _load("demo", None)
        return "demo set", "demo", demo, demo
    if name in CORPORA:
        label, fit_subset, held_out_subset = CORPORA[name]
        data = str(Path(args.shared_data) / name if args.shared_data else _shared_data() / name)
    else:
        label, data, fit_subset, held_out_subset = Path(name).name, name, args.fit_subset, args.predict_subset
    return label, data, _load(data, fit_subset), _load(data, held_out_subset)


def _watched(run, repeats):
    """``run()`` ``repeats`` times, each under a :class:`PhaseMemory`: the results, and the largest peak and rise."""
    results, memory = [], []
    for _ in range(repeats):
        with PhaseMemory() as watch:
            results.append(run())
        memory.append(watch.as_dict())
    return results, {"peak_mib": max(m["peak_mib"] for m in memory),
                     "increase_mib": max(m["increase_mib"] for m in memory), "runs": memory}


def _growth_row(phase, size, X, floor, runs, memory) -> dict:
    seconds = statistics.median(runs)
    return {"phase": phase, "size": size, "rows": len(X), "pairs": int(X[PAIR_ID].nunique()), "floor": floor,
            "seconds": seconds, "runs": runs, "ratio": seconds / floor["seconds"], "rows_per_s": len(X) / seconds,
            "bar": FIT_BAR if phase == "fit" else PREDICT_BAR, "memory": memory}


def _growth_fit(args, size, X, y, params):
    """The growth table's fit row of one subset, and the fitted model."""
    floor = _floor(distinct_sentences(X), encoder=args.encoder, device="cpu", repeats=args.repeats)
    runs, memory = _watched(lambda: _timed_fit(X, y, params), args.fit_repeats)
    clf = runs[-1][1]
    durations = [float(d) for d in clf.history[:, "dur"]] if len(clf.history) else []
    row = _growth_row("fit", size, X, floor, [r[0] for r in runs], memory)
    return {**row, "epochs": len(durations), "epoch_seconds": statistics.mean(durations) if durations else None,
            "validation_plan": getattr(clf, "validation_plan_", None)}, clf


def _growth_predict(args, size, model, X):
    floor = _floor(distinct_sentences(X), encoder=args.encoder, device="cpu", repeats=args.repeats)
    runs, memory = _watched(lambda: _timed_predict(model, X), args.repeats)
    return _growth_row("predict_proba", size, X, floor, runs, memory)


def _one_post(args, model, X) -> dict:
    """``predict_proba`` and ``explain`` of --posts single pairs of X, each from a cold cache, against its floor."""
    pairs = np.random.default_rng(args.seed).permutation(X[PAIR_ID].unique())[:args.posts]
    posts = [X[X[PAIR_ID] == pair].reset_index(drop=True) for pair in pairs]
    _timed_predict(model, posts[0])  # warm-up: the first calls load things
    _timed_explain(model, posts[0])
    runs = []
    for pair, post in zip(pairs, posts, strict=True):
        floor = _floor(distinct_sentences(post), encoder=args.encoder, device="cpu", repeats=args.repeats)
        predict = statistics.median(_timed_predict(model, post) for _ in range(args.repeats))
        explain = statistics.median(_timed_explain(model, post) for _ in range(args.repeats))
        runs.append({"pair_id": str(pair), "rows": len(post), "sentences": floor["sentences"], "floor": floor,
                     "predict_seconds": predict, "explain_seconds": explain,
                     "predict_ratio": predict / floor["seconds"], "explain_ratio": explain / floor["seconds"]})

    def median(key, scale=1.0):
        return scale * statistics.median(r[key] for r in runs)

    return {"posts": len(runs), "sentences": median("sentences"),
            "floor_ms": 1000 * statistics.median(r["floor"]["seconds"] for r in runs),
            "predict_ms": median("predict_seconds", 1000), "predict_ratio": median("predict_ratio"),
            "explain_ms": median("explain_seconds", 1000), "explain_ratio": median("explain_ratio"),
            "bar": ONE_POST_BAR, "runs": runs}


def _warm_up_fit(X, y, params, random_state):
    """One short fit and predict outside every timing (the first ones pay for loading and set-up)."""
    X_part, y_part = subset_pairs(X, y, 20, random_state)
    model = EmpathyCauseClassifier(**{**params, "max_epochs": 1, "validation_fraction": None}).fit(X_part, y_part)
    model.predict_proba(X_part)
    clear_embedding_cache()


def _growth_corpus(args, name, params, first):
    """One corpus's growth rows, one-post row and corpus record; the model fitted on the most rows; its training X."""
    label, data, (X_fit, y_fit), (X_held, y_held) = _corpus(args, name)
    if first:
        _warm_up_floor(args.encoder, distinct_sentences(X_held), "cpu")
        _warm_up_fit(X_fit, y_fit, params, args.seed)
    rows, model = [], None
    for size, X, y in row_subsets(X_fit, y_fit, args.growth_sizes, args.seed):
        print(f"growth: {label}, fit on {len(X):,} rows...", file=sys.stderr, flush=True)
        row, model = _growth_fit(args, size, X, y, params)
        rows.append({"corpus": label, **row})
    for size, X, _ in row_subsets(X_held, y_held, args.growth_sizes, args.seed):
        print(f"growth: {label}, predict_proba on {len(X):,} rows...", file=sys.stderr, flush=True)
        rows.append({"corpus": label, **_growth_predict(args, size, model, X)})
    one_post = {"corpus": label, **_one_post(args, model, X_held)} if args.posts else None
    corpus = {"name": name, "label": label, "data": data, "fit_rows": len(X_fit), "held_out_rows": len(X_held)}
    return rows, one_post, corpus, model, X_fit


def _growth_body(args):
    """The growth report's own keys; the first corpus's largest model, training X and largest predict floor."""
    params = {"encoder": args.encoder, "random_state": args.seed, "device": "cpu", **dict(args.param)}
    growth, one_post, corpora, first = [], [], [], None
    for name in [n.strip() for n in args.corpora.split(",") if n.strip()]:
        rows, post, corpus, model, X_fit = _growth_corpus(args, name, params, first is None)
        growth += rows
        one_post += [post] if post else []
        corpora.append(corpus)
        if first is None:
            first = (model, X_fit, [r for r in rows if r["phase"] == "predict_proba"][-1]["floor"])
    body = {"mode": "growth", "data": ", ".join(c["data"] for c in corpora), "devices": {"cpu": cpu_name()},
            "growth_sizes": args.growth_sizes, "corpora": corpora, "ratios": [], "growth": growth,
            "one_post": one_post}
    return body, *first


def _ratio_body(args):
    """The ratio table's report keys; the CPU (or first) model, the training X and the predict floor."""
    data = args.data or _default_data()
    X_fit, y_fit = _load(data, args.fit_subset)
    X_pred, y_pred = _load(data, args.predict_subset)
    fit_texts, pred_texts = distinct_sentences(X_fit), distinct_sentences(X_pred)
    devices = [d.strip() for d in args.devices.split(",") if d.strip()]
    ratios, models = [], {}
    for device in devices:
        rows, models[device] = _ratio_rows(args, device, X_fit, y_fit, X_pred, y_pred, fit_texts, pred_texts)
        ratios += rows
    cpu_model = models.get("cpu") or next(iter(models.values()))
    predict_floor = next(r["floor"] for r in ratios if r["phase"] == "predict_proba")
    body = {"mode": "ratios", "data": data, "devices": {d: _device_name(d) for d in devices}, "ratios": ratios}
    return body, cpu_model, X_fit, predict_floor


def _growth_markdown(report) -> list:
    lines = ["", "Growth: the fit of the defaults on parts of each training split (whole pairs drawn at random) "
                 "and predict_proba on parts of its held-out split, each from a cold cache and against the floor "
                 "of its own distinct sentences:", "",
             "| corpus | phase | rows | pairs | distinct sentences | floor (s) | library (s) | library ÷ floor "
             "| rows/s | epochs | s/epoch | validation | peak RSS (MiB) | phase's rise (MiB) |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |"]
    for r in report["growth"]:
        fit = r["phase"] == "fit"
        per_epoch = f"{r['epoch_seconds']:.2f}" if fit and r["epoch_seconds"] is not None else "-"
        plan = {"crossfit": "crossfit (5 folds + final)"}.get(r.get("validation_plan"), r.get("validation_plan"))
        lines.append(f"| {r['corpus']} | {r['phase']} | {r['rows']:,} | {r['pairs']:,} | {r['floor']['sentences']:,} "
                     f"| {r['floor']['seconds']:.2f} | {r['seconds']:.2f} | {r['ratio']:.2f}x | "
                     f"{r['rows_per_s']:,.0f} | {r['epochs'] if fit else '-'} | {per_epoch} | "
                     f"{plan if fit else '-'} | {r['memory']['peak_mib']:,.0f} | {r['memory']['increase_mib']:+,.0f} |")
    lines += ["", *_growth_summary(report["growth"]), "",
              f"Medians of {report['repeats']} (floors, predict) and {report['fit_repeats']} (fit); bars at full "
              f"size: fit {FIT_BAR}x, predict {PREDICT_BAR}x. Epochs and s/epoch are the final fit's (skorch's "
              "`dur`); a cross-fitted fit also trains 5 fold copies. Peak RSS: the largest resident memory sampled "
              "every 5 ms during the phase (the process's, earlier phases included); rise: that peak minus the "
              "phase's start."]
    return lines + _one_post_markdown(report["one_post"])


def _growth_summary(rows) -> list:
    """Per corpus and phase, how the time grew from the smallest to the largest part beside the rows."""
    lines = []
    for key in dict.fromkeys((r["corpus"], r["phase"]) for r in rows):
        group = [r for r in rows if (r["corpus"], r["phase"]) == key]
        if len(group) > 1:
            a, b = group[0], group[-1]
            floor, sentences = (b["floor"][k] / a["floor"][k] for k in ("seconds", "sentences"))
            lines.append(f"- {key[0]}, {key[1]}: {b['rows'] / a['rows']:.1f}x the rows took "
                         f"{b['seconds'] / a['seconds']:.1f}x the time; the floor {floor:.1f}x "
                         f"({sentences:.1f}x the distinct sentences).")
    return lines


def _one_post_markdown(one_post) -> list:
    if not one_post:
        return []
    lines = ["", "One post: pairs of the held-out split scored one at a time, each from a cold cache, against the "
                 "bare encoder on the same sentences (medians over the posts of each one's median):", "",
             "| corpus | posts | sentences | floor (ms) | predict_proba (ms) | ÷ floor | bar | explain (ms) "
             "| ÷ floor |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in one_post:
        lines.append(f"| {r['corpus']} | {r['posts']} | {r['sentences']:.0f} | {r['floor_ms']:.1f} | "
                     f"{r['predict_ms']:.1f} | {r['predict_ratio']:.2f}x | {r['bar']}x | {r['explain_ms']:.1f} | "
                     f"{r['explain_ratio']:.2f}x |")
    return lines


def _markdown(report) -> str:
    lines = [f"CPU: {report['cpu']}; torch {report['torch']}, {report['torch_threads']} threads, "
             f"bf16 units: {'yes' if report['bf16_units'] else 'no'}; data: {report['data']}"]
    lines += _ratio_markdown(report) if report["ratios"] else []
    lines += _growth_markdown(report) if report.get("growth") else []
    lines += _scaling_markdown(report) if report["scaling"] else []
    lines += dask_markdown(report["dask"]) if report.get("dask") else []
    return "\n".join(lines)


def _ratio_markdown(report) -> list:
    lines = ["", "| phase | device | rows | distinct sentences | floor (s) | floor precision | library (s) "
             "| library ÷ floor | bar | peak RSS (MiB) |",
             "| --- | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |"]
    for r in report["ratios"]:
        what = r["phase"]
        if r["phase"] == "fit":
            what += (f", {r['setting']} (batch_size={r['batch_size']}, accumulation_steps="
                     f"{r['accumulation_steps']}; epochs: {r['epochs']})")
        else:
            what += f", {r['setting']}"
        device = r["device"] if r["device"] == "cpu" else f"{r['device']} ({report['devices'][r['device']]})"
        lines.append(f"| {what} | {device} | {r['rows']:,} | {r['floor']['sentences']:,} | "
                     f"{r['floor']['seconds']:.2f} | {r['floor']['precision']} | {r['seconds']:.2f} | "
                     f"{r['ratio']:.2f}x | {r['bar']}x | {r['peak_rss_mib']:.0f} |")
    lines.append(f"\nMedians of {report['repeats']} (floors, predict) and {report['fit_repeats']} (fit), "
                 "in one process. The floor: the bare encoder, each distinct sentence once, length-sorted "
                 "batches of 128, inference mode, fp32 or (where the hardware has bf16 units) bf16 autocast, "
                 "whichever is faster.")
    return lines


def _scaling_markdown(report) -> list:
    lines = ["", f"Scaling: `empathy-cause predict --chunk-pairs {report['chunk_pairs']}` on new "
                  "dialogues recombined from the data's sentences, each size in a fresh process:", "",
              "| rows | pairs | sentences encoded | predict (s) | whole process (s) | rows/s "
              "| est. floor (s) | ÷ est. floor | peak RSS (MiB) |",
              "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in report["scaling"]:
        lines.append(f"| {r['rows']:,} | {r['pairs']:,} | {r['encoded_sentences']:,} | {r['seconds']:.1f} | "
                     f"{r['process_seconds']:.1f} | {r['rows_per_s']:.0f} | {r['floor_estimate_seconds']:.1f} "
                     f"| {r['ratio_estimate']:.2f}x | {r['peak_rss_mib']:.0f} |")
    return lines


def _check_args(args):
    if args.repeats < 1 or args.fit_repeats < 1:
        raise SystemExit("--repeats and --fit-repeats must be at least 1")
    if not args.growth:
        return
    if args.skip_fit or args.paper_batching or args.devices.replace(" ", "") != "cpu":
        raise SystemExit("--growth fits the defaults on the CPU: --skip-fit, --paper-batching and --devices "
                         "belong to the ratio table")
    if args.posts < 0:
        raise SystemExit("--posts must be at least 0")
    sizes = [s.strip() for s in args.growth_sizes.split(",") if s.strip()]
    if not sizes or any(s != "full" and not (s.isdigit() and int(s) > 0) for s in sizes):
        raise SystemExit(f"--growth-sizes takes positive numbers of rows and 'full', got {args.growth_sizes!r}")
    args.growth_sizes = sizes


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    _check_args(args)
    started = time.perf_counter()
    body, model, X_source, predict_floor = (_growth_body if args.growth else _ratio_body)(args)
    scaling = scaling_rows(args, model, X_source, predict_floor)
    dask_report = dask_section(args, model, X_source) if args.dask_rows > 0 else None
    report = {"cpu": cpu_name(), "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
              "bf16_units": bf16_supported("cpu"), "repeats": args.repeats, "fit_repeats": args.fit_repeats,
              "params": dict(args.param), "chunk_pairs": args.chunk_pairs, **body, "scaling": scaling,
              "dask": dask_report, "peak_rss_mib": peak_rss_mib(), "seconds": time.perf_counter() - started}
    print(_markdown(report))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, default=str))
    print(f"\nWrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
