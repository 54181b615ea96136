"""The parameter bookkeeping of the skorch estimators: checks, the lifecycle, the fitted-model record.

:class:`~empathy_cause.network._base.BaseCauseClassifier` mixes :class:`_DeclaredParameters`
in; it reads the class's two tables, side by side: ``_parameter_constraints``
(scikit-learn's valid values) and ``_parameter_lifecycle`` (what a parameter
is to a fitted model: one of the four kinds below).
"""

from __future__ import annotations

import difflib
import math
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import Interval, InvalidParameterError, validate_parameter_constraints
from skorch.dataset import Dataset as SkorchDataset
from skorch.exceptions import NotInitializedError
from torch.utils.data import DataLoader

from ..encoders.pretrained import identity_text, same_identity

# The lifecycle of a parameter: what changing it after fit does, and whether save writes it.
#: Defines the fitted model: after a change, predict, save and explain ask for a refit. Saved.
MODEL = "model"
#: Read by fit only: a change takes effect at the next fit. Saved (the model says how it was trained).
TRAINING = "training"
#: Takes effect at once. Saved (the model's decision threshold).
RUNTIME = "runtime"
#: Takes effect at once; never saved: this machine's settings (a received model folder cannot set them).
LOCAL = "local"
LIFECYCLES = (MODEL, TRAINING, RUNTIME, LOCAL)
_SAVED = (MODEL, TRAINING, RUNTIME)
#: The routed parameters' lifecycle, by prefix (skorch's other prefixes neither define the model nor are saved).
ROUTED_LIFECYCLE = {"module__": MODEL, "optimizer__": TRAINING}
#: skorch's parameters that define the module; not saved as values (save takes only the class's own).
_SKORCH_MODEL_PARAMS = ("module", "predict_nonlinearity")

#: The DataLoader settings that ``iterator_train__*`` / ``iterator_valid__*`` pass on (skorch's routing).
#: The estimators build their own loader (batches of whole pairs from their samplers, their collate
#: function), so the other DataLoader arguments (batch_size, shuffle, sampler, batch_sampler,
#: collate_fn, drop_last, generator, in_order) are refused by name: they would be ignored or break
#: the row order predict_proba restores.
LOADER_SETTINGS = ("num_workers", "pin_memory", "pin_memory_device", "timeout", "worker_init_fn",
                   "multiprocessing_context", "prefetch_factor", "persistent_workers")
_LOADERS = ("iterator_train", "iterator_valid")


def _same_setting(a, b) -> bool:
    """Whether two parameter values are the same setting (numpy-safe)."""
    if a is b:
        return True
    try:
        return type(a) is type(b) and bool(np.all(a == b))
    except Exception:  # noqa: BLE001 - values that cannot be compared differ
        return False


def _int(low, high=None):
    return Interval(Integral, low, high, closed="both" if high is not None else "left")


def _device_available(kind: str) -> bool:
    """Whether this torch can compute on devices of ``kind`` here (cpu always; meta never: it holds no data)."""
    if kind == "cpu":
        return True
    if kind == "mps":
        return getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    backend = getattr(torch, kind, None)   # torch.cuda, torch.xpu, torch.npu (when its plugin is installed), ...
    is_available = getattr(backend, "is_available", None)
    try:
        return bool(is_available()) if callable(is_available) else False
    except Exception:  # noqa: BLE001 - a backend that cannot even say: not usable
        return False


