"""Torch modules: the co-attention network and the simpler concat network.

A batch holds whole pairs. Its distinct sentences (post and reply sentences of
every pair in it) arrive once, either as precomputed vectors (frozen encoder)
or as token ids (fine-tuned encoder); index tensors say which of them make up
each pair's post and reply, and which (pair, sentence) each requested row is.
With ``token_features``, the tokens of each pair's post and reply arrive too,
as index tensors into a table of token states (the cached frozen states, or
the fine-tuned encoder's output for the batch).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from ..encoders.encoding import autocast_context, pool

__all__ = ["EmpathyCauseNet", "CauseHead", "ARCHITECTURES", "token_interaction", "reply_cosine", "frozen_similarity",
           "UniformDropout"]

ARCHITECTURES = ("coattention", "concat")
# Token-level features per (sentence, reply): see token_interaction.
N_TOKEN_FEATURES = 4
# The similarity features the wide path reads: the frozen token features and the sentence cosine,
# each beside its difference from the post's mean and max (see CauseHead.similarity_features).
N_SIMILARITY_FEATURES = 3 * (N_TOKEN_FEATURES + 1)
_NO_MATCH = -2.0  # below any cosine: padding never wins a max
_PADDING_BIAS = -4.0  # what padding's cosines get added: below _NO_MATCH


def _mlp_columns() -> list:
    """Where the token MLP's inputs sit in ``cat([similarity, learned])``.

    The MLP reads ``[frozen, learned, cosine]`` beside their differences from
    the post's mean and max (the order its weights were trained and saved
    in); the frozen part and the cosine arrive precomputed as the 15
    similarity features ``[frozen, cosine]`` x 3, the learned part as 4 x 3.
    """
    columns = []
    for part in range(3):   # the features, minus the post's mean, minus its max
        frozen, learned = part * (N_TOKEN_FEATURES + 1), N_SIMILARITY_FEATURES + part * N_TOKEN_FEATURES
        columns += [*range(frozen, frozen + N_TOKEN_FEATURES), *range(learned, learned + N_TOKEN_FEATURES),
                    frozen + N_TOKEN_FEATURES]
    return columns


_MLP_COLUMNS = _mlp_columns()


class UniformDropout(nn.Dropout):
    """:class:`torch.nn.Dropout` with its mask drawn by ``torch.rand``: the same distribution, no parameters.

    On the CPU ``bernoulli_`` (what ``nn.Dropout`` draws with) took 2.2 ms for
    the head's (224, 1280) features against 0.7 ms here, a tenth of a
    training step (measured on the 2-core AMD EPYC, one thread).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        return x * torch.rand(x.shape, device=x.device).ge_(self.p).div_(1 - self.p)


