"""The paper's sentence splitter."""

import pytest

from empathy_cause.data import split_sentences


@pytest.mark.parametrize("text, expected", [
    ("I hate my skin. It hurts! Why me?",
     ["I hate my skin.", "It hurts!", "Why me?"]),
    # Ellipsis, both forms, ends a sentence.
    ("I tried everything... nothing works.",
     ["I tried everything...", "nothing works."]),
    ("I tried everything… nothing works.",
     ["I tried everything…", "nothing works."]),
    ("Wait…what", ["Wait…", "what"]),
    # A run of terminators ends one sentence together.
    ("Why?! Seriously!!! Ok.", ["Why?!", "Seriously!!!", "Ok."]),
    ("Really?!?! yes", ["Really?!?!", "yes"]),
    ("Hmm . . . fine", ["Hmm . . .", "fine"]),
    # The remainder without a terminator is kept.
    ("First one. and a trailing bit", ["First one.", "and a trailing bit"]),
    ("no terminator at all", ["no terminator at all"]),
    # Decimals do not end a sentence (the documented deviation).
    ("I use 0.025% tretinoin. It burns.",
     ["I use 0.025% tretinoin.", "It burns."]),
    ("Took 3.5 mg. Then stopped.", ["Took 3.5 mg.", "Then stopped."]),
    ("I was 3. Now 30.", ["I was 3.", "Now 30."]),
    # Closing quotes and brackets stay with the run before them.
    ('She said "you look tired.." and left.',
     ['She said "you look tired.."', "and left."]),
    ("He said 'gross!' Then laughed.", ["He said 'gross!'", "Then laughed."]),
    ("(Is that normal?) I hope so.", ["(Is that normal?)", "I hope so."]),
    ("It “works.” Sure.", ["It “works.”", "Sure."]),
    # Abbreviations are not special-cased, as in the paper's annotation.
    ("Dr. Lee said no.", ["Dr.", "Lee said no."]),
    # Whitespace is stripped and empty pieces dropped.
    ("  One.\n\n  Two!  \t", ["One.", "Two!"]),
    ("...", ["..."]),
])
def test_paper_rule(text, expected):
    assert split_sentences(text) == expected


@pytest.mark.parametrize("text", ["", "   ", "\n\t "])
def test_empty_text_gives_no_sentence(text):
    assert split_sentences(text) == []


@pytest.mark.parametrize("value", [None, 3.5, ["a."], b"bytes."])
def test_non_str_is_a_type_error(value):
    with pytest.raises(TypeError, match=type(value).__name__):
        split_sentences(value)


def test_pieces_cover_the_text():
    text = "I can't leave the house?! My skin... it's 2.5x worse. ok"
    assert "".join(split_sentences(text)).replace(" ", "") == \
        text.replace(" ", "")


@pytest.mark.parametrize("text, expected", [
    ("我很难过。你呢？太好了！然后", ["我很难过。", "你呢？", "太好了！", "然后"]),
    ("「好。」それで", ["「好。」", "それで"]),
    ("ｿｳﾃﾞｽ｡ﾊｲ", ["ｿｳﾃﾞｽ｡", "ﾊｲ"]),
    ("هل أنت بخير؟ نعم.", ["هل أنت بخير؟", "نعم."]),
])
def test_other_scripts_full_stops_and_question_marks_end_sentences(text, expected):
    assert split_sentences(text) == expected
