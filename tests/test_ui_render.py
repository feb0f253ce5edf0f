"""The page's pure parts: evidence before the answer, the short answer, where a citation stands, the chat's
turn layout, the Markdown export, examples made from titles and headings."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from assistant.citations import answer_text
from assistant.types import Answer, Citation, Evidence, Passage
from assistant.ui.conversations import history, new_conversation, new_turn, with_turn
from assistant.ui.examples import questions_for
from assistant.ui.render import (
    answer_html,
    chat_messages,
    cite_id,
    conversation_markdown,
    evidence_html,
    sources_html,
)

TEXT = ("Recruitment. The sample size was 412 nurses, recruited from four hospitals in Leeds.\n\n"
        "Outcomes. Melatonin shortened the time to fall asleep by nine minutes on average.")
QUOTE = "The sample size was 412 nurses, recruited from four hospitals in Leeds."
START = TEXT.index(QUOTE)
PASSAGE = Passage("c1", "docs/trial.pdf", TEXT, 0, len(TEXT), relevance=0.6,
                  locations=((0, 3, None), (TEXT.index("Outcomes"), 4, None)))
CITATION = Citation(1, "docs/trial.pdf", "c1", QUOTE, START, START + len(QUOTE), page=3, section=None)


def test_evidence_is_shown_quoted_cited_and_marked_as_not_yet_the_answer():
    shown = evidence_html(Evidence(citations=[CITATION], passages=[PASSAGE]), turn=0)
    assert "not yet the answer" in shown
    assert f"\u201c{QUOTE}\u201d" in shown
    assert f'href="#{cite_id(0, 1)}"' in shown


def test_the_final_answer_leads_with_its_short_answer():
    answer = Answer(text=answer_text("412 nurses", [CITATION]), short_answer="412 nurses", citations=[CITATION],
                    passages=[PASSAGE])
    shown = answer_html(answer, turn=2)
    link = f'<a class="cite" href="#{cite_id(2, 1)}">[1]</a>'
    assert shown.startswith(f'<p class="short-answer">412 nurses {link}.</p>')
    assert f"\u201c{QUOTE}\u201d {link}" in shown and shown.count("412 nurses") == 1 + QUOTE.count("412 nurses")


def test_a_turn_streams_evidence_then_draft_then_answer():
    conversation = new_conversation()
    turn = new_turn("How many nurses?", None)
    conversation = with_turn(conversation, turn)
    assert chat_messages(conversation["turns"])[1]["content"].endswith("\u258d</span>")  # a cursor, nothing yet
    turn["evidence"] = Answer(text="", citations=[CITATION], passages=[PASSAGE]).to_dict()
    conversation = with_turn(conversation, turn)
    streaming = chat_messages(conversation["turns"], draft="There were 412")
    assert "not yet the answer" in streaming[1]["content"] and "There were 412" in streaming[1]["content"]
    panel = sources_html(conversation["turns"])
    assert f'id="{cite_id(0, 1)}"' in panel and f"<mark>{QUOTE}</mark>" in panel  # the [n] links land
    assert "p. 3" in panel
    answer = Answer(text=f"{QUOTE[:-1]} [1].", citations=[CITATION], passages=[PASSAGE], backend="x")
    turn.update(status="answered", answer=answer.to_dict(), evidence=None)
    conversation = with_turn(conversation, turn)
    final = chat_messages(conversation["turns"])
    assert len(final) == 2 and "not yet the answer" not in final[1]["content"]
    assert [m["content"] for m in history(conversation)] == ["How many nurses?", answer.text]


def test_sources_say_page_and_section_beside_the_file():
    citation = Citation(1, "notes.md", "c2", "Most keepers polished the lens.", 10, 41, page=None,
                        section="Findings")
    answer = Answer(text="Most keepers polished the lens [1].", citations=[CITATION, citation],
                    passages=[PASSAGE])
    panel = sources_html([{"question": "q", "status": "answered", "answer": answer.to_dict()}])
    assert '<span class="where">p. 3</span>' in panel
    assert '<span class="where">Findings</span>' in panel


def test_markdown_export_numbers_citations_and_quotes_them_verbatim():
    multiline = "Line one of a PDF quote\nwrapped onto line two."
    text = "Intro. " + multiline
    wrapped = Citation(2, "docs/b.pdf", "c9", multiline, 7, 7 + len(multiline), page=2)
    answer = Answer(text=answer_text("412", [CITATION, wrapped]), short_answer="412", citations=[CITATION, wrapped])
    conversation = {**new_conversation(), "title": "Nurses", "turns": [
        {**new_turn("How many nurses?", ["docs/trial.pdf"]), "status": "answered", "answer": answer.to_dict(),
         "rating": "down", "comment": "too short"}]}
    exported = conversation_markdown(conversation)
    assert exported.startswith("# Nurses\n")
    assert "## How many nurses?" in exported and "**412 [1][2].**" in exported
    assert f"\u201c{QUOTE}\u201d [1]" in exported
    assert "[1] docs/trial.pdf, p. 3, characters" in exported
    quotes = re.findall(r"^\[(\d+)\] .*?characters (\d+)\u2013(\d+):\n\n((?:>.*\n?)+)", exported, re.M)
    recovered = {int(n): "\n".join(line[2:] for line in block.rstrip("\n").split("\n")) for n, _, _, block in quotes}
    assert recovered == {1: QUOTE, 2: multiline}
    assert text[7:7 + len(multiline)] == recovered[2]
    assert "Rated \U0001F44E: too short" in exported


def test_examples_come_from_titles_and_headings():
    documents = [{"source": "a.md", "title": "Lighthouse field notes"},
                 {"source": "b.txt", "title": 'Cyberattack on Japan Could be Regarded as an "Armed Attack"'}]
    sections = {"a.md": ["Lighthouse field notes", "Methods", "Findings", "Methods"]}
    assert questions_for(documents, sections, n=4) == [
        "What does \u201cLighthouse field notes\u201d say about Methods?",
        "What is \u201cCyberattack on Japan Could be Regarded as an Armed Attack\u201d about?",
        "What does \u201cLighthouse field notes\u201d say about Findings?",
    ]
    assert questions_for([], {}) == []


def test_scope_choices_become_patterns_that_match_only_themselves():
    from assistant.scope import resolve_scope
    from assistant.ui.scope import patterns

    sources = ["docs/report [draft].pdf", "docs/report d.pdf", "docs/notes.md"]
    assert patterns([]) is None and patterns(None) is None
    assert resolve_scope(patterns(["docs/report [draft].pdf"]), sources) == ["docs/report [draft].pdf"]


def test_each_user_sees_only_their_own_conversations():
    from types import SimpleNamespace

    from assistant.ui.conversations import ConversationsPanel

    panel = ConversationsPanel(page=None)
    ann, bob = SimpleNamespace(username="ann"), SimpleNamespace(username="bob")
    conversation = with_turn(new_conversation(), {**new_turn("Ann's question", None), "status": "error"})
    saved, _, _ = panel.save(conversation, {"users": {}}, ann)
    assert panel.restore(saved, bob)[0]["turns"] == []  # bob, on the same browser, gets a new conversation
    assert panel.restore(saved, ann)[0]["id"] == conversation["id"]
    assert panel.switch(conversation["id"], saved, bob)[0]["id"] != conversation["id"]


def test_exported_files_are_removed_when_the_process_exits(tmp_path):
    # every process that imported the page used to leave an export folder in the temporary directory for good
    code = ("import os, sys\n"
            "from assistant.ui.conversations import export_file, new_conversation, new_turn, with_turn\n"
            "assert not os.listdir(sys.argv[1]), 'a folder made by the import alone'\n"
            "print(export_file(with_turn(new_conversation(), new_turn('How many nurses?', None))))")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=True,
                          env={**os.environ, "TMPDIR": str(tmp_path)})
    exported = Path(done.stdout.strip())
    assert exported.name.endswith(".md") and exported.parent.parent.parent == tmp_path
    assert list(tmp_path.iterdir()) == []
