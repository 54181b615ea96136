"""Tests of empathy_cause.analysis on small frames whose answers are known."""

import socket
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from empathy_cause import analysis

pytest.importorskip("textblob")
pytest.importorskip("nrclex")

POST_A = (
    "I feel awful and hopeless.",
    "What a wonderful happy day.",
    "I hate my terrible acne.",
    "My skin looks great today.",
)
POST_B = (
    "I am so afraid to leave the house.",
    "Thanks for reading!",
    "Love this sunny morning.",
)
# (pair_id, thread_id, post, reply, labels)
PAIRS = [
    ("a1", "t1", POST_A, "So sorry you feel this way.", [1, 0, 1, 0]),
    ("a2", "t1", POST_A, "Hugs to you.", [1, 0, 0, 0]),
    ("b1", "t2", POST_B, "I get it, I hide at home too.", [1, 0, 0]),
]


def make_frame(pairs=PAIRS, with_ids=True):
    rows, y = [], []
    for pair_id, thread_id, post, reply, labels in pairs:
        for i, label in enumerate(labels):
            row = {"post": post, "reply": reply, "sentence_index": i}
            if with_ids:
                row.update(pair_id=pair_id, thread_id=thread_id)
            rows.append(row)
            y.append(label)
    return pd.DataFrame(rows), np.array(y)


@pytest.fixture
def frame():
    return make_frame()


@pytest.fixture
def no_network(monkeypatch):
    """Make every attempt to open a connection (or download NLTK data) fail."""

    class BlockedSocket(socket.socket):
        def __init__(self, *args, **kwargs):
            raise RuntimeError("network access attempted during analysis")

    def blocked(*args, **kwargs):
        raise RuntimeError("network access attempted during analysis")

    monkeypatch.setattr(socket, "socket", BlockedSocket)
    monkeypatch.setattr(socket, "create_connection", blocked)
    try:
        import nltk
    except ImportError:
        pass
    else:
        monkeypatch.setattr(nltk, "download", blocked)


# --------------------------------------------------------------------------- #
# counts
# --------------------------------------------------------------------------- #
def test_dataset_counts(frame):
    X, y = frame
    counts = analysis.dataset_counts(X, y)["value"]
    assert counts["pairs"] == 3
    assert counts["initial_posts"] == 2
    assert counts["replies"] == 3
    assert counts["posts_total"] == 5
    assert counts["sentence_rows"] == 11
    assert counts["post_sentences"] == 7  # 4 + 3, each post once
    assert counts["causes"] == 4
    assert counts["non_causes"] == 7
    assert counts["cause_share"] == pytest.approx(4 / 11)
    assert counts["sentences_per_post_mean"] == pytest.approx(3.5)
    assert counts["sentences_per_post_median"] == pytest.approx(3.5)
    assert counts["sentences_per_post_max"] == 4
    assert counts["threads"] == 2


def test_dataset_counts_without_ids():
    X, y = make_frame(with_ids=False)
    counts = analysis.dataset_counts(X, y)["value"]
    assert counts["pairs"] == 3  # derived from (post, reply)
    assert counts["threads"] is None


def test_y_is_required(frame):
    X, _ = frame
    with pytest.raises(ValueError, match="y is required"):
        analysis.dataset_counts(X, None)
    with pytest.raises(ValueError):
        analysis.top_terms(X, [1, 0])


# --------------------------------------------------------------------------- #
# frequent terms
# --------------------------------------------------------------------------- #
def test_top_words(frame):
    X, y = frame
    table = analysis.top_terms(X, y, ngram=1, k=5)
    assert list(table.columns) == ["term", "count"]
    # cause rows: "I feel awful and hopeless." (twice: pairs a1 and a2),
    # "I hate my terrible acne.", "I am so afraid to leave the house."
    counts = dict(zip(table["term"], table["count"]))
    assert list(table["term"][:3]) == ["awful", "feel", "hopeless"]  # ties: a-z
    assert counts["awful"] == 2
    assert len(table) == 5
    full = analysis.top_terms(X, y, ngram=1, k=100)
    full = dict(zip(full["term"], full["count"]))
    assert full["acne"] == 1
    # stop words and non-cause sentences are left out
    for word in ("i", "and", "the", "my", "wonderful", "skin"):
        assert word not in full


def test_top_bigrams(frame):
    X, y = frame
    table = analysis.top_terms(X, y, ngram=2, k=50)
    counts = dict(zip(table["term"], table["count"]))
    assert counts["awful hopeless"] == 2  # "and" removed before pairing
    assert counts["terrible acne"] == 1
    assert counts["leave house"] == 1  # "leave the house", as in the paper
    assert table["count"].is_monotonic_decreasing


