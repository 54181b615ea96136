"""The protocol shared by the benchmark tables (paper section 6.1).

For each run ``r`` of ``runs`` the seed is ``seed + r``. The seed draws an
80/10/10 split by thread (:func:`~empathy_cause.model_selection.splitters.train_valid_test_split`)
and seeds the model. Every configuration of a run sees the same split (a
configuration that changes the dataset, such as the balanced condition,
draws its split from its own dataset with the same seed). A neural model is
fitted on the training part and early-stops on the validation part, which it
receives as a skorch ``train_split=predefined_split(...)`` of the
estimator's own dataset type (see :func:`attach_validation`); a dummy
baseline is fitted on the training part. Every model is scored on the test
part with :func:`~empathy_cause.metrics.cause_metrics` and, for neural
models, the configuration's own criterion (its test loss).

All sentence vectors of the dataset are encoded once, before the first fit
(:func:`warm_cache`), so the runs and configurations that share a frozen
encoder and pooling only train the small network.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from .. import EmpathyCauseClassifier
from ..cli.args import (
    add_data_arguments,
    add_param_argument,
    add_random_state_argument,
    data_options,
    estimator_params_from_args,
)
from ..data import load_dataset, validate_frame
from ..data.frame import THREAD_ID
from ..metrics import cause_metrics
from ..model_selection.splitters import train_valid_test_split
from ..model_selection.unwrap import (
    attach_validation,
    criterion_loss,
    decision_threshold_of,
    find_classifier,
    fitted_classifier,
    warm_cache,
)
from .tables import (
    markdown_table,
    plot_precision_recall,
    summarise,
)

__all__ = [
    "Config",
    "load_benchmark_data",
    "sample_threads",
    "warm_models",
    "jsonable",
    "run_protocol",
    "write_outputs",
    "add_common_arguments",
    "runs_caption",
    "run_from_args",
]


@dataclass
class Config:
    """One row of a benchmark table.

    Parameters
    ----------
    name : str
        Short name used on the command line (``--configs``).
    label : str
        The row's title in the table.
    settings : dict
        Estimator parameters that define the configuration (they override the
        benchmark-wide ones).
    kind : {"neural", "dummy", "unavailable"}
        "neural" rows have a test loss and early-stop on the validation part;
        "unavailable" rows are listed with ``note`` and never run.
    builder : callable or None
        ``builder(estimator) -> model``: wraps the configured
        :class:`EmpathyCauseClassifier` (for example in a pipeline). For dummies,
        ``builder(random_state) -> model``. None: the estimator itself.
    dataset : callable or None
        ``dataset(X, y, random_state) -> (X, y)``, applied to the whole
        dataset before each run's split (the balanced condition).
    note : str
        Footnote printed under the table.
    """

    name: str
    label: str
    settings: dict = field(default_factory=dict)
    kind: str = "neural"
    builder: Callable | None = None
    dataset: Callable | None = None
    note: str = ""

    def model(self, random_state=None, **estimator_params):
        """A fresh, unfitted model of this configuration.

        ``estimator_params`` are :class:`EmpathyCauseClassifier` parameters
        shared by all configurations (``encoder=``, ``max_epochs=``, ...);
        the configuration's own ``settings`` win over them.
        """
        if self.kind == "unavailable":
            raise RuntimeError(f"configuration {self.name!r} is not available: {self.note}")
        if self.kind == "dummy":
            return self.builder(random_state)
        estimator = EmpathyCauseClassifier(**{**estimator_params, **self.settings,
                                              "random_state": random_state})
        return estimator if self.builder is None else self.builder(estimator)


# --------------------------------------------------------------------- data


def sample_threads(X, y, n_threads, random_state=None):
    """A random sample of ``n_threads`` threads (all their rows), rows in order."""
    threads = pd.unique(X[THREAD_ID].to_numpy())
    if n_threads >= len(threads):
        return X, y
    rng = np.random.default_rng(random_state)
    chosen = set(rng.choice(threads, size=n_threads, replace=False).tolist())
    keep = np.flatnonzero(X[THREAD_ID].isin(chosen).to_numpy())
    return X.iloc[keep].reset_index(drop=True), np.asarray(y)[keep]


def load_benchmark_data(data, subset=None, sample=None, random_state=0, *, columns=None):
    """Load and validate a dataset (any format; ``columns`` for a file of pairs); optionally a sample of threads.

    Returns ``(X, y)`` with ``pair_id`` and ``thread_id`` columns present.
    """
    kwargs = {} if subset is None else {"subset": subset}
    if columns:
        kwargs["columns"] = columns
    X, y, _ = load_dataset(data, **kwargs)
    if y is None:
        raise ValueError(f"{data!r} has no labels: the benchmarks need a labelled dataset")
    X, y = validate_frame(X, y)
    if sample:
        X, y = sample_threads(X, y, sample, random_state)
    return X, y


# ---------------------------------------------------------- model plumbing


def warm_models(models, X, y=None, log=True):
    """:func:`warm_cache` each model whose frozen encoder set-up (pooling, encoder, length, steps) is new."""
    warmed = set()
    for model in models:
        clf, _, steps = find_classifier(model)
        if clf is None or not clf.frozen_encoder:
            continue  # nothing to precompute for a fine-tuned encoder
        key = (clf.pooling, clf.encoder, clf.max_length, tuple(repr(s) for s in steps))
        if key in warmed:
            continue
        start = time.perf_counter()
        n = warm_cache(model, X, y)
        warmed.add(key)
        _log(f"encoded {n} distinct texts for {type(clf).__name__}(pooling={clf.pooling!r}) "
             f"in {time.perf_counter() - start:.1f}s", log)
    return len(warmed)


def jsonable(value):
    """Plain JSON types (NaN becomes null, other objects their repr)."""
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, np.integer):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return repr(value)


def describe_model(model):
    """JSON-able description: the model's repr and its classifier's parameters."""
    clf, _, _ = find_classifier(model)
    out = {"model": type(model).__name__}
    if clf is not None:
        params = clf.get_params(deep=False)
        params.pop("train_split", None)
        out["classifier_params"] = {k: jsonable(v) for k, v in sorted(params.items())}
        if clf is not model:
            out["wrapper"] = repr(model)
    else:
        out["params"] = {k: jsonable(v) for k, v in sorted(model.get_params(deep=False).items())}
    return out


# ----------------------------------------------------------------- protocol


def _log(message, log=True):
    if log:
        print(message, flush=True)


def run_protocol(configs, X, y, *, runs=5, seed=0, estimator_params=None, valid_size=0.1,
                 test_size=0.1, log=True, on_record=None, n_jobs=1):
    """Run every configuration ``runs`` times on fresh thread splits.

    Parameters
    ----------
    configs : list of Config
        "unavailable" configurations are skipped.
    X, y : the validated sentence-row frame and labels.
    runs : int
        Number of runs; run ``r`` uses seed ``seed + r`` for the split and the model.
    estimator_params : dict
        :class:`EmpathyCauseClassifier` parameters shared by all neural configurations.
    log : bool
        Print one progress line per configuration and run.
    on_record : callable or None
        Called with the list of records after each fit (to save partial results).
    n_jobs : int or None, default=1
        Fits run at once, through joblib: under ``joblib.parallel_config(backend="dask")``
        they run on a Dask cluster's workers. Each fit is seeded, so the records do
        not depend on it (only the fit times do); they come in the same order.

    Returns
    -------
    records : list of dict
        One per configuration and run: the configuration, run, seed, split
        sizes, metrics, test loss, fit time, epochs, and (under the key
        ``"_predictions"``, not meant for JSON) the test labels and scores.
    """
    from joblib import Parallel, delayed

    estimator_params = dict(estimator_params or {})
    runnable = [c for c in configs if c.kind != "unavailable"]
    records = []

    if n_jobs == 1:  # other processes have their own sentence-vector caches
        warm_models([c.model(random_state=seed, **estimator_params) for c in runnable
                     if c.kind == "neural" and c.dataset is None], X, y, log=log)

    jobs = []  # (config, run, run seed, split, unfitted model), in the order of the records
    for run in range(runs):
        run_seed = seed + run
        base_split = train_valid_test_split(X, y, valid_size=valid_size, test_size=test_size,
                                            random_state=run_seed)
        for config in runnable:
            if config.dataset is not None:
                Xc, yc = config.dataset(X, y, run_seed)
                split = train_valid_test_split(Xc, yc, valid_size=valid_size,
                                               test_size=test_size, random_state=run_seed)
            else:
                split = base_split
            jobs.append((config, run, run_seed, split, config.model(random_state=run_seed, **estimator_params)))

    # Models, not configurations, cross to the workers (a Config may hold lambdas).
    results = Parallel(n_jobs=n_jobs, return_as="generator")(
        delayed(_fit_and_score)(model, config.kind, *split) for config, _, _, split, model in jobs)
    for (config, run, run_seed, split, model), result in zip(jobs, results):
        X_tr, X_va, X_te, y_tr, y_va, y_te = split
        record = {
            "config": config.name, "label": config.label, "kind": config.kind,
            "run": run, "seed": run_seed,
            "n_train": len(X_tr), "n_valid": len(X_va), "n_test": len(X_te),
            "test_positive_rate": float(np.mean(y_te)),
            "model": describe_model(model),
            **result,
        }
        records.append(record)
        metrics, fit_seconds = record["metrics"], record["fit_seconds"]
        _log(f"[run {run + 1}/{runs}, seed {run_seed}] {config.label}: "
             f"F1 {metrics['f1']:.4f}  P {metrics['precision']:.4f}  R {metrics['recall']:.4f}  "
             f"AUC {metrics['roc_auc']:.4f}"
             + ("" if record["epochs"] is None else f"  {record['epochs']} epochs")
             + f"  {fit_seconds:.1f}s", log)
        if on_record is not None:
            on_record(records)
    return records


def _fit_and_score(model, kind, X_tr, X_va, X_te, y_tr, y_va, y_te):
    """One fit of the protocol (in this process or a joblib worker): the record's measured fields."""
    if kind == "neural":
        attach_validation(model, X_tr, y_tr, X_va, y_va)
    start, cpu_start = time.perf_counter(), time.process_time()
    model.fit(X_tr, y_tr)
    fit_seconds = time.perf_counter() - start
    fit_cpu_seconds = time.process_time() - cpu_start
    proba = model.predict_proba(X_te)
    y_pred = np.asarray(model.predict(X_te))
    metrics = cause_metrics(y_te, y_pred, proba[:, 1])
    metrics["test_loss"] = criterion_loss(model, X_te, y_te, proba) if kind == "neural" else None
    clf = fitted_classifier(model)
    return {
        "metrics": metrics, "fit_seconds": fit_seconds, "fit_cpu_seconds": fit_cpu_seconds,
        "epochs": None if clf is None else len(clf.history_),
        "best_epoch": None if clf is None else _best_epoch(clf),
        "threshold": decision_threshold_of(model),
        "_predictions": (np.asarray(y_te), proba[:, 1].astype(float)),
    }


