"""Citations that say where: PDF pages and the nearest heading, kept as offsets into the extracted text."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant import Assistant
from assistant.documents import load_file, markdown_headings
from assistant.locations import locate, located
from assistant.retrieval import collapse
from assistant.types import Citation, Passage

from .conftest import make_settings
from .corpus import TRIAL_PAGES, flat, page_of, write_corpus, write_pdf


def test_pdf_pages_are_offsets_into_the_text_and_blank_pages_keep_the_numbering(tmp_path):
    doc = load_file(write_pdf(tmp_path / "t.pdf", TRIAL_PAGES))
    assert [n for _, n in doc.pages] == [1, 3, 4]
    pages = doc.text.split("\n\n")  # pages apart as paragraphs: nothing lost or merged across pages
    assert [flat(p) for p in pages] == [p for p in TRIAL_PAGES if p]
    for (start, number), text in zip(doc.pages, pages):
        assert doc.text[start:start + len(text)] == text
        assert doc.page_at(start) == doc.page_at(start + len(text) - 1) == number


def test_markdown_headings_atx_setext_not_in_fences_or_front_matter():
    text = ("---\ntitle: notes\n---\n# Intro\nHello.\n\nMethods\n-------\nWe did it.\n"
            "```\n# not a heading\n```\n## Results ##\nIt worked.\n")
    headings = markdown_headings(text)
    assert [h for _, h in headings] == ["Intro", "Methods", "Results"]
    assert [text[o:o + 9] for o, _ in headings] == ["# Intro\nH", "Methods\n-", "## Result"]


def test_html_and_docx_headings_point_into_the_extracted_text(tmp_path):
    import docx
    from bs4 import BeautifulSoup

    page = tmp_path / "p.html"
    page.write_text("<html><body><p>Before.</p><h2> Methods <em>and</em> data</h2><p>We did it.</p>"
                    "<h3>Results</h3><div>Good.</div></body></html>", encoding="utf-8")
    doc = load_file(page)
    raw = BeautifulSoup(page.read_bytes(), "html.parser").get_text("\n")
    assert doc.text == "\n".join(line.strip() for line in raw.splitlines() if line.strip())  # text unchanged
    assert doc.headings == ((8, "Methods and data"), (doc.text.index("Results"), "Results"))
    assert doc.section_at(doc.text.index("We did")) == "Methods and data"
    assert doc.section_at(doc.text.index("Before")) is None

    document = docx.Document()
    document.add_paragraph("Preface.")
    document.add_heading("Methods", 1)
    document.add_paragraph("We measured twice.")
    document.save(str(tmp_path / "d.docx"))
    doc = load_file(tmp_path / "d.docx")
    assert doc.section_at(doc.text.index("We measured")) == "Methods"
    assert doc.section_at(0) is None


def test_locate_and_merge():
    locations = ((100, 3, "Methods"), (180, 4, "Methods"), (250, 4, "Results"))
    assert locate(locations, 100) == (3, "Methods")
    assert locate(locations, 200) == (4, "Methods")
    assert locate(locations, 999) == (4, "Results")
    assert locate((), 5) == (None, None)
    a = Passage("a", "s.pdf", "x" * 100, 100, 200, locations=locations[:2])
    b = Passage("b", "s.pdf", "y" * 100, 180, 280, locations=locations[1:])
    (merged,) = collapse([a, b], k=5)
    assert merged.locations == locations
    citation = located(Citation(1, "s.pdf", "a", "q", 260, 270), merged)
    assert (citation.page, citation.section) == (4, "Results")


@pytest.fixture(scope="module")
def corpus_assistant(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("locations")
    write_corpus(tmp / "docs")
    assistant = Assistant(make_settings(tmp))
    assistant.ingest([tmp / "docs"])
    yield assistant
    assistant.close()


def test_pdf_citation_carries_its_page(corpus_assistant):
    answer = corpus_assistant.answer("How many nurses were in the sample?", sources=["*.pdf"])
    assert answer.citations, answer
    first = next(p for p in answer.passages if p.chunk_id == answer.citations[0].chunk_id)
    assert len({page for _, page, _ in first.locations}) > 1  # the chunk runs over a page break
    for c in answer.citations:
        text = load_file(Path(c.source)).text
        assert text[c.start:c.end] == c.quote  # offsets stay exact
        assert c.page == page_of(c.quote) and c.section is None
    assert any(c.page == 3 for c in answer.citations)


def test_markdown_citation_carries_its_section(corpus_assistant):
    answer = corpus_assistant.answer("What did the keepers keep a log of?", sources=["field-notes.md"])
    assert answer.citations, answer
    assert {(c.page, c.section) for c in answer.citations} == {(None, "Findings")}
    passage = answer.passages[0]
    assert passage.locations and all(section for _, _, section in passage.locations)
