"""Files the ``empathy-cause`` command writes: complete or absent, and never over one of its inputs.

Every output file is written under a temporary name beside its target
(``.NAME.tmp-XXXXXXXX.SUFFIX``: same folder, so the final rename is atomic,
and same suffix, so writers that pick a format from it still do) and renamed
onto the target only once it is complete. A target that is a stream rather
than a file (``/dev/stdout``, ``/dev/null``, a FIFO) is written directly. A run that fails, is interrupted
(Ctrl-C, SIGTERM, SIGHUP) or hits a full disk removes its temporary file and
leaves the target as it was; with ``keep_partial`` the incomplete file is kept
as ``NAME.partial.SUFFIX`` instead, a name that says what it is. A run killed
outright (SIGKILL, power loss) cannot clean up, but still never leaves an
incomplete file at the target: only a hidden ``.NAME.tmp-*`` beside it.

:func:`check_paths` refuses, before any work, an output that is one of the
inputs (symlinks resolved, hard links compared by inode), lies inside the
model folder being read, is a folder, or is written twice.
"""

from __future__ import annotations

import contextlib
import os
import signal
import uuid
from pathlib import Path

__all__ = ["atomic_output", "atomic_outputs_into", "check_paths", "partial_name", "guard_csv_cell",
           "Terminated", "handle_termination", "check_stop", "interrupted_status"]

#: What a spreadsheet reads as the start of a formula (OWASP's list), and the quote itself
#: (so the guard can be undone: drop one leading quote from a cell that starts with one).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")

