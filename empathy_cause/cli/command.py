"""The empathy-cause command: find which sentences of a post caused the empathy in a reply.

demo trains on the built-in set and shows the causes it finds; train, predict
and evaluate work on your data and model folders; analyze writes the dataset
report; benchmark and search run the paper's experiments (their options live
in empathy_cause.benchmarks). Every command takes -h for its options.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np

from ..data.chunking import DEFAULT_CHUNK_PAIRS
from .args import (
    add_data_arguments,
    add_param_argument,
    add_random_state_argument,
    at_least,
    data_options,
    estimator_params_from_args,
)
from .outputs import (
    atomic_output,
    atomic_outputs_into,
    check_paths,
    check_stop,
    guard_csv_cell,
    handle_termination,
    interrupted_status,
)

__all__ = ["main"]

# Idle OpenMP threads sleep instead of spinning: on a machine shared with other
# jobs, spinning made small torch steps several times slower (set before torch loads).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

#: The sentence-vector cache of a streaming predict or evaluate (64 MB: about 44,000 MiniLM vectors).
STREAMING_CACHE_BYTES = 64 * 2**20

#: The benchmarks ``empathy-cause benchmark NAME`` runs, with what each reproduces.
BENCHMARKS = {
    "ablation": "the paper's Table 3: losses, pooling and architecture of the co-attention network",
    "followups": "follow-up experiments with the ablation's protocol",
    "compare": "the paper's Table 4: co-attention vs few-shot prompting, question answering and dummies",
    "learning-curve": "every model beside its baselines at 50, 150, 500, 1500 and all training pairs, "
                      "in each regime",
    "quality": "the default estimator in three regimes (conversations in and across corpora, forum posts), beside "
               "six reference baselines",
    "speed": "fit and predict time as a ratio to the encoder's floor (the bare encoder, each sentence once), "
             "peak memory, growth with the rows (--growth), one-post latency, and streaming predict at 10k-1M rows",
}


def _source(args, *, needs_labels: bool) -> dict:
    """The reader's options for ``--data``, its format checked before any model loads (labels too, if needed)."""
    import glob

    from ..data import find_format

    # predict --scheduler takes a glob: its files are checked one by one by the Dask reader; the first names the format.
    pattern = glob.has_magic(args.data) and not Path(args.data).exists()  # a file may have [ ] in its name
    matched = sorted(glob.glob(args.data)) if pattern else [args.data]
    if len(matched) != 1 and not getattr(args, "scheduler", None):
        raise ValueError(f"--data {args.data} is a pattern ({len(matched)} files match): {args.command} reads one "
                         "input; give one file, or score many on a Dask cluster with predict --scheduler ADDRESS")
    fmt = find_format(matched[0] if matched else args.data)
    options = data_options(args)
    fmt.check_options(args.data, options)
    if args.command == "predict" and not args.html and "columns" in fmt.options:
        # Scores need no labels (only the HTML view shows them): a partly labelled file predicts as well.
        options["columns"] = {**options.get("columns", {}), "labels": None}
    if needs_labels and not fmt.labelled(args.data, **options):
        raise ValueError(f"{args.data} has no labels (a 'labels' column, or yours named with --columns "
                         f"labels=COLUMN): {args.command} needs the true labels"
                         + (" (predict reads unlabelled files)" if args.command == "evaluate" else ""))
    return options


def _load(args):
    """The whole labelled dataset (train and analyze need the labels)."""
    from ..data import load_dataset

    return load_dataset(args.data, **_source(args, needs_labels=True))


def _estimator_params(args, base=None) -> dict:
    """``base``, then the named options given, then every ``--param``; verbose unless --quiet."""
    return {**(base or {}), "verbose": 0 if args.quiet else 1,
            **estimator_params_from_args(args, ("encoder", "max_epochs", "random_state"))}


def _common_args(parser, *, trains=True, metrics=True):
    """The options every command that trains or predicts takes: --param, --quiet and (with metrics) --json."""
    add_param_argument(parser, "any EmpathyCauseClassifier parameter, e.g. --param loss=ce" if trains else
                       "override a runtime setting of the saved model (not one it was trained with), "
                       "e.g. --param threshold=0.4 or --param device=cuda")
    parser.add_argument("--quiet", "-q", action="store_true",
                        help=("no epoch table or progress bar" if trains else "no progress bar")
                        + " (progress bars are shown only when standard error is a terminal)")
    if metrics:
        parser.add_argument("--json", action="store_true",
                            help="print the metrics as one JSON object on standard output, everything else "
                                 "on standard error (default: one readable line)")


