"""eval/compare.py: a before/after of two runs, question by question, with how much the questions drawn could move
each score by chance. Run on the committed SQuAD report and copies of it with known changes."""
from __future__ import annotations

import copy
import importlib.util
import json

import pytest

from .conftest import REPO

_spec = importlib.util.spec_from_file_location("compare", REPO / "eval" / "compare.py")
compare = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(compare)

REPORT = REPO / "eval" / "reports" / "squad2-llamacpp"


@pytest.fixture(scope="module")
def before() -> dict:
    return json.loads((REPORT / "metrics.json").read_text(encoding="utf-8"))


def _rows(before: dict, after: dict) -> dict[str, dict]:
    return {r["score"]: r for r in compare.compare(compare.paired(before, after))}


def _answer(question: dict) -> None:
    question.update(refused=False, contains=True, short_f1=1.0, short_answer="the gold answer")


def test_a_run_compared_with_itself_changed_nothing(before):
    rows = _rows(before, before)
    assert len(rows) == 5 and all(r["change"] == 0 == r["low"] == r["high"] for r in rows.values())
    assert "## Questions whose outcome changed (0)" in compare.render(REPORT, REPORT, before, before)


def test_one_more_right_answer_is_within_chance(before):
    after = copy.deepcopy(before)
    refused = next(q for q in after["questions"] if q["answerable"] and q["refused"])
    _answer(refused)
    rows = _rows(before, after)
    gold = rows["answerable: gold in answer"]
    assert gold["change"] == pytest.approx(1 / gold["n"]) and gold["low"] == 0 and not gold["beyond_chance"]
    assert rows["unanswerable: refused (abstained)"]["change"] == 0
    text = compare.render(REPORT, REPORT, before, after)
    assert f"| {refused['id']} | yes | refused | “the gold answer” |" in text and "(holds 0)" in text


def test_twenty_more_right_answers_are_beyond_chance(before):
    after = copy.deepcopy(before)
    for q in [q for q in after["questions"] if q["answerable"] and q["refused"]][:20]:
        _answer(q)
    gold = _rows(before, after)["answerable: gold in answer"]
    assert gold["change"] == pytest.approx(20 / gold["n"]) and gold["low"] > 0 and gold["beyond_chance"]


def test_runs_of_different_questions_are_not_compared(before):
    after = copy.deepcopy(before)
    after["questions"].pop()
    with pytest.raises(SystemExit, match="different questions"):
        compare.paired(before, after)
