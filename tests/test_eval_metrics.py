"""Evaluation metrics against hand-computed cases, and sanity checks of eval/questions.yaml."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import yaml

from assistant.evaluation.metrics import (
    citation_precision,
    citation_recall,
    contains_gold,
    exact_match,
    hit_at_k,
    latency_summary,
    ndcg_at_k,
    normalize_answer,
    paired_difference,
    percentile,
    quote_supports,
    recall_at_k,
    reciprocal_rank,
    refusal_scores,
    token_f1,
)

ROOT = Path(__file__).resolve().parents[1]
SEED_NAME = "us-japan-cyberattack-armed-attack-article-5.txt"
QUESTIONS = ROOT / "eval" / "questions.yaml"

# --------------------------------------------------------------------------- retrieval


def test_hit_and_recall_at_k():
    ranked = ["x", "g1", "y", "g2"]
    gold = {"g1", "g2", "g3"}
    assert hit_at_k(ranked, gold, 1) == 0.0  # top-1 = [x]
    assert hit_at_k(ranked, gold, 2) == 1.0  # top-2 holds g1
    assert recall_at_k(ranked, gold, 2) == pytest.approx(1 / 3)  # {g1} of 3 gold
    assert recall_at_k(ranked, gold, 4) == pytest.approx(2 / 3)  # {g1, g2} of 3 gold
    assert recall_at_k(ranked, gold, 100) == pytest.approx(2 / 3)  # k beyond the list changes nothing


def test_repeated_ids_count_once():
    # Distinct top-2 of [g1, g1, x] is [g1, x]: g1 counted once, recall 1/2 not 2/2.
    assert recall_at_k(["g1", "g1", "x"], {"g1", "g2"}, 2) == pytest.approx(1 / 2)
    # Ranks are over distinct ids: [x, x, g] -> g is at rank 2.
    assert reciprocal_rank(["x", "x", "g"], {"g"}) == pytest.approx(1 / 2)


def test_retrieval_without_gold_is_undefined_and_k_is_validated():
    assert hit_at_k(["a"], set(), 3) is None
    assert recall_at_k(["a"], [], 3) is None
    assert reciprocal_rank(["a"], []) is None
    with pytest.raises(ValueError):
        hit_at_k(["a"], {"a"}, 0)


def test_reciprocal_rank_and_mrr():
    rr = [
        reciprocal_rank(["x", "y", "g"], {"g"}),  # first gold at rank 3 -> 1/3
        reciprocal_rank(["g", "h"], {"g", "h"}),  # rank 1 -> 1
        reciprocal_rank(["x", "y"], {"g"}),  # never retrieved -> 0
    ]
    assert rr == pytest.approx([1 / 3, 1.0, 0.0])
    # MRR = (1/3 + 1 + 0) / 3 = 4/9
    assert sum(rr) / len(rr) == pytest.approx(4 / 9)


def test_ndcg_graded_relevance():
    graded = {"a": 3, "b": 2, "c": 1}
    # Ranking [b, x, a, c] cut at k=3 -> [b, x, a]
    # DCG  = 2/log2(2) + 0/log2(3) + 3/log2(4) = 2 + 0 + 1.5 = 3.5
    # IDCG = 3/log2(2) + 2/log2(3) + 1/log2(4) = 3 + 1.26186 + 0.5 = 4.76186
    # nDCG = 3.5 / 4.76186 = 0.73501
    # (exponential gain 2**rel - 1 would give (3 + 3.5) / (7 + 1.89279 + 0.5) = 0.69202 instead)
    assert ndcg_at_k(["b", "x", "a", "c"], graded, 3) == pytest.approx(0.73501, abs=1e-5)
    assert ndcg_at_k(["a", "b", "c"], graded, 3) == pytest.approx(1.0)  # ideal order


def test_ndcg_ideal_comes_from_qrels_not_from_the_ranking():
    # Only "a" retrieved, but "b" is also relevant: DCG = 1, IDCG = 1 + 1/log2(3) = 1.63093
    # nDCG = 1 / 1.63093 = 0.61315
    assert ndcg_at_k(["a"], {"a": 1, "b": 1}, 10) == pytest.approx(0.61315, abs=1e-5)
    # At k=1 the ideal is cut too: IDCG@1 = 1, so the same ranking is perfect.
    assert ndcg_at_k(["a"], {"a": 1, "b": 1}, 1) == pytest.approx(1.0)


def test_ndcg_zero_relevance_is_not_relevant():
    assert ndcg_at_k(["a"], {"a": 0}, 5) is None  # no positive judgement: IDCG = 0
    # "z" judged 0 adds no gain: DCG = 0/1 + 1/log2(3), IDCG = 1 -> 0.63093
    assert ndcg_at_k(["z", "a"], {"z": 0, "a": 1}, 5) == pytest.approx(0.63093, abs=1e-5)


# --------------------------------------------------------------------------- answers


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("The Cat!", "cat"),
        ("  Washington,   D.C. ", "washington dc"),
        ("An apple a day", "apple day"),
        ("There they are", "there they are"),  # "the" only as a whole word
        ("the-cat", "thecat"),  # punctuation goes first, so no article is left to remove
        ("U.S.-Japan", "usjapan"),
        ("cat – dog", "cat – dog"),  # en dash is not ASCII punctuation: the official script keeps it
        ("", ""),
    ],
)
def test_squad_normalisation(raw, normalised):
    assert normalize_answer(raw) == normalised


def test_exact_match_is_max_over_golds():
    assert exact_match("The Cat!", ["cat"]) == 1.0
    assert exact_match("a black cat", ["dog", "Black cat."]) == 1.0
    assert exact_match("black cat", ["cat"]) == 0.0


def test_token_f1_partial_overlap():
    # pred "the big black cat" -> [big, black, cat]; gold "black cat sat" -> [black, cat, sat]
    # common = 2, P = 2/3, R = 2/3, F1 = 2/3
    assert token_f1("the big black cat", ["black cat sat"]) == pytest.approx(2 / 3)
    # max over golds: "dog" scores 0, so the result is still 2/3
    assert token_f1("the big black cat", ["dog", "black cat sat"]) == pytest.approx(2 / 3)
    # multiset overlap: pred [cat, cat, cat], gold [cat] -> common 1, P = 1/3, R = 1, F1 = 2*(1/3)/(4/3) = 0.5
    assert token_f1("cat cat cat", ["cat"]) == pytest.approx(0.5)
    assert token_f1("dog", ["cat"]) == 0.0


def test_unanswerable_handling():
    # Empty gold list = unanswerable: only the empty prediction is right; both empty scores 1.
    assert exact_match("", []) == 1.0
    assert token_f1("", []) == 1.0
    assert exact_match("Paris", []) == 0.0
    assert token_f1("Paris", []) == 0.0
    # Golds that normalise to "" are dropped, so this is unanswerable too.
    assert token_f1("", ["the", "."]) == 1.0
    # Answerable question, empty prediction: 0.
    assert token_f1("", ["cat"]) == 0.0
    assert exact_match("", ["cat"]) == 0.0


def test_contains_gold():
    assert contains_gold("It was Mike Pompeo [1].", ["mike pompeo"])
    assert contains_gold("They met in Washington, D.C. on Friday.", ["Japan", "Washington, D.C."])
    assert not contains_gold("They concatenate strings.", ["cat"])  # whole tokens only
    assert not contains_gold("Mike Smith", ["Mike Pompeo"])
    assert contains_gold("", [])  # unanswerable: empty prediction contains the no-answer
    assert not contains_gold("Paris", [])


# --------------------------------------------------------------------------- citations

POMPEO_QUOTE = "Pompeo had met with his Japanese counterpart, Foreign Minister Taro Kono"
IGNORED_QUOTE = "Japan and the United States have ignored the designation."


def test_quote_supports_token_overlap():
    # sentence content tokens: {pompeo, met, taro, kono, washington} ("in" is a stop word, "[1]" a marker)
    # quote content tokens: {pompeo, met, japanese, counterpart, foreign, minister, taro, kono}
    # overlap {pompeo, met, taro, kono} = 4 of 5 -> 0.8
    assert quote_supports("Pompeo met Taro Kono in Washington [1].", POMPEO_QUOTE) == pytest.approx(0.8)
    assert quote_supports(IGNORED_QUOTE, IGNORED_QUOTE) == 1.0
    assert quote_supports("It was there.", POMPEO_QUOTE) == 0.0  # only stop words: nothing claimed
    # words joined by punctuation SQuAD's normalisation keeps (en and em dashes) are still words of the quote
    assert quote_supports("1234 [1].", "the Jin dynasty (1115\u20131234) in the north") == 1.0
    assert quote_supports("Imperial [1].", "the Times added a newer county\u2014Imperial\u2014to that list") == 1.0


def test_citation_precision():
    pairs = [
        ("Pompeo met Taro Kono in Washington [1].", POMPEO_QUOTE),  # 0.8 -> supported
        ("China ignored the zone [2].", IGNORED_QUOTE),  # {china, ignored, zone} vs quote: 1/3 -> not
        (IGNORED_QUOTE, IGNORED_QUOTE),  # 1.0 -> supported
    ]
    assert citation_precision(pairs) == pytest.approx(2 / 3)
    assert citation_precision(pairs, threshold=0.3) == 1.0  # 1/3 >= 0.3
    # threshold is inclusive: {china, ignored} has 1 of 2 supported = 0.5
    assert citation_precision([("China ignored [1]", IGNORED_QUOTE)], threshold=0.5) == 1.0
    assert citation_precision([]) is None


def test_citation_recall():
    gold = [("a", 0, 10), ("a", 20, 30), ("b", 0, 5)]
    cited = [
        ("a", 5, 12),  # overlaps gold a[0,10)
        ("a", 30, 40),  # only touches a[20,30): half-open ranges do not intersect
        ("b", 5, 9),  # only touches b[0,5)
        ("c", 0, 10),  # same range as a[0,10) but another source
    ]
    # 1 of 3 gold spans overlapped -> 1/3
    assert citation_recall(cited, gold) == pytest.approx(1 / 3)
    assert citation_recall([("a", 25, 26), ("b", 4, 5)], gold) == pytest.approx(2 / 3)  # a[20,30), b[0,5)
    assert citation_recall([], gold) == 0.0
    assert citation_recall(cited, []) is None


# --------------------------------------------------------------------------- refusal


def test_refusal_confusion_counts():
    should = [True, True, True, False, False, False, False]
    refused = [True, True, False, True, False, False, False]
    # tp = 2 (items 1, 2), fn = 1 (item 3), fp = 1 (item 4), tn = 3
    scores = refusal_scores(should, refused)
    assert (scores["tp"], scores["fp"], scores["fn"], scores["tn"]) == (2, 1, 1, 3)
    assert scores["precision"] == pytest.approx(2 / 3)  # 2 / (2 + 1)
    assert scores["recall"] == pytest.approx(2 / 3)  # 2 / (2 + 1)
    assert scores["accuracy"] == pytest.approx(5 / 7)  # (2 + 3) / 7
    assert scores["f1"] == pytest.approx(2 / 3)  # 2 * (2/3)(2/3) / (4/3)


def test_refusal_zero_denominators():
    never_refused = refusal_scores([True, False], [False, False])
    assert never_refused["precision"] is None  # tp + fp = 0
    assert never_refused["recall"] == 0.0  # 0 / 1
    assert never_refused["f1"] is None
    assert never_refused["accuracy"] == 0.5

    nothing_to_refuse = refusal_scores([False, False], [False, True])
    assert nothing_to_refuse["recall"] is None  # tp + fn = 0
    assert nothing_to_refuse["precision"] == 0.0  # 0 / 1

    all_wrong = refusal_scores([True, False], [False, True])
    assert (all_wrong["precision"], all_wrong["recall"], all_wrong["f1"]) == (0.0, 0.0, 0.0)

    empty = refusal_scores([], [])
    assert empty["accuracy"] is None and empty["f1"] is None

    with pytest.raises(ValueError):
        refusal_scores([True], [True, False])


# --------------------------------------------------------------------------- latency


def test_percentile_hand_computed():
    values = [4, 1, 3, 2]  # sorted [1, 2, 3, 4]
    assert percentile(values, 50) == pytest.approx(2.5)  # position 3 * 0.5 = 1.5 -> 2 + 0.5 * (3 - 2)
    assert percentile(values, 95) == pytest.approx(3.85)  # position 2.85 -> 3 + 0.85 * (4 - 3)
    assert percentile(values, 0) == 1
    assert percentile(values, 100) == 4
    assert percentile([7.0], 95) == 7.0
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_percentile_matches_numpy():
    rng = random.Random(7)
    for n in (1, 2, 3, 10, 101):
        values = [rng.uniform(0.01, 30.0) for _ in range(n)]
        for p in (0, 1, 25, 50, 90, 95, 99, 100, 33.3):
            assert percentile(values, p) == pytest.approx(float(np.percentile(values, p)), rel=1e-12, abs=1e-12)


def test_latency_summary():
    # sorted [0.5, 1.0, 1.5, 4.0]; p50 at position 1.5 -> 1.0 + 0.5 * 0.5 = 1.25
    # p95 at position 2.85 -> 1.5 + 0.85 * (4.0 - 1.5) = 3.625; mean = 7.0 / 4 = 1.75
    summary = latency_summary([1.5, 0.5, 4.0, 1.0])
    assert summary == pytest.approx({"p50": 1.25, "p95": 3.625, "mean": 1.75, "n": 4})
    assert latency_summary([]) == {"p50": None, "p95": None, "mean": None, "n": 0}


# --------------------------------------------------------------------------- eval/questions.yaml

KINDS = {"fact", "paraphrase", "who", "when", "where", "list", "followup", "unanswerable"}


@pytest.fixture(scope="module")
def questions() -> list[dict]:
    return yaml.safe_load(QUESTIONS.read_text(encoding="utf-8"))


def test_question_set_meets_minimums(questions):
    ids = [item["id"] for item in questions]
    assert len(ids) == len(set(ids)), [i for i, c in Counter(ids).items() if c > 1]
    kinds = Counter(item["kind"] for item in questions)
    assert set(kinds) <= KINDS
    assert len(questions) >= 32
    assert kinds["unanswerable"] >= 9
    assert kinds["followup"] >= 2
    assert kinds["list"] >= 1
    assert any(item["question"] == "Which officials took part in the 2+2 meeting?" for item in questions)


def test_question_items_are_consistent(questions):
    for item in questions:
        assert item["answerable"] == (item["kind"] != "unanswerable"), item["id"]
        if item["answerable"]:
            assert item["answers"] and item["gold"], item["id"]
            assert all(isinstance(answer, str) for answer in item["answers"]), item["id"]
        else:
            assert item["answers"] == [] and item["gold"] == [], item["id"]
        history = item.get("history") or []
        assert bool(history) == (item["kind"] == "followup"), item["id"]
        assert all(turn["role"] in {"user", "assistant"} and turn["content"] for turn in history), item["id"]


def test_gold_texts_occur_verbatim_in_the_seed(questions):
    seed_text = (ROOT / "seeds" / SEED_NAME).read_text(encoding="utf-8")
    for item in questions:
        for gold in item["gold"]:
            assert gold["source"] == SEED_NAME, item["id"]
            assert gold["text"] in seed_text, item["id"]


def test_answers_are_grounded_in_their_gold_text(questions):
    # Every answer token (after SQuAD normalisation) must appear in the item's gold sentences,
    # so a gold answer can never come from outside the article.
    for item in questions:
        gold_tokens = set(normalize_answer(" ".join(g["text"] for g in item["gold"])).split())
        for answer in item["answers"]:
            assert set(normalize_answer(answer).split()) <= gold_tokens, (item["id"], answer)


def test_article_5_question(questions):
    item = next(q for q in questions if q["question"] == "What does Article 5 cover?")
    assert item["gold"] == [
        {
            "source": SEED_NAME,
            "text": "The United States is obligated under Article 5 to help Japan defend its territories "
            "in the case of an armed attack.",
        }
    ]


# --------------------------------------------------------------------------- before/after


def test_paired_difference_is_the_mean_change_with_a_bootstrap_interval():
    assert paired_difference([0.0] * 50, [1.0] * 50) == (1.0, 1.0, 1.0)
    swings = [1.0, 0.0] * 50  # half the questions gained, half lost: no change overall, either way by chance
    change, low, high = paired_difference(swings, swings[::-1])
    assert change == 0 and -0.25 < low < 0 < high < 0.25 and low == pytest.approx(-high, abs=0.05)
    assert paired_difference(swings, swings[::-1]) == (change, low, high)  # seeded: one pair of runs, one interval
    with pytest.raises(ValueError):
        paired_difference([1.0], [1.0, 0.0])