def _best_epoch(clf):
    try:
        f1 = clf.history_[:, "valid_f1"]
    except KeyError:
        return None
    return int(np.argmax(f1)) + 1 if len(f1) else None


def write_outputs(out_dir, name, *, records, configs, summary, table, meta, plot=True):
    """Write ``table.md``, ``results.json`` and ``precision_recall.png`` under ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "table.md").write_text(table)
    payload = {
        "benchmark": name,
        **jsonable(meta),
        "configs": {c.name: {"label": c.label, "kind": c.kind, "settings": jsonable(c.settings),
                             "note": c.note} for c in configs},
        "summary": jsonable(summary),
        "runs": [{k: jsonable(v) for k, v in r.items() if not k.startswith("_")} for r in records],
    }
    (out_dir / "results.json").write_text(json.dumps(payload, indent=2, allow_nan=False))
    paths = {"table": out_dir / "table.md", "json": out_dir / "results.json"}
    if plot:
        paths["plot"] = plot_precision_recall(records, configs, out_dir / "precision_recall.png",
                                              title=f"{name}: precision-recall (test parts, runs pooled)")
    return paths


# ---------------------------------------------------------------------- CLI


def add_common_arguments(parser, *, default_out, config_names, runs=5,
                         runs_help="runs with different seeds (default: 5)",
                         encoder_help="encoder folder or local hub name (default: the embedded MiniLM)",
                         max_epochs_help=None,
                         param_help="any other EmpathyCauseClassifier parameter for every neural "
                                    "configuration, e.g. --param lr=3e-4"):
    """The options every benchmark table takes (a benchmark may reword some of their help and defaults)."""
    defaults = EmpathyCauseClassifier()  # the help states the real defaults
    if max_epochs_help is None:
        max_epochs_help = f"epochs per fit (default: the estimator's, {defaults.max_epochs}, with early stopping)"
    add_data_arguments(parser, default="demo")
    parser.add_argument("--runs", type=int, default=runs, help=runs_help)
    add_random_state_argument(parser, dest="seed",
                              help="seed of the first run; run r uses seed+r for split and model")
    parser.add_argument("--sample", type=int, default=None, metavar="N",
                        help="use a random sample of N threads (conversations/posts) for a quick look")
    parser.add_argument("--configs", nargs="+", default=None, metavar="NAME",
                        help=f"configurations to run (default: all): {', '.join(config_names)}")
    parser.add_argument("--out", default=default_out, help=f"output folder (default: {default_out})")
    parser.add_argument("--encoder", default=None, help=encoder_help)
    parser.add_argument("--cache-dir", default=None,
                        help="folder for an on-disk cache of sentence vectors (joblib)")
    parser.add_argument("--max-epochs", type=int, default=None, help=max_epochs_help)
    parser.add_argument("--patience", type=int, default=None,
                        help=f"early-stopping patience (default: the estimator's, {defaults.patience})")
    add_param_argument(parser, param_help)
    parser.add_argument("--n-jobs", type=int, default=None,
                        help="fits run at once through joblib (default: 1, or -1 with --scheduler: one per "
                             "worker thread); the records do not depend on it, only the fit times")
    parser.add_argument("--scheduler", metavar="ADDRESS", default=None,
                        help="run the fits on the Dask cluster at ADDRESS (e.g. tcp://host:8786) through "
                             "joblib's dask backend (needs the distributed extra); see docs/distributed.md")
    parser.add_argument("--no-plot", action="store_true", help="skip the precision-recall PNG")
    parser.add_argument("--verbose", "-v", action="count", default=0,
                        help="also print each fit's epoch table")
    parser.add_argument("--quiet", "-q", action="store_true", help="print only the final table")
    return parser


def select_configs(all_configs, names):
    if not names:
        return list(all_configs.values())
    unknown = [n for n in names if n not in all_configs]
    if unknown:
        raise SystemExit(f"unknown configuration(s) {unknown}; choose from {list(all_configs)}")
    return [all_configs[n] for n in names]


def runs_caption(args, detail, *, seeds_note="") -> str:
    """A protocol table's caption: mean ± sd over ``--runs`` runs and their seeds, then ``detail``."""
    return (f"Mean ± standard deviation over {args.runs} run(s) (seeds {args.seed}.."
            f"{args.seed + args.runs - 1}{seeds_note}); {detail}")


