"""Hyperparameter search: ``OptunaSearchCV`` over the estimator, resumable and multi-worker.

Command line: ``empathy-cause search --data PATH`` (or ``python benchmarks/search.py``).

- The search is ``optuna_integration.OptunaSearchCV`` with thread-aware
  folds (:class:`~empathy_cause.model_selection.splitters.ThreadKFold`) and F1 scoring.
- Trials live in an Optuna ``RDBStorage``: by default a SQLite file in the
  output folder, or any database URL (``--storage postgresql://...``) so that
  workers on several machines share one study.
- A heartbeat marks a trial whose worker died (killed, out of memory, machine
  lost) as failed once it is older than the grace period, and
  ``RetryHeartbeatStaleTrialCallback`` queues it again with the same
  parameters; finished trials are never redone. Rerunning the same command
  resumes the study.
- ``--n-trials`` counts the new trials of one worker; ``--max-trials`` caps
  the finished trials of the whole study (``MaxTrialsCallback``).

Library use::

    from empathy_cause.benchmarks.search import make_storage, create_study, run_search
    storage = make_storage("sqlite:///search.db")
    study = create_study(storage, "my-study")
    search = run_search(X, y, study=study, max_trials=30)
    search.best_params_
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import multiprocessing
import os
import re
import signal
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np

from .. import EmpathyCauseClassifier
from ..cli.args import (
    add_data_arguments,
    add_param_argument,
    add_random_state_argument,
    at_least,
    data_options,
    estimator_params_from_args,
)
from ..metrics import cause_metrics
from ..model_selection.splitters import ThreadKFold
from ..model_selection.tuning import SearchableClassifier, default_search_space, estimator_params
from .common import jsonable, load_benchmark_data

__all__ = ["SearchableClassifier", "default_search_space", "estimator_params", "make_storage",
           "create_study", "run_search", "interrupt_leaves_trial_running", "study_report", "check_storage_url",
           "check_study_settings",
           "build_parser", "main"]

DEFAULT_STUDY = "empathy-cause"


def _retrying(action, what, attempts=20):
    """Run ``action()``, retrying briefly on the errors of concurrent schema/study creation."""
    import optuna
    from sqlalchemy.exc import IntegrityError, OperationalError

    delay = 0.1
    for attempt in range(attempts):
        try:
            return action()
        except (IntegrityError, OperationalError, optuna.exceptions.DuplicatedStudyError) as exc:
            if attempt == attempts - 1:
                raise RuntimeError(f"could not {what} after {attempts} attempts: {exc}") from exc
            time.sleep(delay * (1 + np.random.random()))
            delay = min(delay * 2, 2.0)


#: The pip package of each SQLAlchemy database driver (the dialect's default, or the one named after "+").
DRIVER_PACKAGES = {"psycopg2": "psycopg2-binary", "psycopg": "psycopg[binary]", "pg8000": "pg8000",
                   "asyncpg": "asyncpg", "mysqldb": "mysqlclient", "pymysql": "pymysql",
                   "mysqlconnector": "mysql-connector-python", "mariadbconnector": "mariadb",
                   "oracledb": "oracledb", "cx_oracle": "cx_Oracle", "pyodbc": "pyodbc", "pymssql": "pymssql"}


def check_storage_url(url: str) -> None:
    """Raise a one-line ``ValueError`` / ``ImportError`` for a storage URL that cannot work, before any connection.

    Not a SQLAlchemy URL (``notaurl``), a database SQLAlchemy does not know,
    or one whose driver is not installed (the error names the pip package).
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    example = "e.g. sqlite:///search.db or postgresql://user:pass@host/db"
    try:
        parsed = make_url(url)
        dialect = parsed.get_dialect()
    except NoSuchModuleError:   # a subclass of ArgumentError
        raise ValueError(f"--storage {_safe_url(url)}: SQLAlchemy knows no database {parsed.drivername!r} "
                         f"({example})") from None
    except ArgumentError:
        shown = re.sub(r":[^:@/]*@", ":***@", url)   # no password on the screen, even in a malformed URL
        raise ValueError(f"--storage {shown!r} is not a database URL ({example})") from None
    try:
        dialect.import_dbapi()
    except ImportError as exc:
        driver = parsed.get_driver_name()
        package = DRIVER_PACKAGES.get(driver, exc.name or driver)
        raise ImportError(f"--storage {_safe_url(url)} needs the database driver {driver!r}, which is not "
                          f"installed: pip install {package}") from None


