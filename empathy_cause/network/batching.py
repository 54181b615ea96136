"""Rows to batches: the dataset, the batch samplers and the collate function.

The estimators see one row per post sentence; here those rows are grouped
back into pairs. :class:`PairRows` holds every distinct sentence once and each
pair's post and reply as ids into that table; the samplers cut whole pairs into
batches; :class:`PairCollate` turns a batch of row positions into the module's
inputs (cached vectors for a frozen encoder, tokens for a fine-tuned one).

With a frozen encoder, what does not depend on trained weights is built once
per dataset and shared by its subset views (the validation split, the
cross-fitting folds): each pair's token rows (:meth:`PairRows.token_rows`) and
the similarity features of every post sentence (:func:`similarity_rows`). An
epoch then costs the head alone.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import torch

from ..data.chunking import run_ranks
from ..data.frame import POST, REPLY, SENTENCE_INDEX
from ..data.sentences import split_sentences

__all__ = ["PairRows", "PairBatch", "PairCollate", "PairBatchSampler", "ThreadBatchSampler", "RowBatchSampler",
           "InferenceBatchSampler", "token_layout", "flat_token_layout", "ragged_rows", "pad_ragged", "similarity_rows"]

# The batching constants, one place each. Inference has no gradient, so its batches are larger.
#: Pairs per inference batch of the co-attention network.
INFERENCE_PAIRS = 64
#: Rows (question-reply inputs) per inference batch of the QA baseline.
INFERENCE_ROWS = 64
#: Training batches are sorted by length within windows of this many batches.
BUCKET_BATCHES = 50


class PairRows(torch.utils.data.Dataset):
    """The rows of a validated frame, with each pair's sentences as ids into one text table.

    Items are row positions; the estimator's collate function turns a list of
    them into a batch. ``subset`` gives a view on some rows that shares the
    tables (used for the internal validation split).
    """

    def __init__(self, texts, post_ids, reply_ids, row_pair, row_sentence, row_thread, y, rows=None):
        self.texts = texts                # list[str]: every distinct sentence
        self.post_ids = post_ids          # per pair: ids of its post sentences
        self.reply_ids = reply_ids        # per pair: ids of its reply sentences
        self.row_pair = row_pair          # per row: pair code
        self.row_sentence = row_sentence  # per row: sentence index in the post
        self.row_thread = row_thread      # per row: thread code
        self.y = y
        self.rows = np.arange(len(row_pair)) if rows is None else np.asarray(rows)
        self.vectors = None               # frozen encoder: (len(texts), dim) tensor
        self.token_table = None           # frozen encoder, token features: (total tokens, dim) float16 tensor
        self.token_offsets = None         # ... where each text's tokens start in it (len(texts) + 1)
        self.similarity = None            # frozen encoder, token features: (post sentences, 15), see similarity_rows
        self._tables = {}                 # id and token tables, built once, shared by subset views

    @classmethod
    def from_frame(cls, X: pd.DataFrame, y=None) -> PairRows:
        """Build from a frame that passed ``validate_frame``."""
        row_pair, _ = pd.factorize(X["pair_id"])
        row_thread, _ = pd.factorize(X["thread_id"])
        _, first_rows = np.unique(row_pair, return_index=True)
        posts, replies = X[POST].to_numpy(), X[REPLY].to_numpy()
        _check_pairs_consistent(posts, replies, row_pair, first_rows, X["pair_id"].to_numpy())

        ids: dict[str, int] = {}
        post_ids = [np.array([ids.setdefault(s, len(ids)) for s in posts[r]]) for r in first_rows]
        reply_ids = [np.array([ids.setdefault(s, len(ids)) for s in (split_sentences(replies[r]) or [replies[r]])])
                     for r in first_rows]
        return cls(list(ids), post_ids, reply_ids, row_pair, X[SENTENCE_INDEX].to_numpy(np.int64),
                   row_thread, None if y is None else np.asarray(y, dtype=np.int64))

    def padded_ids(self, side: str) -> tuple[torch.Tensor, torch.Tensor]:
        """Every pair's post (``side="post"``) or reply sentence ids, right-padded with -1, and lengths."""
        if side not in self._tables:
            lists = self.post_ids if side == "post" else self.reply_ids
            index, mask = pad_index(lists)
            self._tables[side] = (index, mask.sum(1))
        return self._tables[side]

    def sentence_starts(self) -> np.ndarray:
        """Where each pair's post sentences start in a table of all post sentences, pair after pair (P + 1)."""
        if "sentences" not in self._tables:
            self._tables["sentences"] = np.r_[0, np.cumsum([len(ids) for ids in self.post_ids])]
        return self._tables["sentences"]

    def token_rows(self, side: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every pair's post (or reply) tokens as rows of ``token_table``, pair after pair (vectorised, built once).

        Returns ``(rows, starts, slots)``: pair ``k``'s tokens are
        ``rows[starts[k]:starts[k + 1]]``, and ``slots`` says which of the
        pair's sentences each token belongs to.
        """
        key = f"{side}_tokens"
        if key not in self._tables:
            lists = self.post_ids if side == "post" else self.reply_ids
            self._tables[key] = flat_token_layout(lists, self.token_offsets[:-1], np.diff(self.token_offsets))
        return self._tables[key]

    def subset(self, positions) -> PairRows:
        view = copy.copy(self)
        view.rows = self.rows[np.asarray(positions)]
        return view

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, i):
        return self.rows[i]


def _check_pairs_consistent(posts, replies, row_pair, first_rows, pair_ids):
    """Rows sharing a pair_id must carry the same post and reply."""
    first = first_rows[row_pair]
    for row in np.flatnonzero(first != np.arange(len(row_pair))):
        f = first[row]
        if not (posts[row] is posts[f] or tuple(posts[row]) == tuple(posts[f])) or replies[row] != replies[f]:
            raise ValueError(
                f"rows {f} and {row} share pair_id {pair_ids[row]!r} but carry different "
                "post or reply text; give each pair its own pair_id (or drop the column "
                "to derive ids from the content)"
            )


def ragged_rows(starts, counts) -> np.ndarray:
    """``starts[i], starts[i] + 1, ..., starts[i] + counts[i] - 1`` for every ``i``, concatenated (vectorised)."""
    starts, counts = np.asarray(starts, dtype=np.int64), np.asarray(counts, dtype=np.int64)
    return np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())


def pad_ragged(flat: np.ndarray, starts: np.ndarray, which: np.ndarray, fill: int = -1) -> np.ndarray:
    """Parts ``which`` of a ragged array (part ``k``: ``flat[starts[k]:starts[k + 1]]``), padded with ``fill``."""
    first, lengths = starts[which], starts[which + 1] - starts[which]
    columns = np.arange(int(lengths.max(initial=0)))
    valid = columns[None, :] < lengths[:, None]
    return np.where(valid, flat[np.where(valid, first[:, None] + columns[None, :], 0)], fill)


def pad_index(lists, dtype=torch.long):
    """Right-pad integer lists with -1; returns (index, mask)."""
    width = max(len(x) for x in lists)
    index = torch.full((len(lists), width), -1, dtype=dtype)
    for i, x in enumerate(lists):
        index[i, :len(x)] = torch.as_tensor(x, dtype=dtype)
    return index, index >= 0


class PairBatch:
    """The module's inputs for one batch; ``len()`` is its number of rows.

    (A plain dict would not do: skorch measures a batch with ``len`` over all
    its values, and the per-pair tensors are not one per row.)
    """

    def __init__(self, tensors: dict, n_rows: int):
        self.tensors = tensors
        self.n_rows = n_rows

    def __len__(self):
        return self.n_rows


def flat_token_layout(pair_texts, starts, counts) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each pair's tokens as rows of a token table, pair after pair: ``(rows, pair starts, slots)`` (vectorised).

    ``pair_texts[k]`` lists the texts of pair k in order; text ``t`` has
    ``counts[t]`` tokens from row ``starts[t]`` of the table. Pair ``k``'s
    tokens are ``rows[pair_starts[k]:pair_starts[k + 1]]``; ``slots`` says
    which of the pair's texts each token belongs to.
    """
    sentences = np.array([len(texts) for texts in pair_texts], dtype=np.int64)
    texts = np.concatenate(pair_texts).astype(np.int64) if len(pair_texts) else np.zeros(0, dtype=np.int64)
    n = np.asarray(counts)[texts]
    pair_of_text = np.repeat(np.arange(len(sentences)), sentences)
    slot_of_text = np.arange(len(texts)) - np.r_[0, np.cumsum(sentences)][pair_of_text]
    per_pair = np.bincount(pair_of_text, weights=n, minlength=len(sentences)).astype(np.int64)
    return ragged_rows(np.asarray(starts)[texts], n), np.r_[0, np.cumsum(per_pair)], np.repeat(slot_of_text, n)


def token_layout(pair_texts, starts, counts):
    """Each pair's tokens as rows of a token table: ``(index, slot)``, both ``(P, T)``, -1 padded.

    See :func:`flat_token_layout` for the arguments.
    """
    rows, pair_starts, slots = flat_token_layout(pair_texts, starts, counts)
    pairs = np.arange(len(pair_starts) - 1)
    index, slot = pad_ragged(rows, pair_starts, pairs), pad_ragged(slots, pair_starts, pairs)
    return torch.from_numpy(index), torch.from_numpy(slot)


class PairCollate:
    """Turns a list of row positions into the module's inputs (and targets).

    With a frozen encoder the index tensors point into the dataset's whole
    table of cached vectors (and, with ``token_features``, of token states);
    when fine-tuning (``tokenize`` given) the batch's distinct sentences are
    tokenized once, together, and token indices point into the encoder's
    output for them ([CLS] and [SEP] left out).
    """

    def __init__(self, dataset: PairRows, tokenize=None, token_features: bool = False):
        self.dataset = dataset
        self.tokenize = tokenize
        self.token_features = token_features

    def __call__(self, rows):
        ds = self.dataset
        rows = np.asarray(rows)
        pairs, row_pair = np.unique(ds.row_pair[rows], return_inverse=True)
        X = {"row_pair": torch.as_tensor(row_pair), "row_sentence": torch.as_tensor(ds.row_sentence[rows])}
        if self.tokenize is None:
            # Frozen encoder: index the whole vector table directly (no per-batch lookups).
            X.update(self.pair_sentences(pairs))
            X["embeddings"] = ds.vectors
            if self.token_features:
                X.update(self.pair_tokens(pairs))
                if ds.similarity is not None:   # computed once per dataset: each requested row's features
                    where = ds.sentence_starts()[ds.row_pair[rows]] + ds.row_sentence[rows]
                    X["similarity"] = ds.similarity[torch.from_numpy(where)]
        else:
            # Fine-tuning: tokenize each distinct sentence of the batch once.
            text_ids = np.unique(np.concatenate([ds.post_ids[k] for k in pairs] + [ds.reply_ids[k] for k in pairs]))
            post_lists = [np.searchsorted(text_ids, ds.post_ids[k]) for k in pairs]
            reply_lists = [np.searchsorted(text_ids, ds.reply_ids[k]) for k in pairs]
            X["post_index"], X["post_mask"] = pad_index(post_lists)
            X["reply_index"], X["reply_mask"] = pad_index(reply_lists)
            X.update(self.tokenize([ds.texts[i] for i in text_ids]))
            if self.token_features:
                # Word pieces sit between [CLS] and [SEP]; a text without any keeps its [CLS], as when frozen.
                width = X["attention_mask"].shape[1]
                pieces = X["attention_mask"].sum(1).numpy() - 2
                starts = np.arange(len(text_ids)) * width + (pieces > 0)
                self._add_token_layout(X, post_lists, reply_lists, starts, pieces.clip(min=1))
        y = None if ds.y is None else torch.as_tensor(ds.y[rows])
        return PairBatch(X, len(rows)), y

    def pair_sentences(self, pairs: np.ndarray) -> dict:
        """``post_index``, ``post_mask``, ``reply_index``, ``reply_mask``: the sentences of ``pairs`` as text rows."""
        X = {}
        for side in ("post", "reply"):
            table, lengths = self.dataset.padded_ids(side)
            index = table[torch.as_tensor(pairs), :int(lengths[pairs].max())]
            X[f"{side}_index"], X[f"{side}_mask"] = index, index >= 0
        return X

    def pair_tokens(self, pairs: np.ndarray) -> dict:
        """The tokens of ``pairs`` (frozen encoder): their rows of the token table, each once, and the layouts.

        ``token_table`` holds only the token states the batch uses, so the
        head projects each of them once (not once per padded slot);
        ``post_token_index`` / ``reply_token_index`` point into it (-1:
        padding) and ``post_token_slot`` names each token's sentence.
        """
        ds = self.dataset
        post_rows, post_starts, post_slots = ds.token_rows("post")
        reply_rows, reply_starts, _ = ds.token_rows("reply")
        post = pad_ragged(post_rows, post_starts, pairs)
        reply = pad_ragged(reply_rows, reply_starts, pairs)
        both = np.concatenate([post.ravel(), reply.ravel()])
        used, local = np.unique(both[both >= 0], return_inverse=True)
        index = np.full(both.shape, -1, dtype=np.int64)
        index[both >= 0] = local
        return {"token_table": ds.token_table[torch.from_numpy(used)],
                "post_token_index": torch.from_numpy(index[:post.size].reshape(post.shape)),
                "post_token_slot": torch.from_numpy(pad_ragged(post_slots, post_starts, pairs)),
                "reply_token_index": torch.from_numpy(index[post.size:].reshape(reply.shape))}

    @staticmethod
    def _add_token_layout(X, post_lists, reply_lists, starts, counts):
        """Token indices of each pair's post (with sentence slots) and reply, from texts given as table rows."""
        X["post_token_index"], X["post_token_slot"] = token_layout(post_lists, starts, counts)
        X["reply_token_index"], _ = token_layout(reply_lists, starts, counts)


def similarity_rows(dataset: PairRows, pairs=None, pairs_per_batch: int = INFERENCE_PAIRS) -> torch.Tensor:
    """The frozen similarity features of every post sentence of ``dataset`` (or of ``pairs``), computed once.

    ``(post sentences, N_SIMILARITY_FEATURES)`` float32, on the vectors'
    device, pair after pair: with every pair, row
    ``dataset.sentence_starts()[k] + i`` is sentence ``i`` of pair ``k``
    (:func:`~empathy_cause.network.modules.frozen_similarity`). Needs the
    dataset's vectors and token table (a frozen encoder).
    """
    from .modules import _gather, frozen_similarity

    pairs = np.arange(len(dataset.post_ids)) if pairs is None else np.asarray(pairs)
    collate, device = PairCollate(dataset, token_features=True), dataset.vectors.device
    parts = []
    with torch.no_grad():
        for first in range(0, len(pairs), pairs_per_batch):
            chunk = pairs[first:first + pairs_per_batch]
            X = {k: v.to(device) for k, v in {**collate.pair_sentences(chunk), **collate.pair_tokens(chunk)}.items()}
            tokens = {"table": X["token_table"], "post_index": X["post_token_index"],
                      "post_slot": X["post_token_slot"], "reply_index": X["reply_token_index"]}
            features = frozen_similarity(_gather(dataset.vectors, X["post_index"]), X["post_mask"],
                                         _gather(dataset.vectors, X["reply_index"]), X["reply_mask"], tokens)
            parts.append(features[X["post_mask"]])
    return torch.cat(parts)


class _Batches(torch.utils.data.Sampler):
    """A ``batch_sampler``: batches of row positions, drawn anew for every pass.

    skorch builds the training iterator once per ``fit_loop`` and the
    DataLoader iterates its sampler once per epoch, so a training sampler
    draws its batches in each ``__iter__`` from the generator it was given:
    every epoch sees its own shuffle, and the same seed gives the same epochs.
    The first draw happens when the sampler is built, which fixes ``len``.
    """

    def __init__(self):
        self._drawn = self._draw()
        self._length = len(self._drawn)

    def _draw(self) -> list:
        raise NotImplementedError

    def __iter__(self):
        batches = self._drawn if self._drawn is not None else self._draw()
        self._drawn = None   # used once: every later pass draws anew
        return iter(batches)

    def __len__(self):
        return self._length


def _cut(order: np.ndarray, units: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """``order`` cut into batches of ``batch_size`` runs of equal ``units`` (units aligned with order)."""
    cuts = np.flatnonzero(np.diff(run_ranks(units) // batch_size)) + 1
    return np.split(order, cuts)


def _length_buckets(order, units, lengths, batch_size, window, rng) -> list[np.ndarray]:
    """Sort by length within windows of ``window * batch_size`` units, cut into batches, shuffle the batches.

    ``order`` is a shuffled sequence of row positions, ``units`` and
    ``lengths`` aligned with it (a unit's rows form one run). A batch pads to
    similar lengths while the order stays random across windows.
    """
    window_of = run_ranks(units) // (window * batch_size)
    sort = np.lexsort((lengths, window_of))
    batches = _cut(order[sort], units[sort], batch_size)
    return [batches[i] for i in rng.permutation(len(batches))]


class PairBatchSampler(_Batches):
    """``batch_size`` whole pairs per batch, pairs shuffled freely, similar post lengths within a batch.

    For a frozen encoder, whose sentences cost nothing to revisit: pairs are
    shuffled, sorted by post length within windows of ``window`` batches,
    cut into batches, and the batches shuffled again.
    """

    def __init__(self, dataset: PairRows, batch_size: int, rng: np.random.Generator, window: int = BUCKET_BATCHES):
        self._pairs = dataset.row_pair[dataset.rows]
        self._post_length = dataset.padded_ids("post")[1].numpy()
        self._batch_size, self._rng, self._window = batch_size, rng, window
        super().__init__()

    def _draw(self):
        pairs, rng = self._pairs, self._rng
        shuffled = np.argsort(rng.permutation(pairs.max() + 1)[pairs], kind="stable")
        return _length_buckets(shuffled, pairs[shuffled], self._post_length[pairs[shuffled]], self._batch_size,
                               self._window, rng)


class ThreadBatchSampler(_Batches):
    """``batch_size`` whole pairs per batch, the pairs of one thread adjacent, threads in a random order.

    For a fine-tuned encoder: a conversation's shared sentences are then
    encoded once per batch instead of once per pair.
    """

    def __init__(self, dataset: PairRows, batch_size: int, rng: np.random.Generator):
        self._pairs, self._threads = dataset.row_pair[dataset.rows], dataset.row_thread[dataset.rows]
        self._batch_size, self._rng = batch_size, rng
        super().__init__()

    def _draw(self):
        pairs, threads, rng = self._pairs, self._threads, self._rng
        pair_key = rng.permutation(pairs.max() + 1)[pairs]
        order = np.lexsort((pair_key, rng.permutation(threads.max() + 1)[threads]))
        return _cut(order, pairs[order], self._batch_size)


class RowBatchSampler(_Batches):
    """``batch_size`` rows per batch, similar lengths within a batch (the QA baseline: a row is one input).

    Rows are shuffled (and cut to ``max_rows``), sorted by ``lengths``
    within windows of ``window`` batches, cut into batches, and the batches
    shuffled.
    """

    def __init__(self, lengths: np.ndarray, batch_size: int, rng: np.random.Generator, max_rows: int | None = None,
                 window: int = BUCKET_BATCHES):
        self._lengths, self._batch_size, self._rng, self._window = lengths, batch_size, rng, window
        self._max_rows = None if max_rows is None else int(max_rows)
        super().__init__()

    def _draw(self):
        positions = self._rng.permutation(len(self._lengths))[:self._max_rows]
        batches = _length_buckets(positions, positions, self._lengths[positions], self._batch_size, self._window,
                                  self._rng)
        return [batch.tolist() for batch in batches]


class InferenceBatchSampler(_Batches):
    """Contiguous runs of rows holding at most ``max_units`` units each (pairs, or rows when each is its own).

    Any row order is correct (each batch carries full context for its pairs);
    rows sorted by pair make the fewest, fullest batches.
    """

    def __init__(self, units: np.ndarray, max_units: int):
        batch_of = run_ranks(units) // max_units
        bounds = np.flatnonzero(np.r_[True, batch_of[1:] != batch_of[:-1], True])
        self._batches = [list(range(a, b)) for a, b in zip(bounds[:-1], bounds[1:])]
        super().__init__()

    def _draw(self):
        return self._batches