def _gather(vectors: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Rows of ``vectors`` at ``index`` (any shape; -1 marks padding)."""
    # index_select: its backward adds rows (index_add_), several times cheaper on the CPU than
    # advanced indexing's (index_put_ with accumulation).
    return vectors.index_select(0, index.clamp(min=0).flatten()).view(*index.shape, *vectors.shape[1:])


def _at_rows(features: torch.Tensor, row_pair: torch.Tensor, row_sentence: torch.Tensor) -> torch.Tensor:
    """``features[row_pair, row_sentence]`` of a ``(P, S, ...)`` tensor, by ``index_select`` (see :func:`_gather`)."""
    return features.flatten(0, 1).index_select(0, row_pair * features.shape[1] + row_sentence)


def token_interaction(post_tokens, post_slot, n_slots, reply_tokens, reply_mask, normalized: bool = False):
    """Late-interaction features of every post sentence against its pair's reply.

    For each reply token, its best cosine over the sentence's tokens (the
    sentence "answers" that token); those are summarised by their mean, max
    and top-3 mean; and for each sentence token its best cosine over the
    reply, averaged.

    Parameters
    ----------
    post_tokens : (P, Tp, d) the token states of each pair's post, sentence after sentence
    post_slot : (P, Tp) long, the post sentence each token belongs to (-1: padding)
    n_slots : int, sentences per post in this batch (S)
    reply_tokens : (P, Tr, d)
    reply_mask : (P, Tr) bool
    normalized : bool, default=False
        Whether the token states are unit vectors already (normalising a
        table of distinct tokens before laying it out per pair is cheaper).

    Returns
    -------
    (P, S, 4) tensor
    """
    P, Tr, _ = reply_tokens.shape
    if not normalized:
        post_tokens, reply_tokens = F.normalize(post_tokens, dim=-1), F.normalize(reply_tokens, dim=-1)
    valid = post_slot >= 0
    # Cosines, with padding pushed below _NO_MATCH (a cosine is at least -1) by a bias added in the same
    # kernel: padding never wins a max, and no mask is applied (or differentiated) over the whole tensor.
    post_bias = (~valid).to(post_tokens.dtype)[:, None, :] * _PADDING_BIAS
    sim = torch.baddbmm(post_bias, reply_tokens, post_tokens.transpose(1, 2))
    sim = sim + (~reply_mask).to(sim.dtype)[:, :, None] * _PADDING_BIAS   # (P, Tr, Tp)
    slot = post_slot.clamp(min=0)[:, None, :].expand(-1, Tr, -1)
    best = sim.new_full((P, Tr, n_slots), _NO_MATCH).scatter_reduce(2, slot, sim, "amax")   # (P, Tr, S)
    weight = reply_mask[:, :, None].to(best.dtype)
    mean_r = (best * weight).sum(1) / weight.sum(1).clamp(min=1)
    max_r = best.amax(1)
    # Mean of the best 3 (a reply of fewer tokens: of all of them), whatever the padding.
    top = best.masked_fill(~reply_mask[:, :, None], float("-inf")).topk(min(3, Tr), dim=1).values   # (P, k, S)
    in_top = torch.arange(top.shape[1], device=top.device)[None, :] < reply_mask.sum(1, keepdim=True)   # (P, k)
    top_r = torch.where(in_top[:, :, None], top, 0).sum(1) / in_top.sum(1, keepdim=True).clamp(min=1)
    best_reply = sim.amax(1) * valid                                       # (P, Tp)
    sums = best.new_zeros((P, n_slots)).scatter_add(1, post_slot.clamp(min=0), best_reply)
    counts = best.new_zeros((P, n_slots)).scatter_add(1, post_slot.clamp(min=0), valid.to(best.dtype))
    mean_s = sums / counts.clamp(min=1)
    return torch.stack([mean_r, max_r, top_r, mean_s], -1)


def reply_cosine(post_vectors, reply_vectors, reply_mask):
    """``(P, S)``: the cosine of each post sentence's vector with the mean of its reply's sentence vectors."""
    weight = reply_mask[:, :, None].to(reply_vectors.dtype)
    reply_mean = (reply_vectors * weight).sum(1) / weight.sum(1).clamp(min=1)
    return F.cosine_similarity(post_vectors, reply_mean[:, None, :], dim=-1)


def _table_interaction(table, tokens, n_slots) -> torch.Tensor:
    """:func:`token_interaction` of the pairs laid out in ``tokens`` over a table of their token states.

    The table holds each token once: it is normalised before the per-pair layout (cheaper than after).
    """
    table = F.normalize(table, dim=-1)
    reply_index = tokens["reply_index"]
    return token_interaction(_gather(table, tokens["post_index"]), tokens["post_slot"], n_slots,
                             _gather(table, reply_index), reply_index >= 0, normalized=True)


def frozen_similarity(post_vectors, post_mask, reply_vectors, reply_mask, tokens) -> torch.Tensor:
    """``(P, S, N_SIMILARITY_FEATURES)``: the parameter-free similarity features of every post sentence.

    The 4 token features of :func:`token_interaction` on the encoder's token
    states and the sentence cosine (:func:`reply_cosine`), each beside its
    difference from the post's mean and max. With a frozen encoder they never
    change, so the estimator computes them once per dataset
    (:func:`~empathy_cause.network.batching.similarity_rows`).
    """
    frozen = _table_interaction(tokens["table"].float(), tokens, post_mask.shape[1])
    cosine = reply_cosine(post_vectors, reply_vectors, reply_mask)[:, :, None]
    return _relative(torch.cat([frozen, cosine], -1), post_mask)


def _relative(features, mask):
    """Features next to their difference from the post's mean and max (padding ignored)."""
    weight = mask[:, :, None].to(features.dtype)
    mean = (features * weight).sum(1, keepdim=True) / weight.sum(1, keepdim=True).clamp(min=1)
    top = features.masked_fill(~mask[:, :, None], -1e4).amax(1, keepdim=True)
    return torch.cat([features, features - mean, features - top], -1)


