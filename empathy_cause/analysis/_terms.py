"""Counts, frequent terms, polarity and topics of cause sentences (the paper's section 4)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._common import _count_vectorizer, _new_axes, _require, _split, _validate


def dataset_counts(X, y):
    """Size and balance of a dataset (the numbers of the paper's section 4).

    Parameters
    ----------
    X : pandas.DataFrame
        Sentence-row frame (columns ``post``, ``reply``, ``sentence_index``,
        optionally ``pair_id`` and ``thread_id``).
    y : array-like of shape (n_rows,)
        1 where the row's sentence is a cause of empathy, else 0.

    Returns
    -------
    pandas.DataFrame
        Indexed by statistic, one column ``value``:

        ``pairs``
            distinct ``pair_id`` values (derived from the post and reply
            when the column is absent).
        ``initial_posts``
            distinct posts (by their sentences).
        ``replies``
            distinct (post, reply text) combinations, i.e. reply texts counted
            per post; equals ``pairs`` unless a post has the same reply twice.
        ``posts_total``
            ``initial_posts + replies`` (the paper's "3,217 posts").
        ``sentence_rows``
            rows of ``X``: post sentences counted once per pair.
        ``post_sentences``
            sentences of the distinct initial posts (each post counted once).
        ``causes``, ``non_causes``, ``cause_share``
            rows labelled 1, rows labelled 0, and ``causes / sentence_rows``.
        ``sentences_per_post_mean``, ``_median``, ``_max``
            over distinct initial posts, using each post's full length.
        ``threads``
            distinct ``thread_id`` values; ``None`` when ``X`` has no such
            column.

    Notes
    -----
    For AcnEmpathize-Cause the paper reports 3,217 posts, 1,021 initial
    posts, 2,196 replies, 45,183 sentences, 3,931 causes (8.70%).
    """
    has_threads = isinstance(X, pd.DataFrame) and "thread_id" in X.columns
    X, y = _validate(X, y)  # adds pair_id/thread_id when absent
    posts = [tuple(p) for p in X["post"].to_numpy()]
    replies = [str(r) for r in X["reply"].to_numpy()]
    distinct_posts = set(posts)
    lengths = np.array([len(p) for p in distinct_posts], dtype=float)
    n_rows = len(X)
    causes = int(np.sum(y == 1))
    if has_threads:
        threads = int(X["thread_id"].nunique(dropna=True))
    else:
        threads = None

    def _stat(fn):
        return float(fn(lengths)) if lengths.size else float("nan")

    stats = {
        "pairs": int(X["pair_id"].nunique()),
        "initial_posts": len(distinct_posts),
        "replies": len(set(zip(posts, replies))),
        "posts_total": None,  # filled below
        "sentence_rows": n_rows,
        "post_sentences": int(lengths.sum()),
        "causes": causes,
        "non_causes": n_rows - causes,
        "cause_share": causes / n_rows if n_rows else float("nan"),
        "sentences_per_post_mean": _stat(np.mean),
        "sentences_per_post_median": _stat(np.median),
        "sentences_per_post_max": int(lengths.max()) if lengths.size else 0,
        "threads": threads,
    }
    stats["posts_total"] = stats["initial_posts"] + stats["replies"]
    out = pd.DataFrame(
        {"value": pd.Series(list(stats.values()), dtype=object)}
    )
    out.index = pd.Index(list(stats), name="statistic")
    return out


def top_terms(X, y, ngram=1, k=20, *, stop_words="english"):
    """Most frequent words or n-grams in cause sentences (Figures 1 and 2).

    Sentences are lowercased and tokenized by scikit-learn's
    :class:`~sklearn.feature_extraction.text.CountVectorizer` (tokens of two
    or more word characters); stop words are removed *before* n-grams are
    formed, so "leave the house" yields the bigram "leave house".

    Parameters
    ----------
    X : pandas.DataFrame
        Sentence-row frame.
    y : array-like of shape (n_rows,)
        0/1 cause labels.
    ngram : int, default=1
        1 for words, 2 for bigrams, and so on.
    k : int, default=20
        How many terms to return.
    stop_words : "english", list of str or None, default="english"
        Passed to ``CountVectorizer``; "english" is scikit-learn's
        ``ENGLISH_STOP_WORDS``.

    Returns
    -------
    pandas.DataFrame
        Columns ``term`` and ``count`` (occurrences in cause rows), most
        frequent first, ties in alphabetical order; at most ``k`` rows, empty
        when there are no cause sentences or no terms.
    """
    X, y = _validate(X, y)
    if int(ngram) < 1 or int(k) < 1:
        raise ValueError("ngram and k must be positive integers")
    cause, _ = _split(X, y)
    empty = pd.DataFrame({"term": pd.Series([], dtype=object),
                          "count": pd.Series([], dtype=int)})
    if not cause:
        return empty
    vec = _count_vectorizer(int(ngram), stop_words)
    try:
        counts = vec.fit_transform(cause)
    except ValueError:  # empty vocabulary (only stop words / punctuation)
        return empty
    totals = np.asarray(counts.sum(axis=0)).ravel()
    terms = vec.get_feature_names_out()
    table = pd.DataFrame({"term": terms.astype(object), "count": totals.astype(int)})
    table = table.sort_values(["count", "term"], ascending=[False, True],
                              kind="mergesort")
    return table.head(int(k)).reset_index(drop=True)


def plot_top_terms(table, *, title=None, ax=None):
    """Horizontal bar chart of a :func:`top_terms` table.

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`top_terms` (columns ``term``, ``count``).
    title : str, optional
        Figure title.
    ax : matplotlib.axes.Axes, optional
        Draw here; a new figure is made when omitted.

    Returns
    -------
    matplotlib.figure.Figure
        The figure (not attached to pyplot; save it with ``fig.savefig``).
    """
    from matplotlib.ticker import MaxNLocator

    ax = _new_axes(ax, height=max(2.5, 0.3 * len(table) + 1.0))
    terms = [str(t) for t in table["term"]][::-1]
    counts = [int(c) for c in table["count"]][::-1]
    if terms:
        bars = ax.barh(terms, counts, color="#4C72B0")
        ax.bar_label(bars, padding=2, fontsize=8)
        ax.margins(x=0.12)
    else:
        ax.text(0.5, 0.5, "no terms", ha="center", va="center",
                transform=ax.transAxes)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("occurrences in cause sentences")
    if title:
        ax.set_title(title)
    ax.figure.tight_layout()
    return ax.figure


def polarity(X, y):
    """TextBlob sentiment of cause vs non-cause sentences (Table 1).

    Uses TextBlob's default ``PatternAnalyzer`` (what ``TextBlob(s).sentiment``
    computes), whose lexicon ships with textblob: no NLTK corpus and no
    download is needed. Polarity lies in [-1, 1], subjectivity in [0, 1].

    Parameters
    ----------
    X : pandas.DataFrame
        Sentence-row frame.
    y : array-like of shape (n_rows,)
        0/1 cause labels.

    Returns
    -------
    pandas.DataFrame
        Index ``["cause", "non-cause"]``; columns ``sentences`` (rows),
        ``mean_polarity``, ``median_polarity``, ``negative_share`` and
        ``positive_share`` (fraction of sentences with polarity below / above
        0) and ``mean_subjectivity``. Means are NaN for an empty group.

    Raises
    ------
    ImportError
        If textblob is not installed.

    Notes
    -----
    The paper reports a mean polarity of -0.0177 for cause and 0.0032 for
    non-cause sentences of AcnEmpathize-Cause.
    """
    X, y = _validate(X, y)
    sentiments = _require("textblob.en.sentiments", "polarity", "textblob")
    analyzer = sentiments.PatternAnalyzer()
    cache = {}

    def score(s):
        if s not in cache:
            res = analyzer.analyze(s)
            cache[s] = (float(res[0]), float(res[1]))
        return cache[s]

    rows = {}
    for name, group in zip(("cause", "non-cause"), _split(X, y)):
        scores = np.array([score(s) for s in group], dtype=float).reshape(-1, 2)
        pol, subj = scores[:, 0], scores[:, 1]
        n = len(group)
        rows[name] = {
            "sentences": n,
            "mean_polarity": float(pol.mean()) if n else float("nan"),
            "median_polarity": float(np.median(pol)) if n else float("nan"),
            "negative_share": float(np.mean(pol < 0)) if n else float("nan"),
            "positive_share": float(np.mean(pol > 0)) if n else float("nan"),
            "mean_subjectivity": float(subj.mean()) if n else float("nan"),
        }
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "sentences_of"
    return out


def lda_topics(X, y, n_topics=5, n_words=10, random_state=0, *,
               stop_words="english", max_iter=10):
    """Latent Dirichlet allocation topics of cause sentences (Table 5).

    Each cause row is one document; words are counted by scikit-learn's
    ``CountVectorizer`` with stop words removed, and topics are fitted by
    :class:`~sklearn.decomposition.LatentDirichletAllocation` (batch
    variational Bayes).

    Parameters
    ----------
    X : pandas.DataFrame
        Sentence-row frame.
    y : array-like of shape (n_rows,)
        0/1 cause labels.
    n_topics : int, default=5
        Number of topics.
    n_words : int, default=10
        Keywords listed per topic (fewer when the vocabulary is smaller).
    random_state : int, RandomState or None, default=0
        Seed of the LDA fit.
    stop_words : "english", list of str or None, default="english"
        Passed to ``CountVectorizer``.
    max_iter : int, default=10
        Passes over the data.

    Returns
    -------
    pandas.DataFrame
        One row per topic: ``topic`` (1-based), ``keywords`` (comma-separated,
        highest weight first), ``words`` (the same as a list) and
        ``prevalence`` (mean share of the topic over cause sentences; sums
        to 1).

    Raises
    ------
    ValueError
        If there are no cause sentences or they contain no countable words.
    """
    from sklearn.decomposition import LatentDirichletAllocation

    X, y = _validate(X, y)
    cause, _ = _split(X, y)
    if not cause:
        raise ValueError("lda_topics needs at least one cause sentence (y == 1)")
    vec = _count_vectorizer(1, stop_words)
    try:
        counts = vec.fit_transform(cause)
    except ValueError as exc:
        raise ValueError(
            "lda_topics: the cause sentences contain no words left after "
            "stop word removal"
        ) from exc
    lda = LatentDirichletAllocation(
        n_components=int(n_topics), random_state=random_state,
        learning_method="batch", max_iter=int(max_iter),
    )
    doc_topic = lda.fit_transform(counts)
    vocab = vec.get_feature_names_out()
    n = min(int(n_words), len(vocab))
    rows = []
    for t, weights in enumerate(lda.components_):
        order = np.argsort(-weights, kind="mergesort")[:n]
        words = [str(vocab[i]) for i in order]
        rows.append({
            "topic": t + 1,
            "keywords": ", ".join(words),
            "words": words,
            "prevalence": float(doc_topic[:, t].mean()),
        })
    return pd.DataFrame(rows)
