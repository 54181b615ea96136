"""Torch modules: the co-attention network and the simpler concat network.

A batch holds whole pairs. Its distinct sentences (post and reply sentences of
every pair in it) arrive once, either as precomputed vectors (frozen encoder)
or as token ids (fine-tuned encoder); index tensors say which of them make up
each pair's post and reply, and which (pair, sentence) each requested row is.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .encoders import autocast_context, pool

__all__ = ["EmpathyCauseNet", "CauseHead", "ARCHITECTURES"]

ARCHITECTURES = ("coattention", "concat")


def _gather(vectors: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Rows of ``vectors`` at ``index`` (shape ``(P, S)``; -1 marks padding)."""
    return vectors[index.clamp(min=0)]


class CauseHead(nn.Module):
    """One scorer over a batch's sentence vectors (the network above the encoder).

    Steps 1-5 of :class:`EmpathyCauseNet` for the requested rows (pair and
    sentence index) of a batch of pairs.
    """

    def __init__(self, embedding_dim: int, hidden_size: int, architecture: str, dropout: float,
                 position_features: bool, context_layers: int, max_position: int):
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
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(4 * hidden_size, 2)

    def forward(self, post_vectors, post_mask, reply_vectors, reply_mask, row_pair, row_sentence):
        """Logits ``(n, 2)`` and attention ``(n, R)`` of the requested rows."""
        post = self.post_proj(post_vectors)      # (P, S, h)
        reply = self.reply_proj(reply_vectors)   # (P, R, h)

        if self.from_start is not None:
            last = self.max_position - 1
            positions = torch.arange(post_mask.shape[1], device=post.device).expand_as(post_mask)
            from_end = post_mask.sum(1, keepdim=True) - 1 - positions
            post = (post + self.from_start(positions.clamp(max=last))
                    + self.from_end(from_end.clamp(min=0, max=last)))
        if self.context is not None:
            post = self.context(post, src_key_padding_mask=~post_mask)

        # From here on only the requested rows, (n, h), each against its pair's reply (n, R, h):
        # padding slots and unrequested sentences cost nothing.
        post, reply, reply_mask = post[row_pair, row_sentence], reply[row_pair], reply_mask[row_pair]
        if self.bilinear is not None:
            scores = (self.bilinear(post)[:, None, :] * reply).sum(-1) / math.sqrt(post.shape[-1])
            attention = scores.masked_fill(~reply_mask, float("-inf")).softmax(-1)   # (n, R)
        else:
            attention = reply_mask.float() / reply_mask.sum(1, keepdim=True)
        context = (attention[:, :, None] * reply).sum(1)

        features = torch.cat([post, context, post * context, (post - context).abs()], dim=-1)
        logits = self.classifier(self.dropout(features))          # (n, 2)
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
    5. ``[p, c, p * c, |p - c|]`` -> dropout -> one linear layer -> 2 logits.

    Steps 1-5 are :class:`CauseHead`; steps 4-5 run only for the requested rows.

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
    """

    def __init__(self, embedding_dim: int, hidden_size: int = 256, architecture: str = "coattention",
                 dropout: float = 0.3, position_features: bool = True, context_layers: int = 1,
                 max_position: int = 16, encoder: nn.Module | None = None, pooling: str = "mean",
                 precision: str = "auto"):
        super().__init__()
        if architecture not in ARCHITECTURES:
            raise ValueError(f"architecture must be one of {ARCHITECTURES}, got {architecture!r}")
        self.encoder = encoder
        self.pooling = pooling
        self.precision = precision
        self.head = CauseHead(embedding_dim, hidden_size, architecture, dropout, position_features,
                              context_layers, max_position)

    def sentence_vectors(self, embeddings=None, input_ids=None, attention_mask=None, token_type_ids=None):
        """The batch's distinct sentence vectors, precomputed or encoded now."""
        if embeddings is not None:
            return embeddings
        tokens = {"input_ids": input_ids, "attention_mask": attention_mask}
        if token_type_ids is not None:
            tokens["token_type_ids"] = token_type_ids
        with autocast_context(self.precision, input_ids.device):
            hidden = self.encoder(**tokens).last_hidden_state
        return pool(hidden, attention_mask, self.pooling).float()

    def forward(self, post_index, post_mask, reply_index, reply_mask, row_pair, row_sentence,
                embeddings=None, input_ids=None, attention_mask=None, token_type_ids=None,
                return_attention: bool = False):
        vectors = self.sentence_vectors(embeddings, input_ids, attention_mask, token_type_ids)
        post, reply = _gather(vectors, post_index), _gather(vectors, reply_index)
        logits, attention = self.head(post, post_mask, reply, reply_mask, row_pair, row_sentence)
        return (logits, attention) if return_attention else logits