class CauseHead(nn.Module):
    """One scorer over a batch's sentence vectors (the network above the encoder).

    Steps 1-6 of :class:`EmpathyCauseNet` for the requested rows (pair and
    sentence index) of a batch of pairs.
    """

    def __init__(self, embedding_dim: int, hidden_size: int, architecture: str, dropout: float,
                 position_features: bool, context_layers: int, max_position: int, token_features: bool = True,
                 interaction_size: int = 64, similarity_start: bool = False):
        super().__init__()
        self.max_position = max_position
        self.post_proj = nn.Linear(embedding_dim, hidden_size)
        self.reply_proj = nn.Linear(embedding_dim, hidden_size)
        self.from_start = nn.Embedding(max_position, hidden_size) if position_features else None
        self.from_end = nn.Embedding(max_position, hidden_size) if position_features else None
        self.context = None
        if context_layers:
            layer = nn.TransformerEncoderLayer(hidden_size, nhead=4, dim_feedforward=2 * hidden_size,
                                               dropout=0.1, batch_first=True)
            self.context = nn.TransformerEncoder(layer, context_layers, enable_nested_tensor=False)
        self.bilinear = nn.Linear(hidden_size, hidden_size, bias=False) if architecture == "coattention" else None
        self.token_proj = self.token_mlp = None
        n_features = 4 * hidden_size
        if token_features:
            self.token_proj = nn.Linear(embedding_dim, interaction_size, bias=False)
            # raw and learned token features plus the raw sentence cosine, each beside its post-relative versions
            self.token_mlp = nn.Sequential(nn.Linear(3 * (2 * N_TOKEN_FEATURES + 1), hidden_size), nn.GELU())
            n_features += hidden_size
        self.dropout = UniformDropout(dropout)
        self.classifier = nn.Linear(n_features, 2)
        self.wide = None
        if token_features and similarity_start:
            # A linear path from the similarity features to the cause logit, starting at zero; the
            # estimator may set it to the logistic regression fitted on them (and the deep classifier
            # to zero), so that training starts from that regression's predictions.
            self.wide = nn.Linear(N_SIMILARITY_FEATURES, 1)
            nn.init.zeros_(self.wide.weight)
            nn.init.zeros_(self.wide.bias)

    def _positions(self, post_mask):
        positions = torch.arange(post_mask.shape[1], device=post_mask.device).expand_as(post_mask)
        from_end = post_mask.sum(1, keepdim=True) - 1 - positions
        last = self.max_position - 1
        return positions.clamp(max=last), from_end.clamp(min=0, max=last)

    def similarity_features(self, post_vectors, post_mask, reply_vectors, reply_mask, row_pair, row_sentence,
                            tokens):
        """``(n, N_SIMILARITY_FEATURES)``: what the wide path reads for the requested rows.

        Precomputed per dataset with a frozen encoder (``tokens["similarity"]``);
        when fine-tuning, computed here from the encoder's states.
        """
        if tokens.get("similarity") is not None:
            return tokens["similarity"]
        return _at_rows(frozen_similarity(post_vectors, post_mask, reply_vectors, reply_mask, tokens), row_pair,
                        row_sentence)

    def _token_summary(self, similarity, post_mask, row_pair, row_sentence, tokens):
        """``(n, hidden)``: the learned token interaction beside the similarity features, through one layer.

        The batch's token states are projected and normalised once each (the
        table holds each used token once), then laid out per pair.
        """
        learned = _table_interaction(self.token_proj(tokens["table"].float()), tokens, post_mask.shape[1])
        learned = _at_rows(_relative(learned, post_mask), row_pair, row_sentence)
        return self.token_mlp(torch.cat([similarity, learned], -1)[:, _MLP_COLUMNS])

    def forward(self, post_vectors, post_mask, reply_vectors, reply_mask, row_pair, row_sentence, tokens=None):
        """Logits ``(n, 2)`` and attention ``(n, R)`` of the requested rows."""
        post = self.post_proj(post_vectors)      # (P, S, h)
        reply = self.reply_proj(reply_vectors)   # (P, R, h)
        if self.from_start is not None:
            from_start, from_end = self._positions(post_mask)
            post = post + self.from_start(from_start) + self.from_end(from_end)
        if self.context is not None:
            post = self.context(post, src_key_padding_mask=~post_mask)
        token_summary = similarity = None
        if self.token_mlp is not None:
            similarity = self.similarity_features(post_vectors, post_mask, reply_vectors, reply_mask, row_pair,
                                                  row_sentence, tokens)
            token_summary = self._token_summary(similarity, post_mask, row_pair, row_sentence, tokens)

        # From here on only the requested rows, (n, h), each against its pair's reply (n, R, h):
        # padding slots and unrequested sentences cost nothing.
        post, reply, reply_mask = _at_rows(post, row_pair, row_sentence), reply[row_pair], reply_mask[row_pair]
        if self.bilinear is not None:
            scores = (self.bilinear(post)[:, None, :] * reply).sum(-1) / math.sqrt(post.shape[-1])
            attention = scores.masked_fill(~reply_mask, float("-inf")).softmax(-1)   # (n, R)
        else:
            attention = reply_mask.float() / reply_mask.sum(1, keepdim=True)
        context = (attention[:, :, None] * reply).sum(1)

        features = [post, context, post * context, (post - context).abs()]
        if token_summary is not None:
            features.append(token_summary)
        logits = self.classifier(self.dropout(torch.cat(features, dim=-1)))          # (n, 2)
        if self.wide is not None:
            wide = self.wide(similarity)[:, 0]
            logits = logits + torch.stack([torch.zeros_like(wide), wide], -1)
        return logits, attention


