"""Dataset analyses of the paper's section 4, for any sentence-row dataset.

Every function takes the library's sentence-row frame ``X`` (one row per post
sentence, see :func:`empathy_cause.data.frame.validate_frame`) and its 0/1
labels ``y`` and returns a :class:`pandas.DataFrame`:

* :func:`dataset_counts` -- pairs, posts, replies, sentences, causes, threads;
* :func:`top_terms` -- most frequent words or bigrams in cause sentences
  (the paper's Figures 1 and 2; drawn by :func:`plot_top_terms`);
* :func:`polarity` -- TextBlob polarity of cause vs non-cause sentences
  (Table 1);
* :func:`nrc_emotions` -- NRC emotion lexicon frequencies of cause vs
  non-cause sentences (Table 2; drawn by :func:`plot_nrc_emotions`);
* :func:`lda_topics` -- latent Dirichlet allocation on cause sentences
  (Table 5);
* :func:`write_report` -- all of the above as ``report.md`` plus PNG figures.

Units: each *row* of ``X`` is counted once. A sentence of a post that has two
replies appears in two rows (one per pair) and may be a cause in one and not
in the other; it then counts once as a cause sentence and once as a non-cause
sentence, exactly as in the paper's pair layout.

:func:`polarity` needs ``textblob`` and :func:`nrc_emotions` needs ``nrclex``
(only for the lexicon file it ships); both come with
``pip install "empathy_cause[analysis]"``. They are imported inside the
functions, so this module imports without them. Nothing here downloads
anything: TextBlob's default sentiment analyser reads a lexicon bundled with
textblob, and the NRC lexicon is read from nrclex's package data with this
module's own tokenizer (NRCLex's raw-text path would need NLTK corpora).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "NRC_EMOTIONS",
    "dataset_counts",
    "lda_topics",
    "load_nrc_lexicon",
    "nrc_emotions",
    "plot_nrc_emotions",
    "plot_top_terms",
    "polarity",
    "top_terms",
    "write_report",
]

#: The ten NRC categories, in the order used for rows and figures: Plutchik's
#: eight emotions, then the two sentiments.
NRC_EMOTIONS = (
    "anger",
    "anticipation",
    "disgust",
    "fear",
    "joy",
    "sadness",
    "surprise",
    "trust",
    "negative",
    "positive",
)

_WORD_RE = re.compile(r"[a-z]+")
_NRC_NORMALIZATIONS = ("sentence", "share", "token", "count")
_INSTALL_HINT = 'pip install "empathy_cause[analysis]"'


# --------------------------------------------------------------------------- #
# helpers
# --------------------------------------------------------------------------- #
def _validate(X, y):
    """Check the frame and labels with the library's validator."""
    from .data.frame import validate_frame

    if y is None:
        raise ValueError(
            "y is required: the analyses compare cause (1) and non-cause (0) "
            "sentences, so give one 0/1 label per row of X."
        )
    return validate_frame(X, y)


def _require(module, function, package):
    """Import an optional dependency or raise a clear ImportError."""
    import importlib

    try:
        # the top-level package first: a cached submodule would otherwise be
        # returned even when the package itself is blocked or gone
        importlib.import_module(module.partition(".")[0])
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"empathy_cause.analysis.{function}() needs the optional package "
            f"{package!r}, which is not installed. Install the analysis extra "
            f"with:  {_INSTALL_HINT}  (or: pip install {package})"
        ) from exc


def _row_sentences(X):
    """The sentence each row is about: ``post[sentence_index]``."""
    posts = X["post"].to_numpy()
    idx = X["sentence_index"].to_numpy()
    return [str(p[int(i)]) for p, i in zip(posts, idx)]


def _split(X, y):
    """Cause and non-cause sentences, one entry per row."""
    sentences = _row_sentences(X)
    cause = [s for s, lab in zip(sentences, y) if lab == 1]
    other = [s for s, lab in zip(sentences, y) if lab != 1]
    return cause, other


def _count_vectorizer(ngram, stop_words):
    from sklearn.feature_extraction.text import CountVectorizer

    return CountVectorizer(
        lowercase=True, stop_words=stop_words, ngram_range=(ngram, ngram)
    )


# --------------------------------------------------------------------------- #
# 1. counts
# --------------------------------------------------------------------------- #
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


