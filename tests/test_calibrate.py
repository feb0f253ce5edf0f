"""eval/calibrate.py scores each threshold by what answering.decide would show: the same rules, in the same order."""
from __future__ import annotations

import importlib.util

from assistant import answering

from .conftest import REPO

_spec = importlib.util.spec_from_file_location("calibrate", REPO / "eval" / "calibrate.py")
calibrate = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(calibrate)

SURE = {"grounded": 0.0, "top_coverage": 1.0, "top_cosine": 1.0, "p_decline": 0.0, "top_check": 1.0}


def _row(top: str) -> dict:
    return {"question": "How many beds does the hospital have?", "top": top, "support": [], "gated": "",
            "answerable": True, "signals": SURE, "draft_right": False, "support_right": False,
            "top_right": "300" in top}


def test_calibration_shows_no_evidence_decide_would_not():
    """Evidence with no number in it answers no "how many", however sure the fallback is (questions.of_kind)."""
    models = (answering.KEEP, answering.KEEP_THRESHOLD, answering.FALLBACK, answering.FALLBACK_THRESHOLD)
    assert answering.probability(answering.FALLBACK, SURE) >= answering.FALLBACK_THRESHOLD
    assert calibrate.outcome(_row("The hospital has 300 beds."), *models) == ("evidence", True)
    assert calibrate.outcome(_row("The hospital is the largest in the city."), *models) == ("refused", False)
    # nor evidence that says the opposite of the question (questions.opposed)
    turned = {**_row("The hospital has 300 beds."), "question": "How many beds does the hospital not have?"}
    assert calibrate.outcome(turned, *models) == ("refused", False)


def test_a_larger_calibration_sample_extends_the_questions_already_asked():
    """collect --n 1000 after --n 400 asks 600 more, half unanswerable, all about calibration articles."""
    calibration, test = calibrate.squad2.split_articles(calibrate.read_jsonl(calibrate.BENCH / "questions.jsonl"))
    small = calibrate.squad2.extended_sample(calibration, 400, calibrate.FIRST, seed=calibrate.SEED)
    large = calibrate.squad2.extended_sample(calibration, 1000, calibrate.FIRST, seed=calibrate.SEED)
    assert [q["id"] for q in large[:400]] == [q["id"] for q in small]
    assert len({q["id"] for q in large}) == 1000
    assert sum(q["is_impossible"] for q in large[400:]) == 300
    assert not {q["id"] for q in large} & {q["id"] for q in test}
