"""Token-level interaction: the features, their layout, and the estimator that uses them."""

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from empathy_cause import EmpathyCauseClassifier, pairs_to_frame
from empathy_cause.encoders.encoding import SentenceEncoder, clear_embedding_cache
from empathy_cause.network.batching import token_layout
from empathy_cause.network.modules import token_interaction


def _naive(sentence, reply):
    """The four features of one sentence against one reply, by definition."""
    sim = F.normalize(reply, dim=-1) @ F.normalize(sentence, dim=-1).T   # (reply tokens, sentence tokens)
    best = sim.max(1).values
    return torch.stack([best.mean(), best.max(), best.topk(min(3, len(best))).values.mean(),
                        sim.max(0).values.mean()])


def test_token_interaction_matches_its_definition():
    rng = torch.Generator().manual_seed(0)
    posts = [[torch.randn(n, 8, generator=rng) for n in (3, 1, 5)], [torch.randn(n, 8, generator=rng) for n in (2,)]]
    replies = [torch.randn(4, 8, generator=rng), torch.randn(2, 8, generator=rng)]
    width_p = max(sum(len(s) for s in p) for p in posts)
    width_r = max(len(r) for r in replies)
    post_tokens, post_slot = torch.zeros(2, width_p, 8), torch.full((2, width_p), -1)
    reply_tokens, reply_mask = torch.zeros(2, width_r, 8), torch.zeros(2, width_r, dtype=torch.bool)
    for k, (post, reply) in enumerate(zip(posts, replies, strict=True)):
        flat = torch.cat(post)
        post_tokens[k, :len(flat)] = F.normalize(flat, dim=-1)
        post_slot[k, :len(flat)] = torch.cat([torch.full((len(s),), i) for i, s in enumerate(post)])
        reply_tokens[k, :len(reply)] = F.normalize(reply, dim=-1)
        reply_mask[k, :len(reply)] = True
    got = token_interaction(post_tokens, post_slot, 3, reply_tokens, reply_mask)
    assert got.shape == (2, 3, 4)
    for k, (post, reply) in enumerate(zip(posts, replies, strict=True)):
        for i, sentence in enumerate(post):
            torch.testing.assert_close(got[k, i], _naive(sentence, reply), atol=1e-5, rtol=1e-5)
    # Padding changes nothing: the second pair alone gives the same features.
    alone = token_interaction(post_tokens[1:, :2], post_slot[1:, :2], 1, reply_tokens[1:, :2], reply_mask[1:, :2])
    torch.testing.assert_close(alone[0, 0], got[1, 0])


def test_token_layout_concatenates_each_pairs_texts():
    starts, counts = np.array([0, 3, 4, 9]), np.array([3, 1, 5, 2])
    index, slot = token_layout([np.array([2, 0]), np.array([3])], starts, counts)
    assert index.tolist() == [[4, 5, 6, 7, 8, 0, 1, 2], [9, 10, -1, -1, -1, -1, -1, -1]]
    assert slot.tolist() == [[0, 0, 0, 0, 0, 1, 1, 1], [0, 0, -1, -1, -1, -1, -1, -1]]