def run_from_args(name, args, all_configs, *, title_column, caption):
    """Load data, run the selected configurations, write and print the outputs. Returns 0."""
    log = not args.quiet
    configs = select_configs(all_configs, args.configs)
    estimator_params = estimator_params_from_args(args, ("encoder", "cache_dir", "max_epochs", "patience"))
    if args.verbose:
        estimator_params.setdefault("verbose", 1)
    if args.runs < 1:
        raise SystemExit("--runs must be at least 1")
    started = time.perf_counter()
    X, y = load_benchmark_data(args.data, args.subset, args.sample, args.seed,
                               columns=data_options(args).get("columns"))
    n_threads = int(X[THREAD_ID].nunique())
    _log(f"{name}: {len(X)} rows, {X['pair_id'].nunique()} pairs, {n_threads} threads, "
         f"{np.mean(y):.2%} causes; {args.runs} run(s); "
         f"configurations: {', '.join(c.name for c in configs)}", log)
    meta = {
        "data": str(args.data), "subset": args.subset, "sample": args.sample,
        "n_rows": len(X), "n_pairs": int(X["pair_id"].nunique()), "n_threads": n_threads,
        "positive_rate": float(np.mean(y)), "runs_requested": args.runs, "seed": args.seed,
        "protocol": "80/10/10 split by thread per run (seed+run); fit on train, early stopping "
                    "on valid (predefined_split), metrics on test; mean ± std (ddof=1) over runs",
        "estimator_params": jsonable(estimator_params),
        "n_jobs": args.n_jobs, "scheduler": args.scheduler,
        "estimator_defaults": {k: jsonable(v) for k, v in
                               EmpathyCauseClassifier().get_params(deep=False).items()
                               if isinstance(v, (type(None), bool, int, float, str, tuple))},
        "environment": {"python": platform.python_version(), "torch": torch.__version__,
                        "threads": torch.get_num_threads(), "cpus": os.cpu_count()},
    }
    out_dir = Path(args.out)

    def save_partial(records):
        summary = summarise(records, configs)
        table = markdown_table(summary, configs, title_column=title_column, caption=caption(args))
        write_outputs(out_dir, name, records=records, configs=configs, summary=summary,
                      table=table, meta={**meta, "complete": False}, plot=False)

    n_jobs = args.n_jobs if args.n_jobs is not None else (-1 if args.scheduler else 1)
    if args.scheduler:
        from ..prediction.distributed import joblib_backend

        backend = joblib_backend(args.scheduler)
    else:
        backend = contextlib.nullcontext()
    with backend:
        records = run_protocol(configs, X, y, runs=args.runs, seed=args.seed, estimator_params=estimator_params,
                               log=log, on_record=save_partial, n_jobs=n_jobs)
    summary = summarise(records, configs)
    table = markdown_table(summary, configs, title_column=title_column, caption=caption(args))
    meta["complete"] = True
    meta["total_seconds"] = time.perf_counter() - started
    paths = write_outputs(out_dir, name, records=records, configs=configs, summary=summary,
                          table=table, meta=meta, plot=not args.no_plot)
    print(table, flush=True)
    _log(f"wrote {', '.join(str(p) for p in paths.values())} "
         f"({meta['total_seconds'] / 60:.1f} min)", log)
    return 0
