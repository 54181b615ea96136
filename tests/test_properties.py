"""Property-based tests (Hypothesis) for the data layer: a correct result or a clear error, nothing else.

For random frames, pairs with odd Unicode, and random CSV and JSON files, the
functions either return what they promise or raise ``ValueError`` /
``TypeError`` (``FileNotFoundError`` for a missing file); never a bare
``KeyError``, ``AttributeError``, ``IndexError`` or a csv/JSON error.
"""

import csv
import io
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from empathy_cause.data import frame_to_pairs, load_acnempathize_cause, load_reccon, pairs_to_frame, validate_frame

CLEAR = (ValueError, TypeError)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text with odd Unicode: combining marks, right-to-left, emoji, zero-width and control characters.
odd_text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30) | st.sampled_from(
    ["e\u0301", "\u202eevil", "\U0001F62D", "\u200b", "a\x00b", "\ufeffBOM", "line\nbreak", "  ", "..."])
sentence = odd_text.filter(lambda s: s.strip() != "") | st.sampled_from(["I feel alone.", "Help?"])
anything = st.none() | st.integers() | st.floats() | odd_text | st.lists(odd_text, max_size=3) | st.booleans()


@st.composite
def pairs(draw):
    """A list of pair dicts, mostly valid, sometimes broken in one field."""
    result = []
    for _ in range(draw(st.integers(1, 4))):
        post = draw(st.lists(sentence, min_size=1, max_size=4))
        pair = {"post": post, "reply": draw(sentence),
                "labels": draw(st.lists(st.integers(0, 1), min_size=len(post), max_size=len(post)))}
        if draw(st.booleans()) and draw(st.booleans()):
            pair[draw(st.sampled_from(["post", "reply", "labels"]))] = draw(anything)
        result.append(pair)
    return result


@SETTINGS
@given(pairs())
def test_pairs_to_frame_round_trips_or_raises_clearly(pair_list):
    try:
        X, y = pairs_to_frame(pair_list)
    except CLEAR:
        return
    assert len(X) == len(y)
    if all(isinstance(pair["post"], list) for pair in pair_list):
        assert len(X) == sum(len(pair["post"]) for pair in pair_list)
    assert set(np.unique(y)) <= {0, 1}
    back = frame_to_pairs(X, y)
    if len(back) != len(pair_list):  # pairs with the same content share a derived pair_id
        return
    for pair, row in zip(pair_list, back.itertuples(), strict=True):
        if isinstance(pair["post"], (list, tuple)):
            assert list(row.post) == list(pair["post"])
        assert list(row.labels) == [int(v) for v in pair["labels"]]


@st.composite
def frames(draw):
    """A sentence-row frame, sometimes with a broken column, and labels of random length and values."""
    X, y = draw(st.builds(lambda p: pairs_to_frame(p), pairs().filter(_valid)))
    column = draw(st.sampled_from([None, "post", "reply", "sentence_index", "pair_id", "drop"]))
    if column == "drop":
        X = X.drop(columns=draw(st.sampled_from(["post", "reply", "sentence_index"])))
    elif column is not None:
        X = X.copy()
        X[column] = draw(st.lists(anything, min_size=len(X), max_size=len(X)))
    n = draw(st.sampled_from([len(X), len(X) - 1, len(X) + 1]))
    y = draw(st.lists(st.sampled_from([0, 1, 2, -1, 0.5, None, "1", True]), min_size=max(n, 0), max_size=max(n, 0))
             | st.just(list(y)))
    return X, y


def _valid(pair_list):
    try:
        pairs_to_frame(pair_list)
        return True
    except CLEAR:
        return False


@SETTINGS
@given(frames())
def test_validate_frame_returns_a_clean_frame_or_raises_clearly(frame):
    X, y = frame
    try:
        out, labels = validate_frame(X, y)
    except CLEAR:
        return
    assert len(out) == len(X) == len(labels)
    assert set(np.unique(labels)) <= {0, 1}
    for post, k in zip(out["post"], out["sentence_index"], strict=True):
        assert isinstance(post, tuple) and all(isinstance(s, str) for s in post) and 0 <= k < len(post)


