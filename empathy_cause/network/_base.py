"""BaseCauseClassifier: what the estimators on the sentence-row frame share.

:class:`~empathy_cause.EmpathyCauseClassifier` and
:class:`~empathy_cause.baselines.QAClassifier` both build on it: the shared
parameters (declared once, with their valid ranges), validation before
training, the thread-wise validation split with early stopping on F1, seeded
training with gradient accumulation, the decision threshold, the fitted-state
checks, and ``save``/``load`` of a model folder that never unpickles anything
(the format lives in :mod:`empathy_cause.network.model_files`).
"""

from __future__ import annotations

import contextlib
import copy
import inspect
from numbers import Real
from pathlib import Path

import numpy as np
import torch
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import (
    Interval,
    InvalidParameterError,
    StrOptions,
    validate_parameter_constraints,
)
from skorch import NeuralNetClassifier
from skorch.callbacks import EarlyStopping as SkorchEarlyStopping
from skorch.callbacks import EpochScoring, LRScheduler, ProgressBar
from skorch.utils import TeeGenerator
from torch.optim.lr_scheduler import CosineAnnealingWarmRestarts
from torch.utils.data import DataLoader

from ..data.frame import validate_frame
from ..encoders.encoding import PRECISIONS
from ..encoders.pretrained import model_identity
from ..model_selection.splitters import ThreadValidSplit
from ._params import LOCAL, RUNTIME, TRAINING, _DeclaredParameters, _int, _refuse_bool_numbers
from .batching import PairRows
from .callbacks import EarlyStopping, PrintLog, TuneThreshold, f1_at_chosen_threshold, progress_wanted
from .losses import LOSSES, make_criterion
from .model_files import load_model, save_model
from .selection import (
    AUTO_VALIDATION_FRACTION,
    check_rows_against_fit,
    crossfit,
    validation_plan,
    warn_if_validation_too_small,
)

__all__ = ["BaseCauseClassifier", "softmax_rows"]


def softmax_rows(logits: torch.Tensor) -> torch.Tensor:
    """predict_proba's nonlinearity (a named function, so the net pickles)."""
    return torch.softmax(logits, dim=-1)


@contextlib.contextmanager
def _torch_threads(n: int):
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _new_seed(random_state) -> int:
    """The seed of one training run: ``random_state``, or a fresh one when it is None."""
    return int(np.random.SeedSequence().generate_state(1)[0]) if random_state is None else int(random_state)


def _refuse_fit_params(name, fit_params) -> None:
    """fit takes X and y only: skorch would pass any other argument to the module's forward."""
    given = sorted(k for k in fit_params if k != "_routing_method")  # skorch's own, from fit
    if not given:
        return
    if "sample_weight" in given:
        raise TypeError(f"{name}.fit does not support sample_weight: weigh the classes with loss='weighted' "
                        "and class_weight=(1.0, 3.0), or resample rows (e.g. imblearn's RandomUnderSampler)")
    raise TypeError(f"{name}.fit got unexpected argument(s) {given}: it takes X and y only "
                    "(every setting is a constructor parameter)")