def _check_device(device, owner) -> None:
    """A device torch can use here, or an ``InvalidParameterError`` saying why (not torch's error later)."""
    try:
        parsed = torch.device(device)
        kind = parsed.type
    except (RuntimeError, TypeError, ValueError):
        raise InvalidParameterError(f"The 'device' parameter of {owner} must be a torch device such as 'cpu' or "
                                    f"'cuda'. Got {device!r} instead.") from None
    if kind == "meta":
        raise InvalidParameterError(f"The 'device' parameter of {owner} is {device!r}: the meta device holds no "
                                    "data, so nothing can be trained or predicted on it; use device='cpu'.")
    if not _device_available(kind):
        where = "torch.backends.mps" if kind == "mps" else f"torch.{kind}"
        raise InvalidParameterError(f"The 'device' parameter of {owner} is {device!r}, but this torch cannot use "
                                    f"{kind} here ({where}.is_available() is False: no such device, or torch "
                                    "was built without it); use device='cpu'.")
    count = getattr(getattr(torch, kind, None), "device_count", None)
    if parsed.index is not None and kind != "cpu" and callable(count) and parsed.index >= count():
        raise InvalidParameterError(f"The 'device' parameter of {owner} is {device!r}, but there are only "
                                    f"{count()} {kind} device(s) here (numbered from 0).")


def _refuse_unknown_names(owner, names, known) -> None:
    """One line for names that are no parameter (routed ``a__b`` names are skorch's), with the closest ones."""
    unknown = sorted(k for k in names if "__" not in k and k not in known)
    if unknown:
        close = {k: difflib.get_close_matches(k, sorted(known), n=1) for k in unknown}
        hints = "; ".join(f"{k!r}: did you mean {c[0]!r}?" if c else f"{k!r}" for k, c in close.items())
        raise InvalidParameterError(
            f"{owner} has no parameter {hints} (its parameters: help({owner}); a setting of a part of the net "
            "takes its prefix, e.g. optimizer__weight_decay)")


def _refuse_bool_numbers(constraints, params, owner) -> None:
    """A bool where a number is expected is refused (scikit-learn's Interval takes True as 1: threshold=true)."""
    for name, value in params.items():
        if isinstance(value, (bool, np.bool_)) and any(isinstance(c, Interval) for c in constraints[name]) \
                and "boolean" not in constraints[name]:
            raise InvalidParameterError(f"The {name!r} parameter of {owner} must be a number, got {value!r} "
                                        "(true/false are not numbers here).")


#: skorch parameters that take code (a class or a callable), with what they may be instead.
_CODE_PARAMS = {"module": "a torch.nn.Module class or instance", "criterion": "None or a torch loss class",
                "optimizer": "a torch optimizer class", "train_split": "None or a callable",
                "predict_nonlinearity": "a function, 'auto' or None"}


def _check_code_params(net) -> None:
    """Refuse text (or any non-callable) where skorch expects code, before any encoding or training.

    From the command line ``--param module=os.system`` arrives as the text
    ``"os.system"``: skorch would fail only when it initialises the net,
    after the sentences are encoded.
    """
    for name, expected in _CODE_PARAMS.items():
        value = getattr(net, name, None)
        if value is None:   # None: the estimator builds its own (QA's module), or skorch's default
            ok = name != "optimizer" and (name != "module" or type(net)._init_default("module") is None)
        elif isinstance(value, str):
            ok = name == "predict_nonlinearity" and value == "auto"
        else:
            ok = callable(value) or isinstance(value, torch.nn.Module)
        if not ok:
            shown = f"the text {value!r}" if isinstance(value, str) else f"{type(value).__name__} {value!r}"
            raise InvalidParameterError(
                f"The {name!r} parameter of {type(net).__name__} must be {expected}, got {shown}: code cannot be "
                "named by text (from the command line, only the estimator's own parameters can be set); pass it "
                "from Python")