#: Seconds a database server (PostgreSQL, MySQL) gets to accept a connection and answer it.
STORAGE_CONNECT_TIMEOUT = 30


def _connect_args(url: str) -> dict:
    """Connection arguments that bound the time a server database may take to answer (libpq waits forever)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() in ("postgresql", "mysql") and "connect_timeout" not in parsed.query and \
            parsed.get_driver_name() in ("psycopg2", "psycopg", "pymysql", "mysqldb"):
        return {"connect_timeout": STORAGE_CONNECT_TIMEOUT}
    return {}


def _check_reachable(url: str, connect_args: dict) -> None:
    """Connect once to a server database: a silent, absent or foreign server is one line, in bounded time."""
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    engine = create_engine(url, connect_args=connect_args, poolclass=NullPool)
    try:
        with engine.connect():
            pass
    except Exception as exc:  # noqa: BLE001 - every driver has its own errors; the first line says what happened
        cause = getattr(exc, "orig", None) or exc
        first = next((line for line in str(cause).splitlines() if line.strip()), type(cause).__name__)
        raise OSError(f"cannot connect to the study database {_safe_url(url)}: {first.strip()}") from None
    finally:
        engine.dispose()


def make_storage(url=None, *, heartbeat_interval=60, grace_period=None, max_retry=3):
    """An ``optuna.storages.RDBStorage`` with a heartbeat and retry of stale trials.

    Parameters
    ----------
    url : str or None
        SQLAlchemy URL: ``sqlite:///path/study.db`` (one machine; the folder is
        created) or ``postgresql://user:pass@host/db`` (several machines;
        needs a driver such as psycopg2). None: ``sqlite:///optuna.db``.
    heartbeat_interval : int
        Seconds between a running trial's heartbeats.
    grace_period : int or None
        A RUNNING trial whose last heartbeat is older than this is stale: it
        is marked FAILED and queued again. None: 2 x ``heartbeat_interval``.
    max_retry : int or None
        How many times one trial may be retried (None: forever).
    """
    import optuna
    from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback

    url = url or "sqlite:///optuna.db"
    check_storage_url(url)
    engine_kwargs = {}
    connect_args = _connect_args(url)
    if connect_args:
        _check_reachable(url, connect_args)
        engine_kwargs["connect_args"] = connect_args
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        if path and path != ":memory:":
            Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        # Several worker processes write to one file: wait for locks instead of failing.
        engine_kwargs["connect_args"] = {"timeout": 120}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return _retrying(lambda: RDBStorage(
            url, engine_kwargs=engine_kwargs, heartbeat_interval=heartbeat_interval,
            grace_period=grace_period or 2 * heartbeat_interval,
            heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=max_retry),
        ), "open the storage")


def create_study(storage, study_name=DEFAULT_STUDY, *, seed=None):
    """Create the study, or load it when it exists; safe when several workers race.

    The study maximises the score. The TPE sampler (``constant_liar``, so
    concurrent workers spread out) is not stored: each worker has its own;
    give workers different seeds.
    """
    import optuna

    sampler = optuna.samplers.TPESampler(seed=seed, constant_liar=True)
    return _retrying(lambda: optuna.create_study(storage=storage, study_name=study_name,
                                                 direction="maximize", sampler=sampler,
                                                 load_if_exists=True), "create or load the study")


class _StopAfterFailures:
    """Stop this worker after ``limit`` trials in a row failed in it (e.g. broken data)."""

    def __init__(self, limit=5):
        self.limit = limit
        self.count = 0

    def __call__(self, study, trial):
        from optuna.trial import TrialState

        self.count = self.count + 1 if trial.state == TrialState.FAIL else 0
        if self.count >= self.limit:
            study.stop()


@contextlib.contextmanager
def interrupt_leaves_trial_running():
    """Make Ctrl-C (SIGINT) end the process like a kill, so the trial is retried.

    Optuna marks a trial interrupted by ``KeyboardInterrupt`` as FAILED and
    never retries it. Inside this context SIGINT raises ``SystemExit``
    instead, which Optuna does not catch: the trial stays RUNNING, its
    heartbeat stops, and after the grace period it is failed and queued again
    like the trial of a killed worker. (Only in the main thread.)
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class _Counter:
    """Counts the trials this worker finished."""

    def __init__(self):
        self.n = 0

    def __call__(self, study, trial):
        self.n += 1