# --------------------------------------------------------------------------- #
# 2. frequent terms
# --------------------------------------------------------------------------- #
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


# --------------------------------------------------------------------------- #
# 3. polarity
# --------------------------------------------------------------------------- #
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


# --------------------------------------------------------------------------- #
# 4. NRC emotions
# --------------------------------------------------------------------------- #
def _nrc_lexicon_path(function="nrc_emotions"):
    """Path of the NRC lexicon JSON shipped by the nrclex package."""
    nrclex = _require("nrclex", function, "nrclex")
    base = Path(nrclex.__file__).resolve().parent
    for candidate in (base / "data" / "nrc_en.json", base / "nrc_en.json",
                      base.parent / "nrc_en.json"):
        if candidate.is_file():
            return candidate
    found = sorted(base.rglob("nrc*.json"))
    if found:
        return found[0]
    raise FileNotFoundError(
        f"No NRC lexicon file (nrc_en.json) found in the nrclex package at "
        f"{base}; reinstall it with {_INSTALL_HINT} or pass lexicon=."
    )


def load_nrc_lexicon(path=None):
    """Read the NRC emotion lexicon as ``{word: frozenset(emotions)}``.

    Parameters
    ----------
    path : str or pathlib.Path, optional
        A JSON file mapping each word to a list of NRC categories (the format
        nrclex ships). By default the ``nrc_en.json`` inside the installed
        ``nrclex`` package is read (the package itself is not used).

    Returns
    -------
    dict of str to frozenset of str
        Lowercased words to their categories (those among
        :data:`NRC_EMOTIONS`).

    Raises
    ------
    ImportError
        If ``path`` is omitted and nrclex is not installed.
    """
    path = _nrc_lexicon_path() if path is None else Path(path)
    with open(path, encoding="utf-8") as fh:
        raw = json.load(fh)
    known = set(NRC_EMOTIONS)
    return {
        str(word).lower(): frozenset(e for e in emotions if e in known)
        for word, emotions in raw.items()
    }


def _nrc_counts(sentences, lex):
    """``(count per category of NRC_EMOTIONS, word tokens, tokens found in the lexicon)`` of some sentences."""
    counts = dict.fromkeys(NRC_EMOTIONS, 0)
    words = [word for sentence in sentences for word in _WORD_RE.findall(sentence.lower())]
    found = [lex[word] for word in words if lex.get(word)]
    for emotions in found:
        for e in emotions & counts.keys():
            counts[e] += 1
    return np.array([counts[e] for e in NRC_EMOTIONS], dtype=float), len(words), len(found)


def nrc_emotions(X, y, *, normalize="sentence", lexicon=None):
    """NRC emotion lexicon frequencies of cause vs non-cause sentences (Table 2).

    Each sentence is lowercased and split into words with the regular
    expression ``[a-z]+`` (no lemmatization, no NLTK). Every word occurrence
    found in the lexicon adds 1 to each of its categories (a word can carry
    several, e.g. "awful" is anger, disgust, fear, negative and sadness).

    Parameters
    ----------
    X : pandas.DataFrame
        Sentence-row frame.
    y : array-like of shape (n_rows,)
        0/1 cause labels.
    normalize : {"sentence", "share", "token", "count"}, default="sentence"
        How the per-group category counts are scaled:

        ``"sentence"``
            count / number of sentences in the group: the mean number of
            words of that category per sentence. Columns do not sum to 1; this
            is the reading of the paper's Table 2 whose scale it matches
            (its columns sum to about 5.1 and 3.3, so they are not shares).
        ``"share"``
            count / all category counts of the group: each column sums to 1
            (NRCLex's ``affect_frequencies``, pooled over the group).
        ``"token"``
            count / number of word tokens in the group.
        ``"count"``
            raw counts.
    lexicon : str, pathlib.Path or dict, optional
        A lexicon file (see :func:`load_nrc_lexicon`) or a ready mapping from
        word to categories. Default: the file shipped with nrclex.

    Returns
    -------
    pandas.DataFrame
        Index: the ten categories of :data:`NRC_EMOTIONS`. Columns ``cause``
        and ``non-cause`` (normalised) and ``cause_count`` and
        ``non_cause_count`` (raw counts). ``attrs`` holds ``normalize`` and
        the per-group ``sentences``, ``tokens`` and ``lexicon_tokens``
        (word occurrences found in the lexicon).

    Raises
    ------
    ImportError
        If ``lexicon`` is omitted and nrclex is not installed.
    """
    if normalize not in _NRC_NORMALIZATIONS:
        raise ValueError(
            f"normalize must be one of {_NRC_NORMALIZATIONS}, got {normalize!r}"
        )
    X, y = _validate(X, y)
    if lexicon is None or isinstance(lexicon, (str, Path)):
        lex = load_nrc_lexicon(lexicon)
    else:
        lex = {str(w).lower(): frozenset(v) for w, v in dict(lexicon).items()}

    columns, counts_cols, attrs = {}, {}, {"normalize": normalize}
    for name, group in zip(("cause", "non-cause"), _split(X, y)):
        raw, n_tokens, n_hits = _nrc_counts(group, lex)
        denom = {
            "sentence": len(group),
            "share": raw.sum(),
            "token": n_tokens,
            "count": 1,
        }[normalize]
        columns[name] = raw / denom if denom else np.full(raw.shape, np.nan)
        counts_cols[name.replace("-", "_") + "_count"] = raw.astype(int)
        attrs[name] = {"sentences": len(group), "tokens": n_tokens,
                       "lexicon_tokens": n_hits}
    out = pd.DataFrame({**columns, **counts_cols},
                       index=pd.Index(NRC_EMOTIONS, name="emotion"))
    out.attrs.update(attrs)
    return out


