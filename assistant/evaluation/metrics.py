"""Evaluation metrics as pure functions: no judge LLM, no I/O, no state.

Conventions shared by every function here:
- Scores are floats in [0, 1] so that they average directly across questions.
- ``None`` means "undefined for this input" (e.g. a retrieval metric with no gold documents,
  a precision with no predictions). Callers drop ``None`` before averaging rather than count it as 0.
- Retrieval ids are whatever hashable the caller ranks (chunk ids, source names); a ranked id that
  repeats counts once, at its first rank, so no score can exceed 1.
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Hashable, Iterable, Sequence

import numpy as np

# --------------------------------------------------------------------------- retrieval


def _distinct(ranked_ids: Sequence[Hashable]) -> list[Hashable]:
    """Ranked ids with repeats dropped, each kept at its first rank."""
    return list(dict.fromkeys(ranked_ids))


def _top_k(ranked_ids: Sequence[Hashable], k: int) -> list[Hashable]:
    """The first ``k`` distinct ids, in rank order."""
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    return _distinct(ranked_ids)[:k]


def hit_at_k(ranked_ids: Sequence[Hashable], gold_ids: Iterable[Hashable], k: int) -> float | None:
    """1.0 if any gold id is among the top ``k`` ranked ids, else 0.0; None without gold."""
    gold = set(gold_ids)
    if not gold:
        return None
    return 1.0 if gold.intersection(_top_k(ranked_ids, k)) else 0.0


def recall_at_k(ranked_ids: Sequence[Hashable], gold_ids: Iterable[Hashable], k: int) -> float | None:
    """Share of the gold ids found among the top ``k`` ranked ids; None without gold."""
    gold = set(gold_ids)
    if not gold:
        return None
    return len(gold.intersection(_top_k(ranked_ids, k))) / len(gold)


def reciprocal_rank(ranked_ids: Sequence[Hashable], gold_ids: Iterable[Hashable]) -> float | None:
    """1 / (1-based rank of the first gold id), 0.0 if none is ranked; None without gold.

    Averaged over questions this is MRR. The full ranking is used (no cut-off).
    """
    gold = set(gold_ids)
    if not gold:
        return None
    for rank, doc_id in enumerate(_distinct(ranked_ids), start=1):
        if doc_id in gold:
            return 1.0 / rank
    return 0.0


def ndcg_at_k(ranked_ids: Sequence[Hashable], graded_gold: dict[Hashable, int], k: int) -> float | None:
    """nDCG@k as trec_eval's ``ndcg_cut`` (what BEIR reports).

    DCG@k = sum over ranks r = 1..k of rel(doc_r) / log2(r + 1), with linear gain (rel itself, not
    2**rel - 1). The ideal DCG sorts all judged relevances from the qrels (not just the retrieved ones)
    in decreasing order and cuts at k. Relevance <= 0 means "not relevant" and contributes no gain.
    None when no document has positive relevance (the ideal DCG would be 0).
    """
    gains = {doc_id: rel for doc_id, rel in graded_gold.items() if rel > 0}
    if not gains:
        return None
    dcg = sum(gains.get(doc_id, 0) / math.log2(rank + 1) for rank, doc_id in enumerate(_top_k(ranked_ids, k), start=1))
    ideal = sorted(gains.values(), reverse=True)[:k]
    idcg = sum(rel / math.log2(rank + 1) for rank, rel in enumerate(ideal, start=1))
    return dcg / idcg


# --------------------------------------------------------------------------- answers (SQuAD 2.0)

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = frozenset(string.punctuation)  # ASCII only, as in the official script


def normalize_answer(text: str) -> str:
    """SQuAD 2.0 ``normalize_answer``: lower-case, drop ASCII punctuation, drop a/an/the, collapse spaces.

    The order matters and matches evaluate-v2.0.py: punctuation goes before articles, so "the-cat"
    becomes "thecat" (no article left to remove).
    """
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _PUNCTUATION)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def _answer_tokens(text: str) -> list[str]:
    return normalize_answer(text).split() if text else []


def _gold_or_no_answer(golds: Sequence[str]) -> list[str]:
    """Golds that survive normalisation; an unanswerable question's only gold is the empty string."""
    kept = [gold for gold in golds if normalize_answer(gold)]
    return kept or [""]