#: The signals that end a run the way Ctrl-C does (exit status 128 + the signal's number).
_STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised like Ctrl-C so that cleanup (and skorch's stop on interrupt) runs."""

    def __init__(self, signum):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


_received = []  # the stop signals received since handle_termination, in order


def handle_termination():
    """Raise :class:`Terminated` on SIGTERM and SIGHUP (KeyboardInterrupt on Ctrl-C) in the main thread.

    Returns the previous handlers. :func:`interrupted_status` then gives the
    exit status for the signal that stopped the run.
    """
    def stop(signum, frame):
        _received.append(signum)
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise Terminated(signum)

    _received.clear()
    return {signum: signal.signal(signum, stop) for signum in _STOP_SIGNALS}


def check_stop() -> None:
    """Raise again for a stop signal received since :func:`handle_termination`.

    The exception a signal handler raises can be lost: CPython drops it when
    the handler happens to run inside a C call that clears errors (a dict
    lookup calling ``__eq__``, say). Commits call this, so a run that was asked
    to stop never renames its output into place.
    """
    if _received:
        if _received[-1] == signal.SIGINT:
            raise KeyboardInterrupt
        raise Terminated(_received[-1])


def interrupted_status() -> int:
    """128 + the number of the last stop signal received (130, Ctrl-C's, when none was recorded)."""
    return 128 + (_received[-1] if _received else signal.SIGINT)


@contextlib.contextmanager
def _signals_deferred():
    """Hold stop signals while a file is renamed or removed, so that cleanup itself is never cut short."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def partial_name(target) -> Path:
    """``out/preds.csv`` -> ``out/preds.partial.csv``: where ``keep_partial`` leaves an incomplete output."""
    target = Path(target)
    return target.with_name(f"{target.stem}.partial{target.suffix}")


def _temporary_beside(target: Path) -> Path:
    return target.with_name(f".{target.stem}.tmp-{uuid.uuid4().hex[:8]}{target.suffix}")


def _real(path) -> Path:
    """The path with every symlink resolved (the target itself need not exist)."""
    return Path(path).expanduser().resolve()


@contextlib.contextmanager
def atomic_output(target, *, keep_partial=False):
    """Yield a temporary path to write ``target``'s content to; rename it onto ``target`` when the block ends.

    The target is resolved first, so writing through a symlink replaces the
    file it points to and keeps the link. When the block raises (any
    exception, Ctrl-C and :class:`Terminated` included) the temporary file is
    removed, or renamed to :func:`partial_name` with ``keep_partial``, and the
    exception propagates; ``target`` is untouched either way.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_output(folder / "out.txt") as tmp:
    ...     _ = tmp.write_text("done")
    >>> sorted(p.name for p in folder.iterdir())
    ['out.txt']
    """
    target = _real(target)
    if target.exists() and not target.is_file() and not target.is_dir():
        # /dev/stdout, /dev/null, a FIFO: a stream, not a file that could be left half-written. Writing
        # beside it would create files in /dev and rename one over the device node.
        yield target
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = _temporary_beside(target)
    try:
        yield temporary
        with _signals_deferred():
            check_stop()
            os.replace(temporary, target)
    except BaseException:
        with _signals_deferred():
            if keep_partial and temporary.exists():
                os.replace(temporary, partial_name(target))
            else:
                with contextlib.suppress(FileNotFoundError):
                    temporary.unlink()
        raise


@contextlib.contextmanager
def atomic_outputs_into(folder, *, protected=()):
    """Yield a temporary folder beside ``folder``; move each file written there into ``folder`` when done.

    For commands that write several files into one output folder (``demo``,
    ``analyze``): every file appears complete or not at all, and the files of
    a failed run never appear. ``protected`` are paths (the inputs) that no
    file may replace: they are checked for every file before any is moved.
    """
    import shutil

    folder = _real(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    temporary = folder.with_name(f".{folder.name}.tmp-{uuid.uuid4().hex[:8]}")
    temporary.mkdir()
    try:
        yield temporary
        files = sorted(p for p in temporary.rglob("*") if p.is_file())
        targets = [folder / p.relative_to(temporary) for p in files]
        for target in targets:
            _refuse_clash(target, protected, "an output file")
            if target.is_dir():
                raise IsADirectoryError(f"{target} is a folder; the output file cannot replace it")
        with _signals_deferred():
            check_stop()
            for file, target in zip(files, targets, strict=True):
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(file, target)
    finally:
        with _signals_deferred():
            shutil.rmtree(temporary, ignore_errors=True)


def _same(a: Path, b: Path) -> bool:
    if _real(a) == _real(b):
        return True
    try:
        return os.path.samefile(a, b)  # hard links
    except OSError:
        return False


def _inside(path: Path, folder: Path) -> bool:
    return _real(folder) in _real(path).parents


def _refuse_clash(output: Path, protected, what: str) -> None:
    for name, path in protected:
        if _same(output, path):
            raise ValueError(f"{what} {output} is the input {name} {path}; write it elsewhere")


def check_paths(inputs, outputs, *, model=None, folders=()):
    """Refuse outputs that would overwrite an input, before anything runs.

    Parameters
    ----------
    inputs : iterable of (option, path)
        What the command reads (``--data``, ``--model``, ``--encoder``); None paths are skipped.
    outputs : iterable of (option, path)
        Output files; None paths are skipped.
    model : (option, path), optional
        A model folder that is read: no output may lie inside it.
    folders : iterable of (option, path)
        Output folders (``train --model``, ``analyze --out``): they may not be an input either.

    Raises
    ------
    ValueError
        One line naming both options and paths.
    """
    inputs = [(name, Path(p)) for name, p in inputs if p is not None]
    outputs = [(name, Path(p)) for name, p in outputs if p is not None]
    seen = []
    for name, path in outputs:
        _refuse_clash(path, inputs, name)
        if model is not None and model[1] is not None and _inside(path, Path(model[1])):
            raise ValueError(f"{name} {path} is inside the model folder {model[0]} {model[1]}; write it elsewhere")
        if path.is_dir():
            raise ValueError(f"{name} {path} is a folder; give a file name")
        for other_name, other in seen:
            if _same(path, other):
                raise ValueError(f"{name} and {other_name} are the same file ({path}); give each its own")
        seen.append((name, path))
    for name, path in folders:
        if path is not None:
            _refuse_clash(Path(path), inputs, name)
            if Path(path).exists() and not Path(path).is_dir():
                raise ValueError(f"{name} {path} is a file; give a folder")


def guard_csv_cell(value):
    """A text cell made safe for spreadsheets (CSV injection): a leading ``'`` before a formula start.

    Text beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
    (the characters OWASP lists) is prefixed with a single quote, so a
    spreadsheet shows it as text instead of running it; text that already
    begins with a quote gets one more, so the guard can always be undone by
    dropping one leading quote from any cell that starts with one. Anything
    that is not a str is returned as is.

    Examples
    --------
    >>> guard_csv_cell("=HYPERLINK(1)"), guard_csv_cell("'quoted"), guard_csv_cell("fine"), guard_csv_cell(3)
    ("'=HYPERLINK(1)", "''quoted", 'fine', 3)
    """
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value
