"""The prompt of the paper's prompting baseline (Appendix A): its templates, and only them.

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

How the slots are filled is :func:`empathy_cause.baselines.prompting.build_prompt`'s
(the estimator's :meth:`~empathy_cause.baselines.PromptingClassifier.get_prompt`);
how an answer is written and read, :mod:`empathy_cause.baselines.scoring`'s.
"""

__all__ = ["ALPACA_PROMPT", "FIXED_INSTRUCTION", "EXAMPLE_TEMPLATE", "QUERY_TEMPLATE"]

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

#: The query: :data:`ALPACA_PROMPT` up to (not including) its ``{response}`` slot, so a prompt ends
#: with ``### Response:`` and a line break and the model writes its answer where the examples show theirs.
QUERY_TEMPLATE = ALPACA_PROMPT[:ALPACA_PROMPT.index("{response}")]
