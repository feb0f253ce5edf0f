"""Ask within chosen documents: patterns resolve to indexed sources, and the filter works inside retrieval."""

from __future__ import annotations

import pytest

from assistant import Assistant
from assistant.retrieval import Retriever
from assistant.scope import ScopeError, resolve_scope

from .conftest import SEED, make_settings
from .corpus import write_corpus

SOURCES = ["docs/trial-report.pdf", "docs/field-notes.md", "seeds/article.txt"]


def test_patterns_match_path_or_file_name():
    assert resolve_scope(None, SOURCES) is None
    assert resolve_scope(["*.pdf"], SOURCES) == ["docs/trial-report.pdf"]
    assert resolve_scope(["docs/*"], SOURCES) == ["docs/field-notes.md", "docs/trial-report.pdf"]
    assert resolve_scope("field-notes.md", SOURCES) == ["docs/field-notes.md"]  # one bare pattern
    assert resolve_scope(["seeds/article.txt", "*.md"], SOURCES) == ["docs/field-notes.md", "seeds/article.txt"]


def test_a_pattern_matching_nothing_is_an_error():
    with pytest.raises(ScopeError, match="no indexed document matches '\\*.docx'"):
        resolve_scope(["*.pdf", "*.docx"], SOURCES)
    with pytest.raises(ScopeError, match="no documents chosen"):
        resolve_scope([], SOURCES)


@pytest.fixture(scope="module")
def two_topics(tmp_path_factory):
    """The seed article plus two small documents about one sample size each."""
    tmp = tmp_path_factory.mktemp("scope")
    write_corpus(tmp / "docs")
    assistant = Assistant(make_settings(tmp))
    assistant.ingest([tmp / "docs", SEED])
    yield assistant
    assistant.close()


def test_the_filter_is_applied_inside_retrieval_not_after_top_k(two_topics):
    """With a candidate pool of 2 per list, the seed article's passages fill the pool for an Article 5 question;
    filtering afterwards would leave nothing from the notes. Filtered inside both searches, the notes still
    give their best passages."""
    retriever = Retriever(two_topics.index, fetch_k=2)
    question = "What does Article 5 of the treaty cover?"
    assert all(p.source.endswith(SEED.name) for p in retriever.search(question, k=2))
    notes = [s for s in two_topics.index.committed() if s.endswith("field-notes.md")]
    scoped = retriever.search(question, k=2, sources=notes)
    assert scoped and {p.source for p in scoped} == set(notes)


def test_bm25_ranks_only_the_chosen_documents(two_topics):
    retriever = two_topics.retriever
    notes = [s for s in two_topics.index.committed() if s.endswith("field-notes.md")]
    allowed = set(two_topics.index.live_chunk_ids(notes))
    hits = retriever.bm25("sample size", 50, notes)
    assert hits and {i for i, _ in hits} <= allowed
    assert {i for i, _ in retriever.bm25("sample size", 50)} - allowed  # unfiltered, others score too


def test_answer_within_sources_cites_only_them(two_topics):
    answer = two_topics.answer("What was the sample size?", sources=["*.md"])
    assert answer.citations and all(c.source.endswith("field-notes.md") for c in answer.citations)
    assert all(p.source.endswith("field-notes.md") for p in answer.passages)
    assert "38" in answer.text
    with pytest.raises(ScopeError, match="no indexed document matches"):
        two_topics.answer("What was the sample size?", sources=["*.docx"])