def _exact(gold: str, prediction: str) -> float:
    return float(normalize_answer(gold) == normalize_answer(prediction))


def _f1(gold: str, prediction: str) -> float:
    gold_tokens = _answer_tokens(gold)
    pred_tokens = _answer_tokens(prediction)
    if not gold_tokens or not pred_tokens:
        # No-answer on either side: 1 if both are no-answer, else 0.
        return float(gold_tokens == pred_tokens)
    num_same = sum((Counter(gold_tokens) & Counter(pred_tokens)).values())
    if num_same == 0:
        return 0.0
    precision = num_same / len(pred_tokens)
    recall = num_same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def exact_match(prediction: str, golds: Sequence[str]) -> float:
    """Max over golds of normalised string equality (SQuAD 2.0).

    An empty gold list (or golds that normalise to "") means unanswerable: only an empty
    prediction scores 1.
    """
    return max(_exact(gold, prediction) for gold in _gold_or_no_answer(golds))


def token_f1(prediction: str, golds: Sequence[str]) -> float:
    """Max over golds of bag-of-tokens F1 after normalisation (SQuAD 2.0), unanswerable as in exact_match."""
    return max(_f1(gold, prediction) for gold in _gold_or_no_answer(golds))


def contains_gold(prediction: str, golds: Sequence[str]) -> bool:
    """Whether some normalised gold occurs in the normalised prediction as whole tokens.

    Suits long generated answers that wrap the short gold span in a sentence. Matching on token
    boundaries keeps "cat" from matching "concatenate". Unanswerable (no non-empty gold): True only
    for a prediction that normalises to empty, consistent with exact_match.
    """
    padded_prediction = f" {normalize_answer(prediction)} "
    non_empty = [normalize_answer(gold) for gold in golds if normalize_answer(gold)]
    if not non_empty:
        return padded_prediction.strip() == ""
    return any(f" {gold} " in padded_prediction for gold in non_empty)


RIGHT_F1 = 0.5  # a short answer this close to a gold one (token F1) counts as right


def right_short_answer(short: str, golds: Sequence[str]) -> bool:
    """Whether a short answer holds a gold answer or is close to one: "2+2 Ministerial Meeting" answers what
    "the U.S.-Japan 2+2 Ministerial Meeting" does."""
    return bool(golds and short and (contains_gold(short, golds) or token_f1(short, golds) >= RIGHT_F1))


# --------------------------------------------------------------------------- citations

# Function words and reporting verbs carry no claim; what is left of a sentence is what a quote has to support.
STOP_WORDS = frozenset(
    """
    a about above after again against all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have
    having he her here hers herself him himself his how i if in into is it its itself just me more most
    my myself no nor not of off on once only or other our ours ourselves out over own same she should so
    some such than that the their theirs them themselves then there these they this those through to too
    under until up very was we were what when where which while who whom why will with would you your
    yours yourself yourselves also said says according
    """.split()
)
_CITATION_MARKER = re.compile(r"\[\d+(?:\s*,\s*\d+)*\]")  # "[1]" or "[1, 2]" in a generated sentence


def content_tokens(text: str) -> set[str]:
    """Distinct normalised tokens of ``text`` minus stop words and citation markers. Unlike SQuAD's answer tokens
    they are split at any punctuation left after normalising (which drops only ASCII's): "1234" is a word of
    "(1115–1234)" and "Imperial" of "county—Imperial—to"."""
    tokens = re.split(r"[\W_]+", normalize_answer(_CITATION_MARKER.sub(" ", text)))
    return {token for token in tokens if token and token not in STOP_WORDS}


def quote_supports(sentence: str, quote: str) -> float:
    """Share of the sentence's distinct content tokens that also appear in the quote.

    A cheap, judge-free proxy for "the quote supports the sentence". A sentence with no content tokens
    claims nothing checkable and scores 0.0.
    """
    claimed = content_tokens(sentence)
    if not claimed:
        return 0.0
    return len(claimed & content_tokens(quote)) / len(claimed)


