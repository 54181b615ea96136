"""ECF (Emotion-Cause-in-Friends) as empathy-cause pairs.

ECF (Wang et al., IEEE TAFFC 2023) annotates conversations from the *Friends*
sitcom with emotion-cause utterance pairs. It maps onto the empathy-cause task
like RECCON (:mod:`empathy_cause.data.reccon`): for each emotion utterance
``e`` that has at least one cause, the post is the utterances 1..e (one
utterance per "sentence"), the reply is utterance ``e``, and a post utterance
is a cause when it is paired with ``e``.

The files are the ``train.txt`` / ``dev.txt`` / ``test.txt`` of the
``NUSTM/MECPE`` repository (folder ``data/``). Each conversation is a block::

    CONVERSATION_ID N_UTTERANCES
    (e,c),(e,c),...                      # may be empty
    number | speaker | emotion | text | timestamps    # N lines
"""

import re
from dataclasses import dataclass

from .files import resolve_data_file
from .frame import THREAD_ID
from .pairs import _pairs_to_frame

__all__ = ["load_ecf"]

SUBSETS = ("train", "dev", "test")

_HEADER = re.compile(r"(\S+)\s+(\d+)")
_PAIR = re.compile(r"\(\s*(\d+)\s*,\s*(\d+)\s*\)")
_PAIRS = re.compile(rf"(?:{_PAIR.pattern}(?:\s*,\s*{_PAIR.pattern})*)?")


@dataclass
class _Conversation:
    """One parsed block: its id, pairs, utterances and where they are in the file."""

    conversation_id: str
    pairs: list  # (emotion utterance, cause utterance), 1-based
    speakers: list
    emotions: list
    texts: list
    lines: list  # the 1-based file line of each utterance


def _file_name(subset):
    if subset not in SUBSETS:
        raise ValueError(f"subset must be one of {SUBSETS}, got {subset!r}.")
    return f"{subset}.txt"


