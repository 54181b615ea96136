"""Predict at scale, for the speed benchmark: fresh-process predicts of synthetic inputs, and a Dask cluster.

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

:mod:`empathy_cause.benchmarks.speed` runs both (``--sizes``, ``--dask-rows``)
and reports them beside its floor ratios.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from ..data import split_sentences
from ..data.chunking import DEFAULT_CHUNK_PAIRS
from ..encoders.encoding import clear_embedding_cache, load_encoder

__all__ = ["peak_rss_mib", "rss_mib", "PhaseMemory", "write_recombined_csv", "scaling_rows", "dask_section",
           "dask_markdown"]


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
    return _ru_maxrss_mib()


def _ru_maxrss_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def rss_mib() -> float:
    """Resident memory of this process now, MiB: ``/proc/self/statm``; elsewhere the peak so far (``ru_maxrss``)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return _ru_maxrss_mib()


class PhaseMemory:
    """The peak resident memory of a phase and its rise over the phase's start, sampled from a background thread.

    ``with PhaseMemory() as memory: ...``, then ``memory.peak_mib`` and
    ``memory.increase_mib``. :func:`rss_mib` is read at the start, every
    ``interval`` seconds (default 5 ms) and at the end, so a peak shorter
    than the interval can be missed. Where ``/proc`` is missing the samples
    are ``ru_maxrss``, the process's peak so far, which only rises.
    """

    def __init__(self, interval: float = 0.005):
        self.interval = interval
        self.start_mib = self.peak_mib = float("nan")
        self.samples = 0

    def __enter__(self):
        self.start_mib = self.peak_mib = rss_mib()
        self.samples = 1
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.wait(self.interval):
            self._record()

    def _record(self):
        self.peak_mib = max(self.peak_mib, rss_mib())
        self.samples += 1

    def __exit__(self, *exc_info):
        self._stop.set()
        self._thread.join()
        self._record()
        return False

    @property
    def increase_mib(self) -> float:
        return self.peak_mib - self.start_mib

    def as_dict(self) -> dict:
        return {"start_mib": self.start_mib, "peak_mib": self.peak_mib, "increase_mib": self.increase_mib,
                "samples": self.samples}


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
from empathy_cause.benchmarks.scaling import peak_rss_mib
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


def dask_section(args, model, X_source) -> dict:
    """One process vs a LocalCluster on the same recombined rows (see the module docstring)."""
    import pickle

    from ..prediction.distributed import _require, connect, predict_proba_dask, read_dask_frame

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
                client = stack.enter_context(connect(args.dask_scheduler))
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


def scaling_rows(args, model, X_source, predict_floor):
    """``empathy-cause predict`` of ``model`` on a recombined CSV of each of ``--sizes`` rows, each in a new process."""
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


def dask_markdown(d) -> list:
    """The lines of the speed report's Dask section (of :func:`dask_section`'s result)."""
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
