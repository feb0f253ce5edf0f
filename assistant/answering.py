"""The answer decision, in one place: which evidence the model sees, what of its draft is kept, answer or refuse.

One question goes through these steps (``Assistant.stream`` runs them; the chain only makes the model's calls):

1. ``gate``: refuse at once when nothing retrieved is on topic, or when the question names something (a person,
   an article number, a year) that no retrieved passage mentions: the documents are not about its subject.
2. ``select_evidence``: the few sentences of the retrieved passages most likely to hold the answer (meaning +
   rarity-weighted word overlap), with the sentence before one that starts with "He", "It", "This"…; shown to the
   user at once and given to the model instead of whole passages, so its prompt stays small.
3. The model replies ``short answer [n]`` (or NONE); ``drafts.parse_draft`` reads that, and its first-token
   probability of declining when the backend reports it.
4. ``decide``: keep the short answer when it is of the kind asked where that can be told (who -> a person, what
   year -> a year…), what it adds is in the sentence it cites (``grounding``), that sentence does not say the
   opposite of the question ("not" where it denies nothing, "smallest" where it asks "largest"), and the evidence
   answers *this* question: a calibrated logistic model over the question's focus coverage, the rarest question
   word the quote lacks, whether the question's word pairs stand together in it, the embedding score, the model's
   own probability of declining, how sure it was of the answer's words, and its yes/no check of (question, answer,
   quote).
   Otherwise the answer is the best evidence when that is strong enough (its focus coverage and embedding score,
   and the model's yes/no check of it as the answer), led by the model's short answer from that evidence alone
   (``reread``), or a refusal. Each check is asked only where its reply can change the decision.

The kept answer leads with the short answer, then quotes the sentences it rests on, each cited.
Every threshold and weight here comes from eval/calibrate.py on the SQuAD 2.0 calibration articles (never the
test articles, nor eval/questions.yaml): eval/reports/calibration/report.md.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from . import questions
from .citations import answer_text, cite, concise, verbatim
from .drafts import Draft
from .evidence import Sentence, VectorCache, passage_sentences, split_sentences
from .types import Answer, Evidence, Passage

REFUSAL = "The documents don't say. None of the indexed passages answers this question."

# Below this cosine between the question and its best passage nothing retrieved is on topic (calibrated).
RELEVANCE_GATE = 0.15
# Evidence: sentences ranked by cosine + COVERAGE_WEIGHT x focus coverage; on SQuAD calibration questions the
# answer is in the top 5 for 94 % (cosine alone: 90 %).
COVERAGE_WEIGHT = 1.0
EVIDENCE_SENTENCES = 5
EVIDENCE_TOKENS = 260  # the model's evidence budget; a sentence that does not fit is left out, never cut
SHOWN_EVIDENCE = 3  # sentences streamed to the user before the model's answer
_ANAPHOR = re.compile(r"^(?:he|she|it|they|this|these|that|those|his|her|its|their|such|the latter|the former)\b",
                      re.IGNORECASE)

# Three small logistic models, P = sigmoid(bias + sum of weight x signal), fitted by eval/calibrate.py:
# KEEP: is the model's short answer right? FALLBACK: when it is not kept (or the model declined), is the best
# evidence sentence the answer? EXTRACTIVE: the same with no model at all. The thresholds refuse the most
# unanswerable calibration questions while refusing at most 25 % of the answerable ones (eval/calibrate.py
# MAX_REFUSED: refusing right answers is what users of the old path met most).
KEEP = {"bias": -3.908, "coverage": 1.014, "cosine": 1.321, "p_decline": -0.297, "check": 2.257, "echo": -0.467,
        "pairs": 1.082, "missing": -0.738, "confidence": 0.487}
KEEP_THRESHOLD = 0.4
FALLBACK = {"bias": -3.693, "top_coverage": 1.303, "top_cosine": 1.096, "p_decline": -0.527, "top_check": 2.164}
FALLBACK_THRESHOLD = 0.5
EXTRACTIVE = {"bias": -2.408, "top_coverage": 1.478, "top_cosine": 1.43}
EXTRACTIVE_THRESHOLD = 0.35
USE_CHECK = True  # whether the yes/no check pays for its time (eval/reports/calibration/report.md)
CHECK_PRIOR = 0.701  # the check's mean on calibration answers: what a model that cannot report P(yes) is taken to say,
# and what the check is taken to say when not asked
TOP_CHECK_PRIOR = 0.755  # the same for the check of the best evidence, and what it is taken to say when not asked
CONFIDENCE_PRIOR = 0.8  # the same for answer_confidence
MEASURE_ALL = False  # eval/calibrate.py sets it: a fit needs every signal measured, not only those that decide
NOVEL_COVERAGE = 0.6  # share of the short answer's new words its quote must contain (numbers: all of them)
# A kept draft this long is read again from its quote alone. On calibration drafts to answerable questions,
# rereading those of 5-9 words raised F1 against gold (2 gained, none lost), of 10+ too; of 3-4 it lost 2.
LONG_ANSWER_WORDS = 5


@dataclass(frozen=True)
class Scored:
    sentence: Sentence
    score: float
    cosine: float
    coverage: float


@dataclass
class Decision:
    """Everything ``decide`` weighed, kept with the answer (``Answer.decision``) so a report can show why."""

    kept: str = ""  # "answer", "evidence" or "" (refused)
    reason: str = ""
    draft: str = ""  # the model's short answer, kept or not
    support: list[str] = field(default_factory=list)  # the evidence sentences that ground it
    top: str = ""  # the best evidence sentence (with the sentence before it that says what its "it" is)
    evidence: list[str] = field(default_factory=list)  # the sentences the model read, best first
    signals: dict[str, float] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)  # the checks the model was asked; the others are at their priors
    p_keep: float | None = None
    p_evidence: float | None = None


def refusal(passages: list[Passage], backend: str, reason: str) -> Answer:
    return Answer(text=REFUSAL, passages=passages, refused=True, backend=backend,
                  decision=vars(Decision(reason=reason)))


def gate(question: str, passages: list[Passage]) -> str:
    """Why the question cannot be answered from these passages before any model is asked, or ""."""
    if not passages or max(p.relevance for p in passages) < RELEVANCE_GATE:
        return "nothing retrieved is on topic"
    missing = questions.missing_names(question, [p.text for p in passages])
    if missing:
        return f"no retrieved passage mentions {', '.join(missing)}"
    return ""


def select_evidence(question: str, passages: list[Passage], vectors: VectorCache,
                    count_tokens: Callable[[str], int] | None = None) -> list[Scored]:
    """The sentences most likely to hold the answer, best first, within the evidence budget."""
    sentences = passage_sentences(passages)
    if not sentences:
        return []
    query = np.asarray(vectors.embeddings.embed_query(question))
    cosines = vectors([s.text for s in sentences]) @ query
    coverages = [questions.coverage(question, s.text) for s in sentences]
    scored = [Scored(s, float(c) + COVERAGE_WEIGHT * v, float(c), v) for s, c, v in zip(sentences, cosines, coverages)]
    ranked = sorted(scored, key=lambda x: x.score, reverse=True)
    count = count_tokens or (lambda text: math.ceil(len(text) / 3.5))
    chosen: list[Scored] = []
    used = 0
    for item in ranked:
        if len(chosen) >= EVIDENCE_SENTENCES:
            break
        group = [item]
        before = _previous(item.sentence, scored)
        if _ANAPHOR.match(item.sentence.text) and before is not None and before not in chosen:
            group = [before, item]  # "He said…" means nothing without who "he" is
        cost = sum(count(g.sentence.text) + 4 for g in group if g not in chosen)
        if used + cost > EVIDENCE_TOKENS:
            continue
        chosen.extend(g for g in group if g not in chosen)
        used += cost
    return chosen


def best(evidence: list[Scored]) -> list[int]:
    """The best evidence sentence, with the sentence before it when it was brought in to say who "he" or what "it"
    is (``select_evidence`` then puts it first, ranked below the sentence it explains)."""
    return [0, 1] if len(evidence) > 1 and evidence[1].score > evidence[0].score else [0]


def _previous(sentence: Sentence, scored: list[Scored]) -> Scored | None:
    same = [s for s in scored if s.sentence.passage == sentence.passage and s.sentence.end <= sentence.start]
    return max(same, key=lambda s: s.sentence.end, default=None)


def format_evidence(evidence: list[Scored]) -> str:
    return "\n".join(f"[{i}] {' '.join(e.sentence.text.split())}" for i, e in enumerate(evidence, start=1))


def shown_evidence(evidence: list[Scored], passages: list[Passage]) -> Evidence:
    """What the user sees before the model answers: the best few sentences, quoted and cited."""
    best = [e.sentence for e in evidence[:SHOWN_EVIDENCE]]
    return Evidence(citations=cite(best, passages), passages=passages)


def grounding(short: str, question: str, quote: str) -> float:
    """The share of what the answer adds to the question that its quote holds: 0.0 when a number it adds is not
    there, or when it adds nothing ("Article 5" to "… under Article 5?"; 1 of 9 such SQuAD calibration drafts was
    right)."""
    novel = questions.stems(short) - questions.stems(question) - _FRAME_STEMS
    if not novel:
        return 0.0
    found = questions.stems(quote)
    numbers = {w for w in novel if any(ch.isdigit() for ch in w)}
    return len(novel & found) / len(novel) if numbers <= found else 0.0


_FRAME_STEMS = {questions.stems(w).pop() for w in ("the", "a", "an", "of", "and", "in", "to", "by", "for", "on")}


def support(draft: Draft, question: str, evidence: list[Scored]) -> list[int]:
    """The evidence sentence the short answer rests on: of those that ground it as fully as any sentence does,
    the one with most of the question's focus, the cited one on a tie; none when no sentence grounds it enough.
    The small model's markers are often off by one: "Japan Defense Minister [3]" where [3] has "Japan" and
    "defense" but [1] has all three words; "space and cyber [3]" where [1] also names them and is the sentence
    about Iwaya, the question's subject."""
    shares = [grounding(draft.short, question, e.sentence.text) for e in evidence]
    fullest = max(shares, default=0.0)
    if fullest < NOVEL_COVERAGE:
        return []
    candidates = [i for i, share in enumerate(shares) if share == fullest]
    return [max(candidates, key=lambda i: (evidence[i].coverage, i in draft.cited, -i))]