def _model_args(parser, max_epochs):
    parser.add_argument("--encoder", default=None, help="encoder folder or local HF name (default: embedded MiniLM)")
    parser.add_argument("--max-epochs", type=int, default=None, help=f"training epochs at most (default: {max_epochs})")
    add_random_state_argument(parser, help="seed of the model's weights, batches and validation split")
    _common_args(parser)


def _print_metrics(args, metrics: dict, **facts) -> None:
    """The one way every command prints metrics: a readable line, or JSON with --json."""
    if getattr(args, "json", False):
        # Strict JSON: a metric that is undefined here (ROC AUC with one class) is null, never NaN.
        values = {k: None if isinstance(v, float) and not np.isfinite(v) else v
                  for k, v in {**facts, **metrics}.items()}
        print(json.dumps(values, indent=2, allow_nan=False), file=args.stdout, flush=True)
        return
    print("  ".join(f"{name} {value:.4f}" if isinstance(value, float) else f"{name} {value}"
                    for name, value in {**metrics, **facts}.items()), flush=True)


# ----------------------------------------------------------------- commands

def cmd_demo(args) -> int:
    from .. import EmpathyCauseClassifier, ThreadShuffleSplit, load_demo
    from ..metrics import cause_metrics
    from ..prediction.visualize import plot_attention, render_html

    X, y, groups = load_demo()
    train, test = next(ThreadShuffleSplit(test_size=0.25, random_state=args.random_state).split(X))
    # The defaults: on 30 training pairs they cross-fit the epoch and the threshold (validation_fraction="auto").
    params = _estimator_params(args, {})
    print(f"Training on {len(train)} sentences of the built-in demo set "
          f"({len(np.unique(groups[train]))} threads); showing {len(np.unique(groups[test]))} held-out threads.")
    clf = EmpathyCauseClassifier(**params).fit(X.iloc[train], y[train])
    X_test, y_test = X.iloc[test].reset_index(drop=True), y[test]
    proba = clf.predict_proba(X_test)[:, 1]
    predicted = (proba >= clf.decision_threshold()).astype(int)
    print(f"\n[CAUSE] marks a sentence whose cause probability (the number after it) is at least "
          f"{clf.decision_threshold():g}, the decision threshold; (true cause) marks the gold labels.")
    for pair_id, rows in X_test.groupby("pair_id", sort=False).indices.items():
        print(f"\n== {pair_id}")
        for row in rows:
            sentence = X_test["post"].iat[row][X_test["sentence_index"].iat[row]]
            mark = "[CAUSE]" if predicted[row] else "       "
            gold = " (true cause)" if y_test[row] else ""
            print(textwrap.fill(f"{mark} {proba[row]:.2f}  {sentence}{gold}", width=100,
                                subsequent_indent=" " * 14))
        print(textwrap.fill(f"  Reply: {X_test['reply'].iat[rows[0]]}", width=100, subsequent_indent="    "))
    print("\n" + textwrap.fill("Held-out metrics of the cause class. every_sentence_a_cause_f1 is the F1 of "
                              "calling every held-out sentence a cause, the figure to beat (the demo set is "
                              "tiny: README has results on RECCON).", width=100))
    _print_metrics(args, cause_metrics(y_test, predicted, proba), n_sentences=len(y_test),
                   threshold=clf.decision_threshold())
    out = Path(args.out)
    first = X_test.iloc[0]
    _, attention = clf.explain(first["post"], first["reply"])
    with atomic_outputs_into(out) as folder:
        render_html(X_test, proba, folder / "causes.html", y=y_test, threshold=clf.decision_threshold(),
                    title="empathy-cause demo: held-out threads")
        plot_attention(attention, folder / "attention.png", title=f"pair {first['pair_id']}")
    print(f"\nView: {out / 'causes.html'} (sentences shaded by cause probability), {out / 'attention.png'}")
    return 0


