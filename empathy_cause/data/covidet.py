"""CovidET-EXT (emotion triggers in COVID-19 Reddit posts) as empathy-cause pairs.

CovidET (Zhan et al., EMNLP 2022) annotates Reddit posts with the emotions a
reader perceives and, per emotion, an abstractive summary of its trigger;
CovidET-EXT (Sosea et al., ACL 2023) adds, for the same posts, the trigger
sentences of each emotion (two annotators). It is the public data closest to
the paper's forum posts: about ten sentences a post, causes spread through
them, no positional rule better than marking every sentence.

The mapping onto post-reply pairs (``../shared/data/README.md``): a pair is
(post, emotion); a post sentence is a cause when it is a trigger of that
emotion for either extractive annotator. The reply is an annotator's
abstractive summary of that emotion's trigger (one pair per summary, a
response written about the post, as an empathetic reply is) or the emotion's
name.

Two files are read: ``{subset}_anonymized-WITH_POSTS.json`` (CovidET: the
posts, the official split and the summaries) and
``CovidET-EXT_anonymized.json`` (the extractive triggers), both in ``path``.
"""

import json
import re

from .files import resolve_data_file
from .frame import THREAD_ID
from .pairs import _pairs_to_frame

__all__ = ["load_covidet"]

SUBSETS = ("train", "val", "test")
REPLIES = ("summary", "emotion")
EXTRACTIVE_FILE = "CovidET-EXT_anonymized.json"
_NO_EMOTION = "NA"  # an annotation that names no emotion and carries no trigger
# CovidET-EXT's trigger sentences come from its own segmenter; a terminator that
# ends a sentence only before whitespace (or the end) reproduces its sentences
# ("U.S." and "predicting...shouldn't" stay whole), unlike the AcnEmpathize rule.
_SENTENCE_BREAK = re.compile(r"(?<=[.!?…])\s+")


def _split_post(text):
    return [s.strip() for s in _SENTENCE_BREAK.split(text) if s.strip()]


def _read_json(file):
    try:
        with open(file, encoding="utf-8") as handle:
            return json.load(handle)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{file.name}: not a JSON file ({error}).") from None


def _records(document, file, keys):
    """The post records of a CovidET file, each checked to hold ``keys``."""
    if not isinstance(document, dict) or not all(isinstance(v, dict) for v in document.values()):
        raise ValueError(f"{file.name}: expected an object of post records (a CovidET file).")
    for number, record in document.items():
        missing = [k for k in keys if k not in record]
        if missing:
            raise ValueError(f"{file.name}: record {number!r} lacks {missing} (not a CovidET file).")
    return document.values()


def _annotations(record, key, field, file):
    """``[(emotion, text)]`` of every annotator of one record (the emotion ``NA`` left out)."""
    annotations = record[key]
    if not isinstance(annotations, dict):
        raise ValueError(f"{file.name}: post {record['Reddit ID']!r}: {key!r} must be an object of annotators.")
    found = []
    for items in annotations.values():
        for item in items:
            if not (isinstance(item, dict) and isinstance(item.get("Emotion"), str)):
                raise ValueError(f"{file.name}: post {record['Reddit ID']!r}: an annotation lacks 'Emotion'.")
            if item["Emotion"] == _NO_EMOTION:
                continue
            if not isinstance(item.get(field), str):
                raise ValueError(f"{file.name}: post {record['Reddit ID']!r}: the {item['Emotion']!r} "
                                 f"annotation lacks {field!r}.")
            found.append((item["Emotion"], item[field]))
    return found


def _cause_sentences(sentences, triggers):
    """Positions of the post sentences that make up the trigger texts.

    A trigger sentence and a post sentence match when one holds the other:
    the two segmenters disagree at the edges ("Dr. Smith"), not on content.
    """
    causes = set()
    for trigger in triggers:
        for piece in trigger.split("<SEP>"):
            piece = piece.strip()
            if piece:
                causes.update(i for i, s in enumerate(sentences) if s in piece or piece in s)
    return causes


