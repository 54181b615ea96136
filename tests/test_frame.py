"""The sentence-row frame: validation and the pairs <-> frame helpers."""


import numpy as np
import pandas as pd
import pytest

from empathy_cause.data import (
    PAIR_ID,
    POST,
    REPLY,
    REQUIRED_COLUMNS,
    SENTENCE_INDEX,
    THREAD_ID,
    derive_pair_ids,
    frame_to_pairs,
    pairs_to_frame,
    validate_frame,
)


def make_pairs():
    return pd.DataFrame({
        "post": [["I hate my skin.", "It hurts.", "I use CeraVe."],
                 ["Nobody gets it.", "Anyway."]],
        "reply": ["So sorry it hurts.", "I get it."],
        "labels": [[1, 1, 0], [1, 0]],
        "pair_id": ["p1", "p2"],
        "thread_id": ["t1", "t1"],
        "url": ["https://a", "https://b"],
        "score": [3, 7],
    })


def make_frame(n_pairs=2):
    posts = [("I hate my skin.", "It hurts.", "I use CeraVe."),
             ("Nobody gets it.", "Anyway.")]
    rows = [(posts[p % 2], f"reply {p}", k)
            for p in range(n_pairs) for k in range(len(posts[p % 2]))]
    return pd.DataFrame(rows, columns=[POST, REPLY, SENTENCE_INDEX])


# ----------------------------------------------------------------- validate


def test_constants():
    assert REQUIRED_COLUMNS == ("post", "reply", "sentence_index")
    assert (PAIR_ID, THREAD_ID) == ("pair_id", "thread_id")


def test_validate_returns_a_clean_new_frame():
    X = make_frame()
    X[POST] = [list(p) for p in X[POST]]  # lists, one object per row
    X[SENTENCE_INDEX] = X[SENTENCE_INDEX].astype(float)
    X.index = [10, 11, 12, 13, 14]
    before = X.copy()
    out, y = validate_frame(X, [0, 1, 0, 1, 0])

    pd.testing.assert_frame_equal(X, before)  # input untouched
    assert out is not X
    assert isinstance(out.index, pd.RangeIndex)
    assert all(type(p) is tuple for p in out[POST])
    assert out[SENTENCE_INDEX].dtype == np.int64
    assert {PAIR_ID, THREAD_ID} <= set(out.columns)
    assert (out[THREAD_ID] == out[PAIR_ID]).all()
    assert y.dtype == np.int64 and y.tolist() == [0, 1, 0, 1, 0]


def test_validate_keeps_given_ids_and_metadata():
    X = make_frame().assign(pair_id=list("aaabb"), thread_id=list("tttuu"),
                            extra=range(5))
    out, y = validate_frame(X)
    assert y is None
    assert out[PAIR_ID].tolist() == list("aaabb")
    assert out[THREAD_ID].tolist() == list("tttuu")
    assert out["extra"].tolist() == list(range(5))


def test_pair_id_derivation_is_stable_and_content_based():
    X = make_frame(4)
    ids = derive_pair_ids(X)
    # Same post and reply -> same id; a different reply -> another id.
    assert len(set(ids[:3])) == 1 and ids[0] != ids[6]
    assert len(ids[0]) == 16 and int(ids[0], 16) >= 0
    # Independent of object identity, row order and the other rows.
    X2 = make_frame(4)
    X2[POST] = [tuple(p) for p in X2[POST]]
    assert (derive_pair_ids(X2.iloc[::-1])[::-1] == ids).all()
    assert derive_pair_ids(X.iloc[[2]])[0] == ids[0]
    # pairs_to_frame derives the very same ids, and the value is fixed.
    pairs = pd.DataFrame({"post": [list(X[POST][0])], "reply": ["reply 0"]})
    assert pairs_to_frame(pairs)[0][PAIR_ID][0] == ids[0]
    assert ids[0] == "a3783fb0144374d0"