def cmd_train(args) -> int:
    from .. import EmpathyCauseClassifier
    from ..metrics import cause_metrics
    from ..network.model_files import check_model_target

    check_model_target(args.model)  # refuse a folder save() would refuse before training, not after
    X, y, _ = _load(args)
    clf = EmpathyCauseClassifier(**_estimator_params(args)).fit(X, y)
    if clf.interrupted_:
        # skorch stops training on Ctrl-C (and on SIGTERM, raised as an interrupt) and fit returns:
        # never report that as a success.
        if not args.keep_partial:
            print(f"empathy-cause train: interrupted after {len(clf.history)} epoch(s); no model saved "
                  "(--keep-partial saves the partial model)", file=sys.stderr)
            return interrupted_status()
        path = clf.save(args.model)
        print(f"empathy-cause train: interrupted after {len(clf.history)} epoch(s); partial model saved to "
              f"{path} (its config.json says \"partial\": true)", file=sys.stderr)
        return interrupted_status()
    check_stop()
    path = clf.save(args.model)
    proba = clf.predict_proba(X)[:, 1]
    print(f"Trained on {len(X)} sentences ({len(clf.history)} epochs); saved to {path}")
    print("Training-set metrics (cause class):")
    _print_metrics(args, cause_metrics(y, (proba >= clf.decision_threshold()).astype(int), proba),
                   n_sentences=len(y), epochs=len(clf.history), threshold=clf.decision_threshold())
    return 0


def _load_model(args):
    """The model folder, loaded by the class it records, with --param overrides."""
    from ..prediction.job import load_model_folder

    return load_model_folder(args.model, **dict(args.param))


def _scored_chunks(args, clf, options):
    """Yield ``(X, y, prediction table)`` per chunk of whole pairs: memory bounded by the chunk, not the input."""
    from tqdm.auto import tqdm

    from ..data import iter_dataset
    from ..encoders import embedding_cache, set_embedding_cache_size, token_cache
    from ..network.callbacks import progress_wanted
    from ..prediction.job import score_chunk

    # One pass over the input: a sentence is rarely met again after its chunk (only where a thread's pairs
    # straddle a chunk's end), so while it streams this process keeps few sentence vectors and no token
    # states, and its memory stays flat whatever the input's size (200k rows: 1.25 GB with the library's
    # default caches, under 1 GB with these). The bounds are restored when the stream ends.
    previous = embedding_cache.max_bytes, token_cache.max_bytes
    set_embedding_cache_size(STREAMING_CACHE_BYTES, token_bytes=0)
    # A bar over the rows scored, on a terminal only (a log file gets no bar: callbacks.progress_wanted).
    try:
        with tqdm(desc=f"empathy-cause {args.command}", unit=" rows", leave=False,
                  disable=not progress_wanted(not args.quiet)) as bar:
            for X, y, _ in iter_dataset(args.data, chunk_pairs=args.chunk_pairs, **options):
                table = score_chunk(clf, X, keep_columns=getattr(args, "keep_columns", None))
                bar.update(len(X))
                yield X, y, table
    finally:
        set_embedding_cache_size(*previous)


def _guard_cells(table, raw_text: bool):
    """CSV injection: unless --raw-text, text a spreadsheet would run as a formula gets a leading '."""
    from pandas.api.types import is_numeric_dtype

    if not raw_text:
        for column in table.columns:
            if not is_numeric_dtype(table[column].dtype):  # every text column: ids, sentence, kept ones
                table[column] = table[column].map(guard_csv_cell)
    return table