def plot_nrc_emotions(table, *, title=None, ax=None):
    """Grouped bar chart of a :func:`nrc_emotions` table.

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`nrc_emotions` (columns ``cause`` and ``non-cause``).
    title : str, optional
        Figure title.
    ax : matplotlib.axes.Axes, optional
        Draw here; a new figure is made when omitted.

    Returns
    -------
    matplotlib.figure.Figure
    """
    ax = _new_axes(ax, width=8.0, height=4.0)
    x = np.arange(len(table))
    width = 0.4
    ax.bar(x - width / 2, table["cause"], width, label="cause",
           color="#C44E52")
    ax.bar(x + width / 2, table["non-cause"], width, label="non-cause",
           color="#4C72B0")
    ax.set_xticks(x)
    ax.set_xticklabels(list(table.index), rotation=30, ha="right")
    norm = table.attrs.get("normalize", "")
    ylabel = {
        "sentence": "lexicon words per sentence",
        "share": "share of emotion words",
        "token": "per word token",
        "count": "count",
    }.get(norm, "frequency")
    ax.set_ylabel(ylabel)
    ax.legend()
    if title:
        ax.set_title(title)
    ax.figure.tight_layout()
    return ax.figure


# --------------------------------------------------------------------------- #
# 5. LDA topics
# --------------------------------------------------------------------------- #
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


# --------------------------------------------------------------------------- #
# report
# --------------------------------------------------------------------------- #
def _new_axes(ax, width=6.0, height=4.0):
    if ax is not None:
        return ax
    from matplotlib.figure import Figure

    # A bare Figure (no pyplot): nothing global changes, no GUI backend is
    # touched, and savefig renders with Agg.
    fig = Figure(figsize=(width, height), dpi=100)
    return fig.add_subplot()


def _fmt_cell(v):
    if v is None:
        return "n/a"
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return "nan" if np.isnan(v) else f"{v:.4f}"
    if isinstance(v, (list, tuple)):
        return ", ".join(map(str, v))
    return str(v).replace("|", "\\|").replace("\n", " ")


def _is_number(v):
    return (isinstance(v, (int, float, np.integer, np.floating))
            and not isinstance(v, (bool, np.bool_)))


def _to_markdown(df, index=True):
    """A markdown (pipe) table of ``df``.

    Cells are formatted here (ints as ints, floats with 4 decimals) and laid
    out by tabulate when it is installed, else by a plain formatter.
    """
    frame = df.reset_index() if index else df
    header = [str(c) for c in frame.columns]
    raw = list(frame.itertuples(index=False, name=None))
    cells = [[_fmt_cell(v) for v in row] for row in raw]
    numeric = [bool(raw) and all(_is_number(row[j]) or row[j] is None
                                 for row in raw)
               for j in range(len(header))]
    try:
        from tabulate import tabulate
    except ImportError:
        lines = ["| " + " | ".join(header) + " |",
                 "|" + "|".join("---:" if num else ":---"
                                for num in numeric) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in cells]
        return "\n".join(lines)
    return tabulate(cells, headers=header, tablefmt="pipe",
                    disable_numparse=True,
                    colalign=["right" if num else "left" for num in numeric])