def n_complete(study):
    from optuna.trial import TrialState

    return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))


def run_search(X, y, *, study, estimator=None, param_distributions=None, n_trials=None,
               max_trials=None, cv=3, scoring="f1", timeout=None, refit=False, verbose=0):
    """Run (or continue) a search on ``study``; returns the fitted ``OptunaSearchCV``.

    Parameters
    ----------
    X, y : training data (the sentence-row frame for the default estimator).
    study : optuna.Study
        From :func:`create_study`; other workers may share it.
    estimator : estimator or None
        None: a :class:`SearchableClassifier` with default parameters.
    param_distributions : dict or None
        None: :func:`default_search_space`.
    n_trials : int or None
        New trials in this call (None: until ``max_trials`` or ``timeout``).
    max_trials : int or None
        Cap on COMPLETE trials of the whole study. When it is already reached
        no trial runs and ``None`` is returned.
    cv : int or splitter
        An int is ``ThreadKFold(cv)`` (the same folds in every worker).
    scoring, timeout, refit, verbose
        As in ``OptunaSearchCV`` (``refit`` defaults to False here: with
        several workers, refit once at the end instead).

    Returns
    -------
    OptunaSearchCV or None
        Fitted; ``worker_trials_`` is the number of trials this call ran.
    """
    import optuna
    from optuna.study import MaxTrialsCallback
    from optuna.trial import TrialState
    from optuna_integration import OptunaSearchCV

    if n_trials is None and max_trials is None and timeout is None:
        raise ValueError("give n_trials, max_trials or timeout, or the search never ends")
    if max_trials is not None and n_complete(study) >= max_trials:
        return None
    counter = _Counter()
    callbacks = [counter, _StopAfterFailures()]
    if max_trials is not None:
        callbacks.append(MaxTrialsCallback(max_trials, states=(TrialState.COMPLETE,)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        # OptunaSearchCV reports fold scores to the deprecated optuna.terminator.
        warnings.filterwarnings("ignore", message=".*optuna.terminator.*", category=FutureWarning)
        search = OptunaSearchCV(
            SearchableClassifier() if estimator is None else estimator,
            default_search_space() if param_distributions is None else param_distributions,
            cv=ThreadKFold(cv) if isinstance(cv, int) else cv, scoring=scoring, study=study,
            n_trials=n_trials, timeout=timeout, refit=refit, callbacks=callbacks, verbose=verbose)
        search.fit(X, y)
    search.worker_trials_ = counter.n  # trials run by this call (other workers add theirs)
    return search


def study_report(study):
    """JSON-able summary of a study: best trial and every trial."""
    from optuna.storages import RetryHeartbeatStaleTrialCallback
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False)
    states = {s.name: sum(t.state == s for t in trials) for s in TrialState}
    report = {"study_name": study.study_name, "n_trials": len(trials),
              "states": {k: v for k, v in states.items() if v}}
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    if complete:
        best = study.best_trial
        report.update({
            "best_trial": best.number, "best_score": best.value,
            "best_params": jsonable(best.params),
            "best_estimator_params": jsonable(estimator_params(best.params)),
        })
    def retry_of(trial):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return RetryHeartbeatStaleTrialCallback.retried_trial_number(trial)

    report["trials"] = [{
        "number": t.number, "state": t.state.name, "value": t.value,
        "params": jsonable(t.params),
        "split_scores": jsonable({k: v for k, v in t.user_attrs.items() if k.startswith("split")}),
        "retry_of": retry_of(t),
        "seconds": None if t.duration is None else t.duration.total_seconds(),
    } for t in trials]
    return report


# ---------------------------------------------------------------------- CLI


def build_parser(prog=None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog or "empathy-cause search",
        description="Hyperparameter search of EmpathyCauseClassifier with OptunaSearchCV "
                    "(thread-aware folds, F1). Trials are stored in a database, so an "
                    "interrupted search resumes and several workers (processes or machines) "
                    "can share one study.")
    add_data_arguments(parser, default="demo")
    parser.add_argument("--sample", type=at_least(1), default=None, metavar="N",
                        help="search on a random sample of N threads")
    parser.add_argument("--out", default="results/search",
                        help="output folder (best.json, default SQLite file) (default: results/search)")
    parser.add_argument("--storage", default=None,
                        help="SQLAlchemy URL of the study database, e.g. sqlite:///search.db or "
                             "postgresql://user:pass@host/db (default: sqlite:///OUT/study.db)")
    parser.add_argument("--study-name", default=DEFAULT_STUDY, help=f"(default: {DEFAULT_STUDY})")
    parser.add_argument("--n-trials", type=at_least(1), default=None,
                        help="new trials per worker (default: until --max-trials)")
    parser.add_argument("--max-trials", type=at_least(1), default=None,
                        help="cap on finished trials of the whole study (default: 50 when "
                             "--n-trials and --timeout are not given)")
    parser.add_argument("--timeout", type=float, default=None, help="seconds per worker")
    parser.add_argument("--workers", type=at_least(1), default=1,
                        help="worker processes started by this command (default: 1); more "
                             "workers elsewhere may join with the same --storage and --study-name")
    parser.add_argument("--folds", type=at_least(2), default=3, help="ThreadKFold splits, at least 2 (default: 3)")
    parser.add_argument("--scoring", default="f1", help="scikit-learn scorer (default: f1)")
    add_random_state_argument(parser, dest="seed", default=None,
                              help="sampler seed (worker i uses seed+i) and --sample's seed; none: a fresh one")
    parser.add_argument("--finetune-layers", type=int, default=0, metavar="K",
                        help="also search finetune_layers in 0..K (default: 0, frozen encoder only)")
    parser.add_argument("--encoder", default=None, help="encoder folder (default: embedded MiniLM)")
    parser.add_argument("--cache-dir", default=None, help="on-disk cache of sentence vectors")
    parser.add_argument("--max-epochs", type=int, default=None, help="(default: estimator's)")
    add_param_argument(parser, "fixed EmpathyCauseClassifier parameter, e.g. --param loss=ce")
    parser.add_argument("--heartbeat-interval", type=int, default=60,
                        help="seconds between heartbeats of a running trial (default: 60)")
    parser.add_argument("--grace-period", type=int, default=None,
                        help="a trial silent this long is failed and retried "
                             "(default: 2 x heartbeat interval)")
    parser.add_argument("--max-retry", type=int, default=3,
                        help="retries of one interrupted trial (default: 3)")
    parser.add_argument("--save-model", default=None, metavar="DIR",
                        help="refit the best parameters on all the data and save the model here")
    parser.add_argument("--verbose", "-v", action="count", default=0,
                        help="also log every trial (Optuna's INFO messages; repeat for more)")
    parser.add_argument("--quiet", "-q", action="store_true",
                        help="print only the best score and the file written (no study or worker lines)")
    return parser


def _storage_url(args):
    return args.storage or f"sqlite:///{Path(args.out) / 'study.db'}"


def _safe_url(url):
    """The storage URL without its password."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an unparsable URL fails later anyway
        return "(unparsable URL)"


def _fixed_params(args):
    return estimator_params_from_args(args, ("encoder", "cache_dir", "max_epochs"))


#: The study attribute that records the fixed settings its trials were run with.
SETTINGS_ATTR = "empathy_cause_fixed_settings"


def _study_settings(args) -> dict:
    """What makes two searches' trials comparable: data, folds, scoring, search space and fixed parameters.

    ``cache_dir`` (where vectors are kept) changes no score and is left out.
    """
    from ..encoders.pretrained import model_identity

    fixed = {k: v for k, v in _fixed_params(args).items() if k not in ("cache_dir", "encoder")}
    data = args.data if args.data == "demo" else str(Path(args.data).expanduser().resolve())
    # The encoder by identity: "enc" seen from another folder, or new weights at one path, is another encoder.
    encoder = model_identity(_fixed_params(args).get("encoder"), "encoder")
    settings = {"data": data, "subset": args.subset, "sample": args.sample, "folds": args.folds,
                "scoring": args.scoring, "finetune_layers": args.finetune_layers,
                "encoder": encoder.get("sha256") or f"{encoder['package']} {encoder['version']}",
                "params": {k: fixed[k] for k in sorted(fixed)}}
    if args.sample:
        settings["sample_seed"] = 0 if args.seed is None else args.seed
    return json.loads(json.dumps(jsonable(settings)))


def check_study_settings(study, settings: dict) -> None:
    """Record ``settings`` on a new study; refuse to add trials of other settings to an existing one.

    A study ranks all its trials together: trials run on other data, folds or
    fixed parameters are not comparable, so best.json would pick among apples
    and oranges. Refusing (rather than silently starting a second study) keeps
    one name, one meaning; the message names the differing settings and the
    fix (the same settings, or another ``--study-name``).
    """
    recorded = study.user_attrs.get(SETTINGS_ATTR)
    if recorded is None:
        study.set_user_attr(SETTINGS_ATTR, settings)
        recorded = study.user_attrs.get(SETTINGS_ATTR, settings)   # another worker may have been first
    if recorded == settings:
        return
    keys = sorted(set(recorded) | set(settings))
    differ = [k for k in keys if recorded.get(k) != settings.get(k) and k != "params"]
    old, new = recorded.get("params", {}), settings.get("params", {})
    differ += [f"--param {k}" for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
    detail = "; ".join(_setting_change(k, recorded, settings) for k in differ)
    raise ValueError(f"study {study.study_name!r} holds trials of other fixed settings ({detail}): its trials would "
                     "be ranked together; rerun with the study's settings, or give another --study-name")


def _setting_change(key, recorded, settings) -> str:
    if key.startswith("--param "):
        name = key[len("--param "):]
        before, after = recorded.get("params", {}).get(name, "<unset>"), settings.get("params", {}).get(name, "<unset>")
    else:
        before, after = recorded.get(key), settings.get(key)
    return f"{key}: {before!r} in the study, {after!r} now"


def _worker(args, index=0):
    """One worker: open the storage, load the study and data, run trials. Returns #new trials."""
    if args.workers > 1:
        import torch

        torch.set_num_threads(max(1, (os.cpu_count() or 1) // args.workers))
    import optuna

    optuna.logging.set_verbosity(optuna.logging.INFO if args.verbose else optuna.logging.WARNING)
    storage = make_storage(_storage_url(args), heartbeat_interval=args.heartbeat_interval,
                           grace_period=args.grace_period, max_retry=args.max_retry)
    seed = None if args.seed is None else args.seed + index
    study = create_study(storage, args.study_name, seed=seed)
    X, y = load_benchmark_data(args.data, args.subset, args.sample,
                               0 if args.seed is None else args.seed, columns=data_options(args).get("columns"))
    _check_enough_threads(X, args)
    estimator = SearchableClassifier(**_fixed_params(args))
    try:
        with interrupt_leaves_trial_running():
            search = run_search(X, y, study=study, estimator=estimator,
                                param_distributions=default_search_space(args.finetune_layers),
                                n_trials=args.n_trials, max_trials=args.max_trials, cv=args.folds,
                                scoring=args.scoring, timeout=args.timeout, verbose=args.verbose)
    except SystemExit:
        print(f"worker {index} interrupted: its running trial will be retried once its heartbeat "
              f"is older than the grace period, by the next worker that starts a trial "
              f"(run the same command again to resume)", file=sys.stderr, flush=True)
        raise
    new = 0 if search is None else search.worker_trials_
    if not args.quiet:
        print(f"worker {index}: {'no trial run (max trials reached)' if search is None else f'{new} new trial(s)'}; "
              f"study {args.study_name!r} has {n_complete(study)} complete trial(s)", flush=True)
    return new


def _check_enough_threads(X, args) -> None:
    """Each of the folds needs threads of its own: fewer threads than folds fails every trial, silently."""
    n_threads = len(np.unique(X["thread_id"].to_numpy()))
    if n_threads < args.folds:
        where = f"the sample of --sample {args.sample}" if args.sample else "the data"
        raise ValueError(f"--folds {args.folds} needs at least {args.folds} threads, and {where} holds "
                         f"{n_threads}: give fewer folds or more threads (every trial would fail)")


def _worker_entry(args, index):
    try:
        _worker(args, index)
    except KeyboardInterrupt:  # pragma: no cover
        pass
    except (ValueError, OSError, ImportError) as exc:   # one line per worker, as the command's own errors
        print(f"worker {index}: error: {' '.join(str(exc).split())}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.n_trials is None and args.max_trials is None and args.timeout is None:
        args.max_trials = 50
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    import optuna

    optuna.logging.set_verbosity(optuna.logging.INFO if args.verbose else optuna.logging.WARNING)
    started = time.perf_counter()
    # The fixed settings are checked before any study or trial: a bad one would fail every trial.
    fixed = SearchableClassifier(**_fixed_params(args))
    fixed._check_params()
    fixed._check_param_names()
    fixed._load_pretrained_models()
    fixed._check_pretrained_limits()
    # Create the schema and the study once, before any worker starts.
    storage = make_storage(_storage_url(args), heartbeat_interval=args.heartbeat_interval,
                           grace_period=args.grace_period, max_retry=args.max_retry)
    study = create_study(storage, args.study_name, seed=args.seed)
    check_study_settings(study, _study_settings(args))
    if not args.quiet:
        print(f"study {args.study_name!r} at {_safe_url(_storage_url(args))}: {len(study.trials)} trial(s) so "
              f"far, {n_complete(study)} complete", flush=True)
    if args.workers == 1:
        _worker(args, 0)
    else:
        context = multiprocessing.get_context("spawn")
        processes = [context.Process(target=_worker_entry, args=(args, i)) for i in range(args.workers)]
        for p in processes:
            p.start()
        try:
            for p in processes:
                p.join()
        except KeyboardInterrupt:
            for p in processes:
                p.join()
            return 130
        failed = [p.exitcode for p in processes if p.exitcode]
        if failed:
            print(f"warning: {len(failed)} worker(s) exited with codes {failed}", file=sys.stderr)

    study = create_study(storage, args.study_name)
    report = study_report(study)
    X, y = load_benchmark_data(args.data, args.subset, args.sample,
                               0 if args.seed is None else args.seed, columns=data_options(args).get("columns"))
    # The figure to beat: F1 of calling every sentence of the searched data a cause.
    report["every_sentence_a_cause_f1"] = cause_metrics(y, np.ones_like(y))["f1"]
    if args.save_model and "best_params" in report:
        params = {**_fixed_params(args), **estimator_params(report["best_params"])}
        model = EmpathyCauseClassifier(**params).fit(X, y)
        model.save(args.save_model)
        report["saved_model"] = str(args.save_model)
    report.update({"storage": _safe_url(_storage_url(args)),
                   "data": str(args.data), "subset": args.subset, "sample": args.sample,
                   "folds": args.folds, "scoring": args.scoring,
                   "fixed_params": jsonable(_fixed_params(args)),
                   "seconds": time.perf_counter() - started})
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    # Strict JSON: a failed trial's value (NaN) is null.
    (out / "best.json").write_text(json.dumps(jsonable(report), indent=2, allow_nan=False))
    if "best_params" in report:
        print(f"best score {report['best_score']:.4f} (trial {report['best_trial']}): "
              f"{json.dumps(report['best_estimator_params'])}")
    else:
        print("no complete trial yet")
    print(f"every_sentence_a_cause_f1 {report['every_sentence_a_cause_f1']:.4f} (the F1 of calling every "
          "sentence a cause: the figure an F1 score must beat)")
    print(f"wrote {out / 'best.json'}")
    if report.get("states") and set(report["states"]) == {"FAIL"}:
        raise ValueError(f"every trial of study {args.study_name!r} failed ({report['states']['FAIL']}; the warnings "
                         "above say why): fix the cause and run the command again")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