def citation_precision(pairs: Sequence[tuple[str, str]], threshold: float = 0.5) -> float | None:
    """Share of (sentence, cited quote) pairs whose support score reaches ``threshold``; None if no pairs."""
    if not pairs:
        return None
    return sum(quote_supports(sentence, quote) >= threshold for sentence, quote in pairs) / len(pairs)


Span = tuple[str, int, int]  # (source, start, end), a half-open character range [start, end)


def _overlaps(a: Span, b: Span) -> bool:
    return a[0] == b[0] and a[1] < b[2] and b[1] < a[2]


def citation_recall(cited_spans: Sequence[Span], gold_spans: Sequence[Span]) -> float | None:
    """Share of gold spans intersected by at least one cited span of the same source; None without gold.

    Ranges are half-open, so spans that only touch ([0, 5) and [5, 9)) do not overlap.
    """
    if not gold_spans:
        return None
    return sum(any(_overlaps(cited, gold) for cited in cited_spans) for gold in gold_spans) / len(gold_spans)


# --------------------------------------------------------------------------- refusal


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def refusal_scores(should_refuse: Sequence[bool], refused: Sequence[bool]) -> dict[str, float | int | None]:
    """Refusal as a binary classifier whose positive class is "refuse".

    precision = tp / (tp + fp): of the refusals, how many were right (None if it never refused).
    recall    = tp / (tp + fn): of the unanswerable questions, how many it refused (None if there were none).
    accuracy  = (tp + tn) / n (None if n == 0).
    f1        = harmonic mean of precision and recall; None if either is None, 0.0 if both are 0.
    The confusion counts tp, fp, fn, tn are returned as well.
    """
    if len(should_refuse) != len(refused):
        raise ValueError(f"length mismatch: {len(should_refuse)} labels vs {len(refused)} predictions")
    pairs = list(zip(should_refuse, refused))
    tp = sum(s and r for s, r in pairs)
    fp = sum(not s and r for s, r in pairs)
    fn = sum(s and not r for s, r in pairs)
    tn = sum(not s and not r for s, r in pairs)
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    if precision is None or recall is None:
        f1 = None
    elif precision + recall == 0:
        f1 = 0.0
    else:
        f1 = 2 * precision * recall / (precision + recall)
    return {
        "precision": precision,
        "recall": recall,
        "accuracy": _ratio(tp + tn, len(pairs)),
        "f1": f1,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
    }


# --------------------------------------------------------------------------- latency


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0..100) with linear interpolation between order statistics.

    Same as numpy.percentile's default ("linear"): position (n - 1) * p / 100 in the sorted values.
    """
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= p <= 100:
        raise ValueError(f"p must be in [0, 100], got {p}")
    ordered = sorted(values)
    position = (len(ordered) - 1) * p / 100
    lower = math.floor(position)
    upper = min(lower + 1, len(ordered) - 1)
    fraction = position - lower
    return ordered[lower] + (ordered[upper] - ordered[lower]) * fraction


def latency_summary(values: Sequence[float]) -> dict[str, float | int | None]:
    """p50, p95 and mean of latencies (seconds), plus the count; the statistics are None for no values."""
    if not values:
        return {"p50": None, "p95": None, "mean": None, "n": 0}
    return {
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "mean": sum(values) / len(values),
        "n": len(values),
    }


# --------------------------------------------------------------------------- before/after


def paired_difference(before: Sequence[float], after: Sequence[float], resamples: int = 4000,
                      seed: int = 0) -> tuple[float, float, float]:
    """Mean of after - before over the same questions, with a 95 % paired bootstrap interval (questions drawn with
    replacement, both runs' scores of a question kept together): whether a change moved a score by more than the
    questions drawn could. Seeded, so the same two runs always give the same interval."""
    if len(before) != len(after) or not before:
        raise ValueError("paired scores need the same questions, at least one")
    diff = np.asarray(after, dtype=float) - np.asarray(before, dtype=float)
    draws = np.random.default_rng(seed).integers(0, len(diff), size=(resamples, len(diff)))
    means = diff[draws].mean(axis=1)
    return float(diff.mean()), float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))
