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

__all__ = ["PrintLog", "EarlyStopping", "TuneThreshold", "HeldOutScores", "best_f1_threshold",
           "best_threshold_f1", "f1_curve", "progress_wanted", "warn_if_degenerate", "PRIOR_SHIFTS"]

_THRESHOLD_GRID = np.round(np.arange(0.05, 0.951, 0.05), 2)
#: Cause-share shifts the threshold is chosen to survive: the odds of a cause scaled by each factor
#: (a 19% cause share becomes about 16% and 23%), as between a training set and a user's new data.
PRIOR_SHIFTS = (0.8, 1.0, 1.25)


def f1_curve(y_true, proba, grid=_THRESHOLD_GRID, prior_shifts=PRIOR_SHIFTS) -> np.ndarray:
    """F1 of the cause class at each threshold of ``grid``, averaged over cause-share shifts.

    With ``prior_shifts=(1.0,)`` it is the plain F1 curve. A factor ``w``
    weighs every cause by ``w`` (true positives and false negatives), which is
    the F1 the same predictions would have on data whose odds of a cause are
    ``w`` times these: the average is the F1 a threshold can expect when the
    share of causes moves by a few points, as it does between corpora.
    """
    y = np.asarray(y_true).astype(bool)
    predicted = np.asarray(proba)[None, :] >= np.asarray(grid)[:, None]       # (thresholds, rows)
    tp = (predicted & y).sum(1).astype(float)
    fp = (predicted & ~y).sum(1).astype(float)
    fn = (~predicted & y).sum(1).astype(float)
    curves = [np.divide(2 * w * tp, 2 * w * tp + fp + w * fn, out=np.zeros_like(tp),
                        where=(2 * w * tp + fp + w * fn) > 0) for w in prior_shifts]
    return np.mean(curves, axis=0)


def best_f1_threshold(y_true, proba, grid=_THRESHOLD_GRID, prior_shifts=PRIOR_SHIFTS) -> float:
    """The threshold on a coarse grid that maximises :func:`f1_curve` (ties: the one nearest 0.5).

    A coarse grid, not every distinct probability, so a small validation
    split does not pick a threshold that only fits its own few examples; the
    F1 averaged over ``prior_shifts``, so the threshold still holds on data
    with a few points more or fewer causes (the F1 curve falls faster above
    its peak than below it, so this leans towards recall).
    """
    scores = f1_curve(y_true, proba, grid, prior_shifts)
    best = scores.max()
    return float(min((t for t, f in zip(grid, scores) if f == best), key=lambda t: abs(t - 0.5)))


def best_threshold_f1(net, X, y) -> float:
    """Scorer: validation F1 at its best threshold (early stopping for threshold="auto")."""
    from sklearn.metrics import f1_score

    proba = net.predict_proba(X)[:, 1]
    return f1_score(y, proba >= best_f1_threshold(y, proba), zero_division=0)


class HeldOutScores(Callback):
    """Records the cause probabilities of a held-out dataset after every epoch (cross-fitting)."""

    def __init__(self, dataset):
        self.dataset = dataset

    def initialize(self):
        self.scores_ = []
        return self

    def on_epoch_end(self, net, **kwargs):
        self.scores_.append(net.predict_proba(self.dataset)[:, 1])


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
            net.tuned_threshold_ = best_f1_threshold(labels, proba)
        warn_if_degenerate(net, labels, proba >= net.decision_threshold(), "validation")


#: warn_if_degenerate: predicting more than this share of sentences as causes is "every sentence".
_ALL_CAUSES_SHARE = 0.9


def warn_if_degenerate(net, labels, predicted, where) -> None:
    """One warning when a fitted model calls (almost) every sentence a cause, or none, on held-out rows.

    Such a model scores the F1 of calling every sentence a cause (or 0), however
    good its F1 looks; it happens on too little data. ``where`` names the rows
    ("validation", "out-of-fold"). The shares are kept as
    ``validation_predicted_rate_`` and ``validation_cause_rate_``.
    """
    import warnings

    labels, predicted = np.asarray(labels), np.asarray(predicted)
    net.validation_predicted_rate_ = float(predicted.mean())
    net.validation_cause_rate_ = float(labels.mean())
    rate, causes = net.validation_predicted_rate_, net.validation_cause_rate_
    if rate >= _ALL_CAUSES_SHARE > causes:
        verdict = "calls (almost) every sentence a cause: no better than marking them all"
    elif rate == 0 < causes:
        verdict = "calls no sentence a cause"
    else:
        return
    warnings.warn(f"{type(net).__name__}: on its {where} predictions the fitted model {verdict} "
                  f"({rate:.0%} predicted, {causes:.0%} are causes); it needs more labelled pairs, or try "
                  "empathy_cause.baselines.similarity_baseline()", UserWarning, stacklevel=2)


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
