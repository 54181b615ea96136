"""The prompt of the paper's prompting baseline (Appendix A): templates, prompt building, answer parsing.

The prompt
----------
:data:`ALPACA_PROMPT` and :data:`FIXED_INSTRUCTION` are the two strings of the
paper's Appendix A, word for word. The paper prints them wrapped to its
column width; the wrapping is undone here as follows (the decisions are
ours, the paper does not state them):

* Prose is reflowed into ordinary sentences separated by single spaces: the
  header paragraph of the template ("Below is an instruction ... completes
  the request.") and the whole instruction are each one line.
* The structural lines keep their own line: the ``{few_shot_examples}``
  slot, ``### Instruction:``, ``{instruction}``, ``### Input:``,
  ``Initial post: {initial_post}``, ``Reply: {reply}``, ``### Response:``
  and ``{response}``. The paper's listing breaks across a column between
  ``### Input:`` and ``Initial post:``; a single line break is assumed there.
* The characters inside the paper's triple quotes are kept exactly,
  including the leading space of ``" Below is"``, the trailing space after
  ``"no additional text. "`` and the final line break after ``{response}``
  (the closing quotes stand on their own line in the paper).

How the slots are filled (again our decisions, documented because the paper
leaves them open):

* ``{initial_post}``: each sentence in double quotes, the quoted sentences
  joined by ``", "`` (comma and space), e.g. ``"I hate it.", "Help?"``.
  Sentences are inserted verbatim; double quotes inside a sentence are not
  escaped.
* ``{reply}``: the reply text verbatim.
* Answers (the examples' ``{response}``): the labels joined by a bare comma,
  e.g. ``0,1,0``. Without spaces the digits are separate, bare tokens in
  the common BPE and SentencePiece vocabularies, which keeps the
  probabilities of "0" and "1" readable (see ``predict_proba``).
* ``{few_shot_examples}``: each example is the template's own input/response
  section, :data:`EXAMPLE_TEMPLATE` (``### Input:`` / ``Initial post: ...`` /
  ``Reply: ...`` / ``### Response:`` / the answer), and the examples are
  joined with one line break. With no examples the slot is empty (leaving an
  empty line under the header).
* The query: the template is filled with the pair to label and cut right
  before its ``{response}`` slot, so the prompt ends with ``### Response:``
  and a line break and the model writes its answer where the examples show
  theirs.

See :func:`build_prompt` for a complete example.
"""

import numpy as np

__all__ = ["ALPACA_PROMPT", "FIXED_INSTRUCTION", "EXAMPLE_TEMPLATE", "REPAIRS", "format_post", "format_answer",
           "build_prompt", "parse_answer"]

#: The paper's ``alpaca_prompt`` (Appendix A), column wrapping undone (see the
#: module docstring). Slots: ``{few_shot_examples}``, ``{instruction}``,
#: ``{initial_post}``, ``{reply}``, ``{response}``.
ALPACA_PROMPT = (
    " Below is an instruction that describes a task, paired with an input "
    "that provides further context. Write a response that appropriately "
    "completes the request.\n"
    "{few_shot_examples}\n"
    "### Instruction:\n"
    "{instruction}\n"
    "### Input:\n"
    "Initial post: {initial_post}\n"
    "Reply: {reply}\n"
    "### Response:\n"
    "{response}\n"
)

#: The paper's ``fixed_instruction`` (Appendix A), reflowed to one line; the
#: trailing space is the paper's.
FIXED_INSTRUCTION = (
    "Given the input text, classify whether the sentences in the initial "
    "post cause empathy based on the content of the reply. The sentences in "
    "the initial post are enclosed in quotation marks and separated by "
    "commas. The objective is to identify which sentences in the initial "
    "post evoke empathy in the reply. Each reply shows empathy toward the "
    "initial post. For each sentence in the initial post: Respond with 1 if "
    "it causes empathy, Respond with 0 if it does not. Output a sequence of "
    "0s and 1s corresponding to each sentence in the initial post, with the "
    "values separated by commas and no additional text. "
)

#: One few-shot example: the input/response section of :data:`ALPACA_PROMPT`.
EXAMPLE_TEMPLATE = (
    "### Input:\n"
    "Initial post: {initial_post}\n"
    "Reply: {reply}\n"
    "### Response:\n"
    "{response}"
)

#: The names :func:`parse_answer` gives its repairs.
REPAIRS = ("unparsable", "invalid_token", "too_short", "too_long")

_LABEL_TOKENS = ("0", "1")
# The query prompt: the template up to (not including) its response slot.
_QUERY_TEMPLATE = ALPACA_PROMPT[:ALPACA_PROMPT.index("{response}")]


# --------------------------------------------------------------------------
# Prompt construction
# --------------------------------------------------------------------------


def format_post(post):
    """Format a post's sentences for the ``{initial_post}`` slot.

    Parameters
    ----------
    post : sequence of str
        The post's sentences.

    Returns
    -------
    str
        Each sentence in double quotes, joined by ``", "``.

    Examples
    --------
    >>> format_post(("I hate it.", "Help?"))
    '"I hate it.", "Help?"'
    """
    return ", ".join(f'"{sentence}"' for sentence in post)


def format_answer(labels):
    """Format 0/1 labels as an answer: the digits joined by a bare comma.

    Parameters
    ----------
    labels : sequence of int
        One 0/1 label per post sentence.

    Returns
    -------
    str

    Examples
    --------
    >>> format_answer([0, 1, 0])
    '0,1,0'
    """
    return ",".join(str(int(label)) for label in labels)