def _predict_on_cluster(args) -> int:
    """``predict --scheduler``: the workers read ``--data``; one CSV file per partition, in input order."""
    from ..prediction.distributed import _require, connect, predict_table_dask, read_dask_frame, to_dask_frame

    if args.html:
        raise ValueError("--html needs every row in one process: leave it out with --scheduler")
    if not args.out:
        raise ValueError("--scheduler writes a folder of part-*.csv files: give it with --out FOLDER")
    out = Path(args.out)
    if out.exists():
        raise FileExistsError(f"{out} exists: give --out a new folder for the part-*.csv files")
    _require()  # the extra is missing: one line naming it

    options = _source(args, needs_labels=False)
    with connect(args.scheduler) as client:   # a silent or foreign server: one line, in bounded time
        clf = _load_model(args)  # checked here, then shipped to every worker once
        if args.data == "demo":  # the built-in set is small: loaded here, sent in partitions of whole pairs
            X = to_dask_frame(_load(args)[0], chunk_pairs=args.chunk_pairs)
        else:  # read by the workers: the files must be at this path on every worker
            X = read_dask_frame(args.data, **options)
        table = predict_table_dask(clf, X, client=client, keep_columns=args.keep_columns)
        table = table.map_partitions(_guard_cells, args.raw_text)
        # Written into a temporary folder, moved into --out when every part is in (outputs.py).
        with atomic_outputs_into(out, protected=_inputs(args)) as folder:
            files = table.to_csv(str(Path(folder) / "part-*.csv"), name_function=lambda i: f"{i:05d}",
                                 index=False)
    print(f"Wrote {len(files)} part files (input order) to {out}")
    return 0


def cmd_predict(args) -> int:
    import pandas as pd

    from ..prediction.visualize import render_html

    if args.scheduler:
        return _predict_on_cluster(args)
    options = _source(args, needs_labels=False)
    clf = _load_model(args)
    n_rows, kept = 0, []
    with contextlib.ExitStack() as files:
        # Written under a temporary name and renamed onto --out only when every row is in (outputs.py).
        out = (files.enter_context(open(files.enter_context(atomic_output(args.out, keep_partial=args.keep_partial)),
                                        "w", encoding="utf-8", newline=""))
               if args.out else sys.stdout)
        for X, y, table in _scored_chunks(args, clf, options):
            # One write per chunk: an interrupt lands between rows, never inside one.
            out.write(_guard_cells(table.copy(), args.raw_text).to_csv(index=False, header=n_rows == 0,
                                                                      lineterminator="\n"))
            out.flush()
            check_stop()
            n_rows += len(table)
            if args.html:  # the HTML view shows every row, so it keeps them all
                kept.append((X, y, table["probability"].to_numpy()))
        if args.html:
            X = pd.concat([k[0] for k in kept], ignore_index=True)
            y = None if kept[0][1] is None else np.concatenate([k[1] for k in kept])
            render_html(X, np.concatenate([k[2] for k in kept]), files.enter_context(atomic_output(args.html)),
                        y=y, threshold=clf.decision_threshold())
    if args.out:
        print(f"Wrote {n_rows} predictions to {args.out}")
    if args.html:
        print(f"Wrote {args.html}", file=sys.stderr)
    return 0


def cmd_evaluate(args) -> int:
    import pandas as pd

    from ..metrics import cause_metrics

    options = _source(args, needs_labels=True)
    clf = _load_model(args)
    ys, tables = [], []
    for _, y, table in _scored_chunks(args, clf, options):
        ys.append(y)
        tables.append(table[["probability", "prediction"]])
    y, scored = np.concatenate(ys), pd.concat(tables, ignore_index=True)
    metrics = cause_metrics(y, scored["prediction"].to_numpy(), scored["probability"].to_numpy())
    _print_metrics(args, metrics, n_sentences=len(y), threshold=clf.decision_threshold())
    return 0


def cmd_analyze(args) -> int:
    from ..analysis import write_report

    X, y, _ = _load(args)
    with atomic_outputs_into(args.out, protected=_inputs(args)) as folder:
        write_report(X, y, folder)
    print(f"Wrote {Path(args.out) / 'report.md'}")
    return 0


def _delegate(module_name: str, argv) -> int:
    module = importlib.import_module(f"empathy_cause.benchmarks.{module_name.replace('-', '_')}")
    return module.main(argv) or 0


def _benchmark_usage() -> str:
    width = max(map(len, BENCHMARKS))
    lines = [f"  {name:<{width}}  {text}" for name, text in BENCHMARKS.items()]
    return ("usage: empathy-cause benchmark NAME [options]\n\nRun one of the paper's experiments "
            "(writes a table, JSON and plots under results/):\n\n" + "\n".join(lines)
            + "\n\nEach takes -h for its options, e.g. empathy-cause benchmark compare -h\n")