def test_pair_id_separator_is_unambiguous():
    a = pd.DataFrame({POST: [("a b.",)], REPLY: ["c"], SENTENCE_INDEX: [0]})
    b = pd.DataFrame({POST: [("a", "b.")], REPLY: ["c"], SENTENCE_INDEX: [0]})
    assert derive_pair_ids(a)[0] != derive_pair_ids(b)[0]


class _CountingPost(list):
    """A post whose every read of its sentences is counted (in ``reads``, shared by all posts)."""

    reads = [0]

    def __iter__(self):
        self.reads[0] += 1
        return super().__iter__()


def _post_reads(rows_per_post, n_posts=300):
    """How often validate_frame reads the sentences of posts that ``rows_per_post`` rows share."""
    _CountingPost.reads[0] = 0
    posts = [_CountingPost(f"Sentence {k} of post {i}." for k in range(7)) for i in range(n_posts)]
    X = pd.DataFrame({POST: pd.Series([p for p in posts for _ in range(rows_per_post)], dtype=object),
                      REPLY: [f"reply {i}" for i in range(n_posts) for _ in range(rows_per_post)],
                      SENTENCE_INDEX: [k for _ in range(n_posts) for k in range(rows_per_post)]})
    validate_frame(X, np.zeros(len(X), dtype=int))
    return _CountingPost.reads[0]


def test_validation_checks_each_shared_post_once():
    # Work, not wall-clock time: rows that share a post object cost no more reads of its sentences
    # than one row holding it (each distinct post is checked once, however many rows point at it).
    assert _post_reads(rows_per_post=7) == _post_reads(rows_per_post=1) <= 2 * 300


def _with(column, values):
    """The 5-row frame with one column replaced (as objects, kept as is)."""
    X = make_frame()
    X[column] = pd.Series(values, dtype=object)
    return X


@pytest.mark.parametrize("X, error, match", [
    (np.zeros((3, 3)), TypeError, "DataFrame.*pairs_to_frame"),
    ([{"post": ("a.",)}], TypeError, "got list"),
    (make_frame().drop(columns=[REPLY, SENTENCE_INDEX]), ValueError,
     r"missing .*\['reply', 'sentence_index'\].*it has \['post'\]"),
    (make_frame().iloc[:0], ValueError, "empty"),
    (_with(POST, ["a. b."] * 5), TypeError,
     "row 0.*plain str.*split_sentences.*pairs_to_frame"),
    (_with(POST, [("a.",), ("a.",), 7, ("a.",), ("a.",)]), TypeError,
     "row 2.*int"),
    (_with(POST, [("a.", "b.")] * 4 + [()]), ValueError,
     "row 4.*no sentences"),
    (_with(POST, [("a.", "  ")] * 5), ValueError, "row 0.*sentence 1.*empty"),
    (_with(POST, [("a.", 3)] * 5), TypeError, "row 0.*sentence 1.*int"),
    (_with(REPLY, ["ok", None, "ok", "ok", "ok"]), ValueError,
     "row 1.*reply is missing"),
    (_with(REPLY, ["ok", "ok", np.nan, "ok", "ok"]), ValueError,
     "row 2.*reply is missing"),
    (_with(REPLY, ["ok", "ok", "ok", 42, "ok"]), TypeError,
     "row 3.*reply must be a str.*int"),
    (_with(REPLY, ["ok", "ok", "ok", "ok", " \n"]), ValueError,
     "row 4.*reply is empty"),
    (_with(SENTENCE_INDEX, [0, 1, 2.5, 0, 1]), TypeError,
     "row 2.*must be an integer.*2.5"),
    (_with(SENTENCE_INDEX, [0, 1, 2, np.nan, 1]), ValueError,
     "row 3.*sentence_index.*missing"),
    (_with(SENTENCE_INDEX, ["0", "1", "2", "0", "1"]), TypeError,
     "row 0.*must be an integer"),
    (_with(SENTENCE_INDEX, [0, 1, 3, 0, 1]), ValueError,
     r"row 2.*sentence_index' 3 is out of range.*post of 3 sentences"),
    (_with(SENTENCE_INDEX, [0, 1, 2, -1, 1]), ValueError,
     "row 3.*-1 is out of range.*2 sentences"),
    (make_frame().assign(pair_id=["a", "a", None, "b", "b"]), ValueError,
     "row 2.*pair_id.*missing"),
])
def test_validate_errors(X, error, match):
    with pytest.raises(error, match=match):
        validate_frame(X)


