"""Sentence encoding (encoders/encoding.py): the on-disk cache, the batches, the row probe."""

import numpy as np
import pytest


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


# --------------------------------------------------------------------------
# Batching: each text padded to its own length; rows free only where the probe allows
# --------------------------------------------------------------------------

POST = ["I lost my job last week.", "Rent is due.", "I do not know what to do anymore, honestly, it is a lot.",
        "Thanks.", "My family is far away and I have nobody here to talk to about any of it.",
        "Some days are fine.", "Others are not."]


class _RowCounter:
    """Counts the rows of every batch that reaches ``model`` (a forward pre-hook)."""

    def __init__(self, model):
        self.batches = []
        self._handle = model.register_forward_pre_hook(self._hook, with_kwargs=True)

    def _hook(self, module, args, kwargs):
        self.batches.append(tuple((kwargs.get("input_ids") if "input_ids" in kwargs else args[0]).shape))

    def close(self):
        self._handle.remove()


def _fresh(texts, tiny_bert, precision, **kwargs):
    """Vectors and token states of ``texts`` from a cold cache."""
    from empathy_cause.encoders import encoding as encoders

    encoders.clear_embedding_cache()
    encoder = encoders.SentenceEncoder(tiny_bert, precision=precision, **kwargs)
    states = encoder.encode_tokens(texts)
    vectors = encoder.encode(texts)
    encoders.clear_embedding_cache()
    return vectors, states


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_the_fixed_shape_fallback_fills_batches_and_gives_the_same_bits(tiny_bert, precision, monkeypatch):
    from empathy_cause.encoders import encoding as encoders

    model = encoders.load_encoder(tiny_bert)[1]
    texts = POST + [f"filler sentence number {i} " * (1 + i % 5) for i in range(40)]
    fast = _fresh(texts, tiny_bert, precision)
    monkeypatch.setattr(encoders, "rows_independent", lambda *args, **kwargs: False)
    counter = _RowCounter(model)
    try:
        fallback = _fresh(texts, tiny_bert, precision)
    finally:
        counter.close()
    assert counter.batches and all(rows == encoders.ENCODE_BATCH for rows, _ in counter.batches)
    assert {length % encoders.PAD_MULTIPLE for _, length in counter.batches} == {0}
    monkeypatch.undo()
    # Both paths give the same bits wherever the real probe finds rows independent (as on the CPUs here).
    if encoders.rows_independent(model, precision):
        np.testing.assert_array_equal(fast[0], fallback[0])
        for a, b in zip(fast[1], fallback[1], strict=True):
            np.testing.assert_array_equal(a, b)


def test_a_post_is_encoded_with_one_row_per_text(tiny_bert, monkeypatch):
    from empathy_cause.encoders import encoding as encoders

    model = encoders.load_encoder(tiny_bert)[1]
    monkeypatch.setattr(encoders, "rows_independent", lambda *args, **kwargs: True)
    counter = _RowCounter(model)
    try:
        vectors, states = _fresh(POST, tiny_bert, "fp32")
    finally:
        counter.close()
    assert sum(rows for rows, _ in counter.batches) == len(POST)
    assert vectors.shape == (len(POST), 32) and len(states) == len(POST)
    # Many texts of one length: batches of at most ENCODE_TOKENS tokens, no filler.
    counter = _RowCounter(model)
    try:
        _fresh([f"word{i}" for i in range(300)], tiny_bert, "fp32")
    finally:
        counter.close()
    assert sum(rows for rows, _ in counter.batches) == 300
    assert all(rows * length <= encoders.ENCODE_TOKENS for rows, length in counter.batches)


def test_the_row_probe_is_a_bool_computed_once_per_setting(tiny_bert, monkeypatch):
    from empathy_cause.encoders import encoding as encoders

    model = encoders.load_encoder(tiny_bert)[1]
    encoders._ROW_PROBES.pop(model, None)
    probes = []
    real_probe = encoders._probe
    monkeypatch.setattr(encoders, "_probe", lambda *args: probes.append(args[1:]) or real_probe(*args))
    counter = _RowCounter(model)
    try:
        first = encoders.rows_independent(model, "fp32")
        assert isinstance(first, bool) and len(counter.batches) > 1   # it ran the model
    finally:
        counter.close()
    assert encoders.rows_independent(model, "fp32") is first
    _fresh(POST, tiny_bert, "fp32")
    _fresh(POST[:2], tiny_bert, "fp32")
    assert len(probes) == 1   # memoised: encoding reused it
    encoders.rows_independent(model, "bf16")
    encoders.rows_independent(model, "bf16")
    assert len(probes) == 2   # another precision is another setting, probed once


def test_padded_inputs_match_the_tokenizers_own_padding(tiny_bert):
    """The input tensors built from the token ids are what ``tokenizer.pad`` would give, vectors included."""
    import torch

    from empathy_cause.encoders import encoding as encoders

    tokenizer, model = encoders.load_encoder(tiny_bert)
    texts = ("", "Hi.", "A somewhat longer sentence, with a comma.")
    vectors, states = encoders._encode_uncached(None, "mean", 64, "fp32", texts, tokens=True, encoder=tiny_bert)
    for text, vector, state in zip(texts, vectors, states, strict=True):
        ids = tokenizer([text], truncation=True, max_length=64)["input_ids"]
        length = -(-len(ids[0]) // encoders.PAD_MULTIPLE) * encoders.PAD_MULTIPLE
        batch = tokenizer.pad({"input_ids": ids}, padding="max_length", max_length=length, return_tensors="pt")
        with torch.inference_mode():
            hidden = model(**batch).last_hidden_state.float()
        np.testing.assert_array_equal(vector, encoders.pool(hidden, batch["attention_mask"], "mean")[0].numpy())
        word_pieces = len(ids[0]) - 2
        expected = hidden[0, 1:1 + word_pieces] if word_pieces else hidden[0, :1]
        np.testing.assert_array_equal(state, expected.numpy().astype(np.float16))