@SETTINGS
@given(rows=st.lists(st.lists(odd_text | st.sampled_from(["['A.', 'B.']", "[0, 1]", "[1]", "Hugs."]),
                              min_size=0, max_size=4), max_size=5),
       header=st.sampled_from([["post_sentences", "reply", "labels"], ["post_sentences", "reply"], ["x"], []]),
       encoding=st.sampled_from(["utf-8", "latin-1", "utf-16"]))
def test_acnempathize_csv_loads_or_raises_clearly(tmp_path_factory, rows, header, encoding):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if header:
        writer.writerow(header)
    writer.writerows(rows)
    path = tmp_path_factory.mktemp("csv") / "pairs.csv"
    try:
        path.write_bytes(buffer.getvalue().encode(encoding))
    except UnicodeEncodeError:
        return
    try:
        X, y, groups = load_acnempathize_cause(path)
    except CLEAR as exc:
        assert str(path) in str(exc)  # every loader error names the file
        return
    assert len(X) == len(groups) and (y is None or len(y) == len(X))  # no labels column: unlabelled


def test_a_field_longer_than_the_csv_module_limit_loads(tmp_path):
    reply = "I hear you. " * 20_000  # 240,000 characters, over csv's 131,072 default
    path = tmp_path / "long.csv"
    pd.DataFrame({"post_sentences": ["['I feel alone.', 'Help?']"], "reply": [reply],
                  "labels": ["[1, 0]"]}).to_csv(path, index=False)
    X, y, _ = load_acnempathize_cause(path)
    assert X["reply"].iat[0] == reply and list(y) == [1, 0]


@pytest.mark.parametrize("content, message", [
    (b"", "empty"),
    ("post_sentences,reply,labels\n\"['Caf\xe9.']\",Hugs,[1]\n".encode("latin-1"), "line 2: not UTF-8"),
    (b"a,b\n1,2\n", "no post column"),
])
def test_bad_csv_files_name_the_file(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message) as info:
        load_acnempathize_cause(path)
    assert str(path) in str(info.value)


json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | odd_text,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(odd_text, children, max_size=3),
    max_leaves=8)


@st.composite
def reccon_documents(draw):
    """RECCON-shaped documents, with random values spliced in at random depths."""
    turns = [{"turn": t, "speaker": "A", "utterance": draw(sentence), "emotion": "sad",
              "expanded emotion cause evidence": draw(st.lists(st.integers(1, 3) | st.just("b"), max_size=2))}
             for t in range(1, draw(st.integers(1, 3)) + 1)]
    document = {"dia1": [turns]}
    where = draw(st.sampled_from(["none", "top", "dialogue", "turns", "turn", "field"]))
    value = draw(json_value)
    if where == "top":
        document = value
    elif where == "dialogue":
        document["dia1"] = value
    elif where == "turns":
        document["dia1"] = [value]
    elif where == "turn":
        turns[0] = value
    elif where == "field":
        turns[0][draw(st.sampled_from(sorted(turns[0])))] = value
    return document


@SETTINGS
@given(document=reccon_documents(), garbage=st.booleans())
def test_reccon_json_loads_or_raises_clearly(tmp_path_factory, document, garbage):
    path = tmp_path_factory.mktemp("reccon") / "dailydialog_train.json"
    text = json.dumps(document)
    path.write_text(text[: len(text) // 2] if garbage else text)
    try:
        X, y, groups = load_reccon(path)
    except CLEAR as exc:
        assert str(path) in str(exc)
        return
    assert len(X) == len(y) == len(groups)
    assert set(np.unique(y)) <= {0, 1}


@pytest.mark.parametrize("index", [9.223372e18, float("inf"), 2**70, -(2**70)])
def test_huge_sentence_index_is_a_clear_error(index):
    """Found by the property above: a huge float index raised OverflowError."""
    X, y = pairs_to_frame([{"post": ["A.", "B."], "reply": "C.", "labels": [0, 1]}])
    X["sentence_index"] = pd.Series([index, 0], dtype=object)
    with pytest.raises(CLEAR, match="sentence_index"):
        validate_frame(X, y)
