"""The AcnEmpathize-Cause CSV loader (data/acnempathize.py): columns, derived threads, errors by CSV line."""

import io

import pytest

from empathy_cause.data import (
    PAIR_ID,
    POST,
    REPLY,
    SENTENCE_INDEX,
    THREAD_ID,
    load_acnempathize_cause,
    validate_frame,
)

# ------------------------------------------------------ AcnEmpathize-Cause

CSV = '''\
thread_id,post_sentences,reply,labels,post_url,title,user_id
t1,"['I hate my skin.', 'It hurts.', 'I use CeraVe.']","So sorry.
It gets better.","[1, 1, 0]",https://f/1,Help,5
t1,"['I hate my skin.', 'It hurts.', 'I use CeraVe.']",NA,"[0, 1, 0]",https://f/1,Help,12
t2,"[""Nobody gets it."", ""Anyway.""]",Hugs,"[1, 0]",https://f/2,Sad,
'''


def test_acnempathize_csv(tmp_path):
    path = tmp_path / "cause.csv"
    path.write_text(CSV, encoding="utf-8")
    X, y, groups = load_acnempathize_cause(path)
    assert len(X) == 8 and y.tolist() == [1, 1, 0, 0, 1, 0, 1, 0]
    assert list(X.columns) == [POST, REPLY, SENTENCE_INDEX, PAIR_ID,
                               THREAD_ID, "post_url", "title", "user_id"]
    assert X[POST][0] == ("I hate my skin.", "It hurts.", "I use CeraVe.")
    assert X[POST][6] == ("Nobody gets it.", "Anyway.")
    assert X[REPLY][0] == "So sorry.\nIt gets better."
    assert X[REPLY][3] == "NA"  # only empty fields are missing values
    assert X["title"].tolist() == ["Help"] * 6 + ["Sad"] * 2
    assert groups.tolist() == ["t1"] * 6 + ["t2"] * 2
    assert X[PAIR_ID].nunique() == 3
    validate_frame(X, y)


def test_acnempathize_csv_file_like_and_derived_threads():
    text = CSV.replace("thread_id,", "tid,").replace("post_url", "post")
    X, y, groups = load_acnempathize_cause(io.StringIO(text))
    # Pairs that share a post share a thread.
    assert groups[0] == groups[3] != groups[6]
    assert "tid" in X.columns  # the unused thread column is metadata
    # A CSV column named like a frame column is kept under another name.
    assert X["post_original"][0] == "https://f/1"
    with pytest.raises(ValueError, match="CSV line 5: 'user_id' is missing"):
        load_acnempathize_cause(io.StringIO(CSV), pair_column="user_id")
    X, y, _ = load_acnempathize_cause(io.BytesIO(CSV.replace("Sad,\n", "Sad,13\n").encode()),
                                      labels_column=None,
                                      pair_column="user_id")
    assert y is None
    assert X[PAIR_ID].tolist() == ["5", "5", "5", "12", "12", "12", "13", "13"]  # ids are text
    assert X["labels_original"][0] == "[1, 1, 0]"
    with pytest.raises(ValueError, match=r"no column 'pid' \(given for pair_id\)"):
        load_acnempathize_cause(io.StringIO(CSV), pair_column="pid")


@pytest.mark.parametrize("old, new, error, match", [
    ("post_sentences,", "text,", ValueError,
     r"no post column \('post_sentences' or 'post'\).*'text'.*--columns post=COLUMN"),
    ('"[1, 0]"', '"[1, 0, 1]"', ValueError,
     r"CSV line 5.*3 labels for 2 post sentences"),
    ('"[0, 1, 0]"', '"[0, 1, 0"', ValueError,
     r"CSV line 4: column 'labels' is not a Python list literal"),
    ('"[""Nobody', '"[__import__(""os""), ""Nobody', ValueError,
     r"CSV line 5: column 'post_sentences' is not a Python list literal"),
    ('"[1, 0]"', '"{1: 0}"', ValueError, r"CSV line 5.*list literal.*dict"),
    ('"[1, 0]"', '"[1, 5]"', ValueError, r"CSV line 5.*0/1"),
    (",Hugs,", ",,", ValueError, r"CSV line 5.*reply is missing"),
])
def test_acnempathize_csv_errors(old, new, error, match):
    """Each error names the problem and the CSV line (records may span
    several lines: the first data record is on lines 2-3)."""
    assert old in CSV
    with pytest.raises(error, match=match):
        load_acnempathize_cause(io.StringIO(CSV.replace(old, new, 1)))