@pytest.mark.parametrize("y, match", [
    ([0, 1, 0], "3 entries but X has 5 rows"),
    (np.zeros((5, 1)), "1-D.*shape"),
    ([0, 1, 2, 0, 1], "0/1.*entry 2 is 2"),
    ([0, 1, np.nan, 0, 1], "0/1.*entry 2 is nan"),
    (["0", "1", "0", "1", "0"], "0/1.*entry 0"),
    ([0, 1, None, 0, 1], "0/1.*entry 2 is None"),
])
def test_validate_y_errors(y, match):
    with pytest.raises(ValueError, match=match):
        validate_frame(make_frame(), y)


def test_validate_accepts_bool_and_float_labels():
    assert validate_frame(make_frame(), [True, False] * 2 + [True])[1] \
        .tolist() == [1, 0, 1, 0, 1]
    assert validate_frame(make_frame(), np.array([0., 1., 1., 0., 0.]))[1] \
        .dtype == np.int64


# ---------------------------------------------------------- pairs <-> frame


def test_pairs_to_frame_layout():
    X, y = pairs_to_frame(make_pairs())
    assert list(X.columns) == [POST, REPLY, SENTENCE_INDEX, PAIR_ID,
                               THREAD_ID, "url", "score"]
    assert X[SENTENCE_INDEX].tolist() == [0, 1, 2, 0, 1]
    assert X[PAIR_ID].tolist() == ["p1"] * 3 + ["p2"] * 2
    assert X["score"].tolist() == [3, 3, 3, 7, 7]
    assert X["score"].dtype == np.int64  # metadata dtypes are kept
    assert y.tolist() == [1, 1, 0, 1, 0] and y.dtype == np.int64
    # The rows of a pair share one post tuple.
    assert X[POST][0] is X[POST][2]
    assert X[POST][0] == ("I hate my skin.", "It hurts.", "I use CeraVe.")
    validate_frame(X, y)


def test_pairs_to_frame_from_dicts_with_str_posts_and_no_labels():
    pairs = [{"text": "I hate my skin... It hurts!", "answer": "Hugs.",
              "user": "u1"},
             {"text": "Just one", "answer": "Ok.", "title": "T"}]
    X, y = pairs_to_frame(pairs, post="text", reply="answer")
    assert y is None
    assert X[POST][0] == ("I hate my skin...", "It hurts!")
    assert X[REPLY].tolist() == ["Hugs.", "Hugs.", "Ok."]
    assert list(X.columns) == [POST, REPLY, SENTENCE_INDEX, PAIR_ID, "user",
                               "title"]
    assert X["user"].tolist()[:2] == ["u1", "u1"]
    assert pd.isna(X["title"][0]) and X["title"][2] == "T"
    assert X[PAIR_ID].nunique() == 2
    validate_frame(X)


