"""The parameter bookkeeping of the skorch estimators: checks, the fitted-model record, ``set_params``.

:class:`~empathy_cause.network._base.BaseCauseClassifier` mixes :class:`_DeclaredParameters`
in; it reads the class's ``_parameter_constraints``, ``_training_params``,
``_runtime_params`` and ``_unsaved_params``.
"""

from __future__ import annotations

import difflib
import math
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import Interval, InvalidParameterError, validate_parameter_constraints
from skorch.exceptions import NotInitializedError

from .model_files import _SAVED_PREFIXES


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


def _check_device(device, owner) -> None:
    """A device torch can use here, or an ``InvalidParameterError`` saying why (not torch's AssertionError later)."""
    try:
        kind = torch.device(device).type
    except (RuntimeError, TypeError, ValueError):
        raise InvalidParameterError(f"The 'device' parameter of {owner} must be a torch device such as 'cpu' or "
                                    f"'cuda'. Got {device!r} instead.") from None
    available = {"cuda": torch.cuda.is_available,
                 "mps": lambda: getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()}
    if kind in available and not available[kind]():
        raise InvalidParameterError(f"The 'device' parameter of {owner} is {device!r}, but this torch cannot use "
                                    f"{kind} (torch.{kind if kind == 'cuda' else 'backends.mps'}.is_available() is "
                                    "False: no such GPU, or torch was built without it); use device='cpu'.")


class _DeclaredParameters:
    """The parameter bookkeeping of :class:`BaseCauseClassifier`: checks, the fitted-model record, set_params.

    Reads the class's ``_parameter_constraints``, ``_training_params``,
    ``_runtime_params`` and ``_unsaved_params``.
    """

    def _check_params(self) -> None:
        """Check every declared parameter against ``_parameter_constraints`` (before any training).

        Raises ``ValueError`` (scikit-learn's ``InvalidParameterError``) naming
        the parameter, its valid values and the value given.
        """
        params = {name: getattr(self, name) for name in self._parameter_constraints}
        validate_parameter_constraints(self._parameter_constraints, params, caller_name=type(self).__name__)
        _check_device(self.device, type(self).__name__)
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
        unknown = sorted(k for k in given if "__" not in k and not k.endswith("_") and k not in known)
        if unknown:
            close = {k: difflib.get_close_matches(k, sorted(known), n=1) for k in unknown}
            hints = "; ".join(f"{k!r}: did you mean {c[0]!r}?" if c else f"{k!r}" for k, c in close.items())
            raise InvalidParameterError(
                f"{type(self).__name__} has no parameter {hints} (its parameters: help({type(self).__name__}); "
                "a setting of a part of the net takes its prefix, e.g. optimizer__weight_decay)")

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

    def check_is_fitted(self, attributes=None, *args, **kwargs):
        """skorch's check, with a message that says what to call."""
        try:
            super().check_is_fitted(attributes, *args, **kwargs)
        except NotInitializedError:
            raise NotInitializedError(
                f"This {type(self).__name__} is not fitted yet: call fit(X, y) first, or load a saved model "
                f"with {type(self).__name__}.load(path)") from None
