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

**Scaling**: ``empathy-cause predict`` (which streams its input in chunks of
whole pairs) on synthetic CSV files of 10k / 100k / 1M rows, each in a fresh
process, so its time and peak RSS belong to that size alone. The inputs are
new dialogues with the structure of the data's dialogues (length, which turns
get a pair), every utterance a new sentence: the first half of the words of
one sentence of the data joined to the second half of another. As in
RECCON-DD, the pairs of a dialogue share their post's utterances, so there are
about 0.3 distinct sentences per row (1M rows: about 300,000 sentences to
encode, which at 250-500 sentences/s is 10-20 minutes of encoding). That
bound is deliberate: every utterance is one sentence (RECCON's have 1.4 on
average), so the reply adds no text of its own. The table gives the
sentences each size encodes and an estimate of its floor (those sentences at
the predict floor's rate).

**Dask** (``--dask-rows N``): the same N recombined rows scored by
``empathy-cause predict`` in one fresh process, then by
:func:`~empathy_cause.prediction.distributed.predict_proba_dask` on a
``LocalCluster`` of ``--dask-workers`` worker processes (one thread each)
that read the rows from ``--dask-files`` CSV files (whole dialogues per file):
rows per second of each, the cluster's start-up, the time and size of shipping
the model to every worker, each worker's encoder load, the sentences each
worker encoded and its busy time, and each worker's peak RSS. On a machine
with as many cores as workers expect overhead, not a speed-up; partitions are
independent, so the scoring part scales with the number of worker processes.

Run: ``python benchmarks/speed.py`` (or ``empathy-cause benchmark speed``);
``--sizes 10000,100000,1000000`` for the full scaling table. Writes a
Markdown table to standard output and ``results/speed.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from .. import EmpathyCauseClassifier
from ..baselines.qa import QAClassifier, _load_pretrained
from ..cli.args import add_param_argument
from ..data import load_dataset, split_sentences, validate_frame
from ..data.chunking import DEFAULT_CHUNK_PAIRS
from ..encoders.encoding import (
    autocast_context,
    bf16_supported,
    clear_embedding_cache,
    load_encoder,
    pool,
    resolve_encoder,
)
from ..network.batching import PairRows

__all__ = ["distinct_sentences", "encode_floor", "qa_throughput", "write_recombined_csv", "cpu_name", "peak_rss_mib",
           "build_parser", "main"]

FIT_BAR, PREDICT_BAR = 2.0, 1.1


def cpu_name() -> str:
    """The CPU's model name (``/proc/cpuinfo``), or what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, MiB.

    Linux: ``VmHWM`` of ``/proc/self/status``, the peak of this program's own
    memory (``ru_maxrss`` would include the parent's memory at fork, carried
    over at exec). Elsewhere ``ru_maxrss`` (KiB on Linux, bytes on macOS).
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


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


# ------------------------------------------------------------------ synthetic inputs


def _dialogue_patterns(X):
    """Per thread of X: (number of utterances, post lengths of its pairs)."""
    lengths = X["post"].map(len).to_numpy()
    patterns = {}
    for thread, length in zip(X["thread_id"].to_numpy(), lengths, strict=True):
        patterns.setdefault(thread, set()).add(int(length))
    return [(max(turns), sorted(turns)) for turns in patterns.values()]


def write_recombined_csv(path, n_rows, X, *, seed=0, chunk_pairs=DEFAULT_CHUNK_PAIRS) -> dict:
    """Write an AcnEmpathize-Cause CSV of at least ``n_rows`` rows of new dialogues built from X.

    Each dialogue copies the shape of a random dialogue (thread) of X: its
    number of utterances and which turns get a pair (the post is turns 1..t,
    the reply turn t, as in RECCON). Every utterance is a new sentence: the
    first half of the words of a random sentence of X joined to the second
    half of another. Labels are 0 (prediction ignores them).

    Returns the numbers of rows, pairs and distinct sentences written, and of
    sentences encoded when the sentence-vector cache is emptied after every
    chunk of ``chunk_pairs`` pairs (what the streaming predict does now).
    """
    rng = np.random.default_rng(seed)
    # Single sentences (utterances split), so that a new utterance is one sentence: the reply
    # (turn t) then adds no text beyond its post's, as with most RECCON utterances.
    sentences = dict.fromkeys(s for post in X["post"] for unit in post for s in split_sentences(unit))
    pool_words = [w for w in (s.split() for s in sentences) if len(w) >= 2]
    patterns = _dialogue_patterns(X)

    def new_utterance():
        a, b = (pool_words[i] for i in rng.integers(len(pool_words), size=2))
        return " ".join(a[:(len(a) + 1) // 2] + b[len(b) // 2:])

    rows = pairs = encoded = dialogues = 0
    distinct: set[int] = set()
    chunk: set[str] = set()
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["thread_id", "post_sentences", "reply", "labels"])
        while rows < n_rows:
            n_turns, turns = patterns[rng.integers(len(patterns))]
            utterances = [new_utterance() for _ in range(n_turns)]
            for t in turns:
                post, reply = utterances[:t], utterances[t - 1]
                writer.writerow([f"d{dialogues}", repr(post), reply, repr([0] * t)])
                texts = post + (split_sentences(reply) or [reply])
                chunk.update(texts)
                distinct.update(map(hash, texts))
                rows, pairs = rows + t, pairs + 1
                if pairs % chunk_pairs == 0:
                    encoded, chunk = encoded + len(chunk), set()
                if rows >= n_rows:
                    break
            dialogues += 1
    return {"rows": rows, "pairs": pairs, "distinct_sentences": len(distinct),
            "encoded_sentences": encoded + len(chunk)}


_CHILD = """
import json, sys, time
start = time.perf_counter()
from empathy_cause.cli.command import main
from empathy_cause.benchmarks.speed import peak_rss_mib
imported = time.perf_counter()
status = main(sys.argv[1:])
print(json.dumps({"status": status, "import_seconds": imported - start,
                  "seconds": time.perf_counter() - imported, "peak_rss_mib": peak_rss_mib()}))
"""


def _predict_in_fresh_process(model_dir, csv_path, out_path, chunk_pairs) -> dict:
    """``empathy-cause predict`` on a CSV in a new process: its time and its own peak RSS (reported by it)."""
    command = [sys.executable, "-c", _CHILD, "predict", "--model", str(model_dir), "--data", str(csv_path),
               "--out", str(out_path), "--chunk-pairs", str(chunk_pairs)]
    log = Path(out_path).with_suffix(".log")
    started = time.perf_counter()
    with open(log, "w+") as output:  # a file, not a pipe: nothing blocks while we wait
        child = subprocess.run(command, stdout=output, stderr=subprocess.STDOUT, text=True)
        wall = time.perf_counter() - started
        output.seek(0)
        out = output.read()
    if child.returncode != 0:
        raise RuntimeError(f"predict on {csv_path} failed ({child.returncode}):\n{out[-4000:]}")
    report = json.loads(out.strip().splitlines()[-1])
    return {"process_seconds": wall, "import_seconds": report["import_seconds"],
            "seconds": report["seconds"], "peak_rss_mib": report["peak_rss_mib"]}


# ------------------------------------------------------------------------- Dask


def _split_csv_by_thread(path, n_files, folder) -> list:
    """Cut an AcnEmpathize-Cause CSV into ``n_files`` files of consecutive whole threads."""
    with open(path, newline="", encoding="utf-8") as file:
        rows = list(csv.reader(file))
    header, body = rows[0], rows[1:]
    threads = np.array([r[0] for r in body])
    starts = np.flatnonzero(np.r_[True, threads[1:] != threads[:-1]])
    cuts = [starts[min(len(starts) - 1, round(i * len(starts) / n_files))] for i in range(1, n_files)]
    paths = []
    for i, (a, b) in enumerate(zip([0, *cuts], [*cuts, len(body)], strict=True)):
        part = Path(folder) / f"part-{i:03d}.csv"
        with open(part, "w", newline="", encoding="utf-8") as file:
            csv.writer(file).writerows([header, *body[a:b]])
        paths.append(str(part))
    return paths


def _worker_load_encoder(encoder) -> None:
    load_encoder(encoder)


def _worker_stats() -> dict:
    from ..encoders.encoding import embedding_cache

    return {"sentences_encoded": len(embedding_cache), "peak_rss_mib": peak_rss_mib()}


def _dask_section(args, model, X_source) -> dict:
    """One process vs a LocalCluster on the same recombined rows (see the module docstring)."""
    import pickle

    from ..prediction.distributed import _require, predict_proba_dask, read_dask_frame

    _, distributed = _require()
    with tempfile.TemporaryDirectory(prefix="empathy-cause-dask-") as tmp:
        tmp = Path(tmp)
        model_dir = model.save(tmp / "model")
        data = tmp / "rows.csv"
        shape = write_recombined_csv(data, args.dask_rows, X_source, seed=args.seed, chunk_pairs=args.chunk_pairs)
        files = _split_csv_by_thread(data, args.dask_files, tmp)
        print(f"dask: {shape['rows']:,} rows in one process...", file=sys.stderr, flush=True)
        single = _predict_in_fresh_process(model_dir, data, tmp / "predictions.csv", args.chunk_pairs)
        print(f"dask: the same rows on {args.dask_scheduler or f'a {args.dask_workers}-worker LocalCluster'}...",
              file=sys.stderr, flush=True)
        started = time.perf_counter()
        with contextlib.ExitStack() as stack:
            if args.dask_scheduler:  # an existing cluster: its start-up is not measured
                client = stack.enter_context(distributed.Client(args.dask_scheduler, timeout="30s"))
                cluster_seconds = None
            else:
                cluster = stack.enter_context(distributed.LocalCluster(
                    n_workers=args.dask_workers, threads_per_worker=1, processes=True, dashboard_address=None,
                    silence_logs=40))
                client = stack.enter_context(distributed.Client(cluster))
                cluster_seconds = time.perf_counter() - started
            client.run(clear_embedding_cache)  # cold, as in one process
            start = time.perf_counter()
            shipped = client.scatter(model, broadcast=True, hash=False)
            ship_seconds = time.perf_counter() - start
            start = time.perf_counter()
            client.run(_worker_load_encoder, model.encoder)
            encoder_seconds = time.perf_counter() - start
            with distributed.get_task_stream(client) as stream:
                start = time.perf_counter()
                proba = predict_proba_dask(shipped, read_dask_frame(files), client=client).compute()
                score_seconds = time.perf_counter() - start
            busy: dict = {}
            for task in stream.data:
                for part in task["startstops"]:
                    if part["action"] == "compute":
                        busy[task["worker"]] = busy.get(task["worker"], 0.0) + part["stop"] - part["start"]
            workers = [{"worker": address, **stats, "busy_seconds": busy.get(address, 0.0)}
                       for address, stats in sorted(client.run(_worker_stats).items())]
        expected = _read_cause_probabilities(tmp / "predictions.csv")
    return {"rows": shape["rows"], "pairs": shape["pairs"], "distinct_sentences": shape["distinct_sentences"],
            "files": len(files), "n_workers": len(workers), "scheduler": args.dask_scheduler,
            "one_process": {**single, "rows_per_s": shape["rows"] / single["seconds"]},
            "cluster": {"start_seconds": cluster_seconds, "model_pickle_mib": len(pickle.dumps(model)) / 2**20,
                        "ship_seconds": ship_seconds, "encoder_load_seconds": encoder_seconds,
                        "score_seconds": score_seconds, "rows_per_s": shape["rows"] / score_seconds,
                        "workers": workers},
            "max_abs_difference": float(np.max(np.abs(proba[:, 1] - expected))) if len(expected) else 0.0}


def _read_cause_probabilities(path):
    """The probability column of a predictions CSV written by ``empathy-cause predict``."""
    import pandas as pd

    return pd.read_csv(path)["probability"].to_numpy(dtype=np.float64)


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
                        help="dataset (default: ../shared/data/reccon beside the checkout if present, "
                             "else the demo set, used for both fit and predict)")
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
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="results/speed.json")
    return parser


def _default_data():
    reccon = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "reccon"
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


def _device_name(device):
    return torch.cuda.get_device_name(torch.device(device)) if torch.device(device).type == "cuda" else cpu_name()


def _ratio_rows(args, device, X_fit, y_fit, X_pred, y_pred, fit_texts, pred_texts):
    """The ratio table's rows on one device, and the fitted default model (or None)."""
    load_encoder(args.encoder)  # loaded once, outside every timing
    for precision in _floor_precisions(device):  # warm-up
        encode_floor(pred_texts[:256], encoder=args.encoder, precision=precision, device=device)
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


def _scaling(args, model, X_source, predict_floor):
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    rows = []
    if not sizes:
        return rows
    rate = predict_floor["sentences"] / predict_floor["seconds"]
    with tempfile.TemporaryDirectory(prefix="empathy-cause-speed-") as tmp:
        model_dir = model.save(Path(tmp) / "model")
        for n in sizes:
            data = Path(tmp) / f"rows-{n}.csv"
            shape = write_recombined_csv(data, n, X_source, seed=args.seed, chunk_pairs=args.chunk_pairs)
            print(f"scaling: predicting {shape['rows']:,} rows in a fresh process...", file=sys.stderr, flush=True)
            result = _predict_in_fresh_process(model_dir, data, Path(tmp) / "predictions.csv", args.chunk_pairs)
            floor_estimate = shape["encoded_sentences"] / rate
            rows.append({**shape, **result, "rows_per_s": shape["rows"] / result["seconds"],
                         "floor_estimate_seconds": floor_estimate,
                         "ratio_estimate": result["seconds"] / floor_estimate})
            data.unlink()
    return rows


def _markdown(report) -> str:
    lines = [f"CPU: {report['cpu']}; torch {report['torch']}, {report['torch_threads']} threads, "
             f"bf16 units: {'yes' if report['bf16_units'] else 'no'}; data: {report['data']}", "",
             "| phase | device | rows | distinct sentences | floor (s) | floor precision | library (s) "
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
    if report["scaling"]:
        lines += ["", f"Scaling: `empathy-cause predict --chunk-pairs {report['chunk_pairs']}` on new "
                      "dialogues recombined from the data's sentences, each size in a fresh process:", "",
                  "| rows | pairs | sentences encoded | predict (s) | whole process (s) | rows/s "
                  "| est. floor (s) | ÷ est. floor | peak RSS (MiB) |",
                  "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for r in report["scaling"]:
            lines.append(f"| {r['rows']:,} | {r['pairs']:,} | {r['encoded_sentences']:,} | {r['seconds']:.1f} | "
                         f"{r['process_seconds']:.1f} | {r['rows_per_s']:.0f} | {r['floor_estimate_seconds']:.1f} "
                         f"| {r['ratio_estimate']:.2f}x | {r['peak_rss_mib']:.0f} |")
    if report.get("dask"):
        lines += _dask_markdown(report["dask"])
    return "\n".join(lines)


def _dask_markdown(d) -> list:
    one, cluster = d["one_process"], d["cluster"]
    peaks = " / ".join(f"{w['peak_rss_mib']:.0f}" for w in cluster["workers"])
    start = "-" if cluster["start_seconds"] is None else f"{cluster['start_seconds']:.1f}"
    lines = ["", f"Dask: {d['rows']:,} rows ({d['pairs']:,} pairs, {d['distinct_sentences']:,} distinct "
                 f"sentences) in {d['files']} CSV files; one process (`empathy-cause predict`, fresh process) "
                 f"vs {'the cluster at ' + d['scheduler'] if d['scheduler'] else 'a LocalCluster'} of "
                 f"{d['n_workers']} worker processes, 1 thread each "
                 f"(largest difference of a probability: {d['max_abs_difference']:.1e}). The one process's "
                 "scoring time includes loading the model and the encoder; the cluster's does not "
                 "(start-up, shipping and encoder load are its own columns):", "",
             "| run | rows/s | scoring (s) | start-up (s) | model shipped (MiB, s) | encoder load (s) "
             "| peak RSS (MiB) |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
             f"| one process | {one['rows_per_s']:.0f} | {one['seconds']:.1f} | {one['import_seconds']:.1f} "
             f"(imports) | - | - | {one['peak_rss_mib']:.0f} |",
             f"| {d['n_workers']} workers | {cluster['rows_per_s']:.0f} | {cluster['score_seconds']:.1f} | "
             f"{start} (cluster) | "
             f"{cluster['model_pickle_mib']:.1f}, "
             f"{cluster['ship_seconds']:.2f} | {cluster['encoder_load_seconds']:.1f} | "
             f"{peaks} (per worker) |",
             "", "| worker | sentences encoded | busy (s) | peak RSS (MiB) |", "| --- | ---: | ---: | ---: |"]
    for w in cluster["workers"]:
        lines.append(f"| {w['worker']} | {w['sentences_encoded']:,} | {w['busy_seconds']:.1f} | "
                     f"{w['peak_rss_mib']:.0f} |")
    return lines


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.repeats < 1 or args.fit_repeats < 1:
        raise SystemExit("--repeats and --fit-repeats must be at least 1")
    data = args.data or _default_data()
    X_fit, y_fit = _load(data, args.fit_subset)
    X_pred, y_pred = _load(data, args.predict_subset)
    fit_texts, pred_texts = distinct_sentences(X_fit), distinct_sentences(X_pred)
    devices = [d.strip() for d in args.devices.split(",") if d.strip()]
    started = time.perf_counter()
    ratios, models = [], {}
    for device in devices:
        rows, models[device] = _ratio_rows(args, device, X_fit, y_fit, X_pred, y_pred, fit_texts, pred_texts)
        ratios += rows
    cpu_model = models.get("cpu") or next(iter(models.values()))
    predict_floor = next(r["floor"] for r in ratios if r["phase"] == "predict_proba")
    scaling = _scaling(args, cpu_model, X_fit, predict_floor)
    dask_report = _dask_section(args, cpu_model, X_fit) if args.dask_rows > 0 else None
    report = {"data": data, "cpu": cpu_name(), "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
              "bf16_units": bf16_supported("cpu"), "devices": {d: _device_name(d) for d in devices},
              "repeats": args.repeats, "fit_repeats": args.fit_repeats, "params": dict(args.param),
              "chunk_pairs": args.chunk_pairs, "ratios": ratios, "scaling": scaling, "dask": dask_report,
              "peak_rss_mib": peak_rss_mib(), "seconds": time.perf_counter() - started}
    print(_markdown(report))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, default=str))
    print(f"\nWrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