@pytest.mark.parametrize("change, error, match", [
    ({"labels": [[1, 1], [1, 0]]}, ValueError,
     r"pair 0 \(pair id 'p1'\): 2 labels for 3 post sentences"),
    ({"labels": [[1, 1, 0], [1, 2]]}, ValueError,
     r"pair 1 \(pair id 'p2'\): labels must hold 0/1"),
    ({"labels": [[1, 1, 0], None]}, ValueError, "pair 1.*labels are missing"),
    ({"labels": [[1, 1, 0], "[1, 0]"]}, TypeError, "pair 1.*labels are the text of a list.*read_csv.*literal_eval"),
    ({"labels": [[1, 1, 0], "yes"]}, TypeError, "pair 1.*labels must be"),
    ({"post": ["I hate it.", "   "], "labels": [[1], [1]]}, ValueError,
     "pair 1.*post has no text"),
    ({"post": ["I hate it.", 5], "labels": [[1], [1]]}, TypeError,
     "pair 1.*int"),
    ({"reply": ["ok", None]}, ValueError, "pair 1.*reply is missing"),
    ({"sentence_index": [1, 2]}, ValueError, "sentence_index.*rename"),
])
def test_pairs_to_frame_errors(change, error, match):
    with pytest.raises(error, match=match):
        pairs_to_frame(make_pairs().assign(**change))


@pytest.mark.parametrize("pairs, error, match", [
    ("a post", TypeError, "DataFrame.*iterable of dicts"),
    ([{"post": "a."}, "b"], TypeError, "pair 1: expected a dict"),
    ([], ValueError, "empty"),
    ([{"text": "a.", "reply": "b"}], ValueError, "no 'post'.*'text'"),
])
def test_pairs_to_frame_bad_containers(pairs, error, match):
    with pytest.raises(error, match=match):
        pairs_to_frame(pairs)


def test_round_trip_pairs_frame_pairs():
    pairs = make_pairs()
    before = pairs.copy()
    back = frame_to_pairs(*pairs_to_frame(pairs))
    pd.testing.assert_frame_equal(pairs, before)
    assert list(back.columns) == [PAIR_ID, THREAD_ID, POST, REPLY, "url",
                                  "score", "labels"]
    pd.testing.assert_frame_equal(back[pairs.columns], pairs)


def test_round_trip_frame_pairs_frame():
    X, y = pairs_to_frame(make_pairs())
    X2, y2 = pairs_to_frame(frame_to_pairs(X, y))
    pd.testing.assert_frame_equal(X2, X)
    assert (y2 == y).all()


def test_frame_to_pairs_partial_shuffled_rows_and_predictions():
    X, y = pairs_to_frame(make_pairs())
    rows = [4, 0, 2]  # shuffled, sentence 1 of p1 and 0 of p2 missing
    back = frame_to_pairs(X.iloc[rows], np.array([0, 1, 1]))
    assert back[PAIR_ID].tolist() == ["p2", "p1"]  # first appearance
    assert back["labels"].tolist() == [[None, 0], [1, None, 1]]
    assert back[POST][1] == ["I hate my skin.", "It hurts.", "I use CeraVe."]
    assert "labels" not in frame_to_pairs(X)
    with pytest.raises(ValueError, match="2 entries but X has 5 rows"):
        frame_to_pairs(X, [0, 1])


def test_a_pair_id_shared_by_two_posts_is_refused_by_both_helpers():
    with pytest.raises(ValueError, match="pair 0 and pair 1: pair id 'p' names two different pairs"):
        pairs_to_frame(make_pairs().assign(pair_id=["p", "p"]))
    X, y = pairs_to_frame(make_pairs())
    X[PAIR_ID] = "p"  # edited by hand after the fact
    with pytest.raises(ValueError, match="row 3: pair id 'p'.*different"):
        frame_to_pairs(X, y)


# ------------------------------------------------- what the contract refuses


def test_identical_pairs_in_two_threads_stay_two_pairs():
    from empathy_cause import ThreadKFold

    pairs = pd.DataFrame({"post": [["Same post.", "Two."]] * 2, "reply": ["Same reply."] * 2,
                          "labels": [[1, 0], [0, 1]], "thread_id": ["t1", "t2"]})
    X, y = pairs_to_frame(pairs)
    assert X[PAIR_ID].nunique() == 2
    back = frame_to_pairs(X, y)
    assert [list(labels) for labels in back["labels"]] == [[1, 0], [0, 1]]
    for train, test in ThreadKFold(n_splits=2).split(X):
        assert not set(X[PAIR_ID].iloc[train]) & set(X[PAIR_ID].iloc[test])
    # The same holds for a frame whose ids are derived by validate_frame.
    assert validate_frame(X.drop(columns=PAIR_ID))[0][PAIR_ID].nunique() == 2