def build_prompt(post, reply, examples):
    """Build the few-shot prompt for one post-reply pair.

    Parameters
    ----------
    post : sequence of str
        The sentences of the post to label.
    reply : str
        The empathetic reply.
    examples : sequence of (post, reply, labels)
        The labelled few-shot examples, in the order they are shown; each
        ``labels`` holds one 0/1 per sentence of its ``post``. May be empty.

    Returns
    -------
    str
        :data:`ALPACA_PROMPT` with :data:`FIXED_INSTRUCTION`, the examples
        (each :data:`EXAMPLE_TEMPLATE`, joined by line breaks) and the pair,
        cut right before the ``{response}`` slot: the prompt ends with
        ``"### Response:\\n"``.

    Examples
    --------
    >>> prompt = build_prompt(
    ...     ("I hate my skin.", "Any tips?"), "So sorry, I know the feeling.",
    ...     [(("My face hurts.", "It is Monday."), "Hang in there!", (1, 0))])
    >>> header = ALPACA_PROMPT.splitlines()[0]  # " Below is an instruction ... the request."
    >>> print(prompt.replace(header, "<header>").replace(FIXED_INSTRUCTION, "<instruction>"))
    <header>
    ### Input:
    Initial post: "My face hurts.", "It is Monday."
    Reply: Hang in there!
    ### Response:
    1,0
    ### Instruction:
    <instruction>
    ### Input:
    Initial post: "I hate my skin.", "Any tips?"
    Reply: So sorry, I know the feeling.
    ### Response:
    <BLANKLINE>
    """
    blocks = []
    for example in examples:
        ex_post, ex_reply, ex_labels = example
        if len(ex_labels) != len(ex_post):
            raise ValueError(
                f"a few-shot example has {len(ex_labels)} labels for "
                f"{len(ex_post)} post sentences."
            )
        blocks.append(EXAMPLE_TEMPLATE.format(
            initial_post=format_post(ex_post), reply=ex_reply,
            response=format_answer(ex_labels)))
    return _QUERY_TEMPLATE.format(
        few_shot_examples="\n".join(blocks),
        instruction=FIXED_INSTRUCTION,
        initial_post=format_post(post),
        reply=reply,
    )


# --------------------------------------------------------------------------
# Answer parsing
# --------------------------------------------------------------------------


def _answer_items(text):
    """Split the answer line of ``text`` into comma-separated items.

    Returns a list of ``(item, start)``: each item stripped of surrounding
    whitespace and the position of its first character in ``text``.
    """
    start = len(text) - len(text.lstrip())
    end = text.find("\n", start)
    if end == -1:
        end = len(text)
    line = text[start:end]
    if not line.strip():
        return []
    items = []
    position = start
    for piece in line.split(","):
        lead = len(piece) - len(piece.lstrip())
        items.append((piece.strip(), position + lead))
        position += len(piece) + 1
    return items


def parse_answer(text, n_sentences):
    """Read one 0/1 label per post sentence from a generated answer.

    The rule, strict about what it accepts:

    1. The *answer line* is the first line of ``text`` that is not blank
       (leading whitespace and line breaks are skipped; everything after the
       next line break is ignored, such as a following ``### Instruction:``
       the model may go on to write).
    2. The answer line is split on commas and each item stripped of
       surrounding whitespace. Only the items ``"0"`` and ``"1"`` are
       accepted; anything else (``"1."``, ``"yes"``, ``"Answer: 1"``, an
       empty item between two commas, ``"0 1"``) is invalid.

    Everything else is a repair, named in the returned tuple (in this order):

    ``"unparsable"``
        No item of the answer line is a valid label, or there is no answer
        line (empty or blank text): every label is 0. No other repair is
        named.
    ``"invalid_token"``
        An item kept (one of the first ``n_sentences``) is invalid; it is
        read as 0.
    ``"too_short"``
        Fewer items than sentences: the missing labels at the end are 0.
    ``"too_long"``
        More items than sentences: the extra items are dropped (a trailing
        comma, as in ``"0,1,"``, counts as one extra empty item).

    Parameters
    ----------
    text : str
        The generated text (the model's answer, without the prompt).
    n_sentences : int
        The number of sentences of the post.

    Returns
    -------
    labels : numpy.ndarray of int64, shape (n_sentences,)
        The labels.
    repair : tuple of str
        The repairs applied (names from :data:`REPAIRS`); empty when the
        answer was exactly ``n_sentences`` valid labels.

    Examples
    --------
    >>> parse_answer("0,1, 0", 3)
    (array([0, 1, 0]), ())
    >>> parse_answer("1,x", 3)
    (array([1, 0, 0]), ('invalid_token', 'too_short'))
    >>> parse_answer("I cannot answer that.", 2)
    (array([0, 0]), ('unparsable',))
    """
    n_sentences = int(n_sentences)
    if n_sentences < 0:
        raise ValueError(f"n_sentences must be >= 0, got {n_sentences}.")
    items = [item for item, _ in _answer_items(str(text))]
    if not any(item in _LABEL_TOKENS for item in items):
        repair = ("unparsable",) if n_sentences else ()
        return np.zeros(n_sentences, dtype=np.int64), repair
    kept = items[:n_sentences]
    repair = []
    if any(item not in _LABEL_TOKENS for item in kept):
        repair.append("invalid_token")
    if len(items) < n_sentences:
        repair.append("too_short")
    elif len(items) > n_sentences:
        repair.append("too_long")
    labels = np.zeros(n_sentences, dtype=np.int64)
    labels[:len(kept)] = [int(item == "1") for item in kept]
    return labels, tuple(repair)
