"""How a fit chooses its number of epochs and its decision threshold.

Three plans, decided once per fit from ``validation_fraction`` and the size of
the training data (:func:`validation_plan`):

- ``"split"``: a share of the threads is held out; early stopping picks the
  epoch and :func:`choose_threshold` the threshold on it (a float
  ``validation_fraction``, a ``train_split``, or ``"auto"`` on data of at least
  :data:`CROSSFIT_MAX_PAIRS` pairs, where a tenth of the threads is enough);
- ``"crossfit"``: ``"auto"`` on fewer pairs: :func:`crossfit` trains a copy of
  the estimator on each of :data:`CROSSFIT_FOLDS` thread folds' complements and
  picks the epoch and threshold on the pooled out-of-fold predictions, then
  the estimator trains on all the data for that many epochs;
- ``None``: ``validation_fraction=None``: ``max_epochs`` epochs, a fixed
  threshold.

The threshold rule (:func:`choose_threshold`) maximises F1 averaged over small
shifts of the cause share (:data:`PRIOR_SHIFTS`), on a coarse grid: a
threshold that still holds on data with a few points more or fewer causes.
Why these choices: ``docs/decisions.md`` (issue 24).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from skorch.callbacks import Callback

from ..data.frame import derive_pair_ids
from .batching import PairRows

__all__ = ["PRIOR_SHIFTS", "THRESHOLD_GRID", "AUTO_VALIDATION_FRACTION", "CROSSFIT_MAX_PAIRS", "CROSSFIT_FOLDS",
           "f1_curve", "choose_threshold", "is_small", "validation_plan", "crossfit", "HeldOutScores",
           "warn_if_degenerate", "warn_if_validation_too_small", "check_rows_against_fit", "MIN_VALIDATION_CAUSES"]

#: The thresholds :func:`choose_threshold` considers: coarse, so a small validation split
#: does not pick one that only fits its own few examples.
THRESHOLD_GRID = np.round(np.arange(0.05, 0.951, 0.05), 2)
#: Cause-share shifts a threshold is chosen to survive: the odds of a cause scaled by each factor
#: (a 19% cause share becomes about 16% and 23%), as between a training set and new data.
PRIOR_SHIFTS = (0.8, 1.0, 1.25)
#: validation_fraction="auto" on data of at least CROSSFIT_MAX_PAIRS pairs: this share of the threads.
AUTO_VALIDATION_FRACTION = 0.1
#: validation_fraction="auto" on fewer pairs: cross-fitting over this many thread folds.
CROSSFIT_MAX_PAIRS = 1000
CROSSFIT_FOLDS = 5
#: Fewer cause sentences than this in a held-out validation split: fit warns (warn_if_validation_too_small).
MIN_VALIDATION_CAUSES = 20
#: warn_if_degenerate: predicting at least this share of sentences as causes is "every sentence".
_ALL_CAUSES_SHARE = 0.9


def f1_curve(y_true, proba, grid=THRESHOLD_GRID, prior_shifts=PRIOR_SHIFTS) -> np.ndarray:
    """F1 of the cause class at each threshold of ``grid``, averaged over cause-share shifts.

    With ``prior_shifts=(1.0,)`` it is the plain F1 curve. A factor ``w``
    counts every cause ``w`` times (true positives and false negatives): the
    F1 the same predictions would have on data whose odds of a cause are ``w``
    times these.
    """
    y = np.asarray(y_true).astype(bool)
    predicted = np.asarray(proba)[None, :] >= np.asarray(grid, dtype=float)[:, None]   # (thresholds, rows)
    tp = (predicted & y).sum(1).astype(float)
    fp = (predicted & ~y).sum(1).astype(float)
    fn = (~predicted & y).sum(1).astype(float)
    curves = []
    for w in prior_shifts:
        denominator = 2 * w * tp + fp + w * fn
        curves.append(np.divide(2 * w * tp, denominator, out=np.zeros_like(tp), where=denominator > 0))
    return np.mean(curves, axis=0)


def choose_threshold(y_true, proba, grid=THRESHOLD_GRID, prior_shifts=PRIOR_SHIFTS) -> float:
    """The threshold of ``grid`` that maximises :func:`f1_curve` (ties: the one nearest 0.5).

    The F1 curve falls faster above its peak than below it, so averaging over
    cause-share shifts leans towards recall: the threshold loses little when
    new data holds more causes than the data it was chosen on.
    """
    scores = f1_curve(y_true, proba, grid, prior_shifts)
    best = scores.max()
    return float(min((t for t, f in zip(grid, scores) if f == best), key=lambda t: abs(t - 0.5)))


def is_small(dataset) -> bool:
    """Whether a training dataset has fewer than :data:`CROSSFIT_MAX_PAIRS` pairs (the "auto" settings' line)."""
    return len(np.unique(dataset.row_pair[dataset.rows])) < CROSSFIT_MAX_PAIRS


def validation_plan(net, dataset=None):
    """``"split"``, ``"crossfit"`` or None for ``net``'s parameters and training ``dataset``.

    Without a dataset (before a fit, or for the fitted estimator), the plan
    the last fit chose (``validation_plan_``), else the one the parameters
    imply ("auto" counts as a split).
    """
    if net.train_split is not None:
        return "split"
    if net.validation_fraction is None:
        return None
    if dataset is None:
        return getattr(net, "validation_plan_", "split")
    if net.validation_fraction != "auto":
        return "split"
    enough_threads = len(np.unique(dataset.row_thread[dataset.rows])) >= CROSSFIT_FOLDS
    return "crossfit" if is_small(dataset) and enough_threads else "split"


class HeldOutScores(Callback):
    """Records the cause probabilities of a held-out dataset after every epoch (for :func:`crossfit`)."""

    def __init__(self, dataset):
        self.dataset = dataset

    def initialize(self):
        self.scores_ = []
        return self

    def on_epoch_end(self, net, **kwargs):
        self.scores_.append(net.predict_proba(self.dataset)[:, 1])


def crossfit(net, dataset):
    """The number of epochs and the threshold for ``net``, chosen on out-of-fold predictions.

    On a few hundred pairs a held-out tenth is a handful of threads, too few
    to choose an epoch or a threshold (validation F1 moves by 0.1 for one
    sentence). Here the threads are split into :data:`CROSSFIT_FOLDS` folds;
    a copy of ``net`` is trained on each fold's complement for ``max_epochs``,
    scoring the fold after every epoch. The epoch whose pooled out-of-fold F1
    (at its chosen threshold, averaged with its neighbours) is highest is the
    number of epochs of the final fit on all the data, and the threshold is
    chosen on that epoch's out-of-fold predictions. Every training sentence
    serves both the choice and the final model.

    Returns ``(epochs, threshold)``; sets ``net.crossfit_f1_``, the pooled
    out-of-fold F1 of each epoch. A Ctrl-C here (before the final fit has
    begun) raises ``KeyboardInterrupt`` out of ``fit``: there is no model yet.
    The user's callbacks run in the final fit only.
    """
    from sklearn.model_selection import GroupKFold

    threads, labels = dataset.row_thread[dataset.rows], dataset.y[dataset.rows]
    folds = GroupKFold(n_splits=CROSSFIT_FOLDS, shuffle=True, random_state=net.seed_ % 2**32)
    scores = np.zeros((net.max_epochs, len(labels)))
    for k, (train, held_out) in enumerate(folds.split(threads, groups=threads)):
        recorder = HeldOutScores(dataset.subset(held_out))
        # The user's callbacks (checkpoints, logging) belong to the final fit, not to these copies.
        fold_net = _unfitted_copy(net, validation_fraction=None, verbose=0,
                                  random_state=(net.seed_ + 1 + k) % 2**32,
                                  callbacks=[("held_out_scores", recorder)])
        fold_net.fit(dataset.subset(train))
        if fold_net.interrupted_:  # skorch's loop swallowed a Ctrl-C: there is no model yet to return
            raise KeyboardInterrupt("interrupted while cross-fitting, before the final fit: no model")
        scores[:, held_out] = np.stack(recorder.scores_)
    if net.threshold == "auto":
        curve = np.array([f1_curve(labels, epoch_scores).max() for epoch_scores in scores])
    else:
        curve = np.array([f1_curve(labels, epoch_scores, grid=[float(net.threshold)])[0] for epoch_scores in scores])
    smoothed = np.convolve(np.pad(curve, 1, mode="edge"), np.ones(3) / 3, mode="valid")
    best = int(np.argmax(smoothed))
    net.crossfit_f1_ = curve
    threshold = choose_threshold(labels, scores[best]) if net.threshold == "auto" else float(net.threshold)
    warn_if_degenerate(net, labels, scores[best] >= threshold, "out-of-fold")
    return best + 1, threshold


def _unfitted_copy(net, **changes):
    """A new estimator with ``net``'s parameters and ``changes`` (sklearn's ``clone``, by hand).

    skorch counts every attribute without a trailing underscore as a
    parameter, so ``clone`` would also copy what a caller attached to the
    estimator (scikit-learn's searches attach ``_parent_callback_ctx``).
    """
    from sklearn.base import clone

    params = {k: clone(v, safe=False) for k, v in net.get_params(deep=False).items() if not k.startswith("_")}
    return type(net)(**{**params, **changes})


def warn_if_degenerate(net, labels, predicted, where) -> None:
    """One warning when a fitted model calls (almost) every sentence a cause, or none, on held-out rows.

    Such a model scores the F1 of marking every sentence a cause (or 0),
    however good that F1 looks; it happens on too little data. ``where`` names
    the rows ("validation", "out-of-fold"). The shares are kept as
    ``validation_predicted_rate_`` and ``validation_cause_rate_``.
    """
    labels, predicted = np.asarray(labels), np.asarray(predicted)
    net.validation_predicted_rate_ = rate = float(predicted.mean())
    net.validation_cause_rate_ = causes = float(labels.mean())
    if rate >= _ALL_CAUSES_SHARE > causes:
        verdict = "calls (almost) every sentence a cause: no better than marking them all"
    elif rate == 0 < causes:
        verdict = "calls no sentence a cause"
    else:
        return
    warnings.warn(f"{type(net).__name__}: on its {where} predictions the fitted model {verdict} "
                  f"({rate:.0%} predicted, {causes:.0%} are causes); it needs more labelled pairs, or try "
                  "empathy_cause.baselines.similarity_baseline()", UserWarning, stacklevel=3)


def check_rows_against_fit(net, X, *, fitting=False, initialize=True) -> None:
    """Remember the (pair, sentence) rows fit saw; warn once when scoring held-out rows of those pairs.

    That is what ``GridSearchCV(..., cv=3)`` does on the sentence-row frame: a
    plain KFold puts sentences of one post on both sides, so the scores leak.
    Scoring rows that were trained on (``fit(X).predict(X)``, or an
    undersampler's pipeline predicting its whole training frame) or rows of
    new pairs says nothing; only rows of trained pairs, none of them trained
    on, warn. ``trained_rows_`` holds a 64-bit hash per (pair id, sentence).
    """
    if isinstance(X, PairRows) or not hasattr(X, "columns"):
        return
    pair_ids = X["pair_id"].to_numpy(dtype=object) if "pair_id" in X.columns else derive_pair_ids(X)
    pairs = pd.util.hash_array(pair_ids)
    rows = pairs * np.uint64(1_000_003) + X["sentence_index"].to_numpy().astype(np.uint64)
    if fitting:
        previous = getattr(net, "trained_rows_", None)
        net.trained_pairs_ = np.unique(pairs if initialize or previous is None
                                        else np.r_[net.trained_pairs_, pairs])
        net.trained_rows_ = np.unique(rows if initialize or previous is None else np.r_[previous, rows])
        return
    if getattr(net, "trained_rows_", None) is None:
        return  # loaded from a folder: the training rows are not saved
    seen_pair = np.isin(pairs, net.trained_pairs_)
    if seen_pair.any() and not np.isin(rows, net.trained_rows_).any():
        warnings.warn(f"{type(net).__name__}: scoring sentences of posts it was trained on (other sentences "
                      "of the same pairs were training rows), so the scores leak: cross-validation folds "
                      "split posts. Pass cv=ThreadKFold(n) (from empathy_cause), which keeps each thread "
                      "on one side.", UserWarning, stacklevel=3)

def warn_if_validation_too_small(net, dataset) -> None:
    """Warn when the validation split is too small to choose an epoch or a threshold.

    With a handful of causes, validation F1 jumps by 0.1 or more for one
    sentence, so early stopping keeps an arbitrary epoch (often the first)
    and ``threshold="auto"`` an arbitrary threshold, silently.
    """
    if validation_plan(net) != "split":
        return
    _, valid = net.get_split_datasets(dataset)
    if not isinstance(valid, PairRows):
        return
    labels = valid.y[valid.rows]
    n_causes = int(labels.sum())
    if n_causes >= MIN_VALIDATION_CAUSES:
        return
    chooses = "the best epoch" + (" and the decision threshold" if net.threshold == "auto" else "")
    split = ("the validation split" if net.train_split is not None else
             f"the validation split (validation_fraction={net.validation_fraction})")
    warnings.warn(
        f"{type(net).__name__}: {split} holds {len(labels)} sentences of "
        f"{len(np.unique(valid.row_thread[valid.rows]))} thread(s), {n_causes} of them causes: too few to "
        f"choose {chooses}. On data this small pass validation_fraction=None with a fixed max_epochs and "
        "threshold (e.g. threshold=0.3), or a larger validation split", UserWarning, stacklevel=4)
