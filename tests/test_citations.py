"""Citation verification with scripted drafts (the model is the thing isolated here; passages are real)."""

from __future__ import annotations

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from assistant import Assistant
from assistant.citations import is_decline, parse_claims, verify
from assistant.documents import load_file

from .conftest import SEED

DEFEND = "The United States is obligated under Article 5 to help Japan defend its territories"


@pytest.fixture(scope="module")
def passages(seed_assistant):
    found = seed_assistant.retrieve("What does Article 5 cover and who is the foreign minister?", k=4)
    assert len(found) >= 2
    return found


def exact(citations):
    text = load_file(SEED).text
    return all(text[c.start:c.end] == c.quote for c in citations)


def test_markers_beyond_range_and_grouped_markers_are_parsed():
    claims = parse_claims("Alpha is first [1]. Beta is second [2][3]. Gamma is third [9]. [2]", 3)
    assert claims == [("Alpha is first.", [0]), ("Beta is second.", [1, 2]), ("Gamma is third.", [1])]
    assert parse_claims("Delta [1, 3].", 3) == [("Delta.", [0, 2])]


def test_wrongly_cited_sentence_is_reattributed_to_its_support(passages):
    home = next(i for i, p in enumerate(passages) if DEFEND in p.text)
    wrong = (home + 1) % len(passages)
    draft = f"The United States must help Japan defend its territories in case of an armed attack [{wrong + 1}]."
    checked = verify(draft, passages, _embeddings())
    (citation,) = checked.citations
    assert DEFEND in citation.quote and citation.chunk_id == passages[home].chunk_id
    assert checked.text.endswith("[1].") and exact(checked.citations)


def test_sentence_without_marker_gets_one_and_unsupported_one_is_dropped(passages):
    draft = "Taro Kono is the Japanese foreign minister. Paris is the capital of France [1]."
    checked = verify(draft, passages, _embeddings())
    assert [("Kono" in c.quote) for c in checked.citations] == [True]
    assert checked.unsupported == ["Paris is the capital of France."]
    assert "Paris" not in checked.text and exact(checked.citations)


def test_markers_only_or_empty_draft_has_nothing_to_keep(passages):
    assert verify("[1] [2] [7]", passages, _embeddings()).empty
    assert verify("", passages, _embeddings()).empty


@pytest.mark.parametrize("draft, declined", [
    ("I don't know.", True), ("The passages do not mention the treaty's date.", True),
    ("Taro Kono is the foreign minister [1].", False),
])
def test_declines_are_recognised(draft, declined):
    assert is_decline(draft) is declined


def _ask(seed_assistant, response: str, question: str):
    scripted = Assistant(seed_assistant.settings, chat_model=FakeListChatModel(responses=[response]))
    return scripted.answer(question)


def test_model_knowledge_outside_the_documents_is_refused(seed_assistant):
    result = _ask(seed_assistant, "Paris is the capital of France [1].", "What is the capital of France?")
    assert result.refused and "Paris" not in result.text and not result.citations


def test_supported_answer_not_in_passages_wording_is_refused(seed_assistant):
    result = _ask(seed_assistant, "The treaty was signed in 1960 by Eisenhower [1].",
                  "When was the U.S.-Japan Security Treaty signed?")
    assert result.refused and result.unsupported


def test_a_decline_with_strong_evidence_is_answered_from_it(seed_assistant):
    # near-verbatim: above STRONG_EVIDENCE, which is calibrated so no unanswerable seed question reaches it
    result = _ask(seed_assistant, "I don't know.",
                  "Is the United States obligated under Article 5 to help Japan defend its territories?")
    assert not result.refused and result.backend.endswith("+extractive")
    assert any(DEFEND in c.quote for c in result.citations) and exact(result.citations)


def test_streamed_pieces_then_a_verified_answer(seed_assistant):
    scripted = Assistant(seed_assistant.settings, chat_model=FakeListChatModel(
        responses=["Under Article 5 the United States must help Japan defend its territories [1]."]))
    items = list(scripted.stream("What does Article 5 cover?"))
    assert all(isinstance(i, str) for i in items[:-1]) and len(items) > 3  # streamed in pieces
    final = items[-1]
    assert "".join(items[:-1]).startswith("Under Article 5")
    assert not final.refused and any(DEFEND in c.quote for c in final.citations) and exact(final.citations)
    assert final.timings["first_token"] <= final.timings["total"]


def _embeddings():
    from assistant.embeddings import get_embeddings

    return get_embeddings("all-MiniLM-L6-v2")


def test_fact_borrowed_from_the_topic_but_not_the_passage_is_dropped(passages):
    question = "When was the U.S.-Japan Security Treaty signed?"
    checked = verify("The U.S.-Japan Security Treaty was signed on 19 April 1960 [1].", passages, _embeddings(),
                     question)
    assert checked.empty and checked.unsupported


def test_a_repeated_sentence_is_kept_once(passages):
    sentence = "The United States must help Japan defend its territories in case of an armed attack [1]. "
    checked = verify(sentence * 2, passages, _embeddings(), "What does Article 5 cover?")
    assert len(checked.citations) == 1
