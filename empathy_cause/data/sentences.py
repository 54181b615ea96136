"""The sentence splitter used to build AcnEmpathize-Cause.

The paper's annotators treated "spans ending in punctuation" as sentences
and the dataset was split with the same rule: a sentence is any text that
ends with a period, a question mark, an exclamation mark or an ellipsis.
"""

import re
import unicodedata

__all__ = ["split_sentences", "is_blank"]

# Characters that print nothing: control (NUL...) and format characters (zero-width space, joiners,
# BOM, soft hyphen, direction marks) and the fillers that render as blank glyphs.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})
_BLANK_GLYPHS = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def is_blank(text):
    """True when ``text`` shows nothing: empty, or only whitespace and invisible characters.

    Invisible means a control or format character (NUL, zero-width space and
    joiners, byte order mark, soft hyphen, direction marks) or a blank filler
    glyph (Hangul fillers, the blank braille pattern). The frame refuses such
    a sentence or reply exactly as it refuses an empty one.

    Examples
    --------
    >>> is_blank(" \u200b\ufeff"), is_blank("\u200bhi")
    (True, False)
    """
    return all(ch.isspace() or ch in _BLANK_GLYPHS or unicodedata.category(ch) in _INVISIBLE_CATEGORIES
               for ch in text)

# One terminator character. A period between two digits ("3.5", "0.025%")
# is a decimal point, not the end of a sentence: the one deliberate
# deviation from the paper's rule.
# Besides . ? ! and …, the full stops and marks of other scripts end a sentence too: the ideographic
# full stop and the fullwidth ! and ? (Chinese, Japanese), the halfwidth ideographic full stop, and the
# Arabic question mark.
_TERMINATOR = r"(?:[?!…\u3002\uff01\uff1f\uff61\u061f]|\.(?!\d)|(?<!\d)\.)"
# Closing quotes and brackets that directly follow a terminator belong to the
# sentence it ends ('He said "no!" Then' -> 'He said "no!"', 'Then').
_CLOSERS = "\"'”’»)\\]}\u300d\u300f\uff09\u3011\u300b\u3009"
# A run of terminators ("?!", "!!!", "...", ". . .") ends one sentence
# together, so no piece is made of punctuation alone.
_SENTENCE_END = re.compile(
    rf"{_TERMINATOR}(?:\s*{_TERMINATOR})*[{_CLOSERS}]*"
)


def split_sentences(text):
    """Split a text into sentences with the AcnEmpathize-Cause rule.

    A sentence is any span that ends in ``.``, ``?``, ``!`` or an ellipsis
    (``...`` or ``…``), or in the full stops and marks of other scripts:
    ``。``, ``！``, ``？``, ``｡`` (Chinese, Japanese) and ``؟`` (Arabic). A run
    of terminators (``?!``, ``!!!``, ``..."``, also with spaces between them,
    as in ``. . .``) ends a single sentence, and closing quotes or brackets right after the run stay with it. Text after
    the last terminator is kept as a final sentence. Each piece is stripped
    of surrounding whitespace, and pieces that show nothing (empty, or only
    invisible characters such as a zero-width space: see :func:`is_blank`)
    are dropped.

    One deviation from the paper: a period between two digits (``3.5``,
    ``0.025%``) is read as a decimal point and does not end a sentence.
    Abbreviations are not special-cased (``Dr. Smith`` gives two sentences),
    exactly as in the paper's annotation.

    Parameters
    ----------
    text : str
        The text to split, e.g. a forum post.

    Returns
    -------
    list of str
        The sentences in order; an empty list for text that shows nothing.

    Raises
    ------
    TypeError
        If ``text`` is not a string.

    Examples
    --------
    >>> split_sentences("I tried 2.5% BP... nothing works?! Help")
    ['I tried 2.5% BP...', 'nothing works?!', 'Help']
    """
    if not isinstance(text, str):
        raise TypeError(
            f"split_sentences expects a str, got {type(text).__name__}."
        )
    sentences = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        sentences.append(text[start:match.end()])
        start = match.end()
    sentences.append(text[start:])
    return [s.strip() for s in sentences if not is_blank(s)]
