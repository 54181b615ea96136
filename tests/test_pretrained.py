"""The one pretrained-model loader and the bounded sentence-vector cache."""

import numpy as np
import pytest

from empathy_cause.encoders import encoding as encoders
from empathy_cause.encoders import pretrained
from empathy_cause.encoders.encoding import EmbeddingCache, SentenceEncoder


def test_embedding_cache_keeps_its_bound():
    vector_bytes = 8 * 4  # float32, 8 wide
    cache = EmbeddingCache(max_bytes=10 * vector_bytes)
    texts = [f"sentence {i}" for i in range(25)]
    cache.put(("s",), texts, np.ones((25, 8)))
    assert len(cache) == 10 and cache.nbytes == 10 * vector_bytes
    # The least recently used went first: the last ten are kept.
    assert set(cache.get(("s",), texts)) == set(texts[15:])
    cache.get(("s",), [texts[15]])  # now the most recently used
    cache.put(("s",), ["new"], np.zeros((1, 8)))
    kept = cache.get(("s",), texts + ["new"])
    assert texts[15] in kept and texts[16] not in kept and "new" in kept
    cache.resize(3 * vector_bytes)
    assert len(cache) == 3 and cache.nbytes <= 3 * vector_bytes
    with pytest.raises(ValueError, match="max_bytes"):
        EmbeddingCache(max_bytes=-1)


def test_evicted_vectors_are_not_views_of_a_batch():
    cache = EmbeddingCache(max_bytes=1000)
    batch = np.arange(16, dtype=np.float32).reshape(2, 8)
    cache.put(("s",), ["a", "b"], batch)
    assert all(v.base is None for v in cache.get(("s",), ["a", "b"]).values())


def test_encoder_cache_bound_holds_and_results_do_not_change(tiny_bert, monkeypatch):
    """A cache smaller than one encode call: every vector is still right, the bound holds."""
    texts = [f"I feel {word} today." for word in ("sad", "alone", "tired", "fine", "lost", "angry")]
    encoder = SentenceEncoder(tiny_bert, precision="fp32")
    monkeypatch.setattr(encoders, "embedding_cache", EmbeddingCache(max_bytes=0))
    expected = encoder.encode(texts)
    small = EmbeddingCache(max_bytes=3 * 32 * 4)  # three 32-wide vectors
    monkeypatch.setattr(encoders, "embedding_cache", small)
    np.testing.assert_allclose(encoder.encode(texts), expected, atol=1e-6)
    assert len(small) == 3 and small.nbytes <= small.max_bytes
    np.testing.assert_allclose(encoder.encode(texts[::-1]), expected[::-1], atol=1e-6)
    assert small.nbytes <= small.max_bytes


def test_set_embedding_cache_size_and_clear():
    before = encoders.embedding_cache.max_bytes
    try:
        encoders.set_embedding_cache_size(1024)
        assert encoders.embedding_cache.max_bytes == 1024
        encoders.clear_embedding_cache()
        assert len(encoders.embedding_cache) == 0
    finally:
        encoders.set_embedding_cache_size(before)


def test_model_cache_is_bounded_and_shared(tiny_bert, tmp_path):
    from tests.tiny_models import make_tiny_bert

    pretrained.clear_model_cache()
    first = pretrained.load_pretrained(tiny_bert)
    assert pretrained.load_pretrained(tiny_bert) is first  # no second load
    for seed in range(pretrained.MAX_CACHED_MODELS):
        pretrained.load_pretrained(str(make_tiny_bert(tmp_path / f"m{seed}", seed=seed)))
    assert len(pretrained._CACHE) == pretrained.MAX_CACHED_MODELS
    assert pretrained.load_pretrained(tiny_bert) is not first  # evicted, loaded again


@pytest.mark.parametrize("name, error, message", [
    ("./no/such/model", FileNotFoundError, "does not exist"),
    ("no-such-org/no-such-model", OSError, "nothing is downloaded"),
    (3, TypeError, "folder path or a model name"),
])
def test_loader_errors_are_clear(name, error, message):
    with pytest.raises(error, match=message):
        pretrained.load_pretrained(name)


def test_tokenizer_with_custom_code_is_refused(tiny_bert, tmp_path):
    import json
    import shutil

    folder = tmp_path / "custom-tokenizer"
    shutil.copytree(tiny_bert, folder)
    config = json.loads((folder / "tokenizer_config.json").read_text())
    config["auto_map"] = {"AutoTokenizer": ["tok.EvilTokenizer", None]}
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="tokenizer_config.json declares custom code"):
        pretrained.load_pretrained(str(folder))
