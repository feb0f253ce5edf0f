"""Reading the model's reply: its short answer, the sentences its markers cite, and how sure it was."""

from __future__ import annotations

import math

import pytest

from assistant.drafts import answer_confidence, decline_probability, parse_draft, yes_probability


@pytest.mark.parametrize("reply, short, cited, declined", [
    ("[2] Patrick Shanahan", "Patrick Shanahan", [1], False),
    ("Taro Kono [1].", "Taro Kono", [0], False),
    ("[1, 3] space, cyber and the electromagnetic spectrum", "space, cyber and the electromagnetic spectrum",
     [0, 2], False),
    ("[9] 19 APR", "19 APR", [], False),  # a marker pointing nowhere is dropped, the answer kept for re-attribution
    ("NONE", "", [], True),
    ("[3]", "", [2], True),  # a marker alone says nothing
    ("I don't know.", "", [], True),
    ("", "", [], True),
])
def test_drafts_are_read(reply, short, cited, declined):
    draft = parse_draft(reply, 4)
    assert (draft.short, draft.cited, draft.declined) == (short, cited, declined)


@pytest.mark.parametrize("pieces, expected", [
    ([("Taro", [-0.1]), (" Kono", [-0.3]), (" [", [-0.01]), ("1", [-2.0]), ("]", [-0.01])], (-0.1 - 0.3) / 2),
    ([("[", [-0.01]), ("2", [-3.0]), ("] ", [-0.01]), ("2013", [-0.5])], -0.5),  # marker first
    ([("Kono", [-0.2]), ("\n", [-0.1]), ("more", [-9.0])], -0.2),  # one line is the answer
])
def test_the_answers_confidence_is_its_words_not_its_markers(pieces, expected):
    assert answer_confidence(pieces) == pytest.approx(math.exp(expected))
    assert answer_confidence([("Kono", [])]) is None  # a backend that reports no probabilities


def test_first_token_probabilities_count_every_spelling_of_the_word():
    # the tokenizer offers "NONE", " None", "none"…: each is the model starting to decline or to say yes
    assert decline_probability({"NONE": 0.2, " None": 0.1, "none": 0.05, "Nonetheless": 0.3}) == pytest.approx(0.35)
    assert yes_probability({" Yes": 0.3, "yes": 0.3, "NO": 0.1, " no": 0.1, "maybe": 0.2}) == pytest.approx(0.75)
    assert yes_probability({"maybe": 1.0}) is None and decline_probability(None) is None