def _context(index: int, evidence: list[Scored], passages: list[Passage]) -> str:
    """A sentence with its neighbours in its passage: a question's subject is often named one sentence away."""
    sentence = evidence[index].sentence
    passage = passages[sentence.passage]
    spans = split_sentences(passage.text)
    at = next((i for i, (s, _) in enumerate(spans) if passage.start + s == sentence.start), None)
    if at is None:
        return sentence.text
    first, last = spans[max(0, at - 1)][0], spans[min(len(spans) - 1, at + 1)][1]
    return passage.text[first:last]


def probability(model: dict[str, float], signals: dict[str, float]) -> float:
    x = model["bias"] + sum(w * signals[name] for name, w in model.items() if name != "bias")
    return 1.0 / (1.0 + math.exp(-x))


def _open(model: dict[str, float], threshold: float, signals: dict[str, float], name: str) -> bool:
    """Whether signal ``name`` (in [0, 1]) can still carry the probability across the threshold either way."""
    low, high = sorted(probability(model, {**signals, name: value}) for value in (0.0, 1.0))
    return low < threshold <= high


def _ask_where_open(decision: Decision, name: str, prior: float, model: dict[str, float], threshold: float,
                    ask: Callable[[], float | None]) -> None:
    """Set signal ``name`` to the model's check, asked only where its reply can change the decision (a second of the
    model's time; always when calibrating), else to ``prior`` (also when the model cannot say)."""
    said = ask() if MEASURE_ALL or _open(model, threshold, decision.signals, name) else None
    decision.signals[name] = prior if said is None else said
    if said is not None:
        decision.asked.append(name)


