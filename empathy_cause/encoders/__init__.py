"""Sentence encoders: Hugging Face models loaded offline (``pretrained``); pooling and caching (``encoding``)."""

from .encoding import (
    POOLINGS,
    PRECISIONS,
    EmbeddingCache,
    SentenceEncoder,
    autocast_context,
    clear_embedding_cache,
    embedding_cache,
    fixed_shape_batches,
    load_encoder,
    pool,
    resolve_encoder,
    set_embedding_cache_size,
    token_cache,
)
from .pretrained import (
    MAX_CACHED_MODELS,
    check_no_custom_code,
    clear_model_cache,
    default_encoder_path,
    load_pretrained,
    resolve_model,
)

__all__ = [
    "POOLINGS",
    "PRECISIONS",
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
    "resolve_model",
    "load_pretrained",
    "check_no_custom_code",
    "clear_model_cache",
    "default_encoder_path",
    "MAX_CACHED_MODELS",
]
