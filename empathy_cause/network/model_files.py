"""The model folder: ``config.json`` + ``model.safetensors``, written and read without pickle.

:func:`save_model` and :func:`load_model` are what the estimators' ``save``
and ``load`` do (see ``docs/model-files.md``): the format marker and version,
the strict JSON reading (UTF-8, no NaN/Infinity, no duplicate keys, at most
1 MB, regular files only), the exact schema of saved parameters, and the
safetensors checks (names, shapes and dtypes of exactly the module's tensors,
all finite; the header is checked against a meta-device skeleton before
anything is allocated). Nothing here imports the estimators; they call in.

A folder is recognised as a model folder by its own marker, never by its file
names: ``config.json`` says ``"format": "empathy-cause-model"``. ``save``
replaces only an empty folder or one carrying the marker, and
:func:`check_model_target` lets a caller (``empathy-cause train``) refuse a
target before any work.

Readers never see a mix of two saves. ``config.json`` carries the SHA-256 of
``model.safetensors``; ``load`` reads each file once, into memory, and
builds the model from those bytes only if the checksum matches. A mismatch,
or a folder missing while a save is renaming it into place, is what a load
racing a save sees: it reads again (a few times, within about a second) and
then fails with a clear error, never with a model mixed from two saves.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import inspect
import json
import math
import os
import shutil
import stat
import time
import uuid
import warnings
from pathlib import Path

import numpy as np
import torch

__all__ = ["ModelFileError", "FORMAT", "FORMAT_VERSION", "CONFIG_FILE", "WEIGHTS_FILE", "save_model", "load_model",
           "check_model_target"]

#: The marker in every ``config.json`` that ``save`` writes: what makes a folder a model folder.
FORMAT = "empathy-cause-model"
#: Version of the model folder layout written by ``save`` (1: before routed parameters were saved;
#: 2: before the format marker and the weights' checksum).
FORMAT_VERSION = 3
#: The estimators whose folders an older version wrote (no marker yet): ``save`` may replace those too.
_LEGACY_CLASSES = ("EmpathyCauseClassifier", "QAClassifier")
_CONFIG_KEYS = {"format", "format_version", "class", "params", "tuned_threshold", "partial", "weights_sha256"}
# Reads of a folder that a save is replacing: tries, and the first pause (doubled each time; ~1.3 s in all).
_READ_TRIES, _FIRST_PAUSE = 8, 0.01
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
    from safetensors.torch import save

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
    weights = save(state)
    config = {"format": FORMAT, **config, "weights_sha256": hashlib.sha256(weights).hexdigest()}

    real = check_model_target(path)
    real.parent.mkdir(parents=True, exist_ok=True)
    temporary = real.parent / f".{real.name}.partial-{uuid.uuid4().hex[:8]}"
    olds = []
    try:
        temporary.mkdir()
        _write_synced(temporary / WEIGHTS_FILE, weights)
        _write_synced(temporary / CONFIG_FILE, json.dumps(config, indent=2, allow_nan=False).encode())
        for attempt in range(3):
            if real.exists():
                olds.append(real.parent / f".{real.name}.old-{uuid.uuid4().hex[:8]}")
                with contextlib.suppress(FileNotFoundError):  # another save may have moved it first
                    real.rename(olds[-1])
            try:
                temporary.rename(real)
                break
            except OSError as exc:  # another save renamed its folder in between: last save wins
                if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST) or attempt == 2:
                    raise
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
        for old in olds:
            shutil.rmtree(old, ignore_errors=True)
    return Path(path)


def _write_synced(file: Path, data: bytes) -> None:
    """Write ``data`` and flush it to the disk (a full disk raises ``OSError`` here, not at some later close)."""
    with open(file, "xb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def check_model_target(path) -> Path:
    """Check that ``save`` may write the folder ``path``; return it with symlinks resolved.

    ``save`` creates a new folder or replaces an empty one or a model folder
    (its ``config.json`` carries the ``"format": "empathy-cause-model"`` marker,
    or is an older version's config); a symlink is followed, so the folder it
    points to is replaced and the link kept. Anything else is refused before
    any work: a file, a folder holding other files (a Hugging Face
    ``save_pretrained`` folder, a ``config.json`` of your own), the current
    working directory or a folder above it.

    Raises
    ------
    FileExistsError, ValueError
        Naming the folder and what to do instead.
    """
    path = Path(path)
    real = path.expanduser().resolve()
    cwd = Path.cwd().resolve()
    if real == cwd or real in cwd.parents:
        raise ValueError(f"cannot save a model into {str(path)!r}: it is the current working folder (or holds "
                         "it), which save would replace; give a new subfolder, e.g. 'my-model'")
    if not real.exists():
        if path.is_symlink():
            raise FileExistsError(f"{path} is a symlink to {real}, which does not exist; remove the link or "
                                  "create the folder it points to")
        return real
    if not real.is_dir():
        raise FileExistsError(f"{path} exists and is a file, not a model folder; choose another path")
    names = sorted(p.name for p in real.iterdir())
    if not names:
        return real
    if not set(names) <= {CONFIG_FILE, WEIGHTS_FILE}:
        others = [n for n in names if n not in (CONFIG_FILE, WEIGHTS_FILE)]
        raise FileExistsError(f"{path} holds files that save() did not write ({others[:3]}"
                              f"{', ...' if len(others) > 3 else ''}); save to a new or empty folder, or delete "
                              "the folder first if you mean to replace it")
    if not _carries_marker(real / CONFIG_FILE):
        raise FileExistsError(f"{path}/{CONFIG_FILE} was not written by save() (it has no \"format\": "
                              f"\"{FORMAT}\" marker: a config of your own, or a Hugging Face model?); save to a "
                              "new or empty folder, or delete the folder first if you mean to replace it")
    return real


def _carries_marker(config_file: Path) -> bool:
    """Whether ``config.json`` is one that save wrote: this format's marker, or an older version's config."""
    try:
        config = json.loads(_read_regular(config_file, _MAX_CONFIG_BYTES).decode("utf-8"))
    except (OSError, ValueError, ModelFileError):
        return False
    if not isinstance(config, dict):
        return False
    return config.get("format") == FORMAT or (
        config.get("format_version") in (1, 2) and config.get("class") in _LEGACY_CLASSES
        and set(config) <= _CONFIG_KEYS)


def _read_regular(file: Path, max_bytes=None) -> bytes:
    """The bytes of ``file``, read through one descriptor: a regular file only (no symlink, FIFO or folder)."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        descriptor = os.open(file, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ModelFileError(f"{file}: is a symlink; a model folder holds regular files only "
                                 "(copy the file in)") from None
        raise
    mode = os.fstat(descriptor).st_mode
    if not stat.S_ISREG(mode):
        os.close(descriptor)
        kind = "a folder" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode) else "not a regular file"
        raise ModelFileError(f"{file}: is {kind}; a model folder holds regular files only")
    with open(descriptor, "rb", closefd=True) as handle:
        data = handle.read() if max_bytes is None else handle.read(max_bytes + 1)
    if max_bytes is not None and len(data) > max_bytes:
        raise ModelFileError(f"{file}: larger than {max_bytes} bytes; not a config written by save()")
    return data