def test_top_terms_ignores_row_order(frame):
    X, y = frame
    order = np.random.default_rng(0).permutation(len(X))
    a = analysis.top_terms(X, y, k=50)
    b = analysis.top_terms(X.iloc[order], y[order], k=50)
    pd.testing.assert_frame_equal(a, b)


def test_top_terms_no_causes(frame):
    X, y = frame
    table = analysis.top_terms(X, np.zeros_like(y))
    assert len(table) == 0 and list(table.columns) == ["term", "count"]


# --------------------------------------------------------------------------- #
# polarity
# --------------------------------------------------------------------------- #
def test_polarity_signs(frame):
    X, y = frame
    table = analysis.polarity(X, y)
    assert list(table.index) == ["cause", "non-cause"]
    assert table.loc["cause", "sentences"] == 4
    assert table.loc["non-cause", "sentences"] == 7
    assert table.loc["cause", "mean_polarity"] < 0
    assert table.loc["non-cause", "mean_polarity"] > 0
    assert -1 <= table["mean_polarity"].min() <= table["mean_polarity"].max() <= 1


def test_polarity_matches_textblob(frame):
    from textblob import TextBlob

    X, y = frame
    table = analysis.polarity(X, y)
    expected = np.mean([TextBlob(X["post"].iat[i][X["sentence_index"].iat[i]])
                        .sentiment.polarity for i in np.flatnonzero(y == 1)])
    assert table.loc["cause", "mean_polarity"] == pytest.approx(expected)


# --------------------------------------------------------------------------- #
# NRC emotions
# --------------------------------------------------------------------------- #
NRC_PAIRS = [
    ("p1", "t", ("I feel awful and hopeless.", "What a wonderful happy day."),
     "Sorry.", [1, 0]),
    ("p2", "t", ("I feel awful and hopeless.", "What a wonderful happy day."),
     "Hugs.", [1, 0]),
]


def test_shipped_lexicon_entries():
    lex = analysis.load_nrc_lexicon()
    # looked up in nrclex's nrc_en.json
    assert lex["awful"] == {"anger", "disgust", "fear", "negative", "sadness"}
    assert lex["hopeless"] == {"fear", "negative", "sadness"}
    assert lex["wonderful"] == {"joy", "positive", "surprise", "trust"}
    assert lex["happy"] == {"anticipation", "joy", "positive", "trust"}
    for word in ("i", "feel", "and", "what", "a", "day"):
        assert word not in lex


def test_nrc_counts():
    X, y = make_frame(NRC_PAIRS)
    table = analysis.nrc_emotions(X, y, normalize="count")
    assert list(table.index) == list(analysis.NRC_EMOTIONS)
    cause = table["cause"]
    # two cause rows, each with "awful" and "hopeless"
    assert cause["negative"] == 4
    assert cause["fear"] == 4
    assert cause["sadness"] == 4
    assert cause["anger"] == 2
    assert cause["disgust"] == 2
    assert cause["joy"] == 0 and cause["positive"] == 0
    other = table["non-cause"]
    # two non-cause rows, each with "wonderful" and "happy"
    assert other["joy"] == 4 and other["positive"] == 4 and other["trust"] == 4
    assert other["anticipation"] == 2 and other["surprise"] == 2
    assert other["negative"] == 0
    assert table["cause_count"]["negative"] == 4
    assert table.attrs["cause"] == {"sentences": 2, "tokens": 10,
                                    "lexicon_tokens": 4}


def test_nrc_normalisations():
    X, y = make_frame(NRC_PAIRS)
    per_sentence = analysis.nrc_emotions(X, y)  # default "sentence"
    assert per_sentence.attrs["normalize"] == "sentence"
    assert per_sentence.loc["negative", "cause"] == pytest.approx(4 / 2)
    share = analysis.nrc_emotions(X, y, normalize="share")
    assert share["cause"].sum() == pytest.approx(1.0)
    assert share.loc["negative", "cause"] == pytest.approx(4 / 16)
    token = analysis.nrc_emotions(X, y, normalize="token")
    assert token.loc["negative", "cause"] == pytest.approx(4 / 10)
    with pytest.raises(ValueError, match="normalize"):
        analysis.nrc_emotions(X, y, normalize="max")


def test_nrc_custom_lexicon(frame):
    X, y = frame
    table = analysis.nrc_emotions(X, y, normalize="count",
                                  lexicon={"Acne": ["disgust"]})
    # "acne" is a cause in pair a1 and not in pair a2: one count each
    assert table.loc["disgust", "cause"] == 1
    assert table.loc["disgust", "non-cause"] == 1
    assert table[["cause", "non-cause"]].to_numpy().sum() == 2