def test_token_states_skip_special_tokens_and_match_the_vectors(tiny_bert):
    encoder = SentenceEncoder(tiny_bert, precision="fp32")
    texts = ["A first sentence here.", "Short.", "And a third, rather longer sentence than the others."]
    states = encoder.encode_tokens(texts)
    tokenizer = __import__("transformers").AutoTokenizer.from_pretrained(tiny_bert)
    for text, state in zip(texts, states, strict=True):
        assert state.dtype == np.float16
        assert len(state) == len(tokenizer(text)["input_ids"]) - 2   # without [CLS] and [SEP]
    clear_embedding_cache()


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_a_sentences_vector_does_not_depend_on_its_neighbours(tiny_bert, precision):
    encoder = SentenceEncoder(tiny_bert, precision=precision)
    texts = ["The cat sat on the mat.", "Short one."]
    alone = encoder.encode(texts)
    alone_tokens = encoder.encode_tokens(texts)
    clear_embedding_cache()
    others = [f"another sentence number {i} with words " * (1 + i % 7) for i in range(70)]
    together = encoder.encode(others + texts)[-2:]
    together_tokens = encoder.encode_tokens(others + texts)[-2:]
    clear_embedding_cache()
    np.testing.assert_array_equal(alone, together)
    for a, b in zip(alone_tokens, together_tokens, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("position_features", [True, False])
def test_estimator_with_token_features(tiny_bert, demo, position_features):
    X, y, _ = demo
    clf = EmpathyCauseClassifier(encoder=tiny_bert, token_features=True, position_features=position_features,
                                 hidden_size=16, interaction_size=8, max_epochs=2, random_state=0).fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 2) and np.allclose(proba.sum(1), 1)
    # Any subset and order of rows gives each row the same probability.
    order = np.random.default_rng(0).permutation(len(X))[:50]
    np.testing.assert_allclose(clf.predict_proba(X.iloc[order]), proba[order], atol=1e-6)
    again = EmpathyCauseClassifier(**clf.get_params()).fit(X, y)
    np.testing.assert_allclose(again.predict_proba(X), proba, atol=1e-6)   # same random_state, same model


def test_token_features_when_fine_tuning(tiny_bert):
    X, y = pairs_to_frame([{"post": ["I lost my job.", "The weather is fine."], "reply": "Sorry about the job.",
                            "labels": [1, 0]}, {"post": ["My cat is ill.", "I had tea."],
                                                 "reply": "I hope your cat gets better!", "labels": [1, 0]}])
    clf = EmpathyCauseClassifier(encoder=tiny_bert, token_features=True, finetune_layers=1, hidden_size=8,
                                 interaction_size=4, max_epochs=2, validation_fraction=None, random_state=0)
    proba = clf.fit(X, y).predict_proba(X)
    assert proba.shape == (4, 2) and np.isfinite(proba).all()


def test_similarity_baselines(tiny_bert, demo):
    from empathy_cause.baselines.similarity import similarity_baseline, similarity_features

    X, y, _ = demo
    every = similarity_features(X, "tokens8", encoder=tiny_bert)
    assert every.shape == (len(X), 8) and np.isfinite(every).all()
    # A row's features (the rank within its post included) do not depend on the other rows given.
    order = np.random.default_rng(1).permutation(len(X))[:40]
    np.testing.assert_array_equal(similarity_features(X.iloc[order], "tokens8", encoder=tiny_bert), every[order])
    np.testing.assert_array_equal(similarity_features(X, "tokens", encoder=tiny_bert), every[:, :4])
    np.testing.assert_array_equal(similarity_features(X, "cosine", encoder=tiny_bert), every[:, 4:5])
    model = similarity_baseline("cosine", encoder=tiny_bert, random_state=0).fit(X, y)
    assert 0 < model.best_threshold_ < 1 and model.predict(X).shape == (len(X),)
    with pytest.raises(ValueError, match="kind must be one of"):
        similarity_features(X, "words")


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_a_fit_does_not_depend_on_what_the_process_encoded_before(tiny_bert, demo, precision):
    X, y, _ = demo
    params = dict(encoder=tiny_bert, precision=precision, hidden_size=16, interaction_size=8, max_epochs=2,
                  random_state=0)
    clear_embedding_cache()
    fresh = EmpathyCauseClassifier(**params).fit(X, y).predict_proba(X)
    clear_embedding_cache()
    # Another corpus first: its sentences share batches (and padding) with some of the demo's.
    SentenceEncoder(tiny_bert, precision=precision).encode_tokens(
        [f"unrelated text {i} " * (1 + i % 9) for i in range(100)] + list(X["reply"].iloc[:5]))
    after = EmpathyCauseClassifier(**params).fit(X, y).predict_proba(X)
    clear_embedding_cache()
    np.testing.assert_allclose(after, fresh, atol=1e-6)


