"""The estimators' skorch callbacks and the scoring they use.

Threshold tuning: :func:`best_f1_threshold` picks the F1-maximising threshold
on a coarse grid, :func:`best_threshold_f1` is the epoch scorer that early
stopping monitors under ``threshold="auto"``, and :class:`TuneThreshold` sets
``tuned_threshold_`` when training ends (after the best epoch is restored).

The epoch table: skorch puts :class:`~skorch.callbacks.PrintLog` after every
other callback, and :class:`~skorch.callbacks.EarlyStopping` ends training by
raising ``KeyboardInterrupt`` in its ``on_epoch_end``, so the epoch that
triggered the stop never reached the table (it showed one epoch fewer than
``history_``). :class:`EarlyStopping` here prints that row before its own stop
message. :class:`PrintLog` leaves out skorch's ANSI colours when standard
output is not a terminal (a redirected file, a CI log).
"""

from __future__ import annotations

import re
import sys

import numpy as np
from skorch.callbacks import Callback
from skorch.callbacks import EarlyStopping as _SkorchEarlyStopping
from skorch.callbacks import PrintLog as _SkorchPrintLog

__all__ = ["PrintLog", "EarlyStopping", "TuneThreshold", "best_f1_threshold", "best_threshold_f1",
           "progress_wanted"]

_THRESHOLD_GRID = np.round(np.arange(0.05, 0.951, 0.05), 2)


def best_f1_threshold(y_true, proba, grid=_THRESHOLD_GRID) -> float:
    """The threshold on a coarse grid that maximises F1 (ties: the one nearest 0.5).

    A coarse grid, not every distinct probability, so a small validation
    split does not pick a threshold that only fits its own few examples.
    """
    from sklearn.metrics import f1_score

    scores = [f1_score(y_true, proba >= t, zero_division=0) for t in grid]
    best = max(scores)
    return float(min((t for t, f in zip(grid, scores) if f == best), key=lambda t: abs(t - 0.5)))


def best_threshold_f1(net, X, y) -> float:
    """Scorer: validation F1 at its best threshold (early stopping for threshold="auto")."""
    from sklearn.metrics import f1_score

    proba = net.predict_proba(X)[:, 1]
    return f1_score(y, proba >= best_f1_threshold(y, proba), zero_division=0)


class TuneThreshold(Callback):
    """At the end of training, ``net.tuned_threshold_``: the best-F1 threshold on the validation split.

    Only for ``threshold="auto"``; 0.5 when there is no validation split. It
    comes after early stopping among the default callbacks, so it sees the
    restored best epoch, and runs after ``fit`` and ``partial_fit`` alike.
    """

    def on_train_end(self, net, X=None, y=None, **kwargs):
        if net.threshold != "auto":
            return
        _, valid = net.get_split_datasets(X, y)
        net.tuned_threshold_ = (0.5 if valid is None else
                                best_f1_threshold(valid.y[valid.rows], net.predict_proba(valid)[:, 1]))


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _colours_wanted() -> bool:
    isatty = getattr(sys.stdout, "isatty", None)
    return bool(isatty and isatty())


class PrintLog(_SkorchPrintLog):
    """skorch's ``PrintLog``; best values are coloured only when standard output is a terminal."""

    def format_row(self, row, key, color):
        text = super().format_row(row, key, color)
        return text if not isinstance(text, str) or _colours_wanted() else _ANSI.sub("", text)


class EarlyStopping(_SkorchEarlyStopping):
    """skorch's ``EarlyStopping``; the stopping epoch's row is printed before training ends."""

    def on_epoch_end(self, net, **kwargs):
        messages, sink = [], self.sink
        self.sink = messages.append  # hold the stop message until the epoch's row is out
        try:
            super().on_epoch_end(net, **kwargs)
        except KeyboardInterrupt:
            for _, callback in getattr(net, "callbacks_", []):
                if isinstance(callback, _SkorchPrintLog):
                    callback.on_epoch_end(net, **kwargs)
            raise
        finally:
            self.sink = sink
            for message in messages:
                if sink is not print or net.verbose:
                    sink(message)


def progress_wanted(verbose=True) -> bool:
    """Whether to draw a progress bar: asked for, and standard error is a terminal.

    Off a terminal (stderr redirected to a file, a CI log) a bar is not
    redrawn in place but written line after line, dozens of ``0%| | 0/1``
    lines that say nothing; the epoch table on standard output remains.
    """
    isatty = getattr(sys.stderr, "isatty", None)
    return bool(verbose) and bool(isatty and isatty())