def measure(question: str, draft: Draft | None, chosen: list[int], evidence: list[Scored],
            passages: list[Passage]) -> dict[str, float]:
    """Every signal the models read but the model's checks, which are taken at their priors until asked. The
    answer's come from the sentences it rests on (with their neighbours; the best evidence sentence when it rests on
    none); the top_ ones from the best evidence sentence."""
    top = best(evidence)[-1]
    at = chosen or [top]
    context = " ".join(_context(i, evidence, passages) for i in at)
    said = draft is not None and not draft.declined
    return {
        "coverage": questions.coverage(question, context),
        "pairs": questions.pairs_found(question, " ".join(evidence[i].sentence.text for i in at)),
        "missing": questions.rarest_missing(question, context),
        "confidence": (draft.confidence if draft.confidence is not None else CONFIDENCE_PRIOR) if said else 0.0,
        "cosine": max(evidence[i].cosine for i in chosen) if chosen else evidence[top].cosine,
        "type_fit": float(questions.fits(questions.answer_type(question), draft.short)) if said else -1.0,
        "p_decline": (draft.p_decline if draft.p_decline is not None else float(draft.declined)) if draft else 0.0,
        "check": CHECK_PRIOR,
        "grounded": float(bool(chosen)),
        "echo": _echo(draft.short, question) if said else 0.0,
        "top_coverage": questions.coverage(question, _context(top, evidence, passages)),
        "top_cosine": evidence[top].cosine,
        "relevance": max(p.relevance for p in passages),
    }


Check = Callable[[str, str, str], "float | None"]  # (question, answer, quote) -> the model's P(yes)
Read = Callable[[list[Scored]], Draft]  # evidence -> the model's short answer from it alone


def _echo(short: str, question: str) -> float:
    """Share of the answer's words taken from the question: an answer made of them says nothing new."""
    words = questions.stems(short)
    return len(words & questions.stems(question)) / len(words) if words else 0.0


