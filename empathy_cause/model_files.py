"""The model folder: ``config.json`` + ``model.safetensors``, written and read without pickle.

:func:`save_model` and :func:`load_model` are what the estimators' ``save``
and ``load`` do (see ``docs/model-files.md``): the format version, the strict
JSON reading (UTF-8, no NaN/Infinity, no duplicate keys, at most 1 MB), the
exact schema of saved parameters, and the safetensors checks (names, shapes
and dtypes of exactly the module's tensors, all finite; the header is checked
against a meta-device skeleton before anything is allocated). Nothing here
imports the estimators; they call in.
"""

from __future__ import annotations

import inspect
import json
import math
import os
import shutil
import uuid
import warnings
from pathlib import Path

import numpy as np
import torch

__all__ = ["ModelFileError", "FORMAT_VERSION", "CONFIG_FILE", "WEIGHTS_FILE", "save_model", "load_model"]

#: Version of the model folder layout written by ``save`` (1: before routed parameters were saved).
FORMAT_VERSION = 2
#: The two files of a model folder.
CONFIG_FILE, WEIGHTS_FILE = "config.json", "model.safetensors"
# A config.json is a few kB; anything much larger is not one.
_MAX_CONFIG_BYTES = 1_000_000
# Routed parameters a model folder may carry (their values: JSON numbers, strings, booleans, null).
_SAVED_PREFIXES = ("module__", "optimizer__")


class ModelFileError(ValueError):
    """A model folder that ``load`` refuses: not what ``save`` writes (names the file)."""


def save_model(net, path) -> Path:
    """Write the fitted ``net`` to the folder ``path`` (the estimators' ``save``; see there)."""
    from safetensors.torch import save_file

    net.check_is_fitted()
    net._check_unchanged()
    module_class, nonlinearity = type(net)._init_default("module"), type(net)._init_default(
        "predict_nonlinearity")
    if net.module is not module_class or net.predict_nonlinearity is not nonlinearity:
        raise ValueError(f"{type(net).__name__}.save: a custom module or predict_nonlinearity cannot be "
                         "written without pickle; use joblib for such a model")
    params = {}
    for name in net._saved_param_names():
        value = net.threshold if name == "threshold" else net.fitted_params_.get(name, getattr(net, name))
        params[name] = _to_json(value, name)
    config = {"format_version": FORMAT_VERSION, "class": type(net).__name__, "params": params,
              "tuned_threshold": getattr(net, "tuned_threshold_", None) if net.threshold == "auto" else None,
              "partial": bool(getattr(net, "interrupted_", False))}
    state = {k: v.detach().cpu().contiguous() for k, v in net.module_.state_dict().items()}

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


def load_model(cls, path, **overrides):
    """A ``cls`` estimator from the model folder ``path`` (the estimators' ``load``; see there)."""
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
                      stacklevel=3)  # the caller of the estimator's load
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
