"""Sentence encoding (encoders/encoding.py): the on-disk sentence-vector cache."""

import numpy as np


def test_disk_cache_serves_a_new_process(tiny_bert, tmp_path, monkeypatch):
    """With cache_dir, vectors encoded once are read back without the encoder."""
    from empathy_cause.encoders import encoding as encoders

    texts = ["I feel so alone.", "My skin is finally clearing.", "Hang in there."]
    encoder = encoders.SentenceEncoder(tiny_bert, cache_dir=str(tmp_path))
    first = encoder.encode(texts)
    assert first.shape == (3, 32)
    encoders.clear_embedding_cache()  # as in a new process

    def no_encoder(*args, **kwargs):
        raise AssertionError("the encoder ran although the vectors were on disk")

    monkeypatch.setattr(encoders, "load_encoder", no_encoder)
    np.testing.assert_array_equal(encoder.encode(texts), first)
