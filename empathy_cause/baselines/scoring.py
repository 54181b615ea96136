"""A causal LM's answer: how it is written (:func:`format_answer`), read (:func:`parse_answer`) and scored.

An answer is the labels joined by a bare comma, e.g. ``0,1,0``: without
spaces the digits are separate, bare tokens in the common BPE and
SentencePiece vocabularies, which keeps the probabilities of "0" and "1"
readable; P(1) per post sentence comes from those "0"/"1" logits.

:class:`~empathy_cause.baselines.PromptingClassifier` scores a prompt
(:mod:`empathy_cause.baselines.prompts`) in one of two ways, its ``scoring``
parameter: :func:`forward_scores` teacher-forces the answer ``0,0,...,0`` and
reads the logits of each answer position in one forward pass (the default);
:func:`generate_scores` generates the answer greedily, as the paper did, and
reads the logits of the steps that produced each label. The model and
tokenizer come from :func:`empathy_cause.encoders.pretrained.load_pretrained`.
"""

import copy
import inspect

import numpy as np

__all__ = ["REPAIRS", "format_answer", "parse_answer", "prompt_ids", "forward_scores", "generate_scores"]

#: The names :func:`parse_answer` gives its repairs.
REPAIRS = ("unparsable", "invalid_token", "too_short", "too_long")

_LABEL_TOKENS = ("0", "1")


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


def prompt_ids(model, tokenizer, prompt, budget):
    """The prompt's token ids (with BOS where the tokenizer adds one); checks the model's context."""
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


def forward_scores(model, tokenizer, label_ids, prompt, n_sentences, prefix_state=None):
    """One forward pass: P(1) per sentence from the "0"/"1" logits at each answer position.

    The answer is teacher-forced as ``0,0,...,0`` (the majority label):
    the logits at the position of the k-th digit give P(1) for sentence k,
    a softmax over the best "1" token and the best "0" token. Sentence k
    is therefore scored as if the sentences before it were answered 0.
    The part of the prompt shared by every pair (header and examples, up
    to the query's ``### Input:``) is run once and its key/value cache
    reused, so each pair costs one forward pass over its own tokens:
    ``prefix_state`` is ``(prefix text, cache)`` from an earlier call, or None.

    Returns
    -------
    text, p1, prefix_state
        The implied answer text, P(1) per sentence, and the prefix cache to pass next time.
    """
    import torch

    split = prompt.rfind("### Input:\n")
    prefix, query = prompt[:split], prompt[split:]
    zero = tokenizer.encode("0", add_special_tokens=False)
    comma = tokenizer.encode(",", add_special_tokens=False)
    ids = tokenizer.encode(query, add_special_tokens=False)
    positions = []  # the position (in the query) whose logits predict the k-th digit
    for k in range(n_sentences):
        positions.append(len(ids) - 1)
        ids = ids + zero + (comma if k < n_sentences - 1 else [])
    prefix_ids = prompt_ids(model, tokenizer, prefix, len(ids))
    if prefix_state is None or prefix_state[0] != prefix:
        with torch.no_grad():
            output = model(input_ids=torch.tensor([prefix_ids], device=model.device), use_cache=True)
        state = getattr(output, "cache", None)
        state = output.past_key_values if state is None else state
        prefix_state = (prefix, state)
    past = copy.deepcopy(prefix_state[1])  # the forward pass extends the cache
    # transformers >= 5.x renames past_key_values= to cache=.
    name = "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([ids], device=model.device), use_cache=True,
                       **{name: past}).logits[0, positions].float().cpu().numpy()
    best_zero = logits[:, label_ids["0"]].max(axis=1).astype(np.float64)
    best_one = logits[:, label_ids["1"]].max(axis=1).astype(np.float64)
    p1 = 1.0 / (1.0 + np.exp(best_zero - best_one))
    return format_answer((p1 > 0.5).astype(int)), p1, prefix_state


def generate_scores(model, tokenizer, label_ids, prompt, n_sentences, max_new_tokens):
    """Greedy generation of the answer line: the answer text and P(1) per sentence (see _label_probabilities)."""
    import torch

    ids = prompt_ids(model, tokenizer, prompt, max_new_tokens)
    input_ids = torch.tensor([ids], dtype=torch.long, device=model.device)
    pad = tokenizer.pad_token_id
    if pad is None:
        pad = tokenizer.eos_token_id
    with torch.no_grad():
        output = model.generate(
            input_ids=input_ids,
            attention_mask=torch.ones_like(input_ids),
            max_new_tokens=max_new_tokens,
            do_sample=False,
            num_beams=1,
            pad_token_id=pad,
            output_logits=True,
            return_dict_in_generate=True,
            stopping_criteria=[_stop_after_answer_line(tokenizer, len(ids))],
        )
    generated = output.sequences[0, len(ids):].tolist()
    logits = torch.stack(output.logits)[:, 0, :].float().cpu().numpy()
    generated = generated[:len(logits)]
    text = tokenizer.decode(generated, skip_special_tokens=True)
    return text, _label_probabilities(generated, logits, tokenizer, label_ids, n_sentences)