class EmpathyCauseNet(nn.Module):
    """Scores post sentences as causes of the empathy shown in the reply.

    1. Sentence vectors (from the encoder, mean or [CLS] pooled) are projected
       to ``hidden_size``.
    2. Optional position features: learned embeddings of each sentence's
       distance from the end (and from the start) of its post.
    3. Optional context: ``context_layers`` transformer layers across the
       sentences of one post, so a sentence is seen beside its neighbours.
    4. ``architecture="coattention"``: each post sentence attends over the
       reply's sentences (scaled bilinear scores), giving a reply-context
       vector; ``"concat"``: the mean of the reply's sentence vectors instead.
    5. Optional ``token_features``: late interaction between the tokens of
       each post sentence and of the reply (:func:`token_interaction`), on the
       encoder's token states and on a learned ``interaction_size``-wide
       projection of them, with the sentence cosine, each beside its
       difference from the post's mean and max, through one layer of
       ``hidden_size``.
    6. ``[p, c, p * c, |p - c|]`` (and step 5's summary) -> dropout -> one
       linear layer -> 2 logits.

    Steps 1-6 are :class:`CauseHead`; steps 4-6 run only for the requested rows.

    Parameters
    ----------
    embedding_dim : int
        Width of the sentence vectors.
    hidden_size : int
    architecture : {"coattention", "concat"}
    dropout : float
    position_features : bool
    context_layers : int
    max_position : int
        Distances beyond this share one embedding.
    encoder : torch.nn.Module or None
        A Hugging Face encoder to fine-tune inside the module; None when
        sentence vectors are precomputed.
    pooling : {"mean", "cls"}
    precision : {"auto", "bf16", "fp32"}
        Autocast for the encoder forward (fine-tuning only).
    token_features : bool
    interaction_size : int
        Width of the learned token projection of step 5.
    """

    def __init__(self, embedding_dim: int, hidden_size: int = 256, architecture: str = "coattention",
                 dropout: float = 0.3, position_features: bool = True, context_layers: int = 0,
                 max_position: int = 16, encoder: nn.Module | None = None, pooling: str = "mean",
                 precision: str = "auto", token_features: bool = True, interaction_size: int = 64,
                 similarity_start: bool = False):
        super().__init__()
        if architecture not in ARCHITECTURES:
            raise ValueError(f"architecture must be one of {ARCHITECTURES}, got {architecture!r}")
        self.encoder = encoder
        self.pooling = pooling
        self.precision = precision
        self.head = CauseHead(embedding_dim, hidden_size, architecture, dropout, position_features,
                              context_layers, max_position, token_features, interaction_size, similarity_start)

    def encode(self, embeddings=None, token_table=None, input_ids=None, attention_mask=None,
               token_type_ids=None):
        """The batch's distinct sentence vectors and token-state table, precomputed or encoded now.

        Fine-tuning, the token table is the encoder's output flattened to
        ``(sentences x padded length, dim)``; the collate's token indices point into it.
        """
        if embeddings is not None:
            return embeddings, token_table
        tokens = {"input_ids": input_ids, "attention_mask": attention_mask}
        if token_type_ids is not None:
            tokens["token_type_ids"] = token_type_ids
        with autocast_context(self.precision, input_ids.device):
            hidden = self.encoder(**tokens).last_hidden_state
        vectors = pool(hidden, attention_mask, self.pooling).float()
        return vectors, hidden.float().flatten(0, 1)

    def forward(self, post_index, post_mask, reply_index, reply_mask, row_pair, row_sentence,
                embeddings=None, input_ids=None, attention_mask=None, token_type_ids=None,
                token_table=None, post_token_index=None, post_token_slot=None, reply_token_index=None,
                similarity=None, return_attention: bool = False, return_similarity: bool = False):
        """Logits ``(n, 2)`` of the requested rows (and their attention over the reply).

        ``return_similarity``: instead, the ``(n, N_SIMILARITY_FEATURES)``
        features of the wide path (token features only), which the estimator
        fits its starting regression on.
        """
        vectors, token_table = self.encode(embeddings, token_table, input_ids, attention_mask, token_type_ids)
        post, reply = _gather(vectors, post_index), _gather(vectors, reply_index)
        tokens = None
        if post_token_index is not None:
            tokens = {"table": token_table, "post_index": post_token_index, "post_slot": post_token_slot,
                      "reply_index": reply_token_index, "similarity": similarity}
        if return_similarity:
            return self.head.similarity_features(post, post_mask, reply, reply_mask, row_pair, row_sentence, tokens)
        logits, attention = self.head(post, post_mask, reply, reply_mask, row_pair, row_sentence, tokens)
        return (logits, attention) if return_attention else logits