def decide(question: str, passages: list[Passage], evidence: list[Scored], draft: Draft | None, backend: str,
           check: Check | None = None, read: Read | None = None) -> Answer:
    """The answer to show: the model's short answer with its quotes, the best evidence, or a refusal.

    ``draft`` is None for the extractive backend (no model); ``check`` asks the model whether a quote states an
    answer to the question (asked only of a grounded answer or of the best evidence, where its reply can change the
    decision); ``read`` asks it for a short answer from the given sentences alone: the best evidence, when that is
    shown, or the sentences a kept answer rests on, when that answer runs to LONG_ANSWER_WORDS or more."""
    if not evidence:
        return refusal(passages, backend, "no sentence to quote")
    said = draft is not None and not draft.declined
    kind = questions.answer_type(question)
    # an answer plainly not of the kind asked ("19 APR" to "in what year") is no answer to it, however grounded
    mistyped = said and not questions.of_kind(question, draft.short)
    chosen = support(draft, question, evidence) if said and not mistyped else []
    quote = " ".join(evidence[i].sentence.text for i in chosen)
    # a quote that says the opposite of the question ("not", "smallest" for "largest") answers it with nothing
    turned = questions.opposed(question, quote) if chosen else ""
    top = [evidence[i] for i in best(evidence)]  # the evidence to answer with if the draft is not kept
    shown = [e.sentence for e in top]
    decision = Decision(draft=draft.short if said else "", support=[evidence[i].sentence.text for i in chosen],
                        top=" ".join(s.text for s in shown), evidence=[e.sentence.text for e in evidence],
                        signals=measure(question, draft, chosen, evidence, passages))
    signals = decision.signals
    if chosen and not turned and check is not None and USE_CHECK:
        _ask_where_open(decision, "check", CHECK_PRIOR, KEEP, KEEP_THRESHOLD,
                        lambda: check(question, draft.short, quote))
    if chosen and not turned:
        decision.p_keep = probability(KEEP, signals)
        if decision.p_keep >= KEEP_THRESHOLD:
            decision.kept, decision.reason = "answer", "the evidence states this answer"
            short = draft.short
            if len(short.split()) >= LONG_ANSWER_WORDS:
                short = reread(question, [evidence[i] for i in chosen], read) or short
            return _answer(question, short, [evidence[i].sentence for i in chosen], passages, backend, decision)
    model, threshold = (FALLBACK, FALLBACK_THRESHOLD) if draft is not None else (EXTRACTIVE, EXTRACTIVE_THRESHOLD)
    untyped = not questions.of_kind(question, decision.top)
    top_turned = questions.opposed(question, decision.top)
    unfit = untyped or bool(top_turned)
    if "top_check" in model:
        # the model's check of the best evidence itself, as the answer
        wanted = check is not None and USE_CHECK and not unfit
        _ask_where_open(decision, "top_check", TOP_CHECK_PRIOR, model, threshold,
                        lambda: check(question, decision.top, decision.top) if wanted else None)
    decision.p_evidence = probability(model, signals)
    convincing = decision.p_evidence >= threshold
    if convincing and not unfit:
        decision.kept, decision.reason = "evidence", "the best evidence sentence answers it"
        short = reread(question, top, read)
        return _answer(question, short, shown, passages, backend + ("+evidence" if draft else ""), decision)
    decision.reason = (f"the evidence holds no {kind}, as asked" if convincing and untyped
                       else f"the evidence says otherwise: {turned or top_turned}" if turned or top_turned
                       else "the model found no answer" if draft is not None and draft.declined
                       else f"the answer is not a {kind}, as asked" if mistyped
                       else "the answer is not in its quote" if said and not chosen
                       else "the evidence does not state it")
    answer = Answer(text=REFUSAL, passages=passages, refused=True, backend=backend, decision=vars(decision),
                    unsupported=[draft.short] if said else [])
    return answer


def reread(question: str, top: list[Scored], read: Read | None) -> str:
    """The model's short answer asked again with only ``top``, when ``top`` grounds it and it is of the kind asked;
    else none. It leads the best evidence shown when the first draft, from five sentences, was not kept, and stands
    in for a kept draft of LONG_ANSWER_WORDS or more, which often carries words of its sentence along. From the one
    sentence that holds the answer the model mostly reads it right (the 45 of 120 sampled calibration questions whose
    best evidence held the answer: 43 grounded, token F1 0.91, against 0.73 for the first drafts)."""
    if read is None:
        return ""
    draft = read(top)
    if draft.declined or not questions.of_kind(question, draft.short):
        return ""
    quote = " ".join(e.sentence.text for e in top)
    return draft.short if grounding(draft.short, question, quote) >= NOVEL_COVERAGE else ""


def _answer(question: str, short: str, sentences: list[Sentence], passages: list[Passage], backend: str,
            decision: Decision) -> Answer:
    short = concise(verbatim(short, [s.text for s in sentences]), question)
    citations = cite(sentences, passages)
    return Answer(text=answer_text(short, citations), citations=citations, passages=passages, backend=backend,
                  short_answer=short, decision=vars(decision))
