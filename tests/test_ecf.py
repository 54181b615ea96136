"""The ECF (Emotion-Cause-in-Friends) loader."""

import pytest

from empathy_cause import load_dataset, load_ecf
from empathy_cause.data import PAIR_ID, POST, REPLY, SENTENCE_INDEX, THREAD_ID, validate_frame
from empathy_cause.data.ecf import _parse_ecf


# Counts from ../shared/data/README.md.
@pytest.mark.parametrize("subset, conversations, utterances, pairs, rows, causes", [
    ("train", 1001, 9966, 5123, 37225, 6779),
    ("dev", 112, 1087, 614, 4245, 842),
])
def test_ecf_counts(ecf_dir, subset, conversations, utterances, pairs, rows, causes):
    parsed = _parse_ecf(ecf_dir / f"{subset}.txt")
    assert len(parsed) == conversations
    assert sum(len(c.texts) for c in parsed) == utterances
    X, y, groups = load_ecf(ecf_dir, subset=subset)
    assert X[PAIR_ID].nunique() == pairs
    assert len(X) == len(y) == len(groups) == rows
    assert y.sum() == causes
    assert (groups == X[THREAD_ID].to_numpy()).all()
    assert (X["speakers"].map(len) == X[POST].map(len)).all()
    assert (X["speakers"].map(lambda s: s[-1]) == X["speaker"]).all()
    assert (X[POST].map(lambda p: p[-1]) == X[REPLY]).all()
    validate_frame(X, y)


def test_ecf_mapping_on_the_dev_file(ecf_dir):
    # Conversation 18: pairs (3,3),(6,5),(6,6),(10,8),(10,9),(11,11),(12,8),(12,9),(12,11).
    X, y, _ = load_ecf(ecf_dir / "dev.txt")
    rows = (X[THREAD_ID] == "18").to_numpy()
    assert X.loc[rows, PAIR_ID].unique().tolist() == ["18_t3", "18_t6", "18_t10", "18_t11", "18_t12"]
    pair = (X[PAIR_ID] == "18_t6").to_numpy()
    assert X.loc[pair, SENTENCE_INDEX].tolist() == [0, 1, 2, 3, 4, 5]
    assert y[pair].tolist() == [0, 0, 0, 0, 1, 1]
    first = X[pair].iloc[0]
    assert first[POST][0] == "Alright . Phoebe ?"
    assert first[REPLY].startswith("See , there is always one guy .")
    assert first["emotion"] == "disgust"
    assert first["speaker"] == "Rachel"
    assert first["speakers"] == ("Monica", "Phoebe", "Phoebe", "Ross", "Chandler", "Rachel")


TINY = """\
c1 3
(1,1),(3,1),(3,3),(2,3)
1 | Ross | sadness | I lost my job . | S1E1: 00:00:01.000 - 00:00:02.000
2 | Rachel | surprise | What ? | S1E1: 00:00:02.000 - 00:00:03.000
3 | Ross | joy | I start a new one | on Monday ! | S1E1: 00:00:03.000 - 00:00:04.000
c2 2

1 | Joey | neutral | Hey . | S1E1: 00:00:05.000 - 00:00:06.000
2 | Chandler | neutral | Hi . | S1E1: 00:00:06.000 - 00:00:07.000

c3 2
(2,2)
1 | Joey | neutral | So ? | S1E1: 00:00:08.000 - 00:00:09.000
2 | Monica | anger | Get out ! | S1E1: 00:00:09.000 - 00:00:10.000
"""


def test_ecf_mapping_on_a_tiny_file(tmp_path):
    (tmp_path / "train.txt").write_text(TINY, encoding="utf-8")
    X, y, groups = load_ecf(tmp_path)
    # Utterance 2's only cause (3) comes after it: the pair stays, with no cause;
    # conversation c2 has no pair and gives no rows.
    assert X[PAIR_ID].tolist() == ["c1_t1", "c1_t2", "c1_t2", "c1_t3", "c1_t3", "c1_t3", "c3_t2", "c3_t2"]
    assert y.tolist() == [1, 0, 0, 1, 0, 1, 0, 1]
    assert X[REPLY].tolist()[3] == "I start a new one | on Monday !"
    assert X["emotion"].tolist() == ["sadness"] + ["surprise"] * 2 + ["joy"] * 3 + ["anger"] * 2
    assert X["speakers"].iloc[5] == ("Ross", "Rachel", "Ross")
    assert groups.tolist() == ["c1"] * 6 + ["c3"] * 2
    # load_dataset recognises an ECF folder and an ECF .txt file.
    assert load_dataset(tmp_path)[1].tolist() == y.tolist()
    assert len(load_dataset(tmp_path / "train.txt")[0]) == 8


@pytest.mark.parametrize("old, new, match", [
    ("c2 2\n", "c2 two\n", r"train\.txt line 6: expected a conversation header"),
    ("c3 2\n", "c1 2\n", r"train\.txt line 11: conversation id 'c1' was already used on line 1"),
    ("(1,1),(3,1)", "(1,1);(3,1)", r"train\.txt line 2: expected emotion-cause pairs"),
    ("(2,3)", "(2,4)", r"train\.txt line 2: pair \(2,4\) names an utterance outside 1\.\.3"),
    ("2 | Rachel", "3 | Rachel", r"train\.txt line 4: expected utterance 2 .* got utterance number '3'"),
    ("| What ? |", "|", r"train\.txt line 4: expected 'number \| speaker"),
    ("| What ? |", "|  |", r"train\.txt line 4: utterance 2 of conversation 'c1' has no text"),
    ("c3 2\n", "c3 5\n", r"train\.txt line 11: conversation 'c3' announces 5 utterances but the file ends"),
    ("c3 2\n", "c3 0\n", r"train\.txt line 11: conversation 'c3' has 0 utterances"),
])
def test_ecf_format_errors_name_the_file_and_line(tmp_path, old, new, match):
    assert old in TINY
    (tmp_path / "train.txt").write_text(TINY.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ValueError, match=match):
        load_ecf(tmp_path / "train.txt")


def test_ecf_empty_and_pairless_files(tmp_path):
    (tmp_path / "dev.txt").write_text("\n\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"dev\.txt: the file holds no conversation"):
        load_ecf(tmp_path, subset="dev")
    (tmp_path / "dev.txt").write_text("c1 1\n\n1 | A | joy | Hi . | t\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"dev\.txt: the file holds no emotion-cause pair"):
        load_ecf(tmp_path, subset="dev")


def test_ecf_missing_file_and_bad_subset(tmp_path):
    (tmp_path / "notes.md").write_text("x")
    with pytest.raises(FileNotFoundError, match=r"ECF file .*dev\.txt.*\['notes\.md'\]"):
        load_ecf(tmp_path, subset="dev")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_ecf(tmp_path / "nowhere" / "train.txt")
    with pytest.raises(ValueError, match="subset must be one of"):
        load_ecf(tmp_path, subset="valid")


def test_load_dataset_recognises_the_ecf_folder(ecf_dir):
    X, y, _ = load_dataset(ecf_dir, subset="dev")
    assert len(X) == 4245 and y.sum() == 842
