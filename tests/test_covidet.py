"""The CovidET-EXT loader: Reddit posts, per emotion its trigger sentences."""

import json

import numpy as np
import pytest

from empathy_cause import load_covidet, load_dataset
from empathy_cause.data import PAIR_ID, POST, REPLY, THREAD_ID, validate_frame


# Pairs and rows from ../shared/data/README.md; causes as this mapping gives them (the README's
# percentages, 18.8 / 17.4 / 19.0 / 17.8, round a slightly different matching).
@pytest.mark.parametrize("subset, reply, posts, pairs, rows, causes", [
    ("train", "summary", 1200, 4188, 41151, 7693),
    ("train", "emotion", 1200, 2893, 28273, 4897),
    ("val", "summary", 285, 1029, 9992, 1864),
    ("val", "emotion", 285, 705, 6729, 1177),
])
def test_covidet_counts(covidet_dir, subset, reply, posts, pairs, rows, causes):
    X, y, groups = load_covidet(covidet_dir, subset=subset, reply=reply)
    assert X[THREAD_ID].nunique() == posts
    assert X[PAIR_ID].nunique() == pairs
    assert len(X) == len(y) == len(groups) == rows
    assert y.sum() == causes
    assert (groups == X[THREAD_ID].to_numpy()).all()
    validate_frame(X, y)
    if reply == "emotion":
        assert (X[REPLY] == X["emotion"]).all()


def _write(folder, posts, triggers, summaries):
    folder.mkdir()
    (folder / "train_anonymized-WITH_POSTS.json").write_text(json.dumps({
        str(i): {"Reddit ID": pid, "Reddit Post": text,
                 "Annotations": {"Annotation 0": [{"Emotion": e, "Abstractive": s} for e, s in summaries[pid]]}}
        for i, (pid, text) in enumerate(posts.items())}))
    (folder / "CovidET-EXT_anonymized.json").write_text(json.dumps({
        str(i): {"Reddit ID": pid, "Sentence-level Extractive Summaries": {
            f"Annotation {k}": items for k, items in enumerate(triggers[pid])}}
        for i, pid in enumerate(posts)}))


def test_covidet_mapping(tmp_path):
    folder = tmp_path / "covidet"
    posts = {"p1": "I read cnn.com daily... I am scared of the vaccine! My mum is sick... Help?"}
    triggers = {"p1": [[{"Emotion": "fear", "Extractive": "I am scared of the vaccine! <SEP> Help?"}],
                       [{"Emotion": "fear", "Extractive": "My mum is sick..."}, {"Emotion": "NA"},
                        {"Emotion": "sadness", "Extractive": "My mum is sick... Help?"}]]}
    summaries = {"p1": [("fear", "afraid of the shot"), ("fear", "worried for mum"), ("joy", "no trigger")]}
    _write(folder, posts, triggers, summaries)
    X, y, groups = load_covidet(folder)
    # A terminator ends a sentence only before whitespace ("cnn.com"); a trigger spanning two sentences marks both.
    assert X[POST].iat[0] == ("I read cnn.com daily...", "I am scared of the vaccine!", "My mum is sick...",
                              "Help?")
    # Two fear summaries -> two pairs; sadness has no summary; joy has no trigger.
    assert X[PAIR_ID].unique().tolist() == ["p1_fear_0", "p1_fear_1"]
    assert y.tolist() == [0, 1, 1, 1] * 2
    assert set(X[REPLY]) == {"afraid of the shot", "worried for mum"}
    X, y, _ = load_covidet(folder, reply="emotion")
    assert X[PAIR_ID].unique().tolist() == ["p1_fear", "p1_sadness"]
    assert y.tolist() == [0, 1, 1, 1, 0, 0, 1, 1]
    X2, y2, _ = load_dataset(folder, reply="emotion")
    assert X2.equals(X) and np.array_equal(y2, y)


def test_covidet_errors(tmp_path):
    with pytest.raises(ValueError, match="subset must be one of"):
        load_covidet(tmp_path, subset="dev")
    with pytest.raises(ValueError, match="reply must be one of"):
        load_covidet(tmp_path, reply="text")
    with pytest.raises(FileNotFoundError, match="CovidET file"):
        load_covidet(tmp_path)
    folder = tmp_path / "bad"
    _write(folder, {"p1": "One. Two."}, {"p1": [[{"Emotion": "fear"}]]}, {"p1": []})
    with pytest.raises(ValueError, match="the 'fear' annotation lacks 'Extractive'"):
        load_covidet(folder)
    (folder / "train_anonymized-WITH_POSTS.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="expected an object of post records"):
        load_covidet(folder)