def test_a_pair_in_two_threads_is_refused_naming_the_rows():
    from empathy_cause import ThreadKFold

    X, y = pairs_to_frame(make_pairs())
    X.loc[4, THREAD_ID] = "t9"  # the second pair's last row
    with pytest.raises(ValueError, match=r"rows 3 and 4: pair id 'p2' is in two threads \('t1' and 't9'\)"):
        validate_frame(X, y)
    with pytest.raises(ValueError, match="rows 3 and 4: pair id 'p2' is in two threads"):
        next(ThreadKFold(n_splits=2).split(X))
    with pytest.raises(ValueError, match="pair 0 and pair 1: pair id 'p' is in two threads"):
        pairs_to_frame(make_pairs().assign(pair_id=["p", "p"], thread_id=["t1", "t2"]))


def test_contradicting_duplicate_rows_are_refused_and_agreeing_ones_kept():
    X, y = pairs_to_frame(make_pairs())
    doubled = pd.concat([X, X.iloc[[1]]], ignore_index=True)  # an oversampler's duplicate
    assert len(validate_frame(doubled, np.r_[y, y[1]])[0]) == 6
    with pytest.raises(ValueError, match=r"rows 1 and 5: the same sentence \(pair id 'p1', sentence_index 1\) "
                                         "has labels 1 and 0"):
        validate_frame(doubled, np.r_[y, 1 - y[1]])
    pairs = make_pairs().iloc[[0, 0]].assign(labels=[[1, 1, 0], [0, 0, 0]])
    with pytest.raises(ValueError, match=r"pair 0 and pair 1: the same pair \(pair id 'p1'\) has different labels"):
        pairs_to_frame(pairs)
    assert len(pairs_to_frame(make_pairs().iloc[[0, 0]])[0]) == 6  # an exact duplicate pair is kept


@pytest.mark.parametrize("text", ["\u200b", "\ufeff", "\x00", " \u200b\u2060 ", "\xa0", ""])
def test_invisible_only_text_is_refused_like_empty_text(text):
    X = make_frame()
    X[REPLY] = X[REPLY].astype(object)
    X.loc[2, REPLY] = text
    with pytest.raises(ValueError, match="row 2: the reply is empty"):
        validate_frame(X)
    with pytest.raises(ValueError, match="sentence 1 of the post is empty"):
        pairs_to_frame([{"post": ["Fine.", text], "reply": "ok"}])
    # A post given as text drops an invisible remainder like a blank one.
    assert pairs_to_frame([{"post": f"Fine. {text}", "reply": "ok"}])[0][POST][0] == ("Fine.",)


def test_frame_to_pairs_without_thread_column():
    back = frame_to_pairs(make_frame())
    assert list(back.columns) == [PAIR_ID, POST, REPLY]
    assert len(back) == 2


def test_messages_point_the_right_way():
    """The three mistakes a newcomer makes first, each answered with what to do."""
    X, y = pairs_to_frame(make_pairs())
    with pytest.raises(TypeError, match=r"pairs_to_frame returns a tuple \(X, y\): unpack it"):
        validate_frame(pairs_to_frame(make_pairs()))
    with pytest.raises(ValueError, match=r"entry 0 is '1' \(text, not a number: convert the labels with "
                                         r"y.astype\(int\)\)"):
        validate_frame(X, y.astype(str))
    pairs = make_pairs().assign(labels=[[[1], [1], [0]], [[1], [0]]])
    with pytest.raises(ValueError, match=r"flat list of 0/1.*nested list \[\[1\], \[1\], \[0\]\]"):
        pairs_to_frame(pairs)