def _parse_ecf(file):
    """Parse an ECF file into a list of :class:`_Conversation`.

    Raises ValueError naming the file and line of the first malformed line.
    """
    with open(file, encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    name = file.name

    def error(number, problem):
        return ValueError(f"{name} line {number}: {problem}")

    conversations, seen = [], {}
    i = 0
    while i < len(lines):
        if not lines[i].strip():  # tolerate blank lines between blocks
            i += 1
            continue
        header_line = i + 1
        header = _HEADER.fullmatch(lines[i].strip())
        if header is None:
            raise error(header_line, f"expected a conversation header 'CONVERSATION_ID N_UTTERANCES', "
                                     f"got {lines[i]!r}.")
        conversation_id, n = header.group(1), int(header.group(2))
        if n == 0:
            raise error(header_line, f"conversation {conversation_id!r} has 0 utterances.")
        if conversation_id in seen:
            raise error(header_line, f"conversation id {conversation_id!r} was already used on line "
                                     f"{seen[conversation_id]}.")
        seen[conversation_id] = header_line
        if i + 1 + n >= len(lines):
            raise error(header_line, f"conversation {conversation_id!r} announces {n} utterances but the "
                                     f"file ends after {max(len(lines) - i - 2, 0)} more line(s) "
                                     "(a pairs line, then one line per utterance).")
        pairs_line = i + 2
        text = lines[i + 1].strip()
        if _PAIRS.fullmatch(text) is None:
            raise error(pairs_line, f"expected emotion-cause pairs '(e,c),(e,c),...' (or an empty line), "
                                    f"got {lines[i + 1]!r}.")
        pairs = [(int(e), int(c)) for e, c in _PAIR.findall(text)]
        for e, c in pairs:
            if not (1 <= e <= n and 1 <= c <= n):
                raise error(pairs_line, f"pair ({e},{c}) names an utterance outside 1..{n} of conversation "
                                        f"{conversation_id!r}.")
        conversation = _Conversation(conversation_id, pairs, [], [], [], [])
        for k in range(1, n + 1):
            number = i + 2 + k
            fields = [f.strip() for f in lines[i + 1 + k].split(" | ")]
            if len(fields) < 5:
                raise error(number, f"expected 'number | speaker | emotion | text | timestamps' for "
                                    f"utterance {k} of conversation {conversation_id!r}, got "
                                    f"{lines[i + 1 + k]!r}.")
            if fields[0] != str(k):
                raise error(number, f"expected utterance {k} of conversation {conversation_id!r} "
                                    f"({n} utterances), got utterance number {fields[0]!r}.")
            # The text may hold ' | ': everything between the emotion and the timestamps is text.
            utterance = " | ".join(fields[3:-1])
            if not utterance:
                raise error(number, f"utterance {k} of conversation {conversation_id!r} has no text.")
            conversation.speakers.append(fields[1])
            conversation.emotions.append(fields[2])
            conversation.texts.append(utterance)
            conversation.lines.append(number)
        conversations.append(conversation)
        i += 2 + n
    if not conversations:
        raise ValueError(f"{name}: the file holds no conversation.")
    return conversations


def _ecf_pairs(conversations):
    """Yield ``(line, pair dict)`` for each emotion utterance with at least one cause."""
    for conversation in conversations:
        causes = {}
        for e, c in conversation.pairs:
            causes.setdefault(e, set()).add(c)
        speakers = tuple(conversation.speakers)
        for e in sorted(causes):
            yield conversation.lines[e - 1], {
                "post": conversation.texts[:e],
                "reply": conversation.texts[e - 1],
                # Causes after e are outside the post: they are dropped.
                "labels": [int(k in causes[e]) for k in range(1, e + 1)],
                "pair_id": f"{conversation.conversation_id}_t{e}",
                "thread_id": conversation.conversation_id,
                "emotion": conversation.emotions[e - 1],
                "speaker": speakers[e - 1],
                "speakers": speakers[:e],
            }


def load_ecf(path, subset="train"):
    """Load an ECF (Emotion-Cause-in-Friends) file as sentence rows.

    For each conversation and each utterance ``e`` that appears as the
    emotion side of at least one emotion-cause pair, one pair is made: the
    post is the utterance texts 1..e (each utterance is one post "sentence",
    not split further), the reply is utterance ``e``'s text, and a post
    utterance ``c`` is labelled 1 when ``(e, c)`` is an annotated pair.
    Causes that come after ``e`` are outside the post and are dropped; an
    utterance whose causes all come after it still gives a pair, with every
    label 0. Conversations without pairs give no rows.

    Parameters
    ----------
    path : str or path-like
        A folder holding ``{subset}.txt``, or the file.
    subset : {"train", "dev", "test"}, default "train"
        Which file to read when ``path`` is a folder.

    Returns
    -------
    X : pandas.DataFrame
        The sentence-row frame with ``pair_id`` (``"{conversation id}_t{e}"``),
        ``thread_id`` (the conversation id) and, as metadata, the reply's
        ``emotion`` and ``speaker`` and ``speakers``: the speaker of each post
        utterance, a tuple parallel to ``post`` (its last entry is
        ``speaker``). The same columns as :func:`load_reccon`.
    y : numpy.ndarray of int64
        1 where the candidate utterance is a cause.
    groups : numpy.ndarray
        The thread (conversation) id of each row, for group-aware splitting.

    Raises
    ------
    FileNotFoundError
        When the file does not exist; the message lists the folder's files.
    ValueError
        When a line is malformed (a bad header, pairs line or utterance
        line, a pair naming an utterance the conversation lacks, utterances
        out of order, a truncated block, a repeated conversation id); the
        message names the file and the line.

    Notes
    -----
    The train file gives 1,001 conversations, 5,123 pairs, 37,225 rows and
    6,779 causes (18.2%); the dev file 112 conversations, 614 pairs, 4,245
    rows and 842 causes (19.8%).
    """
    file = resolve_data_file(path, _file_name(subset), "ECF")
    lines, pairs = [], []
    for line, pair in _ecf_pairs(_parse_ecf(file)):
        lines.append(line)
        pairs.append(pair)
    if not pairs:
        raise ValueError(f"{file.name}: the file holds no emotion-cause pair.")
    X, y = _pairs_to_frame(
        pairs, post="post", reply="reply", labels="labels", pair_id="pair_id",
        thread_id="thread_id", where=lambda i: f"{file.name} line {lines[i]}",
    )
    return X, y, X[THREAD_ID].to_numpy()