class _ModelFolder:
    """``save`` / ``load`` of :class:`BaseCauseClassifier` (the format: :mod:`empathy_cause.network.model_files`)."""

    def save(self, path) -> Path:
        """Write the fitted model to a folder: ``config.json`` + ``model.safetensors``.

        ``config.json`` holds the format version, the class name, every
        parameter that defines the model as it was fitted (routed
        ``module__*`` / ``optimizer__*`` ones included; the current
        ``threshold``), the tuned threshold and whether training was
        interrupted (``partial``). ``model.safetensors`` holds the module's
        weights (a fine-tuned encoder's included). Nothing is pickled, so
        :meth:`load` cannot run code from the folder (see ``docs/model-files.md``).

        The folder is written beside ``path`` under a temporary name and then
        renamed into place, so a reader sees the old model or the new one, never
        a mix. An existing ``path`` is replaced only if it is empty or a model
        folder.
        """
        return save_model(self, path)

    @classmethod
    def _init_default(cls, name):
        """The default of an ``__init__`` argument (the most derived signature that has one)."""
        for klass in cls.__mro__:
            parameter = inspect.signature(klass.__init__).parameters.get(name) if "__init__" in vars(klass) else None
            if parameter is not None and parameter.default is not inspect.Parameter.empty:
                return parameter.default
        return None

    @classmethod
    def load(cls, path, **overrides):
        """Load a model folder written by :meth:`save`, running nothing from it.

        ``config.json`` must follow exactly the schema ``save`` writes: this
        format version, this class, every saved parameter and nothing else, each
        within its valid range; ``model.safetensors`` must hold exactly the
        module's tensors with their shapes, all finite. Anything else raises
        :class:`~empathy_cause.network.model_files.ModelFileError` (a ``ValueError``) naming the file. A
        ``partial`` model (training was interrupted) loads with a warning.

        ``overrides`` replace saved parameters (e.g. ``device="cuda"``,
        ``encoder="/models/minilm"``); they are the caller's own settings and
        are checked like constructor arguments.
        """
        return load_model(cls, path, **overrides)


class _GradientAccumulation:
    """skorch's training step with gradient accumulation: an optimizer step every ``accumulation_steps`` batches."""

    def train_step(self, batch, **fit_params):
        """Gradient accumulation: an optimizer step every ``accumulation_steps`` batches (see run_single_epoch).

        skorch's ``train_step_single`` computes each batch's gradients; they
        add up until the step. The batch count is the epoch's history.
        """
        step = self.train_step_single(batch, **fit_params)
        if len(self.history[-1, "batches"]) % self.accumulation_steps == 0:
            self._accumulated_step(batch)
        return step

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        """skorch's; a training epoch ends with a step for the batches accumulated since the last one."""
        super().run_single_epoch(iterator, training, prefix, step_fn, **fit_params)
        if training and iterator is not None and self.history[-1, prefix + "_batch_count"] % self.accumulation_steps:
            self._accumulated_step(None)

    def _accumulated_step(self, batch) -> None:
        if self.accumulation_steps > 1:  # the step averages over accumulation_steps batches
            for _, param in self.get_all_learnable_params():
                if param.grad is not None:
                    param.grad.div_(self.accumulation_steps)
        self.notify("on_grad_computed", named_parameters=TeeGenerator(self.get_all_learnable_params()),
                    batch=batch, training=True)
        # skorch has no public hook for an optimizer step outside train_step: its FAQ's gradient
        # accumulation recipe steps optimizer_ itself, as here (instead of the private _step_optimizer).
        self.optimizer_.step()
        self.optimizer_.zero_grad()