def _fitted_with_dataset(tiny_bert, demo, **params):
    X, y, _ = demo
    clf = EmpathyCauseClassifier(encoder=tiny_bert, hidden_size=16, interaction_size=8, max_epochs=1,
                                 validation_fraction=None, random_state=0, **params).fit(X, y)
    return clf, clf.get_dataset(X, y)


def test_the_compact_token_table_holds_each_pairs_tokens(tiny_bert, demo):
    # A batch carries only the token states its pairs use, each once; its indices point at the same states
    # as the pair layouts over the dataset's whole table.
    from empathy_cause.network.batching import PairCollate

    _, dataset = _fitted_with_dataset(tiny_bert, demo)
    pairs = np.array([0, 3, 4, 9])
    batch = PairCollate(dataset, token_features=True).pair_tokens(pairs)
    starts, counts = dataset.token_offsets[:-1], np.diff(dataset.token_offsets)
    for side, ids in (("post", dataset.post_ids), ("reply", dataset.reply_ids)):
        index, slot = token_layout([ids[k] for k in pairs], starts, counts)
        local = batch[f"{side}_token_index"]
        assert torch.equal(local >= 0, index >= 0)
        torch.testing.assert_close(batch["token_table"][local[local >= 0]], dataset.token_table[index[index >= 0]],
                                   rtol=0, atol=0)
        if side == "post":
            assert torch.equal(batch["post_token_slot"], slot)
    assert len(batch["token_table"]) == len(np.unique(np.concatenate(
        [index[index >= 0].numpy() for index, _ in (token_layout([ids[k] for k in pairs], starts, counts)
                                                     for ids in (dataset.post_ids, dataset.reply_ids))])))


def test_precomputed_similarity_gives_the_logits_computed_in_the_module(tiny_bert, demo):
    # The frozen features computed once per dataset are the ones the module computes from the batch (as when
    # fine-tuning), in the token MLP's column order: a model saved before they were precomputed scores the same.
    clf, dataset = _fitted_with_dataset(tiny_bert, demo, similarity_start=True)
    assert dataset.similarity.shape == (dataset.sentence_starts()[-1], 15)
    clf.module_.eval()
    for batch, _ in clf.get_iterator(dataset):
        with torch.no_grad():
            precomputed = clf.infer(batch)
            features = clf.infer(batch, return_similarity=True)
            batch.tensors.pop("similarity")
            torch.testing.assert_close(clf.infer(batch), precomputed, rtol=1e-5, atol=1e-6)
            torch.testing.assert_close(clf.infer(batch, return_similarity=True), features, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("max_epochs", [1, 3])
def test_the_frozen_features_are_computed_once_per_fit(tiny_bert, demo, monkeypatch, max_epochs):
    # An epoch costs the head alone: the parameter-free similarity features are built when the data is
    # prepared (validation split included), whatever the number of epochs.
    from empathy_cause.network import modules

    calls = []
    original = modules.frozen_similarity
    monkeypatch.setattr(modules, "frozen_similarity", lambda *a, **k: calls.append(1) or original(*a, **k))
    X, y, _ = demo
    EmpathyCauseClassifier(encoder=tiny_bert, hidden_size=16, interaction_size=8, max_epochs=max_epochs,
                           validation_fraction=0.2, random_state=0).fit(X, y)
    n_pairs = X["pair_id"].nunique()
    assert len(calls) == -(-n_pairs // 64)   # one call per 64 pairs, at preparation only


def test_uniform_dropout_is_dropout():
    from empathy_cause.network.modules import UniformDropout

    x = torch.ones(400, 500)
    layer = UniformDropout(0.3)
    torch.manual_seed(0)
    dropped = layer(x)
    kept = dropped[dropped != 0]
    torch.testing.assert_close(kept, torch.full_like(kept, 1 / 0.7))    # the survivors, rescaled
    assert abs((dropped == 0).float().mean().item() - 0.3) < 0.01   # 200,000 draws
    torch.manual_seed(0)
    assert torch.equal(layer(x), dropped)                             # seeded: the same mask
    assert torch.equal(layer.eval()(x), x)                            # off at inference
