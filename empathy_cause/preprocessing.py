"""Preprocessing over the sentence-row frame: stopword removal, lemmatisation, and a balancing undersampler.

:class:`TextPreprocessor` is a stateless scikit-learn transformer (like a
``FunctionTransformer``) that rewrites the post sentences and the reply of
every row and keeps everything else: the same rows, the same pairs, the same
number of sentences per post, the same ``sentence_index``, ``pair_id`` and
``thread_id``. It goes in front of the classifier in a pipeline::

    from sklearn.pipeline import make_pipeline
    from empathy_cause import EmpathyCauseClassifier
    from empathy_cause.preprocessing import TextPreprocessor

    model = make_pipeline(TextPreprocessor(remove_stopwords=True), EmpathyCauseClassifier())

These are the paper's section 6.2.1 preprocessing conditions. Everything runs
offline: the stopword list is scikit-learn's ``ENGLISH_STOP_WORDS``; the
lemmatiser is ``simplemma`` (a pure-Python package that ships its
dictionaries, so nothing is downloaded), an optional dependency.
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from .data.frame import PAIR_ID, POST, REPLY, SENTENCE_INDEX, validate_frame

__all__ = ["TextPreprocessor", "lemmatizer_available", "remove_stopwords", "lemmatize", "balance_dataset"]

# A word: letters, optionally with an apostrophe part ("don't", "I'm").
_WORD = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)?")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.;:!?…)\]}])")
_SPACES = re.compile(r"\s{2,}")


def lemmatizer_available() -> bool:
    """Whether the offline lemmatiser (the ``simplemma`` package) is installed."""
    try:
        import simplemma  # noqa: F401
    except ImportError:
        return False
    return True


def _tidy(text: str) -> str:
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
    return _SPACES.sub(" ", text).strip()


def remove_stopwords(text: str, stop_words=ENGLISH_STOP_WORDS) -> str:
    """Drop the words of ``text`` that are in ``stop_words`` (case-insensitive).

    Punctuation is kept, so sentence ends (and the reply's sentence split)
    survive.
    """
    stop = stop_words if isinstance(stop_words, (set, frozenset)) else frozenset(stop_words)
    kept = _WORD.sub(lambda m: "" if m.group(0).lower().replace("’", "'") in stop else m.group(0), text)
    return _tidy(kept)


@lru_cache(maxsize=200_000)
def _lemma(word: str, language: str) -> str:
    import simplemma

    lemma = simplemma.lemmatize(word, lang=language)
    return lemma if lemma else word


def lemmatize(text: str, language: str = "en") -> str:
    """Replace every word of ``text`` by its lemma (``simplemma``, offline)."""
    if not lemmatizer_available():
        raise ImportError(
            "lemmatisation needs the 'simplemma' package (pure Python, ships its "
            "dictionaries, works offline): pip install simplemma"
        )
    return _WORD.sub(lambda m: _lemma(m.group(0), language), text)


class TextPreprocessor(TransformerMixin, BaseEstimator):
    """Rewrite the post sentences and the reply of a sentence-row frame.

    Stateless: ``fit`` learns nothing, so the transformer can sit in a
    ``Pipeline`` ahead of any classifier, inside cross-validation or a search.

    Parameters
    ----------
    remove_stopwords : bool, default=False
        Drop stopwords (``stop_words``) from every sentence and the reply.
    lemmatize : bool, default=False
        Replace words by their lemmas (needs ``simplemma``; raises
        ``ImportError`` at ``transform`` time when it is missing).
    lowercase : bool, default=False
        Lower-case the text (the default MiniLM encoder is uncased anyway).
    stop_words : collection of str or None, default=None
        The stopword list; None is scikit-learn's ``ENGLISH_STOP_WORDS``.
    language : str, default="en"
        Language code for the lemmatiser.

    Notes
    -----
    Rows and pairs are kept intact: the post keeps its number of sentences,
    so ``sentence_index`` still points at the same sentence. A sentence (or
    reply) that would become empty, e.g. "I am." with stopwords removed...
    keeps its punctuation ("."), and one with nothing at all left keeps its
    original text, because the frame does not allow empty sentences.
    Distinct posts and replies are rewritten once each.
    """

    def __init__(self, remove_stopwords=False, lemmatize=False, lowercase=False, stop_words=None,
                 language="en"):
        self.remove_stopwords = remove_stopwords
        self.lemmatize = lemmatize
        self.lowercase = lowercase
        self.stop_words = stop_words
        self.language = language

    def fit(self, X, y=None):
        """Nothing to learn; checks ``X`` has the text columns."""
        self._check_frame(X)
        if self.lemmatize and not lemmatizer_available():
            raise ImportError(
                "TextPreprocessor(lemmatize=True) needs the 'simplemma' package "
                "(pure Python, ships its dictionaries, works offline): pip install simplemma"
            )
        self.n_features_in_ = X.shape[1]
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        return self

    @staticmethod
    def _check_frame(X):
        if not isinstance(X, pd.DataFrame):
            raise TypeError(f"X must be the sentence-row DataFrame, got {type(X).__name__}")
        missing = [c for c in (POST, REPLY) if c not in X.columns]
        if missing:
            raise ValueError(f"X lacks the column(s) {missing}: it must be the sentence-row frame")

    def rewrite(self, text: str) -> str:
        """The preprocessed form of one piece of text."""
        out = text
        if self.lowercase:
            out = out.lower()
        if self.remove_stopwords:
            stop = ENGLISH_STOP_WORDS if self.stop_words is None else frozenset(self.stop_words)
            out = remove_stopwords(out, stop)
        if self.lemmatize:
            out = lemmatize(out, self.language)
        return out if out.strip() else text

    def transform(self, X):
        """A copy of ``X`` with the post sentences and reply rewritten."""
        self._check_frame(X)
        cache: dict[str, str] = {}

        def rewrite(text):
            if text not in cache:
                cache[text] = self.rewrite(text)
            return cache[text]

        posts: dict[tuple, tuple] = {}

        def rewrite_post(post):
            key = tuple(post)
            if key not in posts:
                posts[key] = tuple(rewrite(s) for s in key)
            return posts[key]

        out = X.copy()
        out[POST] = pd.Series([rewrite_post(p) for p in X[POST].to_numpy()], index=X.index, dtype=object)
        out[REPLY] = pd.Series([rewrite(r) for r in X[REPLY].to_numpy()], index=X.index, dtype=object)
        return out

    def get_feature_names_out(self, input_features=None):
        return np.asarray(self.feature_names_in_ if input_features is None else input_features, dtype=object)


def balance_dataset(X, y, *, sampling_strategy=1.0, keep_context=False, random_state=None):
    """Remove a random sample of non-cause rows so causes / non-causes = ``sampling_strategy``.

    Parameters
    ----------
    X, y : the sentence-row frame and its labels.
    sampling_strategy : float, default=1.0
        Ratio of causes to non-causes after removal (1.0: as many of each).
    keep_context : bool, default=False
        False (the paper's condition): a removed sentence is also removed from
        its post, so the remaining rows of that pair see a shorter post (their
        ``sentence_index`` is renumbered). True: only the rows are dropped and
        every remaining row keeps its full post, like an undersampler.
    random_state : int or None

    Returns
    -------
    X_balanced : pandas.DataFrame (fresh index)
    y_balanced : numpy.ndarray
    """
    X, y = validate_frame(X, y)
    negatives = np.flatnonzero(y == 0)
    n_keep = int(np.floor(np.sum(y == 1) / sampling_strategy))
    if len(negatives) <= n_keep:
        return X, y
    rng = np.random.default_rng(random_state)
    removed = np.zeros(len(X), dtype=bool)
    removed[rng.choice(negatives, size=len(negatives) - n_keep, replace=False)] = True
    if keep_context:
        keep = np.flatnonzero(~removed)
        return X.iloc[keep].reset_index(drop=True), y[keep]

    posts = X[POST].to_numpy()
    index = X[SENTENCE_INDEX].to_numpy()
    pair_ids = X[PAIR_ID].to_numpy()
    gone_by_pair: dict = {}
    for row in np.flatnonzero(removed):
        gone_by_pair.setdefault(pair_ids[row], set()).add(int(index[row]))
    keep = np.flatnonzero(~removed)
    new_posts, new_index, shortened = [], [], {}
    for row in keep:
        gone = gone_by_pair.get(pair_ids[row])
        if not gone:
            new_posts.append(posts[row])
            new_index.append(int(index[row]))
            continue
        key = pair_ids[row]
        if key not in shortened:
            shortened[key] = tuple(s for k, s in enumerate(posts[row]) if k not in gone)
        new_posts.append(shortened[key])
        new_index.append(int(index[row]) - sum(1 for k in gone if k < index[row]))
    out = X.iloc[keep].reset_index(drop=True)
    out[POST] = pd.Series(new_posts, dtype=object)
    out[SENTENCE_INDEX] = np.asarray(new_index, dtype=np.int64)
    return out, y[keep]