class BaseCauseClassifier(_DeclaredParameters, _ModelFolder, _GradientAccumulation, NeuralNetClassifier):
    """What the estimators on the sentence-row frame share; not used directly.

    The scikit-learn and skorch plumbing of :class:`~empathy_cause.EmpathyCauseClassifier` and
    :class:`~empathy_cause.baselines.QAClassifier`: classes fixed to ``[0, 1]``;
    the criterion from ``loss``, ``alpha``, ``gamma`` and ``class_weight``; a
    thread-wise validation split with early stopping on F1; seeded training
    with gradient accumulation; the decision threshold (``"auto"`` tunes it);
    ``predict_proba`` in X's row order; ``save``/``load`` without pickle.

    The shared parameters are stored and checked here; each public subclass
    spells out every default in its own ``__init__`` signature (so ``help``
    and ``inspect.signature`` show the values used) and passes them on. A
    subclass extends ``_parameter_constraints`` (scikit-learn's ``Interval`` /
    ``StrOptions`` style, built from the constants the code uses), which
    ``fit`` and ``partial_fit`` check before any training starts. Adding a
    parameter to a subclass: its ``__init__`` argument (stored as given) and
    one ``_parameter_constraints`` entry. Beside it, ``_parameter_lifecycle``
    says what the parameter is to a fitted model (see
    :mod:`empathy_cause.network._params`): every declared parameter defines it
    (changing it after ``fit`` makes predict, save and explain ask for a refit)
    unless listed there as training-only, runtime or local (never saved).

    Training uses skorch's extension points: ``fit`` and ``partial_fit``
    check the parameters and seed torch, then run skorch's ``partial_fit``;
    the validation split is a ``train_split`` object
    (:class:`~empathy_cause.model_selection.splitters.ThreadValidSplit`); the threshold
    is tuned by a callback at the end of training
    (:class:`~empathy_cause.network.callbacks.TuneThreshold`); gradient accumulation
    counts batches in the epoch's history.

    Subclasses provide ``_build_module`` (the module for the current
    parameters), the dataset hooks ``_dataset_class`` and
    ``_prepare_dataset``, and the batching hooks ``_training_batches``,
    ``_inference_batches``, ``_collate_fn`` and ``_scoring_order``.
    """

    _parameter_constraints: dict = {
        "loss": [StrOptions(set(LOSSES))],
        "alpha": [Interval(Real, 0, 1, closed="both"), None],
        "gamma": [Interval(Real, 0, 100, closed="both")],
        "class_weight": ["array-like", None],
        "precision": [StrOptions(set(PRECISIONS))],
        "threshold": [Interval(Real, 0, 1, closed="both"), StrOptions({"auto"})],
        "accumulation_steps": [_int(1)],
        "patience": [_int(1)],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither"), StrOptions({"auto"}), None],
        "random_state": [_int(0, 2**32 - 1), None],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "max_epochs": [_int(1)],
        "batch_size": [_int(1)],
        "verbose": ["verbose"],
        "device": [str, torch.device],
    }
    #: What each parameter is to a fitted model (network/_params.py: MODEL unless listed here).
    _parameter_lifecycle: dict = {
        **dict.fromkeys(("loss", "alpha", "gamma", "class_weight", "accumulation_steps", "patience",
                         "validation_fraction", "random_state", "lr", "max_epochs", "batch_size"), TRAINING),
        "threshold": RUNTIME,
        "verbose": LOCAL,
        "device": LOCAL,
    }

    # No defaults here: the subclasses' signatures hold them (see the class docstring).
    def __init__(self, module, *, loss, alpha, gamma, class_weight, precision, threshold, accumulation_steps,
                 patience, validation_fraction, random_state, criterion, optimizer, lr, max_epochs, batch_size,
                 train_split, predict_nonlinearity, verbose, device, **kwargs):
        # AdamW's settings of the paper (section 6.1), overridable as optimizer__*.
        kwargs.setdefault("optimizer__weight_decay", 0.01)
        kwargs.setdefault("optimizer__eps", 1e-8)
        super().__init__(module, criterion=criterion, optimizer=optimizer, lr=lr,
                         max_epochs=max_epochs, batch_size=batch_size, train_split=train_split,
                         predict_nonlinearity=predict_nonlinearity, verbose=verbose,
                         device=device, **kwargs)
        self.loss = loss
        self.alpha = alpha
        self.gamma = gamma
        self.class_weight = class_weight
        self.precision = precision
        self.threshold = threshold
        self.accumulation_steps = accumulation_steps
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.random_state = random_state

    # ------------------------------------------------------------------ setup

    @property
    def classes_(self):
        return np.array([0, 1])

    @property
    def frozen_encoder(self) -> bool:
        """Whether the encoder is frozen: each distinct sentence is encoded once and its vector cached."""
        return False

    @property
    def _default_callbacks(self):
        # The epoch table: complete under early stopping, no colours off a terminal (callbacks.py).
        callbacks = [(name, PrintLog() if name == "print_log" else cb)
                     for name, cb in super()._default_callbacks if name != "valid_acc"]
        scheduler = ("lr_scheduler", LRScheduler(policy=CosineAnnealingWarmRestarts, T_0=5, T_mult=1))
        if validation_plan(self) == "split":
            callbacks += [
                ("valid_f1", EpochScoring(f1_at_chosen_threshold if self.threshold == "auto" else "f1",
                                          name="valid_f1", lower_is_better=False)),
                scheduler,  # before early stopping, so the stopping epoch's row has its lr
                ("early_stopping", EarlyStopping(monitor="valid_f1", lower_is_better=False,
                                                 patience=self.patience, load_best=True)),
            ]
        else:
            callbacks.append(scheduler)
        # After early stopping, whose on_train_end restores the best epoch's weights.
        callbacks.append(("tune_threshold", TuneThreshold()))
        if progress_wanted(self.verbose):  # a bar on a terminal only, never line after line in a log
            # "count": skorch's "auto" total assumes its own sampler and is wrong here.
            callbacks.append(("progress_bar", ProgressBar(batches_per_epoch="count")))
        return callbacks

    def initialize_module(self):
        self.module_ = self._build_module()
        return self

    def initialize_criterion(self):
        if self.criterion is not None:
            return super().initialize_criterion()
        self.criterion_ = make_criterion(self.loss, alpha=self.alpha, gamma=self.gamma,
                                         class_weight=self.class_weight)
        return self

    def initialize(self):
        if not hasattr(self, "seed_"):
            self.seed_ = 0 if self.random_state is None else int(self.random_state)
        self.batch_rng_ = np.random.default_rng(self.seed_)
        super().initialize()
        # What the module was built with: predict, save and explain check it.
        self.fitted_params_ = {n: copy.deepcopy(getattr(self, n)) for n in
                               dict.fromkeys(self._model_param_names() + self._saved_param_names())}
        # The pretrained model by content and resolved location: save records it, load compares it.
        self.pretrained_identity_ = self._pretrained_identity()
        return self

    # ------------------------------------------------------------------- data

    #: The dataset class ``get_dataset`` builds from a frame (a :class:`PairRows` or a subclass).
    _dataset_class = PairRows

    def get_dataset(self, X, y=None):
        """A ``_dataset_class`` for a frame (validated here), or a PairRows as is."""
        if isinstance(X, PairRows):
            return X
        return self._prepare_dataset(self._unprepared_dataset(X, y))

    def _unprepared_dataset(self, X, y=None):
        """The validated frame as a ``_dataset_class``, before any encoding (a PairRows as is)."""
        if isinstance(X, PairRows):
            return X
        X, y = validate_frame(X, y)
        return self._dataset_class.from_frame(X, y)

    def _prepare_dataset(self, dataset):
        """Hook: what a subclass computes once per dataset (sentence vectors, token lengths)."""
        return dataset

    def get_split_datasets(self, X, y=None, **fit_params):
        """skorch's, with :class:`ThreadValidSplit` of ``validation_fraction`` when ``train_split`` is None."""
        if self.train_split is None and validation_plan(self) == "split":
            share = AUTO_VALIDATION_FRACTION if self.validation_fraction == "auto" else self.validation_fraction
            return ThreadValidSplit(share, random_state=self.seed_)(self.get_dataset(X, y))
        if self.train_split is None:
            return self.get_dataset(X, y), None
        return super().get_split_datasets(X, y, **fit_params)

    def get_iterator(self, dataset, training=False):
        """skorch's hook: a DataLoader over the subclass's batches of whole pairs.

        ``iterator_train__*`` / ``iterator_valid__*`` settings reach it where
        they make sense (``num_workers``, ``pin_memory``, ...: see
        :data:`~empathy_cause.network._params.LOADER_SETTINGS`); fit refuses the others by name.
        """
        batches = self._training_batches(dataset) if training else self._inference_batches(dataset)
        settings = self._loader_settings("iterator_train" if training else "iterator_valid")
        return DataLoader(dataset, batch_sampler=batches, collate_fn=self._collate_fn(dataset), **settings)

    # --------------------------------------------------------------- training

    def fit(self, X, y=None, **fit_params):
        """Train on the sentence-row frame ``X`` and labels ``y`` (one 0/1 per row).

        Every parameter is checked before any training starts. Each ``fit``
        starts from new weights (unless ``warm_start``) under the seed of
        ``random_state`` (a fresh one when it is None). Ctrl-C
        (KeyboardInterrupt) during the epochs stops training the skorch way:
        the best epoch's weights are restored (with early stopping), the
        threshold is tuned, ``fit`` returns, and ``interrupted_`` is True (it is
        False after a fit that ran to the end). ``save`` records it.
        """
        self._check_fit_input(X, y)
        self.seed_ = _new_seed(self.random_state)
        initialize = not self.warm_start or not getattr(self, "initialized_", False)
        return self._train(X, y, initialize, self.seed_, _routing_method="fit", **fit_params)

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        """Train for ``max_epochs`` more epochs, without re-initialising a fitted net.

        The first call initialises the net as ``fit`` does (parameters
        checked, seeded by ``random_state``); later calls continue from the
        current weights, seeded by ``random_state`` and the epochs so far. The
        threshold is tuned after each call, as after ``fit``. ``classes`` is
        accepted for scikit-learn's signature and unused (always ``[0, 1]``).
        """
        self._check_fit_input(X, y)
        initialize = not getattr(self, "initialized_", False)
        if initialize:
            self.seed_ = _new_seed(self.random_state)
        torch_seed = self.seed_ if initialize else (self.seed_ + len(self.history_)) % 2**32
        return self._train(X, y, initialize, torch_seed, **fit_params)

    def _check_fit_input(self, X, y) -> None:
        self._check_params()
        self._check_param_names()
        if y is None and not isinstance(X, PairRows):
            raise ValueError("y is required: one 0/1 label per row of X")
        self._load_pretrained_models()
        self._check_pretrained_limits()

    #: The parameter that names the pretrained model (its identity is recorded at fit and saved).
    _pretrained_param = "encoder"

    def _pretrained_identity(self) -> dict:
        """The pretrained model the parameters name, by identity (``encoders.pretrained.model_identity``)."""
        return model_identity(getattr(self, self._pretrained_param), self._pretrained_param)

    def _pretrained_config(self):
        """The Hugging Face config of the pretrained model (loaded), for the limits it sets."""
        raise NotImplementedError

    def _check_pretrained_limits(self) -> None:
        """``max_length`` within the pretrained model's positions (else a tensor-size error on a long text)."""
        config, tokenizer = self._pretrained_config()
        limits = [n for n in (getattr(config, "max_position_embeddings", None),
                              getattr(tokenizer, "model_max_length", None))
                  if isinstance(n, int) and 0 < n < 1_000_000]   # tokenizers say 1e30 for "no limit"
        if limits and self.max_length > min(limits):
            name = getattr(self, self._pretrained_param)
            raise InvalidParameterError(
                f"The 'max_length' parameter of {type(self).__name__} is {self.max_length}, but the "
                f"{self._pretrained_param} {'(the embedded MiniLM)' if name is None else repr(str(name))} takes at "
                f"most {min(limits)} tokens (its max_position_embeddings / model_max_length); use "
                f"max_length <= {min(limits)}")

    def _train(self, X, y, initialize, torch_seed, **fit_params):
        """skorch's partial_fit (callbacks, epochs, threshold tuning) in a seeded torch RNG of its own."""
        _refuse_fit_params(type(self).__name__, fit_params)
        self.interrupted_ = False
        # The validation split is checked before the (costly) encoding: a bad fraction fails at once.
        unprepared = self._unprepared_dataset(X, y)
        check_rows_against_fit(self, X, fitting=True, initialize=initialize)
        if initialize:
            self.validation_plan_ = validation_plan(self, unprepared)
        warn_if_validation_too_small(self, unprepared)
        dataset = unprepared if isinstance(X, PairRows) else self._prepare_dataset(unprepared)
        epochs = threshold = None
        if initialize and self.validation_plan_ == "crossfit":
            epochs, threshold = crossfit(self, dataset)
        with torch.random.fork_rng(devices=[]), self._head_threads():
            torch.manual_seed(torch_seed)
            if initialize:
                self.initialize()
                self._start_module(self.get_split_datasets(dataset)[0])
            super().partial_fit(dataset, None, epochs=epochs, **fit_params)
        if threshold is not None and self.threshold == "auto":
            self.tuned_threshold_ = threshold
        return self

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        """skorch's loop; a KeyboardInterrupt is recorded in ``interrupted_`` (skorch then swallows it).

        skorch's ``EarlyStopping`` also ends training by raising
        KeyboardInterrupt: that one is a normal end, not an interruption.
        """
        try:
            return super().fit_loop(X, y, epochs=epochs, **fit_params)
        except KeyboardInterrupt:
            self.interrupted_ = not any(isinstance(cb, SkorchEarlyStopping) and cb.misses_ >= cb.patience
                                        for _, cb in self.callbacks_)
            raise

    def decision_threshold(self) -> float:
        """The threshold ``predict`` applies: ``threshold``, or the tuned one for "auto"."""
        constraint = {"threshold": self._parameter_constraints["threshold"]}
        _refuse_bool_numbers(constraint, {"threshold": self.threshold}, type(self).__name__)
        validate_parameter_constraints(constraint, {"threshold": self.threshold}, caller_name=type(self).__name__)
        if self.threshold != "auto":
            return float(self.threshold)
        if hasattr(self, "tuned_threshold_"):
            return self.tuned_threshold_
        if getattr(self, "initialized_", False) and hasattr(self, "fitted_params_"):
            raise NotFittedError(f"{type(self).__name__} was fitted with threshold="
                                 f"{self.fitted_params_.get('threshold')!r}: threshold='auto' needs a refit")
        return 0.5

    def _head_threads(self):
        """Context in which training and scoring run (subclasses may limit threads)."""
        return contextlib.nullcontext()

    def _start_module(self, train_dataset) -> None:
        """Hook: set the new module's starting weights from the training rows (before the first epoch)."""

    def _load_pretrained_models(self) -> None:
        """Load (into the process cache) the pretrained models ``initialize_module`` uses."""

    def _build_module(self) -> torch.nn.Module:
        """The module for the current parameters (``initialize_module`` stores it as ``module_``)."""
        raise NotImplementedError

    def infer(self, x, **fit_params):
        tensors = {k: v.to(self.device) for k, v in x.tensors.items()}
        return self.module_(**tensors, **fit_params)

    # ------------------------------------------------------------- prediction

    def predict_proba(self, X):
        """Probability of non-cause and cause for each row of X, in X's row order."""
        if isinstance(X, PairRows):
            return super().predict_proba(X)
        self.check_is_fitted()
        self._check_unchanged()
        dataset = self.get_dataset(X)
        check_rows_against_fit(self, X)
        # Score in the order that batches best, then restore X's order.
        order = self._scoring_order(dataset)
        proba = np.empty((len(dataset), 2), dtype=np.float32)
        with self._head_threads():
            proba[order] = super().predict_proba(dataset.subset(order))
        return proba

    def predict(self, X):
        """1 for rows whose cause probability is at least :meth:`decision_threshold`, else 0."""
        threshold = self.decision_threshold()
        return (self.predict_proba(X)[:, 1] >= threshold).astype(np.int64)
