"""Training batch samplers: every epoch its own shuffle, whole pairs kept together, the same seed the same epochs."""

import numpy as np
import pytest

from empathy_cause import EmpathyCauseClassifier, load_demo
from empathy_cause.data.frame import validate_frame
from empathy_cause.network.batching import PairBatchSampler, PairRows, RowBatchSampler, ThreadBatchSampler


@pytest.fixture(scope="module")
def dataset():
    X, y, _ = load_demo()
    return PairRows.from_frame(*validate_frame(X, y))


def _passes(sampler, n=3):
    return [[list(map(int, batch)) for batch in sampler] for _ in range(n)]


@pytest.mark.parametrize("sampler_class", [PairBatchSampler, ThreadBatchSampler])
def test_pair_samplers_reshuffle_every_pass_and_keep_pairs_whole(dataset, sampler_class):
    sampler = sampler_class(dataset, 2, np.random.default_rng(0))
    passes = _passes(sampler)
    pair_of = dataset.row_pair[dataset.rows]
    for batches in passes:
        assert len(batches) == len(sampler)
        assert sorted(r for batch in batches for r in batch) == list(range(len(pair_of)))  # each row once
        for batch in batches:
            pairs = set(pair_of[batch])
            assert len(pairs) <= 2
            assert sum(len(np.flatnonzero(pair_of == p)) for p in pairs) == len(batch)  # whole pairs
    assert passes[0] != passes[1] and passes[1] != passes[2]
    assert _passes(sampler_class(dataset, 2, np.random.default_rng(0))) == passes


def test_row_sampler_draws_a_new_subset_each_pass_under_a_row_cap():
    lengths = np.arange(100) % 7 + 3
    sampler = RowBatchSampler(lengths, 8, np.random.default_rng(0), max_rows=40)
    passes = _passes(sampler)
    assert all(len(batches) == len(sampler) == 5 for batches in passes)
    subsets = [sorted(r for batch in batches for r in batch) for batches in passes]
    assert all(len(rows) == len(set(rows)) == 40 for rows in subsets)
    assert subsets[0] != subsets[1]   # max_rows_per_epoch samples a new subset every epoch
    assert _passes(RowBatchSampler(lengths, 8, np.random.default_rng(0), max_rows=40)) == passes


class _RecordingClassifier(EmpathyCauseClassifier):
    """Records the labels of every training batch, by epoch."""

    seen: dict = {}

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if training:
            self.seen.setdefault(len(self.history), []).append(tuple(batch[1].tolist()))
        super().on_batch_begin(net, batch=batch, training=training, **kwargs)


def test_epochs_of_one_fit_see_different_batches_and_repeat_with_the_seed(tiny_bert):
    X, y, _ = load_demo()
    kwargs = dict(encoder=tiny_bert, max_epochs=3, validation_fraction=None, threshold=0.5, random_state=0)
    runs = []
    for _ in range(2):
        _RecordingClassifier.seen = {}
        model = _RecordingClassifier(**kwargs).fit(X, y)
        runs.append((dict(_RecordingClassifier.seen), model.predict_proba(X)))
    epochs = runs[0][0]
    assert sorted(epochs) == [1, 2, 3]
    assert epochs[1] != epochs[2] and epochs[2] != epochs[3]
    assert runs[1][0] == epochs
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
