"""Feedback that becomes tests: the ratings log, asking rated questions again, exporting them as a question set."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from assistant import Assistant
from assistant.evaluation.runner import run_suite
from assistant.evaluation.seed import load_questions
from assistant.feedback import FeedbackRow, append, feedback_path, read

from .conftest import REPO, make_settings
from .corpus import FIELD_NOTES, write_corpus


def test_the_log_is_append_only_and_the_last_line_per_id_wins(tmp_path):
    path = tmp_path / "feedback.jsonl"
    first = append(path, FeedbackRow(question="q1", answer="a1", rating="down", user="ann"))
    append(path, FeedbackRow(question="q2", answer="a2", rating="up", user="bob"))
    append(path, FeedbackRow(question="q1", answer="a1", rating="down", user="ann", comment="wrong year",
                             id=first.id))
    with path.open("a", encoding="utf-8") as fh:
        fh.write('{"question": "torn')  # a crash mid-write
    assert len(path.read_text(encoding="utf-8").splitlines()) == 4
    rows = read(path)
    assert [(r.question, r.comment) for r in rows] == [("q2", ""), ("q1", "wrong year")]
    assert [r.question for r in read(path, user="ann")] == ["q1"]
    with pytest.raises(ValueError, match="rating must be"):
        append(path, FeedbackRow(question="q", answer="a", rating="meh"))


@pytest.fixture
def rated(tmp_path):
    """Two rated answers over a small corpus: one thumbs-down, one thumbs-up; the row fields as the page writes."""
    _, notes = write_corpus(tmp_path / "docs")
    settings = make_settings(tmp_path)
    with Assistant(settings) as assistant:
        assistant.ingest([tmp_path / "docs"])
        asked = {}
        for question, rating in [("How many keepers were in the sample?", "down"),
                                 ("How many nurses were in the sample?", "up")]:
            answer = assistant.answer(question)
            asked[question] = assistant.record_feedback(question, answer, rating, comment=f"{rating} note",
                                                        sources=None, user="ann")
    return settings, notes, asked


def test_a_row_holds_what_the_issue_lists(rated):
    settings, _, asked = rated
    line = json.loads(feedback_path(settings.home).read_text(encoding="utf-8").splitlines()[0])
    assert set(line) >= {"question", "history", "answer", "short_answer", "citations", "backend", "rating",
                         "comment", "time", "generation", "user", "sources", "id"}
    assert line["rating"] == "down" and line["generation"] and line["citations"][0]["quote"]


def test_eval_feedback_reports_changed_answers_thumbs_down_first(rated, tmp_path):
    settings, notes, _ = rated
    # The person who gave the thumbs-down fixes the document; the thumbs-up answer's document is untouched.
    notes.write_text(FIELD_NOTES.replace("The sample size was 38 lighthouse keepers",
                                         "The sample size was 41 lighthouse keepers"), encoding="utf-8")
    with Assistant(settings) as assistant:
        assistant.ingest([tmp_path / "docs"])
    out = run_suite("feedback", index_dir=settings.index_dir, llm="extractive", out=tmp_path / "report",
                    feedback_file=feedback_path(settings.home))
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert (metrics["n"], metrics["down"], metrics["changed_down"], metrics["changed_up"]) == (2, 1, 1, 0)
    assert [r["rating"] for r in metrics["rows"]] == ["down", "up"]
    assert "41 lighthouse keepers" in metrics["rows"][0]["new_answer"]
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "**1 changed**" in report and report.index("keepers were") < report.index("nurses were")


def test_feedback_export_writes_a_question_set(rated, tmp_path):
    settings, _, asked = rated
    out = tmp_path / "rated.yaml"
    done = subprocess.run([sys.executable, "-m", "assistant", "feedback", "export", "--out", str(out),
                           "--feedback", str(feedback_path(settings.home))],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    questions = load_questions(out)  # the seed suite reads it as it is
    assert [q.question for q in questions] == ["How many keepers were in the sample?",
                                               "How many nurses were in the sample?"]
    down, up = questions
    assert down.answers == [] and down.gold == [] and down.kind == "feedback-down"
    liked = asked["How many nurses were in the sample?"]
    assert up.gold == [{"source": c["source"], "text": c["quote"]} for c in liked.citations] and up.gold
    assert out.read_text(encoding="utf-8").startswith("# Rated answers exported")
    none = subprocess.run([sys.executable, "-m", "assistant", "feedback", "export", "--feedback",
                           str(tmp_path / "missing.jsonl")], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert none.returncode == 2 and "no rated answers" in none.stderr
