"""Preprocessing (preprocessing.py): the text transformer, lemmatisation, stopwords, balance_dataset."""

import pytest

from empathy_cause.data import validate_frame
from empathy_cause.preprocessing import TextPreprocessor, balance_dataset, lemmatizer_available, remove_stopwords


def test_text_preprocessor_keeps_rows_and_sentences(demo):
    X, y, _ = demo
    out = TextPreprocessor(remove_stopwords=True).fit_transform(X)
    assert len(out) == len(X)
    assert [len(p) for p in out["post"]] == [len(p) for p in X["post"]]
    assert (out["sentence_index"] == X["sentence_index"]).all()
    validate_frame(out, y)
    assert remove_stopwords("I am so tired of this.") == "tired."
    assert remove_stopwords("It is what it is.") == "."


@pytest.mark.skipif(not lemmatizer_available(), reason="simplemma not installed")
def test_lemmatizer(demo):
    X, _, _ = demo
    prep = TextPreprocessor(lemmatize=True)
    assert prep.rewrite("my pimples were hurting") == "my pimple be hurt"
    out = prep.fit_transform(X)
    assert len(out) == len(X)


@pytest.mark.parametrize("keep_context", [False, True])
def test_balance_dataset(demo, keep_context):
    X, y, _ = demo
    Xb, yb = balance_dataset(X, y, keep_context=keep_context, random_state=0)
    assert yb.sum() == y.sum() and (yb == 0).sum() == y.sum()
    Xb, yb = validate_frame(Xb, yb)
    if keep_context:
        assert set(map(tuple, Xb["post"])) <= set(map(tuple, X["post"]))
    else:
        def sentences_per_pair(frame):
            return frame.drop_duplicates("pair_id").set_index("pair_id")["post"].map(len)
        before, after = sentences_per_pair(X), sentences_per_pair(Xb)
        removed = before[after.index] - after
        # Each pair lost exactly its removed rows' sentences.
        assert removed.sum() == len(X) - len(Xb) - before.drop(after.index).sum()
    # Every remaining row still points at its own sentence.
    original = {(p, s) for p, post, i in zip(X["pair_id"], X["post"], X["sentence_index"])
                for s in [post[i]]}
    kept = {(p, post[i]) for p, post, i in zip(Xb["pair_id"], Xb["post"], Xb["sentence_index"])}
    assert kept <= original
