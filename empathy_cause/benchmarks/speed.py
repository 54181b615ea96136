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

**Scaling** (``--sizes``) and **Dask** (``--dask-rows N``): predict at scale,
each size in a fresh process, and the same rows on a Dask cluster; see
:mod:`empathy_cause.benchmarks.scaling`.

Run: ``python benchmarks/speed.py`` (or ``empathy-cause benchmark speed``);
``--sizes 10000,100000,1000000`` for the full scaling table. Writes a
Markdown table to standard output and ``results/speed.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from .. import EmpathyCauseClassifier
from ..baselines.qa import QAClassifier, _load_pretrained
from ..cli.args import add_param_argument, add_random_state_argument
from ..data import load_dataset, validate_frame
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
from .scaling import dask_markdown, dask_section, peak_rss_mib, scaling_rows

__all__ = ["distinct_sentences", "encode_floor", "qa_throughput", "cpu_name", "build_parser", "main"]

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
    add_random_state_argument(parser, dest="seed", help="seed of the model and of the recombined dialogues")
    parser.add_argument("--out", default="results/speed.json", help="the JSON file written (default: %(default)s)")
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
        lines += dask_markdown(report["dask"])
    return "\n".join(lines)


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
    scaling = scaling_rows(args, cpu_model, X_fit, predict_floor)
    dask_report = dask_section(args, cpu_model, X_fit) if args.dask_rows > 0 else None
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
