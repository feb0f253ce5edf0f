"""The extractive backend end to end: retrieval, cited answers whose quotes are exact, refusal."""

from __future__ import annotations

import pytest

from assistant import QuestionError
from assistant.documents import load_file

from .conftest import SEED

DEFEND_JAPAN = "The United States is obligated under Article 5 to help Japan defend its territories"


def assert_citations_exact(result):
    for c in result.citations:
        assert load_file(SEED).text[c.start : c.end] == c.quote, c
        assert c.source.endswith(SEED.name)
    assert [c.n for c in result.citations] == list(range(1, len(result.citations) + 1))
    for c in result.citations:
        assert f"[{c.n}]" in result.text


def test_article_5_is_answered_from_the_defence_obligation(seed_assistant):
    result = seed_assistant.answer("What does Article 5 cover?")
    assert not result.refused
    assert any(DEFEND_JAPAN in c.quote for c in result.citations), result.text
    assert_citations_exact(result)
    assert result.timings["total"] > 0 and result.backend == "extractive"


@pytest.mark.parametrize(
    "question, expected",
    [
        ("Who is Japan's foreign minister?", "Taro Kono"),
        ("Which islands do China and Japan clash over?", "Senkaku"),
        ("When did China announce an air defense identification zone?", "2013"),
    ],
)
def test_factual_questions_cite_the_sentence_with_the_fact(seed_assistant, question, expected):
    result = seed_assistant.answer(question)
    assert not result.refused
    assert any(expected in c.quote for c in result.citations), result.text
    assert_citations_exact(result)


@pytest.mark.parametrize("question", ["Who won the 2018 World Cup?", "What is the capital of France?"])
def test_out_of_corpus_questions_are_refused(seed_assistant, question):
    result = seed_assistant.answer(question)
    assert result.refused and result.citations == []
    assert "don't say" in result.text
    assert result.passages, "a refusal still shows the closest passages"


def test_passages_are_ranked_distinct_spans(seed_assistant):
    passages = seed_assistant.retrieve("Senkaku Islands East China Sea", k=3)
    assert passages and "Senkaku" in passages[0].text
    text = load_file(SEED).text
    for p in passages:
        assert text[p.start : p.end] == p.text
    spans = sorted((p.start, p.end) for p in passages)
    assert all(a_end < b_start for (_, a_end), (b_start, _) in zip(spans, spans[1:])), "overlaps are merged"


@pytest.mark.parametrize("question", ["", "   \n\t ", "x" * 100_000])
def test_unaskable_questions_get_a_clear_error(seed_assistant, question):
    with pytest.raises(QuestionError):
        seed_assistant.answer(question)


def test_control_characters_are_cleaned(seed_assistant):
    result = seed_assistant.answer("What does\x00 Article 5\x1b cover?")
    assert result.question == "What does Article 5 cover?"