def _run_benchmark(args) -> int:
    if not args.rest or args.rest[0] in ("-h", "--help"):
        print(_benchmark_usage(), end="")
        return 0
    name, rest = args.rest[0], args.rest[1:]
    if name not in BENCHMARKS:
        print(_benchmark_usage(), end="", file=sys.stderr)
        print(f"empathy-cause benchmark: error: unknown benchmark {name!r}", file=sys.stderr)
        return 2
    return _delegate(name, rest)


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = argparse.ArgumentParser(prog="empathy-cause", description=__doc__.split("\n\n")[0],
                                     epilog=__doc__.split("\n\n")[1])
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name, text, **kwargs):
        return commands.add_parser(name, help=text, description=f"{text[:1].upper()}{text[1:]}.", **kwargs)

    from ..network.classifier import EmpathyCauseClassifier

    demo = command("demo", "train on the built-in demo set and show the causes found")
    _model_args(demo, f"{EmpathyCauseClassifier().max_epochs}, the epoch chosen by cross-fitting")
    demo.add_argument("--out", default="empathy-cause-demo",
                      help="folder for the HTML view and heatmap (default: empathy-cause-demo)")
    demo.set_defaults(func=cmd_demo, reads=("encoder",), folders=("out",))

    train = command("train", "train on labelled data and save the model folder")
    add_data_arguments(train)
    _model_args(train, f"{EmpathyCauseClassifier().max_epochs}, with early stopping")
    train.add_argument("--model", required=True, help="output model folder")
    train.add_argument("--keep-partial", action="store_true",
                       help="on Ctrl-C, save the partly trained model (marked partial) instead of nothing")
    train.set_defaults(func=cmd_train, reads=("data", "encoder"), folders=("model",))

    for name, func, text in (("predict", cmd_predict, "cause probabilities for every post sentence"),
                             ("evaluate", cmd_evaluate, "the paper's metrics on labelled data")):
        sub = command(name, text)
        add_data_arguments(sub)
        sub.add_argument("--model", required=True, help="model folder written by train")
        sub.add_argument("--chunk-pairs", type=at_least(1), default=DEFAULT_CHUNK_PAIRS,
                         help="pairs read and predicted at a time; memory depends on this, not on the "
                              "input size (files of pairs are read chunk by chunk; the corpora are loaded whole, then "
                              "cut) (default: %(default)s)")
        _common_args(sub, trains=False, metrics=name == "evaluate")
        if name == "predict":
            sub.add_argument("--out", help="CSV file, written whole or not at all; - or none: standard output")
            sub.add_argument("--html", help="also write an HTML view with causes highlighted, each post named by "
                                            "its pair id")
            sub.add_argument("--keep-columns", type=_keep_columns, default=None, metavar="COL,COL|all",
                             help="input columns to copy into the output beside pair_id and thread_id (always "
                                  "there), e.g. --keep-columns title,url, or 'all' for every other column "
                                  "(default: none, so merging the output back onto your file adds no _x/_y "
                                  "duplicates)")
            sub.add_argument("--keep-partial", action="store_true",
                             help="if the run stops early, keep the rows written so far as NAME.partial.csv "
                                  "(default: nothing is left at --out)")
            sub.add_argument("--raw-text", action="store_true",
                             help="write text cells verbatim; by default text starting with = + - @ or ' gets "
                                  "a leading ' so that spreadsheets do not run it as a formula")
            sub.add_argument("--scheduler", metavar="ADDRESS",
                             help="score on the Dask cluster at ADDRESS (e.g. tcp://host:8786; needs the "
                                  "distributed extra): the workers read --data (a file, folder or glob at the "
                                  "same path on every worker) and write --out, a new folder on storage they "
                                  "share, as part-*.csv files in input order")
        sub.set_defaults(func=func, reads=("data", "model"), writes=("out", "html"), model_read="model")

    analyze = command("analyze", "the paper's dataset analyses as a Markdown report")
    add_data_arguments(analyze)
    analyze.add_argument("--out", required=True, help="output folder")
    analyze.set_defaults(func=cmd_analyze, reads=("data",), folders=("out",))

    # prefix_chars="+": "-h" and every option go to _run_benchmark and the benchmark's own parser.
    benchmark = command("benchmark", f"run a benchmark: {', '.join(BENCHMARKS)}",
                                    add_help=False, prefix_chars="+")
    benchmark.add_argument("rest", nargs=argparse.REMAINDER)
    benchmark.set_defaults(func=_run_benchmark)

    # prefix_chars="+": every option after "search" goes to the search's own parser.
    search = command("search", "Optuna hyperparameter search (resumable)", add_help=False,
                                 prefix_chars="+")
    search.add_argument("rest", nargs=argparse.REMAINDER)
    search.set_defaults(func=lambda a: _delegate("search", a.rest))
    return parser