def _covidet_pairs(posts, extractive, reply, posts_file):
    """Yield one pair dict per (post, emotion[, summary])."""
    for record in posts:
        post_id = record["Reddit ID"]
        if post_id not in extractive:
            raise ValueError(f"{EXTRACTIVE_FILE} holds no triggers for post {post_id!r} of {posts_file.name}.")
        sentences = _split_post(record["Reddit Post"]) if isinstance(record["Reddit Post"], str) else []
        if not sentences:
            raise ValueError(f"{posts_file.name}: post {post_id!r} has no text.")
        triggers = {}
        for emotion, text in extractive[post_id]:
            triggers.setdefault(emotion, []).append(text)
        summaries = _annotations(record, "Annotations", "Abstractive", posts_file)
        for emotion in sorted(triggers):
            causes = _cause_sentences(sentences, triggers[emotion])
            labels = [int(i in causes) for i in range(len(sentences))]
            replies = [emotion] if reply == "emotion" else [s for e, s in summaries if e == emotion]
            for k, text in enumerate(replies):
                yield {"post": tuple(sentences), "reply": text, "labels": labels,
                       "pair_id": f"{post_id}_{emotion}" + ("" if reply == "emotion" else f"_{k}"),
                       "thread_id": post_id, "emotion": emotion}


def load_covidet(path, subset="train", reply="summary"):
    """Load CovidET-EXT as sentence rows: Reddit posts, per emotion its trigger sentences.

    Parameters
    ----------
    path : str or path-like
        The folder holding ``{subset}_anonymized-WITH_POSTS.json`` (CovidET)
        and ``CovidET-EXT_anonymized.json`` (the extractive triggers).
    subset : {"train", "val", "test"}, default "train"
        CovidET's official post-level split.
    reply : {"summary", "emotion"}, default "summary"
        ``"summary"``: one pair per abstractive summary of the emotion's
        trigger (a text written about the post, like an empathetic reply);
        ``"emotion"``: one pair per (post, emotion), the reply being the
        emotion's name.

    Returns
    -------
    X : pandas.DataFrame
        The sentence-row frame with ``pair_id`` (``"{post id}_{emotion}"``,
        plus ``_{k}`` for the k-th summary), ``thread_id`` (the Reddit post
        id, so every pair of one post stays on one side of a split) and the
        metadata column ``emotion``.
    y : numpy.ndarray of int64
        1 where the sentence is a trigger of the emotion for either
        extractive annotator.
    groups : numpy.ndarray
        The thread (post) id of each row.

    Raises
    ------
    FileNotFoundError
        When a file is missing; the message lists the folder.
    ValueError
        For a bad ``subset`` or ``reply``, a file that is not CovidET's
        shape, or a post without triggers in the extractive file.

    Notes
    -----
    A post is split where a sentence terminator (``.``, ``?``, ``!``,
    ``…``) is followed by whitespace, which reproduces CovidET-EXT's own
    trigger sentences (9 of the 6,852 trigger sentences of train and val
    match no post sentence). Posts with no trigger for any emotion give no
    rows. Train: 1,200 posts, 4,188 summary pairs, 41,151 rows, 18.7%
    causes (emotion replies: 2,893 pairs, 28,273 rows, 17.3%); val: 285
    posts, 1,029 summary pairs, 9,992 rows, 18.7% (705 pairs, 6,729 rows,
    17.5%).
    """
    if subset not in SUBSETS:
        raise ValueError(f"subset must be one of {SUBSETS}, got {subset!r}.")
    if reply not in REPLIES:
        raise ValueError(f"reply must be one of {REPLIES}, got {reply!r}.")
    posts_file = resolve_data_file(path, f"{subset}_anonymized-WITH_POSTS.json", "CovidET")
    extractive_file = resolve_data_file(posts_file.parent, EXTRACTIVE_FILE, "CovidET-EXT")
    posts = _records(_read_json(posts_file), posts_file, ("Reddit ID", "Reddit Post", "Annotations"))
    extractive = {
        record["Reddit ID"]: _annotations(record, "Sentence-level Extractive Summaries", "Extractive",
                                          extractive_file)
        for record in _records(_read_json(extractive_file), extractive_file,
                               ("Reddit ID", "Sentence-level Extractive Summaries"))
    }
    pairs = list(_covidet_pairs(posts, extractive, reply, posts_file))
    if not pairs:
        raise ValueError(f"{posts_file.name}: no post has an emotion with trigger sentences.")
    X, y = _pairs_to_frame(pairs, post="post", reply="reply", labels="labels", pair_id="pair_id",
                           thread_id="thread_id", where=lambda i: f"{posts_file.name} pair {pairs[i]['pair_id']}")
    return X, y, X[THREAD_ID].to_numpy()
