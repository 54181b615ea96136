"""The estimators' skorch callbacks and the scoring they use.

Threshold tuning (the rule itself is :func:`~.selection.choose_threshold`):
:func:`f1_at_chosen_threshold` is the epoch scorer that early stopping monitors
under ``threshold="auto"``, and :class:`TuneThreshold` sets ``tuned_threshold_``
on the validation split when training ends (after the best epoch is restored).

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

from skorch.callbacks import Callback
from skorch.callbacks import EarlyStopping as _SkorchEarlyStopping
from skorch.callbacks import PrintLog as _SkorchPrintLog

from .selection import choose_threshold, warn_if_degenerate

__all__ = ["PrintLog", "EarlyStopping", "TuneThreshold", "f1_at_chosen_threshold", "progress_wanted"]

def f1_at_chosen_threshold(net, X, y) -> float:
    """Epoch scorer: validation F1 at the threshold :func:`~.selection.choose_threshold` picks on it.

    What early stopping monitors under ``threshold="auto"``.
    """
    from sklearn.metrics import f1_score

    proba = net.predict_proba(X)[:, 1]
    return f1_score(y, proba >= choose_threshold(y, proba), zero_division=0)


#: The scorer's former name, kept because pickled models name it in their callbacks.
best_threshold_f1 = f1_at_chosen_threshold


class TuneThreshold(Callback):
    """At the end of training, ``net.tuned_threshold_``: the best-F1 threshold on the validation split.

    Only for ``threshold="auto"``; 0.5 when there is no validation split. It
    comes after early stopping among the default callbacks, so it sees the
    restored best epoch, and runs after ``fit`` and ``partial_fit`` alike.
    """

    def on_train_end(self, net, X=None, y=None, **kwargs):
        if getattr(net, "validation_plan_", None) == "crossfit":
            return  # cross-fitting chose the threshold on out-of-fold predictions before this fit
        _, valid = net.get_split_datasets(X, y)
        if valid is None:
            if net.threshold == "auto":
                net.tuned_threshold_ = 0.5
            return
        labels, proba = valid.y[valid.rows], net.predict_proba(valid)[:, 1]
        if net.threshold == "auto":
            net.tuned_threshold_ = choose_threshold(labels, proba)
        warn_if_degenerate(net, labels, proba >= net.decision_threshold(), "validation")


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