# --------------------------------------------------------------------------- #
# LDA
# --------------------------------------------------------------------------- #
def test_lda_topics(frame):
    from sklearn.feature_extraction.text import CountVectorizer

    X, y = frame
    topics = analysis.lda_topics(X, y, n_topics=3, n_words=4, random_state=0)
    assert len(topics) == 3
    assert list(topics["topic"]) == [1, 2, 3]
    cause = [X["post"].iat[i][X["sentence_index"].iat[i]]
             for i in np.flatnonzero(y == 1)]
    vocab = set(CountVectorizer(stop_words="english").fit(cause)
                .get_feature_names_out())
    for words, keywords in zip(topics["words"], topics["keywords"]):
        assert len(words) == 4
        assert set(words) <= vocab
        assert keywords == ", ".join(words)
    assert topics["prevalence"].sum() == pytest.approx(1.0)
    again = analysis.lda_topics(X, y, n_topics=3, n_words=4, random_state=0)
    pd.testing.assert_frame_equal(topics, again)


def test_lda_needs_causes(frame):
    X, y = frame
    with pytest.raises(ValueError, match="cause sentence"):
        analysis.lda_topics(X, np.zeros_like(y))


# --------------------------------------------------------------------------- #
# report, network, missing extras
# --------------------------------------------------------------------------- #
FILES = ("top_words.png", "top_bigrams.png", "nrc_emotions.png")


def test_write_report(frame, tmp_path):
    X, y = frame
    out = tmp_path / "report"
    path = analysis.write_report(X, y, out, random_state=0, n_topics=2)
    assert path == out / "report.md"
    text = path.read_text(encoding="utf-8")
    for name in FILES:
        data = (out / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"]({name})" in text
    for heading in ("## Counts", "## Most frequent words",
                    "## Most frequent bigrams", "## Sentiment polarity",
                    "## NRC emotion lexicon", "## LDA topics"):
        assert heading in text
    assert "| awful hopeless" in text
    assert "| sentence_rows" in text


def test_markdown_without_tabulate(frame, monkeypatch):
    monkeypatch.setitem(sys.modules, "tabulate", None)
    from empathy_cause.analysis._report import _to_markdown

    X, y = frame
    md = _to_markdown(analysis.top_terms(X, y, k=2), index=False)
    assert md.splitlines()[0] == "| term | count |"
    assert md.splitlines()[2] == "| awful | 2 |"


def test_plots_return_figures(frame):
    from matplotlib.figure import Figure

    X, y = frame
    fig = analysis.plot_top_terms(analysis.top_terms(X, y), title="t")
    assert isinstance(fig, Figure)
    assert len(fig.axes[0].patches) == 9
    fig = analysis.plot_nrc_emotions(analysis.nrc_emotions(X, y))
    assert len(fig.axes[0].patches) == 2 * len(analysis.NRC_EMOTIONS)
    empty = analysis.top_terms(X, np.zeros_like(y))
    assert isinstance(analysis.plot_top_terms(empty), Figure)


def test_whole_analysis_offline(frame, tmp_path, no_network):
    with pytest.raises(RuntimeError):  # the block works
        socket.create_connection(("example.org", 80))
    X, y = frame
    path = analysis.write_report(X, y, tmp_path, n_topics=2)
    assert path.is_file()
    assert analysis.polarity(X, y).loc["cause", "mean_polarity"] < 0
    assert analysis.nrc_emotions(X, y).loc["negative", "cause"] > 0


@pytest.mark.parametrize("package, function", [
    ("textblob", "polarity"),
    ("nrclex", "nrc_emotions"),
    ("textblob", "write_report"),
    ("nrclex", "write_report"),
])
def test_missing_extra(frame, tmp_path, monkeypatch, package, function):
    monkeypatch.setitem(sys.modules, package, None)
    X, y = frame
    args = (X, y, tmp_path / "out") if function == "write_report" else (X, y)
    with pytest.raises(ImportError) as info:
        getattr(analysis, function)(*args)
    message = str(info.value)
    assert package in message
    assert 'pip install "empathy_cause[analysis]"' in message
    assert function in message
    assert not (tmp_path / "out").exists()  # failed before doing any work


def test_other_analyses_need_no_extras(frame, monkeypatch):
    monkeypatch.setitem(sys.modules, "textblob", None)
    monkeypatch.setitem(sys.modules, "nrclex", None)
    X, y = frame
    assert analysis.dataset_counts(X, y)["value"]["causes"] == 4
    assert len(analysis.top_terms(X, y)) > 0
    assert len(analysis.lda_topics(X, y, n_topics=2)) == 2


def test_module_imports_without_extras(monkeypatch):
    # load a fresh copy of the module file while the extras are blocked
    import importlib.util

    monkeypatch.setitem(sys.modules, "textblob", None)
    monkeypatch.setitem(sys.modules, "nrclex", None)
    # analysis is a package: a fresh copy of it and its submodules, under another name
    folder = str(Path(analysis.__file__).parent)
    spec = importlib.util.spec_from_file_location(
        "_analysis_without_extras", analysis.__file__, submodule_search_locations=[folder])
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    assert callable(module.write_report)