def _keep_columns(text):
    """``--keep-columns``: ``all``, or column names separated by commas."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    return "all" if names == ["all"] else names


def _option(args, name):
    value = getattr(args, name, None)
    return None if value is None or (name == "data" and value == "demo") else (f"--{name.replace('_', '-')}", value)


def _inputs(args):
    return [pair for pair in (_option(args, n) for n in getattr(args, "reads", ())) if pair]


def _check_paths(args) -> None:
    """Before any work: no output may be an input, lie inside the model folder read, or be written twice."""
    if getattr(args, "scheduler", None):  # predict --scheduler: --out is a folder of part files
        args.writes, args.folders = ("html",), ("out",)
    model = getattr(args, "model_read", None)
    check_paths(_inputs(args), [o for o in (_option(args, n) for n in getattr(args, "writes", ())) if o],
                model=_option(args, model) if model else None,
                folders=[o for o in (_option(args, n) for n in getattr(args, "folders", ())) if o])


def _check_stdout_dash(args) -> None:
    """``--out -`` is standard output for predict's CSV (as for most Unix tools); anywhere else it is refused."""
    for name in ("out", "html"):
        if getattr(args, name, None) != "-":
            continue
        if args.command == "predict" and name == "out" and not getattr(args, "scheduler", None):
            args.out = None   # the default: the CSV goes to standard output
            continue
        what = ("a folder of part files" if name == "out" and args.command == "predict" else
                "an HTML file" if name == "html" else "a folder")
        raise ValueError(f"--{name} - (standard output) cannot be used here: {args.command} writes {what} there; "
                         "give a path")


def _note_demo_folder(args) -> None:
    """``--data demo`` is the built-in set even where a ./demo exists: say so (the data options are checked by
    ``_source`` before any model loads)."""
    if getattr(args, "data", None) == "demo" and Path("demo").exists():
        print(f"empathy-cause {args.command}: note: --data demo is the built-in demo set, not the ./demo here; "
              "give --data ./demo for that", file=sys.stderr)


def _warning_line(command):
    """Show a warning as the command's errors are shown: one line, no source file and line number."""
    def show(message, category, filename, lineno, file=None, line=None):
        print(f"empathy-cause {command}: warning: {' '.join(str(message).split())}", file=sys.stderr)
    return show


def main(argv=None) -> int:
    import signal
    import threading

    args = build_parser().parse_args(argv)
    args.stdout = sys.stdout
    # SIGTERM and SIGHUP stop a run the way Ctrl-C does, so outputs are cleaned up (only the main thread
    # can set handlers; the previous ones come back when main returns).
    previous = handle_termination() if threading.current_thread() is threading.main_thread() else {}
    try:
        _check_stdout_dash(args)
        _note_demo_folder(args)
        _check_paths(args)
        # With --json, standard output carries the JSON alone; the epoch table and notes go to standard error.
        with contextlib.redirect_stdout(sys.stderr) if getattr(args, "json", False) else contextlib.nullcontext(), \
                warnings.catch_warnings():
            warnings.showwarning = _warning_line(args.command)  # catch_warnings restores it
            status = args.func(args)
        check_stop()  # a stop signal whose exception was lost still ends the run as interrupted
        return status
    except KeyboardInterrupt:
        # Outside training (loading, encoding, saving): nothing was written (outputs and save are atomic).
        print(f"empathy-cause {args.command}: interrupted", file=sys.stderr)
        return interrupted_status()
    except BrokenPipeError:
        # The reader of standard output went away (`| head`): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    except ImportError as exc:
        # A missing optional extra: one line that names the pip command.
        print(f"empathy-cause {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except (ValueError, TypeError, OSError) as exc:
        # Bad input: one clear line, not a stack trace.
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"empathy-cause {args.command}: error: {message}", file=sys.stderr)
        return 2
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


if __name__ == "__main__":
    sys.exit(main())