def load_model(cls, path, **overrides):
    """A ``cls`` estimator from the model folder ``path`` (the estimators' ``load``; see there)."""
    path = Path(path)
    config_file, weights_file = path / CONFIG_FILE, path / WEIGHTS_FILE
    config, weights = _read_snapshot(path)
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
    try:
        net._load_pretrained_models()
    except (OSError, ValueError, TypeError, KeyError, RuntimeError) as exc:
        given = "given to load" if any(k in overrides for k in ("encoder", "model")) else f"named in {config_file}"
        first_line = next((line for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
        raise ModelFileError(f"{config_file}: the pretrained model {given} cannot be loaded "
                             f"({first_line.strip().rstrip(':')})") from exc
    try:
        with torch.device("meta"):
            skeleton = net._build_module().state_dict()
    except (TypeError, ValueError, RuntimeError) as exc:
        raise ModelFileError(f"{config_file}: the parameters do not build a model ({exc})") from exc
    _check_weights_header(weights_file, weights, skeleton)
    try:
        net.initialize()
    except (TypeError, ValueError, RuntimeError) as exc:
        raise ModelFileError(f"{config_file}: the parameters do not build a model ({exc})") from exc
    _load_weights(net.module_, weights_file, weights)
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


def _parse_config(file: Path, data: bytes) -> dict:
    """Parse ``config.json`` strictly (UTF-8 JSON, no NaN/Infinity, no duplicate keys) and check its keys."""
    try:
        config = json.loads(data.decode("utf-8"), parse_constant=_reject_constant,
                            parse_float=_finite_float, object_pairs_hook=_unique_keys)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ModelFileError(f"{file}: not valid JSON as written by save() ({exc})") from exc
    _expect(file, isinstance(config, dict), "the file must hold a JSON object")
    if config.get("format") != FORMAT:
        version = config.get("format_version")
        _expect(file, version not in (1, 2),
                f"written by an older version of empathy_cause (format_version {version}; this version reads "
                f"{FORMAT_VERSION}): retrain, or load and save it with the version that wrote it")
        _expect(file, False, f"not a model folder written by save() (no \"format\": \"{FORMAT}\" marker)")
    _expect(file, set(config) == _CONFIG_KEYS,
            f"keys must be exactly {sorted(_CONFIG_KEYS)}, got {sorted(config)}")
    _expect(file, config["format_version"] == FORMAT_VERSION,
            f"unsupported format_version {config['format_version']!r} (this version reads {FORMAT_VERSION}; "
            "retrain or re-save the model with this version)")
    checksum = config["weights_sha256"]
    _expect(file, isinstance(checksum, str) and len(checksum) == 64, "'weights_sha256' must be a SHA-256 hex digest")
    return config


class _TornRead(Exception):
    """The two files of one read do not belong together (a save replaced the folder in between)."""


def _save_in_progress(path: Path) -> bool:
    """Whether a save is renaming a new folder onto ``path`` right now (its temporary folders exist)."""
    parent = path.parent
    with contextlib.suppress(OSError):
        return any(parent.glob(f".{path.name}.old-*")) or any(parent.glob(f".{path.name}.partial-*"))
    return False


def _read_snapshot(path: Path):
    """``(config, weights bytes)`` of one save: each file read once, the weights checked against the config."""
    config_file, weights_file = path / CONFIG_FILE, path / WEIGHTS_FILE
    pause = _FIRST_PAUSE
    for attempt in range(_READ_TRIES):
        last = attempt == _READ_TRIES - 1
        try:
            config = _parse_config(config_file, _read_regular(config_file, _MAX_CONFIG_BYTES))
            weights = _read_regular(weights_file)
            if hashlib.sha256(weights).hexdigest() != config["weights_sha256"]:
                raise _TornRead
            return config, weights
        except NotADirectoryError:
            raise ModelFileError(f"{path}: is a file, not a model folder written by save()") from None
        except FileNotFoundError as exc:
            if last or not _save_in_progress(path):
                raise FileNotFoundError(f"{exc.filename} not found: {path} is not a folder written by save()"
                                        ) from None
        except _TornRead:
            if last:
                raise ModelFileError(f"{weights_file}: does not match {config_file} (the checksum differs): one "
                                     "file was replaced or changed after save wrote them; re-save the model") from None
        time.sleep(pause)
        pause *= 2


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


def _header_shapes(file: Path, data: bytes) -> dict:
    """Tensor name -> shape from the safetensors header of ``data`` (8-byte length, then JSON), read strictly."""
    problem = None
    if len(data) < 8:
        problem = "shorter than its header"
    else:
        size = int.from_bytes(data[:8], "little")
        if size > len(data) - 8:
            problem = f"its header claims {size} bytes, the file has {len(data) - 8}"
    if problem is None:
        try:
            header = json.loads(data[8:8 + size].decode("utf-8"), parse_constant=_reject_constant,
                                object_pairs_hook=_unique_keys)
            header.pop("__metadata__", None)
            shapes = {name: tuple(int(n) for n in entry["shape"]) for name, entry in header.items()}
            if all(isinstance(name, str) for name in shapes):
                return shapes
            problem = "a tensor name is not text"
        except (UnicodeDecodeError, ValueError, RecursionError, AttributeError, KeyError, TypeError) as exc:
            problem = f"unreadable header: {exc}"
    raise ModelFileError(f"{file}: not a safetensors file written by save() ({problem})")


def _check_weights_header(file: Path, data: bytes, expected: dict) -> None:
    """Compare the tensor names and shapes in the safetensors header with ``expected`` (reads no tensor)."""
    shapes = _header_shapes(file, data)
    missing, unknown = set(expected) - set(shapes), set(shapes) - set(expected)
    _expect(file, not missing and not unknown,
            f"tensors do not match the model ({len(missing)} missing, e.g. {sorted(missing)[:2]}; "
            f"{len(unknown)} unknown, e.g. {sorted(unknown)[:2]}); was it saved with other parameters?")
    for name, shape in shapes.items():
        _expect(file, shape == tuple(expected[name].shape),
                f"tensor {name!r} has shape {shape}, the model needs {tuple(expected[name].shape)}")


def _load_weights(module: torch.nn.Module, file: Path, data: bytes) -> None:
    """Load the bytes of ``model.safetensors`` into ``module``: exactly its tensors, shapes and dtypes, all finite."""
    from safetensors import SafetensorError
    from safetensors.torch import load

    try:
        state = load(data)
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
