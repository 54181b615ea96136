"""Content baselines without a network: logistic regression on reply-sentence similarity.

A model that reads must beat these: they see the same frozen encoder as the
default network, but only a handful of similarity numbers per sentence.

* ``"cosine"``: one feature, the cosine between the sentence's vector and the
  mean of the reply's sentence vectors (mean-pooled MiniLM).
* ``"tokens"``: four token-level (late-interaction) features of the frozen
  token states: for each reply token its best cosine over the sentence's
  tokens, summarised by mean, max and top-3 mean, and the mean over the
  sentence's tokens of their best cosine over the reply
  (:func:`empathy_cause.network.modules.token_interaction`, the same code the
  network's ``token_features`` use).
* ``"tokens8"``: those four plus the cosine, the cosine's rank within the post
  (1 = the most similar sentence), the log token count and the relative
  position in the post.

Each is a :class:`~sklearn.model_selection.TunedThresholdClassifierCV` around
``StandardScaler`` + ``LogisticRegression``, its F1-best threshold chosen on a
thread-wise held-out tenth (:class:`~empathy_cause.ThreadShuffleSplit`), like
the network's ``threshold="auto"``.
"""

from __future__ import annotations

import collections

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import TunedThresholdClassifierCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from ..data.frame import validate_frame
from ..encoders.encoding import SentenceEncoder, load_encoder, resolve_encoder
from ..model_selection.splitters import ThreadShuffleSplit
from ..network.batching import PairRows, similarity_rows
from ..network.modules import N_TOKEN_FEATURES

__all__ = ["SIMILARITY_FEATURES", "similarity_features", "similarity_baseline"]

SIMILARITY_FEATURES = ("cosine", "tokens", "tokens8")


# Features of each (encoder, post, reply) already computed: a baseline's fit, threshold search
# and predictions revisit the same pairs several times. Bounded, least recently used first out.
_PAIR_CACHE: collections.OrderedDict = collections.OrderedDict()
PAIR_CACHE_SIZE = 200_000


def _pair_features(dataset: PairRows, encoder) -> list:
    """Per pair of ``dataset``: a ``(post sentences, 5)`` array of [4 token features, cosine]."""
    settings = resolve_encoder(encoder)
    keys = [(settings, tuple(dataset.texts[i] for i in post), tuple(dataset.texts[i] for i in reply))
            for post, reply in zip(dataset.post_ids, dataset.reply_ids, strict=True)]
    missing = [k for k, key in enumerate(keys) if key not in _PAIR_CACHE]
    if missing:
        dataset.vectors, dataset.token_table, dataset.token_offsets = SentenceEncoder(encoder).encode_table(
            dataset.texts, tokens=True)
        # The network's similarity features of each sentence start with [4 token features, cosine].
        features = similarity_rows(dataset, missing)[:, :N_TOKEN_FEATURES + 1].cpu().numpy()
        ends = np.cumsum([len(dataset.post_ids[k]) for k in missing])
        for k, part in zip(missing, np.split(features, ends[:-1]), strict=True):
            _PAIR_CACHE[keys[k]] = part.copy()
        while len(_PAIR_CACHE) > PAIR_CACHE_SIZE:
            _PAIR_CACHE.popitem(last=False)
    found = []
    for key in keys:
        _PAIR_CACHE.move_to_end(key)
        found.append(_PAIR_CACHE[key])
    return found


def similarity_features(X, kind: str = "tokens", encoder=None) -> np.ndarray:
    """The similarity features of each row of a sentence-row frame (see the module docstring).

    Parameters
    ----------
    X : pandas.DataFrame
        The sentence-row frame.
    kind : {"cosine", "tokens", "tokens8"}
    encoder : str, path or None
        The frozen encoder (None: the embedded MiniLM); vectors and token
        states come from the process-wide caches.

    Returns
    -------
    ndarray of shape (len(X), 1), (len(X), 4) or (len(X), 8)
    """
    if kind not in SIMILARITY_FEATURES:
        raise ValueError(f"kind must be one of {SIMILARITY_FEATURES}, got {kind!r}")
    X, _ = validate_frame(X)
    dataset = PairRows.from_frame(X)
    per_pair = _pair_features(dataset, encoder)
    features = np.stack([per_pair[p][s] for p, s in zip(dataset.row_pair, dataset.row_sentence, strict=True)])
    if kind == "cosine":
        return features[:, 4:]
    if kind == "tokens":
        return features[:, :4]
    # The cosine's rank among all the post's sentences (1: the most similar), whatever rows X holds.
    ranks = [pd.Series(pair[:, 4]).rank(ascending=False).to_numpy() for pair in per_pair]
    rank = np.array([ranks[p][s] for p, s in zip(dataset.row_pair, dataset.row_sentence, strict=True)])
    tokenizer = load_encoder(encoder)[0]
    sentences = [dataset.texts[dataset.post_ids[p][s]] for p, s in zip(dataset.row_pair, dataset.row_sentence,
                                                                        strict=True)]
    n_tokens = np.array([len(ids) for ids in tokenizer(sentences, truncation=True, max_length=64)["input_ids"]])
    post_length = np.array([len(p) for p in dataset.post_ids])[dataset.row_pair]
    relative = dataset.row_sentence / np.maximum(post_length - 1, 1)
    return np.column_stack([features, rank, np.log(n_tokens), relative]).astype(np.float32)


def similarity_baseline(kind: str = "tokens", encoder=None, random_state=None):
    """An unfitted logistic regression on :func:`similarity_features`, with an F1-tuned threshold."""
    if kind not in SIMILARITY_FEATURES:
        raise ValueError(f"kind must be one of {SIMILARITY_FEATURES}, got {kind!r}")
    regression = make_pipeline(
        FunctionTransformer(similarity_features, kw_args={"kind": kind, "encoder": encoder}),
        StandardScaler(), LogisticRegression(max_iter=2000, random_state=random_state))
    return TunedThresholdClassifierCV(regression, scoring="f1", refit=True,
                                      cv=ThreadShuffleSplit(n_splits=1, test_size=0.1, random_state=random_state))