class _DeclaredParameters:
    """The parameter bookkeeping of :class:`BaseCauseClassifier`: checks, the lifecycle, set_params.

    Reads the class's ``_parameter_constraints`` and ``_parameter_lifecycle``
    (a declared parameter it does not list is :data:`MODEL`).
    """

    _parameter_constraints: dict = {}
    _parameter_lifecycle: dict = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        undeclared = sorted(set(cls._parameter_lifecycle) - set(cls._parameter_constraints))
        unknown = sorted({v for v in cls._parameter_lifecycle.values()} - set(LIFECYCLES))
        if undeclared or unknown:
            raise TypeError(f"{cls.__name__}._parameter_lifecycle: {undeclared or unknown} "
                            f"(each entry a declared parameter, each value one of {LIFECYCLES})")

    @classmethod
    def _lifecycle(cls, name) -> str:
        """The lifecycle of a declared parameter (:data:`MODEL` unless the table says otherwise)."""
        return cls._parameter_lifecycle.get(name, MODEL)

    def _check_params(self) -> None:
        """Check every declared parameter against ``_parameter_constraints`` (before any training).

        Raises ``ValueError`` (scikit-learn's ``InvalidParameterError``) naming
        the parameter, its valid values and the value given.
        """
        params = {name: getattr(self, name) for name in self._parameter_constraints}
        _refuse_bool_numbers(self._parameter_constraints, params, type(self).__name__)
        validate_parameter_constraints(self._parameter_constraints, params, caller_name=type(self).__name__)
        _check_device(self.device, type(self).__name__)
        _check_code_params(self)
        if self.class_weight is not None:
            weights = np.asarray(self.class_weight, dtype=object)
            ok = weights.shape == (2,) and all(
                isinstance(w, Real) and not isinstance(w, bool) and math.isfinite(w) and w > 0 for w in weights)
            if not ok:
                raise InvalidParameterError(
                    f"The 'class_weight' parameter of {type(self).__name__} must be None or two positive "
                    f"numbers (weight of non-causes, weight of causes). Got {self.class_weight!r} instead.")

    def _check_param_names(self) -> None:
        """Raise for a constructor argument that is no parameter (a typo), naming the closest ones.

        skorch would raise later, at initialisation, with "...or you added new
        arguments in a subclass", which sends a user looking in the wrong place.
        Routed names (``optimizer__eps``, ``module__x``) are left to skorch.
        """

        given = self._params_to_validate  # the arguments skorch's own __init__ did not bind
        known = {k for k in self.get_params(deep=False) if k not in given} | set(self.prefixes_)
        _refuse_unknown_names(type(self).__name__, [k for k in given if not k.endswith("_")], known)
        self._check_skorch_routes()

    def _check_skorch_routes(self) -> None:
        """Refuse, by name, the skorch settings these estimators cannot honour.

        skorch would accept them and they would do nothing: the estimators
        build their dataset from the frame (:class:`~empathy_cause.network.batching.PairRows`)
        and their own DataLoader (see :meth:`_loader_settings`).
        """
        owner = type(self).__name__
        for loader in _LOADERS:
            if getattr(self, loader) is not DataLoader:
                raise InvalidParameterError(
                    f"{owner} builds its own torch DataLoader (batches of whole pairs): {loader}= cannot replace "
                    f"it; pass DataLoader settings as {loader}__<name> ({', '.join(LOADER_SETTINGS)})")
            self._loader_settings(loader)
        dataset_settings = sorted(k for k in vars(self) if k.startswith("dataset__"))
        if self.dataset is not SkorchDataset or dataset_settings:
            given = ", ".join(dataset_settings) or "dataset="
            raise InvalidParameterError(
                f"{owner} does not use {given}: its dataset is built from the sentence-row frame "
                "(pass a frame, or a PairRows, to fit)")

    def _loader_settings(self, loader) -> dict:
        """The DataLoader settings given as ``{loader}__*`` (``loader``: "iterator_train" or "iterator_valid").

        Only :data:`LOADER_SETTINGS` are taken; any other name raises an
        ``InvalidParameterError`` (a ``ValueError``) naming it.
        """
        settings = self.get_params_for(loader)
        refused = sorted(k for k in settings if k not in LOADER_SETTINGS)
        if refused:
            names = ", ".join(f"{loader}__{k}" for k in refused)
            raise InvalidParameterError(
                f"{type(self).__name__} does not take {names}: batches are whole pairs from its own samplers "
                f"(batch_size= sets the pairs per training batch); {loader}__ takes only "
                f"{', '.join(LOADER_SETTINGS)}")
        return settings

    def get_params(self, deep=True, **kwargs):
        """The estimator's parameters, without skorch's callback internals.

        skorch's ``get_params`` also lists every default callback and each of
        its settings (``callbacks__print_log__sink``, ...) and its bookkeeping
        ``_params_to_validate``. They stay settable (``set_params`` routes
        ``callbacks__*`` itself, and ``clone`` rebuilds the bookkeeping from
        the arguments); callback settings you set yourself are listed.
        """
        params = super().get_params(deep=deep, **kwargs)
        own = vars(self)  # callbacks__* set by the user: their value as set (skorch may list a fresh default)
        return {k: own[k] if k.startswith("callbacks__") else v for k, v in params.items()
                if k != "_params_to_validate" and (not k.startswith("callbacks__") or k in own)}

    def _routed_names(self, lifecycles) -> list:
        prefixes = tuple(p for p, kind in ROUTED_LIFECYCLE.items() if kind in lifecycles)
        return sorted(k for k in vars(self) if k.startswith(prefixes)) if prefixes else []

    def _model_param_names(self) -> list:
        """The parameters that define the fitted model: :data:`MODEL` ones, ``module`` and ``module__*``."""
        names = [n for n in self._parameter_constraints if self._lifecycle(n) == MODEL]
        return names + list(_SKORCH_MODEL_PARAMS) + self._routed_names((MODEL,))

    def _saved_param_names(self) -> list:
        """What ``save`` writes: every declared parameter but the :data:`LOCAL` ones, and the routed ones."""
        names = [n for n in self._parameter_constraints if self._lifecycle(n) in _SAVED]
        return names + self._routed_names(_SAVED)

    def set_params(self, **kwargs):
        """As skorch's, except that a fitted module is never silently re-initialised.

        skorch re-creates the module at once when a ``module__*`` parameter is
        set on an initialised net, throwing the trained weights away. Here the
        new value is stored and takes effect at the next ``fit``; until then
        predict, save and explain raise a "refit" error.
        """
        self._check_set_param_names(kwargs)
        if not getattr(self, "initialized_", False) or not any(k.startswith("module__") for k in kwargs):
            return super().set_params(**kwargs)
        self.initialized_ = False
        try:
            return super().set_params(**kwargs)
        finally:
            self.initialized_ = True

    def _check_set_param_names(self, kwargs) -> None:
        """An unknown name given to ``set_params`` (``treshold``) is one line with the closest names.

        skorch's own error prints the whole estimator and every valid name.
        Routed names (``optimizer__eps``, ``callbacks__...``) are left to skorch.
        """
        _refuse_unknown_names(type(self).__name__, kwargs, set(self.get_params(deep=False)))

    def _check_unchanged(self) -> None:
        """Raise if a parameter that defines the fitted model changed since fit/load."""
        fitted = getattr(self, "fitted_params_", None)
        if fitted is None:
            return
        current = set(self._model_param_names())
        changed = sorted({n for n in current if n not in fitted or not _same_setting(getattr(self, n), fitted[n])}
                         | {n for n in fitted if n.startswith("module__") and n not in current})
        if changed:
            detail = ", ".join(f"{n}={fitted.get(n, '<unset>')!r} -> {getattr(self, n, '<unset>')!r}"
                               for n in changed)
            raise NotFittedError(
                f"{type(self).__name__}: parameters that define the fitted model changed since it was fitted "
                f"({detail}); call fit again to use them, or set them back")
        trained = getattr(self, "pretrained_identity_", None)
        if trained is not None:   # the same parameter value may name other files now (a relative path, new weights)
            here = self._pretrained_identity()
            if not same_identity(trained, here):
                raise NotFittedError(
                    f"{type(self).__name__}: the {self._pretrained_param} {identity_text(here)} is not the one the "
                    f"model was trained with, {identity_text(trained)}; put the trained one back, or call fit again")

    def check_is_fitted(self, attributes=None, *args, **kwargs):
        """skorch's check, with a message that says what to call."""
        try:
            super().check_is_fitted(attributes, *args, **kwargs)
        except NotInitializedError:
            raise NotInitializedError(
                f"This {type(self).__name__} is not fitted yet: call fit(X, y) first, or load a saved model "
                f"with {type(self).__name__}.load(path)") from None