def _section(heading, note=None, figure=None, table=None):
    """The lines of one report section: heading, optional note, figure ``(alt, file)`` and table."""
    lines = [f"## {heading}", ""]
    if note:
        lines += [note, ""]
    if figure:
        lines += [f"![{figure[0]}]({figure[1]})", ""]
    return lines + [table, ""]


def _save_figures(out, figures):
    for name, fig in figures.items():
        fig.savefig(out / name, dpi=120)


def write_report(X, y, out_dir, *, random_state=0, k=20, n_topics=5,
                 n_words=10, title="Dataset analysis"):
    """Run all analyses and write ``report.md`` with PNG figures.

    Writes into ``out_dir`` (created if needed): ``report.md``,
    ``top_words.png``, ``top_bigrams.png`` and ``nrc_emotions.png``. Existing
    files of those names are overwritten.

    Parameters
    ----------
    X : pandas.DataFrame
        Sentence-row frame.
    y : array-like of shape (n_rows,)
        0/1 cause labels.
    out_dir : str or pathlib.Path
        Output folder.
    random_state : int, default=0
        Seed of the LDA fit.
    k : int, default=20
        Words and bigrams listed.
    n_topics, n_words : int, default=5, 10
        Passed to :func:`lda_topics`.
    title : str, default="Dataset analysis"
        First heading of the report.

    Returns
    -------
    pathlib.Path
        Path of ``report.md``.

    Raises
    ------
    ImportError
        If textblob or nrclex is missing (checked before any work is done).
    """
    # fail fast, before minutes of work, when an extra is missing
    _require("textblob.en.sentiments", "write_report", "textblob")
    _nrc_lexicon_path("write_report")
    X, y = _validate(X, y)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    words = top_terms(X, y, ngram=1, k=k)
    bigrams = top_terms(X, y, ngram=2, k=k)
    nrc = nrc_emotions(X, y)
    topics = (lda_topics(X, y, n_topics=n_topics, n_words=n_words, random_state=random_state)
              if np.any(y == 1) and len(words) else None)
    _save_figures(out, {
        "top_words.png": plot_top_terms(words, title="Most frequent words in cause sentences"),
        "top_bigrams.png": plot_top_terms(bigrams, title="Most frequent bigrams in cause sentences"),
        "nrc_emotions.png": plot_nrc_emotions(nrc, title="NRC emotions: cause vs non-cause sentences"),
    })

    parts = [
        f"# {title}",
        "",
        "Generated by `empathy_cause.analysis.write_report` (no network "
        "access; see docs/analysis.md). Sentences are counted once per "
        "(post, reply) pair row.",
        "",
        *_section("Counts", table=_to_markdown(dataset_counts(X, y))),
        *_section(f"Most frequent words in cause sentences (top {k})",
                  "Stop words removed (scikit-learn `ENGLISH_STOP_WORDS`).",
                  ("top words", "top_words.png"), _to_markdown(words, index=False)),
        *_section(f"Most frequent bigrams in cause sentences (top {k})",
                  "Stop words are removed before bigrams are formed.",
                  ("top bigrams", "top_bigrams.png"), _to_markdown(bigrams, index=False)),
        *_section("Sentiment polarity (TextBlob)", "Polarity ranges from -1 (negative) to 1 (positive).",
                  table=_to_markdown(polarity(X, y))),
        *_section("NRC emotion lexicon",
                  "Normalisation: lexicon words of each category per sentence of the "
                  "group (category count / number of sentences); a word with several "
                  "categories counts once for each.",
                  ("NRC emotions", "nrc_emotions.png"), _to_markdown(nrc[["cause", "non-cause"]])),
        *_section(f"LDA topics of cause sentences ({n_topics} topics, random_state={random_state})",
                  table="No cause sentences with countable words: no topics." if topics is None
                  else _to_markdown(topics[["topic", "keywords", "prevalence"]], index=False)),
    ]
    report = out / "report.md"
    report.write_text("\n".join(parts), encoding="utf-8")
    return report
